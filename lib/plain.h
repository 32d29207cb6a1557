/*
 * plain.h - find the end of a run of bytes that JSON text carries as they
 * are: printable ASCII other than the quote and the backslash.  Reading a
 * streamed chunk and writing a token event both spend most of their time
 * in such runs, so they are crossed eight bytes at a time.
 */
#ifndef MLB_PLAIN_H
#define MLB_PLAIN_H

#include <stdint.h>
#include <string.h>

/* The first byte in [p, end) that is a control character, '"', '\\' or not ASCII; end if none. */
static inline const unsigned char *mlb_plain_end(const unsigned char *p, const unsigned char *end)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;

	while (end - p >= 8) {
		uint64_t x, q, b, special;

		memcpy(&x, p, 8);
		q = x ^ (ones * '"');
		b = x ^ (ones * '\\');
		/* A high bit marks a byte below 0x20, equal to '"' or '\\', or at least 0x80;
		 * borrows can only mark bytes above the first marked one. */
		special = ((x - ones * 0x20) & ~x & high) | ((q - ones) & ~q & high) |
			  ((b - ones) & ~b & high) | (x & high);
		if (special) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return p + (__builtin_ctzll(special) >> 3);
#else
			break;
#endif
		}
		p += 8;
	}
	while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	return p;
}

#endif
