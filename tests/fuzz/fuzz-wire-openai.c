/* fuzz-wire-openai.c - the openai wire kind's decoders on arbitrary bytes (see wire-harness.h). */
#define FUZZ_KIND MLB_KIND_OPENAI
#include "wire-harness.h"
