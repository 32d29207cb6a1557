#include "turn.h"
#include "budget.h"
#include "circuit.h"
#include "cli.h"
#include "clock.h"
#include "msg.h"
#include "models.h"
#include "modelspec.h"
#include "msgfile.h"
#include "role.h"
#include "store.h"
#include "term.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *mlb_pane_from_model(const char *model)
{
	char *p = mlb_xstrndup(model, mlb_model_word_len(model));

	for (char *c = p; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '.' || *c == '_' || *c == '-'))
			*c = '-';
	if (*p == '.')
		*p = '_';
	if (strlen(p) > 64)
		p[64] = '\0';
	return p;
}

char *mlb_last_pane(const char *session)
{
	struct mlb_session *s;
	char **panes, *best = NULL, *best_date = NULL;
	size_t n;

	if (!session || !mlb_session_exists(session) || mlb_session_open(session, 0, &s) < 0)
		return NULL;
	if (mlb_session_panes(s, &panes, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct mlb_msgfile *msgs;
			size_t k;
			const char *date;

			if (mlb_session_messages(s, panes[i], &msgs, &k) < 0)
				continue;
			/* Dates are RFC 3339 UTC: as strings they sort by time; a later pane wins a tie. */
			date = k ? mlb_msgfile_get(&msgs[k - 1], "Date") : NULL;
			if (date && (!best_date || strcmp(date, best_date) >= 0)) {
				free(best);
				free(best_date);
				best = mlb_xstrdup(panes[i]);
				best_date = mlb_xstrdup(date);
			}
			mlb_msgfiles_free(msgs, k);
		}
		mlb_strv_free(panes);
	}
	free(best_date);
	mlb_session_close(s);
	return best;
}

char *mlb_default_model(const struct mlb_config *cfg, const char *explicit_model,
			const char *session, const char *pane)
{
	const char *env = getenv("MLB_MODEL");
	struct mlb_session *s;

	if (explicit_model)
		return mlb_model_expand(cfg, explicit_model);
	if (session && pane && mlb_session_exists(session) && mlb_session_open(session, 0, &s) == 0) {
		json_object *info = mlb_session_pane_info(s, pane);
		const char *m = mlb_json_str(info, "model");
		char *ret = m ? mlb_xstrdup(m) : NULL;

		json_object_put(info);
		mlb_session_close(s);
		if (ret)
			return ret;
	}
	if (env && *env)
		return mlb_model_expand(cfg, env);
	{
		char *core = mlb_config_str(cfg, "core.model"), *ret;

		if (!core)
			return NULL;
		ret = mlb_model_expand(cfg, core);
		free(core);
		return ret;
	}
}

/* Prices from the configuration, gathered before they are applied. */
struct price_override {
	char *model;
	double input, output;	/* -1 when not given */
};

struct price_overrides {
	struct price_override *v;
	size_t n;
};

/* [price "<provider:model>"] input = ... output = ...: USD per token. */
static int price_entry(const char *name, const char *value, void *ctx)
{
	struct price_overrides *o = ctx;
	const char *sub = name + strlen("price."), *dot = strrchr(sub, '.');
	char *end;
	double v = strtod(value, &end);
	size_t i;

	if (!dot || !*value || end == value || *end || !(v >= 0) || v > 1) {
		mlb_warn("configuration '%s = %s': a price is a number of USD per token, such as 2.5e-06", name, value);
		return 0;
	}
	for (i = 0; i < o->n; i++)
		if (strlen(o->v[i].model) == (size_t)(dot - sub) && !strncmp(o->v[i].model, sub, (size_t)(dot - sub)))
			break;
	if (i == o->n) {
		o->v = mlb_xrealloc(o->v, (o->n + 1) * sizeof(*o->v));
		o->v[o->n++] = (struct price_override){ mlb_xstrndup(sub, (size_t)(dot - sub)), -1, -1 };
	}
	if (!strcmp(dot + 1, "input"))
		o->v[i].input = v;
	else
		o->v[i].output = v;
	return 0;
}

/* Apply the overrides; half a price for a model the table does not know is no price. */
static void apply_overrides(struct mlb_prices *t, struct price_overrides *o)
{
	for (size_t i = 0; i < o->n; i++) {
		struct price_override *p = &o->v[i];
		struct mlb_price cur;

		if (mlb_prices_lookup(t, p->model, &cur)) {
			if (p->input < 0)
				p->input = cur.input;
			if (p->output < 0)
				p->output = cur.output;
		}
		if (p->input < 0 || p->output < 0)
			mlb_warn("configuration price \"%s\" needs both input and output; it stays unpriced", p->model);
		else
			mlb_prices_set(t, p->model, p->input, p->output);
		free(p->model);
	}
	free(o->v);
}

