/*
 * pipeline.h - running pipeline templates (template.h), and keeping them.
 *
 * A run makes every step a broadcast to its models (turn.h) and runs them
 * all in ONE runner: a step starts, from the runner's on_done hook, as soon
 * as the steps it needs have ended, so independent steps overlap and a slow
 * step holds back only the steps that need it.  Each step is stored as one
 * commit in the run's session.  A step in which no model answered fails,
 * and the steps that need it, directly or not, are skipped; the others go
 * on.  A budget stops the run: what runs is cancelled and nothing new
 * starts.  Every event carries the run id and the step ("step"), and each
 * step reports itself with a status event (stage step_start, step_done,
 * step_failed, step_cancelled or step_skipped).
 *
 * Templates are named by a path, or by a name looked up first in the
 * user's ${XDG_CONFIG_HOME:-~/.config}/mlb/pipelines/ and then in the
 * shipped share/mlb/pipelines/.  $MLB_HOME/pipeline-usage.json counts the
 * runs of each template; $MLB_HOME/locks/<name>.lock keeps one from
 * running twice at once (--lock).
 */
#ifndef MLB_PIPELINE_H
#define MLB_PIPELINE_H

#include <stdio.h>

#include "config.h"
#include "price.h"
#include "rows.h"
#include "run.h"
#include "template.h"

struct mlb_pipeline_opts {
	const char *session;	/* the session to store in; NULL: a new one */
	const char *project;	/* put that session in this project ("": in none), or NULL to leave it */
	double budget;		/* USD; 0: none */
	FILE *log;		/* where every event is appended as well, or NULL */
	struct mlb_policy policy;
	const struct mlb_prices *prices;
	const struct mlb_rows *rows;	/* run once a row (--rows), or NULL */
	int jobs;		/* rows at once */
	long shard_i, shard_n;	/* run the rows whose index - 1 modulo shard_n is shard_i; shard_n 0: all */
	const char *junit;	/* write a JUnit report there, or NULL */
	const char *html;	/* write the HTML report there (report-html.h), or NULL */
	const char *record, *replay;	/* keep exchanges there, answer from there (replay.h), or NULL */
};

/* The user's template directory, ${XDG_CONFIG_HOME:-~/.config}/mlb/pipelines (caller frees). */
char *mlb_pipeline_user_dir(void);
/* The file that arg names: a path (holding a '/' or ending in .json), else a template name; NULL after a one-line error. */
char *mlb_pipeline_find(const char *arg);
/* Find, read and parse the template arg names; NULL after a one-line error.  Its problems are in t->problems. */
struct mlb_template *mlb_pipeline_load(const char *arg);
/* Check each model: provider:model, a known provider and, with keys, a key; records problems in t. */
void mlb_pipeline_check_models(const struct mlb_config *cfg, struct mlb_template *t, int keys);
/* Print t's problems on stderr, one a line; their number. */
size_t mlb_pipeline_report(const struct mlb_template *t);

/* Run a template that has no problems; the exit status (0, 1, 3, 4, 5 or 130, as mlb-pipeline(1) says). */
int mlb_pipeline_run(const struct mlb_config *cfg, struct mlb_template *t, const struct mlb_pipeline_opts *o);
/* A row's own copy of base, its variables the row's, checked: its problems are in ->problems (caller frees). */
struct mlb_template *mlb_pipeline_row_template(const struct mlb_config *cfg, const struct mlb_template *base,
					       const struct mlb_row *row);
/* Problem i of a row's template, without the template's name in front. */
const char *mlb_pipeline_row_problem(const struct mlb_template *t, size_t i);
/* Print the order and every prompt, with step outputs as «output of <step>»; send nothing. */
int mlb_pipeline_dry_run(const struct mlb_template *t);
/* Print the template and its order of waves. */
int mlb_pipeline_show(const struct mlb_template *t, const char *path);

/* Take the template's run lock without waiting: 0 with *fd set, else -1 after a one-line error. */
int mlb_pipeline_lock(const char *name, int *fd);
/* Add one to the template's usage count, atomically; -1 after a warning. */
int mlb_pipeline_count_use(const char *name);

/* Print the templates known by name, with descriptions and usage counts. */
int mlb_pipeline_list(void);
/* Make a template of a session's prompts and models, one step a turn; an exit status. */
int mlb_pipeline_save(const char *session, const char *name, int force);
/* Check a template file and copy it into the user's directory (as name, if not NULL); an exit status. */
int mlb_pipeline_import(const struct mlb_config *cfg, const char *file, const char *name, int force);
/* Write a template's file to stdout as it is; an exit status. */
int mlb_pipeline_export(const char *arg);

#endif
