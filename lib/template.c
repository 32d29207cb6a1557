#include "template.h"
#include "expect.h"
#include "buf.h"
#include "msg.h"
#include "store.h"
#include "summary.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

static const char *const top_keys[] = { "name", "description", "vars", "steps" };
static const char *const step_keys[] = { "id", "needs", "models", "prompt", "system", "options", "summarize", "expect",
					 "search", "count" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void add_problem(struct mlb_template *t, char *line)
{
	t->problems = mlb_xrealloc(t->problems, (t->nproblems + 2) * sizeof(*t->problems));
	t->problems[t->nproblems++] = line;
	t->problems[t->nproblems] = NULL;
}

void mlb_template_problem(struct mlb_template *t, const char *fmt, ...)
{
	struct mlb_buf b = MLB_BUF_INIT;
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* A problem is one line, also when it quotes a bad id or key holding a line break. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	mlb_buf_addf(&b, "%s: %s", t->label, line);
	add_problem(t, mlb_buf_detach(&b));
}

int mlb_template_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= MLB_TEMPLATE_ID_MAX && strspn(name, NAME_CHARS) == len;
}

const char *mlb_template_nearest(const char *word, const char *const *cands, size_t n)
{
	return mlb_nearest(word, cands, n);
}

static void join_list(struct mlb_buf *b, const char *const *v, size_t n)
{
	int first = 1;

	for (size_t i = 0; i < n; i++) {
		if (!v[i])
			continue;
		mlb_buf_addf(b, "%s%s", first ? "" : ", ", v[i]);
		first = 0;
	}
	if (first)
		mlb_buf_adds(b, "none");
}

/* ---- reading the document ---- */

static int line_of(const char *text, size_t off, size_t *col)
{
	int line = 1;
	size_t start = 0;

	for (size_t i = 0; i < off; i++)
		if (text[i] == '\n') {
			line++;
			start = i + 1;
		}
	*col = off - start + 1;
	return line;
}

static void json_problem(struct mlb_template *t, const char *text, size_t off, const char *what)
{
	size_t col;
	int line = line_of(text, off, &col);

	add_problem(t, mlb_xasprintf("%s:%d:%zu: malformed JSON: %s", t->label, line, col, what));
}

/*
 * json-c reads NaN and Infinity as numbers and lets a repeated key replace
 * the first without a word; a provider then gets a request that is not
 * JSON, or another JSON tool reads the template otherwise.  Scan the text,
 * which json-c has already found well-formed, for both.
 */
struct seen_key {
	char *name;
	int line;
};

struct level {
	int object, want_key;
	struct seen_key *keys;
	size_t nkeys;
};

/* A key's text without its escapes ("\u0061" and "a" are one key). */
static char *key_text(const char *quoted, size_t len)
{
	char *raw = mlb_xstrndup(quoted, len), *out;
	json_object *o = memchr(quoted, '\\', len) ? json_tokener_parse(raw) : NULL;

	if (o && json_object_is_type(o, json_type_string)) {
		out = mlb_xstrdup(json_object_get_string(o));
		free(raw);
	} else {
		raw[len - 1] = '\0';
		out = mlb_xstrdup(raw + 1);
		free(raw);
	}
	json_object_put(o);
	return out;
}

static void note_key(struct mlb_template *t, int line, size_t col, struct level *lv, char *key)
{
	for (size_t k = 0; k < lv->nkeys; k++)
		if (!strcmp(lv->keys[k].name, key)) {
			add_problem(t, mlb_xasprintf("%s:%d:%zu: key \"%s\" appears twice in one object (first on line %d); "
						     "keep one", t->label, line, col, key, lv->keys[k].line));
			free(key);
			return;
		}
	lv->keys = mlb_xrealloc(lv->keys, (lv->nkeys + 1) * sizeof(*lv->keys));
	lv->keys[lv->nkeys].name = key;
	lv->keys[lv->nkeys++].line = line;
}

static void drop_level(struct level *lv)
{
	for (size_t k = 0; k < lv->nkeys; k++)
		free(lv->keys[k].name);
	free(lv->keys);
	memset(lv, 0, sizeof(*lv));
}

