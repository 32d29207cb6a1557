/*
 * wire-scan.h - inside the wire module: a strict JSON scanner for the hot
 * path of streamed replies.  Not for tools.
 *
 * A stream is hundreds of thousands of small chunks of one shape; building
 * a json-c object for each costs far more than reading the few members the
 * decoder wants.  The scanner walks a chunk in place, checks it against
 * RFC 8259 (valid UTF-8, no lone surrogates, no NUL), and answers "unsure"
 * for anything it does not settle exactly as json-c would: escapes in
 * member names, \u0000 and surrogate escapes, exponents and long numbers,
 * deep nesting.  A decoder that gets "unsure" hands the chunk to json-c, so
 * json-c alone decides what is malformed.
 */
#ifndef MLB_WIRE_SCAN_H
#define MLB_WIRE_SCAN_H

#include <stddef.h>
#include <string.h>

#include "buf.h"

struct wire_scan {
	const unsigned char *p, *end;
	int depth;
};

/* A string's raw bytes, between its quotes, and whether it holds escapes. */
struct wire_str {
	const char *s;
	size_t len;
	int escaped;
};

/* Start scanning len bytes at s. */
void wire_scan_init(struct wire_scan *sc, const char *s, size_t len);
/* Skip JSON whitespace. */
static inline void wire_scan_ws(struct wire_scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\n' || *sc->p == '\r' || *sc->p == '\t'))
		sc->p++;
}

/* If the next byte (after whitespace) is c, take it and return 1; else 0. */
static inline int wire_scan_take(struct wire_scan *sc, char c)
{
	wire_scan_ws(sc);
	if (sc->p < sc->end && *sc->p == (unsigned char)c) {
		sc->p++;
		return 1;
	}
	return 0;
}

/* A string at the next byte: 1 with its raw bytes, 0 if unsure. */
int wire_scan_string(struct wire_scan *sc, struct wire_str *out);
/* Any value, checked and skipped: 1, or 0 if unsure. */
int wire_scan_skip(struct wire_scan *sc);
/* Whether only whitespace is left. */
int wire_scan_end(struct wire_scan *sc);
/* Whether a member name (escape-free) is the string literal name. */
#define wire_scan_is(key, name) \
	((key)->len == sizeof(name) - 1 && !memcmp((key)->s, name, sizeof(name) - 1))
/*
 * The quick paths' walk of an object: member(sc, key, ctx) is called for
 * each member, with the scanner at its value, and must take the value (1)
 * or give up (0).  Member names with escapes are left unsure.  1 when the
 * whole object was taken.
 */
typedef int (*wire_scan_member)(struct wire_scan *sc, const struct wire_str *key, void *ctx);
int wire_scan_object(struct wire_scan *sc, wire_scan_member member, void *ctx);
/*
 * A member the quick path reads only when it is a string, as mlb_json_str()
 * does.  *has: 0 not seen yet, 1 a string (in *str), -1 something else.  A
 * second one is json-c's to judge (json-c keeps the last): 0.
 */
int wire_scan_member_string(struct wire_scan *sc, struct wire_str *str, int *has);
/* An integer as json-c reads it into an int64: 1 with its value, 0 if unsure (a fraction, an exponent, long). */
int wire_scan_int(struct wire_scan *sc, long *value);
/*
 * The text of a string: its raw bytes when it has no escapes, else decoded
 * into scratch; not NUL-terminated either way.  0 when unsure (\u0000 or a
 * surrogate escape, which json-c turns into text of its own making).
 */
int wire_scan_text(const struct wire_str *str, struct mlb_buf *scratch, const char **text, size_t *len);

#endif