struct mlb_prices *mlb_prices_default(const struct mlb_config *cfg)
{
	struct mlb_prices *t = mlb_prices_new();
	char *path = mlb_xasprintf("%s/prices.tsv", mlb_share_dir());

	if (mlb_prices_load(t, path) < 0)
		mlb_warn("cannot read the price table '%s'; costs will show as unpriced", path);
	free(path);
	if (cfg) {
		struct price_overrides o = { NULL, 0 };

		mlb_config_each(cfg, "^price\\..*\\.(input|output)$", price_entry, &o);
		apply_overrides(t, &o);
	}
	return t;
}

void mlb_provenance_free(struct mlb_provenance *p)
{
	while (p) {
		struct mlb_provenance *next = p->next;

		free(p->session);
		free(p->pane);
		free(p->model);
		free(p->ts);
		free(p->hash);
		free(p->content);
		free(p);
		p = next;
	}
}

void mlb_pane_turn_clear(struct mlb_pane_turn *p)
{
	free(p->pane);
	free(p->model);
	free(p->prompt);
	free(p->extra_headers);
	json_object_put(p->options);
	free(p->system);
	free(p->role);
	mlb_strv_free(p->fallbacks);
	free(p->message_path);
	mlb_provenance_free(p->from);
	mlb_job_clear(&p->job);
	mlb_token_line_free(&p->tokens);
	memset(p, 0, sizeof(*p));
}

/* ---- printing for a person ---- */

static void print_footer(struct mlb_job *job, json_object *ev)
{
	char costs[32];

	mlb_cost_text(ev, costs, sizeof(costs));
	fprintf(stderr, "[%s] %lld+%lld tokens%s, %s, %.2f s",
		job->model.spec, mlb_json_int(ev, "prompt_tokens", 0), mlb_json_int(ev, "completion_tokens", 0),
		mlb_json_bool(ev, "estimated") ? " (estimated)" : "",
		costs, mlb_json_int(ev, "latency_ms", 0) / 1000.0);
	if (mlb_json_has(ev, "ttft_ms"))
		fprintf(stderr, " (first token %.2f s)", mlb_json_int(ev, "ttft_ms", 0) / 1000.0);
	fputc('\n', stderr);
}

void mlb_turn_print(void *ctx, struct mlb_job *job, json_object *ev)
{
	const char *type = mlb_json_str(ev, "type");
	static int at_line_start = 1;
	static struct mlb_term_stream shown;	/* the reply as it streams, made safe for a person */

	(void)ctx;
	if (mlb_cli_json()) {
		/* Cron keeps stderr: a failure is also one line there, naming the model and the reason. */
		if (!strcmp(type, "error") && mlb_cli_stderr_apart())
			mlb_error("%s: %s", job ? job->model.spec : "error", mlb_json_str(ev, "message"));
		mlb_event_write(ev);
		return;
	}
	if (!strcmp(type, "token")) {
		const char *t = mlb_json_str(ev, "text");
		size_t n = strlen(t);

		mlb_term_stream_write(&shown, stdout, t, n);
		fflush(stdout);
		if (n)
			at_line_start = t[n - 1] == '\n';
	} else if (!strcmp(type, "final")) {
		mlb_term_stream_write(&shown, stdout, "", 0);
		if (!at_line_start)
			putchar('\n');
		at_line_start = 1;
		fflush(stdout);
	} else if (!strcmp(type, "meter")) {
		/* The meter comes as the reply ends, before the final: end the text's line first. */
		mlb_term_stream_write(&shown, stdout, "", 0);
		if (!at_line_start)
			putchar('\n');
		at_line_start = 1;
		fflush(stdout);
		print_footer(job, ev);
	} else if (!strcmp(type, "error")) {
		mlb_error("%s: %s", job ? job->model.spec : "error", mlb_json_str(ev, "message"));
	} else if (!strcmp(type, "status") && !strcmp(mlb_json_str(ev, "stage"), "retry")) {
		mlb_warn("%s: %s; retrying in %.1f s", job->model.spec, mlb_json_str(ev, "message"),
			 mlb_json_int(ev, "retry_in_ms", 0) / 1000.0);
	} else if (!strcmp(type, "status") && !strcmp(mlb_json_str(ev, "stage"), "fallback")) {
		mlb_warn("%s gave no answer; asking %s instead", job->model.spec, mlb_json_str(ev, "fallback"));
	} else if (!strcmp(type, "status") && !strcmp(mlb_json_str(ev, "stage"), "circuit_open")) {
		mlb_warn("%s failed too often; it is passed over until %s", mlb_json_str(ev, "circuit_model"),
			 mlb_json_str(ev, "until"));
	} else if (!strcmp(type, "message")) {
		/* the moved message: its text is the prompt, already known to the user */
	}
	json_object_put(ev);
}

/* ---- the turn ---- */

