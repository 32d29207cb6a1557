#include "run.h"
#include "ratelimit.h"
#include "replay.h"
#include "secret.h"
#include "cli.h"
#include "clock.h"
#include "msg.h"
#include "sse.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum abort_reason { ABORT_NONE, ABORT_CANCEL, ABORT_FIRST_TOKEN, ABORT_IDLE, ABORT_TOTAL,
		    ABORT_TOO_LARGE, ABORT_PROVIDER_ERROR };

/* The runner's private part of a job. */
struct job_state {
	struct mlb_runner *runner;
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	struct mlb_wire_req req;
	char *key;
	struct mlb_sse *sse;
	struct mlb_buf body;		/* a non-streamed or error body */
	int mode;			/* 0 unknown, 1 SSE, 2 whole body */
	int running, waiting, ended;
	int64_t t_attempt, t_last_byte, retry_at;
	long retry_after_ms;		/* from the response headers, or -1 */
	enum abort_reason abort;
	size_t received;
	struct mlb_buf rec;		/* the response as it came, with --record */
	int rated;			/* counted by the provider's rate limits (ratelimit.h) */
	long est_tokens;		/* the request's tokens, as they were estimated */
};

/*
 * libcurl's socket interface over epoll: a wake-up hands libcurl the sockets
 * that are ready and costs what is ready, not what is open.  The jobs' own
 * clocks (retries, timeouts) are looked at all together only when one of
 * them is due, or when a job may start.
 */
struct mlb_runner {
	struct mlb_policy policy;
	mlb_emit_fn emit;
	mlb_text_fn text;
	mlb_done_fn done;
	void *ctx;
	void (*tick)(void *);	/* called every round, at least every 100 ms (a live view's clock) */
	void *tick_ctx;
	CURLM *multi;
	int epfd;
	int64_t curl_due;	/* when libcurl's timeout is due; -1 for none */
	int64_t next_tend;	/* when a job's clock is next due */
	int kick;		/* a job may start now: look at them all */
	int starved;		/* a job waits for a free transfer */
	struct mlb_job **jobs;
	size_t njobs;
	size_t nended;
	size_t active;
	double deadline_s;
	uint64_t rng;
	int running;		/* inside mlb_runner_run */
	int stopped_by;		/* the signal mlb_runner_run returned */
	int stopping;		/* mlb_runner_stop: cancel everything at the next chance */
	const char *record_dir, *replay_dir;	/* replay.h */
	struct mlb_rates *rates;	/* each provider's rate limits (ratelimit.h) */
	struct mlb_job **again;	/* ended jobs to start over (mlb_runner_again) */
	size_t nagain;
	int out_fd;		/* stdout, when it is a pipe or socket watched for its reader leaving; else -1 */
	int out_lost;		/* that reader went away */
};

/* The signal that asked us to stop (SIGINT, SIGTERM, SIGHUP), or 0. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* The signals that end a run early: what was received is stored, and the tool exits 128+N. */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define NSTOP (sizeof(stop_signals) / sizeof(stop_signals[0]))
static struct sigaction old_actions[NSTOP];
static int catching;

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < NSTOP; i++)
		sigaction(stop_signals[i], &sa, &old_actions[i]);
	catching = 1;
}

/* Give the signals back; one that came after the run had ended (while storing) acts now. */
static void release_signals(int reported)
{
	int late = interrupted != reported ? interrupted : 0;

	if (!catching)
		return;
	for (size_t i = 0; i < NSTOP; i++)
		sigaction(stop_signals[i], &old_actions[i], NULL);
	catching = 0;
	if (late)
		raise(late);
}

void mlb_policy_defaults(struct mlb_policy *p)
{
	p->retries = 3;
	p->connect_s = 10;
	p->first_token_s = 120;
	p->idle_s = 60;
	p->total_s = 900;
	p->max_wait_s = 120;
	p->max_reply = 32u << 20;
	p->max_request = 8u << 20;
	p->max_transfers = 1024;
	p->insecure = 0;
}

/* One numeric setting within [min, max]; -1 after an error naming it and the range. */
static int setting(const struct mlb_config *c, const char *key, double def, double min, double max, double *out)
{
	if (mlb_config_double(c, key, def, out) < 0)
		return -1;
	if (!(*out >= min && *out <= max)) {
		mlb_error("configuration '%s' is %g; it must be from %g to %g", key, *out, min, max);
		*out = def;
		return -1;
	}
	return 0;
}

int mlb_policy_configure(struct mlb_policy *p, const struct mlb_config *c)
{
	double v;
	int bad = 0;

	bad |= setting(c, "retry.count", p->retries, 0, 100, &v);
	p->retries = (int)v;
	bad |= setting(c, "retry.maxWait", p->max_wait_s, 0, 86400, &p->max_wait_s);
	bad |= setting(c, "timeout.connect", p->connect_s, 0, 86400, &p->connect_s);
	bad |= setting(c, "timeout.firstToken", p->first_token_s, 0, 86400, &p->first_token_s);
	bad |= setting(c, "timeout.idle", p->idle_s, 0, 86400, &p->idle_s);
	bad |= setting(c, "timeout.total", p->total_s, 0, 86400 * 7, &p->total_s);
	bad |= setting(c, "limit.replyBytes", (double)p->max_reply, 1024, 1 << 30, &v);
	p->max_reply = (size_t)v;
	bad |= setting(c, "limit.requestBytes", (double)p->max_request, 1024, 1 << 30, &v);
	p->max_request = (size_t)v;
	bad |= setting(c, "limit.transfers", p->max_transfers, 1, 100000, &v);
	p->max_transfers = (int)v;
	return bad ? -1 : 0;
}

