/*
 * store-commit.c - the one way into a session's history: under the session
 * lock, a tree built from main's last commit, a commit on it, and main moved
 * to it with a compare and swap; then the work tree follows as a guest
 * (store-worktree.c).
 */
#include "store-internal.h"
#include "buf.h"
#include "clock.h"
#include "lock.h"
#include "event.h"
#include "msg.h"
#include "sha256.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Who held the session lock before us: the content of mlb.lock, "<pid> <sec>.<nsec>\n". */
struct holder {
	long pid;
	struct timespec since;
};

/* Read the previous holder from the lock file, and put ourselves in. */
static void swap_holder(int fd, struct holder *prev)
{
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long long sec = 0;
	long nsec = 0;
	struct timespec now;
	int len;

	prev->pid = 0;
	if (n > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "%ld %lld.%ld", &prev->pid, &sec, &nsec) != 3)
			prev->pid = 0;
	}
	prev->since.tv_sec = (time_t)sec;
	prev->since.tv_nsec = nsec;
	clock_gettime(CLOCK_REALTIME, &now);
	len = snprintf(buf, sizeof(buf), "%ld %lld.%09ld\n", (long)getpid(), (long long)now.tv_sec, now.tv_nsec);
	/* Only a hint for the next holder: without it, stale locks just take longer to clear. */
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len)
		return;
}

/* A git lock file left by a killed writer blocks every later one.  While we hold the session lock no
 * live mlb writer owns one, so one made while the previous holder had the lock, when that holder is
 * dead now, was that writer's and goes.  Any other is someone else's (a git command run by hand,
 * an editor's `git commit`): it is never taken away, and the commit goes around it. */
static void clear_stale_locks(struct mlb_session *s, const struct holder *prev)
{
	static const char *const names[] = { "index.lock", MAIN_REF ".lock", "HEAD.lock", "config.lock" };
	int dead = prev->pid > 0 && (prev->pid == (long)getpid() ||
				     (kill((pid_t)prev->pid, 0) < 0 && errno == ESRCH));
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *path = mlb_xasprintf("%s/%s", s->gitdir, names[i]);
		struct stat st;

		/* A second of slack: file times come from a coarser clock. */
		if (dead && lstat(path, &st) == 0 && st.st_mtim.tv_sec >= prev->since.tv_sec - 1)
			unlink(path);
		free(path);
	}
}

int store_lock(struct mlb_session *s, int *fd)
{
	char *path = mlb_xasprintf("%s/mlb.lock", s->gitdir);
	struct holder prev;
	int ret = 0;

	if (mlb_lock_acquire(path, mlb_lock_timeout(LOCK_TIMEOUT_DEFAULT), fd) < 0) {
		if (errno == ETIMEDOUT)
			ret = mlb_error("session '%s' is busy (locked by another writer); try again", s->id);
		else
			ret = store_err(s->id, "cannot lock '%s': %s", path, strerror(errno));
	}
	free(path);
	if (ret == 0) {
		swap_holder(*fd, &prev);
		clear_stale_locks(s, &prev);
	}
	return ret;
}


/* ---- committing ---- */

static int signature(struct mlb_session *s, git_signature **sig)
{
	if (git_signature_default(sig, s->repo) == 0)
		return 0;
	git_error_clear();
	if (git_signature_now(sig, "mlb", "mlb@localhost") < 0)
		return store_git_err(s->id, "cannot make a commit signature");
	return 0;
}

/* Attempts at moving main when someone else (a person's `git commit`) moves it meanwhile. */
#define CAS_TRIES 8

