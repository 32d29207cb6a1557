/*
 * models.h - asking providers which models they offer, all at once.
 */
#ifndef MLB_MODELS_H
#define MLB_MODELS_H

#include <stddef.h>

#include "config.h"

/* List the models of the providers named (all with a key, or needing none, when n is 0),
 * as "model" records or text lines; a provider that fails is reported and skipped.
 * Returns the exit status: 0, 3 when some providers failed, 1 when all did. */
int mlb_models_list(const struct mlb_config *cfg, const char *const *names, size_t n, double timeout_s);

#endif