int mlb_policy_option(struct mlb_policy *p, int c, const char *arg)
{
	double *secs = NULL;
	int ok;

	switch (c) {
	case MLB_OPT_RETRIES:
		p->retries = (int)mlb_parse_long(arg, 0, 100, &ok);
		if (!ok)
			mlb_usage_error("--retries takes a whole number from 0 to 100, not '%s'", arg);
		return 1;
	case MLB_OPT_CONNECT_TIMEOUT:
		secs = &p->connect_s;
		break;
	case MLB_OPT_FIRST_TOKEN_TIMEOUT:
		secs = &p->first_token_s;
		break;
	case MLB_OPT_IDLE_TIMEOUT:
		secs = &p->idle_s;
		break;
	case MLB_OPT_TIMEOUT:
		secs = &p->total_s;
		break;
	case MLB_OPT_INSECURE:
		p->insecure = 1;
		return 1;
	default:
		return 0;
	}
	*secs = mlb_parse_seconds(arg);
	if (*secs < 0)
		mlb_usage_error("a timeout is a number of seconds (0 for none), not '%s'", arg);
	return 1;
}

static void emit(struct mlb_job *job, json_object *ev)
{
	struct mlb_runner *r = job->st->runner;

	r->emit(r->ctx, job, ev);
}

static json_object *status_event(struct mlb_job *job, const char *stage)
{
	json_object *ev = mlb_event_new("status", &job->tag);

	mlb_json_set_str(ev, "stage", stage);
	mlb_json_set_int(ev, "attempt", job->attempts);
	return ev;
}

/*
 * limit.replyBytes bounds the reply's text: past it, the text is cut at the
 * last whole UTF-8 character within the limit and the transfer ends.  The
 * new piece is already in content; returns how much of it to hand on.
 */
static size_t within_limit(struct mlb_job *job, const char *text, size_t len)
{
	struct mlb_buf *c = &job->reply.content;
	size_t max = job->st->runner->policy.max_reply, keep;

	if (c->len <= max)
		return len;
	keep = c->len - len < max ? max - (c->len - len) : 0;
	while (keep > 0 && ((unsigned char)text[keep] & 0xC0) == 0x80)
		keep--;
	c->len -= len - keep;
	c->s[c->len] = '\0';
	job->st->abort = ABORT_TOO_LARGE;
	return keep;
}

static void on_text(void *ctx, const char *text, size_t len)
{
	struct mlb_job *job = ctx;
	struct mlb_runner *r = job->st->runner;
	json_object *ev;

	if (!(len = within_limit(job, text, len)))
		return;
	if (!job->t_first) {
		job->t_first = mlb_mono_ms();
		emit(job, status_event(job, "first_token"));
	}
	if (r->text && r->text(r->ctx, job, text, len))
		return;
	ev = mlb_event_new("token", &job->tag);
	json_object_object_add(ev, "text", json_object_new_string_len(text, (int)len));
	emit(job, ev);
}

/* Whether the rest of what was read is to be dropped: the attempt is over, or the runner stops. */
static int stop_reading(struct mlb_job *job)
{
	if (job->st->runner->stopping && job->st->abort == ABORT_NONE)
		job->st->abort = ABORT_CANCEL;
	return job->st->abort != ABORT_NONE;
}

static int on_sse(void *ctx, const char *event, const char *data, size_t len, const char *id)
{
	struct mlb_job *job = ctx;

	(void)id;
	if (mlb_wire_event(job->model.provider->kind, &job->reply, event, data, len) < 0) {
		char msg[160];
		json_object *ev;

		snprintf(msg, sizeof(msg), "skipped a malformed chunk from %s", job->model.spec);
		ev = mlb_event_error(&job->tag, "parse", msg);
		mlb_json_set_bool(ev, "retryable", 0);
		emit(job, ev);
	}
	if (job->reply.error_code && job->st->abort == ABORT_NONE)
		job->st->abort = ABORT_PROVIDER_ERROR;
	return stop_reading(job);
}

static int on_lane(void *ctx, const char *buf, size_t len, const char *id, size_t *used)
{
	struct mlb_job *job = ctx;

	(void)id;
	mlb_wire_lane(job->model.provider->kind, &job->reply, buf, len, used);
	return stop_reading(job);
}

static size_t on_write(char *data, size_t size, size_t n, void *ctx)
{
	struct mlb_job *job = ctx;
	struct job_state *st = job->st;
	size_t len = size * n;
	int rc;

	/* Called for every HTTP chunk, often one per token: the cheap clock does for the idle timeout. */
	st->t_last_byte = mlb_mono_coarse_ms();
	st->received += len;
	if (stop_reading(job))
		return 0;
	if (st->runner->record_dir)
		mlb_buf_add(&st->rec, data, len);
	if (!st->mode) {
		const char *type = NULL;

		curl_easy_getinfo(st->easy, CURLINFO_RESPONSE_CODE, &job->http_status);
		curl_easy_getinfo(st->easy, CURLINFO_CONTENT_TYPE, &type);
		st->mode = job->http_status < 400 && type && strstr(type, "text/event-stream") ? 1 : 2;
	}
	if (st->mode == 2) {
		/* a body is kept whole until it ends: limit.replyBytes bounds it */
		if (st->body.len + len > st->runner->policy.max_reply) {
			st->abort = ABORT_TOO_LARGE;
			return 0;
		}
		mlb_buf_add(&st->body, data, len);
		return len;
	}
	/*
	 * What one piece of a read brings (libcurl hands a read on 16 KiB at a
	 * time) arrived at one moment: its events say so.  They are flushed
	 * after the round of reads, or as 64 KiB of them gather, whichever
	 * comes first (see doc/decisions.md).
	 */
	mlb_clock_hold();
	rc = mlb_sse_feed(st->sse, data, len);
	mlb_clock_release();
	if (rc != 0) {
		if (st->abort == ABORT_NONE)
			st->abort = ABORT_TOO_LARGE;
		return 0;
	}
	return len;
}