static void strict_json(struct mlb_template *t, const char *text, size_t len)
{
	struct level *stack = NULL;
	size_t depth = 0, i = 0, line_start = 0;
	int line = 1;	/* strict JSON has line breaks only between tokens */

	while (i < len) {
		char c = text[i];

		if (c == '\n') {
			line++;
			line_start = ++i;
		} else if (c == '"') {
			size_t start = i++;

			while (i < len && text[i] != '"')
				i += text[i] == '\\' ? 2 : 1;
			i++;
			if (depth && stack[depth - 1].object && stack[depth - 1].want_key) {
				note_key(t, line, start - line_start + 1, &stack[depth - 1], key_text(text + start, i - start));
				stack[depth - 1].want_key = 0;
			}
		} else if (c == '{' || c == '[') {
			stack = mlb_xrealloc(stack, (depth + 1) * sizeof(*stack));
			memset(&stack[depth], 0, sizeof(*stack));
			stack[depth].object = stack[depth].want_key = c == '{';
			depth++;
			i++;
		} else if (c == '}' || c == ']') {
			if (depth)
				drop_level(&stack[--depth]);
			i++;
		} else if (c == ',') {
			if (depth && stack[depth - 1].object)
				stack[depth - 1].want_key = 1;
			i++;
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
			size_t start = i;

			while (i < len && ((text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= 'a' && text[i] <= 'z')))
				i++;
			if ((i - start == 3 && !strncasecmp(text + start, "nan", 3)) ||
			    (i - start == 8 && !strncasecmp(text + start, "infinity", 8)))
				add_problem(t, mlb_xasprintf("%s:%d:%zu: %.*s is not a JSON number; write a number or null",
							     t->label, line, start - line_start + 1, (int)(i - start), text + start));
		} else {
			i++;
		}
	}
	while (depth)
		drop_level(&stack[--depth]);
	free(stack);
}

static json_object *parse_json(struct mlb_template *t, const char *text, size_t len)
{
	json_tokener *tok;
	json_object *o;
	size_t end;

	if (memchr(text, '\0', len)) {
		mlb_template_problem(t, "the file holds a NUL byte; a template is JSON text");
		return NULL;
	}
	/* Bounded: text need not end in a NUL (strspn read one past an all-blank file). */
	for (end = 0; end < len && strchr(" \t\r\n", text[end]); end++)
		;
	if (end == len) {
		mlb_template_problem(t, "the file is empty; a template is a JSON object with \"steps\" (see mlb-pipeline(5))");
		return NULL;
	}
	tok = json_tokener_new();
	/* Strict: what another JSON tool reads the same way, so no single quotes or raw newlines in strings. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!o) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		if (e == json_tokener_continue || e == json_tokener_success)
			json_problem(t, text, len, "the file ends inside the document; close every string, [ and {");
		else
			json_problem(t, text, end, json_tokener_error_desc(e));
	} else {
		while (end < len && strchr(" \t\r\n", text[end]))
			end++;
		if (end < len) {
			json_problem(t, text, end, "text after the end of the template; remove it");
			json_object_put(o);
			o = NULL;
		} else {
			strict_json(t, text, len);
		}
	}
	json_tokener_free(tok);
	return o;
}

static const char *type_name(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double:
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

static void unknown_keys(struct mlb_template *t, const char *who, json_object *o,
			 const char *const *known, size_t nknown)
{
	json_object_object_foreach(o, key, val) {
		struct mlb_buf b = MLB_BUF_INIT;
		const char *near;
		size_t i;

		(void)val;
		for (i = 0; i < nknown && strcmp(key, known[i]); i++)
			;
		if (i < nknown)
			continue;
		join_list(&b, known, nknown);
		near = mlb_template_nearest(key, known, nknown);
		mlb_template_problem(t, "%sunknown key '%s' (known: %s)%s%s%s", who, key, mlb_buf_str(&b),
				     near ? "; did you mean '" : "; remove it", near ? near : "", near ? "'?" : "");
		mlb_buf_free(&b);
	}
}

/* A string member: its copy, NULL when absent; a problem when it is not a string. */
static char *string_member(struct mlb_template *t, const char *who, json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		mlb_template_problem(t, "%s\"%s\" is %s; write it as a string", who, key, type_name(v));
		return NULL;
	}
	return mlb_xstrdup(json_object_get_string(v));
}

/* An array of strings; returns the count, problems for anything else. */
static size_t string_list(struct mlb_template *t, const char *who, json_object *o, const char *key,
			  char ***out, int *present)
{
	json_object *v;
	size_t n, count = 0;

	*out = NULL;
	*present = json_object_object_get_ex(o, key, &v);
	if (!*present)
		return 0;
	if (!json_object_is_type(v, json_type_array)) {
		mlb_template_problem(t, "%s\"%s\" is %s; write it as a list of strings, e.g. [\"a\", \"b\"]",
				     who, key, type_name(v));
		return 0;
	}
	n = json_object_array_length(v);
	*out = mlb_xcalloc(n + 1, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string) || !*json_object_get_string(e)) {
			mlb_template_problem(t, "%s\"%s\" item %zu is %s; write a non-empty string", who, key, i + 1,
					     json_object_is_type(e, json_type_string) ? "empty" : type_name(e));
			continue;
		}
		(*out)[count++] = mlb_xstrdup(json_object_get_string(e));
	}
	return count;
}

