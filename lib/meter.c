/*
 * meter.c - the sums behind mlb-meter: prices, groups, percentiles, the
 * budget, the aggregate events and the table for a person (see meter.h).
 */
#include "meter.h"
#include "budget.h"
#include "clock.h"
#include "msg.h"
#include "msgfile.h"
#include "store.h"
#include "term.h"
#include "turn.h"


#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NBUCKETS 256		/* groups are few: models or panes of a run */
#define BAR_CELLS 16
#define LABEL_MAX 40

struct dvec {
	double *v;
	size_t n, cap;
};

/* The sums for one model, pane or session, or for everything. */
struct group {
	char *key;		/* NULL for replies that lack the key */
	long replies, priced, unpriced, estimated, errors;
	long long prompt_tokens, completion_tokens;
	double cost;		/* over priced replies only */
	struct dvec latency, ttft;
	double tps_sum;
	long tps_n;
	/* replies still streaming, from their token events (see struct flight) */
	long in_flight;
	long long in_flight_tokens;
	double in_flight_cost;
	struct group *next;	/* in its hash chain */
};

/*
 * A reply in flight: its token events so far, until its meter event.  Its
 * completion is estimated at ceil(bytes/4) and priced (its prompt is not
 * known before the meter event); the meter event's cost then replaces the
 * estimate, in the budget and in the sums.
 */
struct flight {
	char *id;		/* session, pane and run */
	struct group *group;
	char *model;
	size_t bytes;
	long long tokens;
	double cost;
	struct flight *next;
};

/* One reply, from a meter event or a stored message; NAN or -1 where unknown. */
struct reply {
	const char *key;
	long long prompt, completion, cached;
	int bad_tokens;		/* a count that is not a whole number >= 0 */
	int priced;
	double cost;
	double latency, ttft, tps;
	int estimated;
};

/* A stored question that no model answered, and why (its Error: header). */
struct failure {
	char *who;		/* the model asked, or the pane when the file does not name it */
	char *why;
	struct failure *next;
};

struct mlb_meter {
	struct mlb_meter_opts o;
	struct mlb_prices *own_prices;
	const struct mlb_prices *prices;
	const char *keyname;	/* "model", "pane" or "session" */
	struct group *buckets[NBUCKETS];
	struct group *keyless;
	struct group **groups;	/* every group; sorted by key when written */
	size_t ngroups, capgroups;
	struct group total;
	struct mlb_budget budget;
	struct mlb_reader *reader;	/* while filtering: its malformed lines count as errors */
	int track;		/* follow replies in flight (a budget or an interval) */
	struct flight *flights[NBUCKETS];
	const char *session;	/* while reading a stored session: the total is that session */
	const char *project;	/* while reading a project's sessions: the total is the project */
	struct failure *failures, **last_failure;	/* stored questions left unanswered, in order */
	const char *session_project;	/* the project of the session being read (--by project), or NULL */
	int all;		/* reading every session: the total is scope "all" */
};

/* ---- prices ---- */

/* The prices every tool uses (table and configuration), then the table named on the command line. */
static struct mlb_prices *load_prices(const struct mlb_meter_opts *o)
{
	struct mlb_prices *t = mlb_prices_default(o->cfg);

	if (o->prices_file && mlb_prices_load(t, o->prices_file) < 0) {
		mlb_error("cannot read the price table '%s': %s", o->prices_file, strerror(errno));
		mlb_prices_free(t);
		return NULL;
	}
	return t;
}

/* ---- groups ---- */

static void dvec_push(struct dvec *d, double x)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->v = mlb_xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	d->v[d->n++] = x;
}

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static struct group *group_for(struct mlb_meter *m, const char *key)
{
	struct group **slot = key ? &m->buckets[hash(key) % NBUCKETS] : &m->keyless, *g;

	for (g = *slot; g; g = g->next)
		if (!key || !strcmp(g->key, key))
			return g;
	g = mlb_xcalloc(1, sizeof(*g));
	g->key = key ? mlb_xstrdup(key) : NULL;
	g->next = *slot;
	*slot = g;
	if (m->ngroups == m->capgroups) {
		m->capgroups = m->capgroups ? m->capgroups * 2 : 16;
		m->groups = mlb_xrealloc(m->groups, m->capgroups * sizeof(*m->groups));
	}
	m->groups[m->ngroups++] = g;
	return g;
}

static void group_add(struct group *g, const struct reply *r)
{
	g->replies++;
	if (!r->bad_tokens) {
		g->prompt_tokens += r->prompt > 0 ? r->prompt : 0;
		g->completion_tokens += r->completion > 0 ? r->completion : 0;
	}
	if (r->priced) {
		g->priced++;
		g->cost += r->cost;
	} else {
		g->unpriced++;
	}
	if (!isnan(r->latency))
		dvec_push(&g->latency, r->latency);
	if (!isnan(r->ttft))
		dvec_push(&g->ttft, r->ttft);
	if (!isnan(r->tps)) {
		g->tps_sum += r->tps;
		g->tps_n++;
	}
	g->estimated += r->estimated != 0;
}

static void count_reply(struct mlb_meter *m, const struct reply *r)
{
	group_add(group_for(m, r->key), r);
	group_add(&m->total, r);
}

static void count_error(struct mlb_meter *m, const char *key)
{
	if (key)
		group_for(m, key)->errors++;
	m->total.errors++;
}

