/*
 * pipeline-save.c - keeping templates (pipeline.h): save a session's turns
 * as a template, import a template file into the user's templates, and
 * export one as it is.
 */
#include "pipeline.h"
#include "file.h"
#include "msg.h"
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How templates are written: indented, and readable by a person. */
#define PRETTY (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

static int install(const char *name, const char *data, size_t len, int force)
{
	char *dir = mlb_pipeline_user_dir(), *path = mlb_xasprintf("%s/%s.json", dir, name);
	size_t old_len;
	char *old = mlb_file_read(path, &old_len);
	int ret = MLB_EXIT_OK;

	if (old && old_len == len && !memcmp(old, data, len)) {
		mlb_note("template '%s' is already in %s, the same", name, path);
	} else if (old && !force) {
		ret = MLB_EXIT_FAIL;
		mlb_error("there is already a template '%s' (%s); give --force to replace it, or --name for another name",
			  name, path);
	} else if (mlb_mkdirs(dir, 0755) < 0 || mlb_file_write(path, data, len) < 0) {
		ret = MLB_EXIT_FAIL;
		mlb_error("cannot write '%s': %s", path, strerror(errno));
	} else {
		mlb_note("template '%s' saved in %s", name, path);
	}
	free(old);
	free(path);
	free(dir);
	return ret;
}

/* One prompt of a session: which commit brought it, to which pane, and what answered it. */
struct turn_msg {
	size_t order;		/* of its commit, oldest first */
	char *pane, *prompt, *model, *system;
	char *reply, *reply_hash;	/* its answer, or NULL */
	char *source_session, *source_pane, *source_hash;	/* a send-to's provenance, or NULL */
	char *step;		/* the step it became, and its model's place there, from 1 */
	size_t model_no;
};

static char *header_dup(const struct mlb_msgfile *m, const char *name)
{
	const char *v = mlb_msgfile_get(m, name);

	return v ? mlb_xstrdup(v) : NULL;
}

struct commits {
	char **hex;
	size_t n;
};

static int log_commit(const struct mlb_commit_info *c, void *ctx)
{
	struct commits *cs = ctx;

	cs->hex = mlb_xrealloc(cs->hex, (cs->n + 1) * sizeof(*cs->hex));
	cs->hex[cs->n++] = mlb_xstrdup(c->hex);
	return 0;
}

static int turn_cmp(const void *a, const void *b)
{
	const struct turn_msg *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->pane, y->pane);
}

/* The user messages of one pane, each with the model that answered it and the system prompt sent with it. */
static int pane_turns(struct mlb_session *s, const char *pane, struct commits *cs, struct turn_msg **v, size_t *n)
{
	char **paths, **commits;
	struct mlb_msgfile *msgs;
	size_t np, nm;
	json_object *info = mlb_session_pane_info(s, pane);
	const char *pane_model = mlb_json_str(info, "model");
	const char *system = NULL;

	if (mlb_session_message_paths(s, pane, &paths, &commits, &np) < 0 ||
	    mlb_session_messages(s, pane, &msgs, &nm) < 0) {
		json_object_put(info);
		return -1;
	}
	for (size_t i = 0; i < nm && i < np; i++) {
		const char *role = mlb_msgfile_get(&msgs[i], "Role");
		struct turn_msg *m;
		size_t order = 0;

		if (role && !strcmp(role, "system"))
			system = msgs[i].content;
		if (!role || strcmp(role, "user"))
			continue;
		/* The log is newest first. */
		for (size_t k = 0; k < cs->n; k++)
			if (!strcmp(cs->hex[k], commits[i]))
				order = cs->n - k;
		*v = mlb_xrealloc(*v, (*n + 1) * sizeof(**v));
		m = &(*v)[(*n)++];
		m->order = order;
		m->pane = mlb_xstrdup(pane);
		m->prompt = mlb_xstrdup(msgs[i].content ? msgs[i].content : "");
		m->model = NULL;
		if (i + 1 < nm && mlb_msgfile_get(&msgs[i + 1], "Model"))
			m->model = mlb_xstrdup(mlb_msgfile_get(&msgs[i + 1], "Model"));
		else if (pane_model)
			m->model = mlb_xstrdup(pane_model);
		m->system = system && i > 0 && !strcmp(commits[i - 1], commits[i]) ? mlb_xstrdup(system) : NULL;
		system = NULL;
		m->source_session = header_dup(&msgs[i], "Source-Session");
		m->source_pane = header_dup(&msgs[i], "Source-Pane");
		m->source_hash = header_dup(&msgs[i], "Source-Hash");
		m->reply = m->reply_hash = m->step = NULL;
		m->model_no = 0;
		if (i + 1 < nm && mlb_msgfile_get(&msgs[i + 1], "Role") &&
		    !strcmp(mlb_msgfile_get(&msgs[i + 1], "Role"), "assistant")) {
			m->reply = mlb_xstrndup(msgs[i + 1].content ? msgs[i + 1].content : "", msgs[i + 1].content_len);
			m->reply_hash = header_dup(&msgs[i + 1], "Content-Hash");
		}
	}
	mlb_msgfiles_free(msgs, nm);
	mlb_strv_free(paths);
	mlb_strv_free(commits);
	json_object_put(info);
	return 0;
}

