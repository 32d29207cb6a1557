/* The one strict JSON scanner (see json-scan.h). */
#include "json-scan.h"
#include "plain.h"
#include "utf8.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Deeper values are left to json-c, whose tokener the wire module makes 64 deep. */
#define MAX_DEPTH 33

void json_scan_init(struct json_scan *sc, const char *s, size_t len)
{
	sc->p = (const unsigned char *)s;
	sc->end = sc->p + len;
	sc->depth = 0;
	sc->max_depth = MAX_DEPTH;
}

int json_scan_end(struct json_scan *sc)
{
	json_scan_ws(sc);
	return sc->p == sc->end;
}

static int hex(unsigned c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? (int)(c - 'a' + 10) : -1;
}

/* The code point of the four hex digits at p, or -1. */
static long hex4(const unsigned char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hex(p[i]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

int json_scan_string(struct json_scan *sc, struct json_str *out)
{
	const unsigned char *p, *end = sc->end;

	json_scan_ws(sc);
	if (sc->p >= end || *sc->p != '"')
		return 0;
	p = sc->p + 1;
	out->s = (const char *)p;
	out->escaped = 0;
	for (;;) {
		size_t n;

		p = mlb_plain_end(p, end);
		if (p >= end)
			return 0;
		if (*p == '"')
			break;
		if (*p == '\\') {
			if (p + 1 >= end)
				return 0;
			out->escaped = 1;
			if (p[1] == 'u') {
				long cp = p + 6 <= end ? hex4(p + 2) : -1;

				/* json-c makes text of its own from these: it decides */
				if (cp <= 0 || (cp >= 0xd800 && cp <= 0xdfff))
					return 0;
				p += 6;
			} else if (strchr("\"\\/bfnrt", p[1]) && p[1]) {
				p += 2;
			} else {
				return 0;
			}
			continue;
		}
		if (*p < 0x80 || !(n = mlb_utf8_seq(p, end)))
			return 0;	/* a control character or bad UTF-8 */
		p += n;
	}
	out->len = (size_t)((const char *)p - out->s);
	sc->p = p + 1;
	return 1;
}

static int skip_number(struct json_scan *sc)
{
	const unsigned char *p = sc->p, *end = sc->end;
	int frac = 0;

	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (p < end && *p == '.') {
		if (++p >= end || *p < '0' || *p > '9')
			return 0;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		frac = 1;
	}
	/* Exponents and long numbers may overflow in json-c: it decides.  An
	 * int64 holds any integer of 18 digits (times in microseconds have 16). */
	if ((p < end && (*p == 'e' || *p == 'E')) || p - sc->p > (frac ? 15 : 18))
		return 0;
	sc->p = p;
	return 1;
}

static int skip_literal(struct json_scan *sc, const char *word, size_t n)
{
	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n))
		return 0;
	sc->p += n;
	return 1;
}

static int skip_container(struct json_scan *sc, char close)
{
	int object = close == '}';
	struct json_str key;

	if (++sc->depth >= sc->max_depth)
		return 0;
	sc->p++;
	if (!json_scan_take(sc, close)) {
		do {
			if (object && (!json_scan_string(sc, &key) || !json_scan_take(sc, ':')))
				return 0;
			if (!json_scan_skip(sc))
				return 0;
		} while (json_scan_take(sc, ','));
		if (!json_scan_take(sc, close))
			return 0;
	}
	sc->depth--;
	return 1;
}

int json_scan_skip(struct json_scan *sc)
{
	struct json_str str;

	json_scan_ws(sc);
	if (sc->p >= sc->end)
		return 0;
	switch (*sc->p) {
	case '{':
		return skip_container(sc, '}');
	case '[':
		return skip_container(sc, ']');
	case '"':
		return json_scan_string(sc, &str);
	case 't':
		return skip_literal(sc, "true", 4);
	case 'f':
		return skip_literal(sc, "false", 5);
	case 'n':
		return skip_literal(sc, "null", 4);
	default:
		return skip_number(sc);
	}
}

int json_scan_object(struct json_scan *sc, json_scan_member member, void *ctx)
{
	struct json_str key;

	if (!json_scan_take(sc, '{'))
		return 0;
	if (++sc->depth >= sc->max_depth)
		return 0;
	if (!json_scan_take(sc, '}')) {
		do {
			if (!json_scan_string(sc, &key) || key.escaped || !json_scan_take(sc, ':') ||
			    !member(sc, &key, ctx))
				return 0;
		} while (json_scan_take(sc, ','));
		if (!json_scan_take(sc, '}'))
			return 0;
	}
	sc->depth--;
	return 1;
}

int json_scan_member_string(struct json_scan *sc, struct json_str *str, int *has)
{
	if (*has)
		return 0;
	json_scan_ws(sc);
	if (sc->p < sc->end && *sc->p == '"') {
		*has = 1;
		return json_scan_string(sc, str);
	}
	*has = -1;
	return json_scan_skip(sc);
}

