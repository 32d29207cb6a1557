/*
 * store.c - session ids, opening and creating sessions, the set of sessions
 * (list, latest, remove).  The rules the store keeps are in store.h.
 */
#include "store-internal.h"
#include "clock.h"
#include "config.h"
#include "file.h"
#include "lock.h"
#include "event.h"
#include "msg.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- reporting ---- */

static const char *git_why(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown error";
}

/* Report "session '<id>': <what>"; return -1. */
int store_err(const char *id, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return mlb_error("session '%s': %s", id, what);
}

/* Report "session '<id>': <what> (<libgit2's reason>)"; return -1. */
int store_git_err(const char *id, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return store_err(id, "%s (%s)", what, git_why());
}

static void git_end(void)
{
	git_libgit2_shutdown();
}

/* libgit2 is reference counted: every opener pairs these two.  The first call also takes a reference
 * that lasts until exit: initialising libgit2 loads the system's certificates, which costs more than
 * opening a session, and `mlb-session grep` opens every session one after another. */
void store_git_start(void)
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

void store_git_stop(void)
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
const char *store_printable(const char *s, char out[96])
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
		return mlb_error("invalid session id '%s': at most %d characters", store_printable(id, shown), MLB_ID_MAX);
	return mlb_error("invalid session id '%s': " MLB_NAME_RULE,
			 store_printable(id, shown));
}

/* n random characters from [a-z0-9]. */
void store_random(char *out, size_t n)
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
	store_random(rnd, 6);
	return mlb_xasprintf("%s-%s", ts, rnd);
}

char *mlb_sessions_dir(void)
{
	char *home = mlb_home_dir();
	char *dir = mlb_xasprintf("%s/sessions", home);

	free(home);
	return dir;
}

char *store_session_dir(const char *id)
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
	path = store_session_dir(id);
	git = mlb_xasprintf("%s/.git", path);
	ok = stat(git, &st) == 0 && S_ISDIR(st.st_mode);
	free(git);
	free(path);
	return ok;
}

/* mkdir -p, private: conversations are nobody else's business. */
int store_make_dirs(const char *path)
{
	if (mlb_mkdirs(path, 0700) < 0)
		return mlb_error("cannot create '%s': %s", path, strerror(errno));
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
int store_remove_tree(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* ---- opening ---- */

struct mlb_session *store_session_new(const char *id, const char *path, git_repository *repo)
{
	struct mlb_session *s = mlb_xcalloc(1, sizeof(*s));

	s->id = mlb_xstrdup(id);
	s->path = mlb_xstrdup(path);
	s->gitdir = mlb_xasprintf("%s/.git", path);
	s->repo = repo;
	return s;
}

void store_session_free(struct mlb_session *s)
{
	if (!s)
		return;
	git_repository_free(s->repo);
	free(s->id);
	free(s->path);
	free(s->gitdir);
	free(s);
}

/* ---- creating ---- */

/* A new empty repository at path whose HEAD is refs/heads/main. */
int store_init_repo(const char *id, const char *path, git_repository **out)
{
	git_repository_init_options opts;

	git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opts.flags = GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
	opts.initial_head = "main";
	if (git_repository_init_ext(out, path, &opts) < 0)
		return store_git_err(id, "cannot create a repository in '%s'", path);
	return 0;
}

/* A fresh directory beside the sessions, where a session is built before it appears whole. */
char *store_temp_dir(const char *kind, const char *id)
{
	char *dir = mlb_sessions_dir(), *path, rnd[8];

	store_random(rnd, 6);
	path = mlb_xasprintf("%s/.%s-%s-%ld-%s", dir, kind, id, (long)getpid(), rnd);
	free(dir);
	return path;
}

/* Make the session built in tmp appear as id, all at once: 0, 1 if id exists already, -1 on an error. */
int store_publish(const char *id, const char *tmp)
{
	char *path = store_session_dir(id), *dir = mlb_sessions_dir();
	int ret = 0;

	if (rename(tmp, path) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			ret = 1;
		else
			ret = store_err(id, "cannot move '%s' to '%s': %s", tmp, path, strerror(errno));
	} else {
		mlb_sync_dir(dir);
	}
	free(dir);
	free(path);
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

/* Create session id with its first commit; losing a race to another creator is fine. */
static int create_session(const char *id)
{
	char *dir = mlb_sessions_dir(), *tmp;
	git_repository *repo;
	struct mlb_session *s;
	json_object *info;
	struct store_info_job job = { NULL, NULL, NULL };
	char *msg;
	int ret = -1;

	if (store_make_dirs(dir) < 0) {
		free(dir);
		return -1;
	}
	free(dir);
	tmp = store_temp_dir("new", id);
	if (store_init_repo(id, tmp, &repo) < 0)
		goto out;
	s = store_session_new(id, tmp, repo);
	s->unpublished = 1;
	info = new_info(id);
	job.replace = info;
	msg = mlb_xasprintf("mlb: new session %s", id);
	ret = store_commit(s, store_build_info, &job, msg, NULL);
	if (ret == 0)
		ret = store_worktree_fresh(s);
	free(msg);
	json_object_put(info);
	store_session_free(s);
	if (ret == 0 && store_publish(id, tmp) < 0)
		ret = -1;
out:
	store_remove_tree(tmp);	/* gone after a successful rename; leftovers after a lost race */
	free(tmp);
	return ret;
}

static int open_path(const char *id, const char *path, struct mlb_session **out)
{
	git_repository *repo;

	if (git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		return store_git_err(id, "cannot open the repository in '%s'", path);
	*out = store_session_new(id, path, repo);
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
	store_git_start();
	path = store_session_dir(id);
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT) {
			store_err(id, "cannot open '%s': %s", path, strerror(errno));
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
	ret = 0;
out:
	free(path);
	if (ret < 0)
		store_git_stop();
	return ret;
}

void mlb_session_close(struct mlb_session *s)
{
	if (!s)
		return;
	store_session_free(s);
	store_git_stop();
}

const char *mlb_session_id(const struct mlb_session *s)
{
	return s->id;
}

const char *mlb_session_path(const struct mlb_session *s)
{
	return s->path;
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
		store_remove_tree(path);
	free(path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
	store_git_start();
	for (i = 0; i < n; i++) {
		char *path = store_session_dir(ids[i]), *ref = mlb_xasprintf("%s/.git/" MAIN_REF, path);
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
	store_git_stop();
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
	path = store_session_dir(id);
	lock = mlb_xasprintf("%s/.git/mlb.lock", path);
	tmp = store_temp_dir("rm", id);
	/* Wait for a writer to finish, then make the session vanish at once before deleting it. */
	if (mlb_lock_acquire(lock, mlb_lock_timeout(LOCK_TIMEOUT_DEFAULT), &fd) < 0) {
		if (errno == ETIMEDOUT)
			mlb_error("session '%s' is busy (locked by another writer); try again", id);
		else
			store_err(id, "cannot lock '%s': %s", lock, strerror(errno));
		goto out;
	}
	if (rename(path, tmp) < 0) {
		store_err(id, "cannot move '%s' away: %s", path, strerror(errno));
		mlb_lock_release(fd);
		goto out;
	}
	mlb_lock_release(fd);
	ret = store_remove_tree(tmp);
out:
	free(tmp);
	free(lock);
	free(path);
	return ret;
}