/* A turn under way: its panes, its session and the order in which its panes ended. */
struct mlb_turn_state {
	const struct mlb_config *cfg;
	struct mlb_runner *r;		/* the runner it was started on */
	struct mlb_circuit_conf circuit;
	struct mlb_turn_opts *o;
	struct mlb_pane_turn *panes;
	size_t n;
	struct mlb_session *s;
	struct mlb_pane_turn **done_order;
	size_t ndone, nok;
	int store_failed;
	struct mlb_budget budget;
	int over_budget;
};

static void emit(struct mlb_turn_state *t, struct mlb_job *job, json_object *ev)
{
	if (t->o->emit)
		t->o->emit(t->o->emit_ctx, job, ev);
	else
		mlb_turn_print(NULL, job, ev);
}

/* A 404 for a model: add the provider's models with close names to the error, as a "did you mean". */
static void suggest_models(struct mlb_job *job, json_object *ev)
{
	char **near;
	struct mlb_buf b = MLB_BUF_INIT;
	json_object *list;

	if (strcmp(mlb_json_str(ev, "type"), "error") || mlb_json_int(ev, "http_status", 0) != 404 ||
	    !job->model.provider)
		return;
	near = mlb_models_near(job->model.provider, job->model.id);
	if (near[0]) {
		list = json_object_new_array();
		mlb_buf_addf(&b, "%s (did you mean ", mlb_json_str(ev, "message"));
		for (size_t i = 0; near[i]; i++) {
			char *spec = mlb_xasprintf("%s:%s", job->model.provider->name, near[i]);

			mlb_buf_addf(&b, "%s'%s'", i ? (near[i + 1] ? ", " : " or ") : "", spec);
			json_object_array_add(list, json_object_new_string(spec));
			free(spec);
		}
		mlb_buf_adds(&b, "?)");
		mlb_json_set_str(ev, "message", mlb_buf_str(&b));
		json_object_object_add(ev, "suggestions", list);
		mlb_buf_free(&b);
	}
	mlb_strv_free(near);
}

void mlb_turn_event(void *ctx, struct mlb_job *job, json_object *ev)
{
	struct mlb_pane_turn *p = job->user;

	(void)ctx;
	suggest_models(job, ev);
	emit(p->turn, job, ev);
}

/* The same running total as mlb-meter --budget, replies counted as they stream: at the limit, say so and stop. */
static int over_budget(struct mlb_turn_state *t, struct mlb_job *job)
{
	json_object *ev;
	char msg[160];

	t->budget.limit = t->o->budget;
	if (mlb_budget_job(&t->budget, job, t->o->prices) != MLB_BUDGET_OVER)
		return 0;
	t->over_budget = 1;
	snprintf(msg, sizeof(msg), "spent $%.6f of a $%.6f budget; what still streams is cancelled (raise --budget)",
		 t->budget.spent, t->budget.limit);
	ev = mlb_event_error(&job->tag, "budget", msg);
	mlb_json_set_double(ev, "spent", t->budget.spent);
	mlb_json_set_double(ev, "budget", t->budget.limit);
	mlb_json_set_bool(ev, "retryable", 0);
	emit(t, job, ev);
	return 1;
}

/* A status event saying the circuit of model is open until until_ms. */
static void emit_circuit_open(struct mlb_turn_state *t, struct mlb_job *job, const char *model, int64_t until_ms)
{
	json_object *ev = mlb_event_new("status", &job->tag);
	char until[32];

	mlb_rfc3339(until, until_ms);
	mlb_json_set_str(ev, "stage", "circuit_open");
	mlb_json_set_str(ev, "circuit_model", model);
	mlb_json_set_str(ev, "until", until);
	mlb_json_set_int(ev, "attempt", job->attempts);
	emit(t, job, ev);
}

/*
 * Put the pane's next fallback into its job: 0 when there was one.  A
 * fallback whose own circuit is open is passed over while another follows.
 * The event is tagged with the model given up; the job's events after it
 * carry the fallback's name, and the pane keeps its own.
 */
static int next_fallback(struct mlb_turn_state *t, struct mlb_pane_turn *p, const char *reason)
{
	struct mlb_job *job = &p->job;

	while (p->next_fallback < p->nfallbacks) {
		const char *spec = p->fallbacks[p->next_fallback++];
		struct mlb_model m;
		json_object *ev;
		int64_t until;

		if (mlb_model_resolve(t->cfg, spec, &m) < 0)
			continue;	/* reported; the next one may do */
		if (p->next_fallback < p->nfallbacks && mlb_circuit_is_open(&t->circuit, spec, &until)) {
			emit_circuit_open(t, job, spec, until);
			mlb_model_clear(&m);
			continue;
		}
		ev = mlb_event_new("status", &job->tag);
		mlb_json_set_str(ev, "stage", "fallback");
		mlb_json_set_str(ev, "fallback", spec);
		mlb_json_set_str(ev, "reason", reason);
		mlb_json_set_int(ev, "attempt", job->attempts);
		emit(t, job, ev);
		mlb_model_clear(&job->model);
		job->model = m;
		job->tag.model = job->model.spec;
		return 0;
	}
	return -1;
}

