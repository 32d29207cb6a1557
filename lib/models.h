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

/* Up to three of p's models whose ids are close to id (a typo, or a longer name that holds it), for a
 * "did you mean" after a 404; the provider's list is cached for five minutes in
 * ${XDG_CACHE_HOME:-~/.cache}/mlb/models/<provider>.  NULL-terminated, possibly empty; never NULL. */
char **mlb_models_near(const struct mlb_provider *p, const char *id);

#endif