static void group_clear(struct group *g)
{
	free(g->key);
	free(g->latency.v);
	free(g->ttft.v);
}

/* ---- the meter ---- */

struct mlb_meter *mlb_meter_new(const struct mlb_meter_opts *o)
{
	struct mlb_meter *m = mlb_xcalloc(1, sizeof(*m));
	static const char *const keys[] = { "model", "pane", "session", "day", "week", "month", "provider", "project" };

	m->o = *o;
	if (m->o.warn <= 0)
		m->o.warn = 0.8;
	m->keyname = keys[o->by];
	m->budget.limit = o->budget;
	m->budget.warn_fraction = m->o.warn;
	m->track = o->budget > 0 || o->interval > 0;
	if (o->prices) {
		m->prices = o->prices;
	} else {
		m->own_prices = load_prices(o);
		if (!m->own_prices) {
			free(m);
			return NULL;
		}
		m->prices = m->own_prices;
	}
	return m;
}

void mlb_meter_free(struct mlb_meter *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ngroups; i++) {
		group_clear(m->groups[i]);
		free(m->groups[i]);
	}
	free(m->groups);
	for (size_t i = 0; i < NBUCKETS; i++)
		while (m->flights[i]) {
			struct flight *f = m->flights[i];

			m->flights[i] = f->next;
			free(f->id);
			free(f->model);
			free(f);
		}
	group_clear(&m->total);
	while (m->failures) {
		struct failure *f = m->failures;

		m->failures = f->next;
		free(f->who);
		free(f->why);
		free(f);
	}
	mlb_prices_free(m->own_prices);
	free(m);
}

/* The cost of a reply from the table: 1 with *cost set, 0 when it cannot be priced. */
static int price(const struct mlb_meter *m, const char *model, const struct reply *r, double *cost)
{
	if (!model || r->bad_tokens || (r->prompt < 0 && r->completion < 0))
		return 0;
	return mlb_prices_cost_cached(m->prices, model, r->prompt < 0 ? 0 : (long)r->prompt,
				      r->cached < 0 ? 0 : (long)r->cached,
				      r->completion < 0 ? 0 : (long)r->completion, cost);
}

/* A finite number >= 0 from a member: 1, 0 when absent or null, -1 when something else. */
static int json_amount(json_object *o, const char *key, double *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return -1;
	*out = json_object_get_double(v);
	return isfinite(*out) && *out >= 0 ? 1 : -1;
}

static double json_opt(json_object *o, const char *key)
{
	double v;

	return json_amount(o, key, &v) == 1 ? v : NAN;
}

/* A token count: -1 when absent; marks the reply when it is not a whole number >= 0. */
static long long json_count(json_object *o, const char *key, struct reply *r)
{
	double v;
	int got = json_amount(o, key, &v);

	if (got < 0 || (got && (v != floor(v) || v > (double)LONG_MAX))) {
		r->bad_tokens = 1;
		return -1;
	}
	return got ? (long long)v : -1;
}

/* Whether a meter event is one reply's (an aggregate has a wider scope, or "replies"). */
static int reply_meter(json_object *o)
{
	const char *scope = mlb_json_str(o, "scope");

	return (!scope || !strcmp(scope, "pane")) && !json_object_object_get_ex(o, "replies", NULL);
}

static int emit(struct mlb_meter *m, json_object *ev)
{
	if (!m->o.events) {
		json_object_put(ev);
		return 0;
	}
	return mlb_event_write(ev);
}

/* Add cost to the budget; warn once at the threshold, say so at the limit. */
static int spend(struct mlb_meter *m, double cost)
{
	json_object *ev;
	char msg[256];

	switch (mlb_budget_add(&m->budget, cost)) {
	case MLB_BUDGET_WARN:
		mlb_warn("spent $%.6f, %.0f%% of the budget of $%.6f", m->budget.spent,
			 100 * m->budget.spent / m->budget.limit, m->budget.limit);
		ev = mlb_event_new("status", NULL);
		mlb_json_set_str(ev, "stage", "budget_warning");
		mlb_json_set_double(ev, "spent", m->budget.spent);
		mlb_json_set_double(ev, "budget", m->budget.limit);
		return emit(m, ev) < 0 ? MLB_METER_WRITE_FAILED : MLB_METER_GO;
	case MLB_BUDGET_OVER:
		snprintf(msg, sizeof(msg), "spent $%.6f, at or over the budget of $%.6f; raise --budget to allow more",
			 m->budget.spent, m->budget.limit);
		mlb_error("%s", msg);
		ev = mlb_event_error(NULL, "budget", msg);
		mlb_json_set_bool(ev, "retryable", 0);
		mlb_json_set_double(ev, "spent", m->budget.spent);
		mlb_json_set_double(ev, "budget", m->budget.limit);
		emit(m, ev);
		return MLB_METER_OVER_BUDGET;
	}
	return MLB_METER_GO;
}

/* The identity of a reply's events: its session, pane and run ("" for what an event lacks). */
static char *flight_id(json_object *o)
{
	const char *s = mlb_json_str(o, "session"), *p = mlb_json_str(o, "pane"), *r = mlb_json_str(o, "run");

	return mlb_xasprintf("%s\x1f%s\x1f%s", s ? s : "", p ? p : "", r ? r : "");
}

