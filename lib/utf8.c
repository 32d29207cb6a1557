#include "utf8.h"
#include "msg.h"

size_t mlb_utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;

	if (c < 0x80)
		return 1;
	if (!n || c > 0xf4 || (size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* The second byte's range rules out overlong forms, surrogates and what lies past U+10FFFF. */
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
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