int store_commit(struct mlb_session *s, store_build_fn build, void *ctx, const char *message, char hex_out[41])
{
	git_commit *head = NULL, *made = NULL;
	git_tree *head_tree = NULL, *new_tree = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_oid tree_id, commit_id;
	char *msg = NULL, *reflog = NULL;
	const char *nl;
	int fd, have, ret = -1, tries, rc;

	if (store_lock(s, &fd) < 0)
		return -1;
	if (!s->unpublished)
		store_worktree_recover(s);
	if (signature(s, &sig) < 0)
		goto out;
	msg = mlb_xasprintf("%s%s", message, *message && message[strlen(message) - 1] == '\n' ? "" : "\n");
	nl = strchr(message, '\n');
	for (tries = 0;; tries++) {
		/* The tree is built from main's last commit, never from the index or the work tree. */
		have = store_main_commit(s, &head, &head_tree);
		if (have < 0 || build(s, head_tree, &tree_id, ctx) < 0)
			goto out;
		if (git_tree_lookup(&new_tree, s->repo, &tree_id) < 0) {
			store_git_err(s->id, "cannot read the new tree");
			goto out;
		}
		if (git_commit_create(&commit_id, s->repo, NULL, sig, sig, NULL, msg, new_tree,
				      have ? 1 : 0, (const git_commit **)&head) < 0) {
			store_git_err(s->id, "cannot create a commit");
			goto out;
		}
		free(reflog);
		reflog = mlb_xasprintf("commit%s: %.*s", have ? "" : " (initial)",
				       (int)(nl ? (size_t)(nl - message) : strlen(message)), message);
		if (!s->unpublished)
			store_worktree_intent(s, have ? git_commit_id(head) : NULL, &commit_id);
		/* Compare and swap: main moves only from the commit the tree was built on. */
		rc = have ? git_reference_create_matching(&ref, s->repo, MAIN_REF, &commit_id, 1,
							  git_commit_id(head), reflog)
			  : git_reference_create(&ref, s->repo, MAIN_REF, &commit_id, 0, reflog);
		if (rc == 0)
			break;
		if ((rc != GIT_EMODIFIED && rc != GIT_EEXISTS && rc != GIT_ELOCKED) || tries + 1 >= CAS_TRIES) {
			store_git_err(s->id, "cannot move %s to the new commit", MAIN_REF);
			goto out;
		}
		/* Someone moved main (or holds its lock) meanwhile: build again on what it is now. */
		git_error_clear();
		git_tree_free(new_tree);
		git_tree_free(head_tree);
		git_commit_free(head);
		new_tree = NULL;
		head_tree = NULL;
		head = NULL;
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
	/* Stored: from here on, the work tree and the index only follow when that is safe. */
	ret = 0;
	if (hex_out)
		git_oid_tostr(hex_out, 41, &commit_id);
	if (!s->unpublished) {
		if (git_commit_lookup(&made, s->repo, &commit_id) == 0)
			store_worktree_follow(s, have ? head : NULL, made);
		git_error_clear();
	}
out:
	free(reflog);
	free(msg);
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(new_tree);
	git_tree_free(head_tree);
	git_commit_free(made);
	git_commit_free(head);
	mlb_lock_release(fd);
	return ret;
}

/* A copy of tree (NULL: empty) with name set to id; *out the new tree's id. */
static int tree_with(struct mlb_session *s, git_tree *tree, const char *name, const git_oid *id,
		     git_filemode_t mode, git_oid *out)
{
	git_treebuilder *b;
	int ret = 0;

	if (git_treebuilder_new(&b, s->repo, tree) < 0)
		return store_git_err(s->id, "cannot start a tree");
	if (git_treebuilder_insert(NULL, b, name, id, mode) < 0)
		ret = store_git_err(s->id, "cannot put '%s' in a tree", name);
	else if (git_treebuilder_write(out, b) < 0)
		ret = store_git_err(s->id, "cannot write a tree");
	git_treebuilder_free(b);
	return ret;
}

/* json as session.json and pane.json are written: pretty, with a final newline. */
static char *json_file(json_object *o, size_t *len)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	char *text = mlb_xasprintf("%s\n", s), *r, *w;

	/* json-c spreads an empty {} or [] over two lines; a raw newline is never inside a string. */
	for (r = w = text; *r; ) {
		if ((*r == '{' || *r == '[') && r[1] == '\n') {
			char *q = r + 2;

			while (*q == ' ')
				q++;
			if (*q == (*r == '{' ? '}' : ']')) {
				*w++ = *r;
				*w++ = *q;
				r = q + 1;
				continue;
			}
		}
		*w++ = *r++;
	}
	*w = '\0';
	*len = (size_t)(w - text);
	return text;
}

/* The mode a file replaced in b keeps: a person's `chmod +x` stays theirs. */
static git_filemode_t keep_mode(git_treebuilder *b, const char *name)
{
	const git_tree_entry *e = git_treebuilder_get(b, name);

	return e && git_tree_entry_filemode(e) == GIT_FILEMODE_BLOB_EXECUTABLE ? GIT_FILEMODE_BLOB_EXECUTABLE
									      : GIT_FILEMODE_BLOB;
}

/* Store o as a blob and insert it as name into b. */
static int insert_json(struct mlb_session *s, git_treebuilder *b, const char *name, json_object *o)
{
	size_t len;
	char *text = json_file(o, &len);
	git_oid id;
	int ret = 0;

	if (git_blob_create_from_buffer(&id, s->repo, text, len) < 0)
		ret = store_git_err(s->id, "cannot store '%s'", name);
	else if (git_treebuilder_insert(NULL, b, name, &id, keep_mode(b, name)) < 0)
		ret = store_git_err(s->id, "cannot put '%s' in a tree", name);
	free(text);
	return ret;
}

