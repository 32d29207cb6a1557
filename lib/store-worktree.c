/*
 * store-worktree.c - after a commit on main, the work tree and the index
 * follow, as a guest in a repository a person uses too.
 *
 * The files the commit added or changed are written into the work tree and
 * recorded in the index only when all of this holds: HEAD is main (so it was
 * at the commit's parent), no merge, rebase, cherry-pick, revert or bisect is
 * in progress, the checkout is not sparse, index.lock can be had without
 * taking it from anyone, the index is of a kind that can be updated
 * correctly (a plain one here, others through libgit2; a split or sparse
 * index is left alone), and every path is as the parent commit had it in
 * both the index and the work tree.  Then everything is updated, else
 * nothing, and one line on stderr says what was not and how to catch up.
 * Nothing else is ever written, removed, staged or resolved.
 *
 * A writer killed between moving main and updating the index leaves
 * .git/mlb-intent behind; the next writer, under the session lock, does
 * the update it did not finish, by the same rules.
 */
#include "store-internal.h"
#include "file.h"
#include "gitindex.h"
#include "msg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INTENT "mlb-intent"	/* in .git: "<parent hex or 0> <commit hex>" of a commit being followed */
/* How long to wait for another holder of index.lock: git add, or an editor refreshing its status,
 * keeps it for milliseconds; a `git commit` waiting for its message keeps it for good. */
#define LOCK_TRIES 25
#define LOCK_PAUSE_NS (20 * 1000 * 1000)

/* One path the commit changed. */
struct change {
	char *path;
	git_delta_t status;	/* ADDED, MODIFIED or DELETED */
	git_oid old_id, new_id;
	uint32_t old_mode, new_mode;
	int done;		/* already as the commit has it (a killed writer got that far) */
};

struct follow {
	struct mlb_session *s;
	struct change *v;
	size_t n;
	int recovering;
	char why[256];		/* what kept the work tree from following */
	/* the index */
	char *index_path, *lock_path, *copy_path;
	int lock_fd;
	struct mlb_index plain;
	git_index *other;	/* a copy of an index that is not plain, through libgit2 */
};

