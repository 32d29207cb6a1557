/*
 * store-internal.h - what the files of the session store share, and no one
 * else: the only header besides them that includes libgit2.
 *
 *     store.c           ids, opening, creating, listing, removing sessions
 *     store-commit.c    the session lock, turns and other commits on main
 *     store-worktree.c  the work tree and index after a commit, as git's guest
 *     store-read.c      reading main: panes, messages, history
 *     store-bundle.c    fork, export and import
 */
#ifndef MLB_STORE_INTERNAL_H
#define MLB_STORE_INTERNAL_H

#include "store.h"

#include <git2.h>

#define MAIN_REF "refs/heads/main"
#define LOCK_TIMEOUT_DEFAULT 30.0

struct mlb_session {
	char *id;
	char *path;		/* the work tree */
	char *gitdir;		/* path/.git */
	git_repository *repo;
	int unpublished;	/* being built in a temporary directory: no one else's work tree yet */
};

/* store.c */
/* Report "session '<id>': <what>"; return -1. */
int store_err(const char *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report "session '<id>': <what> (<libgit2's reason>)"; return -1. */
int store_git_err(const char *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* libgit2 is reference counted: every opener pairs these two. */
void store_git_start(void);
void store_git_stop(void);
/* s fit for a one-line message: at most 80 bytes, control characters shown as '?'. */
const char *store_printable(const char *s, char out[96]);
/* n random characters from [a-z0-9] and a NUL. */
void store_random(char *out, size_t n);
/* $MLB_HOME/sessions/<id> (caller frees). */
char *store_session_dir(const char *id);
/* mkdir -p, private: conversations are nobody else's business. */
int store_make_dirs(const char *path);
/* rm -rf path; -1 after a one-line error. */
int store_remove_tree(const char *path);
struct mlb_session *store_session_new(const char *id, const char *path, git_repository *repo);
void store_session_free(struct mlb_session *s);
/* A fresh directory beside the sessions, where a session is built before it appears whole. */
char *store_temp_dir(const char *kind, const char *id);
/* A new empty repository at path whose HEAD is refs/heads/main. */
int store_init_repo(const char *id, const char *path, git_repository **out);
/* Make the session built in tmp appear as id, all at once: 0, 1 if id exists already, -1 on an error. */
int store_publish(const char *id, const char *tmp);

/* store-read.c */
/* The commit main points at: 1 with *id, 0 when main does not exist yet, -1 after an error. */
int store_read_main(struct mlb_session *s, git_oid *id);
/* main's commit and tree (both NULL when main does not exist yet): 1, 0 or -1 as store_read_main. */
int store_main_commit(struct mlb_session *s, git_commit **commit, git_tree **tree);
/* The subtree called name of tree, or NULL when there is none; -1 after an error. */
int store_subtree(struct mlb_session *s, git_tree *tree, const char *name, git_tree **out);
/* Parse the JSON object in blob entry name of tree; NULL when absent or not an object. */
json_object *store_json_in_tree(struct mlb_session *s, git_tree *tree, const char *name);
/* Resolve a revision (hex id, "main~2", ...) to a commit. */
int store_resolve(struct mlb_session *s, const char *rev, git_commit **out);
/* Whether name is a message file name, old ("000001.msg") or new ("20261208T013012.345Z-k3x9q2.msg"). */
int store_is_message_name(const char *name);
/* Message file names in their order: numbered ones by number, then the others by name (time). */
int store_message_name_cmp(const char *a, const char *b);

/* store-commit.c */
/* Builds the tree of a new commit from main's tree (NULL before the first commit), under the lock. */
typedef int (*store_build_fn)(struct mlb_session *s, git_tree *head, git_oid *tree_out, void *ctx);
/* Take the lock, build a tree, commit it on main (compare and swap, retried when main moved), then
 * update the work tree as a guest would.  The only commit path. */
int store_commit(struct mlb_session *s, store_build_fn build, void *ctx, const char *message, char hex_out[41]);
/* session.json changes: a function applied to the current session.json under the lock. */
struct store_info_job {
	void (*edit)(json_object *info, void *arg);
	void *arg;
	json_object *replace;	/* when set, session.json becomes this instead */
};
int store_build_info(struct mlb_session *s, git_tree *root, git_oid *out, void *ctx);
/* Take the session lock (waiting up to the lock timeout). */
int store_lock(struct mlb_session *s, int *fd);

/* store-worktree.c */
/* Before main moves from parent (NULL: none) to commit: note it in .git, so that a writer killed
 * before the work tree caught up leaves a trace for the next one. */
void store_worktree_intent(struct mlb_session *s, const git_oid *parent, const git_oid *commit);
/* After main moved from from (NULL: empty) to to: add to the work tree and the index what the commit
 * added, when that is safe, or leave both alone and say so in one line on stderr. */
void store_worktree_follow(struct mlb_session *s, git_commit *from, git_commit *to);
/* Under the lock, before a commit: finish the work-tree update of a writer that was killed. */
void store_worktree_recover(struct mlb_session *s);
/* Check out main into the work tree of a session no one else has seen yet. */
int store_worktree_fresh(struct mlb_session *s);

#endif