static void parse_vars(struct mlb_template *t, json_object *doc)
{
	json_object *vars;

	if (!json_object_object_get_ex(doc, "vars", &vars))
		return;
	if (!json_object_is_type(vars, json_type_object)) {
		mlb_template_problem(t, "\"vars\" is %s; write it as an object of names and values, e.g. {\"topic\": \"tides\"}",
				     type_name(vars));
		return;
	}
	json_object_object_foreach(vars, key, val) {
		enum json_type ty = json_object_get_type(val);

		if (!mlb_template_name_valid(key)) {
			mlb_template_problem(t, "variable '%s': a name is 1 to %d letters, digits, '_' or '-'; rename it",
					     key, MLB_TEMPLATE_ID_MAX);
			continue;
		}
		if (ty != json_type_string && ty != json_type_int && ty != json_type_double && ty != json_type_boolean) {
			mlb_template_problem(t, "variable '%s' is %s; give it a string, number or boolean value",
					     key, type_name(val));
			continue;
		}
		mlb_template_set_var(t, key, json_object_get_string(val), MLB_VAR_TEMPLATE);
	}
}

/*
 * "search": "<query>" with "count": n is a web search: a step whose model is
 * brave:web (or the search providers "models" names) and whose prompt is the
 * query; its answer is the numbered results.  1 when the step was one.
 */
static int search_step(struct mlb_template *t, const char *who, json_object *o, struct mlb_tpl_step *s,
		       int models_present)
{
	json_object *v;

	s->prompt = string_member(t, who, o, "search");
	if (!s->prompt)
		return 1;	/* reported */
	if (!*s->prompt)
		mlb_template_problem(t, "%s\"search\" is empty; write what to search for", who);
	if (json_object_object_get_ex(o, "prompt", &v) || json_object_object_get_ex(o, "summarize", &v) ||
	    json_object_object_get_ex(o, "system", &v))
		mlb_template_problem(t, "%sa \"search\" step asks a search engine, not a model; drop its \"prompt\", \"system\" or \"summarize\"", who);
	if (!models_present) {
		s->models = mlb_xcalloc(2, sizeof(char *));
		s->models[0] = mlb_xstrdup("brave:web");
		s->nmodels = 1;
	}
	if (json_object_object_get_ex(o, "options", &v)) {
		if (json_object_is_type(v, json_type_object))
			s->options = json_object_get(v);
		else
			mlb_template_problem(t, "%s\"options\" is %s; write them as an object", who, type_name(v));
	}
	if (json_object_object_get_ex(o, "count", &v)) {
		int64_t n = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int) || n < 1 || n > 20)
			mlb_template_problem(t, "%s\"count\" is %s; give the number of results, 1 to 20", who,
					     json_object_to_json_string(v));
		if (!s->options)
			s->options = json_object_new_object();
		json_object_object_add(s->options, "count", json_object_new_int64(n));
	}
	if (json_object_object_get_ex(o, "expect", &v)) {
		s->expect = json_object_get(v);
		mlb_expect_validate(t, who, v);
	}
	return 1;
}

