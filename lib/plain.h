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

/* Which bytes a run takes: the short runs of a stream's tokens end in a byte-at-a-time loop. */
static const unsigned char mlb_plain_byte[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x10 */
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* 0x50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x70 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x80 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x90 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xa0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xb0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xc0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xd0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xe0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xf0 */
};

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
	while (p < end && mlb_plain_byte[*p])
		p++;
	return p;
}

#endif
