#include "pipeline.h"
#include "budget.h"
#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "event.h"
#include "expect.h"
#include "file.h"
#include "input.h"
#include "lock.h"
#include "modelspec.h"
#include "msg.h"
#include "report.h"
#include "report-html.h"
#include "role.h"
#include "sha256.h"
#include "store.h"
#include "summary.h"
#include "turn.h"
#include "view.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How templates, usage counts and show are written: indented, and readable by a person. */
#define PRETTY (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

static int ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && !strcmp(s + ls - lx, suffix);
}

static int is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- finding and checking templates ---- */

char *mlb_pipeline_user_dir(void)
{
	char *dir = mlb_config_dir(), *path = mlb_xasprintf("%s/pipelines", dir);

	free(dir);
	return path;
}

char *mlb_pipeline_find(const char *arg)
{
	char *paths[2], *found = NULL;

	if (strchr(arg, '/') || ends_with(arg, ".json")) {
		if (!is_file(arg)) {
			mlb_error("cannot read the template file '%s': %s", arg,
				  access(arg, F_OK) == 0 ? "not a regular file" : strerror(errno));
			return NULL;
		}
		return mlb_xstrdup(arg);
	}
	if (!mlb_session_id_valid(arg)) {
		mlb_error("'%s' is neither a template name nor a file; a path needs a '/' or a .json ending", arg);
		return NULL;
	}
	paths[0] = mlb_pipeline_user_dir();
	paths[1] = mlb_xasprintf("%s/pipelines", mlb_share_dir());
	for (int i = 0; i < 2 && !found; i++) {
		char *p = mlb_xasprintf("%s/%s.json", paths[i], arg);

		if (is_file(p))
			found = p;
		else
			free(p);
	}
	if (!found)
		mlb_error("no template called '%s' in %s or %s; 'mlb-pipeline list' shows them (a file needs a '/' or a .json ending)",
			  arg, paths[0], paths[1]);
	free(paths[0]);
	free(paths[1]);
	return found;
}

struct mlb_template *mlb_pipeline_load(const char *arg)
{
	char *path = mlb_pipeline_find(arg), *text;
	struct mlb_template *t;
	size_t len;

