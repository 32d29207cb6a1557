/*
 * meter.h - add up what replies cost: tokens, dollars and latency, per model
 * (or pane, or session) and in total, and stop a stream that spends too much.
 *
 * mlb-meter stands on this.  As a filter it passes every event through as
 * it came and looks at two kinds:
 *
 *  - a reply's meter event (scope "pane" or none, and no "replies" member,
 *    which every aggregate has): it is counted, and when it has no
 *    "cost_usd" member at all it gets one from the price table, or
 *    "cost_usd": null and "unpriced": true when the model has no price.
 *    Only such an event is written anew; every other line is copied byte
 *    for byte.  Aggregates (scope model, session, run, or "replies") pass
 *    through uncounted, so meters can be chained.
 *  - an error event: counted for the group its key names, and in the total.
 *
 * An aggregate is a meter event with these members, in this order: type,
 * ts, scope, the key ("model", "pane" or "session"; null for replies that
 * lack it), replies, prompt_tokens, completion_tokens, cost_usd (the sum
 * over priced replies; null when no reply of the group could be priced;
 * 0 for a group that has only errors), unpriced (replies without a price),
 * latency_ms_p50, latency_ms_p95, ttft_ms_p50, ttft_ms_p95 (nearest rank:
 * the value at rank ceil(p/100 * n) of the n sorted values of the replies
 * that have one; null when none has), tokens_per_s (the mean over the
 * replies that have one, rounded to 0.1; null when none has), errors and
 * estimated (counts).  The total has scope "run" (or "session" with the
 * session's id for a stored session) and no other key; its errors include
 * the malformed lines the reader reported.  Aggregates are totals since
 * the start, also those written every interval.
 */
#ifndef MLB_METER_H
#define MLB_METER_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "event.h"
#include "price.h"

struct mlb_job;

/* What the groups of the aggregates are. */
enum mlb_meter_by {
	MLB_METER_BY_MODEL, MLB_METER_BY_PANE, MLB_METER_BY_SESSION,
	MLB_METER_BY_DAY, MLB_METER_BY_WEEK, MLB_METER_BY_MONTH,	/* of the reply's Date (UTC) */
	MLB_METER_BY_PROVIDER, MLB_METER_BY_PROJECT			/* the session's project, "-" for none */
};

struct mlb_meter_opts {
	enum mlb_meter_by by;
	double budget;			/* USD; 0: no budget */
	const char *since, *until;	/* stored replies: only those of these days (YYYY-MM-DD, UTC, inclusive), or NULL */
	double warn;			/* share of the budget that warns once; 0 takes 0.8 */
	double interval;		/* seconds between interim aggregates; 0: only at the end */
	int events;			/* pass events through and write aggregates as events */
	FILE *report;			/* where the table for a person goes at the end, or NULL */
	int color;			/* colour that table */
	const struct mlb_config *cfg;	/* for [price "<provider:model>"] (mlb_prices_default), or NULL */
	const char *prices_file;	/* an extra price table, loaded last, or NULL */
	const struct mlb_prices *prices;	/* use this table as it is instead of loading one */
	/* A person watching: every reply's event also goes to watch (which takes it), and
	 * tick(watch_ctx) runs at least every 100 ms while input is awaited (a live view). */
	void (*watch)(void *watch_ctx, struct mlb_job *job, json_object *ev);
	void (*tick)(void *watch_ctx);
	void *watch_ctx;
};

/* What mlb_meter_add_event() tells the caller. */
enum { MLB_METER_GO, MLB_METER_OVER_BUDGET, MLB_METER_WRITE_FAILED };

struct mlb_meter;

/* A new meter; loads the prices (mlb_prices_default, then prices_file); NULL after an error. */
struct mlb_meter *mlb_meter_new(const struct mlb_meter_opts *o);
void mlb_meter_free(struct mlb_meter *m);

/* Pass one event that r read on (priced if need be), count it and apply the budget. */
int mlb_meter_add_event(struct mlb_meter *m, struct mlb_reader *r, const struct mlb_event_in *ev);

/* Write the aggregates so far: one per group, sorted by key, then the total. */
int mlb_meter_emit_aggregates(struct mlb_meter *m);

/* Draw the table of the groups and the total for a person; color adds ANSI colours. */
void mlb_meter_report(struct mlb_meter *m, FILE *f, int color);

/* Filter the events on fd to the event output until the end or the budget; the exit status. */
int mlb_meter_filter(struct mlb_meter *m, int fd);

/* Add up the replies stored in session id across all its commits; the exit status. */
int mlb_meter_from_session(struct mlb_meter *m, const char *id);
/* Add up the replies stored in every session of a project (archived and completed ones too); the exit status. */
int mlb_meter_from_project(struct mlb_meter *m, const char *project);
/* Add up the replies stored in every session under $MLB_HOME; the exit status. */
int mlb_meter_from_all(struct mlb_meter *m);

/* The pct-th percentile of v by nearest rank (v is sorted in place); n must be > 0. */
double mlb_meter_percentile(double *v, size_t n, int pct);

/* Draw value/max as a bar of width cells of Unicode eighth blocks into buf; its length in bytes. */
size_t mlb_meter_bar(char *buf, size_t size, double value, double max, int width);

#endif