/* Retry-After is seconds or an HTTP date; retry-after-ms is OpenAI's finer hint. */
static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct mlb_job *job = ctx;
	size_t len = size * n;
	char line[256], *v;

	if (len >= sizeof(line))
		return len;
	memcpy(line, data, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	v = strchr(line, ':');
	if (!v)
		return len;
	*v++ = '\0';
	v += strspn(v, " \t");
	if (!strcasecmp(line, "retry-after-ms")) {
		job->st->retry_after_ms = atol(v);
	} else if (!strcasecmp(line, "retry-after") && job->st->retry_after_ms < 0) {
		char *end;
		long secs = strtol(v, &end, 10);

		if (end != v && !*end) {
			job->st->retry_after_ms = secs * 1000;
		} else {
			time_t when = curl_getdate(v, NULL);

			if (when > 0)
				job->st->retry_after_ms = when > time(NULL) ? (long)(when - time(NULL)) * 1000 : 0;
		}
	}
	return len;
}

/* Something is due at t: the runner looks at the jobs' clocks then. */
static void due_at(struct mlb_runner *r, int64_t t)
{
	if (t < r->next_tend)
		r->next_tend = t;
}

/* The first millisecond past base + seconds (check_timeouts compares strictly). */
static int64_t past(int64_t base, double seconds)
{
	return base + (int64_t)(seconds * 1000) + 1;
}

/* When a running attempt's next timeout falls, if no byte comes before it. */
static int64_t attempt_deadline(const struct mlb_job *job)
{
	const struct job_state *st = job->st;
	const struct mlb_policy *p = &st->runner->policy;
	int64_t t = INT64_MAX;

	if (p->total_s > 0)
		t = past(job->t_start, p->total_s);
	if (p->first_token_s > 0 && !job->t_first && past(st->t_attempt, p->first_token_s) < t)
		t = past(st->t_attempt, p->first_token_s);
	if (p->idle_s > 0 && past(st->t_last_byte, p->idle_s) < t)
		t = past(st->t_last_byte, p->idle_s);
	return t;
}

/*
 * How much libcurl reads from a socket at once.  Its default, 16 KiB, costs
 * a long fast stream a read (and a poll) per 16 KiB; a recv returns what has
 * arrived without waiting for more, so a larger buffer adds no latency.  It
 * is allocated per transfer, so the transfers that may run at once share
 * 8 MiB between them, and a thousand get libcurl's default.
 */
static long recv_buffer_size(const struct mlb_runner *r)
{
	size_t at_once = r->njobs < (size_t)r->policy.max_transfers ? r->njobs : (size_t)r->policy.max_transfers;
	size_t each = ((size_t)8 << 20) / (at_once ? at_once : 1);

	if (each > (size_t)512 << 10)
		each = (size_t)512 << 10;
	if (each < (size_t)16 << 10)
		each = (size_t)16 << 10;
	return (long)each;
}

static void finish_attempt(struct mlb_job *job, CURLcode res);
static void end_job(struct mlb_job *job, enum mlb_job_outcome outcome, int retryable);
static void set_error(struct mlb_job *job, const char *code, const char *message);

/* --replay: the attempt's response is the recorded one, read as if it had come; no network. */
static void replay_attempt(struct mlb_job *job)
{
	struct job_state *st = job->st;
	struct mlb_exchange x;
	char *why = NULL;

	emit(job, status_event(job, "request"));
	if (mlb_replay_load(st->runner->replay_dir, job->model.spec, st->req.body, st->req.body_len, &x, &why) < 0) {
		set_error(job, "config", why);
		free(why);
		end_job(job, MLB_JOB_FAILED, 0);
		return;
	}
	job->http_status = x.status;
	st->mode = x.stream ? 1 : 2;
	if (st->mode == 2) {
		mlb_buf_add(&st->body, x.body, x.len);
	} else {
		mlb_clock_hold();
		mlb_sse_feed(st->sse, x.body, x.len);
		mlb_clock_release();
	}
	mlb_exchange_clear(&x);
	finish_attempt(job, CURLE_OK);
}

/* --record: keep a whole successful exchange. */
static void record_attempt(struct mlb_job *job)
{
	struct job_state *st = job->st;
	struct mlb_exchange x = { job->http_status, st->mode == 1, st->rec.s, st->rec.len };

	if (st->rec.len)
		mlb_replay_save(st->runner->record_dir, job->model.spec, st->req.url, st->req.body, st->req.body_len, &x);
}