/* The reply in flight that o belongs to; with create, a new one when there is none; else NULL. */
static struct flight *flight_for(struct mlb_meter *m, json_object *o, int create)
{
	char *id = flight_id(o);
	struct flight **slot = &m->flights[hash(id) % NBUCKETS], *f;

	for (f = *slot; f; f = f->next)
		if (!strcmp(f->id, id)) {
			free(id);
			return f;
		}
	if (!create) {
		free(id);
		return NULL;
	}
	f = mlb_xcalloc(1, sizeof(*f));
	f->id = id;
	/* a token without the key (a hand-made stream) counts in the total alone */
	f->group = mlb_json_str(o, m->keyname) ? group_for(m, mlb_json_str(o, m->keyname)) : NULL;
	f->model = mlb_json_str(o, "model") ? mlb_xstrdup(mlb_json_str(o, "model")) : NULL;
	f->next = *slot;
	*slot = f;
	if (f->group)
		f->group->in_flight++;
	m->total.in_flight++;
	return f;
}

/* Move a reply's estimate in its group and the total by tokens and cost. */
static void flight_move(struct mlb_meter *m, struct flight *f, long long tokens, double cost)
{
	if (f->group) {
		f->group->in_flight_tokens += tokens;
		f->group->in_flight_cost += cost;
	}
	m->total.in_flight_tokens += tokens;
	m->total.in_flight_cost += cost;
}

/* The reply o belongs to has its meter event: forget its estimate, and return its cost so far. */
static double flight_land(struct mlb_meter *m, json_object *o)
{
	struct flight *f = flight_for(m, o, 0), **pp;
	double cost;

	if (!f)
		return 0;
	cost = f->cost;
	flight_move(m, f, -f->tokens, -f->cost);
	if (f->group)
		f->group->in_flight--;
	m->total.in_flight--;
	for (pp = &m->flights[hash(f->id) % NBUCKETS]; *pp != f; pp = &(*pp)->next)
		;
	*pp = f->next;
	free(f->id);
	free(f->model);
	free(f);
	return cost;
}

static int spend(struct mlb_meter *m, double cost);

/* A token event: the reply's estimate grows with its text, and the budget with it. */
static int token_event(struct mlb_meter *m, json_object *o)
{
	const char *text = mlb_json_str(o, "text");
	struct flight *f;
	long long tokens;
	double cost;

	if (!text)
		return MLB_METER_GO;
	f = flight_for(m, o, 1);
	f->bytes += strlen(text);
	tokens = (long long)((f->bytes + 3) / 4);
	if (!f->model || !mlb_prices_cost(m->prices, f->model, 0, (long)tokens, &cost))
		cost = f->cost;		/* unpriced: nothing to count but the tokens */
	flight_move(m, f, tokens - f->tokens, cost - f->cost);
	f->tokens = tokens;
	cost -= f->cost;
	f->cost += cost;
	return m->budget.limit > 0 && cost != 0 ? spend(m, cost) : MLB_METER_GO;
}

static int meter_event(struct mlb_meter *m, struct mlb_reader *rd, const struct mlb_event_in *ev)
{
	json_object *o = ev->obj, *cost;
	struct reply r = { .latency = NAN, .ttft = NAN, .tps = NAN };
	const char *model = mlb_json_str(o, "model");
	int changed = 0, ret = 0;
	double estimate = m->track ? flight_land(m, o) : 0;

	r.key = mlb_json_str(o, m->keyname);
	r.prompt = json_count(o, "prompt_tokens", &r);
	r.completion = json_count(o, "completion_tokens", &r);
	r.cached = json_count(o, "cached_tokens", &r);
	r.latency = json_opt(o, "latency_ms");
	r.ttft = json_opt(o, "ttft_ms");
	r.tps = json_opt(o, "tokens_per_s");
	r.estimated = mlb_json_bool(o, "estimated");
	if (!json_object_object_get_ex(o, "cost_usd", &cost)) {
		r.priced = price(m, model, &r, &r.cost);
		if (r.priced) {
			json_object_object_add(o, "cost_usd", json_object_new_double(r.cost));
		} else {
			json_object_object_add(o, "cost_usd", NULL);
			json_object_object_add(o, "unpriced", json_object_new_boolean(1));
		}
		changed = 1;
	} else {
		r.priced = json_amount(o, "cost_usd", &r.cost) == 1;
	}
	count_reply(m, &r);
	if (m->o.events) {
		if (changed) {
			size_t len;
			const char *line = mlb_json_line(o, &len);

			ret = mlb_event_write_raw(line, len);
		} else {
			ret = mlb_reader_pass(rd, ev);
		}
	}
	if (ret < 0)
		return MLB_METER_WRITE_FAILED;
	/* the reply's cost replaces what its tokens were estimated at */
	if (m->budget.limit <= 0 || (!r.priced && estimate == 0))
		return MLB_METER_GO;
	return spend(m, (r.priced ? r.cost : 0) - estimate);
}

int mlb_meter_add_event(struct mlb_meter *m, struct mlb_reader *rd, const struct mlb_event_in *ev)
{
	const char *t = ev->type;

	/* Most events are tokens: decide on the first letter before comparing. */
	if (t[0] == 'm' && !strcmp(t, "meter") && reply_meter(ev->obj))
		return meter_event(m, rd, ev);
	if (t[0] == 'e' && !strcmp(t, "error"))
		count_error(m, mlb_json_str(ev->obj, m->keyname));
	/* passed on before it is counted: the text that reaches the budget still goes through */
	if (m->o.events && mlb_reader_pass(rd, ev) < 0)
		return MLB_METER_WRITE_FAILED;
	if (m->track && t[0] == 't' && ev->obj && !strcmp(t, "token"))
		return token_event(m, ev->obj);
	return MLB_METER_GO;
}