/* A send-to's prompt as a template's: the moved answer becomes {{<step>.<n>}} of the step that gave it,
 * which the step then needs, rather than the old answer frozen into the text.  NULL when m moved
 * nothing from this session, or what it moved is not the end of its prompt. */
static char *transfer_prompt(const char *session, struct turn_msg *v, size_t i, json_object *step)
{
	struct turn_msg *m = &v[i];
	size_t plen = strlen(m->prompt), rlen;
	char *prefix, *prompt;

	if (!m->source_pane || !m->source_hash || (m->source_session && strcmp(m->source_session, session)))
		return NULL;
	for (size_t j = i; j-- > 0;) {
		struct turn_msg *src = &v[j];
		json_object *needs;
		int listed = 0;

		if (!src->step || !src->reply || !src->reply_hash || strcmp(src->pane, m->source_pane) ||
		    strcmp(src->reply_hash, m->source_hash))
			continue;
		rlen = strlen(src->reply);
		if (rlen > plen || strcmp(m->prompt + plen - rlen, src->reply))
			return NULL;
		prefix = mlb_xstrndup(m->prompt, plen - rlen);
		{
			char *escaped = mlb_template_escape(prefix);

			prompt = mlb_xasprintf("%s{{%s.%zu}}", escaped, src->step, src->model_no);
			free(escaped);
		}
		free(prefix);
		if (!json_object_object_get_ex(step, "needs", &needs)) {
			needs = json_object_new_array();
			json_object_object_add(step, "needs", needs);
		}
		for (size_t k = 0; k < json_object_array_length(needs); k++)
			listed |= !strcmp(json_object_get_string(json_object_array_get_idx(needs, k)), src->step);
		if (!listed)
			json_object_array_add(needs, json_object_new_string(src->step));
		return prompt;
	}
	return NULL;
}

/* Steps from the prompts: one a turn (a commit and a prompt), each needing the one before; a send-to
 * also needs the step whose answer it moved. */
static json_object *steps_from(const char *session, struct turn_msg *v, size_t n)
{
	json_object *steps = json_object_new_array(), *step = NULL, *models = NULL;
	size_t count = 0;

	for (size_t i = 0; i < n; i++) {
		struct turn_msg *m = &v[i];

		if (!m->model)
			continue;
		if (!step || m->order != v[i - 1].order || strcmp(m->prompt, v[i - 1].prompt) ||
		    (m->system ? 1 : 0) != (v[i - 1].system ? 1 : 0) ||
		    (m->system && strcmp(m->system, v[i - 1].system))) {
			char *id = mlb_xasprintf("turn-%zu", ++count), *text;

			step = json_object_new_object();
			mlb_json_set_str(step, "id", id);
			if (count > 1) {
				json_object *needs = json_object_new_array();
				char *prev = mlb_xasprintf("turn-%zu", count - 1);

				json_object_array_add(needs, json_object_new_string(prev));
				json_object_object_add(step, "needs", needs);
				free(prev);
			}
			models = json_object_new_array();
			json_object_object_add(step, "models", models);
			if (m->system) {
				text = mlb_template_escape(m->system);
				mlb_json_set_str(step, "system", text);
				free(text);
			}
			text = transfer_prompt(session, v, i, step);
			if (!text)
				text = mlb_template_escape(m->prompt);
			mlb_json_set_str(step, "prompt", text);
			free(text);
			json_object_array_add(steps, step);
			free(id);
		}
		json_object_array_add(models, json_object_new_string(m->model));
		m->step = mlb_xstrdup(mlb_json_str(step, "id"));
		m->model_no = json_object_array_length(models);
	}
	return steps;
}