static void start_attempt(struct mlb_job *job)
{
	struct job_state *st = job->st;
	const struct mlb_policy *p = &st->runner->policy;
	CURL *e = curl_easy_init();

	if (!e)
		mlb_die(MLB_EXIT_FAIL, "cannot start a transfer: out of memory");
	job->attempts++;
	/* what went wrong with the last attempt is not this one's: a success after a retry has no error */
	free(job->error_code);
	free(job->error_message);
	job->error_code = job->error_message = NULL;
	mlb_reply_reset(&job->reply);
	mlb_sse_reset(st->sse);
	mlb_buf_reset(&st->body);
	mlb_buf_reset(&st->rec);
	st->mode = 0;
	st->abort = ABORT_NONE;
	st->received = 0;
	st->retry_after_ms = -1;
	st->errbuf[0] = '\0';
	job->http_status = 0;
	st->t_attempt = st->t_last_byte = mlb_mono_ms();
	if (st->runner->replay_dir) {
		curl_easy_cleanup(e);
		replay_attempt(job);
		return;
	}
	st->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, st->req.url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, st->req.headers);
	if (st->req.get) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, st->req.body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)st->req.body_len);
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, job);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, recv_buffer_size(st->runner));
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, job);
	curl_easy_setopt(e, CURLOPT_PRIVATE, job);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, st->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "mlb/" MLB_VERSION);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (p->connect_s > 0)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(p->connect_s * 1000));
	if (p->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	/* the request's tokens, guessed from its bytes until the provider says */
	st->est_tokens = (long)(st->req.body_len / 4);
	st->rated = 1;
	mlb_rates_start(st->runner->rates, job->model.provider, st->est_tokens, st->t_attempt);
	curl_multi_add_handle(st->runner->multi, e);
	st->running = 1;
	st->waiting = 0;
	st->runner->active++;
	due_at(st->runner, attempt_deadline(job));
	emit(job, status_event(job, "request"));
}

static void stop_transfer(struct mlb_job *job)
{
	struct job_state *st = job->st;

	if (!st->running)
		return;
	curl_multi_remove_handle(st->runner->multi, st->easy);
	curl_easy_cleanup(st->easy);
	st->easy = NULL;
	st->running = 0;
	st->runner->active--;
	if (st->rated) {
		long prompt, completion;

		mlb_job_usage(job, &prompt, &completion);
		st->rated = 0;
		mlb_rates_end(st->runner->rates, job->model.provider, job->http_status == 429, st->retry_after_ms,
			      prompt + completion - st->est_tokens, mlb_mono_ms());
	}
	if (st->runner->starved)
		st->runner->kick = 1;
}

static void set_error(struct mlb_job *job, const char *code, const char *message)
{
	free(job->error_code);
	free(job->error_message);
	job->error_code = mlb_xstrdup(code);
	/* every event, header and line that tells of the error takes it from here */
	job->error_message = mlb_redact(message);
}

static void end_job(struct mlb_job *job, enum mlb_job_outcome outcome, int retryable)
{
	struct job_state *st = job->st;
	struct mlb_runner *r = st->runner;

	stop_transfer(job);
	st->ended = 1;
	st->waiting = 0;
	r->nended++;
	job->outcome = outcome;
	job->t_end = mlb_mono_ms();
	job->partial = outcome != MLB_JOB_OK && job->reply.content.len > 0;
	if (outcome == MLB_JOB_FAILED) {
		json_object *ev = mlb_event_error(&job->tag, job->error_code, job->error_message);

		if (job->http_status)
			mlb_json_set_int(ev, "http_status", job->http_status);
		mlb_json_set_bool(ev, "retryable", retryable);
		mlb_json_set_int(ev, "attempt", job->attempts);
		emit(job, ev);
	}
	emit(job, status_event(job, outcome == MLB_JOB_CANCELLED ? "cancelled" : "done"));
	if (r->done && r->done(r->ctx, job))
		mlb_runner_cancel_all(r);
}

static uint64_t next_random(struct mlb_runner *r)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return r->rng;
}

/* Full jitter (AWS's "exponential backoff and jitter"): uniform in [0, min(cap, base * 2^n)]. */
static long backoff_ms(struct mlb_job *job)
{
	long cap = 20000, ceiling = 500L << (job->attempts > 6 ? 6 : job->attempts - 1);

	if (ceiling > cap)
		ceiling = cap;
	return (long)(next_random(job->st->runner) % (uint64_t)(ceiling + 1));
}

static const char *http_code(long status, int *retryable)
{
	*retryable = status == 408 || status == 409 || status == 429 || status >= 500;
	if (status == 401 || status == 403)
		return "auth";
	if (status == 429)
		return "rate_limit";
	if (status == 408)
		return "timeout";
	if (status >= 500)
		return "server";
	return "bad_request";
}