/* The model of the job failed before its first token: count it, and ask the next fallback; 1 if one was. */
static int fall_back(struct mlb_turn_state *t, struct mlb_pane_turn *p)
{
	struct mlb_job *job = &p->job;
	int64_t until;

	/* a model never asked (no key, a request too large) says nothing of its health */
	if (job->attempts > 0 && mlb_circuit_record(&t->circuit, job->model.spec, 0, &until))
		emit_circuit_open(t, job, job->model.spec, until);
	if (!t->r || t->over_budget || next_fallback(t, p, "failed") < 0)
		return 0;
	mlb_runner_again(t->r, job);
	return 1;
}

/* Token events that would go out as JSON unchanged are written without building them. */
static int turn_text(void *ctx, struct mlb_job *job, const char *text, size_t len)
{
	struct mlb_pane_turn *p = job->user;
	struct mlb_turn_state *t = p->turn;

	(void)ctx;
	/* the budget sees the text before it goes out: nothing after the limit is read on */
	if (t->o->budget > 0 && !t->over_budget && over_budget(t, job) && t->r)
		mlb_runner_stop(t->r);
	if (t->o->emit || !mlb_cli_json())
		return 0;
	mlb_event_write_token(&p->tokens, &job->tag, text, len);
	return 1;
}

/* A web search's results, one search_result event each, as soon as they are in. */
static void emit_search_results(struct mlb_turn_state *t, struct mlb_job *job)
{
	size_t n = job->reply.results ? json_object_array_length(job->reply.results) : 0;

	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(job->reply.results, i), *ev;

		ev = mlb_event_new("search_result", &job->tag);
		json_object_object_foreach(r, k, v)
			json_object_object_add(ev, k, json_object_get(v));
		emit(t, job, ev);
	}
}

int mlb_turn_done(void *ctx, struct mlb_job *job)
{
	struct mlb_pane_turn *p = job->user;
	struct mlb_turn_state *t = p->turn;

	(void)ctx;
	emit_search_results(t, job);
	/* The meter goes out now, not after the commit: a budget downstream must see it in time. */
	if (job->outcome != MLB_JOB_FAILED || job->attempts > 0)
		emit(t, job, mlb_job_meter_event(job, t->o->prices));
	if (job->outcome == MLB_JOB_FAILED && !job->reply.content.len) {
		if (fall_back(t, p))
			return 0;
	} else if (job->outcome == MLB_JOB_OK || job->reply.content.len) {
		int64_t until;

		mlb_circuit_record(&t->circuit, job->model.spec, 1, &until);
	}
	t->done_order[t->ndone++] = p;
	if (job->outcome == MLB_JOB_OK)
		t->nok++;
	if (t->o->budget > 0 && !t->over_budget && over_budget(t, job))
		return 1;
	if (t->o->first && t->nok >= 1)
		return 1;
	return t->o->quorum > 0 && t->nok >= (size_t)t->o->quorum;
}

int mlb_turn_ended(const struct mlb_turn_state *t)
{
	return t->ndone >= t->n;
}

static char *message_id(void)
{
	char ts[32];
	static unsigned seq;

	mlb_now_rfc3339(ts);
	return mlb_xasprintf("<%.4s%.2s%.2s%.2s%.2s%.2s.%d.%u.%lx@mlb>", ts, ts + 5, ts + 8, ts + 11, ts + 14,
			     ts + 17, (int)getpid(), seq++, (unsigned long)mlb_wall_ms());
}

static void set_long(struct mlb_msgfile *m, const char *name, long long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", v);
	mlb_msgfile_set(m, name, num);
}

/* A user message of pane p: its prompt with the first moved message (from == p->from), or
 * a further moved message (from, content); each carries its own provenance headers. */
