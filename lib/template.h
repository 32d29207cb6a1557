/*
 * template.h - pipeline templates (mlb-pipeline(5)): the JSON document, its
 * checks, the order of its steps and the {{placeholders}} of its prompts.
 *
 * mlb_template_parse() reads a template and records every problem it finds
 * (malformed JSON with its line and column, wrong types, unknown keys,
 * duplicate ids, needs of unknown steps, cycles) instead of stopping at the
 * first, so that one `mlb-pipeline validate` shows them all.  A problem is
 * one line: the file, the step and what to do about it.  Variables are then
 * set from the environment and the command line, and mlb_template_check()
 * finds the placeholders that name nothing.  Providers and keys are not
 * checked here: that needs the configuration (pipeline.h).
 *
 * Placeholders: {{name}} is a variable, or every output of a step that the
 * step needs; {{step.N}} the output of that step's Nth model.  Spaces are
 * allowed inside the braces.  {{{{ stands for a literal {{; any other {{
 * that does not open a placeholder is kept as it is.
 */
#ifndef MLB_TEMPLATE_H
#define MLB_TEMPLATE_H

#include <stdarg.h>
#include <stddef.h>
#include <json-c/json.h>

/* The longest step id: pane names, at most 64 characters, add "-<n>" to it. */
#define MLB_TEMPLATE_ID_MAX 60

/* Where a variable's value came from, in rising priority. */
enum mlb_var_source { MLB_VAR_TEMPLATE, MLB_VAR_ENV, MLB_VAR_OPTION, MLB_VAR_ROW };

struct mlb_tpl_var {
	char *name, *value;
	enum mlb_var_source source;
};

struct mlb_tpl_step {
	char *id;		/* NULL when the step has no usable id */
	char **needs;		/* the ids it needs, as written */
	size_t nneeds;
	int *need;		/* their indexes in steps, -1 for an unknown id */
	char **models;		/* as written, placeholders and all */
	size_t nmodels;
	char *prompt;		/* NULL for a summarize step */
	char *system;		/* or NULL */
	json_object *options;	/* request options, or NULL */
	char *summarize;	/* a summary format, or NULL */
	json_object *expect;	/* the checks of every answer (expect.h), or NULL */
	int wave;		/* 1 when it needs nothing, else one past its latest need; 0 in a cycle */
};

struct mlb_template {
	char *name;		/* "name", else the file's name without .json */
	char *description;	/* or NULL */
	char *label;		/* the file, as messages name it */
	json_object *json;	/* the document as read, or NULL when it is not JSON */
	struct mlb_tpl_var *vars;
	size_t nvars;
	struct mlb_tpl_step *steps;
	size_t nsteps;
	int nwaves;
	char **problems;	/* "<label>: step '<id>': <what>; <fix>", one a line */
	size_t nproblems;
};

/* Parse a template from text; never NULL, problems are in t->problems.  label names the file. */
struct mlb_template *mlb_template_parse(const char *text, size_t len, const char *label);
/* Record one more problem; the label is put in front. */
void mlb_template_problem(struct mlb_template *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mlb_template_free(struct mlb_template *t);

/* Whether name may be a step id, a variable or a template name: [A-Za-z0-9_-], 1 to 60 characters. */
int mlb_template_name_valid(const char *name);
/* Set a variable unless one from a higher source is set; -1 when the name is not valid. */
int mlb_template_set_var(struct mlb_template *t, const char *name, const char *value, enum mlb_var_source src);
/* Take every MLB_VAR_<name> of envp (NULL-terminated) as a variable. */
void mlb_template_env_vars(struct mlb_template *t, char *const *envp);
/* Set a variable from "name=value" (--var); -1 when malformed. */
int mlb_template_option_var(struct mlb_template *t, const char *kv);
/* A variable's value, or NULL. */
const char *mlb_template_var(const struct mlb_template *t, const char *name);

/* Check every placeholder against the variables and each step's needs; records problems. */
void mlb_template_check(struct mlb_template *t);

/* The index of the step called id, or -1. */
int mlb_template_step_index(const struct mlb_template *t, const char *id);
/* text with its variables filled in; other placeholders stay as written (caller frees). */
char *mlb_template_expand_vars(const struct mlb_template *t, const char *text);
/* A step's i-th model with its variables filled in (caller frees). */
char *mlb_template_model(const struct mlb_template *t, const struct mlb_tpl_step *s, size_t i);
/* The pane of a step's i-th model: "<step>" for a step of one model, else "<step>-<i+1>" (caller frees). */
char *mlb_template_pane(const struct mlb_tpl_step *s, size_t i);

/* The text for a placeholder: n is -1 for {{name}}, else the N of {{name.N}}; NULL keeps it as written. */
typedef char *(*mlb_tpl_lookup_fn)(void *ctx, const char *name, long n);
/* text with its placeholders replaced by what fn returns (caller frees, as fn's strings). */
char *mlb_template_expand(const char *text, mlb_tpl_lookup_fn fn, void *ctx);
/* text with every {{ written {{{{, so that it expands to itself (caller frees). */
char *mlb_template_escape(const char *text);

/* The candidate closest to word when it is a likely typo of it, or NULL. */
const char *mlb_template_nearest(const char *word, const char *const *cands, size_t n);

#endif
