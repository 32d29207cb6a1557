/*
 * expect.h - the checks a pipeline step makes of every answer ("expect").
 *
 * A step's "expect" is a list of objects, each naming one check:
 * contains, not_contains, regex (POSIX extended, anywhere in the answer),
 * json (the answer parses), json_schema (a subset of JSON Schema: type,
 * required, properties, items, enum), max_cost (USD), max_latency_ms,
 * max_tokens (completion tokens), similar_to (with "min", mlb-diff's word
 * similarity) and judge (a model and a "rubric").  Strings may hold
 * {{variables}}, so that a dataset's row can carry what its answer should
 * say.  Validation is strict: an unknown check or key, a wrong type, a
 * regex that does not compile or a schema keyword outside the subset is a
 * problem of the template, reported as the others are.
 *
 * A judge check asks another model; this module writes its prompt and reads
 * its verdict, and the pipeline sends it (pipeline.h).
 */
#ifndef MLB_EXPECT_H
#define MLB_EXPECT_H

#include <stddef.h>
#include <json-c/json.h>

#include "template.h"

/* The most checks of one step. */
#define MLB_EXPECT_MAX 64

/* One answer, as the checks see it. */
struct mlb_expect_answer {
	const char *text;
	size_t len;
	int priced;		/* cost_usd is known */
	double cost_usd;
	long latency_ms;
	long completion_tokens;
};

/* The end of one check: its name ("contains", ...), whether it passed, and why (one line). */
typedef void (*mlb_expect_fn)(void *ctx, size_t index, const char *check, int pass, const char *why);

/* Check a step's "expect" value; problems are recorded in t, each starting with who. */
void mlb_expect_validate(struct mlb_template *t, const char *who, json_object *expect);
/* The strings of expect that may hold {{variables}} (up to max); their number. */
size_t mlb_expect_texts(json_object *expect, const char **out, size_t max);
/* The name of the check of item i ("contains", "judge", ...), or NULL when it is not one. */
const char *mlb_expect_check_name(json_object *expect, size_t i);

/* Run every check but judge on an answer (variables from t); fn hears each; the number that failed. */
int mlb_expect_run(json_object *expect, const struct mlb_template *t, const struct mlb_expect_answer *a,
		   mlb_expect_fn fn, void *ctx);

/* Item i's judge: its model and the prompt for it about answer (caller frees both); -1 when it is no judge. */
int mlb_expect_judge(json_object *expect, size_t i, const struct mlb_template *t, const char *question,
		     const char *answer, char **model, char **prompt);
/* Read a judge's reply: 1 pass, 0 fail; *why is its reason (caller frees). */
int mlb_expect_verdict(const char *reply, char **why);

#endif