static void parse_step(struct mlb_template *t, json_object *o, size_t idx, struct mlb_tpl_step *s)
{
	char who[128];
	json_object *v;
	int present;

	snprintf(who, sizeof(who), "step %zu: ", idx + 1);
	if (!json_object_is_type(o, json_type_object)) {
		mlb_template_problem(t, "%sis %s; each step is an object with \"id\", \"models\" and \"prompt\"",
				     who, type_name(o));
		return;
	}
	s->id = string_member(t, who, o, "id");
	if (!s->id && !json_object_object_get_ex(o, "id", &v)) {
		mlb_template_problem(t, "%shas no \"id\"; give it one, e.g. \"id\": \"draft\"", who);
	} else if (s->id && (!mlb_template_name_valid(s->id) || *s->id == '-')) {
		/* the id names the step's panes, which may not start with '-' (store.h) */
		mlb_template_problem(t, "%sid '%s' is not a valid id; use 1 to %d letters, digits, '_' or '-', not starting with '-'",
				     who, s->id, MLB_TEMPLATE_ID_MAX);
		free(s->id);
		s->id = NULL;
	}
	if (s->id)
		snprintf(who, sizeof(who), "step '%s': ", s->id);
	unknown_keys(t, who, o, step_keys, NELEM(step_keys));
	s->nneeds = string_list(t, who, o, "needs", &s->needs, &present);
	s->need = mlb_xcalloc(s->nneeds + 1, sizeof(*s->need));
	s->nmodels = string_list(t, who, o, "models", &s->models, &present);
	if (json_object_object_get_ex(o, "search", &v) && search_step(t, who, o, s, present))
		return;
	if (!present)
		mlb_template_problem(t, "%shas no \"models\"; list at least one, e.g. \"models\": [\"openai:gpt-4o-mini\"]", who);
	else if (!s->nmodels && json_object_object_get_ex(o, "models", &v) && json_object_is_type(v, json_type_array) &&
		 !json_object_array_length(v))
		mlb_template_problem(t, "%s\"models\" is empty; list at least one model", who);
	s->prompt = string_member(t, who, o, "prompt");
	s->system = string_member(t, who, o, "system");
	s->summarize = string_member(t, who, o, "summarize");
	if (json_object_object_get_ex(o, "options", &v)) {
		if (json_object_is_type(v, json_type_object))
			s->options = json_object_get(v);
		else
			mlb_template_problem(t, "%s\"options\" is %s; write request options as an object, e.g. {\"temperature\": 0.2}",
					     who, type_name(v));
	}
	if (json_object_object_get_ex(o, "expect", &v)) {
		s->expect = json_object_get(v);
		mlb_expect_validate(t, who, v);
	}
	if (s->summarize && !mlb_summary_format_valid(s->summarize)) {
		mlb_template_problem(t, "%sunknown summarize format '%s'; use executive, technical or bullet", who, s->summarize);
	}
	if (s->summarize && s->prompt)
		mlb_template_problem(t, "%shas both \"prompt\" and \"summarize\"; a summarize step writes its own prompt, so drop one", who);
	else if (s->summarize && !s->nneeds)
		mlb_template_problem(t, "%ssummarizes nothing; list the steps whose answers it summarizes in \"needs\"", who);
	else if (!s->summarize && !s->prompt && !json_object_object_get_ex(o, "prompt", &v))
		mlb_template_problem(t, "%shas no \"prompt\"; add one (or \"summarize\": \"executive\" with \"needs\")", who);
	else if (s->prompt && !*s->prompt)
		mlb_template_problem(t, "%s\"prompt\" is empty; write what to ask", who);
}

/* Duplicate ids, needs of unknown steps, needs listed twice. */
static void link_steps(struct mlb_template *t)
{
	const char **ids = mlb_xcalloc(t->nsteps + 1, sizeof(*ids));

	for (size_t i = 0; i < t->nsteps; i++) {
		struct mlb_tpl_step *s = &t->steps[i];
		int first;

		ids[i] = s->id;
		if (!s->id)
			continue;
		first = mlb_template_step_index(t, s->id);
		if (first >= 0 && (size_t)first < i)
			mlb_template_problem(t, "step '%s': the id is already used by step %d; give each step its own id",
					     s->id, first + 1);
	}
	for (size_t i = 0; i < t->nsteps; i++) {
		struct mlb_tpl_step *s = &t->steps[i];

		for (size_t k = 0; k < s->nneeds; k++) {
			const char *need = s->needs[k];
			int j = mlb_template_step_index(t, need);

			s->need[k] = j;
			if (!s->id)
				continue;
			for (size_t m = 0; m < k; m++)
				if (!strcmp(s->needs[m], need)) {
					mlb_template_problem(t, "step '%s': needs '%s' twice; list it once", s->id, need);
					s->need[k] = -1;
					break;
				}
			if (j < 0) {
				struct mlb_buf b = MLB_BUF_INIT;
				const char *near;

				/* The steps it could need: every other one. */
				ids[i] = NULL;
				near = mlb_template_nearest(need, ids, t->nsteps);
				join_list(&b, ids, t->nsteps);
				ids[i] = s->id;
				mlb_template_problem(t, "step '%s': needs unknown step '%s' (known: %s)%s%s%s", s->id, need,
						     mlb_buf_str(&b), near ? "; did you mean '" : "; fix the id or add the step",
						     near ? near : "", near ? "'?" : "");
				mlb_buf_free(&b);
			} else if ((size_t)j == i) {
				mlb_template_problem(t, "step '%s': needs itself; remove '%s' from its needs", s->id, need);
				s->need[k] = -1;
			}
		}
	}
	free(ids);
}

