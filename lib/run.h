/*
 * run.h - the HTTP loop: chat requests to many models at once, streamed in
 * one libcurl multi handle, each job with its own retries and timeouts.
 *
 * A tool fills one struct mlb_job per model, adds the jobs to a runner and
 * runs it.  The runner reports everything as events through the tool's emit
 * hook (status, token, error) and calls on_done as each job ends; building
 * the final and meter events, and storing the reply, is the tool's part, so
 * that a broadcast can store all panes in one commit.
 *
 * Retries: 429, 5xx, timeouts and network errors, before any text arrived,
 * wait Retry-After / retry-after-ms / Gemini's RetryInfo when given, else an
 * exponential backoff with full jitter; 400, 401, 403 and 404 never retry.
 * A stream that breaks after text arrived is not retried (the text already
 * went out): the job ends with partial set.
 */
#ifndef MLB_RUN_H
#define MLB_RUN_H

#include <stdint.h>

#include "chat.h"
#include "config.h"
#include "event.h"
#include "price.h"
#include "wire.h"

/* How hard to try; every time is in seconds, 0 meaning no limit. */
struct mlb_policy {
	int retries;		/* retries after the first attempt */
	double connect_s;	/* to connect */
	double first_token_s;	/* from the request to the first text */
	double idle_s;		/* between two reads of a stream */
	double total_s;		/* for the whole job, retries included */
	double max_wait_s;	/* the longest Retry-After honoured */
	size_t max_reply;	/* bytes of one reply */
	size_t max_request;	/* bytes of one request body */
	int max_transfers;	/* transfers at once; more wait their turn */
	int insecure;		/* skip TLS verification (warned about) */
};

/* The documented defaults. */
void mlb_policy_defaults(struct mlb_policy *p);
/* Apply retry.*, timeout.* and limit.* settings from the configuration; -1 if malformed. */
int mlb_policy_configure(struct mlb_policy *p, const struct mlb_config *c);

/* The options that set a policy on the command line, for tools that send requests. */
enum {
	MLB_OPT_RETRIES = 0x1100,
	MLB_OPT_CONNECT_TIMEOUT,
	MLB_OPT_FIRST_TOKEN_TIMEOUT,
	MLB_OPT_IDLE_TIMEOUT,
	MLB_OPT_TIMEOUT,
	MLB_OPT_INSECURE,
};
#define MLB_POLICY_LONGOPTS \
	{ "retries", required_argument, NULL, MLB_OPT_RETRIES }, \
	{ "connect-timeout", required_argument, NULL, MLB_OPT_CONNECT_TIMEOUT }, \
	{ "first-token-timeout", required_argument, NULL, MLB_OPT_FIRST_TOKEN_TIMEOUT }, \
	{ "idle-timeout", required_argument, NULL, MLB_OPT_IDLE_TIMEOUT }, \
	{ "timeout", required_argument, NULL, MLB_OPT_TIMEOUT }, \
	{ "insecure", no_argument, NULL, MLB_OPT_INSECURE }
/* The usage lines for those options. */
#define MLB_POLICY_USAGE \
	"      --retries <n>            retries after a failed attempt (3)\n" \
	"      --connect-timeout <s>    seconds to connect (10)\n" \
	"      --first-token-timeout <s> seconds to the first token (120)\n" \
	"      --idle-timeout <s>       seconds a stream may stall (60)\n" \
	"      --timeout <s>            seconds for the whole reply, retries included (900)\n" \
	"      --insecure               do not verify TLS certificates (warns)\n"

/* Apply a policy option getopt_long returned: 1 if it was one (exits 2 on a bad value), else 0. */
int mlb_policy_option(struct mlb_policy *p, int c, const char *arg);

enum mlb_job_outcome { MLB_JOB_PENDING, MLB_JOB_OK, MLB_JOB_FAILED, MLB_JOB_CANCELLED };

struct job_state;

struct mlb_job {
	/* Filled by the tool before mlb_runner_add(). */
	struct mlb_model model;
	struct mlb_chat chat;
	struct mlb_tag tag;
	void *user;

