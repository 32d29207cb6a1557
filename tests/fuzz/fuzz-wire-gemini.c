/* fuzz-wire-gemini.c - the gemini wire kind's decoders on arbitrary bytes (see wire-harness.h). */
#define FUZZ_KIND MLB_KIND_GEMINI
#include "wire-harness.h"