/* Pane names must not clash: "a" with two models has "a-2", as has a step called "a-2". */
static void check_panes(struct mlb_template *t)
{
	for (size_t i = 0; i < t->nsteps; i++)
		for (size_t m = 0; m < t->steps[i].nmodels && t->steps[i].id; m++) {
			char *p = mlb_template_pane(&t->steps[i], m);
			int clash = 0;

			for (size_t j = 0; j < i && !clash; j++)
				for (size_t k = 0; k < t->steps[j].nmodels && t->steps[j].id && !clash; k++) {
					char *q = mlb_template_pane(&t->steps[j], k);

					if (!strcmp(p, q) && strcmp(t->steps[i].id, t->steps[j].id)) {
						mlb_template_problem(t, "step '%s': its pane '%s' is also a pane of step '%s'; rename one of the steps",
								     t->steps[i].id, p, t->steps[j].id);
						clash = 1;
					}
					free(q);
				}
			free(p);
		}
}

/* Waves: a step runs one wave after the latest step it needs; steps in a cycle get none. */
static void order_steps(struct mlb_template *t)
{
	int changed = 1;
	int *mark;

	while (changed) {
		changed = 0;
		for (size_t i = 0; i < t->nsteps; i++) {
			struct mlb_tpl_step *s = &t->steps[i];
			int w = 1, ready = 1;

			if (s->wave)
				continue;
			for (size_t k = 0; k < s->nneeds && ready; k++) {
				if (s->need[k] < 0)
					continue;
				if (!t->steps[s->need[k]].wave)
					ready = 0;
				else if (t->steps[s->need[k]].wave + 1 > w)
					w = t->steps[s->need[k]].wave + 1;
			}
			if (ready) {
				s->wave = w;
				changed = 1;
				if (w > t->nwaves)
					t->nwaves = w;
			}
		}
	}
	/* Walk from each unordered step along unordered needs until a step repeats: that is a cycle. */
	mark = mlb_xcalloc(t->nsteps + 1, sizeof(*mark));
	for (size_t i = 0; i < t->nsteps; i++) {
		size_t *path, len = 0, u = i;

		if (t->steps[i].wave || mark[i])
			continue;
		path = mlb_xcalloc(t->nsteps + 1, sizeof(*path));
		while (!mark[u]) {
			struct mlb_tpl_step *s = &t->steps[u];
			size_t next = u;

			mark[u] = 1;
			path[len++] = u;
			for (size_t k = 0; k < s->nneeds; k++)
				if (s->need[k] >= 0 && !t->steps[s->need[k]].wave) {
					next = (size_t)s->need[k];
					break;
				}
			u = next;
		}
		if (mark[u] == 1) {
			struct mlb_buf b = MLB_BUF_INIT;
			size_t start = 0;

			while (path[start] != u)
				start++;
			for (size_t k = start; k < len; k++)
				mlb_buf_addf(&b, "%s needs %s, ", t->steps[path[k]].id,
					     t->steps[k + 1 < len ? path[k + 1] : u].id);
			b.len -= 2;
			b.s[b.len] = '\0';
			mlb_template_problem(t, "step '%s': is in a cycle (%s); remove one of these needs",
					     t->steps[u].id, mlb_buf_str(&b));
			mlb_buf_free(&b);
		}
		for (size_t k = 0; k < len; k++)
			mark[path[k]] = 2;
		free(path);
	}
	free(mark);
}

/* The default name: the file's name without directories and .json, in the characters a name may hold. */
static char *name_from_label(const char *label)
{
	const char *base = strrchr(label, '/') ? strrchr(label, '/') + 1 : label;
	size_t len = strlen(base);
	char *name;

	if (len > 5 && !strcmp(base + len - 5, ".json"))
		len -= 5;
	if (len > MLB_ID_MAX)
		len = MLB_ID_MAX;
	name = mlb_xstrndup(base, len);
	for (char *c = name; *c; c++)
		if (!strchr(NAME_CHARS ".", *c))
			*c = '-';
	if (*name == '.' || !*name) {
		free(name);
		name = mlb_xstrdup("template");
	}
	return name;
}

struct mlb_template *mlb_template_parse(const char *text, size_t len, const char *label)
{
	struct mlb_template *t = mlb_xcalloc(1, sizeof(*t));
	json_object *steps;
	size_t n;