static void user_message(struct mlb_turn_opts *o, struct mlb_pane_turn *p, const struct mlb_provenance *from,
			 const char *content, struct mlb_msgfile *m)
{
	char ts[32], *id = message_id();

	mlb_now_rfc3339(ts);
	mlb_msgfile_init(m);
	mlb_msgfile_set(m, "Role", "user");
	mlb_msgfile_set(m, "Date", ts);
	mlb_msgfile_set(m, "Message-Id", id);
	mlb_msgfile_set(m, "Tool", o->tool);
	if (o->run)
		mlb_msgfile_set(m, "Run", o->run);
	if (from) {
		if (from->session)
			mlb_msgfile_set(m, "Source-Session", from->session);
		if (from->pane)
			mlb_msgfile_set(m, "Source-Pane", from->pane);
		if (from->model)
			mlb_msgfile_set(m, "Source-Model", from->model);
		if (from->ts)
			mlb_msgfile_set(m, "Transfer-Ts", from->ts);
		if (from->hash)
			mlb_msgfile_set(m, "Source-Hash", from->hash);
	}
	for (char *h = p->extra_headers, *nl; h && *h; h = nl + 1) {
		char *colon = strchr(h, ':'), *name, *value;

		nl = strchr(h, '\n');
		if (!nl)
			nl = h + strlen(h) - 1;
		if (!colon || colon > nl)
			continue;
		name = mlb_xstrndup(h, (size_t)(colon - h));
		value = mlb_xstrndup(colon + 2, (size_t)(nl - colon - 2 + (*nl != '\n')));
		mlb_msgfile_set(m, name, value);
		free(name);
		free(value);
	}
	mlb_msgfile_set_content(m, content, strlen(content));
	free(id);
}

static void reply_message(struct mlb_turn_opts *o, struct mlb_pane_turn *p, struct mlb_msgfile *m)
{
	struct mlb_job *job = &p->job;
	char ts[32], *id = message_id();
	long prompt, completion;
	int estimated = mlb_job_usage(job, &prompt, &completion);
	double cost;

	mlb_now_rfc3339(ts);
	mlb_msgfile_init(m);
	mlb_msgfile_set(m, "Role", "assistant");
	mlb_msgfile_set(m, "Model", job->model.spec);
	if (strcmp(job->model.spec, p->model))
		mlb_msgfile_set(m, "Fallback-For", p->model);
	mlb_msgfile_set(m, "Date", ts);
	mlb_msgfile_set(m, "Message-Id", id);
	mlb_msgfile_set(m, "Tool", o->tool);
	if (o->run)
		mlb_msgfile_set(m, "Run", o->run);
	set_long(m, "Prompt-Tokens", prompt);
	set_long(m, "Completion-Tokens", completion);
	if (mlb_job_cached(job))
		set_long(m, "Cached-Tokens", mlb_job_cached(job));
	if (estimated)
		mlb_msgfile_set(m, "Estimated", "true");
	if (mlb_job_cost(job, o->prices, &cost)) {
		char c[32];

		snprintf(c, sizeof(c), "%.10g", cost);
		mlb_msgfile_set(m, "Cost-Usd", c);
	}
	set_long(m, "Latency-Ms", job->t_end - job->t_start);
	if (job->t_first)
		set_long(m, "Ttft-Ms", job->t_first - job->t_start);
	if (job->reply.finish_reason)
		mlb_msgfile_set(m, "Finish-Reason", job->reply.finish_reason);
	if (job->partial)
		mlb_msgfile_set(m, "Partial", "true");
	if (job->outcome == MLB_JOB_CANCELLED)
		mlb_msgfile_set(m, "Cancelled", "true");
	if (job->error_code)
		mlb_msgfile_set(m, "Error", job->error_message);
	mlb_msgfile_set_content(m, mlb_buf_str(&job->reply.content), job->reply.content.len);
	free(id);
}

/* The user's text and the pane's history, as the model will see them. */
static int build_chat(struct mlb_session *s, struct mlb_turn_opts *o, struct mlb_pane_turn *p)
{
	struct mlb_chat *chat = &p->job.chat;

	mlb_chat_init(chat);
	if (p->options || o->options) {
		json_object_put(chat->options);
		chat->options = json_object_get(p->options ? p->options : o->options);
	}
	if (s) {
		struct mlb_msgfile *msgs;
		size_t n;

		if (mlb_session_messages(s, p->pane, &msgs, &n) < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			const char *role = mlb_msgfile_get(&msgs[i], "Role");
			const char *unanswered = mlb_msgfile_get(&msgs[i], "Unanswered");

			if (unanswered && !strcmp(unanswered, "true"))
				continue;	/* kept in the session, not sent as history */

			if (role)
				mlb_chat_add(chat, role, msgs[i].content ? msgs[i].content : "");
		}
		mlb_msgfiles_free(msgs, n);
	}
	if (p->system || o->system)
		mlb_chat_add(chat, "system", p->system ? p->system : o->system);
	mlb_chat_add(chat, "user", p->prompt);
	for (const struct mlb_provenance *f = p->from ? p->from->next : NULL; f; f = f->next)
		mlb_chat_add(chat, "user", f->content);
	return 0;
}