static int why(struct follow *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int why(struct follow *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	return -1;
}

static char *in_gitdir(struct mlb_session *s, const char *name)
{
	return mlb_xasprintf("%s/%s", s->gitdir, name);
}

/* ---- what the commit changed ---- */

static void add_change(struct follow *f, const char *path, git_delta_t status, const git_tree_entry *a,
		       const git_tree_entry *b)
{
	struct change *c;

	f->v = mlb_xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
	c = &f->v[f->n++];
	memset(c, 0, sizeof(*c));
	c->path = mlb_xstrdup(path);
	c->status = status;
	if (a) {
		git_oid_cpy(&c->old_id, git_tree_entry_id(a));
		c->old_mode = git_tree_entry_filemode(a);
	}
	if (b) {
		git_oid_cpy(&c->new_id, git_tree_entry_id(b));
		c->new_mode = git_tree_entry_filemode(b);
	}
}

static int diff_trees(struct follow *f, git_tree *a, git_tree *b, const char *prefix);

/* One name of the two trees: a file added, changed or removed, or a subtree to go into. */
static int diff_entry(struct follow *f, const git_tree_entry *a, const git_tree_entry *b, const char *prefix)
{
	const char *name = git_tree_entry_name(a ? a : b);
	char *path = *prefix ? mlb_xasprintf("%s/%s", prefix, name) : mlb_xstrdup(name);
	int ta = a && git_tree_entry_type(a) == GIT_OBJECT_TREE, tb = b && git_tree_entry_type(b) == GIT_OBJECT_TREE;
	git_tree *x = NULL, *y = NULL;
	int ret = 0;

	if (a && b && git_oid_equal(git_tree_entry_id(a), git_tree_entry_id(b)) &&
	    git_tree_entry_filemode(a) == git_tree_entry_filemode(b))
		goto out;
	if ((a && !ta && b && tb) || (a && ta && b && !tb)) {
		ret = why(f, "%s changed kind", path);
	} else if (ta || tb) {
		if ((ta && git_tree_lookup(&x, f->s->repo, git_tree_entry_id(a)) < 0) ||
		    (tb && git_tree_lookup(&y, f->s->repo, git_tree_entry_id(b)) < 0))
			ret = why(f, "cannot read the tree of %s", path);
		else
			ret = diff_trees(f, x, y, path);
	} else if (a && b && (git_tree_entry_type(a) != GIT_OBJECT_BLOB || git_tree_entry_type(b) != GIT_OBJECT_BLOB)) {
		ret = why(f, "%s is not a file", path);
	} else {
		add_change(f, path, !a ? GIT_DELTA_ADDED : !b ? GIT_DELTA_DELETED : GIT_DELTA_MODIFIED, a, b);
	}
out:
	git_tree_free(x);
	git_tree_free(y);
	free(path);
	return ret;
}

/* Git's order of tree entries: by name, a subtree's name as if it ended in '/' ("a.b" before "a/"). */
static int entry_cmp(const git_tree_entry *x, const git_tree_entry *y)
{
	const char *a = git_tree_entry_name(x), *b = git_tree_entry_name(y);
	size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;
	int c = memcmp(a, b, n);
	unsigned char ca, cb;

	if (c)
		return c;
	ca = n < la ? (unsigned char)a[n] : git_tree_entry_type(x) == GIT_OBJECT_TREE ? '/' : 0;
	cb = n < lb ? (unsigned char)b[n] : git_tree_entry_type(y) == GIT_OBJECT_TREE ? '/' : 0;
	if (ca != cb)
		return ca < cb ? -1 : 1;
	/* The same name: a file and a subtree of that name are one path that changed kind. */
	return la < lb ? -1 : la > lb ? 1 : 0;
}

/* The files that differ between two trees (NULL: empty), both in git's order. */
static int diff_trees(struct follow *f, git_tree *a, git_tree *b, const char *prefix)
{
	size_t i = 0, j = 0, na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0;

	while (i < na || j < nb) {
		const git_tree_entry *x = i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *y = j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int c = !x ? 1 : !y ? -1 : strcmp(git_tree_entry_name(x), git_tree_entry_name(y)) ? entry_cmp(x, y) : 0;

		if (diff_entry(f, c <= 0 ? x : NULL, c >= 0 ? y : NULL, prefix) < 0)
			return -1;
		i += c <= 0;
		j += c >= 0;
	}
	return 0;
}

/* The files that differ between the trees of from (NULL: none) and to.  Subtrees that stayed the
 * same are not looked into, so the cost is that of the panes written to. */
static int changes(struct follow *f, git_commit *from, git_commit *to)
{
	git_tree *a = NULL, *b = NULL;
	int ret = -1;

	if ((from && git_commit_tree(&a, from) < 0) || git_commit_tree(&b, to) < 0)
		why(f, "cannot read the commit's tree (%s)", git_error_last() ? git_error_last()->message : "?");
	else
		ret = diff_trees(f, a, b, "");
	git_tree_free(a);
	git_tree_free(b);
	return ret;
}

/* ---- whether the work tree is main's ---- */

static int state_ok(struct follow *f)
{
	static const char *const states[] = {
		[GIT_REPOSITORY_STATE_MERGE] = "a merge is in progress",
		[GIT_REPOSITORY_STATE_REVERT] = "a revert is in progress",
		[GIT_REPOSITORY_STATE_REVERT_SEQUENCE] = "a revert is in progress",
		[GIT_REPOSITORY_STATE_CHERRYPICK] = "a cherry-pick is in progress",
		[GIT_REPOSITORY_STATE_CHERRYPICK_SEQUENCE] = "a cherry-pick is in progress",
		[GIT_REPOSITORY_STATE_BISECT] = "a bisect is in progress",
		[GIT_REPOSITORY_STATE_REBASE] = "a rebase is in progress",
		[GIT_REPOSITORY_STATE_REBASE_INTERACTIVE] = "a rebase is in progress",
		[GIT_REPOSITORY_STATE_REBASE_MERGE] = "a rebase is in progress",
		[GIT_REPOSITORY_STATE_APPLY_MAILBOX] = "a git am is in progress",
		[GIT_REPOSITORY_STATE_APPLY_MAILBOX_OR_REBASE] = "a rebase is in progress",
	};
	git_reference *head = NULL;
	int st = git_repository_state(f->s->repo), sparse = 0;
	git_config *cfg = NULL;

	if (st > 0 && (size_t)st < sizeof(states) / sizeof(states[0]) && states[st])
		return why(f, "%s", states[st]);
	if (st != GIT_REPOSITORY_STATE_NONE)
		return why(f, "a git operation is in progress");
	if (git_reference_lookup(&head, f->s->repo, "HEAD") < 0) {
		git_error_clear();
		return why(f, "HEAD cannot be read");
	}
	if (git_reference_type(head) != GIT_REFERENCE_SYMBOLIC) {
		git_reference_free(head);
		return why(f, "HEAD is detached");
	}
	if (strcmp(git_reference_symbolic_target(head), MAIN_REF) != 0) {
		why(f, "HEAD is on '%s', not main", git_reference_symbolic_target(head) +
		    (strncmp(git_reference_symbolic_target(head), "refs/heads/", 11) ? 0 : 11));
		git_reference_free(head);
		return -1;
	}
	git_reference_free(head);
	if (git_repository_config_snapshot(&cfg, f->s->repo) == 0) {
		if (git_config_get_bool(&sparse, cfg, "core.sparseCheckout") < 0)
			sparse = 0;
		git_config_free(cfg);
	}
	/* `git sparse-checkout` keeps it in config.worktree, which not every libgit2 reads. */
	if (!sparse) {
		char *path = in_gitdir(f->s, "config.worktree");

		if (git_config_open_ondisk(&cfg, path) == 0) {
			if (git_config_get_bool(&sparse, cfg, "core.sparseCheckout") < 0)
				sparse = 0;
			git_config_free(cfg);
		}
		free(path);
	}
	git_error_clear();
	return sparse ? why(f, "the checkout is sparse") : 0;
}

/* ---- the index ---- */

static void index_close(struct follow *f)
{
	mlb_index_free(&f->plain);
	git_index_free(f->other);
	f->other = NULL;
	if (f->copy_path)
		unlink(f->copy_path);
	if (f->lock_fd >= 0) {
		close(f->lock_fd);
		unlink(f->lock_path);	/* ours: taken below */
	}
	f->lock_fd = -1;
}

/* Take index.lock as git does, before the index is read, and read it. */
static int index_open(struct follow *f)
{
	int tries;

	f->index_path = in_gitdir(f->s, "index");
	f->lock_path = in_gitdir(f->s, "index.lock");
	for (tries = 0;; tries++) {
		f->lock_fd = open(f->lock_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (f->lock_fd >= 0)
			break;
		if (errno != EEXIST)
			return why(f, "cannot create .git/index.lock: %s", strerror(errno));
		if (tries == LOCK_TRIES)
			return why(f, ".git/index.lock is held by another process");
		nanosleep(&(struct timespec){ 0, LOCK_PAUSE_NS }, NULL);
	}
	if (mlb_index_read(f->index_path, &f->plain) < 0)
		return why(f, errno == ENOENT ? "there is no index" : "the index cannot be read");
	if (f->plain.plain)
		return 0;
	if (!strcmp(f->plain.required, "link"))
		return why(f, "the index is split (core.splitIndex)");
	if (!strcmp(f->plain.required, "sdir"))
		return why(f, "the index is sparse");
	/* Version 4, extended flags, conflicts: libgit2 reads and writes those, on a copy (a link to the
	 * index: libgit2 writes its new file beside it and renames it over the link). */
	f->copy_path = in_gitdir(f->s, "mlb-index");
	unlink(f->copy_path);
	if (link(f->index_path, f->copy_path) < 0)
		return why(f, "cannot read the index: %s", strerror(errno));
	if (git_index_open(&f->other, f->copy_path) < 0) {
		const git_error *e = git_error_last();

		if (e && e->message && strstr(e->message, "'link'"))
			return why(f, "the index is split (core.splitIndex)");
		if (e && e->message && strstr(e->message, "'sdir'"))
			return why(f, "the index is sparse");
		return why(f, "the index is of a kind mlb cannot update (%s)", e && e->message ? e->message : "?");
	}
	return 0;
}

/* The stage-0 entry of path: 1 with id and mode, 0 when there is none, -1 when path is in conflict. */
static int index_find(struct follow *f, const char *path, git_oid *id, uint32_t *mode)
{
	const git_index_entry *e;

	if (f->plain.plain) {
		unsigned char raw[20];

		if (!mlb_index_find(&f->plain, path, raw, mode))
			return 0;
		git_oid_fromraw(id, raw);
		return 1;
	}
	if (git_index_get_bypath(f->other, path, 1) || git_index_get_bypath(f->other, path, 2) ||
	    git_index_get_bypath(f->other, path, 3))
		return -1;
	if (!(e = git_index_get_bypath(f->other, path, 0)))
		return 0;
	git_oid_cpy(id, &e->id);
	*mode = e->mode;
	return 1;
}

static void entry_from(git_index_entry *e, const struct mlb_index_edit *d)
{
	memset(e, 0, sizeof(*e));
	e->ctime.seconds = (int32_t)d->ctime_s;
	e->ctime.nanoseconds = d->ctime_ns;
	e->mtime.seconds = (int32_t)d->mtime_s;
	e->mtime.nanoseconds = d->mtime_ns;
	e->dev = d->dev;
	e->ino = d->ino;
	e->mode = d->mode;
	e->uid = d->uid;
	e->gid = d->gid;
	e->file_size = d->size;
	git_oid_fromraw(&e->id, d->id);
	e->path = d->path;
}

/* Through libgit2: the edits, and git's "racily clean" rule for the entries that stay (an entry
 * whose file changed in the tick the old index was written gets size 0, to be compared by content). */
static int index_write_other(struct follow *f, struct mlb_index_edit *edits, size_t n)
{
	size_t i;

	for (i = 0; i < git_index_entrycount(f->other); i++) {
		const git_index_entry *e = git_index_get_byindex(f->other, i);
		git_index_entry copy;

		if (!e || git_index_entry_stage(e) != 0 || e->file_size == 0)
			continue;
		if ((int64_t)e->mtime.seconds > (int64_t)f->plain.mtime.tv_sec ||
		    ((int64_t)e->mtime.seconds == (int64_t)f->plain.mtime.tv_sec &&
		     (long)e->mtime.nanoseconds >= f->plain.mtime.tv_nsec)) {
			copy = *e;
			copy.file_size = 0;
			if (git_index_add(f->other, &copy) < 0)
				return -1;
		}
	}
	for (i = 0; i < n; i++) {
		git_index_entry e;

		if (edits[i].remove) {
			if (git_index_remove(f->other, edits[i].path, 0) < 0)
				return -1;
			continue;
		}
		entry_from(&e, &edits[i]);
		if (git_index_add(f->other, &e) < 0)
			return -1;
	}
	if (git_index_write(f->other) < 0 || rename(f->copy_path, f->lock_path) < 0)
		return -1;
	return 0;
}

/* Write the index with the edits and put it in place; the lock goes with it. */
static int index_commit(struct follow *f, struct mlb_index_edit *edits, size_t n)
{
	int rc;

	if (f->plain.plain)
		rc = mlb_index_write(&f->plain, f->lock_fd, edits, n);
	else
		rc = index_write_other(f, edits, n);
	if (rc < 0 || close(f->lock_fd) < 0) {
		f->lock_fd = -1;
		unlink(f->lock_path);
		return why(f, "the index could not be written (%s)",
			   git_error_last() && git_error_last()->message ? git_error_last()->message : strerror(errno));
	}
	f->lock_fd = -1;
	if (rename(f->lock_path, f->index_path) < 0) {
		unlink(f->lock_path);
		return why(f, "the index could not be written (%s)", strerror(errno));
	}
	return 0;
}

/* ---- the work tree ---- */

static char *wt_path(struct follow *f, const char *rel)
{
	return mlb_xasprintf("%s/%s", f->s->path, rel);
}

/* Whether the file at path holds blob id with a mode that goes with mode (1), or not (0); absent: -1. */
static int file_is(struct follow *f, const char *rel, const git_oid *id, uint32_t mode)
{
	char *path = wt_path(f, rel);
	struct stat st;
	git_oid have;
	int ret = 0;

	if (lstat(path, &st) < 0)
		ret = errno == ENOENT || errno == ENOTDIR ? -1 : 0;
	else if (mode == GIT_FILEMODE_LINK ? !S_ISLNK(st.st_mode) : !S_ISREG(st.st_mode))
		ret = 0;
	else if (mode != GIT_FILEMODE_LINK && !(st.st_mode & S_IXUSR) != (mode != GIT_FILEMODE_BLOB_EXECUTABLE))
		ret = 0;
	else if (git_odb_hashfile(&have, path, GIT_OBJECT_BLOB) == 0)
		ret = git_oid_equal(&have, id);
	git_error_clear();
	free(path);
	return ret;
}

/* Whether every path is as the parent has it in the index and the work tree, or (recovering) as
 * the commit has it already. */
static int paths_ok(struct follow *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		struct change *c = &f->v[i];
		git_oid id;
		uint32_t mode = 0;
		int in = index_find(f, c->path, &id, &mode), file;

		if (in < 0)
			return why(f, "%s is in conflict", c->path);
		if (c->status != GIT_DELTA_ADDED && c->status != GIT_DELTA_MODIFIED && c->status != GIT_DELTA_DELETED)
			return why(f, "%s changed kind", c->path);
		if (c->status != GIT_DELTA_DELETED && in && git_oid_equal(&id, &c->new_id) && mode == c->new_mode &&
		    file_is(f, c->path, &c->new_id, c->new_mode) == 1) {
			c->done = 1;
			continue;
		}
		if (c->status == GIT_DELTA_DELETED && !in && file_is(f, c->path, &c->old_id, c->old_mode) < 0) {
			c->done = 1;
			continue;
		}
		if (c->status == GIT_DELTA_ADDED) {
			file = file_is(f, c->path, &c->new_id, c->new_mode);
			/* Written before a writer was killed: only the index is to do. */
			if (!in && (file < 0 || (f->recovering && file == 1)))
				continue;
			return why(f, "%s is in the way", c->path);
		}
		file = file_is(f, c->path, &c->old_id, c->old_mode);
		if (!in || !git_oid_equal(&id, &c->old_id) || mode != c->old_mode ||
		    !(file == 1 || (file < 0 && c->status == GIT_DELTA_DELETED)))
			return why(f, "%s has changes of its own", c->path);
	}
	return 0;
}

static void edit_from_stat(struct mlb_index_edit *e, const char *rel, const struct stat *st, const git_oid *id,
			   uint32_t mode)
{
	memset(e, 0, sizeof(*e));
	e->path = mlb_xstrdup(rel);
	e->ctime_s = (uint32_t)st->st_ctim.tv_sec;
	e->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
	e->mtime_s = (uint32_t)st->st_mtim.tv_sec;
	e->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	e->dev = (uint32_t)st->st_dev;
	e->ino = (uint32_t)st->st_ino;
	e->mode = mode;
	e->uid = (uint32_t)st->st_uid;
	e->gid = (uint32_t)st->st_gid;
	e->size = (uint32_t)st->st_size;
	memcpy(e->id, id->id, sizeof(e->id));
}

/* Write one file as the commit has it (unless it is there already); its index entry in e. */
static int put_file(struct follow *f, struct change *c, struct mlb_index_edit *e, int *written)
{
	char *path = wt_path(f, c->path), *dir = mlb_dir_of(path);
	git_blob *blob = NULL;
	struct stat st;
	int ret = -1, link = c->new_mode == GIT_FILEMODE_LINK;

	*written = 0;
	if (lstat(path, &st) == 0 && file_is(f, c->path, &c->new_id, c->new_mode) == 1) {
		ret = 0;
	} else if (git_blob_lookup(&blob, f->s->repo, &c->new_id) < 0) {
		why(f, "cannot read %s (%s)", c->path, git_error_last()->message);
	} else if (mlb_mkdirs(dir, 0777) < 0 ||
		   mlb_file_replace(path, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
				    c->new_mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0777 : 0666, link, &st) < 0) {
		why(f, "cannot write %s: %s", c->path, strerror(errno));
	} else {
		*written = c->status == GIT_DELTA_ADDED;
		ret = 0;
	}
	if (ret == 0)
		edit_from_stat(e, c->path, &st, &c->new_id, c->new_mode);
	git_blob_free(blob);
	free(dir);
	free(path);
	return ret;
}

/* Write the files and the index; on failure, take back the files this added. */
static int apply(struct follow *f)
{
	struct mlb_index_edit *edits = mlb_xcalloc(f->n + 1, sizeof(*edits));
	char **added = mlb_xcalloc(f->n + 1, sizeof(*added));
	size_t i, n = 0, na = 0;
	int ret = -1, written;

	for (i = 0; i < f->n; i++) {
		struct change *c = &f->v[i];

		if (c->done)
			continue;
		if (c->status == GIT_DELTA_DELETED) {
			char *path = wt_path(f, c->path);

			if (unlink(path) < 0 && errno != ENOENT) {
				why(f, "cannot remove %s: %s", c->path, strerror(errno));
				free(path);
				goto out;
			}
			free(path);
			memset(&edits[n], 0, sizeof(edits[n]));
			edits[n].path = mlb_xstrdup(c->path);
			edits[n++].remove = 1;
			continue;
		}
		if (put_file(f, c, &edits[n], &written) < 0)
			goto out;
		n++;
		if (written)
			added[na++] = wt_path(f, c->path);
	}
	ret = n ? index_commit(f, edits, n) : 0;
out:
	for (i = 0; i < na; i++) {
		if (ret < 0)
			unlink(added[i]);
		free(added[i]);
	}
	for (i = 0; i < n; i++)
		free(edits[i].path);
	free(edits);
	free(added);
	return ret;
}

/* ---- following a commit ---- */

/* The one line that says what was not updated, and how to catch up. */
static void tell(struct follow *f, git_commit *from, git_commit *to)
{
	char hex[8], base[8];
	size_t i, len = 0;
	int deletes = 0;
	char *paths = mlb_xstrdup("");

	git_oid_tostr(hex, sizeof(hex), git_commit_id(to));
	/* A sparse checkout, removals or many files: git's two-tree merge does it all, keeping the
	 * person's changes and skip-worktree bits. */
	for (i = 0; i < f->n && len < 400; i++) {
		char *next;

		if (f->v[i].status == GIT_DELTA_DELETED) {
			deletes = 1;
			continue;
		}
		next = mlb_xasprintf("%s %s", paths, f->v[i].path);
		free(paths);
		paths = next;
		len = strlen(paths);
	}
	if (!strncmp(f->why, "HEAD is", 7))
		mlb_warn("session '%s': stored as %s on main; the work tree was left alone: %s (git merge main, "
			 "or git checkout main, brings it in)", f->s->id, hex, f->why);
	else if (deletes || i < f->n || strstr(f->why, "sparse")) {
		git_oid_tostr(base, sizeof(base), from ? git_commit_id(from) : git_commit_id(to));
		mlb_warn("session '%s': stored as %s on main; the work tree and index were left alone: %s "
			 "(when that is over, git read-tree -m -u %s main catches up)", f->s->id, hex, f->why, base);
	} else {
		mlb_warn("session '%s': stored as %s on main; the work tree and index were left alone: %s "
			 "(when that is over, git checkout main --%s catches up)", f->s->id, hex, f->why, paths);
	}
	free(paths);
}

static void follow(struct mlb_session *s, git_commit *from, git_commit *to, int recovering)
{
	struct follow f;
	size_t i;

	memset(&f, 0, sizeof(f));
	f.s = s;
	f.lock_fd = -1;
	f.recovering = recovering;
	if (changes(&f, from, to) == 0 && f.n > 0 &&
	    (state_ok(&f) < 0 || index_open(&f) < 0 || paths_ok(&f) < 0 || apply(&f) < 0))
		tell(&f, from, to);
	else if (f.why[0])
		tell(&f, from, to);
	git_error_clear();
	index_close(&f);
	for (i = 0; i < f.n; i++)
		free(f.v[i].path);
	free(f.v);
	free(f.index_path);
	free(f.lock_path);
	free(f.copy_path);
}

void store_worktree_intent(struct mlb_session *s, const git_oid *parent, const git_oid *commit)
{
	char *path = in_gitdir(s, INTENT), *text, from[GIT_OID_HEXSZ + 1] = "0", to[GIT_OID_HEXSZ + 1];

	if (parent)
		git_oid_tostr(from, sizeof(from), parent);
	git_oid_tostr(to, sizeof(to), commit);
	text = mlb_xasprintf("%s %s\n", from, to);
	/* Only a hint for the next writer: without it, a killed writer's turn waits for a catch-up by hand. */
	if (mlb_file_replace(path, text, strlen(text), 0644, 0, NULL) < 0)
		mlb_warn("session '%s': cannot write %s: %s", s->id, path, strerror(errno));
	free(text);
	free(path);
}

void store_worktree_follow(struct mlb_session *s, git_commit *from, git_commit *to)
{
	char *path = in_gitdir(s, INTENT);

	follow(s, from, to, 0);
	unlink(path);
	free(path);
}

/* Remove the temporary files a killed writer left beside the files it was writing. */
static void remove_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, MLB_TMP_PREFIX, strlen(MLB_TMP_PREFIX)) == 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