	/* Filled by the runner. */
	struct mlb_reply reply;
	enum mlb_job_outcome outcome;
	int partial;		/* reply.content holds text, but not the whole reply */
	int attempts;
	long http_status;
	char *error_code;	/* why it failed (DESIGN.md codes) */
	char *error_message;
	int64_t t_start, t_first, t_end;	/* monotonic ms; t_first 0 if no text */
	double charged;		/* what a budget has counted of it so far (mlb_budget_job) */
	struct job_state *st;
};

/* Takes ownership of ev: print it, draw it, or drop it. */
typedef void (*mlb_emit_fn)(void *ctx, struct mlb_job *job, json_object *ev);
/* A job ended; return non-zero to cancel every job still running. */
typedef int (*mlb_done_fn)(void *ctx, struct mlb_job *job);

/* A piece of text about to become a token event: return 1 when the tool wrote that event
 * itself (most of a stream is tokens), 0 to have it emitted as usual. */
typedef int (*mlb_text_fn)(void *ctx, struct mlb_job *job, const char *text, size_t len);

struct mlb_runner;

struct mlb_runner *mlb_runner_new(const struct mlb_policy *p, mlb_emit_fn emit, mlb_done_fn done, void *ctx);
/* Offer each token's text to fn first (called with the runner's ctx). */
void mlb_runner_on_text(struct mlb_runner *r, mlb_text_fn fn);
/* Call fn(ctx) after every round of reads, at least every 100 ms while running. */
void mlb_runner_on_tick(struct mlb_runner *r, void (*fn)(void *ctx), void *ctx);
/* Queue a job; it starts when the runner runs. */
void mlb_runner_add(struct mlb_runner *r, struct mlb_job *job);
/* Keep every successful exchange in record_dir, and/or answer every request from replay_dir
 * without any network (replay.h); NULL for neither. */
void mlb_runner_exchanges(struct mlb_runner *r, const char *record_dir, const char *replay_dir);
/* Start an ended job over (with the model its owner has just put in it), from an on_done hook:
 * a fallback.  It counts as running again until it ends again. */
void mlb_runner_again(struct mlb_runner *r, struct mlb_job *job);
/* Cancel whatever still runs this many seconds after mlb_runner_run starts. */
void mlb_runner_deadline(struct mlb_runner *r, double seconds);
/* Run until every job ended: the number of the signal (SIGINT, SIGTERM, SIGHUP) that cut it
 * short, the rest being cancelled, else 0.  The signals stay caught until mlb_runner_free(), so
 * that what was received is stored; one that comes in the meantime acts there. */
int mlb_runner_run(struct mlb_runner *r);
/* Cancel every job as soon as may be: callable from any hook, also while text is being handed
 * on (a budget reached mid-stream); the rest of that read is dropped. */
void mlb_runner_stop(struct mlb_runner *r);
/* Cancel every job that has not ended (from an on_done hook, say). */
void mlb_runner_cancel_all(struct mlb_runner *r);
void mlb_runner_free(struct mlb_runner *r);

/* Release what the runner and the tool put in a job (not the job itself). */
void mlb_job_clear(struct mlb_job *job);

/* The job's final event (content, finish_reason, partial); the tool adds message and commit. */
json_object *mlb_job_final_event(const struct mlb_job *job);
/* The job's meter event; prices may be NULL. */
json_object *mlb_job_meter_event(const struct mlb_job *job, const struct mlb_prices *prices);
/* Of the prompt tokens reported, those the provider read from its prompt cache (priced apart when
 * the price table says so); 0 when none or unknown. */
long mlb_job_cached(const struct mlb_job *job);
/* Whether the provider took the request: a 2xx answer, or any text or usage.  One it never
 * took (no connection, 4xx, 5xx before any token) costs nothing. */
int mlb_job_accepted(const struct mlb_job *job);
/* Usage, reported or estimated (0 and 0 when never accepted): fills tokens and returns 1 when estimated. */
int mlb_job_usage(const struct mlb_job *job, long *prompt, long *completion);
/* Cost in USD: 1 when known (provider or price table), 0 when unpriced. */
int mlb_job_cost(const struct mlb_job *job, const struct mlb_prices *prices, double *cost);
/* The same while the reply streams: the provider's counts so far, and at least ceil(bytes/4)
 * of the text received so far; 1 when priced. */
int mlb_job_cost_so_far(const struct mlb_job *job, const struct mlb_prices *prices, double *cost);

#endif
