/*
 * json-scan.h - the one strict JSON scanner, for the hot paths that must
 * not build json-c objects: the wire decoders' quick paths (a stream is
 * hundreds of thousands of small chunks of one shape, and they want a few
 * members of each) and the event reader's check of the lines a filter only
 * passes on.
 *
 * The scanner walks text in place, checks it against RFC 8259 (valid
 * UTF-8, no lone surrogates, no NUL), and answers "unsure" for anything it
 * does not settle exactly as json-c would: escapes in member names, \u0000
 * and surrogate escapes, exponents and long numbers, deep nesting.  A
 * caller that gets "unsure" hands the text to json-c, so json-c alone
 * decides what is malformed.
 */
#ifndef MLB_JSON_SCAN_H
#define MLB_JSON_SCAN_H

#include <stddef.h>
#include <string.h>

#include "buf.h"

struct json_scan {
	const unsigned char *p, *end;
	int depth;
	int max_depth;		/* a container this deep is unsure (json_scan_init: 33) */
};

/* A string's raw bytes, between its quotes, and whether it holds escapes. */
struct json_str {
	const char *s;
	size_t len;
	int escaped;
};

/* Start scanning len bytes at s; set max_depth after to leave shallower nesting to json-c. */
void json_scan_init(struct json_scan *sc, const char *s, size_t len);
/* Skip JSON whitespace. */
static inline void json_scan_ws(struct json_scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\n' || *sc->p == '\r' || *sc->p == '\t'))
		sc->p++;
}

/* If the next byte (after whitespace) is c, take it and return 1; else 0. */
static inline int json_scan_take(struct json_scan *sc, char c)
{
	json_scan_ws(sc);
	if (sc->p < sc->end && *sc->p == (unsigned char)c) {
		sc->p++;
		return 1;
	}
	return 0;
}

/* A string at the next byte: 1 with its raw bytes, 0 if unsure. */
int json_scan_string(struct json_scan *sc, struct json_str *out);
/* Any value, checked and skipped: 1, or 0 if unsure. */
int json_scan_skip(struct json_scan *sc);
/* Whether only whitespace is left. */
int json_scan_end(struct json_scan *sc);
/* Whether a member name (escape-free) is the string literal name. */
#define json_scan_is(key, name) \
	((key)->len == sizeof(name) - 1 && !memcmp((key)->s, name, sizeof(name) - 1))
/*
 * The quick paths' walk of an object: member(sc, key, ctx) is called for
 * each member, with the scanner at its value, and must take the value (1)
 * or give up (0).  Member names with escapes are left unsure.  1 when the
 * whole object was taken.
 */
typedef int (*json_scan_member)(struct json_scan *sc, const struct json_str *key, void *ctx);
int json_scan_object(struct json_scan *sc, json_scan_member member, void *ctx);
/*
 * A member the quick path reads only when it is a string, as mlb_json_str()
 * does.  *has: 0 not seen yet, 1 a string (in *str), -1 something else.  A
 * second one is json-c's to judge (json-c keeps the last): 0.
 */
int json_scan_member_string(struct json_scan *sc, struct json_str *str, int *has);
/* An integer as json-c reads it into an int64: 1 with its value, 0 if unsure (a fraction, an exponent, long). */
int json_scan_int(struct json_scan *sc, long *value);
/*
 * The text of a string: its raw bytes when it has no escapes, else decoded
 * into scratch; not NUL-terminated either way.  0 when unsure (\u0000 or a
 * surrogate escape, which json-c turns into text of its own making).
 */
int json_scan_text(const struct json_str *str, struct mlb_buf *scratch, const char **text, size_t *len);

/*
 * The value at the scanner built as json-c objects into *out, as json-c's
 * strict tokener would build it (null is NULL; a member twice: the last
 * wins): 1, or 0 when unsure (a fraction, or anything the scanner leaves
 * to json-c).  For long texts, where json-c's byte-at-a-time tokener is
 * most of a reader's time: text without escapes is copied in runs.
 * scratch holds decoded text meanwhile.
 */
struct json_object;
int json_scan_build(struct json_scan *sc, struct mlb_buf *scratch, struct json_object **out);

#endif