/* Message file names: "<UTC time to the millisecond>-<random>.msg", as 20261208T013012.345Z-k3x9q2.msg.
 * They sort by time, and two clones that continue a session each add names the other cannot have, so
 * that `git pull` merges them without a conflict (Maildir's lesson).  Within a pane every new name
 * is later than the pane's last one, even when the clock went back. */
#define NAME_TIME_LEN 20	/* "20261208T013012.345Z" */

/* The time in ms of a message file name, or -1 for a name without one (a numbered one). */
static int64_t name_ms(const char *name)
{
	struct tm tm;
	int ms;

	memset(&tm, 0, sizeof(tm));
	if (strlen(name) < NAME_TIME_LEN + 1 || name[8] != 'T' || name[15] != '.' || name[19] != 'Z' ||
	    sscanf(name, "%4d%2d%2dT%2d%2d%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

/* The time of the pane's newest message name: names only, no file is read. */
static int64_t last_ms(git_tree *pane)
{
	size_t i, n = pane ? git_tree_entrycount(pane) : 0;
	int64_t max = -1, t;

	for (i = 0; i < n; i++)
		if ((t = name_ms(git_tree_entry_name(git_tree_entry_byindex(pane, i)))) > max)
			max = t;
	return max;
}

/* A new message file name at ms. */
static void message_name(int64_t ms, char name[48])
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	char ts[24], rnd[8];

	gmtime_r(&sec, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%S", &tm);
	store_random(rnd, 6);
	snprintf(name, 48, "%s.%03dZ-%s.msg", ts, (int)(ms % 1000), rnd);
}

/* Fill in what every stored message carries: Date, Message-Id, a right Content-Hash. */
static void complete_message(struct mlb_session *s, const char *pane, const char *name, struct mlb_msgfile *m)
{
	static const char *const first[] = { "Role", "Model", "Date", "Message-Id", "Content-Hash", NULL };
	char hash[72], date[32];

	if (!mlb_msgfile_get(m, "Date")) {
		mlb_now_rfc3339(date);
		mlb_msgfile_set(m, "Date", date);
	}
	if (!mlb_msgfile_get(m, "Message-Id")) {
		char *mid = mlb_xasprintf("<%.*s.%s.%s@mlb>", (int)(strlen(name) - 4), name, pane, s->id);

		mlb_msgfile_set(m, "Message-Id", mid);
		free(mid);
	}
	mlb_content_hash(m->content, m->content_len, hash);
	mlb_msgfile_set(m, "Content-Hash", hash);
	/* Whatever order the writer set them in, every file starts the same way. */
	mlb_msgfile_order(m, first);
}

/* pane.json for an append: written for a new pane, rewritten when the model or options change. */
static int pane_json(struct mlb_session *s, git_tree *pt, git_treebuilder *b, const struct mlb_pane_append *a)
{
	json_object *old = store_json_in_tree(s, pt, "pane.json"), *o, *v;
	int ret;

	if (old && !a->model && !a->options) {
		json_object_put(old);
		return 0;
	}
	o = json_object_new_object();
	mlb_json_set_str(o, "pane", a->pane);
	if (a->model)
		mlb_json_set_str(o, "model", a->model);
	else if (old && json_object_object_get_ex(old, "model", &v))
		json_object_object_add(o, "model", json_object_get(v));
	else
		mlb_json_set_str(o, "model", NULL);
	if (a->options)
		json_object_object_add(o, "options", json_object_get(a->options));
	else if (old && json_object_object_get_ex(old, "options", &v))
		json_object_object_add(o, "options", json_object_get(v));
	else
		json_object_object_add(o, "options", json_object_new_object());
	/* An unchanged pane.json makes the same blob: the tree entry simply stays. */
	ret = insert_json(s, b, "pane.json", o);
	json_object_put(o);
	json_object_put(old);
	return ret;
}

/* Add one pane's messages to the panes tree being built. */
static int append_pane(struct mlb_session *s, git_treebuilder *panes, struct mlb_pane_append *a)
{
	const git_tree_entry *e = git_treebuilder_get(panes, a->pane);
	git_treebuilder *b = NULL;
	git_tree *pt = NULL;
	git_oid id;
	int64_t at;
	size_t j;
	int ret = -1;

	if (e && git_tree_entry_type(e) != GIT_OBJECT_TREE)
		return store_err(s->id, "panes/%s is not a directory", a->pane);
	if (e && git_tree_lookup(&pt, s->repo, git_tree_entry_id(e)) < 0)
		return store_git_err(s->id, "cannot read pane '%s'", a->pane);
	/* Later than the pane's last message, and one millisecond apart, so that the turn's messages keep
	 * their order. */
	at = mlb_wall_ms();
	if (at <= last_ms(pt))
		at = last_ms(pt) + 1;
	if (git_treebuilder_new(&b, s->repo, pt) < 0) {
		store_git_err(s->id, "cannot start a tree");
		goto out;
	}
	if (pane_json(s, pt, b, a) < 0)
		goto out;
	for (j = 0; j < a->nmsgs; j++, at++) {
		struct mlb_msgfile *m = &a->msgs[j];
		char name[48], *bytes;
		size_t len;
		int rc;

		message_name(at, name);
		complete_message(s, a->pane, name, m);
		bytes = mlb_msgfile_format(m, &len);
		rc = git_blob_create_from_buffer(&id, s->repo, bytes, len);
		free(bytes);
		if (rc < 0) {
			store_git_err(s->id, "cannot store panes/%s/%s", a->pane, name);
			goto out;
		}
		if (git_treebuilder_insert(NULL, b, name, &id, GIT_FILEMODE_BLOB) < 0) {
			store_git_err(s->id, "cannot put panes/%s/%s in a tree", a->pane, name);
			goto out;
		}
		if (a->paths_out) {
			free(a->paths_out[j]);	/* from an attempt before main moved */
			a->paths_out[j] = mlb_xasprintf("panes/%s/%s", a->pane, name);
		}
	}
	if (git_treebuilder_write(&id, b) < 0) {
		store_git_err(s->id, "cannot write the tree of pane '%s'", a->pane);
		goto out;
	}
	if (git_treebuilder_insert(NULL, panes, a->pane, &id, GIT_FILEMODE_TREE) < 0) {
		store_git_err(s->id, "cannot put pane '%s' in a tree", a->pane);
		goto out;
	}
	ret = 0;
out:
	git_treebuilder_free(b);
	git_tree_free(pt);
	return ret;
}

struct append_job {
	struct mlb_pane_append *appends;
	size_t n;
};

static int build_append(struct mlb_session *s, git_tree *root, git_oid *out, void *ctx)
{
	struct append_job *job = ctx;
	git_treebuilder *pb = NULL;
	git_tree *panes = NULL;
	git_oid id;
	size_t i;
	int ret = -1;

	if (store_subtree(s, root, "panes", &panes) < 0)
		return -1;
	if (git_treebuilder_new(&pb, s->repo, panes) < 0) {
		store_git_err(s->id, "cannot start a tree");
		goto out;
	}
	/* Only the panes written to get new trees; the others keep theirs untouched. */
	for (i = 0; i < job->n; i++)
		if (append_pane(s, pb, &job->appends[i]) < 0)
			goto out;
	if (git_treebuilder_write(&id, pb) < 0) {
		store_git_err(s->id, "cannot write the panes tree");
		goto out;
	}
	ret = tree_with(s, root, "panes", &id, GIT_FILEMODE_TREE, out);
out:
	git_treebuilder_free(pb);
	git_tree_free(panes);
	return ret;
}

int mlb_session_commit(struct mlb_session *s, struct mlb_pane_append *appends, size_t n,
		       const char *commit_message, char commit_hex_out[41])
{
	struct append_job job = { appends, n };
	char *msg = NULL;
	size_t i, j;
	int ret;

	if (n == 0)
		return store_err(s->id, "nothing to commit: no pane to append to");
	for (i = 0; i < n; i++) {
		if (!mlb_pane_name_valid(appends[i].pane)) {
			char shown[96];

			return store_err(s->id, "invalid pane name '%s': " MLB_NAME_RULE,
				    store_printable(appends[i].pane ? appends[i].pane : "", shown));
		}
		if (appends[i].paths_out)
			for (j = 0; j < appends[i].nmsgs; j++)
				appends[i].paths_out[j] = NULL;
	}
	if (!commit_message || !*commit_message) {
		struct mlb_buf b = MLB_BUF_INIT;

		mlb_buf_adds(&b, "mlb: append to");
		for (i = 0; i < n; i++)
			mlb_buf_addf(&b, "%s%s", i ? ", " : " ", appends[i].pane);
		commit_message = msg = mlb_buf_detach(&b);
	}
	ret = store_commit(s, build_append, &job, commit_message, commit_hex_out);
	if (ret < 0)
		for (i = 0; i < n; i++)
			if (appends[i].paths_out)
				for (j = 0; j < appends[i].nmsgs; j++) {
					free(appends[i].paths_out[j]);
					appends[i].paths_out[j] = NULL;
				}
	free(msg);
	return ret;
}

int store_build_info(struct mlb_session *s, git_tree *root, git_oid *out, void *ctx)
{
	struct store_info_job *job = ctx;
	git_treebuilder *b = NULL;
	json_object *info;
	int ret = -1;

	if (job->replace)
		info = json_object_get(job->replace);
	else if (!(info = store_json_in_tree(s, root, "session.json")))
		return store_err(s->id, "session.json is missing or not a JSON object");
	if (job->edit)
		job->edit(info, job->arg);
	if (git_treebuilder_new(&b, s->repo, root) < 0)
		store_git_err(s->id, "cannot start a tree");
	else if (insert_json(s, b, "session.json", info) == 0) {
		if (git_treebuilder_write(out, b) < 0)
			store_git_err(s->id, "cannot write a tree");
		else
			ret = 0;
	}
	git_treebuilder_free(b);
	json_object_put(info);
	return ret;
}

static void edit_name(json_object *info, void *arg)
{
	mlb_json_set_str(info, "name", arg);
}

int mlb_session_set_name(struct mlb_session *s, const char *name, char commit_hex_out[41])
{
	struct store_info_job job = { edit_name, (void *)name, NULL };
	char *msg = mlb_xasprintf("mlb: name the session '%s'", name);
	int ret = store_commit(s, store_build_info, &job, msg, commit_hex_out);

	free(msg);
	return ret;
}

/* One member of session.json to set, or to take out when value is "". */
struct info_member {
	const char *key, *value;
};

static void edit_member(json_object *info, void *arg)
{
	const struct info_member *m = arg;

	if (*m->value)
		mlb_json_set_str(info, m->key, m->value);
	else
		json_object_object_del(info, m->key);
}

static int set_member(struct mlb_session *s, const char *key, const char *value, const char *msg,
		      char commit_hex_out[41])
{
	struct info_member m = { key, value };
	struct store_info_job job = { edit_member, &m, NULL };

	return store_commit(s, store_build_info, &job, msg, commit_hex_out);
}

int mlb_session_set_project(struct mlb_session *s, const char *project, char commit_hex_out[41])
{
	char *msg = *project ? mlb_xasprintf("mlb: move the session to project '%s'", project)
			     : mlb_xstrdup("mlb: take the session out of its project");
	int ret = set_member(s, "project", project, msg, commit_hex_out);

	free(msg);
	return ret;
}

int mlb_session_set_status(struct mlb_session *s, const char *status, char commit_hex_out[41])
{
	char *msg = mlb_xasprintf("mlb: mark the session %s", status);
	int ret = set_member(s, "status", status, msg, commit_hex_out);

	free(msg);
	return ret;
}


struct restore_job {
	git_tree *tree;
};

static int build_restore(struct mlb_session *s, git_tree *root, git_oid *out, void *ctx)
{
	struct restore_job *job = ctx;
	const git_tree_entry *info = root ? git_tree_entry_byname(root, "session.json") : NULL;

	/* The panes go back; session.json (id, name) is the session's now, not then. */
	if (!info) {
		git_oid_cpy(out, git_tree_id(job->tree));
		return 0;
	}
	return tree_with(s, job->tree, "session.json", git_tree_entry_id(info), GIT_FILEMODE_BLOB, out);
}

int mlb_session_restore(struct mlb_session *s, const char *rev, char commit_hex_out[41])
{
	struct restore_job job = { NULL };
	git_commit *c;
	char hex[GIT_OID_HEXSZ + 1], *msg;
	int ret;

	if (store_resolve(s, rev, &c) < 0)
		return -1;
	if (git_commit_tree(&job.tree, c) < 0) {
		git_commit_free(c);
		return store_git_err(s->id, "cannot read the tree of %s", rev);
	}
	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	msg = mlb_xasprintf("mlb: restore the panes of %.12s\n\nRestored-From: %s\n", hex, hex);
	ret = store_commit(s, build_restore, &job, msg, commit_hex_out);
	free(msg);
	git_tree_free(job.tree);
	git_commit_free(c);
	return ret;
}


int mlb_session_join_project(struct mlb_session *s, const char *project)
{
	json_object *info = mlb_session_info(s);
	const char *now;
	int same;

	if (!info)
		return -1;
	now = mlb_json_str(info, "project");
	same = now ? !strcmp(now, project) : !*project;
	json_object_put(info);
	return same ? 0 : mlb_session_set_project(s, project, NULL);
}