	t->label = mlb_xstrdup(label);
	/* A byte-order mark, as some Windows editors write, is skipped as JSON readers may (RFC 8259). */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
		text += 3;
		len -= 3;
	}
	t->json = parse_json(t, text, len);
	if (!t->json)
		goto out;
	if (!json_object_is_type(t->json, json_type_object)) {
		mlb_template_problem(t, "the template is %s; it must be a JSON object with \"steps\" (see mlb-pipeline(5))",
				     type_name(t->json));
		goto out;
	}
	unknown_keys(t, "", t->json, top_keys, NELEM(top_keys));
	t->name = string_member(t, "", t->json, "name");
	if (t->name && !mlb_session_id_valid(t->name)) {
		mlb_template_problem(t, "\"name\" '%s' is not a valid name; use letters, digits, '.', '_' and '-'", t->name);
		free(t->name);
		t->name = NULL;
	}
	t->description = string_member(t, "", t->json, "description");
	parse_vars(t, t->json);
	if (!json_object_object_get_ex(t->json, "steps", &steps)) {
		mlb_template_problem(t, "there are no \"steps\"; add a list of steps, e.g. \"steps\": [{\"id\": \"ask\", \"models\": [...], \"prompt\": \"...\"}]");
		goto out;
	}
	if (!json_object_is_type(steps, json_type_array) || !json_object_array_length(steps)) {
		mlb_template_problem(t, "\"steps\" is %s; it must be a list of at least one step",
				     json_object_is_type(steps, json_type_array) ? "empty" : type_name(steps));
		goto out;
	}
	n = json_object_array_length(steps);
	t->steps = mlb_xcalloc(n, sizeof(*t->steps));
	t->nsteps = n;
	for (size_t i = 0; i < n; i++)
		parse_step(t, json_object_array_get_idx(steps, i), i, &t->steps[i]);
	link_steps(t);
	check_panes(t);
	order_steps(t);
out:
	if (!t->name)
		t->name = name_from_label(label);
	return t;
}

void mlb_template_free(struct mlb_template *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nsteps; i++) {
		struct mlb_tpl_step *s = &t->steps[i];

		free(s->id);
		for (size_t k = 0; k < s->nneeds; k++)
			free(s->needs[k]);
		free(s->needs);
		free(s->need);
		for (size_t k = 0; k < s->nmodels; k++)
			free(s->models[k]);
		free(s->models);
		free(s->prompt);
		free(s->system);
		free(s->summarize);
		json_object_put(s->options);
		json_object_put(s->expect);
	}
	free(t->steps);
	for (size_t i = 0; i < t->nvars; i++) {
		free(t->vars[i].name);
		free(t->vars[i].value);
	}
	free(t->vars);
	for (size_t i = 0; i < t->nproblems; i++)
		free(t->problems[i]);
	free(t->problems);
	json_object_put(t->json);
	free(t->name);
	free(t->description);
	free(t->label);
	free(t);
}

/* ---- variables ---- */

int mlb_template_set_var(struct mlb_template *t, const char *name, const char *value, enum mlb_var_source src)
{
	struct mlb_tpl_var *v = NULL;

	size_t len = strlen(value), bad;

	if (!mlb_template_name_valid(name))
		return -1;
	/* a provider refuses a request that is not UTF-8: say so before any is sent */
	if ((bad = mlb_utf8_check(value, len)) < len) {
		static const char *const from[] = { "\"vars\"", "MLB_VAR_", "--var ", "the row's " };

		mlb_template_problem(t, "%s%s is not valid UTF-8 (byte %zu is 0x%02x); convert it, e.g. with iconv -f latin1 -t utf-8",
				     from[src], name, bad + 1, (unsigned char)value[bad]);
	}
	for (size_t i = 0; i < t->nvars && !v; i++)
		if (!strcmp(t->vars[i].name, name))
			v = &t->vars[i];
	if (v && v->source > src)
		return 0;
	if (!v) {
		t->vars = mlb_xrealloc(t->vars, (t->nvars + 1) * sizeof(*t->vars));
		v = &t->vars[t->nvars++];
		v->name = mlb_xstrdup(name);
	} else {
		free(v->value);
	}
	v->value = mlb_xstrdup(value);
	v->source = src;
	return 0;
}

void mlb_template_env_vars(struct mlb_template *t, char *const *envp)
{
	for (; envp && *envp; envp++) {
		const char *eq;
		char *name;

		if (strncmp(*envp, "MLB_VAR_", 8) || !(eq = strchr(*envp, '=')))
			continue;
		name = mlb_xstrndup(*envp + 8, (size_t)(eq - *envp - 8));
		mlb_template_set_var(t, name, eq + 1, MLB_VAR_ENV);	/* a name no template can use is ignored */
		free(name);
	}
}

int mlb_template_option_var(struct mlb_template *t, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char *name;
	int ret;

	if (!eq || eq == kv)
		return -1;
	name = mlb_xstrndup(kv, (size_t)(eq - kv));
	ret = mlb_template_set_var(t, name, eq + 1, MLB_VAR_OPTION);
	free(name);
	return ret;
}

