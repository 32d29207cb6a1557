#include "ratelimit.h"
#include "msg.h"

#include <stdlib.h>
#include <string.h>

/* How long tokensPerMinute and requestsPerMinute look back. */
#define WINDOW_MS 60000
/* The wait after a 429 that asked for none. */
#define THROTTLE_MS 1000

struct spend {
	int64_t t;
	long tokens;
};

/* One provider's state in a runner. */
struct rate {
	const struct mlb_provider *p;
	int active;		/* requests running */
	int allowed;		/* at once, now: maxConcurrent, less after a 429 */
	int64_t next_start;	/* requestsPerMinute: the earliest next start */
	int64_t calm_at;	/* after a 429: nothing starts before this */
	struct spend *spent;	/* tokensPerMinute: the last minute's starts */
	size_t nspent;
	long window_tokens;
};

struct mlb_rates {
	struct rate *v;
	size_t n;
};

struct mlb_rates *mlb_rates_new(void)
{
	return mlb_xcalloc(1, sizeof(struct mlb_rates));
}

void mlb_rates_free(struct mlb_rates *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].spent);
	free(rs->v);
	free(rs);
}

static struct rate *rate_of(struct mlb_rates *rs, const struct mlb_provider *p)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].p == p)
			return &rs->v[i];
	rs->v = mlb_xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
	memset(&rs->v[rs->n], 0, sizeof(rs->v[rs->n]));
	rs->v[rs->n].p = p;
	rs->v[rs->n].allowed = p->max_concurrent > 0 ? p->max_concurrent : 0;
	return &rs->v[rs->n++];
}

/* Forget the tokens of starts older than the window. */
static void expire(struct rate *r, int64_t now)
{
	size_t k = 0;

	while (k < r->nspent && r->spent[k].t <= now - WINDOW_MS)
		r->window_tokens -= r->spent[k++].tokens;
	if (k) {
		memmove(r->spent, r->spent + k, (r->nspent - k) * sizeof(*r->spent));
		r->nspent -= k;
	}
}

int64_t mlb_rates_wait(struct mlb_rates *rs, const struct mlb_provider *p, long tokens, int64_t now)
{
	struct rate *r;
	int64_t at = 0;

	r = rate_of(rs, p);
	if (r->calm_at > now)
		at = r->calm_at;
	if (r->next_start > now && r->next_start > at)
		at = r->next_start;
	if (p->tokens_per_minute > 0) {
		expire(r, now);
		/* a request larger than the whole budget waits for an empty window, then goes alone */
		if (r->nspent && r->window_tokens + tokens > p->tokens_per_minute) {
			int64_t free_at = r->spent[0].t + WINDOW_MS;

			if (free_at > at)
				at = free_at;
		}
	}
	if (at)
		return at;
	/* no time to wait for: a request that ends frees the place (the runner looks again then) */
	if (r->allowed > 0 && r->active >= r->allowed)
		return now + 50;
	return 0;
}

void mlb_rates_start(struct mlb_rates *rs, const struct mlb_provider *p, long tokens, int64_t now)
{
	struct rate *r;

	r = rate_of(rs, p);
	r->active++;
	if (p->requests_per_minute > 0)
		r->next_start = now + (int64_t)(60000.0 / p->requests_per_minute);
	if (p->tokens_per_minute > 0) {
		r->spent = mlb_xrealloc(r->spent, (r->nspent + 1) * sizeof(*r->spent));
		r->spent[r->nspent].t = now;
		r->spent[r->nspent++].tokens = tokens;
		r->window_tokens += tokens;
	}
}

void mlb_rates_end(struct mlb_rates *rs, const struct mlb_provider *p, int throttled, long retry_ms, long more_tokens,
		   int64_t now)
{
	struct rate *r;

	r = rate_of(rs, p);
	if (r->active > 0)
		r->active--;
	if (p->tokens_per_minute > 0 && more_tokens > 0 && r->nspent) {
		r->spent[r->nspent - 1].tokens += more_tokens;
		r->window_tokens += more_tokens;
	}
	if (throttled) {
		int64_t calm = now + (retry_ms >= 0 ? retry_ms : THROTTLE_MS);

		if (calm > r->calm_at)
			r->calm_at = calm;
		/* halve what runs at once; at least one goes on */
		r->allowed = r->active > 1 ? r->active / 2 : 1;
	} else if (p->max_concurrent > 0 && r->allowed < p->max_concurrent) {
		r->allowed++;
	} else if (p->max_concurrent <= 0 && r->allowed > 0) {
		r->allowed++;	/* no fixed limit: grow back until unlimited again */
		if (r->allowed > 64)
			r->allowed = 0;
	}
}
