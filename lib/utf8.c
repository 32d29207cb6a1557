#include "utf8.h"
#include "msg.h"

size_t mlb_utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (!n || c > 0xf4 || (size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	cp = n == 2 ? (c & 0x1f) << 6 | (p[1] & 0x3f)
	   : n == 3 ? (c & 0x0f) << 12 | (p[1] & 0x3f) << 6 | (p[2] & 0x3f)
	   : (c & 0x07) << 18 | (p[1] & 0x3f) << 12 | (p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t mlb_utf8_check(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		size_t n;

		/* ASCII runs are the common case: skip them a byte at a time without the decoder */
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = mlb_utf8_seq(p, end);
		if (!n)
			break;
		p += n;
	}
	return (size_t)(p - (const unsigned char *)s);
}

void mlb_require_utf8(const char *what, const char *s, size_t len)
{
	size_t bad = mlb_utf8_check(s, len);

	if (bad < len)
		mlb_die(MLB_EXIT_USAGE,
			"%s is not valid UTF-8 (byte %zu is 0x%02x); convert it first, e.g. with iconv -f latin1 -t utf-8",
			what, bad + 1, (unsigned char)s[bad]);
}