/* ---- aggregates ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double mlb_meter_percentile(double *v, size_t n, int pct)
{
	/* Nearest rank: the smallest value with at least pct% of the values at or below it. */
	size_t rank = ((size_t)pct * n + 99) / 100;

	qsort(v, n, sizeof(*v), cmp_double);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static double pctl(struct dvec *d, int pct)
{
	return d->n ? mlb_meter_percentile(d->v, d->n, pct) : NAN;
}

/* A whole number as an integer, anything else as it is, unknown as null. */
static void set_number(json_object *ev, const char *key, double v)
{
	if (isnan(v))
		json_object_object_add(ev, key, NULL);
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		mlb_json_set_int(ev, key, (long long)v);
	else
		mlb_json_set_double(ev, key, v);
}

static json_object *aggregate(const struct mlb_meter *m, struct group *g, const char *scope,
			      const char *keyname, const char *key)
{
	json_object *ev = mlb_event_new("meter", NULL);

	mlb_json_set_str(ev, "scope", scope);
	if (keyname)
		mlb_json_set_str(ev, keyname, key);
	mlb_json_set_int(ev, "replies", g->replies);
	mlb_json_set_int(ev, "prompt_tokens", g->prompt_tokens);
	mlb_json_set_int(ev, "completion_tokens", g->completion_tokens);
	if (g->priced || !g->unpriced)
		mlb_json_set_double(ev, "cost_usd", g->cost);
	else
		json_object_object_add(ev, "cost_usd", NULL);	/* unknown is not free */
	mlb_json_set_int(ev, "unpriced", g->unpriced);
	set_number(ev, "latency_ms_p50", pctl(&g->latency, 50));
	set_number(ev, "latency_ms_p95", pctl(&g->latency, 95));
	set_number(ev, "ttft_ms_p50", pctl(&g->ttft, 50));
	set_number(ev, "ttft_ms_p95", pctl(&g->ttft, 95));
	set_number(ev, "tokens_per_s", g->tps_n ? round(g->tps_sum / (double)g->tps_n * 10) / 10 : NAN);
	mlb_json_set_int(ev, "errors", g->errors);
	mlb_json_set_int(ev, "estimated", g->estimated);
	if (m->track) {
		mlb_json_set_int(ev, "in_flight", g->in_flight);
		mlb_json_set_int(ev, "in_flight_completion_tokens", g->in_flight_tokens);
		mlb_json_set_double(ev, "in_flight_cost_usd", g->in_flight_cost);
	}
	return ev;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = *(struct group *const *)a, *y = *(struct group *const *)b;

	if (!x->key || !y->key)
		return !x->key - !y->key;	/* the keyless group last */
	return strcmp(x->key, y->key);
}

/* The total, with the malformed lines the reader reported counted as errors (it shares the vectors). */
static struct group total_of(const struct mlb_meter *m)
{
	struct group t = m->total;

	if (m->reader)
		t.errors += mlb_reader_errors(m->reader);
	return t;
}

int mlb_meter_emit_aggregates(struct mlb_meter *m)
{
	struct group t = total_of(m);
	int ret = 0;

	if (m->ngroups)
		qsort(m->groups, m->ngroups, sizeof(*m->groups), cmp_group);
	for (size_t i = 0; i < m->ngroups; i++)
		ret |= mlb_event_write(aggregate(m, m->groups[i], m->keyname, m->keyname, m->groups[i]->key));
	if (m->all)
		ret |= mlb_event_write(aggregate(m, &t, "all", NULL, NULL));
	else if (m->project)
		ret |= mlb_event_write(aggregate(m, &t, "project", "project", m->project));
	else if (m->session)
		ret |= mlb_event_write(aggregate(m, &t, "session", "session", m->session));
	else
		ret |= mlb_event_write(aggregate(m, &t, "run", NULL, NULL));
	ret |= mlb_event_flush();
	return ret ? -1 : 0;
}

/* ---- the table for a person ---- */

