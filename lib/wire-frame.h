/*
 * wire-frame.h - inside the wire module: the frame of a stream's chunks.
 * Not for tools.
 *
 * The chunks of one stream differ only in a few values: the text, the
 * counts so far, a padding string or a run of blanks.  The bytes around
 * those values (the same id, model and timestamp, the same members) repeat
 * from chunk to chunk.  A chunk whose bytes around its values are those of
 * the last chunk a quick path read whole, with well-formed values in the
 * holes, is as well-formed as that one and says the same apart from those
 * values, so only the values need reading.  A kind's quick path keeps the
 * frame of a chunk it read whole (wire_frame_keep) and tries it on the next
 * (wire_frame_match) before scanning.
 */
#ifndef MLB_WIRE_FRAME_H
#define MLB_WIRE_FRAME_H

#include "wire.h"
#include "json-scan.h"

/* What a hole holds: a JSON string, an integer, or JSON whitespace (possibly none). */
enum wire_hole_kind { WIRE_HOLE_STRING, WIRE_HOLE_INT, WIRE_HOLE_BLANKS };

/* A hole of a chunk read whole: its kind, where its value lies in the chunk, and a tag of the
 * kind's choosing (below MLB_FRAME_HOLES, one per hole), under which a match gives its value. */
struct wire_hole {
	enum wire_hole_kind kind;
	const char *at;		/* a string's opening quote, a number's first byte, the first blank */
	size_t len;		/* quotes included */
	unsigned char tag;
};

/* The values a match found, by the holes' tags. */
struct wire_match {
	struct json_str str[MLB_FRAME_HOLES];
	long num[MLB_FRAME_HOLES];
	unsigned present;	/* bit t: the hole tagged t was there */
};

/* Keep the frame of the len bytes at data around n holes (in any order; 0 < n <= MLB_FRAME_HOLES). */
void wire_frame_keep(struct mlb_frame *f, const char *data, size_t len, struct wire_hole *holes, int n);
/* Forget the frame. */
void wire_frame_forget(struct mlb_frame *f);
/* Where a chunk with the frame kept ends, when s (len bytes at most) starts with one; NULL if it does not. */
const char *wire_frame_match(const struct mlb_frame *f, const char *s, size_t len, struct wire_match *m);

#endif
