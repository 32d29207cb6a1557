#include "store.h"
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "event.h"
#include "file.h"
#include "gitindex.h"
#include "lock.h"
#include "msg.h"
#include "sha256.h"

#include <git2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAIN_REF "refs/heads/main"
#define MARKER "mlb-worktree"		/* in .git: the commit the work tree shows */
#define LOCK_TIMEOUT_DEFAULT 30.0
/* Tree loads that `show` may spend finding which commit added each message. */
#define ADDED_BY_BUDGET 2000

struct mlb_session {
	char *id;
	char *path;		/* the work tree */
	char *gitdir;		/* path/.git */
	git_repository *repo;
};

/* ---- reporting ---- */

static const char *git_why(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown error";
}

/* Report "session '<id>': <what>"; return -1. */
static int serr(const char *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int serr(const char *id, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return mlb_error("session '%s': %s", id, what);
}

/* Report "session '<id>': <what> (<libgit2's reason>)"; return -1. */
static int gerr(const char *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int gerr(const char *id, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return serr(id, "%s (%s)", what, git_why());
}

static void git_end(void)
{
	git_libgit2_shutdown();
}

/* libgit2 is reference counted: every opener pairs these two.  The first call also takes a reference
 * that lasts until exit: initialising libgit2 loads the system's certificates, which costs more than
 * opening a session, and `mlb-session grep` opens every session one after another. */
static void git_start(void)
{
	static int configured;

	git_libgit2_init();
	if (!configured) {
		git_libgit2_init();
		atexit(git_end);
		/* Objects and refs must reach the disk before main points at them. */
		git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
		configured = 1;
	}
}

static void git_stop(void)
{
	git_libgit2_shutdown();
}

/* ---- names ---- */

static int name_valid(const char *s)
{
	size_t n;

	if (!s || !*s || *s == '.' || *s == '-')
		return 0;
	for (n = 0; s[n]; n++) {
		char c = s[n];

		if (n >= MLB_ID_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int mlb_session_id_valid(const char *id)
{
	return name_valid(id);
}

int mlb_pane_name_valid(const char *pane)
{
	return name_valid(pane);
}

/* s fit for a one-line message: at most 80 bytes, control characters shown as '?'. */
static const char *printable(const char *s, char out[96])
{
	size_t i, n = strlen(s);

	for (i = 0; i < n && i < 80; i++)
		out[i] = (unsigned char)s[i] < ' ' || s[i] == 127 ? '?' : s[i];
	if (n > 80) {
		memcpy(out + 80, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

int mlb_session_id_check(const char *id)
{
	char shown[96];

	if (mlb_session_id_valid(id))
		return 0;
	if (strlen(id) > MLB_ID_MAX)
		return mlb_error("invalid session id '%s': at most %d characters", printable(id, shown), MLB_ID_MAX);
	return mlb_error("invalid session id '%s': " MLB_NAME_RULE,
			 printable(id, shown));
}

/* n random characters from [a-z0-9]. */
static void random_suffix(char *out, size_t n)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[64];
	size_t got = 0, i;
	ssize_t k;

	while (got < n) {
		k = getrandom(r, sizeof(r), 0);
		if (k <= 0) {
			/* No entropy source: uniqueness is what matters here, not secrecy. */
			unsigned long long x = (unsigned long long)mlb_wall_ms() * 2654435761u ^ (unsigned long long)getpid();

			for (i = 0; i < sizeof(r); i++) {
				x = x * 6364136223846793005ull + 1442695040888963407ull;
				r[i] = (unsigned char)(x >> 33);
			}
			k = sizeof(r);
		}
		/* 252 = 7 * 36: taking only bytes below it keeps every character equally likely. */
		for (i = 0; i < (size_t)k && got < n; i++)
			if (r[i] < 252)
				out[got++] = alphabet[r[i] % 36];
	}
	out[n] = '\0';
}

char *mlb_session_new_id(void)
{
	time_t t = time(NULL);
	struct tm tm;
	char ts[32], rnd[8];

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	random_suffix(rnd, 6);
	return mlb_xasprintf("%s-%s", ts, rnd);
}

char *mlb_sessions_dir(void)
{
	char *home = mlb_home_dir();
	char *dir = mlb_xasprintf("%s/sessions", home);

	free(home);
	return dir;
}

static char *session_dir(const char *id)
{
	char *dir = mlb_sessions_dir();
	char *path = mlb_xasprintf("%s/%s", dir, id);

	free(dir);
	return path;
}

int mlb_session_exists(const char *id)
{
	struct stat st;
	char *path, *git;
	int ok;

	if (!mlb_session_id_valid(id))
		return 0;
	path = session_dir(id);
	git = mlb_xasprintf("%s/.git", path);
	ok = stat(git, &st) == 0 && S_ISDIR(st.st_mode);
	free(git);
	free(path);
	return ok;
}

/* mkdir -p, private: conversations are nobody else's business. */
static int make_dirs(const char *path)
{
	if (mlb_mkdirs(path, 0700) < 0)
		return mlb_error("cannot create '%s': %s", path, strerror(errno));
	return 0;
}

/* ---- files ---- */

/* mlb_file_replace, saying which file could not be written. */
static int write_atomic(const char *path, const void *data, size_t len, mode_t mode, int link, struct stat *st)
{
	if (mlb_file_replace(path, data, len, mode, link, st) < 0)
		return mlb_error("cannot write '%s': %s", path, strerror(errno));
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		return mlb_error("cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

/* rm -rf path. */
static int remove_tree(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* ---- opening ---- */

static struct mlb_session *session_new(const char *id, const char *path, git_repository *repo)
{
	struct mlb_session *s = mlb_xcalloc(1, sizeof(*s));

	s->id = mlb_xstrdup(id);
	s->path = mlb_xstrdup(path);
	s->gitdir = mlb_xasprintf("%s/.git", path);
	s->repo = repo;
	return s;
}

static void session_free(struct mlb_session *s)
{
	if (!s)
		return;
	git_repository_free(s->repo);
	free(s->id);
	free(s->path);
	free(s->gitdir);
	free(s);
}

/* The commit main points at: 1 with *id, 0 when main does not exist yet, -1 after an error. */
static int read_main(struct mlb_session *s, git_oid *id)
{
	int rc = git_reference_name_to_id(id, s->repo, MAIN_REF);

	if (rc == 0)
		return 1;
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	return gerr(s->id, "cannot read %s", MAIN_REF);
}

/* main's commit and tree (both NULL when main does not exist yet). */
static int main_commit(struct mlb_session *s, git_commit **commit, git_tree **tree)
{
	git_oid id;
	int have = read_main(s, &id);

	*commit = NULL;
	if (tree)
		*tree = NULL;
	if (have <= 0)
		return have;
	if (git_commit_lookup(commit, s->repo, &id) < 0)
		return gerr(s->id, "cannot read commit %s", git_oid_tostr_s(&id));
	if (tree && git_commit_tree(tree, *commit) < 0) {
		git_commit_free(*commit);
		*commit = NULL;
		return gerr(s->id, "cannot read the tree of %s", git_oid_tostr_s(&id));
	}
	return 1;
}

static int main_tree(struct mlb_session *s, git_tree **tree)
{
	git_commit *c;
	int rc = main_commit(s, &c, tree);

	git_commit_free(c);
	return rc < 0 ? -1 : 0;
}

/* The subtree called name of tree, or NULL when there is none; -1 after an error. */
static int subtree(struct mlb_session *s, git_tree *tree, const char *name, git_tree **out)
{
	const git_tree_entry *e;

	*out = NULL;
	if (!tree || !(e = git_tree_entry_byname(tree, name)) || git_tree_entry_type(e) != GIT_OBJECT_TREE)
		return 0;
	if (git_tree_lookup(out, s->repo, git_tree_entry_id(e)) < 0)
		return gerr(s->id, "cannot read tree '%s'", name);
	return 0;
}

/* The tree of panes/<pane> in main, or NULL. */
static int pane_tree(struct mlb_session *s, const char *pane, git_tree **out)
{
	git_tree *root = NULL, *panes = NULL;
	int ret;

	*out = NULL;
	if (!mlb_pane_name_valid(pane))
		return serr(s->id, "invalid pane name '%s'", pane);
	if (main_tree(s, &root) < 0)
		return -1;
	ret = subtree(s, root, "panes", &panes);
	if (ret == 0)
		ret = subtree(s, panes, pane, out);
	git_tree_free(panes);
	git_tree_free(root);
	return ret;
}

/* One directory of the work tree, as lstat saw it when every file of the marked commit was in it.
 * Removing or adding a name in a directory changes its ctime (which, unlike mtime, no one can set
 * back), so while a directory's inode and ctime stay the same none of its files can have gone. */
struct dirsig {
	char *path;		/* relative, "" for the top */
	unsigned long long ino;
	long long sec;
	long nsec;
};

/* What .git/mlb-worktree says: the commit the work tree shows, the index as it was written with it,
 * and, when complete, a dirsig for every directory of that commit's tree:
 *     <commit hex>
 *     index <inode> <size> <mtime sec>.<nsec> <ctime sec>.<nsec>
 *     dirs <n>
 *     <inode> <ctime sec>.<nsec> <path, "." for the top>     (n lines)
 * Older versions read the first line only. */
struct marker {
	int have;		/* id is known */
	git_oid id;
	int have_index;
	struct mlb_index_stamp index;
	int complete;		/* dirs covers every directory of id's tree */
	struct dirsig *dirs;
	size_t n, cap;
	struct timespec written;	/* the marker's own mtime */
};

static void marker_free(struct marker *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->dirs[i].path);
	free(m->dirs);
	memset(m, 0, sizeof(*m));
}

static struct dirsig *marker_add(struct marker *m, const char *path)
{
	struct dirsig *d;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->dirs = mlb_xrealloc(m->dirs, m->cap * sizeof(*m->dirs));
	}
	d = &m->dirs[m->n++];
	memset(d, 0, sizeof(*d));
	d->path = mlb_xstrdup(path);
	return d;
}

static char *abs_path(struct mlb_session *s, const char *rel);

/* lstat the directory rel into d: 0, or -1 when it is not a directory. */
static int dir_stat(struct mlb_session *s, const char *rel, struct dirsig *d)
{
	char *path = abs_path(s, rel);
	struct stat st;
	int ok = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);

	free(path);
	if (!ok)
		return -1;
	d->ino = (unsigned long long)st.st_ino;
	d->sec = (long long)st.st_ctim.tv_sec;
	d->nsec = st.st_ctim.tv_nsec;
	return 0;
}

static int dirsig_equal(const struct dirsig *a, const struct dirsig *b)
{
	return a->ino == b->ino && a->sec == b->sec && a->nsec == b->nsec;
}

/* The lines after the first. */
static void parse_marker(struct marker *m, char *text)
{
	char *line = strchr(text, '\n'), *next;
	struct mlb_index_stamp *x = &m->index;
	unsigned long n, i;

	for (; line && line[1]; line = next) {
		line++;
		if (sscanf(line, "index %llu %llu %lld.%ld %lld.%ld", &x->ino, &x->size, &x->mtime_s, &x->mtime_ns,
			   &x->ctime_s, &x->ctime_ns) == 6)
			m->have_index = 1;
		next = strchr(line, '\n');
		if (!next || sscanf(line, "dirs %lu", &n) != 1)
			continue;
		for (i = 0; i < n; i++) {
			unsigned long long ino;
			long long sec;
			long nsec;
			int used = 0;
			struct dirsig *d;

			line = next + 1;
			if (!(next = strchr(line, '\n')))
				return;
			*next = '\0';
			/* One blank before the path, no more: a name may itself start with blanks. */
			if (sscanf(line, "%llu %lld.%ld%n", &ino, &sec, &nsec, &used) != 3 || line[used] != ' ' ||
			    !line[used + 1])
				return;
			used++;
			d = marker_add(m, strcmp(line + used, ".") == 0 ? "" : line + used);
			d->ino = ino;
			d->sec = sec;
			d->nsec = nsec;
		}
		m->complete = 1;
	}
}

/* Read .git/mlb-worktree into m (m->have is 0 when it is missing or unreadable). */
static void read_marker(struct mlb_session *s, struct marker *m)
{
	char *path = mlb_xasprintf("%s/" MARKER, s->gitdir), *text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n = -1;

	memset(m, 0, sizeof(*m));
	/* The size bound only guards against a file that is not ours. */
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size < (1 << 26)) {
		text = mlb_xmalloc((size_t)st.st_size + 1);
		do
			n = read(fd, text, (size_t)st.st_size);
		while (n < 0 && errno == EINTR);
		m->written = st.st_mtim;
	}
	if (fd >= 0)
		close(fd);
	if (n >= GIT_OID_HEXSZ) {
		text[n] = '\0';
		if (git_oid_fromstrn(&m->id, text, GIT_OID_HEXSZ) == 0) {
			m->have = 1;
			parse_marker(m, text);
		}
	}
	git_error_clear();
	free(text);
	free(path);
}

/* Record that the work tree shows commit id; index (may be NULL) is the index's stamp, and dirs,
 * when not NULL, holds a dirsig for every directory. */
static int write_marker(struct mlb_session *s, const git_oid *id, const struct mlb_index_stamp *index,
			const struct marker *dirs)
{
	char *path = mlb_xasprintf("%s/" MARKER, s->gitdir);
	struct mlb_buf b = MLB_BUF_INIT;
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;
	int ret;

	git_oid_tostr(hex, sizeof(hex), id);
	mlb_buf_addf(&b, "%s\n", hex);
	if (index)
		mlb_buf_addf(&b, "index %llu %llu %lld.%09ld %lld.%09ld\n", index->ino, index->size,
			     index->mtime_s, index->mtime_ns, index->ctime_s, index->ctime_ns);
	for (i = 0; dirs && i < dirs->n; i++)
		if (strchr(dirs->dirs[i].path, '\n'))
			dirs = NULL;	/* such a name would not read back: check every file instead */
	if (dirs) {
		mlb_buf_addf(&b, "dirs %zu\n", dirs->n);
		for (i = 0; i < dirs->n; i++)
			mlb_buf_addf(&b, "%llu %lld.%09ld %s\n", dirs->dirs[i].ino, dirs->dirs[i].sec, dirs->dirs[i].nsec,
				     *dirs->dirs[i].path ? dirs->dirs[i].path : ".");
	}
	ret = write_atomic(path, b.s, b.len, 0644, 0, NULL);
	mlb_buf_free(&b);
	free(path);
	return ret;
}

/* ---- the work tree ---- */

/* A set of directories (relative, "" for the top) touched while updating the work tree. */
struct dirset {
	char **v;
	size_t n, cap;
};

static int dirset_has(const struct dirset *d, const char *dir)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i], dir) == 0)
			return 1;
	return 0;
}

static void dirset_add(struct dirset *d, const char *dir)
{
	if (dirset_has(d, dir))
		return;
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = mlb_xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	d->v[d->n++] = mlb_xstrdup(dir);
}

static void dirset_free(struct dirset *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
}

/* What one update of the work tree works with. */
struct wt {
	struct mlb_session *s;
	struct mlb_index_edit *edits;	/* what the index is to say of the files written or removed */
	size_t nedits, capedits;
	struct dirset dirs;	/* where names were added or removed: to be synced, and their dirsigs taken again */
	struct dirset seen;	/* directories whose tree was gone through: to be recorded again */
	struct dirset gone;	/* directories of the old tree that were removed */
	struct marker scanned;	/* restore_missing: every directory, each taken before its files were looked at */
	int unsure;		/* restore_missing could not vouch for some directory */
};

static char *join(const char *prefix, const char *name)
{
	return *prefix ? mlb_xasprintf("%s/%s", prefix, name) : mlb_xstrdup(name);
}

static char *abs_path(struct mlb_session *s, const char *rel)
{
	return *rel ? mlb_xasprintf("%s/%s", s->path, rel) : mlb_xstrdup(s->path);
}

/* A tree entry name that is safe to create in the work tree (a bundle may come from anywhere). */
static int safe_name(const char *name)
{
	return *name && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       strcasecmp(name, ".git") != 0 && !strchr(name, '/') &&
	       strncmp(name, MLB_TMP_PREFIX, strlen(MLB_TMP_PREFIX)) != 0;
}

static struct mlb_index_edit *add_edit(struct wt *w, const char *rel)
{
	struct mlb_index_edit *e;

	if (w->nedits == w->capedits) {
		w->capedits = w->capedits ? w->capedits * 2 : 16;
		w->edits = mlb_xrealloc(w->edits, w->capedits * sizeof(*w->edits));
	}
	e = &w->edits[w->nedits++];
	memset(e, 0, sizeof(*e));
	e->path = mlb_xstrdup(rel);
	return e;
}

/* The index entry of a file as lstat saw it right after it was written. */
static void edit_from_stat(struct wt *w, const char *rel, const struct stat *st, const git_oid *id,
			   git_filemode_t mode)
{
	struct mlb_index_edit *e = add_edit(w, rel);

	e->ctime_s = (uint32_t)st->st_ctim.tv_sec;
	e->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
	e->mtime_s = (uint32_t)st->st_mtim.tv_sec;
	e->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	e->dev = (uint32_t)st->st_dev;
	e->ino = (uint32_t)st->st_ino;
	e->mode = (uint32_t)mode;
	e->uid = (uint32_t)st->st_uid;
	e->gid = (uint32_t)st->st_gid;
	e->size = (uint32_t)st->st_size;
	memcpy(e->id, id->id, sizeof(e->id));
}

/* Make the work-tree file rel hold the blob id, unless it already does; record it in the index. */
static int put_blob(struct wt *w, const char *rel, const git_oid *id, git_filemode_t mode)
{
	struct mlb_session *s = w->s;
	char *path = abs_path(s, rel), *dir;
	git_blob *blob = NULL;
	struct stat st;
	int ret = -1, link = mode == GIT_FILEMODE_LINK;
	size_t size;

	if (git_blob_lookup(&blob, s->repo, id) < 0) {
		gerr(s->id, "cannot read '%s'", rel);
		goto out;
	}
	size = (size_t)git_blob_rawsize(blob);
	if (!link && lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == size) {
		git_oid have;

		/* Already there (a repair after an interrupted update): keep it, do not rewrite. */
		if (git_odb_hashfile(&have, path, GIT_OBJECT_BLOB) == 0 && git_oid_equal(&have, id))
			goto record;
		git_error_clear();
	}
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && remove_tree(path) < 0)
		goto out;
	if (write_atomic(path, git_blob_rawcontent(blob), size,
			 mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0777 : 0666, link, &st) < 0)
		goto out;
	dir = mlb_dir_of(rel);
	dirset_add(&w->dirs, strchr(rel, '/') ? dir : "");
	free(dir);
record:
	edit_from_stat(w, rel, &st, id, mode);
	ret = 0;
out:
	git_blob_free(blob);
	free(path);
	return ret;
}

/* Remove the work-tree file rel and its index entry. */
static int drop_blob(struct wt *w, const char *rel)
{
	char *path = abs_path(w->s, rel), *dir;

	if (unlink(path) < 0 && errno != ENOENT && errno != EISDIR) {
		mlb_error("cannot remove '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	dir = mlb_dir_of(rel);
	dirset_add(&w->dirs, strchr(rel, '/') ? dir : "");
	free(dir);
	add_edit(w, rel)->remove = 1;
	return 0;
}

static int update_tree(struct wt *w, git_tree *from, git_tree *to, const char *prefix);

/* Descend into the subtree rel, from (may be NULL) to (may be NULL). */
static int update_subtree(struct wt *w, const git_tree_entry *from, const git_tree_entry *to, const char *rel)
{
	git_tree *a = NULL, *b = NULL;
	char *path = abs_path(w->s, rel);
	int ret = -1;

	if (from && git_tree_lookup(&a, w->s->repo, git_tree_entry_id(from)) < 0) {
		gerr(w->s->id, "cannot read tree '%s'", rel);
		goto out;
	}
	if (to && git_tree_lookup(&b, w->s->repo, git_tree_entry_id(to)) < 0) {
		gerr(w->s->id, "cannot read tree '%s'", rel);
		goto out;
	}
	if (b) {
		struct stat st;

		int made;

		if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
			unlink(path);
		made = mkdir(path, 0777) == 0;
		if (!made && errno != EEXIST) {
			mlb_error("cannot create '%s': %s", path, strerror(errno));
			goto out;
		}
		if (made) {
			char *dir = mlb_dir_of(rel);

			dirset_add(&w->dirs, strchr(rel, '/') ? dir : "");
			free(dir);
		}
	}
	dirset_add(b ? &w->seen : &w->gone, rel);
	ret = update_tree(w, a, b, rel);
	/* Only when empty: untracked files of the user stay. */
	if (ret == 0 && !b && rmdir(path) == 0) {
		char *dir = mlb_dir_of(rel);

		dirset_add(&w->dirs, strchr(rel, '/') ? dir : "");
		free(dir);
	}
out:
	git_tree_free(a);
	git_tree_free(b);
	free(path);
	return ret;
}

/* Change the work tree under prefix from showing tree from to showing tree to; either may be NULL.
 * Entries with the same id on both sides are skipped without a look, so only what changed costs. */
static int update_tree(struct wt *w, git_tree *from, git_tree *to, const char *prefix)
{
	size_t i, n;
	int ret = 0;

	/* Removals first, so that a name changing between file and directory finds its place free. */
	n = from ? git_tree_entrycount(from) : 0;
	for (i = 0; i < n && ret == 0; i++) {
		const git_tree_entry *a = git_tree_entry_byindex(from, i);
		const git_tree_entry *b = to ? git_tree_entry_byname(to, git_tree_entry_name(a)) : NULL;
		char *rel;

		if (!safe_name(git_tree_entry_name(a)))
			continue;
		if (b && git_tree_entry_type(a) == git_tree_entry_type(b))
			continue;
		rel = join(prefix, git_tree_entry_name(a));
		if (git_tree_entry_type(a) == GIT_OBJECT_TREE)
			ret = update_subtree(w, a, NULL, rel);
		else if (git_tree_entry_type(a) == GIT_OBJECT_BLOB)
			ret = drop_blob(w, rel);
		free(rel);
	}
	n = to ? git_tree_entrycount(to) : 0;
	for (i = 0; i < n && ret == 0; i++) {
		const git_tree_entry *b = git_tree_entry_byindex(to, i);
		const git_tree_entry *a = from ? git_tree_entry_byname(from, git_tree_entry_name(b)) : NULL;
		char *rel;

		if (!safe_name(git_tree_entry_name(b))) {
			char shown[96];

			return serr(w->s->id, "refusing the unsafe file name '%s' in the history",
				    printable(git_tree_entry_name(b), shown));
		}
		if (a && git_tree_entry_type(a) != git_tree_entry_type(b))
			a = NULL;
		if (a && git_oid_equal(git_tree_entry_id(a), git_tree_entry_id(b)) &&
		    git_tree_entry_filemode(a) == git_tree_entry_filemode(b))
			continue;
		rel = join(prefix, git_tree_entry_name(b));
		if (git_tree_entry_type(b) == GIT_OBJECT_TREE)
			ret = update_subtree(w, a, b, rel);
		else if (git_tree_entry_type(b) == GIT_OBJECT_BLOB)
			ret = put_blob(w, rel, git_tree_entry_id(b), git_tree_entry_filemode(b));
		free(rel);
	}
	return ret;
}

static int any_missing(struct mlb_session *s, git_tree *tree, const char *prefix, struct marker *dirs, int deep);
static void remove_temps(struct mlb_session *s, const char *dir);

/* Write back every file of tree that is missing from the work tree, and add to w->scanned a dirsig of
 * every directory, taken before its files are looked at: a file removed after the look then shows
 * on the next open.  Where something was written back, the writing changed the dirsig, so it is
 * taken again and the directory looked at again. */
static int restore_missing(struct wt *w, git_tree *tree, const char *prefix)
{
	size_t i, n = git_tree_entrycount(tree), at = w->scanned.n;
	int ret = 0, wrote = 0;

	if (dir_stat(w->s, prefix, marker_add(&w->scanned, prefix)) < 0)
		w->unsure = 1;
	for (i = 0; i < n && ret == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		char *rel, *path;
		struct stat st;

		if (!safe_name(git_tree_entry_name(e)))
			continue;
		rel = join(prefix, git_tree_entry_name(e));
		path = abs_path(w->s, rel);
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			git_tree *sub;

			if (lstat(path, &st) < 0 && errno == ENOENT) {
				if (mkdir(path, 0777) < 0) {
					ret = mlb_error("cannot create '%s': %s", path, strerror(errno));
					free(path);
					free(rel);
					break;
				}
				dirset_add(&w->dirs, prefix);
				wrote = 1;
			}
			if (git_tree_lookup(&sub, w->s->repo, git_tree_entry_id(e)) < 0)
				ret = gerr(w->s->id, "cannot read tree '%s'", rel);
			else {
				dirset_add(&w->seen, rel);
				ret = restore_missing(w, sub, rel);
				git_tree_free(sub);
			}
		} else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB && lstat(path, &st) < 0 && errno == ENOENT) {
			ret = put_blob(w, rel, git_tree_entry_id(e), git_tree_entry_filemode(e));
			wrote = 1;
		}
		free(path);
		free(rel);
	}
	if (ret == 0 && wrote) {
		remove_temps(w->s, prefix);
		if (dir_stat(w->s, prefix, &w->scanned.dirs[at]) < 0 || any_missing(w->s, tree, prefix, NULL, 0))
			w->unsure = 1;
	}
	return ret;
}

/* Whether any file of tree is missing from the work tree (lstat only: no file is read); with deep, in
 * its subdirectories too.  dirs, when not NULL, gets a dirsig of every directory, taken before its
 * files are looked at: so if none is missing, a change after the look shows in the dirsig. */
static int any_missing(struct mlb_session *s, git_tree *tree, const char *prefix, struct marker *dirs, int deep)
{
	size_t i, n = git_tree_entrycount(tree);
	int missing = 0;

	if (dirs && dir_stat(s, prefix, marker_add(dirs, prefix)) < 0)
		return 1;
	for (i = 0; i < n && !missing; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		char *rel, *path;
		struct stat st;

		if (!safe_name(git_tree_entry_name(e)))
			continue;
		rel = join(prefix, git_tree_entry_name(e));
		path = abs_path(s, rel);
		if (lstat(path, &st) < 0)
			missing = 1;
		else if (deep && git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			git_tree *sub;

			if (git_tree_lookup(&sub, s->repo, git_tree_entry_id(e)) == 0) {
				missing = any_missing(s, sub, rel, dirs, deep);
				git_tree_free(sub);
			}
		}
		free(path);
		free(rel);
	}
	return missing;
}

/* Whether no file of the directory rel (of tree) is missing, not looking into its subdirectories. */
static int dir_whole(struct mlb_session *s, git_tree *tree, const char *rel)
{
	git_tree_entry *e = NULL;
	git_tree *sub = NULL;
	int whole = 0;

	if (!*rel)
		return !any_missing(s, tree, "", NULL, 0);
	if (git_tree_entry_bypath(&e, tree, rel) == 0 && git_tree_entry_type(e) == GIT_OBJECT_TREE &&
	    git_tree_lookup(&sub, s->repo, git_tree_entry_id(e)) == 0)
		whole = !any_missing(s, sub, rel, NULL, 0);
	git_error_clear();
	git_tree_free(sub);
	git_tree_entry_free(e);
	return whole;
}

/* Whether d was taken in the same tick as the marker was written, or later: then it proves nothing
 * (a change within the same tick of a coarse file clock leaves the ctime as it was: git's "racy"
 * case). */
static int racy(const struct dirsig *d, const struct timespec *written)
{
	return d->sec > (long long)written->tv_sec || (d->sec == (long long)written->tv_sec && d->nsec >= written->tv_nsec);
}

/* Whether the work tree still holds every file of the marked commit, whose tree is tree: every
 * directory as it was when the marker was written; the files of a racy one are looked at. */
static int marker_holds(struct mlb_session *s, const struct marker *m, git_tree *tree)
{
	size_t i;

	if (!m->have || !m->complete)
		return 0;
	for (i = 0; i < m->n; i++) {
		const struct dirsig *d = &m->dirs[i];
		struct dirsig now;

		if (dir_stat(s, d->path, &now) < 0 || !dirsig_equal(d, &now))
			return 0;
		if (racy(d, &m->written) && !dir_whole(s, tree, d->path))
			return 0;
	}
	return 1;
}

/* Remove temporary files that a killed writer left in dir (relative). */
static void remove_temps(struct mlb_session *s, const char *dir)
{
	char *path = abs_path(s, dir);
	DIR *d = opendir(path);
	struct dirent *de;

	if (d) {
		while ((de = readdir(d)))
			if (strncmp(de->d_name, MLB_TMP_PREFIX, strlen(MLB_TMP_PREFIX)) == 0)
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	free(path);
}

/* The edits through libgit2, for an index that mlb_index_update leaves alone (missing, or of a
 * kind it does not rewrite). */
static int write_index_libgit2(struct mlb_session *s, const char *path, struct wt *w)
{
	git_index *index;
	size_t i;
	int ret = 0;

	if (git_index_open(&index, path) < 0)
		return gerr(s->id, "cannot read the index");
	for (i = 0; i < w->nedits && ret == 0; i++) {
		const struct mlb_index_edit *d = &w->edits[i];
		git_index_entry e;

		if (d->remove) {
			if (git_index_remove(index, d->path, 0) < 0)
				git_error_clear();	/* not in the index: nothing to remove */
			continue;
		}
		memset(&e, 0, sizeof(e));
		e.ctime.seconds = (int32_t)d->ctime_s;
		e.ctime.nanoseconds = d->ctime_ns;
		e.mtime.seconds = (int32_t)d->mtime_s;
		e.mtime.nanoseconds = d->mtime_ns;
		e.dev = d->dev;
		e.ino = d->ino;
		e.mode = d->mode;
		e.uid = d->uid;
		e.gid = d->gid;
		e.file_size = d->size;
		git_oid_fromraw(&e.id, d->id);
		e.path = d->path;
		/* We just wrote it and know its content: spare libgit2 re-reading it as "racily clean"
		 * (which would stat the whole pane directory).  Never written to disk. */
		e.flags_extended = GIT_INDEX_ENTRY_UPTODATE;
		if (git_index_add(index, &e) < 0)
			ret = gerr(s->id, "cannot add '%s' to the index", d->path);
	}
	if (ret == 0 && git_index_write(index) < 0)
		ret = gerr(s->id, "cannot write the index");
	git_index_free(index);
	return ret;
}

/* Bring the index in line with the files written and removed.  known: the index's stamp in the
 * marker (NULL: none); *written gets the new one's, when there is one to trust. */
static int write_index(struct mlb_session *s, struct wt *w, const struct mlb_index_stamp *known,
		       struct mlb_index_stamp *written, int *have_written)
{
	char *path = mlb_xasprintf("%s/index", s->gitdir);
	int rc = mlb_index_update(path, known, w->edits, w->nedits, written);

	*have_written = rc == 0;
	if (rc < 0)
		serr(s->id, "cannot write the index: %s", strerror(errno));
	else if (rc > 0)
		rc = write_index_libgit2(s, path, w);
	free(path);
	return rc;
}

/* The dirsigs to record after an update.  With scan, those restore_missing took.  Otherwise the old
 * record (when it held for from) goes on, less the directories removed: a directory the writer
 * wrote into or made is taken again, and any other keeps its old dirsig, so that a change someone
 * else made to it meanwhile still shows on the next open.  An old dirsig that was racy is taken
 * again before the directory's files are looked at, as it would prove nothing once the new marker
 * is a tick younger.  Without a record that holds, none is written and the next open checks every
 * file. */
static int next_record(struct wt *w, const struct marker *old, git_tree *to, int scan, struct marker *out)
{
	size_t i, k;

	memset(out, 0, sizeof(*out));
	if (scan) {
		if (w->unsure)
			return -1;
		*out = w->scanned;
		memset(&w->scanned, 0, sizeof(w->scanned));
		out->complete = 1;
		return 0;
	}
	if (!old->complete)
		return -1;
	out->complete = 1;
	for (i = 0; i < old->n; i++) {
		const struct dirsig *o = &old->dirs[i];
		struct dirsig *d;

		if (dirset_has(&w->gone, o->path))
			continue;
		d = marker_add(out, o->path);
		if (dirset_has(&w->dirs, o->path)) {
			if (dir_stat(w->s, o->path, d) < 0)
				return -1;
		} else if (racy(o, &old->written)) {
			if (dir_stat(w->s, o->path, d) < 0 || !dir_whole(w->s, to, o->path))
				return -1;
		} else {
			d->ino = o->ino;
			d->sec = o->sec;
			d->nsec = o->nsec;
		}
	}
	for (i = 0; i < w->seen.n; i++) {
		for (k = 0; k < out->n && strcmp(out->dirs[k].path, w->seen.v[i]) != 0; k++)
			;
		if (k == out->n && dir_stat(w->s, w->seen.v[i], marker_add(out, w->seen.v[i])) < 0)
			return -1;
	}
	return 0;
}

/* Bring the work tree and the index from tree from (NULL: unknown) to tree to, then record commit id
 * as shown.  from_id: the commit that from belongs to, when the marker names it (NULL: none).
 * scan: also write back files that vanished, and sweep away temporary files. */
static int worktree_advance(struct mlb_session *s, git_tree *from, const git_oid *from_id, git_tree *to,
			    const git_oid *id, int scan)
{
	struct wt w = { s, NULL, 0, 0, { NULL, 0, 0 }, { NULL, 0, 0 }, { NULL, 0, 0 }, { 0 }, 0 };
	struct marker old, rec = { 0 };
	struct mlb_index_stamp stamp;
	size_t i;
	int ret = -1, stamped, recorded;

	/* The old record goes on only if it held until now: looked at before anything is written. */
	read_marker(s, &old);
	if (!scan && !from) {
		for (i = 0; i < old.n; i++)
			free(old.dirs[i].path);
		old.n = 0;
		old.complete = 1;	/* the first commit: every directory will be gone through */
	} else if (scan || !from_id || !git_oid_equal(&old.id, from_id) || !marker_holds(s, &old, from)) {
		old.complete = 0;
	}
	if (to)
		dirset_add(&w.seen, "");
	if (from != to && update_tree(&w, from, to, "") < 0)
		goto out;
	/* Before restore_missing takes the dirsigs, which a temporary file removed later would change. */
	if (scan) {
		for (i = 0; i < w.dirs.n; i++)
			remove_temps(s, w.dirs.v[i]);
		remove_temps(s, "");
		remove_temps(s, ".git");
	}
	if (scan && to && restore_missing(&w, to, "") < 0)
		goto out;
	/* The directories are done with: their dirsigs are taken before the index is written, so that
	 * the marker, written after it, is likely to be a tick younger than all of them. */
	recorded = to && next_record(&w, &old, to, scan, &rec) == 0;
	if (write_index(s, &w, old.have_index ? &old.index : NULL, &stamp, &stamped) < 0)
		goto out;
	for (i = 0; i < w.dirs.n; i++) {
		char *path = abs_path(s, w.dirs.v[i]);

		mlb_sync_dir(path);
		free(path);
	}
	ret = write_marker(s, id, stamped ? &stamp : NULL, recorded ? &rec : NULL);
out:
	marker_free(&rec);
	marker_free(&old);
	marker_free(&w.scanned);
	for (i = 0; i < w.nedits; i++)
		free(w.edits[i].path);
	free(w.edits);
	dirset_free(&w.dirs);
	dirset_free(&w.seen);
	dirset_free(&w.gone);
	return ret;
}

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
 * dead now, goes at once; anything else (a git command run by hand) gets two seconds to finish. */
static void clear_stale_locks(struct mlb_session *s, const struct holder *prev)
{
	static const char *const names[] = { "index.lock", MAIN_REF ".lock", "HEAD.lock", "config.lock" };
	int dead = prev->pid > 0 && (prev->pid == (long)getpid() ||
				     (kill((pid_t)prev->pid, 0) < 0 && errno == ESRCH));
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *path = mlb_xasprintf("%s/%s", s->gitdir, names[i]);
		struct stat st;

		while (lstat(path, &st) == 0) {
			struct timespec now;

			clock_gettime(CLOCK_REALTIME, &now);
			/* A second of slack: file times come from a coarser clock. */
			if ((dead && st.st_mtim.tv_sec >= prev->since.tv_sec - 1) || now.tv_sec - st.st_mtim.tv_sec >= 2) {
				unlink(path);
				break;
			}
			nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
		}
		free(path);
	}
}

/* Take the session lock; without wait, only when it is free at once (and quietly when it is not). */
static int take_lock(struct mlb_session *s, int wait, int *fd)
{
	char *path = mlb_xasprintf("%s/mlb.lock", s->gitdir);
	struct holder prev;
	int ret = 0;

	if (mlb_lock_acquire(path, wait ? mlb_lock_timeout(LOCK_TIMEOUT_DEFAULT) : 0, fd) < 0) {
		if (!wait)
			ret = -1;	/* busy, or a session one may only read: the caller goes on without */
		else if (errno == ETIMEDOUT)
			ret = mlb_error("session '%s' is busy (locked by another writer); try again", s->id);
		else
			ret = serr(s->id, "cannot lock '%s': %s", path, strerror(errno));
	}
	free(path);
	if (ret == 0) {
		swap_holder(*fd, &prev);
		clear_stale_locks(s, &prev);
	}
	return ret;
}

/* Under the lock: finish what a killed writer left undone (the work tree behind main), and with
 * scan, write back missing files too. */
static int repair(struct mlb_session *s, int scan)
{
	git_commit *head = NULL, *shown = NULL;
	git_tree *head_tree = NULL, *shown_tree = NULL;
	struct marker mark;
	int have, ret = 0;

	have = main_commit(s, &head, &head_tree);
	if (have <= 0)
		return have;
	read_marker(s, &mark);
	if (mark.have && git_oid_equal(&mark.id, git_commit_id(head)) && !scan)
		goto out;
	if (mark.have && !git_oid_equal(&mark.id, git_commit_id(head))) {
		if (git_commit_lookup(&shown, s->repo, &mark.id) == 0 && git_commit_tree(&shown_tree, shown) == 0)
			;
		else
			git_error_clear();	/* unknown commit: compare every file instead */
	} else if (mark.have) {
		shown_tree = head_tree;
	}
	ret = worktree_advance(s, shown_tree, NULL, head_tree, git_commit_id(head), 1);
out:
	marker_free(&mark);
	if (shown_tree != head_tree)
		git_tree_free(shown_tree);
	git_commit_free(shown);
	git_tree_free(head_tree);
	git_commit_free(head);
	return ret;
}

/* Under the lock, when the marker's record of directories does not hold: look at every file, and if
 * none is missing record the directories as they were before the look; else repair. */
static int recheck(struct mlb_session *s)
{
	git_commit *head = NULL;
	git_tree *tree = NULL;
	struct marker mark, dirs = { 0 };
	int ret;

	if (main_commit(s, &head, &tree) <= 0)
		return -1;
	read_marker(s, &mark);
	if (mark.have && git_oid_equal(&mark.id, git_commit_id(head)) && !any_missing(s, tree, "", &dirs, 1)) {
		dirs.complete = 1;
		ret = write_marker(s, git_commit_id(head), mark.have_index ? &mark.index : NULL, &dirs);
	} else {
		ret = repair(s, 1);
	}
	marker_free(&dirs);
	marker_free(&mark);
	git_tree_free(tree);
	git_commit_free(head);
	return ret;
}

/* On open: when the work tree lags behind main or lost files, take the lock and put it right.  While
 * the marker names main and no directory of main changed since it was written, no file can be
 * missing, and nothing else is looked at: the cost does not grow with the session. */
static void check_worktree(struct mlb_session *s)
{
	git_commit *head = NULL;
	git_tree *tree = NULL;
	struct marker mark;
	int fd = -1, current;

	if (main_commit(s, &head, &tree) <= 0)
		return;
	read_marker(s, &mark);
	current = mark.have && git_oid_equal(&mark.id, git_commit_id(head));
	if (current && marker_holds(s, &mark, tree))
		goto out;
	/* When the lock is not free at once (a writer at work, which will record the directories itself,
	 * or a session one may only read), only look. */
	if (current && take_lock(s, 0, &fd) < 0) {
		fd = -1;
		if (!any_missing(s, tree, "", NULL, 1))
			goto out;
	}
	if (fd < 0 && take_lock(s, 1, &fd) < 0) {
		mlb_warn("session '%s': the work tree is not up to date; it will be on the next write", s->id);
		goto out;
	}
	if (recheck(s) < 0)
		mlb_warn("session '%s': could not bring the work tree up to date", s->id);
	mlb_lock_release(fd);
out:
	marker_free(&mark);
	git_tree_free(tree);
	git_commit_free(head);
}

/* ---- committing ---- */

/* Builds the tree of a new commit from main's tree (NULL before the first commit), under the lock. */
typedef int (*build_fn)(struct mlb_session *s, git_tree *head, git_oid *tree_out, void *ctx);

static int signature(struct mlb_session *s, git_signature **sig)
{
	if (git_signature_default(sig, s->repo) == 0)
		return 0;
	git_error_clear();
	if (git_signature_now(sig, "mlb", "mlb@localhost") < 0)
		return gerr(s->id, "cannot make a commit signature");
	return 0;
}

/* Take the lock, build a tree with build, commit it on top of main, move main (compare and swap),
 * then update the work tree.  The only commit path, so every writer follows the same order. */
static int commit_locked(struct mlb_session *s, build_fn build, void *ctx, const char *message, char hex_out[41])
{
	git_commit *head = NULL;
	git_tree *head_tree = NULL, *new_tree = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_oid tree_id, commit_id;
	char *msg = NULL, *reflog = NULL;
	const char *nl;
	int fd, have, ret = -1;

	if (take_lock(s, 1, &fd) < 0)
		return -1;
	if (repair(s, 0) < 0)
		goto out;
	have = main_commit(s, &head, &head_tree);
	if (have < 0 || build(s, head_tree, &tree_id, ctx) < 0)
		goto out;
	if (git_tree_lookup(&new_tree, s->repo, &tree_id) < 0) {
		gerr(s->id, "cannot read the new tree");
		goto out;
	}
	if (signature(s, &sig) < 0)
		goto out;
	msg = mlb_xasprintf("%s%s", message, *message && message[strlen(message) - 1] == '\n' ? "" : "\n");
	if (git_commit_create(&commit_id, s->repo, NULL, sig, sig, NULL, msg, new_tree,
			      have ? 1 : 0, (const git_commit **)&head) < 0) {
		gerr(s->id, "cannot create a commit");
		goto out;
	}
	nl = strchr(message, '\n');
	reflog = mlb_xasprintf("commit%s: %.*s", have ? "" : " (initial)",
			       (int)(nl ? (size_t)(nl - message) : strlen(message)), message);
	if (have ? git_reference_create_matching(&ref, s->repo, MAIN_REF, &commit_id, 1,
						 git_commit_id(head), reflog) < 0
		 : git_reference_create(&ref, s->repo, MAIN_REF, &commit_id, 0, reflog) < 0) {
		gerr(s->id, "cannot move %s to the new commit", MAIN_REF);
		goto out;
	}
	/* Stored: from here on a failure only delays the work tree until the next writer or open. */
	ret = 0;
	if (hex_out)
		git_oid_tostr(hex_out, 41, &commit_id);
	if (worktree_advance(s, head_tree, have ? git_commit_id(head) : NULL, new_tree, &commit_id, 0) < 0)
		mlb_warn("session '%s': the work tree will be brought up to date on the next open", s->id);
out:
	free(reflog);
	free(msg);
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(new_tree);
	git_tree_free(head_tree);
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
		return gerr(s->id, "cannot start a tree");
	if (git_treebuilder_insert(NULL, b, name, id, mode) < 0)
		ret = gerr(s->id, "cannot put '%s' in a tree", name);
	else if (git_treebuilder_write(out, b) < 0)
		ret = gerr(s->id, "cannot write a tree");
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

/* Parse the JSON object in blob entry name of tree; NULL when absent or not an object. */
static json_object *json_in_tree(struct mlb_session *s, git_tree *tree, const char *name)
{
	const git_tree_entry *e = tree ? git_tree_entry_byname(tree, name) : NULL;
	json_tokener *tok;
	json_object *o = NULL;
	git_blob *blob;

	if (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return NULL;
	if (git_blob_lookup(&blob, s->repo, git_tree_entry_id(e)) < 0) {
		gerr(s->id, "cannot read '%s'", name);
		return NULL;
	}
	tok = json_tokener_new();
	if (tok) {
		o = json_tokener_parse_ex(tok, git_blob_rawcontent(blob), (int)git_blob_rawsize(blob));
		if (o && !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
		}
		json_tokener_free(tok);
	}
	git_blob_free(blob);
	return o;
}

/* Store o as a blob and insert it as name into b. */
static int insert_json(struct mlb_session *s, git_treebuilder *b, const char *name, json_object *o)
{
	size_t len;
	char *text = json_file(o, &len);
	git_oid id;
	int ret = 0;

	if (git_blob_create_from_buffer(&id, s->repo, text, len) < 0)
		ret = gerr(s->id, "cannot store '%s'", name);
	else if (git_treebuilder_insert(NULL, b, name, &id, GIT_FILEMODE_BLOB) < 0)
		ret = gerr(s->id, "cannot put '%s' in a tree", name);
	free(text);
	return ret;
}

/* The number of a message file name "000123.msg", or 0 for any other name. */
static unsigned long msg_number(const char *name)
{
	unsigned long n = 0;
	const char *p;

	for (p = name; *p >= '0' && *p <= '9'; p++) {
		if (p - name >= 9)
			return 0;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	return p > name && strcmp(p, ".msg") == 0 ? n : 0;
}

/* The highest message number in a pane tree: names only, no file is read. */
static unsigned long highest(git_tree *pane)
{
	size_t i, n = pane ? git_tree_entrycount(pane) : 0;
	unsigned long max = 0, k;

	for (i = 0; i < n; i++) {
		k = msg_number(git_tree_entry_name(git_tree_entry_byindex(pane, i)));
		if (k > max)
			max = k;
	}
	return max;
}

/* Fill in what every stored message carries: Date, Message-Id, a right Content-Hash. */
static void complete_message(struct mlb_session *s, const char *pane, unsigned long num, struct mlb_msgfile *m)
{
	static const char *const first[] = { "Role", "Model", "Date", "Message-Id", "Content-Hash", NULL };
	char hash[72], date[32];

	if (!mlb_msgfile_get(m, "Date")) {
		mlb_now_rfc3339(date);
		mlb_msgfile_set(m, "Date", date);
	}
	if (!mlb_msgfile_get(m, "Message-Id")) {
		char *mid = mlb_xasprintf("<%06lu.%s.%s@mlb>", num, pane, s->id);

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
	json_object *old = json_in_tree(s, pt, "pane.json"), *o, *v;
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
	unsigned long next;
	size_t j;
	int ret = -1;

	if (e && git_tree_entry_type(e) != GIT_OBJECT_TREE)
		return serr(s->id, "panes/%s is not a directory", a->pane);
	if (e && git_tree_lookup(&pt, s->repo, git_tree_entry_id(e)) < 0)
		return gerr(s->id, "cannot read pane '%s'", a->pane);
	/* Numbers come from main's tree under the lock: two writers can never take the same one. */
	next = highest(pt) + 1;
	if (git_treebuilder_new(&b, s->repo, pt) < 0) {
		gerr(s->id, "cannot start a tree");
		goto out;
	}
	if (pane_json(s, pt, b, a) < 0)
		goto out;
	for (j = 0; j < a->nmsgs; j++, next++) {
		struct mlb_msgfile *m = &a->msgs[j];
		char name[32], *bytes;
		size_t len;
		int rc;

		if (next > 999999999UL) {
			serr(s->id, "pane '%s' is full", a->pane);
			goto out;
		}
		complete_message(s, a->pane, next, m);
		bytes = mlb_msgfile_format(m, &len);
		rc = git_blob_create_from_buffer(&id, s->repo, bytes, len);
		free(bytes);
		snprintf(name, sizeof(name), "%06lu.msg", next);
		if (rc < 0) {
			gerr(s->id, "cannot store panes/%s/%s", a->pane, name);
			goto out;
		}
		if (git_treebuilder_insert(NULL, b, name, &id, GIT_FILEMODE_BLOB) < 0) {
			gerr(s->id, "cannot put panes/%s/%s in a tree", a->pane, name);
			goto out;
		}
		if (a->paths_out)
			a->paths_out[j] = mlb_xasprintf("panes/%s/%s", a->pane, name);
	}
	if (git_treebuilder_write(&id, b) < 0) {
		gerr(s->id, "cannot write the tree of pane '%s'", a->pane);
		goto out;
	}
	if (git_treebuilder_insert(NULL, panes, a->pane, &id, GIT_FILEMODE_TREE) < 0) {
		gerr(s->id, "cannot put pane '%s' in a tree", a->pane);
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

	if (subtree(s, root, "panes", &panes) < 0)
		return -1;
	if (git_treebuilder_new(&pb, s->repo, panes) < 0) {
		gerr(s->id, "cannot start a tree");
		goto out;
	}
	/* Only the panes written to get new trees; the others keep theirs untouched. */
	for (i = 0; i < job->n; i++)
		if (append_pane(s, pb, &job->appends[i]) < 0)
			goto out;
	if (git_treebuilder_write(&id, pb) < 0) {
		gerr(s->id, "cannot write the panes tree");
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
		return serr(s->id, "nothing to commit: no pane to append to");
	for (i = 0; i < n; i++) {
		if (!mlb_pane_name_valid(appends[i].pane)) {
			char shown[96];

			return serr(s->id, "invalid pane name '%s': " MLB_NAME_RULE,
				    printable(appends[i].pane ? appends[i].pane : "", shown));
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
	ret = commit_locked(s, build_append, &job, commit_message, commit_hex_out);
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

/* session.json changes: a function applied to the current session.json under the lock. */
struct info_job {
	void (*edit)(json_object *info, void *arg);
	void *arg;
	json_object *replace;	/* when set, session.json becomes this instead */
};

static int build_info(struct mlb_session *s, git_tree *root, git_oid *out, void *ctx)
{
	struct info_job *job = ctx;
	git_treebuilder *b = NULL;
	json_object *info;
	int ret = -1;

	if (job->replace)
		info = json_object_get(job->replace);
	else if (!(info = json_in_tree(s, root, "session.json")))
		return serr(s->id, "session.json is missing or not a JSON object");
	if (job->edit)
		job->edit(info, job->arg);
	if (git_treebuilder_new(&b, s->repo, root) < 0)
		gerr(s->id, "cannot start a tree");
	else if (insert_json(s, b, "session.json", info) == 0) {
		if (git_treebuilder_write(out, b) < 0)
			gerr(s->id, "cannot write a tree");
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
	struct info_job job = { edit_name, (void *)name, NULL };
	char *msg = mlb_xasprintf("mlb: name the session '%s'", name);
	int ret = commit_locked(s, build_info, &job, msg, commit_hex_out);

	free(msg);
	return ret;
}

static json_object *new_info(const char *id)
{
	json_object *o = json_object_new_object();
	char now[32];

	mlb_now_rfc3339(now);
	mlb_json_set_str(o, "id", id);
	mlb_json_set_str(o, "name", "");
	mlb_json_set_str(o, "created", now);
	mlb_json_set_str(o, "status", "active");
	return o;
}

/* Resolve a revision (hex id, "main~2", ...) to a commit. */
static int resolve(struct mlb_session *s, const char *rev, git_commit **out)
{
	git_object *obj = NULL, *peeled = NULL;
	int ret = 0;

	*out = NULL;
	if (git_revparse_single(&obj, s->repo, rev) < 0) {
		char shown[96];

		git_error_clear();
		return serr(s->id, "no commit '%s'; 'mlb-session log %s' lists them", printable(rev, shown), s->id);
	}
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0)
		ret = gerr(s->id, "'%s' is not a commit", rev);
	else
		*out = (git_commit *)peeled;
	git_object_free(obj);
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

	if (resolve(s, rev, &c) < 0)
		return -1;
	if (git_commit_tree(&job.tree, c) < 0) {
		git_commit_free(c);
		return gerr(s->id, "cannot read the tree of %s", rev);
	}
	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	msg = mlb_xasprintf("mlb: restore the panes of %.12s\n\nRestored-From: %s\n", hex, hex);
	ret = commit_locked(s, build_restore, &job, msg, commit_hex_out);
	free(msg);
	git_tree_free(job.tree);
	git_commit_free(c);
	return ret;
}

/* ---- creating ---- */

/* A new empty repository at path whose HEAD is refs/heads/main. */
static int init_repo(const char *id, const char *path, git_repository **out)
{
	git_repository_init_options opts;

	git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opts.flags = GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
	opts.initial_head = "main";
	if (git_repository_init_ext(out, path, &opts) < 0)
		return gerr(id, "cannot create a repository in '%s'", path);
	return 0;
}

/* A fresh directory beside the sessions, where a session is built before it appears whole. */
static char *temp_dir(const char *kind, const char *id)
{
	char *dir = mlb_sessions_dir(), *path, rnd[8];

	random_suffix(rnd, 6);
	path = mlb_xasprintf("%s/.%s-%s-%ld-%s", dir, kind, id, (long)getpid(), rnd);
	free(dir);
	return path;
}

/* Make the session built in tmp appear as id, all at once: 0, 1 if id exists already, -1 on an error. */
static int publish(const char *id, const char *tmp)
{
	char *path = session_dir(id), *dir = mlb_sessions_dir();
	int ret = 0;

	if (rename(tmp, path) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			ret = 1;
		else
			ret = serr(id, "cannot move '%s' to '%s': %s", tmp, path, strerror(errno));
	} else {
		mlb_sync_dir(dir);
	}
	free(dir);
	free(path);
	return ret;
}

/* Create session id with its first commit; losing a race to another creator is fine. */
static int create_session(const char *id)
{
	char *dir = mlb_sessions_dir(), *tmp;
	git_repository *repo;
	struct mlb_session *s;
	json_object *info;
	struct info_job job = { NULL, NULL, NULL };
	char *msg;
	int ret = -1;

	if (make_dirs(dir) < 0) {
		free(dir);
		return -1;
	}
	free(dir);
	tmp = temp_dir("new", id);
	if (init_repo(id, tmp, &repo) < 0)
		goto out;
	s = session_new(id, tmp, repo);
	info = new_info(id);
	job.replace = info;
	msg = mlb_xasprintf("mlb: new session %s", id);
	ret = commit_locked(s, build_info, &job, msg, NULL);
	free(msg);
	json_object_put(info);
	session_free(s);
	if (ret == 0 && publish(id, tmp) < 0)
		ret = -1;
out:
	remove_tree(tmp);	/* gone after a successful rename; leftovers after a lost race */
	free(tmp);
	return ret;
}

static int open_path(const char *id, const char *path, struct mlb_session **out)
{
	git_repository *repo;

	if (git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		return gerr(id, "cannot open the repository in '%s'", path);
	*out = session_new(id, path, repo);
	return 0;
}

int mlb_session_open(const char *id, int create, struct mlb_session **out)
{
	struct stat st;
	char *path;
	int ret = -1;

	*out = NULL;
	if (mlb_session_id_check(id) < 0)
		return -1;
	git_start();
	path = session_dir(id);
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT) {
			serr(id, "cannot open '%s': %s", path, strerror(errno));
			goto out;
		}
		if (!create) {
			mlb_error("no session '%s'; 'mlb-session ls' lists them", id);
			goto out;
		}
		if (create_session(id) < 0)
			goto out;
	}
	if (open_path(id, path, out) < 0)
		goto out;
	check_worktree(*out);
	ret = 0;
out:
	free(path);
	if (ret < 0)
		git_stop();
	return ret;
}

void mlb_session_close(struct mlb_session *s)
{
	if (!s)
		return;
	session_free(s);
	git_stop();
}

const char *mlb_session_id(const struct mlb_session *s)
{
	return s->id;
}

const char *mlb_session_path(const struct mlb_session *s)
{
	return s->path;
}

/* ---- reading ---- */

json_object *mlb_session_info(struct mlb_session *s)
{
	git_tree *root = NULL;
	json_object *o;

	if (main_tree(s, &root) < 0)
		return NULL;
	o = json_in_tree(s, root, "session.json");
	git_tree_free(root);
	if (!o)
		serr(s->id, "session.json is missing or not a JSON object");
	return o;
}

int mlb_session_stats(struct mlb_session *s, struct mlb_session_stats *st)
{
	git_revwalk *walk = NULL;
	git_commit *head = NULL;
	git_oid id;
	int ret = -1, rc;

	memset(st, 0, sizeof(*st));
	rc = main_commit(s, &head, NULL);
	if (rc <= 0)
		return rc;
	st->last_ms = (int64_t)git_commit_time(head) * 1000;
	git_oid_tostr(st->head, sizeof(st->head), git_commit_id(head));
	if (git_revwalk_new(&walk, s->repo) < 0 || git_revwalk_push(walk, git_commit_id(head)) < 0) {
		gerr(s->id, "cannot walk the history");
		goto out;
	}
	while ((rc = git_revwalk_next(&id, walk)) == 0)
		st->commits++;
	if (rc != GIT_ITEROVER) {
		gerr(s->id, "cannot walk the history");
		goto out;
	}
	git_error_clear();
	ret = 0;
out:
	git_revwalk_free(walk);
	git_commit_free(head);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mlb_session_panes(struct mlb_session *s, char ***panes, size_t *n)
{
	git_tree *root = NULL, *pt = NULL;
	size_t i, count;

	*panes = mlb_xcalloc(1, sizeof(char *));
	*n = 0;
	if (main_tree(s, &root) < 0 || subtree(s, root, "panes", &pt) < 0) {
		git_tree_free(root);
		return -1;
	}
	count = pt ? git_tree_entrycount(pt) : 0;
	*panes = mlb_xrealloc(*panes, (count + 1) * sizeof(char *));
	for (i = 0; i < count; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(pt, i);

		if (git_tree_entry_type(e) == GIT_OBJECT_TREE && mlb_pane_name_valid(git_tree_entry_name(e)))
			(*panes)[(*n)++] = mlb_xstrdup(git_tree_entry_name(e));
	}
	(*panes)[*n] = NULL;
	qsort(*panes, *n, sizeof(char *), cmp_str);
	git_tree_free(pt);
	git_tree_free(root);
	return 0;
}

json_object *mlb_session_pane_info(struct mlb_session *s, const char *pane)
{
	git_tree *pt;
	json_object *o;

	if (pane_tree(s, pane, &pt) < 0)
		return NULL;
	o = json_in_tree(s, pt, "pane.json");
	git_tree_free(pt);
	return o;
}

/* A message file of a pane tree. */
struct msgent {
	unsigned long num;
	const git_tree_entry *e;	/* lives as long as the pane tree */
};

static int cmp_msgent(const void *a, const void *b)
{
	const struct msgent *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

/* The message files of a pane tree, in number order (not name order: 1000000 sorts after 999999). */
static struct msgent *list_messages(git_tree *pt, size_t *n)
{
	size_t i, count = pt ? git_tree_entrycount(pt) : 0;
	struct msgent *v = mlb_xcalloc(count + 1, sizeof(*v));

	*n = 0;
	for (i = 0; i < count; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(pt, i);
		unsigned long k = msg_number(git_tree_entry_name(e));

		if (k && git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
			v[*n].num = k;
			v[*n].e = e;
			(*n)++;
		}
	}
	qsort(v, *n, sizeof(*v), cmp_msgent);
	return v;
}

int mlb_session_each_file(struct mlb_session *s, const char *pane,
			  int (*fn)(const char *path, const char *data, size_t len, void *ctx), void *ctx)
{
	struct mlb_buf path = MLB_BUF_INIT;
	git_tree *pt;
	struct msgent *v;
	size_t i, n, dir;
	int ret = 0;

	if (pane_tree(s, pane, &pt) < 0)
		return -1;
	v = list_messages(pt, &n);
	/* One buffer for every path: a pane may hold thousands of messages. */
	mlb_buf_addf(&path, "panes/%s/", pane);
	dir = path.len;
	for (i = 0; i < n && ret == 0; i++) {
		git_blob *blob;

		path.len = dir;
		mlb_buf_adds(&path, git_tree_entry_name(v[i].e));
		if (git_blob_lookup(&blob, s->repo, git_tree_entry_id(v[i].e)) < 0) {
			ret = gerr(s->id, "cannot read '%s'", path.s);
		} else {
			ret = fn(path.s, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), ctx);
			git_blob_free(blob);
		}
	}
	mlb_buf_free(&path);
	free(v);
	git_tree_free(pt);
	return ret;
}

struct collect {
	struct mlb_session *s;
	struct mlb_msgfile *v;
	size_t n, cap;
};

static int collect_one(const char *path, const char *data, size_t len, void *ctx)
{
	struct collect *c = ctx;
	struct mlb_msgfile *m;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = mlb_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	m = &c->v[c->n++];
	if (mlb_msgfile_parse(data, len, m) < 0) {
		/* Keep its place, so that messages and paths still line up. */
		mlb_warn("session '%s': %s is not a message file", c->s->id, path);
		m->content = mlb_xmalloc(len + 1);
		memcpy(m->content, data, len);
		m->content[len] = '\0';
		m->content_len = len;
	}
	return 0;
}

int mlb_session_messages(struct mlb_session *s, const char *pane, struct mlb_msgfile **msgs, size_t *n)
{
	struct collect c = { s, NULL, 0, 0 };

	*msgs = NULL;
	*n = 0;
	if (mlb_session_each_file(s, pane, collect_one, &c) < 0) {
		mlb_msgfiles_free(c.v, c.n);
		return -1;
	}
	*msgs = c.v;
	*n = c.n;
	return 0;
}

void mlb_msgfiles_free(struct mlb_msgfile *msgs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mlb_msgfile_free(&msgs[i]);
	free(msgs);
}

/* The id of panes/<pane> in a commit's tree (zero when absent). */
static int pane_tree_id(struct mlb_session *s, git_commit *c, const char *pane, git_oid *out)
{
	git_tree_entry *e;
	char *path = mlb_xasprintf("panes/%s", pane);
	git_tree *root;
	int rc;

	memset(out, 0, sizeof(*out));
	if (git_commit_tree(&root, c) < 0) {
		free(path);
		return gerr(s->id, "cannot read a tree");
	}
	rc = git_tree_entry_bypath(&e, root, path);
	if (rc == 0) {
		git_oid_cpy(out, git_tree_entry_id(e));
		git_tree_entry_free(e);
	} else {
		git_error_clear();
	}
	git_tree_free(root);
	free(path);
	return 0;
}

/* For each message (sorted, as in v), the commit that added it: walk main's first parents from the
 * newest; where the pane's tree changed, the newest messages the parent lacks were added there.
 * Messages are appended in number order, so the walk stops looking at the first one the parent has. */
static void added_by(struct mlb_session *s, const char *pane, struct msgent *v, size_t n,
		     git_commit *head, char **commits)
{
	git_commit *cur = head, *parent;
	size_t hi = n, budget = ADDED_BY_BUDGET;
	char hex[GIT_OID_HEXSZ + 1];
	git_oid cur_id, parent_id;

	git_commit_dup(&cur, head);
	if (pane_tree_id(s, cur, pane, &cur_id) < 0)
		goto out;
	while (hi > 0 && budget > 0) {
		git_tree *pt = NULL;

		if (git_commit_parentcount(cur) == 0 || git_commit_parent(&parent, cur, 0) < 0)
			break;
		git_error_clear();
		if (pane_tree_id(s, parent, pane, &parent_id) < 0) {
			git_commit_free(parent);
			break;
		}
		if (!git_oid_equal(&cur_id, &parent_id)) {
			budget--;
			if (!git_oid_is_zero(&parent_id) && git_tree_lookup(&pt, s->repo, &parent_id) < 0) {
				git_commit_free(parent);
				break;
			}
			git_oid_tostr(hex, sizeof(hex), git_commit_id(cur));
			while (hi > 0) {
				const git_tree_entry *e = pt ? git_tree_entry_byname(pt, git_tree_entry_name(v[hi - 1].e)) : NULL;

				if (e && git_oid_equal(git_tree_entry_id(e), git_tree_entry_id(v[hi - 1].e)))
					break;
				commits[--hi] = mlb_xstrdup(hex);
			}
			git_tree_free(pt);
		}
		git_commit_free(cur);
		cur = parent;
		cur_id = parent_id;
	}
	/* The root commit added what is left, or, past the budget, say main: it holds them. */
	git_oid_tostr(hex, sizeof(hex), git_commit_id(budget > 0 ? cur : head));
	while (hi > 0)
		commits[--hi] = mlb_xstrdup(hex);
out:
	git_commit_free(cur);
	for (; hi > 0; hi--)
		commits[hi - 1] = mlb_xstrdup("");
}

int mlb_session_message_paths(struct mlb_session *s, const char *pane, char ***paths, char ***commits, size_t *n)
{
	git_commit *head = NULL;
	git_tree *pt = NULL;
	struct msgent *v;
	size_t i;

	*paths = mlb_xcalloc(1, sizeof(char *));
	*n = 0;
	if (commits)
		*commits = mlb_xcalloc(1, sizeof(char *));
	if (pane_tree(s, pane, &pt) < 0)
		return -1;
	v = list_messages(pt, n);
	*paths = mlb_xrealloc(*paths, (*n + 1) * sizeof(char *));
	for (i = 0; i < *n; i++)
		(*paths)[i] = mlb_xasprintf("panes/%s/%s", pane, git_tree_entry_name(v[i].e));
	(*paths)[*n] = NULL;
	if (commits) {
		*commits = mlb_xrealloc(*commits, (*n + 1) * sizeof(char *));
		(*commits)[*n] = NULL;
		if (*n && main_commit(s, &head, NULL) > 0)
			added_by(s, pane, v, *n, head, *commits);
		else
			for (i = 0; i < *n; i++)
				(*commits)[i] = mlb_xstrdup("");
		git_commit_free(head);
	}
	free(v);
	git_tree_free(pt);
	return 0;
}

int mlb_session_log(struct mlb_session *s, int (*fn)(const struct mlb_commit_info *c, void *ctx), void *ctx)
{
	git_revwalk *walk = NULL;
	git_oid id;
	int have = read_main(s, &id), rc, ret = 0;

	if (have <= 0)
		return have;
	if (git_revwalk_new(&walk, s->repo) < 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME) < 0 ||
	    git_revwalk_push(walk, &id) < 0) {
		git_revwalk_free(walk);
		return gerr(s->id, "cannot walk the history");
	}
	while (ret == 0 && (rc = git_revwalk_next(&id, walk)) == 0) {
		struct mlb_commit_info info;
		const git_signature *who;
		git_commit *c;
		char *author;

		if (git_commit_lookup(&c, s->repo, &id) < 0) {
			ret = gerr(s->id, "cannot read commit %s", git_oid_tostr_s(&id));
			break;
		}
		who = git_commit_author(c);
		author = mlb_xasprintf("%s <%s>", who->name, who->email);
		git_oid_tostr(info.hex, sizeof(info.hex), &id);
		info.time_ms = (int64_t)git_commit_time(c) * 1000;
		info.author = author;
		info.message = git_commit_message(c);
		ret = fn(&info, ctx);
		free(author);
		git_commit_free(c);
	}
	if (ret == 0 && rc != GIT_ITEROVER)
		ret = gerr(s->id, "cannot walk the history");
	git_error_clear();
	git_revwalk_free(walk);
	return ret;
}

/* ---- the set of sessions ---- */

/* Remove what a process killed while building (.new-, .fork-, .import-) or removing (.rm-) a
 * session left in the sessions directory, once it is an hour old and surely abandoned. */
static void sweep(const char *dir, const char *name)
{
	static const char *const kinds[] = { ".new-", ".fork-", ".import-", ".rm-" };
	struct stat st;
	char *path;
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(name, kinds[i], strlen(kinds[i])) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return;
	path = mlb_xasprintf("%s/%s", dir, name);
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && time(NULL) - st.st_mtime > 3600)
		remove_tree(path);
	free(path);
}

int mlb_session_list(char ***ids, size_t *n)
{
	char *dir = mlb_sessions_dir();
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 16;

	*n = 0;
	*ids = mlb_xcalloc(cap + 1, sizeof(char *));
	if (!d) {
		int e = errno, ret = 0;

		if (e != ENOENT)	/* ENOENT: no session yet */
			ret = mlb_error("cannot read '%s': %s", dir, strerror(e));
		free(dir);
		return ret;
	}
	while ((de = readdir(d))) {
		/* Hidden names are sessions being built or removed; they are no one's yet. */
		if (de->d_name[0] == '.')
			sweep(dir, de->d_name);
		if (!mlb_session_id_valid(de->d_name) || !mlb_session_exists(de->d_name))
			continue;
		if (*n == cap) {
			cap *= 2;
			*ids = mlb_xrealloc(*ids, (cap + 1) * sizeof(char *));
		}
		(*ids)[(*n)++] = mlb_xstrdup(de->d_name);
	}
	closedir(d);
	free(dir);
	(*ids)[*n] = NULL;
	qsort(*ids, *n, sizeof(char *), cmp_str);
	return 0;
}

char *mlb_session_latest(void)
{
	char **ids, *best = NULL;
	int64_t best_key[2] = { INT64_MIN, INT64_MIN };
	size_t i, n;

	if (mlb_session_list(&ids, &n) < 0)
		return NULL;
	git_start();
	for (i = 0; i < n; i++) {
		char *path = session_dir(ids[i]), *ref = mlb_xasprintf("%s/.git/" MAIN_REF, path);
		git_repository *repo;
		git_commit *c;
		git_oid id;
		struct stat st;
		int64_t key[2];

		if (git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0) {
			if (git_reference_name_to_id(&id, repo, MAIN_REF) == 0 && git_commit_lookup(&c, repo, &id) == 0) {
				/* Commit times have whole seconds; the ref's mtime orders turns within one. */
				key[0] = git_commit_time(c);
				key[1] = stat(ref, &st) == 0 ? (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec : 0;
				if (key[0] > best_key[0] || (key[0] == best_key[0] && key[1] >= best_key[1])) {
					best_key[0] = key[0];
					best_key[1] = key[1];
					free(best);
					best = mlb_xstrdup(ids[i]);
				}
				git_commit_free(c);
			}
			git_repository_free(repo);
		}
		git_error_clear();
		free(ref);
		free(path);
	}
	git_stop();
	mlb_strv_free(ids);
	return best;
}

int mlb_session_remove(const char *id)
{
	char *path, *lock, *tmp;
	int fd, ret = -1;

	if (mlb_session_id_check(id) < 0)
		return -1;
	if (!mlb_session_exists(id))
		return mlb_error("no session '%s'; 'mlb-session ls' lists them", id);
	path = session_dir(id);
	lock = mlb_xasprintf("%s/.git/mlb.lock", path);
	tmp = temp_dir("rm", id);
	/* Wait for a writer to finish, then make the session vanish at once before deleting it. */
	if (mlb_lock_acquire(lock, mlb_lock_timeout(LOCK_TIMEOUT_DEFAULT), &fd) < 0) {
		if (errno == ETIMEDOUT)
			mlb_error("session '%s' is busy (locked by another writer); try again", id);
		else
			serr(id, "cannot lock '%s': %s", lock, strerror(errno));
		goto out;
	}
	if (rename(path, tmp) < 0) {
		serr(id, "cannot move '%s' away: %s", path, strerror(errno));
		mlb_lock_release(fd);
		goto out;
	}
	mlb_lock_release(fd);
	ret = remove_tree(tmp);
out:
	free(tmp);
	free(lock);
	free(path);
	return ret;
}

/* ---- fork, export, import ---- */

/* Write the objects reachable from tip (in s) as a pack into the repository dst. */
static int copy_objects(struct mlb_session *s, const git_oid *tip, git_repository *dst, const char *dst_id)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	char *packdir = mlb_xasprintf("%s/objects/pack", git_repository_path(dst));
	int ret = -1;

	if (git_packbuilder_new(&pb, s->repo) < 0 || git_revwalk_new(&walk, s->repo) < 0 ||
	    git_revwalk_push(walk, tip) < 0 || git_packbuilder_insert_walk(pb, walk) < 0) {
		gerr(s->id, "cannot collect the history");
		goto out;
	}
	if (git_packbuilder_write(pb, packdir, 0, NULL, NULL) < 0) {
		gerr(dst_id, "cannot write the objects");
		goto out;
	}
	ret = 0;
out:
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	free(packdir);
	return ret;
}

struct fork_edit {
	const char *id, *from, *commit;
};

static void edit_fork(json_object *info, void *arg)
{
	struct fork_edit *f = arg;
	json_object *from = json_object_new_object();
	char now[32];

	mlb_now_rfc3339(now);
	mlb_json_set_str(info, "id", f->id);
	mlb_json_set_str(info, "created", now);
	mlb_json_set_str(from, "session", f->from);
	mlb_json_set_str(from, "commit", f->commit);
	json_object_object_add(info, "forked_from", from);
}

static void edit_id(json_object *info, void *arg)
{
	mlb_json_set_str(info, "id", arg);
}

/* Finish a session built in tmp whose objects are in place: point main at tip, commit the edit of
 * session.json, write the work tree, and make it appear as id. */
static int finish_copy(const char *id, const char *tmp, git_repository *repo, const git_oid *tip,
		       struct info_job *job, const char *message, struct mlb_session **out)
{
	struct mlb_session *s = session_new(id, tmp, repo);
	git_reference *ref = NULL;
	int ret = -1, rc;

	if (git_reference_create(&ref, repo, MAIN_REF, tip, 1, "mlb: copied history") < 0) {
		gerr(id, "cannot set %s", MAIN_REF);
		session_free(s);
		return -1;
	}
	git_reference_free(ref);
	if (job && commit_locked(s, build_info, job, message, NULL) < 0)
		goto out;
	if (!job) {
		int fd;

		if (take_lock(s, 1, &fd) < 0)
			goto out;
		rc = repair(s, 1);
		mlb_lock_release(fd);
		if (rc < 0)
			goto out;
	}
	session_free(s);
	s = NULL;
	rc = publish(id, tmp);
	if (rc == 1)
		mlb_error("session '%s' already exists", id);
	if (rc != 0 || mlb_session_open(id, 0, out) < 0)
		goto out;
	ret = 0;
out:
	session_free(s);
	return ret;
}

int mlb_session_fork(struct mlb_session *s, const char *new_id, const char *rev, struct mlb_session **out)
{
	git_repository *repo = NULL;
	git_commit *c = NULL;
	char hex[GIT_OID_HEXSZ + 1], *tmp = NULL, *msg = NULL;
	struct fork_edit edit = { new_id, s->id, hex };
	struct info_job job = { edit_fork, &edit, NULL };
	int ret = -1;

	*out = NULL;
	if (mlb_session_id_check(new_id) < 0)
		return -1;
	if (mlb_session_exists(new_id))
		return mlb_error("session '%s' already exists", new_id);
	if (resolve(s, rev ? rev : MAIN_REF, &c) < 0)
		return -1;
	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	tmp = temp_dir("fork", new_id);
	if (init_repo(new_id, tmp, &repo) < 0)
		goto out;
	if (copy_objects(s, git_commit_id(c), repo, new_id) < 0) {
		git_repository_free(repo);
		goto out;
	}
	msg = mlb_xasprintf("mlb: fork of %s at %.12s\n\nForked-From: %s %s\n", s->id, hex, s->id, hex);
	ret = finish_copy(new_id, tmp, repo, git_commit_id(c), &job, msg, out);
out:
	remove_tree(tmp);
	free(msg);
	free(tmp);
	git_commit_free(c);
	return ret;
}

struct bundle_out {
	FILE *f;
	int failed;
};

static int write_pack_chunk(void *buf, size_t size, void *payload)
{
	struct bundle_out *b = payload;

	if (fwrite(buf, 1, size, b->f) != size) {
		b->failed = 1;
		return -1;
	}
	return 0;
}

int mlb_session_export(struct mlb_session *s, FILE *out)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	struct bundle_out b = { out, 0 };
	char hex[GIT_OID_HEXSZ + 1];
	git_oid id;
	int have = read_main(s, &id), ret = -1;

	if (have <= 0)
		return have < 0 ? -1 : serr(s->id, "nothing to export: %s does not exist", MAIN_REF);
	git_oid_tostr(hex, sizeof(hex), &id);
	if (git_packbuilder_new(&pb, s->repo) < 0 || git_revwalk_new(&walk, s->repo) < 0 ||
	    git_revwalk_push(walk, &id) < 0 || git_packbuilder_insert_walk(pb, walk) < 0) {
		gerr(s->id, "cannot collect the history");
		goto out;
	}
	/* HEAD is listed too, so that `git clone` of the bundle checks out main. */
	if (fprintf(out, "# v2 git bundle\n%s " MAIN_REF "\n%s HEAD\n\n", hex, hex) < 0) {
		b.failed = 1;
		goto out;
	}
	if (git_packbuilder_foreach(pb, write_pack_chunk, &b) < 0 && !b.failed) {
		gerr(s->id, "cannot write the pack");
		goto out;
	}
	if (!b.failed && fflush(out) == EOF)
		b.failed = 1;
	if (!b.failed)
		ret = 0;
out:
	if (b.failed)
		serr(s->id, "cannot write the bundle: %s", strerror(errno));
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	return ret;
}

/* How much a bundle's ref is wanted: main, else HEAD, else any. */
static int ref_rank(const char *name)
{
	return strcmp(name, MAIN_REF) == 0 ? 3 : strcmp(name, "HEAD") == 0 ? 2 : 1;
}

/* Read a bundle's header up to its blank line: *tip is the commit to import. */
static int bundle_header(FILE *in, git_oid *tip)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rank = 0, ended = 0, ret = -1;

	while (!ended && (len = getline(&line, &cap, in)) > 0) {
		lineno++;
		if (line[len - 1] != '\n') {
			mlb_error("import: the bundle ends inside its header");
			goto out;
		}
		line[--len] = '\0';
		if (lineno == 1) {
			if (strcmp(line, "# v2 git bundle") != 0 && strcmp(line, "# v3 git bundle") != 0) {
				mlb_error("import: not a git bundle");
				goto out;
			}
		} else if (len == 0) {
			ended = 1;
		} else if (line[0] == '@') {
			if (strcmp(line, "@object-format=sha1") != 0) {
				mlb_error("import: unsupported bundle capability '%s'", line + 1);
				goto out;
			}
		} else if (line[0] == '-') {
			mlb_error("import: the bundle needs commits it does not hold; export the whole session");
			goto out;
		} else if (len < GIT_OID_HEXSZ + 2 || line[GIT_OID_HEXSZ] != ' ' ||
			   git_oid_fromstrn(&(git_oid){ { 0 } }, line, GIT_OID_HEXSZ) < 0) {
			git_error_clear();
			mlb_error("import: line %d: malformed bundle header", lineno);
			goto out;
		} else if (ref_rank(line + GIT_OID_HEXSZ + 1) > rank) {
			rank = ref_rank(line + GIT_OID_HEXSZ + 1);
			git_oid_fromstrn(tip, line, GIT_OID_HEXSZ);
		}
	}
	if (lineno == 0)
		mlb_error("import: empty input, not a git bundle");
	else if (!ended)
		mlb_error("import: the bundle ends inside its header");
	else if (!rank)
		mlb_error("import: the bundle names no branch");
	else
		ret = 0;
out:
	free(line);
	return ret;
}

int mlb_session_import(FILE *in, const char *id, struct mlb_session **out)
{
	git_repository *repo = NULL;
	git_indexer *idx = NULL;
	git_indexer_options opts;
	git_indexer_progress stats;
	git_odb *odb = NULL;
	git_commit *tip_commit = NULL;
	git_tree *tree = NULL;
	json_object *info = NULL;
	struct mlb_session *probe = NULL;
	struct info_job job = { edit_id, NULL, NULL };
	char *tmp = NULL, *packdir = NULL, *msg = NULL, buf[65536];
	const char *what = id ? id : "import", *bundle_id;
	git_oid tip;
	size_t n;
	int ret = -1, rc;

	*out = NULL;
	if (id && mlb_session_id_check(id) < 0)
		return -1;
	if (id && mlb_session_exists(id))
		return mlb_error("session '%s' already exists", id);
	if (bundle_header(in, &tip) < 0)
		return -1;
	git_start();
	packdir = mlb_sessions_dir();
	rc = make_dirs(packdir);
	free(packdir);
	packdir = NULL;
	if (rc < 0)
		goto out;
	tmp = temp_dir("import", id ? id : "bundle");
	if (init_repo(what, tmp, &repo) < 0)
		goto out;
	packdir = mlb_xasprintf("%s/objects/pack", git_repository_path(repo));
	if (git_repository_odb(&odb, repo) < 0) {
		gerr(what, "cannot open the object database");
		goto out;
	}
	git_indexer_options_init(&opts, GIT_INDEXER_OPTIONS_VERSION);
	opts.verify = 1;
	if (git_indexer_new(&idx, packdir, 0, odb, &opts) < 0) {
		gerr(what, "cannot start reading the pack");
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (git_indexer_append(idx, buf, n, &stats) < 0) {
			gerr(what, "the bundle's pack is damaged");
			goto out;
		}
	if (ferror(in)) {
		mlb_error("import: cannot read the bundle: %s", strerror(errno));
		goto out;
	}
	if (git_indexer_commit(idx, &stats) < 0) {
		gerr(what, "the bundle's pack is damaged or incomplete");
		goto out;
	}
	if (git_commit_lookup(&tip_commit, repo, &tip) < 0 || git_commit_tree(&tree, tip_commit) < 0) {
		gerr(what, "the bundle does not hold its own commit %s", git_oid_tostr_s(&tip));
		goto out;
	}
	probe = session_new(what, tmp, NULL);
	probe->repo = repo;
	info = json_in_tree(probe, tree, "session.json");
	probe->repo = NULL;
	bundle_id = info ? mlb_json_str(info, "id") : NULL;
	if (!bundle_id) {
		mlb_error("import: the bundle is not an mlb session (no session.json with an id)");
		goto out;
	}
	if (!id) {
		if (mlb_session_id_check(bundle_id) < 0)
			goto out;
		if (mlb_session_exists(bundle_id)) {
			mlb_error("session '%s' already exists; give the import another id", bundle_id);
			goto out;
		}
		id = bundle_id;
	}
	job.arg = (void *)id;
	msg = mlb_xasprintf("mlb: import %s as %s", bundle_id, id);
	ret = finish_copy(id, tmp, repo, &tip, strcmp(id, bundle_id) != 0 ? &job : NULL, msg, out);
	repo = NULL;	/* finish_copy owns it now */
out:
	session_free(probe);
	json_object_put(info);
	git_tree_free(tree);
	git_commit_free(tip_commit);
	git_indexer_free(idx);
	git_odb_free(odb);
	git_repository_free(repo);
	if (tmp)
		remove_tree(tmp);
	free(msg);
	free(packdir);
	free(tmp);
	git_stop();
	return ret;
}