int json_scan_int(struct json_scan *sc, long *value)
{
	const unsigned char *p;
	long v = 0;
	int neg;

	json_scan_ws(sc);
	p = sc->p;
	if (!skip_number(sc))
		return 0;
	neg = *p == '-';
	for (p += neg; p < sc->p; p++) {
		if (*p == '.')
			return 0;	/* a double: json-c's int64 of it is its to make */
		v = v * 10 + (*p - '0');	/* at most 18 digits: no overflow */
	}
	*value = neg ? -v : v;
	return 1;
}

/* Append code point cp (1 to U+FFFF, not a surrogate) as UTF-8. */
static void add_utf8(struct mlb_buf *b, long cp)
{
	char u[3];

	if (cp < 0x80) {
		mlb_buf_addc(b, (char)cp);
		return;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		mlb_buf_add(b, u, 2);
		return;
	}
	u[0] = (char)(0xe0 | cp >> 12);
	u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
	u[2] = (char)(0x80 | (cp & 0x3f));
	mlb_buf_add(b, u, 3);
}

int json_scan_text(const struct json_str *str, struct mlb_buf *scratch, const char **text, size_t *len)
{
	const char *p = str->s, *end = str->s + str->len;

	/* Without escapes the text is its raw bytes, in place (on_text takes a length, not a C string). */
	if (!str->escaped) {
		*text = str->s;
		*len = str->len;
		return 1;
	}
	mlb_buf_reset(scratch);
	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		char c;

		if (!bs)
			bs = end;
		mlb_buf_add(scratch, p, (size_t)(bs - p));
		if (bs == end)
			break;
		/* json_scan_string let only well-formed escapes through */
		c = bs[1];
		p = bs + 2;
		switch (c) {
		case 'b': mlb_buf_addc(scratch, '\b'); break;
		case 'f': mlb_buf_addc(scratch, '\f'); break;
		case 'n': mlb_buf_addc(scratch, '\n'); break;
		case 'r': mlb_buf_addc(scratch, '\r'); break;
		case 't': mlb_buf_addc(scratch, '\t'); break;
		case 'u':
			add_utf8(scratch, hex4((const unsigned char *)p));
			p += 4;
			break;
		default: mlb_buf_addc(scratch, c); break;
		}
	}
	*text = mlb_buf_str(scratch);
	*len = scratch->len;
	return 1;
}

static int build_string(struct json_scan *sc, struct mlb_buf *scratch, json_object **out)
{
	struct json_str str;
	const char *text;
	size_t len;

	if (!json_scan_string(sc, &str) || !json_scan_text(&str, scratch, &text, &len) || len > INT_MAX)
		return 0;
	*out = json_object_new_string_len(text, (int)len);
	return *out != NULL;
}

static int build_container(struct json_scan *sc, struct mlb_buf *scratch, int object, json_object **out)
{
	json_object *o = object ? json_object_new_object() : json_object_new_array();
	char close = object ? '}' : ']';

	if (!o || ++sc->depth >= sc->max_depth)
		goto unsure;
	sc->p++;
	if (!json_scan_take(sc, close)) {
		do {
			struct json_str key;
			json_object *v;
			char *name = NULL;

			if (object) {
				if (!json_scan_string(sc, &key) || key.escaped || !json_scan_take(sc, ':') ||
				    !(name = strndup(key.s, key.len)))
					goto unsure;
			}
			if (!json_scan_build(sc, scratch, &v)) {
				free(name);
				goto unsure;
			}
			if (object) {
				json_object_object_add(o, name, v);	/* json-c copies the name; a second one replaces the first */
				free(name);
			} else {
				json_object_array_add(o, v);
			}
		} while (json_scan_take(sc, ','));
		if (!json_scan_take(sc, close))
			goto unsure;
	}
	sc->depth--;
	*out = o;
	return 1;
unsure:
	json_object_put(o);
	return 0;
}

int json_scan_build(struct json_scan *sc, struct mlb_buf *scratch, json_object **out)
{
	long v;

	*out = NULL;
	json_scan_ws(sc);
	if (sc->p >= sc->end)
		return 0;
	switch (*sc->p) {
	case '{':
		return build_container(sc, scratch, 1, out);
	case '[':
		return build_container(sc, scratch, 0, out);
	case '"':
		return build_string(sc, scratch, out);
	case 't':
		return skip_literal(sc, "true", 4) && (*out = json_object_new_boolean(1));
	case 'f':
		return skip_literal(sc, "false", 5) && (*out = json_object_new_boolean(0));
	case 'n':
		return skip_literal(sc, "null", 4);	/* json-c's null is no object */
	default:
		return json_scan_int(sc, &v) && (*out = json_object_new_int64(v));
	}
}
