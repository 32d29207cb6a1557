/*
 * store.h - sessions as git repositories (DESIGN.md, "Sessions").
 *
 * $MLB_HOME/sessions/<id>/ is an ordinary git repository with a work tree,
 * written through libgit2, whose branch main holds:
 *
 *     session.json            {"id", "name", "created", "status", "project"}
 *                             status: "active", "archived" or "completed";
 *                             project: absent when the session is in none
 *     panes/<pane>/pane.json  {"pane", "model", "options"}
 *     panes/<pane>/<name>.msg one message file per message (msgfile.h), named
 *                             by the time and a random part, as
 *                             20261208T013012.345Z-k3x9q2.msg
 *
 * The repository is shared with a person who uses git on it:
 * - Commits on main are mlb's record; every reader here reads them, never
 *   the work tree or the index.
 * - A writer holds the session lock (lock.h), builds its tree from main's
 *   last commit, commits, and moves main with a compare and swap (built
 *   again when someone else moved it).  Then the work tree and the index
 *   follow, adding the commit's files, only where that is safe; otherwise
 *   they are left alone and one line on stderr says how to catch up
 *   (store-worktree.c).  Nothing a person wrote, staged or left in conflict
 *   is ever touched; reading changes nothing on disk.
 * - Message names never collide between two clones, so sessions merge.
 *   A pane's messages are in name order: numbered ones of older sessions
 *   (000001.msg) first, then by time.
 * (doc/decisions.md, "Sessions are git's guest")
 *
 * Errors are reported on stderr as "<tool>: session '<id>': <what> (<why>)"
 * and returned as -1.
 */
#ifndef MLB_STORE_H
#define MLB_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "msgfile.h"

/* The longest session id or pane name. */
#define MLB_ID_MAX 64

/* What a session id or pane name may be, for messages. */
#define MLB_NAME_RULE "use letters, digits, '.', '_' and '-', at most 64, not starting with '.' or '-'"
/* Whether id is a session id: [A-Za-z0-9._-], 1..64 characters, not starting with '.' or '-'
 * (which a command line would take for an option: 'mlb-session rm -rf'). */
int mlb_session_id_valid(const char *id);
/* Whether pane is a pane name (the same rules as session ids). */
int mlb_pane_name_valid(const char *pane);
/* 0 if id is valid, else -1 after the one-line message that says what ids may be. */
int mlb_session_id_check(const char *id);
/* A new id that sorts by time: "20261122T023000Z-k3x9q2" (caller frees). */
char *mlb_session_new_id(void);
/* The directory that holds the sessions, $MLB_HOME/sessions (caller frees). */
char *mlb_sessions_dir(void);
/* Whether a session called id exists (id must be valid). */
int mlb_session_exists(const char *id);
/* The ids of every session, sorted (caller frees with mlb_strv_free); -1 after an error. */
int mlb_session_list(char ***ids, size_t *n);
/* The id of the most recently active session (by its last commit), or NULL if there is none (caller frees). */
char *mlb_session_latest(void);

struct mlb_session;

/* Open a session; with create, make it (session.json and a first commit) when missing.
 * Opening writes nothing.  -1 after a one-line error. */
int mlb_session_open(const char *id, int create, struct mlb_session **out);
/* Close a session opened with mlb_session_open (NULL is ignored). */
void mlb_session_close(struct mlb_session *s);
/* The session's id. */
const char *mlb_session_id(const struct mlb_session *s);
/* The session's directory (the repository's work tree). */
const char *mlb_session_path(const struct mlb_session *s);

/* session.json of main as a json-c object (caller puts), or NULL after an error. */
json_object *mlb_session_info(struct mlb_session *s);

/* What `mlb-session ls` shows beyond session.json. */
struct mlb_session_stats {
	size_t commits;		/* reachable from main, the first one included */
	int64_t last_ms;	/* commit time of main, ms since the epoch */
	char head[41];		/* main as hex */
};
/* Fill st from main's history; -1 after an error. */
int mlb_session_stats(struct mlb_session *s, struct mlb_session_stats *st);

/* The names of the panes in main, sorted (caller frees with mlb_strv_free). */
int mlb_session_panes(struct mlb_session *s, char ***panes, size_t *n);
/* pane.json of a pane as a json-c object (caller puts), or NULL when there is none. */
json_object *mlb_session_pane_info(struct mlb_session *s, const char *pane);
/* A pane's messages in order, read from main and parsed (free with mlb_msgfiles_free); a file
 * that does not parse is warned about and given as its raw bytes with no headers. */