	if (!path)
		return NULL;
	text = mlb_file_read(path, &len);
	if (!text) {
		mlb_error("cannot read the template file '%s': %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	t = mlb_template_parse(text, len, path);
	free(text);
	free(path);
	return t;
}

/* The key check runs keyCmd: once for each provider, whatever number of steps use it. */
struct key_memo {
	const struct mlb_provider *p;
	char *missing;		/* NULL when there is a key */
};

static const char *missing_key(struct key_memo **memo, size_t *n, const struct mlb_provider *p)
{
	char *key;

	for (size_t i = 0; i < *n; i++)
		if ((*memo)[i].p == p)
			return (*memo)[i].missing;
	*memo = mlb_xrealloc(*memo, (*n + 1) * sizeof(**memo));
	(*memo)[*n].p = p;
	(*memo)[*n].missing = NULL;
	key = mlb_provider_key(p, &(*memo)[*n].missing);
	if (key) {
		memset(key, 0, strlen(key));
		free(key);
	}
	return (*memo)[(*n)++].missing;
}

static void check_model(const struct mlb_config *cfg, struct mlb_template *t, const char *id, const char *spec,
			struct key_memo **memo, size_t *nmemo, int keys)
{
	const char *colon = strchr(spec, ':');
	const struct mlb_provider *p;
	const char *why;
	char *name;

	if (strstr(spec, "{{"))
		return;	/* an undefined variable, reported by mlb_template_check */
	if (!colon || colon == spec || !colon[1]) {
		mlb_template_problem(t, "step '%s': model '%s' is not provider:model; write it as e.g. openai:%s",
				     id, spec, colon ? colon + 1 : spec);
		return;
	}
	name = mlb_xstrndup(spec, (size_t)(colon - spec));
	p = mlb_config_provider(cfg, name);
	if (!p) {
		size_t n = mlb_config_nproviders(cfg);
		const char **names = mlb_xcalloc(n + 1, sizeof(*names));
		struct mlb_buf b = MLB_BUF_INIT;
		const char *near;

		for (size_t i = 0; i < n; i++) {
			names[i] = mlb_config_provider_at(cfg, i)->name;
			mlb_buf_addf(&b, "%s%s", i ? ", " : "", names[i]);
		}
		near = mlb_template_nearest(name, names, n);
		if (near)
			mlb_template_problem(t, "step '%s': model '%s': unknown provider '%s' (known: %s); did you mean '%s'?",
					     id, spec, name, mlb_buf_str(&b), near);
		else
			mlb_template_problem(t, "step '%s': model '%s': unknown provider '%s' (known: %s); fix the name or add [provider \"%s\"] to the configuration",
					     id, spec, name, mlb_buf_str(&b), name);
		mlb_buf_free(&b);
		free(names);
	} else if (keys && (why = missing_key(memo, nmemo, p))) {
		mlb_template_problem(t, "step '%s': model '%s': no key: %s", id, spec, why);
	}
	free(name);
}

void mlb_pipeline_check_models(const struct mlb_config *cfg, struct mlb_template *t, int keys)
{
	struct key_memo *memo = NULL;
	size_t nmemo = 0;

	for (size_t i = 0; i < t->nsteps; i++) {
		struct mlb_tpl_step *s = &t->steps[i];

		for (size_t k = 0; k < s->nmodels && s->id; k++) {
			char *word = mlb_template_model(t, s, k), *spec = mlb_model_expand(cfg, word);

			spec[mlb_model_word_len(spec)] = '\0';	/* the options after it are checked as it runs */
			check_model(cfg, t, s->id, spec, &memo, &nmemo, keys);
			free(spec);
			free(word);
		}
		if (s->system && s->system[0] == '@' && !strstr(s->system, "{{")) {
			struct mlb_role role;

			if (mlb_role_load(s->system + 1, &role) < 0)
				mlb_template_problem(t, "step '%s': its system prompt names the role '%s', which is not there (see above)",
						     s->id ? s->id : "?", s->system);
			mlb_role_clear(&role);
		}
	}
	for (size_t i = 0; i < nmemo; i++)
		free(memo[i].missing);
	free(memo);
}

size_t mlb_pipeline_report(const struct mlb_template *t)
{
	for (size_t i = 0; i < t->nproblems; i++)
		fprintf(stderr, "%s: %s\n", mlb_progname, t->problems[i]);
	return t->nproblems;
}

/* ---- the lock and the usage counts ---- */

static char *locks_dir(void)
{
	char *home = mlb_home_dir(), *dir = mlb_xasprintf("%s/locks", home);

	free(home);
	return dir;
}

int mlb_pipeline_lock(const char *name, int *fd)
{
	char *dir = locks_dir(), *path = mlb_xasprintf("%s/%s.lock", dir, name);
	int ret = 0;

	if (mlb_mkdirs(dir, 0755) < 0) {
		ret = mlb_error("cannot make the lock directory '%s': %s", dir, strerror(errno));
	} else if (mlb_lock_acquire(path, 0, fd) < 0) {
		if (errno == ETIMEDOUT)
			ret = mlb_error("template '%s' is still running (%s is locked); try again when it has finished",
					name, path);
		else
			ret = mlb_error("cannot take the lock '%s': %s", path, strerror(errno));
	}
	free(path);
	free(dir);
	return ret;
}

static char *usage_path(void)
{
	char *home = mlb_home_dir(), *path = mlb_xasprintf("%s/pipeline-usage.json", home);

	free(home);
	return path;
}

/* The usage file: {"<name>": {"uses": N, "last_used": "<RFC 3339>"}, ...}; an empty object when missing or unreadable. */
static json_object *read_usage(void)
{
	char *path = usage_path(), *text = mlb_file_read(path, NULL);
	json_object *o = text ? json_tokener_parse(text) : NULL;

	if (text && !json_object_is_type(o, json_type_object)) {
		mlb_warn("'%s' is not a JSON object; the usage counts start again", path);
		json_object_put(o);
		o = NULL;
	}
	free(text);
	free(path);
	return o ? o : json_object_new_object();
}

int mlb_pipeline_count_use(const char *name)
{
	char *dir = locks_dir(), *lock = mlb_xasprintf("%s/.pipeline-usage.lock", dir), *path = usage_path();
	json_object *all, *entry;
	char ts[32];
	int fd = -1, ret = 0;

	/* Two runs that start together must both be counted: read, add and write under a lock
	 * (whose name starts with '.', which no template name does). */
	if (mlb_mkdirs(dir, 0755) < 0 || mlb_lock_acquire(lock, mlb_lock_timeout(10), &fd) < 0) {
		mlb_warn("cannot lock the usage counts (%s): %s; this run is not counted", lock, strerror(errno));
		free(dir);
		free(lock);
		free(path);
		return -1;
	}
	all = read_usage();
	if (!json_object_object_get_ex(all, name, &entry) || !json_object_is_type(entry, json_type_object)) {
		entry = json_object_new_object();
		json_object_object_add(all, name, entry);
	}
	mlb_json_set_int(entry, "uses", mlb_json_int(entry, "uses", 0) + 1);
	mlb_now_rfc3339(ts);
	mlb_json_set_str(entry, "last_used", ts);
	{
		const char *text = json_object_to_json_string_ext(all, PRETTY);
		char *data = mlb_xasprintf("%s\n", text);

		if (mlb_file_write(path, data, strlen(data)) < 0) {
			mlb_warn("cannot write the usage counts '%s': %s", path, strerror(errno));
			ret = -1;
		}
		free(data);
	}
	json_object_put(all);
	mlb_lock_release(fd);
	free(dir);
	free(lock);
	free(path);
	return ret;
}

/* ---- a run ---- */

enum step_state { STEP_WAITING, STEP_RUNNING, STEP_DONE, STEP_FAILED, STEP_CANCELLED, STEP_SKIPPED };

static const char *const state_stage[] = {
	"step_waiting", "step_start", "step_done", "step_failed", "step_cancelled", "step_skipped"
};

struct run;
struct inst;

struct step {
	struct run *run;
	struct inst *in;
	struct mlb_tpl_step *def;
	enum step_state state;
	char **models;			/* with variables filled in */
	struct mlb_pane_turn *panes;
	size_t n;
	struct mlb_turn_opts o;
	struct mlb_turn_state *turn;
	struct mlb_turn_result res;
	char *system;
	struct mlb_role role;		/* "system": "@name" */
	char *why;			/* why it was skipped or failed to start */
	size_t *cases;			/* each pane's test case in the report */
};

/* A judge's turn: one "judge" check of one answer (expect.h). */
struct judge {
	struct step *st;
	size_t pane, item;
	struct mlb_pane_turn pt;
	struct mlb_turn_opts o;
	struct mlb_turn_state *turn;
	struct judge *next;
};

/* One pass through the template: the whole run, or one row of a dataset. */
struct inst {
	struct run *run;
	struct mlb_template *t;		/* the run's template, or the row's copy with its variables */
	struct step *steps;
	const struct mlb_row *row;	/* NULL without --rows */
	struct judge *judges;
	int judging;			/* judges still asking */
	int started, ended;
};

enum stop { GOING, STOP_BUDGET, STOP_CANCELLED };

struct run {
	const struct mlb_config *cfg;
	struct mlb_template *t;
	const struct mlb_pipeline_opts *po;
	struct inst *insts;		/* one, or one a row */
	size_t ninsts;
	size_t next;			/* the next row to start */
	size_t active;			/* rows started and not ended */
	size_t counts[6];		/* steps by state, over every row */
	size_t bad_rows, checks, checks_failed;
	struct mlb_report *report;
	struct mlb_runner *r;
	char *session, *id;
	struct mlb_budget budget;
	enum stop stop;
	int store_failed, log_failed;
	long long prompt_tokens, completion_tokens;
	double cost;
	int unpriced, estimated;
	int64_t t0;
	struct mlb_view *view;		/* on a terminal: the live view of the steps' panes */
};

static void write_log(struct run *run, json_object *ev)
{
	size_t len;
	const char *line;

	if (!run->po->log || run->log_failed)
		return;
	line = mlb_json_line(ev, &len);
	if (fwrite(line, 1, len, run->po->log) != len || fputc('\n', run->po->log) == EOF ||
	    fflush(run->po->log) == EOF) {
		mlb_warn("cannot write the log: %s; events go on to stdout only", strerror(errno));
		run->log_failed = 1;
	}
}

/* Text for a person: the answers on stdout as each step ends, the trouble on stderr. */
static void print_text(struct mlb_job *job, const char *step, json_object *ev)
{
	const char *type = mlb_json_str(ev, "type"), *stage = mlb_json_str(ev, "stage");

	if (!strcmp(type, "final")) {
		const char *content = mlb_json_str(ev, "content");
		size_t len = strlen(content);

		printf("== %s (%s)%s ==\n%s%s\n", job->tag.pane, job->tag.model,
		       mlb_json_bool(ev, "partial") ? " [partial]" : "", content,
		       len && content[len - 1] == '\n' ? "" : "\n");
		fflush(stdout);
	} else if (!strcmp(type, "error") && job) {
		mlb_error("step '%s': %s: %s", step, job->model.spec, mlb_json_str(ev, "message"));
	} else if (!strcmp(type, "error")) {
		mlb_error("step '%s': %s", step ? step : "-", mlb_json_str(ev, "message"));
	} else if (!strcmp(type, "status") && stage && !strcmp(stage, "retry")) {
		mlb_warn("step '%s': %s: %s; retrying in %.1f s", step, job->model.spec, mlb_json_str(ev, "message"),
			 mlb_json_int(ev, "retry_in_ms", 0) / 1000.0);
	} else if (!strcmp(type, "assert") && !mlb_json_bool(ev, "pass")) {
		mlb_error("step '%s': %s (%s): %s failed: %s", step, mlb_json_str(ev, "pane"), mlb_json_str(ev, "model"),
			  mlb_json_str(ev, "check"), mlb_json_str(ev, "why"));
	} else if (!strcmp(type, "status") && stage && !strcmp(stage, "step_start")) {
		size_t n = json_object_array_length(json_object_object_get(ev, "models"));

		mlb_note("step '%s': asking %zu model%s", step, n, n == 1 ? "" : "s");
	}
}

/* Every event of the run goes through here: the log, then stdout. */
static void out(struct run *run, struct mlb_job *job, const char *step, json_object *ev)
{
	write_log(run, ev);
	if (mlb_cli_json()) {
		mlb_event_write(ev);
		return;
	}
	if (run->view && job) {
		mlb_view_event(run->view, job, ev);	/* it takes ev */
		return;
	}
	print_text(job, step, ev);
	json_object_put(ev);
}

/* The emit hook of each step's turn: the events of its models, tagged with the step. */
static void step_emit(void *ctx, struct mlb_job *job, json_object *ev)
{
	struct step *st = ctx;

	if (st->in->row)
		mlb_json_set_int(ev, "row", st->in->row->index);
	mlb_json_set_str(ev, "step", st->def->id);
	out(st->run, job, st->def->id, ev);
}

/* A pane's name: "<step>" or "<step>-<n>", and in a dataset "r<row>.<that>". */
static char *pane_of(const struct inst *in, const struct mlb_tpl_step *d, size_t i)
{
	char *p = mlb_template_pane(d, i), *q;

	if (!in->row)
		return p;
	q = mlb_xasprintf("r%ld.%s", in->row->index, p);
	free(p);
	return q;
}

static json_object *str_array(char **v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* A status event about a step as a whole: its stage, panes and models. */
static json_object *step_event(struct step *st, const char *stage)
{
	struct mlb_tag tag = { st->run->session, NULL, NULL, st->run->id };
	json_object *ev = mlb_event_new("status", &tag), *panes = json_object_new_array();

	mlb_json_set_str(ev, "stage", stage);
	if (st->in->row)
		mlb_json_set_int(ev, "row", st->in->row->index);
	mlb_json_set_str(ev, "step", st->def->id);
	mlb_json_set_int(ev, "wave", st->def->wave);
	for (size_t i = 0; i < st->def->nmodels; i++) {
		char *p = pane_of(st->in, st->def, i);

		json_object_array_add(panes, json_object_new_string(p));
		free(p);
	}
	json_object_object_add(ev, "panes", panes);
	json_object_object_add(ev, "models", str_array(st->models, st->def->nmodels));
	return ev;
}

static int succeeded(const struct mlb_pane_turn *p)
{
	return p->job.outcome == MLB_JOB_OK;
}

/* {{step}}: every answer, each headed by its model; {{step.N}}: the Nth model's answer alone. */
static char *step_output(struct step *dep, long n, const char *user)
{
	struct mlb_buf b = MLB_BUF_INIT;

	mlb_buf_adds(&b, "");
	if (n > 0) {
		struct mlb_pane_turn *p = &dep->panes[n - 1];

		if (succeeded(p))
			mlb_buf_adds(&b, mlb_buf_str(&p->job.reply.content));
		else
			mlb_warn("step '%s': {{%s.%ld}} is empty: %s gave no answer", user, dep->def->id, n, p->model);
		return mlb_buf_detach(&b);
	}
	for (size_t i = 0; i < dep->n; i++) {
		struct mlb_pane_turn *p = &dep->panes[i];

		if (!succeeded(p))
			continue;
		if (b.len)
			mlb_buf_adds(&b, "\n\n");
		mlb_buf_addf(&b, "### %s (%s)\n%s", p->model, p->pane, mlb_buf_str(&p->job.reply.content));
	}
	return mlb_buf_detach(&b);
}

static char *run_lookup(void *ctx, const char *name, long n)
{
	struct step *st = ctx;
	struct inst *in = st->in;
	int j = mlb_template_step_index(in->t, name);
	const char *v;

	if (j >= 0 && in->steps[j].panes)
		return step_output(&in->steps[j], n, st->def->id);
	v = mlb_template_var(in->t, name);
	return v && n < 0 ? mlb_xstrdup(v) : NULL;
}

/* The answers of the steps a summarize step needs, as summary sources. */
static struct mlb_summary_source *sources(struct step *st, size_t *n, char **question)
{
	struct mlb_summary_source *src = NULL;

	*n = 0;
	*question = NULL;
	for (size_t k = 0; k < st->def->nneeds; k++) {
		struct step *dep = &st->in->steps[st->def->need[k]];

		if (st->def->nneeds == 1 && dep->panes && dep->panes[0].prompt && !dep->def->summarize)
			*question = mlb_xstrdup(dep->panes[0].prompt);
		for (size_t i = 0; i < dep->n; i++) {
			struct mlb_pane_turn *p = &dep->panes[i];

			if (!succeeded(p))
				continue;
			src = mlb_xrealloc(src, (*n + 1) * sizeof(*src));
			memset(&src[*n], 0, sizeof(*src));
			src[*n].session = mlb_xstrdup(st->run->session);
			src[*n].pane = mlb_xstrdup(p->pane);
			src[*n].model = mlb_xstrdup(p->model);
			src[*n].content = mlb_xstrdup(mlb_buf_str(&p->job.reply.content));
			mlb_summary_hash(&src[*n]);
			(*n)++;
		}
	}
	return src;
}

static void emit_step(struct step *st, json_object *ev)
{
	out(st->run, NULL, st->def->id, ev);
}

/* What every turn of a run shares: its session (stored), run id, retry policy and prices, and quiet events to emit. */
static void run_turn_opts(const struct run *run, struct mlb_turn_opts *o, mlb_emit_fn emit, void *emit_ctx)
{
	o->tool = mlb_progname;
	o->session = run->session;
	o->store = 1;
	o->run = run->id;
	o->policy = run->po->policy;
	o->prices = run->po->prices;
	o->emit = emit;
	o->emit_ctx = emit_ctx;
	o->quiet = 1;
}

static int start_step(struct run *run, struct step *st)
{
	struct mlb_tpl_step *d = st->def;
	char *prompt, *headers = NULL;
	int status;

	if (d->summarize) {
		size_t n;
		char *question;
		struct mlb_summary_source *src = sources(st, &n, &question);

		prompt = mlb_summary_prompt(d->summarize, question, src, n);
		headers = mlb_summary_headers(src, n);
		mlb_summary_sources_free(src, n);
		free(question);
		if (!prompt) {
			free(headers);
			st->why = mlb_xstrdup("the summary prompt could not be read");
			return -1;
		}
	} else {
		prompt = mlb_template_expand(d->prompt, run_lookup, st);
	}
	st->system = d->system ? mlb_template_expand(d->system, run_lookup, st) : NULL;
	st->n = d->nmodels;
	st->panes = mlb_xcalloc(st->n, sizeof(*st->panes));
	for (size_t i = 0; i < st->n; i++) {
		st->panes[i].pane = pane_of(st->in, d, i);
		st->panes[i].model = mlb_xstrdup(st->models[i]);
		st->panes[i].prompt = mlb_xstrdup(prompt);
		st->panes[i].extra_headers = headers ? mlb_xstrdup(headers) : NULL;
	}
	free(prompt);
	free(headers);
	run_turn_opts(run, &st->o, step_emit, st);
	st->o.system = st->system;
	if (st->system && st->system[0] == '@') {
		if (mlb_role_load(st->system + 1, &st->role) < 0) {
			st->why = mlb_xasprintf("its system prompt names the role '%s', which is not there", st->system);
			return -1;
		}
		st->o.system = st->role.text;
		st->o.role = st->role.name;
		st->o.role_options = st->role.options;
	}
	st->o.options = d->options;
	st->turn = mlb_turn_prepare(run->cfg, &st->o, st->panes, st->n, &status);
	if (!st->turn) {
		st->why = mlb_xstrdup("its models or session could not be prepared (see above)");
		return -1;
	}
	st->state = STEP_RUNNING;
	emit_step(st, step_event(st, "step_start"));
	mlb_turn_start(st->turn, run->r);
	return 0;
}

/* Skip what waits on a step that failed, was cancelled or was skipped, and what waits on those. */
static void skip_dependants(struct inst *in)
{
	int changed = 1;

	/* a step cancelled by the budget: what waits is not started for the budget's sake (skip_unstarted) */
	if (in->run->stop == STOP_BUDGET)
		return;

	while (changed) {
		changed = 0;
		for (size_t i = 0; i < in->t->nsteps; i++) {
			struct step *st = &in->steps[i];

			if (st->state != STEP_WAITING)
				continue;
			for (size_t k = 0; k < st->def->nneeds; k++) {
				struct step *dep = &in->steps[st->def->need[k]];
				json_object *ev;

				if (dep->state != STEP_FAILED && dep->state != STEP_CANCELLED && dep->state != STEP_SKIPPED)
					continue;
				st->state = STEP_SKIPPED;
				st->why = mlb_xasprintf("needs '%s', which %s", dep->def->id,
							dep->state == STEP_FAILED ? "failed" :
							dep->state == STEP_CANCELLED ? "was cancelled" : "was skipped");
				ev = step_event(st, "step_skipped");
				mlb_json_set_str(ev, "reason", st->why);
				emit_step(st, ev);
				changed = 1;
				break;
			}
		}
	}
}

/* Start every step whose needs are all done. */
static void start_ready(struct inst *in)
{
	struct run *run = in->run;
	int again = 1;

	while (again && run->stop == GOING) {
		again = 0;
		for (size_t i = 0; i < in->t->nsteps; i++) {
			struct step *st = &in->steps[i];
			int ready = st->state == STEP_WAITING;

			for (size_t k = 0; k < st->def->nneeds && ready; k++)
				ready = in->steps[st->def->need[k]].state == STEP_DONE;
			if (!ready || start_step(run, st) == 0)
				continue;
			st->state = STEP_FAILED;
			{
				json_object *ev = step_event(st, "step_failed");

				mlb_json_set_str(ev, "reason", st->why);
				emit_step(st, ev);
			}
			skip_dependants(in);
			again = 1;
		}
	}
}

static void add_job_usage(struct run *run, const struct mlb_job *job)
{
	long prompt, completion;
	double cost;

	if (job->outcome == MLB_JOB_FAILED && !job->attempts)
		return;
	run->estimated |= mlb_job_usage(job, &prompt, &completion);
	run->prompt_tokens += prompt;
	run->completion_tokens += completion;
	if (mlb_job_cost(job, run->po->prices, &cost))
		run->cost += cost;
	else
		run->unpriced = 1;
}

static void add_usage(struct run *run, struct step *st)
{
	for (size_t i = 0; i < st->n; i++)
		add_job_usage(run, &st->panes[i].job);
}

/* ---- checks (expect.h) ---- */

/* What a check is about: the step, and the pane and model of one answer. */
struct about {
	struct step *st;
	size_t pane;
};

/* One check's end: an assert event, and a line of the report. */
static void checked(void *ctx, size_t index, const char *check, int pass, const char *why)
{
	struct about *a = ctx;
	struct step *st = a->st;
	struct run *run = st->run;
	struct mlb_pane_turn *p = &st->panes[a->pane];
	struct mlb_tag tag = { run->session, p->pane, p->model, run->id };
	json_object *ev = mlb_event_new("assert", &tag);

	if (st->in->row)
		mlb_json_set_int(ev, "row", st->in->row->index);
	mlb_json_set_str(ev, "step", st->def->id);
	mlb_json_set_str(ev, "check", check);
	mlb_json_set_int(ev, "index", (long long)index + 1);
	mlb_json_set_bool(ev, "pass", pass);
	mlb_json_set_str(ev, "why", why);
	run->checks++;
	run->checks_failed += !pass;
	mlb_report_check(run->report, st->cases[a->pane], check, pass, why);
	out(run, NULL, st->def->id, ev);
}

/* The emit hook of a judge's turn: its events carry the judged answer's step and row, and "judged", its pane. */
static void judge_emit(void *ctx, struct mlb_job *job, json_object *ev)
{
	struct judge *j = ctx;

	mlb_json_set_str(ev, "judged", j->st->panes[j->pane].pane);
	step_emit(j->st, job, ev);
}

/* Ask a judge about answer i of step st; it ends in finish_judge. */
static void start_judge(struct run *run, struct step *st, size_t i, size_t item)
{
	struct mlb_pane_turn *p = &st->panes[i];
	struct judge *j = mlb_xcalloc(1, sizeof(*j));
	const char *answer = mlb_buf_str(&p->job.reply.content);
	char hash[72];
	int status;

	j->st = st;
	j->pane = i;
	j->item = item;
	mlb_expect_judge(st->def->expect, item, st->in->t, p->prompt, answer, &j->pt.model, &j->pt.prompt);
	j->pt.pane = mlb_xasprintf("%.50s.judge%zu", p->pane, item + 1);
	mlb_content_hash(answer, strlen(answer), hash);
	/* provenance: the judged answer, as a send-to would name it */
	j->pt.extra_headers = mlb_xasprintf("Source-Session: %s\nSource-Pane: %s\nSource-Model: %s\nSource-Hash: %s\n",
					    run->session, p->pane, p->model, hash);
	run_turn_opts(run, &j->o, judge_emit, j);
	j->turn = mlb_turn_prepare(run->cfg, &j->o, &j->pt, 1, &status);
	j->next = st->in->judges;
	st->in->judges = j;
	if (!j->turn) {
		struct about a = { st, i };

		checked(&a, item, "judge", 0, "the judge could not be asked (see above)");
		return;
	}
	st->in->judging++;
	mlb_turn_start(j->turn, run->r);
}

static void finish_judge(struct run *run, struct judge *j)
{
	struct mlb_turn_result res;
	struct about a = { j->st, j->pane };
	char *why = NULL;
	int pass = 0;

	mlb_turn_finish(j->turn, 0, &res);
	if (res.store_failed)
		run->store_failed = 1;
	add_job_usage(run, &j->pt.job);
	j->st->in->judging--;
	if (j->pt.job.outcome == MLB_JOB_OK)
		pass = mlb_expect_verdict(mlb_buf_str(&j->pt.job.reply.content), &why);
	else
		why = mlb_xasprintf("the judge %s gave no verdict: %s", j->pt.model,
				    j->pt.job.error_message ? j->pt.job.error_message : "cancelled");
	checked(&a, j->item, "judge", pass, why);
	free(why);
}

/* Every answer of a step that ended: a test case in the report, and its checks. */
static void check_answers(struct run *run, struct step *st)
{
	size_t nexpect = st->def->expect ? json_object_array_length(st->def->expect) : 0;

	st->cases = mlb_xcalloc(st->n + 1, sizeof(*st->cases));
	for (size_t i = 0; i < st->n; i++) {
		struct mlb_pane_turn *p = &st->panes[i];
		struct mlb_job *job = &p->job;
		struct mlb_expect_answer a = { 0 };
		struct about about = { st, i };
		long prompt;

		a.latency_ms = job->t_end > job->t_start ? (long)(job->t_end - job->t_start) : 0;
		st->cases[i] = mlb_report_case(run->report, st->in->row ? st->in->row->index : 0, st->def->id, p->pane,
					       p->model, a.latency_ms / 1000.0);
		if (job->outcome != MLB_JOB_OK) {
			mlb_report_error(run->report, st->cases[i], job->outcome == MLB_JOB_CANCELLED ? "cancelled" :
					 job->error_code ? job->error_code : "failed",
					 job->error_message ? job->error_message : "no answer");
			continue;
		}
		a.text = mlb_buf_str(&job->reply.content);
		a.len = job->reply.content.len;
		a.priced = mlb_job_cost(job, run->po->prices, &a.cost_usd);
		mlb_report_answer(run->report, st->cases[i], a.text, a.len, a.priced, a.cost_usd);
		if (!nexpect)
			continue;
		mlb_job_usage(job, &prompt, &a.completion_tokens);
		mlb_expect_run(st->def->expect, st->in->t, &a, checked, &about);
		for (size_t k = 0; k < nexpect; k++) {
			const char *name = mlb_expect_check_name(st->def->expect, k);

			if (name && !strcmp(name, "judge") && run->stop == GOING)
				start_judge(run, st, i, k);
		}
	}
}

static void finish_step(struct run *run, struct step *st)
{
	json_object *ev, *errors;

	mlb_turn_finish(st->turn, 0, &st->res);
	if (st->res.store_failed)
		run->store_failed = 1;
	add_usage(run, st);
	if (st->res.ok > 0)
		st->state = STEP_DONE;
	else if (st->res.cancelled > 0 && run->stop != GOING)
		st->state = STEP_CANCELLED;
	else
		st->state = STEP_FAILED;
	ev = step_event(st, state_stage[st->state]);
	mlb_json_set_int(ev, "ok", st->res.ok);
	mlb_json_set_int(ev, "failed", st->res.failed);
	mlb_json_set_int(ev, "cancelled", st->res.cancelled);
	mlb_json_set_str(ev, "commit", st->res.commit[0] ? st->res.commit : NULL);
	errors = json_object_new_array();
	for (size_t i = 0; i < st->n; i++) {
		struct mlb_job *job = &st->panes[i].job;
		json_object *e;

		if (job->outcome != MLB_JOB_FAILED)
			continue;
		e = json_object_new_object();
		mlb_json_set_str(e, "pane", st->panes[i].pane);
		mlb_json_set_str(e, "model", st->panes[i].model);
		mlb_json_set_str(e, "code", job->error_code);
		mlb_json_set_str(e, "message", job->error_message);
		json_object_array_add(errors, e);
	}
	json_object_object_add(ev, "errors", errors);
	emit_step(st, ev);
	if (st->state != STEP_DONE)
		skip_dependants(st->in);
	check_answers(run, st);
}

/* The step whose turn, or the judge whose turn, job belongs to (one of them is NULL). */
static void owner_of(struct run *run, struct mlb_job *job, struct step **stp, struct judge **jp)
{
	struct mlb_pane_turn *p = job->user;

	*stp = NULL;
	*jp = NULL;
	for (size_t r = 0; r < run->ninsts; r++) {
		struct inst *in = &run->insts[r];

		if (!in->started || in->ended)
			continue;
		for (size_t i = 0; i < in->t->nsteps; i++)
			if (in->steps[i].turn && in->steps[i].turn == p->turn) {
				*stp = &in->steps[i];
				return;
			}
		for (struct judge *j = in->judges; j; j = j->next)
			if (j->turn == p->turn) {
				*jp = j;
				return;
			}
	}
}

static void budget_over(struct run *run, const char *step)
{
	struct mlb_tag tag = { run->session, NULL, NULL, run->id };
	char msg[256];
	json_object *ev;

	snprintf(msg, sizeof(msg), "the replies so far cost $%.6f, which reaches the budget of $%.6f; "
		 "cancelling what runs and starting nothing more", run->budget.spent, run->budget.limit);
	ev = mlb_event_error(&tag, "budget", msg);
	mlb_json_set_bool(ev, "retryable", 0);
	mlb_json_set_str(ev, "step", step);
	out(run, NULL, step, ev);
}

static int inst_busy(const struct inst *in)
{
	if (in->judging)
		return 1;
	for (size_t i = 0; i < in->t->nsteps; i++)
		if (in->steps[i].state == STEP_WAITING || in->steps[i].state == STEP_RUNNING)
			return 1;
	return 0;
}

static void start_rows(struct run *run);

/* A row (or the run) ended when none of its steps or judges is left: count it, start the next. */
static void maybe_end(struct inst *in)
{
	struct run *run = in->run;

	if (in->ended || inst_busy(in))
		return;
	in->ended = 1;
	for (size_t i = 0; i < in->t->nsteps; i++)
		run->counts[in->steps[i].state]++;
	run->active--;
	start_rows(run);
}

/* Count the job's cost so far (or, once it ended, its cost) against the budget: 1 when that reaches it. */
static int run_budget(struct run *run, struct mlb_job *job)
{
	struct step *st;
	struct judge *jd;
	int b;

	if (run->budget.limit <= 0)
		return 0;
	b = mlb_budget_job(&run->budget, job, run->po->prices);
	if (b == MLB_BUDGET_WARN)
		mlb_warn("the run has cost $%.6f, %.0f%% of the budget of $%.6f", run->budget.spent,
			 run->budget.spent * 100 / run->budget.limit, run->budget.limit);
	if (b != MLB_BUDGET_OVER || run->stop != GOING)
		return 0;
	run->stop = STOP_BUDGET;
	owner_of(run, job, &st, &jd);
	budget_over(run, st ? st->def->id : jd->st->def->id);
	return 1;
}

/* The runner's text hook: the budget counts a reply as it streams, and stops everything at the limit. */
static int run_text(void *ctx, struct mlb_job *job, const char *text, size_t len)
{
	struct run *run = ctx;

	(void)text;
	(void)len;
	if (run_budget(run, job))
		mlb_runner_stop(run->r);
	return 0;
}

/* The runner's on_done hook: account for the job, end its step or judge, start what is ready. */
static int run_done(void *ctx, struct mlb_job *job)
{
	struct run *run = ctx;
	struct step *st;
	struct judge *jd;
	int cancel;

	owner_of(run, job, &st, &jd);
	mlb_turn_done(NULL, job);
	/* Nothing of ours cancels but the budget: anything else is a signal or a closed output. */
	if (job->outcome == MLB_JOB_CANCELLED && run->stop == GOING)
		run->stop = STOP_CANCELLED;
	cancel = run_budget(run, job);
	if (jd && mlb_turn_ended(jd->turn)) {
		finish_judge(run, jd);
		maybe_end(jd->st->in);
	} else if (st && mlb_turn_ended(st->turn)) {
		finish_step(run, st);
		start_ready(st->in);
		maybe_end(st->in);
	}
	return cancel;
}

/* Refuse to start when the prompts of the first wave alone would cost more than the budget. */
static int budget_refuse(struct run *run)
{
	struct mlb_template *t = run->t;
	double est = 0;

	for (size_t i = 0; i < t->nsteps; i++) {
		const struct mlb_tpl_step *d = &t->steps[i];
		char *prompt, **models;
		size_t bytes;

		if (d->wave != 1)
			continue;
		prompt = mlb_template_expand_vars(t, d->prompt ? d->prompt : "");
		bytes = strlen(prompt);
		free(prompt);
		if (d->system) {
			prompt = mlb_template_expand_vars(t, d->system);
			bytes += strlen(prompt);
			free(prompt);
		}
		models = mlb_xcalloc(d->nmodels + 1, sizeof(*models));
		for (size_t k = 0; k < d->nmodels; k++)
			models[k] = mlb_template_model(t, d, k);
		est += mlb_budget_prompt_cost(run->po->prices, (const char *const *)models, d->nmodels, bytes);
		mlb_strv_free(models);
	}
	/* each row sends the first wave once */
	if (run->po->rows)
		est *= (double)run->ninsts;
	if (est > run->po->budget) {
		mlb_error("the prompts of the first wave alone would cost about $%.6f, over the budget of $%.6f; "
			  "raise --budget or use cheaper models", est, run->po->budget);
		return 1;
	}
	return 0;
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* The most lines account_rows writes: the events and --junit have them all. */
#define ACCOUNT_LINES 20

/* The models that failed and the steps that did not run, row by row. */
static void account_rows(struct run *run)
{
	size_t lines = 0, more = 0;

	for (size_t r = 0; r < run->ninsts; r++) {
		struct inst *in = &run->insts[r];

		for (size_t i = 0; in->started && i < in->t->nsteps; i++) {
			struct step *st = &in->steps[i];

			if (st->state == STEP_SKIPPED || (st->state == STEP_FAILED && !st->turn)) {
				if (lines++ < ACCOUNT_LINES)
					mlb_note("  row %ld: %s %s: %s", in->row->index, state_stage[st->state] + 5, st->def->id,
						 st->why ? st->why : "");
				else
					more++;
				continue;
			}
			for (size_t k = 0; k < st->n; k++) {
				struct mlb_job *job = &st->panes[k].job;

				if (job->outcome != MLB_JOB_FAILED && job->outcome != MLB_JOB_CANCELLED)
					continue;
				if (lines++ >= ACCOUNT_LINES) {
					more++;
					continue;
				}
				if (job->outcome == MLB_JOB_FAILED)
					mlb_note("  %s (%s) failed: %s", st->panes[k].pane, st->panes[k].model,
						 job->error_message ? job->error_message : "no answer");
				else
					mlb_note("  %s (%s) was cancelled", st->panes[k].pane, st->panes[k].model);
			}
		}
	}
	if (more)
		mlb_note("  and %zu more", more);
}

/* What ran, what failed and what was skipped, on stderr. */
static void account(struct run *run, int all)
{
	struct mlb_template *t = run->t;
	size_t *counts = run->counts, total = counts[STEP_DONE] + counts[STEP_FAILED] + counts[STEP_CANCELLED] +
							 counts[STEP_SKIPPED];

	if (run->po->rows) {
		mlb_note("%s: %zu %s, %zu bad; %zu of %zu %s done, %zu failed, %zu cancelled, %zu skipped; "
		     "%zu %s, %zu failed; session %s, run %s", t->name, run->ninsts, plural(run->ninsts, "row", "rows"),
		     run->bad_rows, counts[STEP_DONE], total, plural(total, "step", "steps"), counts[STEP_FAILED],
		     counts[STEP_CANCELLED], counts[STEP_SKIPPED], run->checks, plural(run->checks, "check", "checks"),
		     run->checks_failed, run->session, run->id);
		if (all)
			account_rows(run);
		return;
	}
	mlb_note("%s: %zu of %zu %s done, %zu failed, %zu cancelled, %zu skipped; cost %s$%.6f; session %s, run %s",
	     t->name, counts[STEP_DONE], t->nsteps, plural(t->nsteps, "step", "steps"), counts[STEP_FAILED],
	     counts[STEP_CANCELLED], counts[STEP_SKIPPED], run->unpriced ? "at least " : "", run->cost, run->session,
	     run->id);
	if (run->checks)
		mlb_note("%zu %s, %zu failed", run->checks, plural(run->checks, "check", "checks"), run->checks_failed);
	if (!all)
		return;
	for (size_t i = 0; i < t->nsteps; i++) {
		struct step *st = &run->insts[0].steps[i];
		const char *label = st->state == STEP_DONE ? "done" : state_stage[st->state] + 5;

		if (st->state == STEP_SKIPPED || (st->state == STEP_FAILED && !st->turn)) {
			mlb_note("  %-9s %s: %s", label, st->def->id, st->why ? st->why : "");
			continue;
		}
		mlb_note("  %-9s %s: %d of %zu %s answered", label, st->def->id, st->res.ok, st->n,
		     plural(st->n, "model", "models"));
		for (size_t k = 0; k < st->n; k++) {
			struct mlb_job *job = &st->panes[k].job;

			if (job->outcome == MLB_JOB_FAILED)
				mlb_note("            %s (%s) failed: %s", st->panes[k].pane, st->panes[k].model,
				     job->error_message ? job->error_message : "no answer");
			else if (job->outcome == MLB_JOB_CANCELLED)
				mlb_note("            %s (%s) was cancelled", st->panes[k].pane, st->panes[k].model);
		}
	}
}

static void run_events(struct run *run, int status)
{
	struct mlb_tag tag = { run->session, NULL, NULL, run->id };
	json_object *m = mlb_event_new("meter", &tag), *s;

	mlb_json_set_int(m, "prompt_tokens", run->prompt_tokens);
	mlb_json_set_int(m, "completion_tokens", run->completion_tokens);
	if (run->unpriced && run->cost == 0)
		mlb_json_set_str(m, "cost_usd", NULL);
	else
		mlb_json_set_double(m, "cost_usd", run->cost);
	if (run->unpriced)
		mlb_json_set_bool(m, "unpriced", 1);
	mlb_json_set_int(m, "latency_ms", mlb_mono_ms() - run->t0);
	mlb_json_set_bool(m, "estimated", run->estimated);
	mlb_json_set_str(m, "scope", "run");
	out(run, NULL, NULL, m);
	s = mlb_event_new("status", &tag);
	mlb_json_set_str(s, "stage", "run_done");
	mlb_json_set_str(s, "template", run->t->name);
	mlb_json_set_int(s, "steps", (long long)run->t->nsteps);
	mlb_json_set_int(s, "done", (long long)run->counts[STEP_DONE]);
	mlb_json_set_int(s, "failed", (long long)run->counts[STEP_FAILED]);
	mlb_json_set_int(s, "cancelled", (long long)run->counts[STEP_CANCELLED]);
	mlb_json_set_int(s, "skipped", (long long)run->counts[STEP_SKIPPED]);
	if (run->po->rows) {
		mlb_json_set_int(s, "rows", (long long)run->ninsts);
		mlb_json_set_int(s, "rows_bad", (long long)run->bad_rows);
	}
	mlb_json_set_int(s, "checks", (long long)run->checks);
	mlb_json_set_int(s, "checks_failed", (long long)run->checks_failed);
	mlb_json_set_int(s, "exit", status);
	out(run, NULL, NULL, s);
}

static int run_status(struct run *run, int interrupted)
{
	size_t *counts = run->counts;
	int any_model_failed = 0;

	for (size_t r = 0; r < run->ninsts; r++)
		for (size_t i = 0; run->insts[r].started && i < run->t->nsteps; i++)
			if (run->insts[r].steps[i].res.failed || run->insts[r].steps[i].res.cancelled)
				any_model_failed = 1;
	if (interrupted)
		return 128 + interrupted;	/* as a shell reports a signal: DESIGN.md */
	if (run->stop == STOP_BUDGET)
		return MLB_EXIT_BUDGET;
	if (run->store_failed || !counts[STEP_DONE])
		return MLB_EXIT_FAIL;
	if (run->checks_failed)
		return MLB_EXIT_CHECK;
	if (counts[STEP_DONE] < run->t->nsteps * (run->ninsts - run->bad_rows) || run->bad_rows || any_model_failed)
		return MLB_EXIT_PARTIAL;
	return MLB_EXIT_OK;
}

/* Steps that never started because the run stopped. */
static void skip_unstarted(struct run *run, int interrupted)
{
	for (size_t r = 0; r < run->ninsts; r++) {
		struct inst *in = &run->insts[r];

		for (size_t i = 0; in->started && !in->ended && i < in->t->nsteps; i++) {
			struct step *st = &in->steps[i];
			json_object *ev;

			if (st->state != STEP_WAITING)
				continue;
			st->state = STEP_SKIPPED;
			st->why = mlb_xstrdup(run->stop == STOP_BUDGET ? "not started: the budget was reached" :
					      interrupted ? "not started: the run was interrupted" :
					      "not started: the run was cancelled");
			ev = step_event(st, "step_skipped");
			mlb_json_set_str(ev, "reason", st->why);
			emit_step(st, ev);
		}
		if (in->started && !in->ended) {
			in->judging = 0;
			maybe_end(in);
		}
	}
}

/* A session to store in: the one asked for, else a new one, made now so that steps only append. */
static int open_run_session(struct run *run)
{
	struct mlb_session *s;
	int fresh = !run->po->session;

	run->session = fresh ? mlb_session_new_id() : mlb_xstrdup(run->po->session);
	if (mlb_session_open(run->session, 1, &s) < 0)
		return -1;
	if (run->po->project && mlb_session_join_project(s, run->po->project) < 0) {
		mlb_session_close(s);
		return -1;
	}
	mlb_session_close(s);
	if (fresh)
		mlb_note("session %s", run->session);
	return 0;
}

/* A row that cannot run: one line on stderr and an error event, with its line. */
static void bad_row(struct run *run, const struct mlb_row *row, const char *why)
{
	struct mlb_tag tag = { run->session, NULL, NULL, run->id };
	char *msg = mlb_xasprintf("%s: line %ld: row %ld: %s", run->po->rows->label, row->line, row->index, why);
	json_object *ev = mlb_event_error(&tag, "parse", msg);

	mlb_json_set_int(ev, "row", row->index);
	mlb_json_set_int(ev, "line", row->line);
	mlb_json_set_bool(ev, "retryable", 0);
	if (mlb_cli_json())
		mlb_error("%s", msg);
	out(run, NULL, NULL, ev);
	free(msg);
}

struct mlb_template *mlb_pipeline_row_template(const struct mlb_config *cfg, const struct mlb_template *base,
					       const struct mlb_row *row)
{
	const char *text = json_object_to_json_string_ext(base->json, JSON_C_TO_STRING_PLAIN);
	struct mlb_template *t = mlb_template_parse(text, strlen(text), base->label);

	for (size_t i = 0; i < base->nvars; i++)
		mlb_template_set_var(t, base->vars[i].name, base->vars[i].value, base->vars[i].source);
	json_object_object_foreach(row->vars, key, val)
		mlb_template_set_var(t, key, json_object_get_string(val), MLB_VAR_ROW);
	mlb_template_check(t);
	mlb_pipeline_check_models(cfg, t, 0);
	return t;
}

const char *mlb_pipeline_row_problem(const struct mlb_template *t, size_t i)
{
	const char *p = t->problems[i];
	size_t skip = strlen(t->label);

	/* without the template's name in front: the row's line says where */
	return !strncmp(p, t->label, skip) && !strncmp(p + skip, ": ", 2) ? p + skip + 2 : p;
}

/* The row's own template; NULL after reporting each of its problems. */
static struct mlb_template *row_template(struct run *run, const struct mlb_row *row)
{
	struct mlb_template *t = mlb_pipeline_row_template(run->cfg, run->t, row);

	if (!t->nproblems)
		return t;
	for (size_t i = 0; i < t->nproblems; i++)
		bad_row(run, row, mlb_pipeline_row_problem(t, i));
	mlb_template_free(t);
	return NULL;
}

static void inst_init(struct run *run, struct inst *in, struct mlb_template *t)
{
	in->run = run;
	in->t = t;
	in->steps = mlb_xcalloc(t->nsteps, sizeof(*in->steps));
	for (size_t i = 0; i < t->nsteps; i++) {
		struct step *st = &in->steps[i];

		st->run = run;
		st->in = in;
		st->def = &t->steps[i];
		st->models = mlb_xcalloc(st->def->nmodels + 1, sizeof(*st->models));
		for (size_t k = 0; k < st->def->nmodels; k++)
			st->models[k] = mlb_template_model(t, st->def, k);
	}
}

/* Start rows until --jobs of them run at once (the whole run, without --rows). */
static void start_rows(struct run *run)
{
	int jobs = run->po->jobs > 0 ? run->po->jobs : 1;

	while (run->stop == GOING && run->next < run->ninsts && run->active < (size_t)jobs) {
		struct inst *in = &run->insts[run->next++];
		struct mlb_template *t = run->t;

		if (in->row) {
			t = in->row->bad ? NULL : row_template(run, in->row);
			if (in->row->bad)
				bad_row(run, in->row, in->row->bad);
			if (!t) {
				run->bad_rows++;
				continue;
			}
		}
		inst_init(run, in, t);
		in->started = 1;
		run->active++;
		start_ready(in);
		maybe_end(in);
	}
}

static void free_inst(struct inst *in)
{
	for (size_t i = 0; in->steps && i < in->t->nsteps; i++) {
		struct step *st = &in->steps[i];

		for (size_t k = 0; k < st->n; k++)
			mlb_pane_turn_clear(&st->panes[k]);
		free(st->panes);
		mlb_turn_free(st->turn);
		mlb_strv_free(st->models);
		free(st->system);
		mlb_role_clear(&st->role);
		free(st->why);
		free(st->cases);
	}
	while (in->judges) {
		struct judge *j = in->judges;

		in->judges = j->next;
		mlb_pane_turn_clear(&j->pt);
		mlb_turn_free(j->turn);
		free(j);
	}
	free(in->steps);
	if (in->row && in->t)
		mlb_template_free(in->t);
}

static void free_run(struct run *run)
{
	for (size_t r = 0; r < run->ninsts; r++)
		free_inst(&run->insts[r]);
	free(run->insts);
	mlb_report_free(run->report);
	free(run->session);
	free(run->id);
}

/* The longest pane name a row makes must still be a pane name. */
static int rows_fit(const struct mlb_template *t, size_t nrows)
{
	char row[32];
	int w = snprintf(row, sizeof(row), "r%zu.", nrows);

	for (size_t i = 0; i < t->nsteps; i++)
		for (size_t k = 0; k < t->steps[i].nmodels; k++) {
			char *p = mlb_template_pane(&t->steps[i], k);
			size_t len = strlen(p);

			free(p);
			if (len + (size_t)w > MLB_ID_MAX)
				return mlb_error("step '%s': with %zu rows its pane names reach %zu characters, over %d; "
						 "shorten the step's id", t->steps[i].id, nrows, len + (size_t)w, MLB_ID_MAX);
		}
	return 0;
}

int mlb_pipeline_run(const struct mlb_config *cfg, struct mlb_template *t, const struct mlb_pipeline_opts *o)
{
	struct run run = { 0 };
	int interrupted, status;

	run.cfg = cfg;
	run.t = t;
	run.po = o;
	run.budget.limit = o->budget;
	run.budget.warn_fraction = 0.8;
	if (o->rows) {
		if (rows_fit(t, o->rows->n) < 0)
			return MLB_EXIT_USAGE;
		run.insts = mlb_xcalloc(o->rows->n + 1, sizeof(*run.insts));
		for (size_t i = 0; i < o->rows->n; i++) {
			const struct mlb_row *row = &o->rows->v[i];

			if (o->shard_n > 1 && (row->index - 1) % o->shard_n != o->shard_i)
				continue;
			run.insts[run.ninsts++].row = row;
		}
	} else {
		run.insts = mlb_xcalloc(1, sizeof(*run.insts));
		run.ninsts = 1;
	}
	if (o->budget > 0 && budget_refuse(&run)) {
		free_run(&run);
		return MLB_EXIT_BUDGET;
	}
	if (open_run_session(&run) < 0) {
		free_run(&run);
		return MLB_EXIT_FAIL;
	}
	mlb_pipeline_count_use(t->name);
	run.id = mlb_session_new_id();
	run.report = mlb_report_new(t->name);
	if (o->html)
		mlb_report_keep_answers(run.report);
	run.t0 = mlb_mono_ms();
	run.r = mlb_runner_new(&o->policy, mlb_turn_event, run_done, &run);
	mlb_runner_exchanges(run.r, o->record, o->replay);
	mlb_runner_on_text(run.r, run_text);
	if (!mlb_cli_json() && mlb_cli_tty() && !o->rows) {
		/* a person watching: the steps' panes stream in the live view, step after step */
		run.view = mlb_view_new(0, NULL, NULL, mlb_cli_color());
		mlb_view_prices(run.view, o->prices);
		mlb_view_label_panes(run.view);
		mlb_runner_on_tick(run.r, mlb_view_tick, run.view);
	}
	start_rows(&run);
	interrupted = mlb_runner_run(run.r);
	skip_unstarted(&run, interrupted);
	status = run_status(&run, interrupted);
	if (run.view) {
		mlb_view_finish(run.view, NULL);
		run.view = NULL;
	}
	run_events(&run, status);
	if (status != MLB_EXIT_OK || !mlb_cli_json())
		account(&run, status != MLB_EXIT_OK);
	if (o->junit && mlb_report_junit(run.report, o->junit) < 0 && status == MLB_EXIT_OK)
		status = MLB_EXIT_FAIL;
	if (o->html && mlb_report_html(run.report, o->html) < 0 && status == MLB_EXIT_OK)
		status = MLB_EXIT_FAIL;
	mlb_runner_free(run.r);
	free_run(&run);
	return status;
}

/* ---- dry runs and show ---- */

struct dry {
	const struct mlb_template *t;
};

static char *dry_lookup(void *ctx, const char *name, long n)
{
	struct dry *d = ctx;
	const char *v;

	if (mlb_template_step_index(d->t, name) >= 0)
		return n > 0 ? mlb_xasprintf("\u00aboutput of %s.%ld\u00bb", name, n) :
			       mlb_xasprintf("\u00aboutput of %s\u00bb", name);
	v = mlb_template_var(d->t, name);
	return v && n < 0 ? mlb_xstrdup(v) : NULL;
}

/* A summarize step's prompt, with each answer it will summarize shown as a placeholder. */
static char *dry_summary(const struct mlb_template *t, const struct mlb_tpl_step *s)
{
	struct mlb_summary_source *src = NULL;
	struct dry d = { t };
	char *question = NULL, *prompt;
	size_t n = 0;

	for (size_t k = 0; k < s->nneeds; k++) {
		const struct mlb_tpl_step *dep = &t->steps[s->need[k]];

		if (s->nneeds == 1 && dep->prompt)
			question = mlb_template_expand(dep->prompt, dry_lookup, &d);
		for (size_t i = 0; i < dep->nmodels; i++) {
			src = mlb_xrealloc(src, (n + 1) * sizeof(*src));
			memset(&src[n], 0, sizeof(*src));
			src[n].pane = mlb_template_pane(dep, i);
			src[n].model = mlb_template_model(t, dep, i);
			src[n].content = dep->nmodels == 1 ? mlb_xasprintf("\u00aboutput of %s\u00bb", dep->id) :
					 mlb_xasprintf("\u00aboutput of %s.%zu\u00bb", dep->id, i + 1);
			mlb_summary_hash(&src[n]);
			n++;
		}
	}
	prompt = mlb_summary_prompt(s->summarize, question, src, n);
	mlb_summary_sources_free(src, n);
	free(question);
	return prompt;
}

static json_object *wave_list(const struct mlb_template *t)
{
	json_object *waves = json_object_new_array();

	for (int w = 1; w <= t->nwaves; w++) {
		json_object *ids = json_object_new_array();

		for (size_t i = 0; i < t->nsteps; i++)
			if (t->steps[i].wave == w)
				json_object_array_add(ids, json_object_new_string(t->steps[i].id));
		json_object_array_add(waves, ids);
	}
	return waves;
}

static void print_waves(const struct mlb_template *t, FILE *f)
{
	for (int w = 1; w <= t->nwaves; w++) {
		int first = 1;

		fprintf(f, "  wave %d:", w);
		for (size_t i = 0; i < t->nsteps; i++)
			if (t->steps[i].wave == w) {
				fprintf(f, "%s %s", first ? "" : ",", t->steps[i].id);
				first = 0;
			}
		fputc('\n', f);
	}
}

static void dry_step_text(const struct mlb_template *t, const struct mlb_tpl_step *s, const char *prompt,
			  const char *system)
{
	printf("\n== step %s (wave %d", s->id, s->wave);
	for (size_t k = 0; k < s->nneeds; k++)
		printf("%s%s", k ? ", " : "; needs ", s->needs[k]);
	printf(") ==\nmodels:");
	for (size_t i = 0; i < s->nmodels; i++) {
		char *m = mlb_template_model(t, s, i), *p = mlb_template_pane(s, i);

		printf("%s %s (pane %s)", i ? "," : "", m, p);
		free(m);
		free(p);
	}
	putchar('\n');
	if (s->summarize)
		printf("summarize: %s\n", s->summarize);
	if (s->options)
		printf("options: %s\n", json_object_to_json_string_ext(s->options, JSON_C_TO_STRING_NOSLASHESCAPE));
	if (system)
		printf("system:\n%s\n", system);
	printf("prompt:\n%s\n", prompt);
}

static json_object *dry_step_event(const struct mlb_template *t, const struct mlb_tpl_step *s, const char *prompt,
				   const char *system)
{
	json_object *ev = mlb_event_new("plan", NULL), *needs = json_object_new_array();
	json_object *models = json_object_new_array(), *panes = json_object_new_array();

	mlb_json_set_str(ev, "template", t->name);
	mlb_json_set_str(ev, "step", s->id);
	mlb_json_set_int(ev, "wave", s->wave);
	for (size_t k = 0; k < s->nneeds; k++)
		json_object_array_add(needs, json_object_new_string(s->needs[k]));
	json_object_object_add(ev, "needs", needs);
	for (size_t i = 0; i < s->nmodels; i++) {
		char *m = mlb_template_model(t, s, i), *p = mlb_template_pane(s, i);

		json_object_array_add(models, json_object_new_string(m));
		json_object_array_add(panes, json_object_new_string(p));
		free(m);
		free(p);
	}
	json_object_object_add(ev, "models", models);
	json_object_object_add(ev, "panes", panes);
	mlb_json_set_str(ev, "summarize", s->summarize);
	if (s->options)
		json_object_object_add(ev, "options", json_object_get(s->options));
	mlb_json_set_str(ev, "system", system);
	mlb_json_set_str(ev, "prompt", prompt);
	return ev;
}

int mlb_pipeline_dry_run(const struct mlb_template *t)
{
	struct dry d = { t };
	int json = mlb_cli_json();

	if (!json) {
		printf("pipeline %s%s%s\n", t->name, t->description ? ": " : "", t->description ? t->description : "");
		printf("%zu %s in %d %s; --dry-run: nothing is sent\n", t->nsteps, plural(t->nsteps, "step", "steps"),
		       t->nwaves, t->nwaves == 1 ? "wave" : "waves");
		print_waves(t, stdout);
	}
	for (int w = 1; w <= t->nwaves; w++)
		for (size_t i = 0; i < t->nsteps; i++) {
			const struct mlb_tpl_step *s = &t->steps[i];
			char *prompt, *system;

			if (s->wave != w)
				continue;
			prompt = s->summarize ? dry_summary(t, s) : mlb_template_expand(s->prompt, dry_lookup, &d);
			if (!prompt)
				return MLB_EXIT_FAIL;
			system = s->system ? mlb_template_expand(s->system, dry_lookup, &d) : NULL;
			if (json)
				mlb_event_write(dry_step_event(t, s, prompt, system));
			else
				dry_step_text(t, s, prompt, system);
			free(prompt);
			free(system);
		}
	return MLB_EXIT_OK;
}

int mlb_pipeline_show(const struct mlb_template *t, const char *path)
{
	if (mlb_cli_json()) {
		json_object *o = mlb_event_new("template", NULL);

		mlb_json_set_str(o, "name", t->name);
		mlb_json_set_str(o, "path", path);
		json_object_object_add(o, "template", json_object_get(t->json));
		json_object_object_add(o, "waves", wave_list(t));
		mlb_event_write(o);
		return MLB_EXIT_OK;
	}
	printf("%s\n\n", json_object_to_json_string_ext(t->json, PRETTY));
	printf("order (%zu %s in %d %s):\n", t->nsteps, plural(t->nsteps, "step", "steps"), t->nwaves,
	       t->nwaves == 1 ? "wave" : "waves");
	print_waves(t, stdout);
	return MLB_EXIT_OK;
}

/* ---- list, save, import, export ---- */

struct entry {
	char *name, *path, *where;
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* The *.json files of dir that a shipped or user template of the same name does not already give. */
static void collect(const char *dir, const char *where, struct entry **v, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *name;
		size_t k;

		if (e->d_name[0] == '.' || !ends_with(e->d_name, ".json") || strlen(e->d_name) <= 5)
			continue;
		name = mlb_xstrndup(e->d_name, strlen(e->d_name) - 5);
		for (k = 0; k < *n && strcmp((*v)[k].name, name); k++)
			;
		if (k < *n) {
			free(name);
			continue;
		}
		*v = mlb_xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[*n].name = name;
		(*v)[*n].path = mlb_xasprintf("%s/%s", dir, e->d_name);
		(*v)[(*n)++].where = mlb_xstrdup(where);
	}
	closedir(d);
}

int mlb_pipeline_list(void)
{
	char *user = mlb_pipeline_user_dir(), *shared = mlb_xasprintf("%s/pipelines", mlb_share_dir());
	json_object *usage = read_usage();
	struct entry *v = NULL;
	size_t n = 0;
	int json = mlb_cli_json_asked();	/* a listing: text, in a pipe too, unless --json */

	collect(user, "user", &v, &n);	/* first: a user's template hides a shipped one of its name */
	collect(shared, "shipped", &v, &n);
	qsort(v, n, sizeof(*v), entry_cmp);
	if (!json && n)
		printf("%-28s %5s  %-7s  %s\n", "NAME", "USES", "WHERE", "DESCRIPTION");
	for (size_t i = 0; i < n; i++) {
		size_t len;
		char *text = mlb_file_read(v[i].path, &len);
		struct mlb_template *t = text ? mlb_template_parse(text, len, v[i].path) : NULL;
		json_object *u = NULL;
		const char *desc = t && !t->nproblems ? t->description : "(not a valid template: mlb-pipeline validate tells why)";
		long long uses;

		json_object_object_get_ex(usage, t ? t->name : v[i].name, &u);
		uses = mlb_json_int(u, "uses", 0);
		if (json) {
			json_object *o = mlb_event_new("template", NULL);

			mlb_json_set_str(o, "name", v[i].name);
			mlb_json_set_str(o, "description", desc);
			mlb_json_set_str(o, "path", v[i].path);
			mlb_json_set_str(o, "where", v[i].where);
			mlb_json_set_int(o, "uses", uses);
			mlb_json_set_str(o, "last_used", mlb_json_str(u, "last_used"));
			mlb_json_set_bool(o, "valid", t && !t->nproblems);
			mlb_event_write(o);
		} else {
			printf("%-28s %5lld  %-7s  %s\n", v[i].name, uses, v[i].where, desc ? desc : "");
		}
		mlb_template_free(t);
		free(text);
		free(v[i].name);
		free(v[i].path);
		free(v[i].where);
	}
	free(v);
	json_object_put(usage);
	free(user);
	free(shared);
	return MLB_EXIT_OK;
}

/* Write a template into the user's directory as <name>.json, unless one is there and force is not given. */
