/*
 * turn.h - one turn of a conversation, for one pane or many at once.
 *
 * For each pane: load its history from the session (system prompt and every
 * earlier message), add the new user message, and send it to the pane's
 * model.  All panes stream concurrently through one runner.  When they have
 * ended, the user messages and the replies (whole, partial or cancelled) are
 * stored in ONE commit, and each pane gets its final and meter events.
 * mlb-send, mlb-broadcast, mlb-summarize and mlb-pipeline stand on this.
 */
#ifndef MLB_TURN_H
#define MLB_TURN_H

#include "config.h"
#include "price.h"
#include "run.h"

/* Where a moved message came from (send-to); all strings may be NULL. */
struct mlb_provenance {
	char *session, *pane, *model, *ts, *hash;
	char *content;		/* the moved text */
	long bad_lines;		/* malformed lines read on the way (--from -) */
	struct mlb_provenance *next;	/* the next moved message (--from <pane>:2-5, :all), or NULL */
};

struct mlb_turn_state;

/* One pane's part of the turn. */
struct mlb_pane_turn {
	char *pane;		/* the pane's name */
	char *model;		/* provider:model */
	char *prompt;		/* the new user message */
	struct mlb_provenance *from;	/* set for send-to: headers on the user message; the
					 * further moved messages (from->next) are user messages of their own */
	char *extra_headers;	/* "Name: value\n" lines added to the user message, or NULL */
	/* Set by mlb_turn_prepare from the model as named: */
	json_object *options;	/* the request options of this pane */
	char *system;		/* its own system prompt (the model's default role), or NULL */
	char *role;		/* the name of the role its system prompt came from, or NULL */
	char **fallbacks;	/* the models to ask if its own fails before its first token */
	size_t nfallbacks, next_fallback;
	/* Results. */
	struct mlb_job job;
	struct mlb_token_line tokens;	/* the start of its token events */
	char *message_path;	/* the stored reply, relative to the session */
	struct mlb_turn_state *turn;	/* the turn it belongs to, set by mlb_turn_prepare */
};

struct mlb_turn_opts {
	const char *tool;		/* names the commit */
	char *session;			/* id; NULL makes a new one when storing */
	const char *project;		/* put the session in this project ("": in none), or NULL to leave it */
	int store;			/* write the turn to the session */
	const char *system;		/* a system prompt for every pane, or NULL */
	const char *role;		/* the role it came from (-S @name), or NULL */
	json_object *role_options;	/* that role's request options, below -o; or NULL */
	json_object *options;		/* request options (-o), or NULL */
	char *const *fallbacks;		/* --fallback models, NULL-terminated, before each model's own; or NULL */
	const char *run;		/* a run id for the events, or NULL */
	struct mlb_policy policy;
	double deadline_s;		/* cancel what runs after this, 0: none */
	int first;			/* stop when the first pane finishes */
	int quorum;			/* stop after this many panes finished, 0: off */
	const struct mlb_prices *prices;
	double budget;			/* USD: cancel the rest once finished replies cost this much, 0: off */
	mlb_emit_fn emit;		/* where events go; NULL: mlb_turn_print */
	void *emit_ctx;
	void (*tick)(void *emit_ctx);	/* called at least every 100 ms while the turn runs, or NULL */
	int quiet;			/* no "session <id>" line on stderr */
};

/* The outcome of a turn. */
struct mlb_turn_result {
	int ok, failed, cancelled;
	int interrupted;	/* the signal that cut the turn short, or 0 */
	int store_failed;
	int over_budget;
	char commit[41];
};

/* Run the turn; the exit status (DESIGN.md): 0, 1 none succeeded, 3 some failed, 128+N stopped by signal N. */
int mlb_turn_run(const struct mlb_config *cfg, struct mlb_turn_opts *o,
		 struct mlb_pane_turn *panes, size_t n, struct mlb_turn_result *res);

/*
 * The same turn in pieces, for several turns at once in one runner (the
 * steps of a pipeline).  Prepare each turn, start it on the shared runner
 * (before it runs, or from its on_done hook while it runs), pass the
 * runner's events to mlb_turn_event and its ends of jobs to mlb_turn_done,
 * and finish each turn once mlb_turn_ended says all its panes ended.
 * --first and --quorum (o->first, o->quorum) cancel every job of the runner,
 * not only the turn's own.
 */

/* Resolve the models (aliases, options after the model, [model] defaults: see modelspec.h), open the session and build each pane's request; NULL with *status set after an error. */
struct mlb_turn_state *mlb_turn_prepare(const struct mlb_config *cfg, struct mlb_turn_opts *o,
					struct mlb_pane_turn *panes, size_t n, int *status);
/* Queue the turn's jobs on r, which may already be running. */
void mlb_turn_start(struct mlb_turn_state *t, struct mlb_runner *r);
/* A runner's emit hook: hands each event to the emit hook of the job's turn (ctx unused). */
void mlb_turn_event(void *ctx, struct mlb_job *job, json_object *ev);
/* A runner's on_done hook: records the end in the job's turn; non-zero when --first/--quorum is met (ctx unused). */
int mlb_turn_done(void *ctx, struct mlb_job *job);
/* Whether every pane of the turn has ended. */
int mlb_turn_ended(const struct mlb_turn_state *t);
/* Store the turn in one commit and emit each pane's final and meter events; mlb_turn_run's exit status. */
int mlb_turn_finish(struct mlb_turn_state *t, int interrupted, struct mlb_turn_result *res);
/* Release a prepared turn (not its panes). */
void mlb_turn_free(struct mlb_turn_state *t);

/* The default event hook: events in a pipe (or --json); text on a terminal for one pane. */
void mlb_turn_print(void *ctx, struct mlb_job *job, json_object *ev);

/* A pane name from a model spec: "openai:gpt-4o" -> "openai-gpt-4o". */
char *mlb_pane_from_model(const char *model);

/* The pane of session whose last message is the newest (what -c continues), or NULL. */
char *mlb_last_pane(const char *session);

/* The model to use: explicit, else the pane's stored model, else MLB_MODEL, else core.model; an alias expanded. */
char *mlb_default_model(const struct mlb_config *cfg, const char *explicit_model,
			const char *session, const char *pane);

/* Load and validate the price table and the config's [price "<model>"] entries; never NULL. */
struct mlb_prices *mlb_prices_default(const struct mlb_config *cfg);

void mlb_pane_turn_clear(struct mlb_pane_turn *p);
void mlb_provenance_free(struct mlb_provenance *p);

#endif