static char *commit_message(struct mlb_turn_opts *o, struct mlb_pane_turn *panes, size_t n)
{
	struct mlb_buf b = MLB_BUF_INIT;
	const char *prompt = n ? panes[0].prompt : "";
	size_t plen = strcspn(prompt, "\n");

	if (plen > 60)
		plen = 60;
	if (n == 1)
		mlb_buf_addf(&b, "%s: %s (%s): ", o->tool, panes[0].pane, panes[0].model);
	else
		mlb_buf_addf(&b, "%s: %zu panes: ", o->tool, n);
	mlb_buf_add(&b, prompt, plen);
	if (prompt[plen])
		mlb_buf_adds(&b, "...");
	mlb_buf_adds(&b, "\n\n");
	for (size_t i = 0; i < n; i++)
		mlb_buf_addf(&b, "%s: %s (%s)\n", panes[i].pane, panes[i].model,
			     panes[i].job.outcome == MLB_JOB_OK ? "ok" :
			     panes[i].job.outcome == MLB_JOB_CANCELLED ? "cancelled" :
			     panes[i].job.partial ? "partial" : "failed");
	if (o->run)
		mlb_buf_addf(&b, "\nRun: %s\n", o->run);
	return mlb_buf_detach(&b);
}

/* Store every pane that has something to keep, in one commit. */
static int store_turn(struct mlb_session *s, struct mlb_turn_opts *o, struct mlb_pane_turn *panes,
		      size_t n, struct mlb_turn_result *res)
{
	struct mlb_pane_append *app = mlb_xcalloc(n, sizeof(*app));
	struct mlb_pane_turn **owner = mlb_xcalloc(n, sizeof(*owner));
	size_t napp = 0;
	char *msg;
	int ret;

	for (size_t i = 0; i < n; i++) {
		struct mlb_pane_turn *p = &panes[i];
		struct mlb_msgfile *m;
		size_t k = 0;

		/* A reply that never started: keep the question (nothing is lost), marked so
		 * that it is not sent as history: a question with no answer would confuse. */
		int unanswered = p->job.outcome != MLB_JOB_OK && !p->job.reply.content.len;

		size_t nmoved = 0;

		for (const struct mlb_provenance *f = p->from ? p->from->next : NULL; f; f = f->next)
			nmoved++;
		m = mlb_xcalloc(3 + nmoved, sizeof(*m));
		if (p->system || o->system) {
			const char *system = p->system ? p->system : o->system;
			const char *role = p->system ? p->role : o->role;
			char ts[32];

			mlb_now_rfc3339(ts);
			mlb_msgfile_init(&m[k]);
			mlb_msgfile_set(&m[k], "Role", "system");
			mlb_msgfile_set(&m[k], "Date", ts);
			if (role)
				mlb_msgfile_set(&m[k], "Prompt-Name", role);
			mlb_msgfile_set_content(&m[k], system, strlen(system));
			k++;
		}
		/* the prompt (with the first moved message), then each further moved message */
		for (const struct mlb_provenance *f = p->from, *first = p->from;; first = NULL) {
			user_message(o, p, f, f == first ? p->prompt : f->content, &m[k]);
			if (unanswered) {
				mlb_msgfile_set(&m[k], "Unanswered", "true");
				/* the model asked, so that the meter and a reader know who did not answer */
				mlb_msgfile_set(&m[k], "Model", p->model);
				mlb_msgfile_set(&m[k], "Error", p->job.error_message ? p->job.error_message :
						p->job.outcome == MLB_JOB_CANCELLED ? "cancelled before the first token" : "failed");
			}
			k++;
			if (!f || !(f = f->next))
				break;
		}
		if (!unanswered)
			reply_message(o, p, &m[k++]);
		app[napp].pane = p->pane;
		app[napp].model = p->model;
		app[napp].options = p->options ? p->options : o->options;
		app[napp].msgs = m;
		app[napp].nmsgs = k;
		app[napp].paths_out = mlb_xcalloc(k, sizeof(char *));
		owner[napp++] = p;
	}
	if (!napp) {
		free(app);
		free(owner);
		return 0;
	}
	msg = commit_message(o, panes, n);
	ret = mlb_session_commit(s, app, napp, msg, res->commit);
	free(msg);
	for (size_t i = 0; i < napp; i++) {
		struct mlb_pane_turn *p = owner[i];

		if (ret == 0 && app[i].paths_out && app[i].nmsgs)
			p->message_path = mlb_xstrdup(app[i].paths_out[app[i].nmsgs - 1]);
		for (size_t k = 0; app[i].paths_out && k < app[i].nmsgs; k++)
			free(app[i].paths_out[k]);
		free(app[i].paths_out);
		mlb_msgfiles_free(app[i].msgs, app[i].nmsgs);
	}
	free(app);
	free(owner);
	return ret;
}

static void report_storage_error(struct mlb_turn_state *t, struct mlb_turn_opts *o)
{
	struct mlb_tag tag = { o->session, NULL, NULL, o->run };
	json_object *ev = mlb_event_error(&tag, "storage",
		"the reply was not stored in the session (see the message above); it is in this output only");

	mlb_json_set_bool(ev, "retryable", 0);
	emit(t, NULL, ev);
}