/* Work out why an attempt failed: 0 if it did not. */
static int classify(struct mlb_job *job, CURLcode res, int *retryable, long *hint_ms)
{
	struct job_state *st = job->st;
	enum mlb_kind kind = job->model.provider->kind;
	char msg[512];

	*retryable = 0;
	*hint_ms = st->retry_after_ms;
	if (job->http_status >= 400) {
		long body_hint;
		char *pm = mlb_wire_error_body(kind, mlb_buf_str(&st->body), st->body.len, &body_hint);
		const char *code = http_code(job->http_status, retryable);

		if (*hint_ms < 0)
			*hint_ms = body_hint;
		if (!strcmp(code, "auth") && job->model.provider->key_env)
			snprintf(msg, sizeof(msg), "HTTP %ld: %s (check %s)", job->http_status,
				 pm ? pm : "not authorised", job->model.provider->key_env);
		else
			snprintf(msg, sizeof(msg), "HTTP %ld: %s", job->http_status, pm ? pm : "no message");
		free(pm);
		set_error(job, code, msg);
		return 1;
	}
	if (job->reply.error_code) {
		*retryable = job->reply.error_retryable;
		set_error(job, job->reply.error_code, job->reply.error_message);
		return 1;
	}
	switch (st->abort) {
	case ABORT_FIRST_TOKEN:
		*retryable = 1;
		snprintf(msg, sizeof(msg), "no reply within %gs (timeout.firstToken)", st->runner->policy.first_token_s);
		set_error(job, "timeout", msg);
		return 1;
	case ABORT_IDLE:
		*retryable = 1;
		snprintf(msg, sizeof(msg), "the stream stalled for %gs (timeout.idle)", st->runner->policy.idle_s);
		set_error(job, "timeout", msg);
		return 1;
	case ABORT_TOTAL:
		snprintf(msg, sizeof(msg), "gave up after %gs (timeout.total)", st->runner->policy.total_s);
		set_error(job, "timeout", msg);
		return 1;
	case ABORT_TOO_LARGE:
		snprintf(msg, sizeof(msg), "the reply exceeds %zu bytes (limit.replyBytes)", st->runner->policy.max_reply);
		set_error(job, "server", msg);
		return 1;
	default:
		break;
	}
	if (res != CURLE_OK) {
		*retryable = 1;
		snprintf(msg, sizeof(msg), "%s", st->errbuf[0] ? st->errbuf : curl_easy_strerror(res));
		set_error(job, res == CURLE_OPERATION_TIMEDOUT ? "timeout" : "network", msg);
		return 1;
	}
	if (st->mode == 2) {
		if (mlb_wire_body(kind, &job->reply, mlb_buf_str(&st->body), st->body.len) < 0) {
			set_error(job, "parse", "the provider's reply is not the JSON expected");
			return 1;
		}
		if (job->reply.error_code)
			return classify(job, res, retryable, hint_ms);
		return 0;
	}
	mlb_sse_finish(st->sse);
	if (!job->reply.done && !job->reply.finish_reason) {
		*retryable = 1;
		set_error(job, "network", "the stream ended before the reply was complete");
		return 1;
	}
	return 0;
}

static void schedule_retry(struct mlb_job *job, long delay_ms)
{
	struct job_state *st = job->st;
	json_object *ev = status_event(job, "retry");

	stop_transfer(job);
	st->waiting = 1;
	st->retry_at = mlb_mono_ms() + delay_ms;
	due_at(st->runner, st->retry_at);
	mlb_json_set_int(ev, "retry_in_ms", delay_ms);
	mlb_json_set_str(ev, "code", job->error_code);
	mlb_json_set_str(ev, "message", job->error_message);
	if (job->http_status)
		mlb_json_set_int(ev, "http_status", job->http_status);
	emit(job, ev);
}

