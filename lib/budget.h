/*
 * budget.h - spending limits in USD, shared by mlb-meter, mlb-broadcast and
 * mlb-pipeline: a running total with a warning threshold, replies counted
 * as they stream, and the check that refuses to start when the prompt alone
 * would already cost too much.
 */
#ifndef MLB_BUDGET_H
#define MLB_BUDGET_H

#include <stddef.h>

#include "price.h"

#include <json-c/json.h>

struct mlb_budget {
	double limit;		/* USD; 0 means none */
	double warn_fraction;	/* warn at this share of the limit */
	double spent;
	int warned;
};

enum { MLB_BUDGET_OK, MLB_BUDGET_WARN, MLB_BUDGET_OVER };

/* Add cost to the total: MLB_BUDGET_WARN the first time the warning share is reached, MLB_BUDGET_OVER at or past the limit. */
int mlb_budget_add(struct mlb_budget *b, double cost);

struct mlb_job;

/*
 * Count what job has cost since it was last counted: while it streams, its
 * cost so far (estimated from the text until the provider's usage comes);
 * once it ended, its cost, which corrects the estimate.  Returns as
 * mlb_budget_add(); an unpriced job counts nothing.
 */
int mlb_budget_job(struct mlb_budget *b, struct mlb_job *job, const struct mlb_prices *prices);

/* The estimated cost of sending prompt once to each model (prompt tokens only, ceil(bytes/4)). */
double mlb_budget_prompt_cost(const struct mlb_prices *prices, const char *const *models, size_t n,
			      size_t prompt_bytes);

/* 1 (after a one-line error) when that estimate is already over limit; else 0. */
int mlb_budget_refuse(const struct mlb_prices *prices, const char *const *models, size_t n,
		      const char *prompt, double limit);

/* A meter event's cost for a person: "$0.000123", or "unpriced" when it has none. */
void mlb_cost_text(json_object *meter, char *out, size_t size);

#endif
