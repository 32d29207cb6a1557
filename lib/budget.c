#include "budget.h"
#include "event.h"
#include "msg.h"
#include "run.h"

#include <stdio.h>

#include <string.h>

int mlb_budget_add(struct mlb_budget *b, double cost)
{
	b->spent += cost;
	if (b->limit <= 0)
		return MLB_BUDGET_OK;
	if (b->spent >= b->limit)
		return MLB_BUDGET_OVER;
	if (!b->warned && b->spent >= b->limit * b->warn_fraction) {
		b->warned = 1;
		return MLB_BUDGET_WARN;
	}
	return MLB_BUDGET_OK;
}

int mlb_budget_job(struct mlb_budget *b, struct mlb_job *job, const struct mlb_prices *prices)
{
	double cost, delta;

	if (!mlb_job_cost_so_far(job, prices, &cost))
		return MLB_BUDGET_OK;
	delta = cost - job->charged;
	job->charged = cost;
	return mlb_budget_add(b, delta);
}

double mlb_budget_prompt_cost(const struct mlb_prices *prices, const char *const *models, size_t n,
			      size_t prompt_bytes)
{
	long tokens = (long)((prompt_bytes + 3) / 4);
	double total = 0;

	for (size_t i = 0; i < n; i++) {
		double cost;

		if (mlb_prices_cost(prices, models[i], tokens, 0, &cost))
			total += cost;
	}
	return total;
}

int mlb_budget_refuse(const struct mlb_prices *prices, const char *const *models, size_t n,
		      const char *prompt, double limit)
{
	double est = mlb_budget_prompt_cost(prices, models, n, strlen(prompt));

	if (limit > 0 && est > limit) {
		mlb_error("the prompt alone would cost about $%.6f, over the budget of $%.6f; raise --budget or shorten the prompt",
			  est, limit);
		return 1;
	}
	return 0;
}

void mlb_cost_text(json_object *meter, char *out, size_t size)
{
	double cost = mlb_json_double(meter, "cost_usd", -1);

	if (cost >= 0)
		snprintf(out, size, "$%.6f", cost);
	else
		snprintf(out, size, "unpriced");
}