const char *mlb_template_var(const struct mlb_template *t, const char *name)
{
	for (size_t i = 0; i < t->nvars; i++)
		if (!strcmp(t->vars[i].name, name))
			return t->vars[i].value;
	return NULL;
}

/* ---- placeholders ---- */

/* The placeholder at s ("{{..."): its length, the name and n, or 0 when s does not open one. */
static size_t placeholder(const char *s, char *name, size_t size, long *n)
{
	const char *p = s + 2;
	size_t len;

	p += strspn(p, " \t");
	len = strspn(p, NAME_CHARS);
	if (!len || len >= size)
		return 0;
	memcpy(name, p, len);
	name[len] = '\0';
	p += len;
	*n = -1;
	if (*p == '.') {
		size_t digits = strspn(p + 1, "0123456789");

		if (!digits || digits > 9)
			return 0;
		*n = strtol(p + 1, NULL, 10);
		p += 1 + digits;
	}
	p += strspn(p, " \t");
	if (p[0] != '}' || p[1] != '}')
		return 0;
	return (size_t)(p + 2 - s);
}

char *mlb_template_expand(const char *text, mlb_tpl_lookup_fn fn, void *ctx)
{
	struct mlb_buf b = MLB_BUF_INIT;
	char name[MLB_TEMPLATE_ID_MAX + 1];

	mlb_buf_adds(&b, "");
	while (*text) {
		const char *open = strstr(text, "{{");
		size_t len;
		long n;

		if (!open) {
			mlb_buf_adds(&b, text);
			break;
		}
		mlb_buf_add(&b, text, (size_t)(open - text));
		text = open;
		if (text[2] == '{' && text[3] == '{') {
			mlb_buf_adds(&b, "{{");
			text += 4;
		} else if ((len = placeholder(text, name, sizeof(name), &n))) {
			char *v = fn(ctx, name, n);

			if (v)
				mlb_buf_adds(&b, v);
			else
				mlb_buf_add(&b, text, len);
			free(v);
			text += len;
		} else {
			mlb_buf_addc(&b, *text++);
		}
	}
	return mlb_buf_detach(&b);
}

char *mlb_template_escape(const char *text)
{
	struct mlb_buf b = MLB_BUF_INIT;
	const char *open;

	mlb_buf_adds(&b, "");
	while ((open = strstr(text, "{{"))) {
		mlb_buf_add(&b, text, (size_t)(open - text));
		mlb_buf_adds(&b, "{{{{");
		text = open + 2;
	}
	mlb_buf_adds(&b, text);
	return mlb_buf_detach(&b);
}

int mlb_template_step_index(const struct mlb_template *t, const char *id)
{
	for (size_t i = 0; i < t->nsteps; i++)
		if (t->steps[i].id && !strcmp(t->steps[i].id, id))
			return (int)i;
	return -1;
}

static char *var_lookup(void *ctx, const char *name, long n)
{
	const char *v = mlb_template_var(ctx, name);

	return v && n < 0 ? mlb_xstrdup(v) : NULL;
}

char *mlb_template_expand_vars(const struct mlb_template *t, const char *text)
{
	return mlb_template_expand(text, var_lookup, (void *)t);
}

char *mlb_template_model(const struct mlb_template *t, const struct mlb_tpl_step *s, size_t i)
{
	return mlb_template_expand_vars(t, s->models[i]);
}

char *mlb_template_pane(const struct mlb_tpl_step *s, size_t i)
{
	if (s->nmodels == 1)
		return mlb_xstrdup(s->id);
	return mlb_xasprintf("%s-%zu", s->id, i + 1);
}

struct check_ctx {
	struct mlb_template *t;
	struct mlb_tpl_step *s;
	const char *model;	/* checking a model spec or an expectation, not a prompt */
	const char *what;	/* "model" or "expect" */
	char **seen;		/* placeholders already reported for this step */
	size_t nseen;
};

static int needs(const struct mlb_tpl_step *s, int j)
{
	for (size_t k = 0; k < s->nneeds; k++)
		if (s->need[k] == j)
			return 1;
	return 0;
}