static void finish_attempt(struct mlb_job *job, CURLcode res)
{
	struct job_state *st = job->st;
	const struct mlb_policy *p = &st->runner->policy;
	int retryable;
	long hint, delay;

	if (st->abort == ABORT_CANCEL) {
		end_job(job, MLB_JOB_CANCELLED, 0);
		return;
	}
	if (!classify(job, res, &retryable, &hint)) {
		if (st->runner->record_dir && job->http_status == 200)
			record_attempt(job);
		end_job(job, MLB_JOB_OK, 0);
		return;
	}
	delay = hint >= 0 ? hint : backoff_ms(job);
	/* Text already went out as events: a retry would repeat it. */
	if (!retryable || job->reply.content.len || job->attempts > p->retries ||
	    (p->max_wait_s > 0 && delay > p->max_wait_s * 1000) ||
	    (p->total_s > 0 && mlb_mono_ms() + delay - job->t_start > p->total_s * 1000)) {
		end_job(job, MLB_JOB_FAILED, retryable);
		return;
	}
	schedule_retry(job, delay);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *ctx, void *watched)
{
	struct mlb_runner *r = ctx;
	struct epoll_event ev = { 0 };
	int op = watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		/* closing the socket may have removed it already */
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.fd = fd;
	/* a descriptor closed and reused under libcurl's feet is in the set, or not, against the mark */
	if (epoll_ctl(r->epfd, op, fd, &ev) < 0 &&
	    epoll_ctl(r->epfd, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
		mlb_die(MLB_EXIT_FAIL, "cannot watch a connection: %s", strerror(errno));
	if (!watched)
		curl_multi_assign(r->multi, fd, r);
	return 0;
}

static int on_timer(CURLM *multi, long ms, void *ctx)
{
	struct mlb_runner *r = ctx;

	(void)multi;
	r->curl_due = ms < 0 ? -1 : mlb_mono_ms() + ms;
	return 0;
}

struct mlb_runner *mlb_runner_new(const struct mlb_policy *p, mlb_emit_fn emit_fn, mlb_done_fn done, void *ctx)
{
	struct mlb_runner *r = mlb_xcalloc(1, sizeof(*r));

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		mlb_die(MLB_EXIT_FAIL, "cannot initialise libcurl");
	r->policy = *p;
	r->emit = emit_fn;
	r->done = done;
	r->ctx = ctx;
	r->rates = mlb_rates_new();
	r->multi = curl_multi_init();
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!r->multi || r->epfd < 0)
		mlb_die(MLB_EXIT_FAIL, "cannot start the transfer loop: %s", strerror(errno));
	r->curl_due = -1;
	r->out_fd = -1;
	r->next_tend = INT64_MAX;
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
	r->rng = (uint64_t)mlb_wall_ms() * 2654435761u ^ (uint64_t)getpid();
	if (!r->rng)
		r->rng = 88172645463325252ull;
	if (p->insecure)
		mlb_warn("TLS certificates are not verified (--insecure): anyone on the path can read your prompts and keys");
	return r;
}

/* Whether the request asks for a non-streamed reply (-o stream=false). */
static int wants_stream(const struct mlb_chat *chat)
{
	json_object *s;

	return !json_object_object_get_ex(chat->options, "stream", &s) || json_object_get_boolean(s);
}

void mlb_runner_on_tick(struct mlb_runner *r, void (*fn)(void *ctx), void *ctx)
{
	r->tick = fn;
	r->tick_ctx = ctx;
}

void mlb_runner_on_text(struct mlb_runner *r, mlb_text_fn fn)
{
	r->text = fn;
}

/* Give the job a fresh state and build its request; it starts at the next tend. */
static void arm_job(struct mlb_runner *r, struct mlb_job *job)
{
	struct job_state *st = mlb_xcalloc(1, sizeof(*st));
	char *missing = NULL;

	job->st = st;
	st->runner = r;
	st->sse = mlb_sse_new(on_sse, job, r->policy.max_reply);
	if (!st->sse)
		mlb_die(MLB_EXIT_FAIL, "out of memory");
	mlb_sse_set_lane(st->sse, on_lane);
	job->reply.on_text = on_text;
	job->reply.ctx = job;
	mlb_reply_reset(&job->reply);
	job->outcome = MLB_JOB_PENDING;
	/* a replayed request goes nowhere: it needs no key */
	st->key = r->replay_dir ? NULL : mlb_provider_key(job->model.provider, &missing);
	if (missing) {
		set_error(job, "auth", missing);
		free(missing);
	} else {
		mlb_wire_build(&job->model, st->key, &job->chat, wants_stream(&job->chat), &st->req);
		if (r->policy.max_request && st->req.body_len > r->policy.max_request) {
			char msg[160];

			snprintf(msg, sizeof(msg), "the request is %zu bytes, over the limit of %zu (limit.requestBytes)",
				 st->req.body_len, r->policy.max_request);
			set_error(job, "bad_request", msg);
		}
	}
	/* added by a hook (a pipeline's next step, a fallback): its clock starts now */
	if (r->running)
		job->t_start = mlb_mono_ms();
	r->kick = 1;
	emit(job, status_event(job, "queued"));
}

void mlb_runner_add(struct mlb_runner *r, struct mlb_job *job)
{
	r->jobs = mlb_xrealloc(r->jobs, (r->njobs + 1) * sizeof(*r->jobs));
	r->jobs[r->njobs++] = job;
	arm_job(r, job);
}

/* What one try of a job left: its state, its reply and its error. */
static void release_state(struct mlb_job *job)
{
	struct job_state *st = job->st;

	if (st) {
		if (st->key) {
			memset(st->key, 0, strlen(st->key));
			free(st->key);
		}
		mlb_sse_free(st->sse);
		mlb_buf_free(&st->body);
		mlb_buf_free(&st->rec);
		mlb_wire_req_free(&st->req);
		free(st);
		job->st = NULL;
	}
	mlb_reply_free(&job->reply);
	free(job->error_code);
	free(job->error_message);
	job->error_code = job->error_message = NULL;
}

void mlb_runner_again(struct mlb_runner *r, struct mlb_job *job)
{
	r->again = mlb_xrealloc(r->again, (r->nagain + 1) * sizeof(*r->again));
	r->again[r->nagain++] = job;
}

/* Start over the jobs mlb_runner_again named, now that no hook of theirs is on the stack. */
static void start_again(struct mlb_runner *r)
{
	for (size_t i = 0; i < r->nagain; i++) {
		struct mlb_job *job = r->again[i];

		if (!job->st || !job->st->ended)
			continue;
		release_state(job);
		job->attempts = 0;
		job->http_status = 0;
		job->partial = 0;
		job->t_first = 0;
		job->t_end = 0;
		r->nended--;
		arm_job(r, job);
	}
	r->nagain = 0;
}

void mlb_runner_deadline(struct mlb_runner *r, double seconds)
{
	r->deadline_s = seconds;
}

void mlb_runner_exchanges(struct mlb_runner *r, const char *record_dir, const char *replay_dir)
{
	r->record_dir = record_dir;
	r->replay_dir = replay_dir;
}

void mlb_runner_stop(struct mlb_runner *r)
{
	r->stopping = 1;
}

void mlb_runner_cancel_all(struct mlb_runner *r)
{
	static int cancelling;

	if (cancelling)
		return;
	cancelling = 1;
	for (size_t i = 0; i < r->njobs; i++) {
		struct mlb_job *job = r->jobs[i];

		if (job->st->ended)
			continue;
		job->st->abort = ABORT_CANCEL;
		end_job(job, MLB_JOB_CANCELLED, 0);
	}
	cancelling = 0;
}

/* End the attempt if one of its clocks ran out: 1 if it did. */
static int check_timeouts(struct mlb_job *job, int64_t now)
{
	struct job_state *st = job->st;
	const struct mlb_policy *p = &st->runner->policy;

	if (p->total_s > 0 && now - job->t_start > p->total_s * 1000)
		st->abort = ABORT_TOTAL;
	else if (p->first_token_s > 0 && !job->t_first && now - st->t_attempt > p->first_token_s * 1000)
		st->abort = ABORT_FIRST_TOKEN;
	else if (p->idle_s > 0 && now - st->t_last_byte > p->idle_s * 1000)
		st->abort = ABORT_IDLE;
	else
		return 0;
	stop_transfer(job);
	finish_attempt(job, CURLE_OPERATION_TIMEDOUT);
	return 1;
}

/* Start what may start, end what ran out of time, and note when to look again. */
static void tend(struct mlb_runner *r, int64_t now)
{
	r->kick = 0;
	r->starved = 0;
	r->next_tend = INT64_MAX;
	for (size_t i = 0; i < r->njobs; i++) {
		struct mlb_job *job = r->jobs[i];
		struct job_state *st = job->st;

		if (st->ended)
			continue;
		if (st->running) {
			/* a byte since the deadline was set moved it on */
			if (!check_timeouts(job, now))
				due_at(r, attempt_deadline(job));
		} else if (st->waiting && st->retry_at > now) {
			due_at(r, st->retry_at);
		} else if (!job->attempts && job->error_code) {
			end_job(job, MLB_JOB_FAILED, 0);	/* no key, or too large: never sent */
		} else if (r->active < (size_t)r->policy.max_transfers) {
			/* a replay goes nowhere: no provider's limits apply */
			int64_t at = r->replay_dir ? 0 :
				     mlb_rates_wait(r->rates, job->model.provider, (long)(st->req.body_len / 4), now);

			if (at > now)
				due_at(r, at);
			else
				start_attempt(job);
		} else {
			r->starved = 1;
		}
	}
}

/* Wait up to wait_ms for a socket; hand libcurl those ready, and its timeout if due. */
static void drive(struct mlb_runner *r, int wait_ms)
{
	struct epoll_event evs[128];
	int n = epoll_wait(r->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), wait_ms), running;

	for (int i = 0; i < n; i++) {
		uint32_t ev = evs[i].events;
		int what;

		if (evs[i].data.fd == r->out_fd) {
			r->out_lost = 1;
			epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->out_fd, NULL);
			r->out_fd = -1;
			continue;
		}
		what = (ev & EPOLLIN ? CURL_CSELECT_IN : 0) | (ev & EPOLLOUT ? CURL_CSELECT_OUT : 0);

		/* let libcurl read the error or the end, not just hear of it */
		if (ev & (EPOLLERR | EPOLLHUP))
			what |= CURL_CSELECT_IN | CURL_CSELECT_ERR;
		curl_multi_socket_action(r->multi, evs[i].data.fd, what, &running);
	}
	if (r->curl_due >= 0 && mlb_mono_ms() >= r->curl_due) {
		r->curl_due = -1;
		curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
}

