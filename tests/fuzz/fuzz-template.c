/*
 * fuzz-template.c - the pipeline template parser (lib/template.c) on
 * arbitrary text.
 *
 * Whatever the text, parsing must give a template whose problems are one
 * line each.  A template without problems must order its steps so that a
 * step runs after every step it needs, name panes that are valid pane
 * names, and expand its prompts; for any text, escaping it and expanding
 * the result must give the text back without looking anything up.
 */
#include "fuzz.h"
#include "store.h"
#include "template.h"

static char *echo_name(void *ctx, const char *name, long n)
{
	char *s = malloc(strlen(name) + 24);

	(void)ctx;
	FUZZ_CHECK(s && *name);
	sprintf(s, "<%s.%ld>", name, n);
	return s;
}

static char *never(void *ctx, const char *name, long n)
{
	(void)ctx;
	(void)name;
	(void)n;
	FUZZ_CHECK(!"an escaped text has no placeholder");
	return NULL;
}

static void escape_round_trip(const char *text)
{
	char *esc = mlb_template_escape(text), *back = mlb_template_expand(esc, never, NULL);

	FUZZ_CHECK(strcmp(back, text) == 0);
	free(esc);
	free(back);
	free(mlb_template_expand(text, echo_name, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const envp[] = { "MLB_VAR_topic=tides", "MLB_VAR_bad name=x", "PATH=/bin", NULL };
	const char *text = (const char *)data;
	struct mlb_template *t = mlb_template_parse(text, size, "fuzz.json");
	char *copy;

	FUZZ_CHECK(t && t->label);
	for (size_t i = 0; i < t->nproblems; i++)
		FUZZ_CHECK(t->problems[i] && !strchr(t->problems[i], '\n'));
	mlb_template_env_vars(t, envp);
	mlb_template_option_var(t, "audience=children");
	mlb_template_option_var(t, "=bad");
	if (t->nproblems == 0) {
		mlb_template_check(t);
		for (size_t i = 0; i < t->nsteps; i++) {
			const struct mlb_tpl_step *s = &t->steps[i];

			FUZZ_CHECK(s->id && mlb_template_step_index(t, s->id) == (int)i);
			FUZZ_CHECK(s->wave >= 1 && s->wave <= t->nwaves);
			for (size_t k = 0; k < s->nneeds; k++)
				FUZZ_CHECK(s->need[k] >= 0 && t->steps[s->need[k]].wave < s->wave);
			for (size_t k = 0; k < s->nmodels; k++) {
				char *model = mlb_template_model(t, s, k), *pane = mlb_template_pane(s, k);

				FUZZ_CHECK(model && pane && mlb_pane_name_valid(pane));
				free(model);
				free(pane);
			}
			if (s->prompt) {
				free(mlb_template_expand_vars(t, s->prompt));
				escape_round_trip(s->prompt);
			}
		}
	}
	mlb_template_free(t);
	/* The text itself, as far as a C string goes. */
	copy = malloc(size + 1);
	FUZZ_CHECK(copy);
	memcpy(copy, data, size);
	copy[size] = '\0';
	escape_round_trip(copy);
	free(copy);
	return 0;
}
