/*
 * test-sha256.c - unit tests for lib/sha256.c against the FIPS 180-4
 * example vectors, fed whole and in uneven pieces (the block boundary is
 * where hand-written hashes go wrong).
 */
#include "sha256.h"
#include "unit.h"

#include <stdlib.h>

static void hex(const unsigned char d[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[64] = '\0';
}

/* The digest of s fed in pieces of step bytes. */
static void pieces(const char *s, size_t len, size_t step, char out[65])
{
	struct mlb_sha256 c;
	unsigned char d[32];
	size_t i, n;

	mlb_sha256_init(&c);
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		mlb_sha256_update(&c, s + i, n);
	}
	mlb_sha256_final(&c, d);
	hex(d, out);
}

int main(void)
{
	static const struct { const char *in, *want; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	static const char million_a[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	static const size_t steps[] = { 1, 3, 55, 56, 63, 64, 65, 1000 };
	char out[65];
	size_t i, j;
	char *a;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		mlb_sha256_hex(v[i].in, strlen(v[i].in), out);
		CHECK_STR(out, v[i].want);
		for (j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
			pieces(v[i].in, strlen(v[i].in), steps[j], out);
			CHECK_STR(out, v[i].want);
		}
	}

	a = malloc(1000000);
	if (!a)
		return 1;
	memset(a, 'a', 1000000);
	mlb_sha256_hex(a, 1000000, out);
	CHECK_STR(out, million_a);
	for (j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
		pieces(a, 1000000, steps[j], out);
		CHECK_STR(out, million_a);
	}
	free(a);
	return unit_done();
}