static int open_session(struct mlb_turn_opts *o, struct mlb_session **s)
{
	int created = 0;

	*s = NULL;
	if (!o->store)
		return 0;
	if (!o->session) {
		o->session = mlb_session_new_id();
		created = 1;
	}
	if (mlb_session_open(o->session, 1, s) < 0)
		return -1;
	if (o->project && mlb_session_join_project(*s, o->project) < 0) {
		mlb_session_close(*s);
		*s = NULL;
		return -1;
	}
	if (created && !o->quiet)
		fprintf(stderr, "%s: session %s\n", mlb_progname, o->session);
	return 0;
}

/* The pane's fallbacks: --fallback's, then its [model] section's; aliases expanded, its own model left out. */
static void gather_fallbacks(const struct mlb_config *cfg, struct mlb_pane_turn *p, const char *spec,
			     char *const *given, char *const *configured)
{
	char *const *lists[2] = { given, configured };

	mlb_strv_free(p->fallbacks);
	p->fallbacks = mlb_xcalloc(1, sizeof(char *));
	p->nfallbacks = p->next_fallback = 0;
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			char *f = mlb_model_expand(cfg, lists[l][i]);

			f[mlb_model_word_len(f)] = '\0';	/* a fallback is asked with the pane's options */
			if (!strcmp(f, spec)) {
				free(f);
				continue;
			}
			p->fallbacks = mlb_xrealloc(p->fallbacks, (p->nfallbacks + 2) * sizeof(char *));
			p->fallbacks[p->nfallbacks++] = f;
			p->fallbacks[p->nfallbacks] = NULL;
		}
}

/*
 * The pane's model as it was named, made concrete: the alias expanded, and
 * its options in rising priority: its [model] option lines, its role's
 * headers (-S @name, else the model's default role), -o, then the options
 * written after the model.
 */
static int choose_model(const struct mlb_config *cfg, const struct mlb_turn_opts *o, struct mlb_pane_turn *p)
{
	json_object *written = json_object_new_object();
	struct mlb_model_defaults d;
	char *spec;
	int ret = -1;

	if (mlb_model_word(cfg, p->model, &spec, written) < 0) {
		json_object_put(written);
		return -1;
	}
	if (mlb_model_defaults(cfg, spec, &d) == 0) {
		ret = 0;
		gather_fallbacks(cfg, p, spec, o->fallbacks, d.fallbacks);
		if (!o->system && d.role && !p->system) {
			struct mlb_role role;

			if (mlb_role_load(d.role, &role) == 0) {
				p->system = role.text;
				p->role = role.name;
				role.text = role.name = NULL;
				mlb_options_overlay(d.options, role.options);
			} else {
				ret = -1;
			}
			mlb_role_clear(&role);
		} else {
			mlb_options_overlay(d.options, o->role_options);
		}
		mlb_options_overlay(d.options, o->options);
		mlb_options_overlay(d.options, written);
		json_object_put(p->options);
		p->options = json_object_get(d.options);
	}
	mlb_model_defaults_clear(&d);
	json_object_put(written);
	if (strcmp(p->model, spec)) {
		free(p->model);
		p->model = spec;
	} else {
		free(spec);	/* keep the string: a view may hold it */
	}
	return ret;
}

void mlb_turn_free(struct mlb_turn_state *t)
{
	if (!t)
		return;
	mlb_session_close(t->s);
	free(t->done_order);
	free(t);
}

struct mlb_turn_state *mlb_turn_prepare(const struct mlb_config *cfg, struct mlb_turn_opts *o,
					struct mlb_pane_turn *panes, size_t n, int *status)
{
	struct mlb_turn_state *t;

	for (size_t i = 0; i < n; i++) {
		if (choose_model(cfg, o, &panes[i]) < 0 ||
		    mlb_model_resolve(cfg, panes[i].model, &panes[i].job.model) < 0) {
			*status = MLB_EXIT_USAGE;
			return NULL;
		}
	}
	t = mlb_xcalloc(1, sizeof(*t));
	t->cfg = cfg;
	if (mlb_circuit_configure(cfg, &t->circuit) < 0) {
		free(t);
		*status = MLB_EXIT_FAIL;
		return NULL;
	}
	t->o = o;
	t->panes = panes;
	t->n = n;
	t->done_order = mlb_xcalloc(n + 1, sizeof(*t->done_order));
	if (open_session(o, &t->s) < 0) {
		/* Cannot store: still answer, and say so (a read-only or full MLB_HOME). */
		t->store_failed = 1;
		o->store = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct mlb_pane_turn *p = &panes[i];

		p->turn = t;
		p->job.tag.session = o->session;
		p->job.tag.pane = p->pane;
		p->job.tag.model = p->model;
		p->job.tag.run = o->run;
		p->job.user = p;
		if (build_chat(t->s, o, p) < 0) {
			mlb_turn_free(t);
			*status = MLB_EXIT_FAIL;
			return NULL;
		}
	}
	*status = MLB_EXIT_OK;
	return t;
}

