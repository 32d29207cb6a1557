/*
 * fuzz.h - shared by the libFuzzer harnesses in tests/fuzz.
 *
 * Each fuzz-<target>.c defines LLVMFuzzerTestOneInput() (and, when it
 * needs one-time setup, LLVMFuzzerInitialize()).  `make fuzz` links them
 * with clang's -fsanitize=fuzzer; `make fuzz-replay` links the same files
 * with replay.c, a plain main() that feeds files, so the regression inputs
 * run under `make check` with any compiler.
 *
 * A harness checks more than "no crash": FUZZ_CHECK() states what must hold
 * (a round trip is stable, a split does not change the events) and aborts
 * when it does not, which both drivers report as a failure.
 */
#ifndef MLB_FUZZ_H
#define MLB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* Take n bytes off the front of the input as a little-endian number (0 when it runs out). */
static inline uint32_t fuzz_take(const uint8_t **data, size_t *size, size_t n)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n && *size; i++) {
		v |= (uint32_t)**data << (8 * i);
		(*data)++;
		(*size)--;
	}
	return v;
}

#endif
