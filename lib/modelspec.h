/*
 * modelspec.h - a model as a person names it, made concrete.
 *
 * Wherever a model is named (-m, MLB_MODEL, core.model, a group, a
 * template), the name may be an alias from the configuration's [alias]
 * section, and may carry request options after commas:
 *
 *     -m fast                          ([alias] fast = groq:llama-3.1-8b-instant)
 *     -m openai:gpt-4o,temperature=0.2,max_tokens=100
 *
 * An option starts at a ',' followed by key=, so a value may hold commas
 * of its own (stop=[",",";"]).  [model "provider:model"] sections hold a
 * model's defaults: option = key=value lines (anything -o takes), a default
 * role, and fallback models.
 */
#ifndef MLB_MODELSPEC_H
#define MLB_MODELSPEC_H

#include <stddef.h>
#include <json-c/json.h>

#include "config.h"

/* Split word into provider:model, the alias expanded, and its options (added to options
 * when it is not NULL); -1 after a one-line error that names the fix. */
int mlb_model_word(const struct mlb_config *cfg, const char *word, char **spec, json_object *options);

/* word with an alias expanded and its options kept, or a copy of word when it is no alias (caller frees). */
char *mlb_model_expand(const struct mlb_config *cfg, const char *word);

/* The length of word's provider:model part, before any options. */
size_t mlb_model_word_len(const char *word);

/* What [model "<spec>"] says. */
struct mlb_model_defaults {
	json_object *options;	/* option = key=value lines; never NULL once read */
	char *role;		/* role = name, or NULL */
	char **fallbacks;	/* fallback = provider:model lines, NULL-terminated */
	size_t nfallbacks;
};

/* Read the defaults of spec; -1 after an error naming the bad line. */
int mlb_model_defaults(const struct mlb_config *cfg, const char *spec, struct mlb_model_defaults *d);
void mlb_model_defaults_clear(struct mlb_model_defaults *d);

/* Set every member of src in dst, replacing what dst had; src may be NULL. */
void mlb_options_overlay(json_object *dst, json_object *src);

#endif