size_t mlb_meter_bar(char *buf, size_t size, double value, double max, int width)
{
	/* Eighths of a cell, from U+258F (one) to U+2589 (seven); U+2588 is a whole one. */
	static const char *const part[8] = { "", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589" };
	long units = 0, cells = 0;
	size_t len = 0;

	if (!size)
		return 0;
	if (max > 0 && value > 0 && isfinite(value) && isfinite(max)) {
		units = lround(value / max * width * 8);
		if (units < 1)
			units = 1;	/* something is not nothing */
		if (units > (long)width * 8)
			units = (long)width * 8;
	}
	for (; units >= 8 && len + 3 < size; units -= 8, cells++, len += 3)
		memcpy(buf + len, "\u2588", 3);
	if (units > 0 && units < 8 && len + 3 < size) {
		memcpy(buf + len, part[units], 3);
		len += 3;
		cells++;
	}
	for (; cells < width && len + 1 < size; cells++)
		buf[len++] = ' ';
	buf[len] = '\0';
	return len;
}

#define C_BOLD "\033[1m"
#define C_COST "\033[33m"
#define C_TIME "\033[36m"
#define C_ERR "\033[31m"
#define C_DIM "\033[2m"
#define C_OFF "\033[0m"

static const char *col(int color, const char *code)
{
	return color ? code : "";
}

static void fmt_ms(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.0f", v);
}

static void fmt_cost(char *buf, size_t size, const struct group *g)
{
	if (!g->priced && g->unpriced)
		snprintf(buf, size, "unpriced");
	else if (g->cost > 0 && g->cost < 0.0000005)
		snprintf(buf, size, "<$0.000001%s", g->unpriced ? "*" : "");	/* not free, only small */
	else
		snprintf(buf, size, "$%.6f%s", g->cost, g->unpriced ? "*" : "");
}

/* The table's columns but the label and the bars, in display columns; and when narrow. */
#define TABLE_FIXED (2 + 7 + 2 + 9 + 2 + 10 + 2 + 11 + 2 + 7 + 2 + 7 + 2 + 6)
#define TABLE_NARROW (1 + 7 + 1 + 7 + 1 + 7 + 1 + 11 + 1 + 7 + 1 + 7 + 1 + 6)
#define TABLE_BARS (2 * (BAR_CELLS + 1))

static void report_row(FILE *f, int color, int w, const char *label, struct group *g,
		       double max_cost, double max_p50, int bars, int show_bars)
{
	char cost[40], p50s[24], p95s[24], cbar[BAR_CELLS * 3 + 1], lbar[BAR_CELLS * 3 + 1];
	double p50 = pctl(&g->latency, 50), p95 = pctl(&g->latency, 95);
	int truncated = (int)strlen(label) > w;

	fmt_cost(cost, sizeof(cost), g);
	fmt_ms(p50s, sizeof(p50s), p50);
	fmt_ms(p95s, sizeof(p95s), p95);
	mlb_meter_bar(cbar, sizeof(cbar), bars && g->priced ? g->cost : 0, max_cost, BAR_CELLS);
	mlb_meter_bar(lbar, sizeof(lbar), bars && !isnan(p50) ? p50 : 0, max_p50, BAR_CELLS);
	if (truncated)
		fprintf(f, "%.*s\u2026", w - 1, label);
	else
		fprintf(f, "%-*s", w, label);
	if (show_bars < 0) {
		/* narrow: single spaces, no bars */
		fprintf(f, " %7ld %7lld %7lld %s%-11s%s %7s %7s %s%6ld%s\n", g->replies, g->prompt_tokens,
			g->completion_tokens, col(color && !g->priced && g->unpriced, C_DIM), cost,
			col(color && !g->priced && g->unpriced, C_OFF), p50s, p95s,
			col(color && g->errors, C_ERR), g->errors, col(color && g->errors, C_OFF));
		return;
	}
	if (!show_bars)
		cbar[0] = lbar[0] = '\0';
	fprintf(f, "  %7ld  %9lld  %10lld  %s%-11s%s%s%s%s%s  %7s  %7s%s%s%s%s  %s%6ld%s\n",
		g->replies, g->prompt_tokens, g->completion_tokens,
		col(color && !g->priced && g->unpriced, C_DIM), cost, col(color && !g->priced && g->unpriced, C_OFF),
		show_bars ? " " : "", col(color && show_bars, C_COST), cbar, col(color && show_bars, C_OFF),
		p50s, p95s,
		show_bars ? " " : "", col(color && show_bars, C_TIME), lbar, col(color && show_bars, C_OFF),
		col(color && g->errors, C_ERR), g->errors, col(color && g->errors, C_OFF));
}

/* Why each stored question went unanswered, made safe (the reason is a server's text); on a
 * terminal wrapped at words to its width, the rows after the first indented under the text. */
static void report_failures(const struct mlb_meter *m, FILE *f, int color)
{
	struct mlb_buf line = MLB_BUF_INIT;
	struct mlb_term_row *rows = NULL;
	size_t cap = 0;
	int cols = 0, height;

	if (m->failures && isatty(fileno(f)))
		mlb_term_size(fileno(f), &cols, &height);
	for (const struct failure *x = m->failures; x; x = x->next) {
		size_t n;

		mlb_buf_reset(&line);
		mlb_term_safe(&line, x->who, strlen(x->who), 0);
		mlb_buf_adds(&line, " failed: ");
		mlb_term_safe(&line, x->why, strlen(x->why), 0);
		if (cols <= 12) {
			fprintf(f, "%s\xe2\x9c\x97 %s%s\n", col(color, C_ERR), mlb_buf_str(&line), col(color, C_OFF));
			continue;
		}
		n = mlb_term_wrap(line.s, line.len, cols - 3, &rows, &cap);
		for (size_t r = 0; r < n; r++)
			fprintf(f, "%s%s%.*s%s\n", col(color, C_ERR), r ? "  " : "\xe2\x9c\x97 ", (int)rows[r].len,
				line.s + rows[r].start, col(color, C_OFF));
	}
	free(rows);
	mlb_buf_free(&line);
}

void mlb_meter_report(struct mlb_meter *m, FILE *f, int color)
{
	struct group t = total_of(m);
	double max_cost = 0, max_p50 = 0;
	int w = (int)strlen(m->keyname), show_bars = 1;

	if (m->all)
		fprintf(f, "%sall sessions%s%s%s%s%s\n", col(color, C_BOLD), m->o.since ? " from " : "",
			m->o.since ? m->o.since : "", m->o.until ? " to " : "", m->o.until ? m->o.until : "",
			col(color, C_OFF));
	else if (m->project)
		fprintf(f, "%sproject %s%s\n", col(color, C_BOLD), m->project, col(color, C_OFF));
	else if (m->session)
		fprintf(f, "%ssession %s%s\n", col(color, C_BOLD), m->session, col(color, C_OFF));
	if (!m->ngroups) {
		fprintf(f, "no replies were metered");
		if (t.errors)
			fprintf(f, "; %ld error%s", t.errors, t.errors == 1 ? "" : "s");
		fputc('\n', f);
		return;
	}
	qsort(m->groups, m->ngroups, sizeof(*m->groups), cmp_group);
	for (size_t i = 0; i < m->ngroups; i++) {
		struct group *g = m->groups[i];
		double p50 = pctl(&g->latency, 50);
		int len = g->key ? (int)strlen(g->key) : (int)strlen("(none)");

		if (len > w)
			w = len;
		if (g->priced && g->cost > max_cost)
			max_cost = g->cost;
		if (!isnan(p50) && p50 > max_p50)
			max_p50 = p50;
	}
	if (w > LABEL_MAX)
		w = LABEL_MAX;
	/* On a terminal the table fits its width: the bars go first, then the labels are cut. */
	if (isatty(fileno(f))) {
		int cols, rows;

		mlb_term_size(fileno(f), &cols, &rows);
		if (w + TABLE_FIXED + TABLE_BARS > cols - 1)
			show_bars = 0;
		if (!show_bars && w + TABLE_FIXED > cols - 1) {
			show_bars = -1;
			if (w + TABLE_NARROW > cols - 1)
				w = cols - 1 - TABLE_NARROW > 12 ? cols - 1 - TABLE_NARROW : 12;
		}
	}
	if (show_bars < 0)
		fprintf(f, "%s%-*s %7s %7s %7s %-11s %7s %7s %6s%s\n", col(color, C_BOLD), w, m->keyname,
			"replies", "tok in", "tok out", "cost", "p50 ms", "p95 ms", "errors", col(color, C_OFF));
	else
	fprintf(f, "%s%-*s  %7s  %9s  %10s  %-11s%s%-*s  %7s  %7s%s%-*s  %6s%s\n", col(color, C_BOLD),
		w, m->keyname, "replies", "tokens in", "tokens out", "cost", show_bars ? " " : "",
		show_bars ? BAR_CELLS : 0, "", "p50 ms", "p95 ms", show_bars ? " " : "", show_bars ? BAR_CELLS : 0, "",
		"errors", col(color, C_OFF));
	for (size_t i = 0; i < m->ngroups; i++)
		report_row(f, color, w, m->groups[i]->key ? m->groups[i]->key : "(none)", m->groups[i],
			   max_cost, max_p50, 1, show_bars);
	fputs(col(color, C_BOLD), f);
	report_row(f, 0, w, "total", &t, 0, 0, 0, show_bars);
	fputs(col(color, C_OFF), f);
	if (t.unpriced)
		fprintf(f, "* %ld repl%s without a known price, not in the cost\n", t.unpriced,
			t.unpriced == 1 ? "y" : "ies");
	if (m->budget.limit > 0)
		fprintf(f, "budget: $%.6f of $%.6f spent (%.0f%%)\n", m->budget.spent, m->budget.limit,
			100 * m->budget.spent / m->budget.limit);
	report_failures(m, f, color);
}

/* ---- filtering ---- */

/* The aggregates so far: events, or the table when only a person is reading. */
static void interim(struct mlb_meter *m)
{
	if (m->o.events) {
		mlb_meter_emit_aggregates(m);
	} else if (m->o.report) {
		mlb_meter_report(m, m->o.report, m->o.color);
		fputc('\n', m->o.report);
		fflush(m->o.report);
	}
}

static void finish(struct mlb_meter *m)
{
	if (m->o.events)
		mlb_meter_emit_aggregates(m);
	if (m->o.report) {
		mlb_meter_report(m, m->o.report, m->o.color);
		fflush(m->o.report);
	}
}

/* Only these are read; every other event is checked and passed through as it is. */
static const char *const counted[] = { "meter", "error", NULL };
/* Following replies in flight reads their tokens too. */
static const char *const counted_in_flight[] = { "meter", "error", "token", NULL };
/* What a live view needs besides. */
static const char *const watched[] = { "meter", "error", "token", "status", "final", NULL };

int mlb_meter_filter(struct mlb_meter *m, int fd)
{
	int64_t step = (int64_t)llround(m->o.interval * 1000), next = 0;
	struct mlb_event_in ev;
	FILE *sink = NULL;
	int n, res = MLB_METER_GO, status = MLB_EXIT_OK;

	if (!m->o.events) {
		/* A person reads the table only; the reader's parse errors still go to stderr. */
		sink = fopen("/dev/null", "w");
		if (!sink) {
			mlb_error("cannot open /dev/null: %s", strerror(errno));
			return MLB_EXIT_FAIL;
		}
		mlb_event_output(sink);
	}
	m->reader = mlb_reader_new(fd, NULL);
	mlb_reader_want(m->reader, m->o.watch ? watched : m->track ? counted_in_flight : counted);
	if (step > 0)
		next = mlb_mono_ms() + step;
	for (;;) {
		if (m->o.tick) {
			m->o.tick(m->o.watch_ctx);
			if (!mlb_reader_buffered(m->reader) && !mlb_reader_wait(m->reader, 100))
				continue;
		}
		if (step > 0 && !mlb_reader_wait(m->reader, (long)(next - mlb_mono_ms()))) {
			interim(m);
			next += step;
			continue;
		}
		n = mlb_reader_next(m->reader, &ev);
		if (n < 0) {
			mlb_error("cannot read the input: %s", strerror(errno));
			status = MLB_EXIT_FAIL;
			break;
		}
		if (n == 0)
			break;
		res = mlb_meter_add_event(m, m->reader, &ev);
		if (m->o.watch && ev.obj && json_object_object_get_ex(ev.obj, "pane", NULL))
			m->o.watch(m->o.watch_ctx, NULL, json_object_get(ev.obj));
		if (res != MLB_METER_GO)
			break;
		if (step > 0 && mlb_mono_ms() >= next) {
			int64_t now = mlb_mono_ms();

			interim(m);
			while (next <= now)
				next += step;
		}
	}
	/* The reader of our output went away: nobody is left to tell, and it is not our failure. */
	if (res != MLB_METER_WRITE_FAILED)
		finish(m);
	if (mlb_reader_errors(m->reader) && status == MLB_EXIT_OK)
		status = MLB_EXIT_FAIL;
	if (res == MLB_METER_OVER_BUDGET)
		status = MLB_EXIT_BUDGET;
	mlb_reader_free(m->reader);
	m->reader = NULL;
	if (sink) {
		mlb_event_output(NULL);
		fclose(sink);
	}
	return status;
}

/* ---- stored sessions ---- */

/* A header's whole number: -1 when absent; marks the reply when malformed. */
static long long header_count(const struct mlb_msgfile *msg, const char *name, struct reply *r)
{
	const char *s = mlb_msgfile_get(msg, name);
	char *end;
	long long v;

	if (!s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || errno || v < 0) {
		r->bad_tokens = 1;
		return -1;
	}
	return v;
}

/* A header's amount >= 0, or NAN when absent or malformed. */
static double header_amount(const struct mlb_msgfile *msg, const char *name)
{
	const char *s = mlb_msgfile_get(msg, name);
	char *end;
	double v;

	if (!s)
		return NAN;
	errno = 0;
	v = strtod(s, &end);
	return end == s || *end || errno || !isfinite(v) || v < 0 ? NAN : v;
}

/* Whether a stored reply of this Date (RFC 3339, UTC) is in --since/--until; one with
 * no readable date is left out only when there are bounds. */
static int in_dates(const struct mlb_meter *m, const char *date)
{
	if (!m->o.since && !m->o.until)
		return 1;
	if (!date || strlen(date) < 10)
		return 0;
	return (!m->o.since || strncmp(date, m->o.since, 10) >= 0) && (!m->o.until || strncmp(date, m->o.until, 10) <= 0);
}

/* The group of a stored reply; key is room for the keys made here. */
static const char *reply_key(const struct mlb_meter *m, const char *pane, const char *model, const char *date,
			     char *key, size_t size)
{
	struct tm tm = { 0 };
	time_t t;

	switch (m->o.by) {
	case MLB_METER_BY_MODEL: return model;
	case MLB_METER_BY_PANE: return pane;
	case MLB_METER_BY_SESSION: return m->session;
	case MLB_METER_BY_PROJECT: return m->session_project ? m->session_project : "-";
	case MLB_METER_BY_PROVIDER:
		if (!model)
			return NULL;
		snprintf(key, size, "%.*s", (int)strcspn(model, ":"), model);
		return key;
	case MLB_METER_BY_DAY:
	case MLB_METER_BY_MONTH:
		if (!date || strlen(date) < 10)
			return "-";
		snprintf(key, size, "%.*s", m->o.by == MLB_METER_BY_DAY ? 10 : 7, date);
		return key;
	case MLB_METER_BY_WEEK:
		if (!date || sscanf(date, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
			return "-";
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		t = timegm(&tm);
		if (!gmtime_r(&t, &tm) || !strftime(key, size, "%G-W%V", &tm))	/* ISO 8601 week */
			return "-";
		return key;
	}
	return NULL;
}

/* A stored question no model answered is an error of the model asked, and its reason is kept for the table. */
static void count_unanswered(struct mlb_meter *m, const char *pane, const struct mlb_msgfile *msg)
{
	const char *model = mlb_msgfile_get(msg, "Model"), *why = mlb_msgfile_get(msg, "Error");
	struct failure *f;
	char key[64];

	if (!in_dates(m, mlb_msgfile_get(msg, "Date")))
		return;
	f = calloc(1, sizeof(*f));
	count_error(m, m->o.by == MLB_METER_BY_MODEL && !model ? pane :
		       reply_key(m, pane, model, mlb_msgfile_get(msg, "Date"), key, sizeof(key)));
	if (!f || !(f->who = strdup(model ? model : pane)) || !(f->why = strdup(why ? why : "failed"))) {
		if (f)
			free(f->who);
		free(f);
		return;
	}
	if (!m->last_failure)
		m->last_failure = &m->failures;
	*m->last_failure = f;
	m->last_failure = &f->next;
}

/* Count one stored message if it is a reply, or a question left unanswered. */
static void count_message(struct mlb_meter *m, const char *pane, const struct mlb_msgfile *msg)
{
	const char *role = mlb_msgfile_get(msg, "Role"), *model = mlb_msgfile_get(msg, "Model");
	const char *estimated = mlb_msgfile_get(msg, "Estimated");
	struct reply r = { .tps = NAN };
	double cost;
	char key[64];

	if (role && !strcmp(role, "user") && mlb_msgfile_get(msg, "Unanswered")) {
		count_unanswered(m, pane, msg);
		return;
	}
	if (!role || strcmp(role, "assistant"))
		return;
	if (!in_dates(m, mlb_msgfile_get(msg, "Date")))
		return;
	r.key = reply_key(m, pane, model, mlb_msgfile_get(msg, "Date"), key, sizeof(key));
	r.prompt = header_count(msg, "Prompt-Tokens", &r);
	r.completion = header_count(msg, "Completion-Tokens", &r);
	r.cached = header_count(msg, "Cached-Tokens", &r);
	r.latency = header_amount(msg, "Latency-Ms");
	r.ttft = header_amount(msg, "Ttft-Ms");
	r.estimated = estimated && !strcmp(estimated, "true");
	/* Files keep no rate: derive it as the streaming side does, over the whole reply (doc/events.md). */
	if (!isnan(r.latency) && !isnan(r.ttft) && r.completion >= 0 && r.latency > 0)
		r.tps = round((double)r.completion * 1000.0 / r.latency * 10) / 10;
	cost = header_amount(msg, "Cost-Usd");
	if (!isnan(cost)) {
		r.priced = 1;
		r.cost = cost;
	} else {
		/* Unpriced when it was written: today's table may know the model. */
		r.priced = price(m, model, &r, &r.cost);
	}
	count_reply(m, &r);
	if (mlb_msgfile_get(msg, "Error"))
		count_error(m, r.key);
}

/* Count one stored message file (mlb_session_each_message_ever). */
static int count_file(const char *pane, const char *name, const char *data, size_t len, void *ctx)
{
	struct mlb_meter *m = ctx;
	struct mlb_msgfile msg;

	if (mlb_msgfile_parse(data, len, &msg) < 0) {
		mlb_error("session '%s': panes/%s/%s: not a message file; skipped", m->session, pane, name);
		return 0;
	}
	count_message(m, pane, &msg);
	mlb_msgfile_free(&msg);
	return 0;
}

/* Count every reply ever stored in an open session, also those a restore has since taken out of
 * main's tree: they were paid for. */
static int count_session(struct mlb_meter *m, struct mlb_session *s)
{
	int status = MLB_EXIT_OK;

	m->session = mlb_session_id(s);
	if (mlb_session_each_message_ever(s, count_file, m) != 0)
		status = MLB_EXIT_FAIL;
	return status;
}

/* The budget applies to everything read at once; then the aggregates.  The exit status. */
static int finish_stored(struct mlb_meter *m, int status)
{
	int res = MLB_METER_GO;

	if (m->budget.limit > 0 && m->total.priced)
		res = spend(m, m->total.cost);
	finish(m);
	m->session = m->project = NULL;
	return res == MLB_METER_OVER_BUDGET ? MLB_EXIT_BUDGET : status;
}

int mlb_meter_from_session(struct mlb_meter *m, const char *id)
{
	struct mlb_session *s = NULL;
	int status;

	if (mlb_session_id_check(id) < 0)
		return MLB_EXIT_USAGE;
	if (mlb_session_open(id, 0, &s) < 0)
		return MLB_EXIT_FAIL;
	status = finish_stored(m, count_session(m, s));
	mlb_session_close(s);
	return status;
}

/* Count every session under $MLB_HOME, or those of one project; the exit status so far. */
static int count_sessions(struct mlb_meter *m, const char *project)
{
	char **ids;
	size_t n;
	int status = MLB_EXIT_OK;

	if (mlb_session_list(&ids, &n) < 0)
		return MLB_EXIT_FAIL;
	for (size_t i = 0; i < n; i++) {
		struct mlb_session *s;
		json_object *info;
		const char *in;

		if (mlb_session_open(ids[i], 0, &s) < 0) {
			status = MLB_EXIT_FAIL;	/* reported; the others still count */
			continue;
		}
		if (!(info = mlb_session_info(s))) {
			status = MLB_EXIT_FAIL;
		} else {
			in = mlb_json_str(info, "project");
			m->session_project = in && *in ? in : NULL;
			if ((!project || (in && !strcmp(in, project))) && count_session(m, s) != MLB_EXIT_OK)
				status = MLB_EXIT_FAIL;
			m->session_project = NULL;
		}
		json_object_put(info);
		mlb_session_close(s);
	}
	mlb_strv_free(ids);
	m->session = NULL;
	return status;
}

int mlb_meter_from_project(struct mlb_meter *m, const char *project)
{
	int status = count_sessions(m, project);

	m->project = project;
	return finish_stored(m, status);
}

int mlb_meter_from_all(struct mlb_meter *m)
{
	int status = count_sessions(m, NULL);

	m->all = 1;
	status = finish_stored(m, status);
	m->all = 0;
	return status;
}