static void drain(struct mlb_runner *r)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(r->multi, &left))) {
		struct mlb_job *job = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&job);
		if (job && job->st->running) {
			CURLcode res = m->data.result;

			if (!job->http_status)
				curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &job->http_status);
			stop_transfer(job);
			finish_attempt(job, res);
		}
	}
}

/* Milliseconds until the first of: libcurl's timeout, a job's clock, the deadline. */
static int wait_ms(const struct mlb_runner *r, int64_t now, int64_t t0)
{
	/* a signal that lands just before the wait is seen within this bound */
	int64_t until = now + 100;

	if (r->kick)
		return 0;
	if (r->curl_due >= 0 && r->curl_due < until)
		until = r->curl_due;
	if (r->next_tend < until)
		until = r->next_tend;
	if (r->deadline_s > 0 && t0 + (int64_t)ceil(r->deadline_s * 1000) < until)
		until = t0 + (int64_t)ceil(r->deadline_s * 1000);
	return until > now ? (int)(until - now) : 0;
}

/*
 * A reader that goes away (mlb-meter --budget stopping, head) closes the
 * pipe: a write would fail with EPIPE, but while every pane waits (for a
 * first token, for a retry) nothing is written for a long while.  The
 * pipe's write end reports the reader's going as an error to epoll at once:
 * then everything is cancelled and what was received is stored.
 */
static void watch_output(struct mlb_runner *r)
{
	struct epoll_event ev = { 0 };
	struct stat st;

	r->out_fd = -1;
	if (fstat(STDOUT_FILENO, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return;
	ev.events = 0;		/* EPOLLERR and EPOLLHUP are reported without asking */
	ev.data.fd = STDOUT_FILENO;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, STDOUT_FILENO, &ev) == 0)
		r->out_fd = STDOUT_FILENO;
}

int mlb_runner_run(struct mlb_runner *r)
{
	int64_t t0 = mlb_mono_ms();

	/* caught until mlb_runner_free(), so that storing what was received is not cut short */
	if (!catching)
		catch_signals();
	interrupted = 0;
	mlb_event_autoflush(0);
	if (!r->out_lost && r->out_fd < 0)
		watch_output(r);
	r->running = 1;
	for (size_t i = 0; i < r->njobs; i++)
		r->jobs[i]->t_start = t0;
	for (;;) {
		int64_t now = mlb_mono_ms();

		if (interrupted || r->stopping || r->out_lost || mlb_event_failed() ||
		    (r->deadline_s > 0 && now - t0 >= r->deadline_s * 1000))
			mlb_runner_cancel_all(r);
		/* jobs added by a hook start now, not after a wait */
		if (r->kick || now >= r->next_tend)
			tend(r, now);
		if (r->nagain)
			start_again(r);
		if (r->nended == r->njobs)
			break;
		drive(r, wait_ms(r, now, t0));
		drain(r);
		/* Flush once per round of reads: every token is out before the next read. */
		mlb_event_flush();
		if (r->tick)
			r->tick(r->tick_ctx);
	}
	r->running = 0;
	mlb_event_autoflush(1);
	mlb_event_flush();
	r->stopped_by = interrupted;
	return interrupted;
}