void store_worktree_recover(struct mlb_session *s)
{
	char *path = in_gitdir(s, INTENT), text[128] = "", *sp;
	git_oid parent, commit, head;
	git_commit *from = NULL, *to = NULL;
	FILE *in = fopen(path, "r");
	int ok = 0, root;

	if (!in) {
		free(path);
		return;
	}
	ok = fgets(text, sizeof(text), in) != NULL;
	fclose(in);
	sp = strchr(text, ' ');
	root = sp == text + 1 && text[0] == '0';	/* the commit has no parent */
	ok = ok && sp && git_oid_fromstrn(&commit, sp + 1, GIT_OID_HEXSZ) == 0 &&
	     (root || git_oid_fromstrn(&parent, text, GIT_OID_HEXSZ) == 0);
	/* Only a commit that made it onto main is followed; one whose writer died before is no one's. */
	if (ok && store_read_main(s, &head) > 0 &&
	    (git_oid_equal(&head, &commit) || git_graph_descendant_of(s->repo, &head, &commit) == 1) &&
	    git_commit_lookup(&to, s->repo, &commit) == 0 &&
	    (root || git_commit_lookup(&from, s->repo, &parent) == 0)) {
		char *top = mlb_xasprintf("%s/panes", s->path);
		DIR *d = opendir(top);
		struct dirent *de;

		/* The killed writer's half-written files, in the pane directories and the top. */
		remove_temps(s->path);
		while (d && (de = readdir(d))) {
			char *pane = mlb_xasprintf("%s/%s", top, de->d_name);

			if (de->d_name[0] != '.')
				remove_temps(pane);
			free(pane);
		}
		if (d)
			closedir(d);
		free(top);
		follow(s, from, to, 1);
	}
	git_error_clear();
	git_commit_free(from);
	git_commit_free(to);
	unlink(path);
	free(path);
}

int store_worktree_fresh(struct mlb_session *s)
{
	git_checkout_options opts;

	git_checkout_options_init(&opts, GIT_CHECKOUT_OPTIONS_VERSION);
	opts.checkout_strategy = GIT_CHECKOUT_FORCE;
	if (git_checkout_head(s->repo, &opts) < 0)
		return store_git_err(s->id, "cannot write the work tree");
	return 0;
}