void mlb_turn_start(struct mlb_turn_state *t, struct mlb_runner *r)
{
	t->r = r;
	for (size_t i = 0; i < t->n; i++) {
		struct mlb_pane_turn *p = &t->panes[i];
		int64_t until;

		/* an open circuit sends the pane to its fallback at once; without one, the model is asked anyway */
		if (p->nfallbacks && mlb_circuit_is_open(&t->circuit, p->job.model.spec, &until)) {
			emit_circuit_open(t, &p->job, p->job.model.spec, until);
			next_fallback(t, p, "circuit_open");
		}

		for (const struct mlb_provenance *f = p->from; f; f = f->next) {
			json_object *ev = mlb_event_new("message", &p->job.tag), *prov = json_object_new_object();

			mlb_json_set_str(ev, "role", "user");
			mlb_json_set_str(ev, "content", f == p->from ? p->prompt : f->content);
			mlb_json_set_str(prov, "source_session", f->session);
			mlb_json_set_str(prov, "source_pane", f->pane);
			mlb_json_set_str(prov, "source_model", f->model);
			mlb_json_set_str(prov, "transfer_ts", f->ts);
			mlb_json_set_str(prov, "content_hash", f->hash);
			json_object_object_add(ev, "provenance", prov);
			emit(t, &p->job, ev);
		}
		mlb_runner_add(r, &p->job);
		/* The runner stamps the jobs it has when it starts; one added while it runs starts now. */
		p->job.t_start = mlb_mono_ms();
	}
}

int mlb_turn_finish(struct mlb_turn_state *t, int interrupted, struct mlb_turn_result *res)
{
	struct mlb_turn_opts *o = t->o;

	memset(res, 0, sizeof(*res));
	res->interrupted = interrupted;
	res->store_failed = t->store_failed;
	res->over_budget = t->over_budget;
	if (t->s && store_turn(t->s, o, t->panes, t->n, res) < 0)
		res->store_failed = 1;
	if (res->store_failed)
		report_storage_error(t, o);
	for (size_t i = 0; i < t->ndone; i++) {
		struct mlb_pane_turn *p = t->done_order[i];
		struct mlb_job *job = &p->job;

		if (job->outcome == MLB_JOB_OK)
			res->ok++;
		else if (job->outcome == MLB_JOB_CANCELLED)
			res->cancelled++;
		else
			res->failed++;
		if (job->outcome == MLB_JOB_OK || job->reply.content.len) {
			json_object *ev = mlb_job_final_event(job);

			if (strcmp(job->model.spec, p->model))
				mlb_json_set_str(ev, "fallback_for", p->model);
			mlb_json_set_str(ev, "message", p->message_path);
			mlb_json_set_str(ev, "commit", p->message_path ? res->commit : NULL);
			emit(t, job, ev);
		}
	}
	mlb_session_close(t->s);
	t->s = NULL;
	if (res->interrupted)
		return 128 + res->interrupted;	/* as a shell reports a signal: DESIGN.md */
	if (res->over_budget)
		return MLB_EXIT_BUDGET;
	if (res->ok == 0 || res->store_failed)
		return MLB_EXIT_FAIL;
	if (res->failed == 0 && (res->cancelled == 0 || o->first || o->quorum))
		return MLB_EXIT_OK;	/* --first/--quorum cancel the rest on purpose */
	return MLB_EXIT_PARTIAL;
}

int mlb_turn_run(const struct mlb_config *cfg, struct mlb_turn_opts *o,
		 struct mlb_pane_turn *panes, size_t n, struct mlb_turn_result *res)
{
	struct mlb_turn_state *t;
	struct mlb_runner *r;
	int status, interrupted;

	memset(res, 0, sizeof(*res));
	t = mlb_turn_prepare(cfg, o, panes, n, &status);
	if (!t)
		return status;
	r = mlb_runner_new(&o->policy, mlb_turn_event, mlb_turn_done, NULL);
	mlb_runner_on_text(r, turn_text);
	if (o->tick)
		mlb_runner_on_tick(r, o->tick, o->emit_ctx);
	mlb_turn_start(t, r);
	if (o->deadline_s > 0)
		mlb_runner_deadline(r, o->deadline_s);
	interrupted = mlb_runner_run(r);
	status = mlb_turn_finish(t, interrupted, res);
	mlb_runner_free(r);
	mlb_turn_free(t);
	return status;
}