int mlb_pipeline_save(const char *session, const char *name, int force)
{
	struct mlb_session *s;
	struct commits cs = { 0 };
	struct turn_msg *v = NULL;
	char **panes = NULL, *text;
	size_t npanes = 0, n = 0;
	json_object *doc, *steps;
	struct mlb_template *t;
	int ret = MLB_EXIT_FAIL;

	if (mlb_session_id_check(session) < 0)
		return MLB_EXIT_USAGE;
	if (!mlb_session_id_valid(name))
		mlb_die(MLB_EXIT_USAGE, "invalid template name '%s': use letters, digits, '.', '_' and '-'", name);
	if (!mlb_session_exists(session))
		mlb_die(MLB_EXIT_FAIL, "no session '%s'; 'mlb-session ls' lists them", session);
	if (mlb_session_open(session, 0, &s) < 0)
		return MLB_EXIT_FAIL;
	if (mlb_session_log(s, log_commit, &cs) < 0 || mlb_session_panes(s, &panes, &npanes) < 0)
		goto out;
	for (size_t i = 0; i < npanes; i++)
		if (pane_turns(s, panes[i], &cs, &v, &n) < 0)
			goto out;
	qsort(v, n, sizeof(*v), turn_cmp);
	steps = steps_from(session, v, n);
	if (!json_object_array_length(steps)) {
		json_object_put(steps);
		mlb_error("session '%s' has no prompts to make a template of", session);
		goto out;
	}
	doc = json_object_new_object();
	mlb_json_set_str(doc, "name", name);
	text = mlb_xasprintf("the prompts and models of session %s", session);
	mlb_json_set_str(doc, "description", text);
	free(text);
	json_object_object_add(doc, "steps", steps);
	text = mlb_xasprintf("%s\n", json_object_to_json_string_ext(doc, PRETTY));
	json_object_put(doc);
	/* What is written must run: check it as run would (keys aside). */
	t = mlb_template_parse(text, strlen(text), name);
	mlb_template_check(t);
	if (mlb_pipeline_report(t))
		mlb_error("the template made from session '%s' is not valid (a bug); it was not saved", session);
	else
		ret = install(name, text, strlen(text), force);
	mlb_template_free(t);
	free(text);
out:
	for (size_t i = 0; i < n; i++) {
		free(v[i].pane);
		free(v[i].prompt);
		free(v[i].model);
		free(v[i].system);
		free(v[i].reply);
		free(v[i].reply_hash);
		free(v[i].source_session);
		free(v[i].source_pane);
		free(v[i].source_hash);
		free(v[i].step);
	}
	free(v);
	mlb_strv_free(panes);
	for (size_t i = 0; i < cs.n; i++)
		free(cs.hex[i]);
	free(cs.hex);
	mlb_session_close(s);
	return ret;
}

int mlb_pipeline_import(const struct mlb_config *cfg, const char *file, const char *name, int force)
{
	size_t len;
	char *text = mlb_file_read(file, &len), *renamed = NULL;
	struct mlb_template *t;
	int ret;

	if (!text) {
		mlb_error("cannot read the template file '%s': %s", file, strerror(errno));
		return MLB_EXIT_USAGE;
	}
	t = mlb_template_parse(text, len, file);
	mlb_template_env_vars(t, environ);
	mlb_template_check(t);
	mlb_pipeline_check_models(cfg, t, 0);
	if (mlb_pipeline_report(t)) {
		mlb_template_free(t);
		free(text);
		return MLB_EXIT_USAGE;
	}
	if (name && !mlb_session_id_valid(name))
		mlb_die(MLB_EXIT_USAGE, "invalid template name '%s': use letters, digits, '.', '_' and '-'", name);
	if (name && strcmp(name, t->name)) {
		/* The name inside the file must match the name of the file. */
		json_object_object_add(t->json, "name", json_object_new_string(name));
		renamed = mlb_xasprintf("%s\n", json_object_to_json_string_ext(t->json,
					PRETTY));
	}
	ret = renamed ? install(name, renamed, strlen(renamed), force) : install(t->name, text, len, force);
	free(renamed);
	mlb_template_free(t);
	free(text);
	return ret;
}

int mlb_pipeline_export(const char *arg)
{
	char *path = mlb_pipeline_find(arg), *text;
	size_t len;

	if (!path)
		return MLB_EXIT_USAGE;
	text = mlb_file_read(path, &len);
	if (!text) {
		mlb_error("cannot read the template file '%s': %s", path, strerror(errno));
		free(path);
		return MLB_EXIT_FAIL;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	free(path);
	return MLB_EXIT_OK;
}