static void undefined(struct check_ctx *c, const char *ph, const char *name)
{
	struct mlb_template *t = c->t;
	struct mlb_buf b = MLB_BUF_INIT;
	const char **cands = mlb_xcalloc(t->nvars + t->nsteps + 1, sizeof(*cands));
	const char *near;
	size_t n = 0;

	for (size_t i = 0; i < t->nvars; i++)
		cands[n++] = t->vars[i].name;
	join_list(&b, cands, n);
	for (size_t k = 0; k < c->s->nneeds && !c->model; k++)
		cands[n++] = c->s->needs[k];
	near = mlb_template_nearest(name, cands, n);
	mlb_template_problem(t, "step '%s': %s%s%s%s%s is neither a variable nor a step it needs (variables: %s); "
			     "set it in \"vars\", with --var %s=<value> or in MLB_VAR_%s%s%s%s",
			     c->s->id, c->model ? c->what : "", c->model ? " '" : "", c->model ? c->model : "",
			     c->model ? "': " : "",
			     ph, mlb_buf_str(&b), name, name, near ? ", or did you mean {{" : "", near ? near : "",
			     near ? "}}?" : "");
	mlb_buf_free(&b);
	free(cands);
}

static char *check_lookup(void *ctx, const char *name, long n)
{
	struct check_ctx *c = ctx;
	struct mlb_template *t = c->t;
	struct mlb_tpl_step *s = c->s;
	int j = mlb_template_step_index(t, name);
	char ph[MLB_TEMPLATE_ID_MAX + 32];

	if (n >= 0)
		snprintf(ph, sizeof(ph), "{{%s.%ld}}", name, n);
	else
		snprintf(ph, sizeof(ph), "{{%s}}", name);
	for (size_t i = 0; i < c->nseen; i++)
		if (!strcmp(c->seen[i], ph))
			return NULL;
	c->seen = mlb_xrealloc(c->seen, (c->nseen + 1) * sizeof(*c->seen));
	c->seen[c->nseen++] = mlb_xstrdup(ph);

	if (j >= 0 && c->model) {
		mlb_template_problem(t, "step '%s': %s '%s': a %s may hold variables, not the output of a step; use a variable",
				     s->id, c->what, c->model, c->what);
	} else if (j >= 0 && s == &t->steps[j]) {
		mlb_template_problem(t, "step '%s': %s is its own output; a step cannot read its own answers", s->id, ph);
	} else if (j >= 0 && !needs(s, j)) {
		mlb_template_problem(t, "step '%s': %s is the output of step '%s', which it does not need; add \"%s\" to its needs",
				     s->id, ph, name, name);
	} else if (j >= 0 && (n == 0 || (n > 0 && (size_t)n > t->steps[j].nmodels))) {
		size_t m = t->steps[j].nmodels;

		if (m == 1)
			mlb_template_problem(t, "step '%s': %s: step '%s' has 1 model; use {{%s.1}} or {{%s}}",
					     s->id, ph, name, name, name);
		else
			mlb_template_problem(t, "step '%s': %s: step '%s' has %zu models; use {{%s.1}} to {{%s.%zu}}",
					     s->id, ph, name, m, name, name, m);
	} else if (j < 0 && mlb_template_var(t, name) && n >= 0) {
		mlb_template_problem(t, "step '%s': %s: '%s' is a variable, not a step; write {{%s}}",
				     s->id, ph, name, name);
	} else if (j < 0 && !mlb_template_var(t, name)) {
		undefined(c, ph, name);
	}
	return NULL;
}

void mlb_template_check(struct mlb_template *t)
{
	for (size_t i = 0; i < t->nvars; i++)
		if (t->vars[i].source == MLB_VAR_TEMPLATE && mlb_template_step_index(t, t->vars[i].name) >= 0)
			mlb_template_problem(t, "variable '%s' has the name of a step; rename the variable or the step",
					     t->vars[i].name);
	for (size_t i = 0; i < t->nsteps; i++) {
		struct check_ctx c = { t, &t->steps[i], NULL, "model", NULL, 0 };
		const char *checks[MLB_EXPECT_MAX];
		size_t nchecks = mlb_expect_texts(t->steps[i].expect, checks, MLB_EXPECT_MAX);
		const char *texts[2] = { t->steps[i].prompt, t->steps[i].system };

		if (!c.s->id)
			continue;
		for (size_t k = 0; k < 2; k++)
			if (texts[k])
				free(mlb_template_expand(texts[k], check_lookup, &c));
		for (size_t k = 0; k < c.s->nmodels; k++) {
			c.model = c.s->models[k];
			free(mlb_template_expand(c.s->models[k], check_lookup, &c));
		}
		c.what = "expect";
		for (size_t k = 0; k < nchecks; k++) {
			c.model = checks[k];
			free(mlb_template_expand(checks[k], check_lookup, &c));
		}
		for (size_t k = 0; k < c.nseen; k++)
			free(c.seen[k]);
		free(c.seen);
	}
}