int mlb_session_messages(struct mlb_session *s, const char *pane, struct mlb_msgfile **msgs, size_t *n);
/* The paths ("panes/<pane>/<name>.msg") of a pane's messages in the same order and, when commits is not
 * NULL, the hex id of the commit that added each one (both NULL-terminated; free with mlb_strv_free). */
int mlb_session_message_paths(struct mlb_session *s, const char *pane, char ***paths, char ***commits, size_t *n);
/* Call fn with the bytes of every message file of a pane in order; a non-zero return from fn stops and is returned. */
int mlb_session_each_file(struct mlb_session *s, const char *pane,
			  int (*fn)(const char *path, const char *data, size_t len, void *ctx), void *ctx);
/* Free an array of n messages. */
void mlb_msgfiles_free(struct mlb_msgfile *msgs, size_t n);

/* Messages to add to one pane in a commit. */
struct mlb_pane_append {
	const char *pane;
	const char *model;	/* provider:model for pane.json, or NULL to keep it */
	json_object *options;	/* request options for pane.json (borrowed), or NULL to keep them */
	struct mlb_msgfile *msgs;	/* Date, Message-Id and Content-Hash are filled in here */
	size_t nmsgs;
	char **paths_out;	/* NULL, or nmsgs slots for the paths written (caller frees each) */
};

/* One turn: append to one or more panes in ONE commit (named under the lock, later than main's);
 * commit_hex_out (may be NULL) gets the new commit.  -1 after an error, when nothing was stored. */
int mlb_session_commit(struct mlb_session *s, struct mlb_pane_append *appends, size_t n,
		       const char *commit_message, char commit_hex_out[41]);
/* Set session.json's "name" in a new commit. */
int mlb_session_set_name(struct mlb_session *s, const char *name, char commit_hex_out[41]);
/* Put the session in project (a name as mlb_session_id_valid), or take it out of its project with "", in a new commit. */
int mlb_session_set_project(struct mlb_session *s, const char *project, char commit_hex_out[41]);
/* Set session.json's "status" ("active", "archived", "completed") in a new commit. */
int mlb_session_set_status(struct mlb_session *s, const char *status, char commit_hex_out[41]);
/* Put the session in project unless it is there already (one commit when it moves); -1 after an error. */
int mlb_session_join_project(struct mlb_session *s, const char *project);
/* A new commit whose panes are as they were at rev (a commit id or any git revision); session.json stays. */
int mlb_session_restore(struct mlb_session *s, const char *rev, char commit_hex_out[41]);
/* A new session new_id whose history is s's up to rev (NULL: main), with "forked_from" in session.json. */
int mlb_session_fork(struct mlb_session *s, const char *new_id, const char *rev, struct mlb_session **out);
/* Write main's whole history as a git bundle (v2) that `git clone` reads. */
int mlb_session_export(struct mlb_session *s, FILE *out);
/* Make a new session from a bundle written by mlb_session_export; id NULL takes the id in its session.json. */
int mlb_session_import(FILE *in, const char *id, struct mlb_session **out);
/* Remove a session and all its history (waits for the lock so no writer is cut off). */
int mlb_session_remove(const char *id);

/* One commit of the history, as handed to the callback of mlb_session_log. */
struct mlb_commit_info {
	char hex[41];
	int64_t time_ms;
	const char *author;	/* "Name <email>" */
	const char *message;
};
/* Call fn for every commit reachable from main, newest first; fn's non-zero return stops the walk and is returned. */
int mlb_session_log(struct mlb_session *s, int (*fn)(const struct mlb_commit_info *c, void *ctx), void *ctx);

/* Call fn once for every message file in main's whole history, in no set order, each distinct file
 * once however many commits hold it, also those a restore, a merge or a commit by hand has since taken
 * out of main's tree; fn gets the pane, the file name and its bytes, and its non-zero return stops the
 * walk.  Cost: main's files, plus the files before each commit that may have taken some out (commits
 * by mlb tools other than restore only add).  -1 after an error (reported; the walk goes on past a file
 * that cannot be read). */
int mlb_session_each_message_ever(struct mlb_session *s,
				  int (*fn)(const char *pane, const char *name, const char *data, size_t len, void *ctx),
				  void *ctx);

#endif
