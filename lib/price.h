/*
 * price.h - what a model's tokens cost, so that the meter can put a dollar
 * figure on every reply.
 *
 * A table maps `provider:model` to US dollars per prompt (input) token and
 * per completion (output) token.  Tools fill it from share/mlb/prices.tsv,
 * which scripts/gen-prices builds from LiteLLM's public price list, and then
 * from the user's config; a later entry for a name replaces an earlier one.
 * A model the table cannot price has no cost at all: callers report it as
 * unknown, never as zero.
 *
 * The file format: one `provider:model<TAB>input<TAB>output[<TAB>cached]`
 * line per model, numbers as C's strtod reads them (1.5e-07, 0.000168);
 * `cached` is the price of a prompt token read from the provider's prompt
 * cache, where it differs from the input price.  Lines starting with '#'
 * and blank lines are ignored.
 *
 * A name that is not in the table is looked up again, in this order:
 *  1. `litellm:<m>`: a LiteLLM proxy serves models under names its admin
 *     chooses, usually the upstream ones.  So when <m> is `<p>/<x>` (LiteLLM's
 *     own spelling, e.g. `groq/llama-3.1-8b-instant`) try `<p>:<x>`; then try
 *     `openai:<m>`, `anthropic:<m>` and `gemini:<m>`, the first one found.
 *  2. A dated name, `<m>-YYYY-MM-DD` or `<m>-YYYYMMDD` (a model snapshot, as
 *     in `gpt-4o-mini-2024-07-18`), is priced as the undated `<m>` (with the
 *     fallback of step 1 again) when the snapshot itself is not listed.  A
 *     listed snapshot keeps its own price, which may differ from the alias.
 * Other providers get no guesses: a made-up price is worse than none.
 */
#ifndef MLB_PRICE_H
#define MLB_PRICE_H

/* The price of one model, in US dollars per token. */
struct mlb_price {
	double input;	/* per prompt token */
	double output;	/* per completion token */
	double cached;	/* per prompt token read from the prompt cache; < 0: the input price */
};

/* A price table; opaque. */
struct mlb_prices;

/* A new, empty table (exits on exhaustion, as mlb_xmalloc does). */
struct mlb_prices *mlb_prices_new(void);

/*
 * Add or replace the entries of the TSV file at path; 0, or -1 with errno
 * set when it cannot be read.  A malformed line is skipped with a warning
 * that names path:line.
 */
int mlb_prices_load(struct mlb_prices *t, const char *path);

/*
 * Add or replace one entry (cached prompt tokens at the input price); 0, or
 * -1 with errno EINVAL when model is not `provider:model` or a price is
 * negative or not finite.
 */
int mlb_prices_set(struct mlb_prices *t, const char *model, double input, double output);

/*
 * Find the price of model, with the fallbacks above, into out (which may be
 * NULL); 1 when found, 0 when unknown (always, for a NULL table).
 */
int mlb_prices_lookup(const struct mlb_prices *t, const char *model, struct mlb_price *out);

/*
 * Set *cost to what a call to model cost in US dollars; 1, or 0 with *cost
 * untouched when the model is unpriced or a count is negative.
 */
int mlb_prices_cost(const struct mlb_prices *t, const char *model, long prompt_tokens,
		    long completion_tokens, double *cost);
/* The same when cached of the prompt tokens were read from the prompt cache (0 <= cached <= prompt). */
int mlb_prices_cost_cached(const struct mlb_prices *t, const char *model, long prompt_tokens, long cached,
			   long completion_tokens, double *cost);

/* Free the table and its entries; t may be NULL. */
void mlb_prices_free(struct mlb_prices *t);

#endif
