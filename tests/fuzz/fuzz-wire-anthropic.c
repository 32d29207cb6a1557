/* fuzz-wire-anthropic.c - the anthropic wire kind's decoders on arbitrary bytes (see wire-harness.h). */
#define FUZZ_KIND MLB_KIND_ANTHROPIC
#include "wire-harness.h"
