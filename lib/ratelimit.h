/*
 * ratelimit.h - each provider's rate limits, honoured by every request of a
 * runner: all the rows and steps of a pipeline, all the panes of a
 * broadcast.
 *
 * The configuration gives, per provider, the most requests at once
 * (maxConcurrent), requests per minute (requestsPerMinute: request starts
 * are spaced 60/N seconds apart, so there is no burst at the top of a
 * minute) and tokens per minute (tokensPerMinute: the tokens of the
 * requests started in the last 60 seconds, estimated as their bytes / 4 and
 * then counted as the providers report them, stay under it).  A 429 slows
 * the provider down: no request of it starts before its Retry-After (or a
 * second) has passed, and the requests allowed at once are halved; each
 * success then allows one more, back up to the limit (or, for a provider
 * with no limit, until it has none again).
 */
#ifndef MLB_RATELIMIT_H
#define MLB_RATELIMIT_H

#include <stdint.h>

#include "config.h"

struct mlb_rates;

struct mlb_rates *mlb_rates_new(void);
void mlb_rates_free(struct mlb_rates *rs);

/* 0 when a request of p estimated at tokens may start at now, else the time to look again. */
int64_t mlb_rates_wait(struct mlb_rates *rs, const struct mlb_provider *p, long tokens, int64_t now);
/* A request of p starts at now. */
void mlb_rates_start(struct mlb_rates *rs, const struct mlb_provider *p, long tokens, int64_t now);
/* A request of p ended at now: throttled (429) with the wait it asked for (ms, -1 none), and the tokens
 * it turned out to use beyond its estimate. */
void mlb_rates_end(struct mlb_rates *rs, const struct mlb_provider *p, int throttled, long retry_ms, long more_tokens,
		   int64_t now);

#endif