void mlb_runner_free(struct mlb_runner *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->njobs; i++)
		stop_transfer(r->jobs[i]);
	curl_multi_cleanup(r->multi);
	close(r->epfd);
	free(r->jobs);
	free(r->again);
	mlb_rates_free(r->rates);
	release_signals(r->stopped_by);
	free(r);
	curl_global_cleanup();
}

void mlb_job_clear(struct mlb_job *job)
{
	release_state(job);
	mlb_model_clear(&job->model);
	mlb_chat_free(&job->chat);
}

json_object *mlb_job_final_event(const struct mlb_job *job)
{
	json_object *ev = mlb_event_new("final", &job->tag);

	json_object_object_add(ev, "content",
		mlb_json_new_text(mlb_buf_str(&job->reply.content), job->reply.content.len));
	mlb_json_set_str(ev, "finish_reason", job->reply.finish_reason);
	mlb_json_set_bool(ev, "partial", job->partial);
	if (job->outcome == MLB_JOB_CANCELLED)
		mlb_json_set_bool(ev, "cancelled", 1);
	return ev;
}

/* About four bytes a token for English text: the usual rule of thumb. */
static long estimate_tokens(size_t bytes)
{
	return (long)((bytes + 3) / 4);
}

long mlb_job_cached(const struct mlb_job *job)
{
	return job->reply.prompt_tokens >= 0 && job->reply.cached_tokens > 0 ? job->reply.cached_tokens : 0;
}

int mlb_job_accepted(const struct mlb_job *job)
{
	return (job->http_status >= 200 && job->http_status < 300) || job->reply.content.len ||
	       job->reply.prompt_tokens >= 0 || job->reply.completion_tokens >= 0;
}

int mlb_job_usage(const struct mlb_job *job, long *prompt, long *completion)
{
	int estimated = 0;

	if (!mlb_job_accepted(job)) {
		*prompt = *completion = 0;
		return 0;
	}
	*prompt = job->reply.prompt_tokens;
	*completion = job->reply.completion_tokens;
	if (*prompt < 0) {
		*prompt = estimate_tokens(mlb_chat_bytes(&job->chat));
		estimated = 1;
	}
	/* A broken stream's count stops where the provider last reported it. */
	if (*completion < 0 || (job->partial && *completion < estimate_tokens(job->reply.content.len))) {
		*completion = estimate_tokens(job->reply.content.len);
		estimated = 1;
	}
	return estimated;
}

int mlb_job_cost(const struct mlb_job *job, const struct mlb_prices *prices, double *cost)
{
	long prompt, completion;

	if (job->reply.has_cost) {
		*cost = job->reply.cost_usd;
		return 1;
	}
	if (!mlb_job_accepted(job)) {
		*cost = 0;
		return 1;
	}
	mlb_job_usage(job, &prompt, &completion);
	return prices && mlb_prices_cost_cached(prices, job->model.spec, prompt, mlb_job_cached(job), completion, cost);
}

int mlb_job_cost_so_far(const struct mlb_job *job, const struct mlb_prices *prices, double *cost)
{
	long prompt, completion, text = estimate_tokens(job->reply.content.len);

	if (job->outcome != MLB_JOB_PENDING || job->reply.has_cost)
		return mlb_job_cost(job, prices, cost);
	/* a count that only grows at the end (Anthropic's output_tokens) lags behind the text */
	mlb_job_usage(job, &prompt, &completion);
	if (completion < text)
		completion = text;
	return prices && mlb_prices_cost_cached(prices, job->model.spec, prompt, mlb_job_cached(job), completion, cost);
}

json_object *mlb_job_meter_event(const struct mlb_job *job, const struct mlb_prices *prices)
{
	json_object *ev = mlb_event_new("meter", &job->tag);
	long prompt, completion;
	int estimated = mlb_job_usage(job, &prompt, &completion);
	double cost, latency = (double)(job->t_end - job->t_start);

	mlb_json_set_int(ev, "prompt_tokens", prompt);
	mlb_json_set_int(ev, "completion_tokens", completion);
	if (mlb_job_cached(job))
		mlb_json_set_int(ev, "cached_tokens", mlb_job_cached(job));
	if (mlb_job_cost(job, prices, &cost)) {
		mlb_json_set_double(ev, "cost_usd", cost);
	} else {
		mlb_json_set_str(ev, "cost_usd", NULL);
		mlb_json_set_bool(ev, "unpriced", 1);
	}
	mlb_json_set_int(ev, "latency_ms", (long long)latency);
	if (job->t_first) {
		mlb_json_set_int(ev, "ttft_ms", job->t_first - job->t_start);
		/* Over the whole reply, from the request on: a reply whose text came in one read has no
		 * time of its own to divide by, and its wait is the user's wait too (doc/events.md). */
		if (latency > 0)
			mlb_json_set_double(ev, "tokens_per_s", round(completion * 1000.0 / latency * 10) / 10);
		else
			mlb_json_set_str(ev, "tokens_per_s", NULL);
	} else {
		mlb_json_set_str(ev, "ttft_ms", NULL);
		mlb_json_set_str(ev, "tokens_per_s", NULL);
	}
	mlb_json_set_bool(ev, "estimated", estimated);
	mlb_json_set_str(ev, "scope", "pane");
	return ev;
}
