/*
 * test-store.c - unit tests for lib/store.c, and a driver for the session
 * tests in tests/0400-session.bats (no other tool writes sessions yet).
 *
 *   test-store                      the unit tests, in a temporary $MLB_HOME
 *   test-store populate <id>        a session with panes a and b and 3 turns
 *   test-store append-loop <id> [<max> [<seconds>]]
 *                                   append in a loop (for the kill -9 drill)
 *   test-store verify <id>          open, then check that the
 *                                   work tree matches main, file for file
 *   test-store bench <id> <n>       fill pane "big" to n messages, then time
 *                                   single appends
 *
 * The unit tests check numbering, bytes, Content-Hash, `git fsck --strict`,
 * a clean `git status`, 8 concurrent writers losing nothing, refused ids,
 * the work tree finished by the next writer after one died half-way,
 * nothing written by reading, and the index
 * edits of lib/gitindex.c read back by libgit2.
 */
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "event.h"
#include "gitindex.h"
#include "msg.h"
#include "msgfile.h"
#include "store.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A message with a role, a model and content. */
static void make_msg(struct mlb_msgfile *m, const char *role, const char *model, const char *content, size_t len)
{
	mlb_msgfile_init(m);
	mlb_msgfile_set(m, "Role", role);
	if (model)
		mlb_msgfile_set(m, "Model", model);
	mlb_msgfile_set_content(m, content, len);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		buf = mlb_xrealloc(buf, cap + 65536 + 1);
		n = fread(buf + *len, 1, 65536, f);
		*len += n;
		cap += 65536;
		if (n < 65536)
			break;
	}
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

/* Run a shell command; its exit status, and its output (stdout and stderr) in *out if wanted. */
static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
	char cmd[4096], *file = mlb_xasprintf("%s/test-store-out.%ld", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
					       (long)getpid()), *full;
	va_list ap;
	size_t len;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	full = mlb_xasprintf("( %s ) >'%s' 2>&1", cmd, file);
	status = system(full);
	free(full);
	if (out)
		*out = read_file(file, &len);
	unlink(file);
	free(file);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* `git fsck --strict` passes without a word, and `git status --porcelain` says nothing. */
static void check_git_clean(struct mlb_session *s)
{
	char *out = NULL;
	int rc;

	rc = run(&out, "git -C '%s' fsck --strict --no-progress", mlb_session_path(s));
	CHECK_INT(rc, 0);
	if (out && *out)
		fprintf(stderr, "git fsck said: %s", out);
	CHECK(out && !*out);
	free(out);
	rc = run(&out, "git -C '%s' status --porcelain", mlb_session_path(s));
	CHECK_INT(rc, 0);
	if (out && *out)
		fprintf(stderr, "git status said: %s", out);
	CHECK(out && !*out);
	free(out);
}

/* Every message file in the work tree is main's, byte for byte, and main's are all there: the count. */
static long check_worktree(struct mlb_session *s, int *bad)
{
	char **panes;
	size_t np, i, j;
	long total = 0;

	*bad = 0;
	if (mlb_session_panes(s, &panes, &np) < 0) {
		*bad = 1;
		return -1;
	}
	for (i = 0; i < np; i++) {
		struct mlb_msgfile *msgs;
		char **paths;
		size_t n, n2;
		char *dirpath = mlb_xasprintf("%s/panes/%s", mlb_session_path(s), panes[i]);
		DIR *d = opendir(dirpath);
		struct dirent *de;
		size_t files = 0;

		if (mlb_session_messages(s, panes[i], &msgs, &n) < 0 ||
		    mlb_session_message_paths(s, panes[i], &paths, NULL, &n2) < 0 || n != n2) {
			*bad = 1;
			free(dirpath);
			if (d)
				closedir(d);
			continue;
		}
		for (j = 0; j < n; j++) {
			char *path = mlb_xasprintf("%s/%s", mlb_session_path(s), paths[j]), *bytes, *want;
			size_t len, wlen;
			struct mlb_msgfile m;

			bytes = read_file(path, &len);
			want = mlb_msgfile_format(&msgs[j], &wlen);
			if (!bytes || len != wlen || memcmp(bytes, want, len) != 0) {
				fprintf(stderr, "%s: differs from main\n", paths[j]);
				*bad = 1;
			} else if (mlb_msgfile_parse(bytes, len, &m) < 0 || !mlb_msgfile_verify(&m)) {
				fprintf(stderr, "%s: does not parse or its Content-Hash is wrong\n", paths[j]);
				*bad = 1;
				mlb_msgfile_free(&m);
			} else {
				mlb_msgfile_free(&m);
			}
			free(want);
			free(bytes);
			free(path);
		}
		/* No message file in the work tree that main does not have, and nothing half-written. */
		while (d && (de = readdir(d))) {
			size_t len = strlen(de->d_name);

			if (len > 4 && strcmp(de->d_name + len - 4, ".msg") == 0)
				files++;
			if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				fprintf(stderr, "panes/%s/%s: left behind\n", panes[i], de->d_name);
				*bad = 1;
			}
		}
		if (d)
			closedir(d);
		if (files != n) {
			fprintf(stderr, "panes/%s: %zu files in the work tree, %zu in main\n", panes[i], files, n);
			*bad = 1;
		}
		total += (long)n;
		mlb_strv_free(paths);
		mlb_msgfiles_free(msgs, n);
		free(dirpath);
	}
	mlb_strv_free(panes);
	return total;
}

/* ---- the unit tests ---- */

/* Whether path is "panes/<pane>/<UTC time to the ms>Z-<6 of [a-z0-9]>.msg". */
static int message_path(const char *path, const char *pane)
{
	char *prefix = mlb_xasprintf("panes/%s/", pane);
	size_t n = strlen(prefix), i;
	const char *name = path + n;
	int ok = path && strncmp(path, prefix, n) == 0 && strlen(name) == 31 && name[8] == 'T' && name[15] == '.' &&
		 name[19] == 'Z' && name[20] == '-' && strcmp(name + 27, ".msg") == 0;

	for (i = 0; ok && i < 27; i++)
		if (i != 8 && i != 15 && i != 19 && i != 20)
			ok = i < 20 ? name[i] >= '0' && name[i] <= '9'
				    : (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9');
	free(prefix);
	return ok;
}

static void test_ids(void)
{
	static const char *const bad[] = { "../x", "/abs", ".hidden", "a/b", "", ".", "..", "a b", "x\n", "é" };
	static const char *const good[] = { "a", "A.b_c-1", "20261122T023000Z-k3x9q2", "x..y" };
	struct mlb_session *s;
	char long_id[MLB_ID_MAX + 2], *id;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!mlb_session_id_valid(bad[i]));
		CHECK(!mlb_pane_name_valid(bad[i]));
		CHECK_INT(mlb_session_open(bad[i], 1, &s), -1);
		CHECK(s == NULL);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(mlb_session_id_valid(good[i]));
	memset(long_id, 'a', MLB_ID_MAX);
	long_id[MLB_ID_MAX] = '\0';
	CHECK(mlb_session_id_valid(long_id));
	long_id[MLB_ID_MAX] = 'a';
	long_id[MLB_ID_MAX + 1] = '\0';
	CHECK(!mlb_session_id_valid(long_id));
	CHECK_INT(mlb_session_open(long_id, 1, &s), -1);
	/* Nothing was created for any of them. */
	{
		char **ids;
		size_t n;

		CHECK_INT(mlb_session_list(&ids, &n), 0);
		CHECK_INT(n, 0);
		mlb_strv_free(ids);
	}
	CHECK_INT(mlb_session_open("missing", 0, &s), -1);
	CHECK(!mlb_session_exists("missing"));

	id = mlb_session_new_id();
	CHECK_INT(strlen(id), 23);
	CHECK(mlb_session_id_valid(id));
	CHECK(id[8] == 'T' && id[15] == 'Z' && id[16] == '-');
	for (i = 17; i < 23; i++)
		CHECK((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9'));
	free(id);
}

static void test_turns(void)
{
	static const char blank[] = "hello\n\nworld\n\n";
	static const char no_nl[] = "an answer with no newline at the end";
	static const char odd[] = "nul \0 inside, CR \r\n, latin1 \xe9, header-like:\nRole: system\n";
	struct mlb_session *s;
	struct mlb_msgfile a[2], b[2], a2[2], *msgs;
	char *pa[2], *pb[2], *pa2[2], hex[41], hex2[41], **panes, **paths, **commits;
	struct mlb_pane_append app[2];
	struct mlb_session_stats st;
	json_object *info;
	size_t n, i;

	CHECK_INT(mlb_session_open("t1", 1, &s), 0);
	if (!s)
		return;
	{
		char *head = mlb_xasprintf("%s/.git/HEAD", mlb_session_path(s)), *text;
		size_t len;

		text = read_file(head, &len);
		CHECK_STR(text, "ref: refs/heads/main\n");
		free(text);
		free(head);
	}
	info = mlb_session_info(s);
	CHECK_STR(mlb_json_str(info, "id"), "t1");
	json_object_put(info);
	CHECK_INT(mlb_session_stats(s, &st), 0);
	CHECK_INT(st.commits, 1);

	/* One turn, two panes, one commit. */
	make_msg(&a[0], "user", NULL, blank, strlen(blank));
	make_msg(&a[1], "assistant", "fake:one", no_nl, strlen(no_nl));
	make_msg(&b[0], "user", NULL, odd, sizeof(odd) - 1);
	make_msg(&b[1], "assistant", "fake:two", "", 0);
	memset(app, 0, sizeof(app));
	app[0] = (struct mlb_pane_append){ "a", "fake:one", NULL, a, 2, pa };
	app[1] = (struct mlb_pane_append){ "b", "fake:two", NULL, b, 2, pb };
	CHECK_INT(mlb_session_commit(s, app, 2, "mlb-test: a turn on a and b", hex), 0);
	CHECK_INT(strlen(hex), 40);
	CHECK(message_path(pa[0], "a") && message_path(pa[1], "a") && strcmp(pa[0], pa[1]) < 0);
	CHECK(message_path(pb[0], "b") && message_path(pb[1], "b") && strcmp(pb[0], pb[1]) < 0);
	/* The messages got their Date, Message-Id and Content-Hash. */
	CHECK(mlb_msgfile_get(&a[0], "Date") != NULL);
	CHECK(mlb_msgfile_get(&a[0], "Message-Id") != NULL);
	CHECK(mlb_msgfile_verify(&b[0]));

	/* A second turn on a sorts after the first. */
	make_msg(&a2[0], "user", NULL, "again", 5);
	make_msg(&a2[1], "assistant", "fake:one", "yes\n", 4);
	app[0] = (struct mlb_pane_append){ "a", NULL, NULL, a2, 2, pa2 };
	CHECK_INT(mlb_session_commit(s, app, 1, "mlb-test: a second turn", hex2), 0);
	CHECK(message_path(pa2[0], "a") && strcmp(pa[1], pa2[0]) < 0 && strcmp(pa2[0], pa2[1]) < 0);
	CHECK(strcmp(hex, hex2) != 0);

	/* Read back from main: order, bytes, hashes. */
	CHECK_INT(mlb_session_messages(s, "a", &msgs, &n), 0);
	CHECK_INT(n, 4);
	if (n == 4) {
		CHECK(msgs[0].content_len == strlen(blank) && memcmp(msgs[0].content, blank, strlen(blank)) == 0);
		CHECK(msgs[1].content_len == strlen(no_nl) && memcmp(msgs[1].content, no_nl, strlen(no_nl)) == 0);
		CHECK_STR(msgs[3].content, "yes\n");
		CHECK_STR(mlb_msgfile_get(&msgs[1], "Role"), "assistant");
		CHECK_STR(mlb_msgfile_get(&msgs[1], "Model"), "fake:one");
		for (i = 0; i < n; i++)
			CHECK(mlb_msgfile_verify(&msgs[i]));
	}
	mlb_msgfiles_free(msgs, n);
	CHECK_INT(mlb_session_messages(s, "b", &msgs, &n), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK(msgs[0].content_len == sizeof(odd) - 1 && memcmp(msgs[0].content, odd, sizeof(odd) - 1) == 0);
		CHECK_INT(msgs[1].content_len, 0);
		CHECK(mlb_msgfile_verify(&msgs[0]));
	}
	mlb_msgfiles_free(msgs, n);
	CHECK_INT(mlb_session_messages(s, "nope", &msgs, &n), 0);
	CHECK_INT(n, 0);
	mlb_msgfiles_free(msgs, n);

	/* The work tree holds the same bytes, and the file ends with the content exactly. */
	{
		char *path = mlb_xasprintf("%s/%s", mlb_session_path(s), pa[1]), *bytes;
		size_t len;

		bytes = read_file(path, &len);
		CHECK(bytes && len > strlen(no_nl) && memcmp(bytes + len - strlen(no_nl), no_nl, strlen(no_nl)) == 0);
		CHECK(bytes && strstr(bytes, "Content-Hash: sha256:") != NULL);
		free(bytes);
		free(path);
	}
	{
		int bad;

		CHECK_INT(check_worktree(s, &bad), 6);
		CHECK_INT(bad, 0);
	}

	CHECK_INT(mlb_session_panes(s, &panes, &n), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(panes[0], "a");
		CHECK_STR(panes[1], "b");
	}
	mlb_strv_free(panes);
	info = mlb_session_pane_info(s, "b");
	CHECK_STR(mlb_json_str(info, "model"), "fake:two");
	CHECK_STR(mlb_json_str(info, "pane"), "b");
	json_object_put(info);
	CHECK(mlb_session_pane_info(s, "nope") == NULL);

	/* Which commit added each message. */
	CHECK_INT(mlb_session_message_paths(s, "a", &paths, &commits, &n), 0);
	CHECK_INT(n, 4);
	if (n == 4) {
		CHECK_STR(paths[3], pa2[1]);
		CHECK_STR(commits[0], hex);
		CHECK_STR(commits[1], hex);
		CHECK_STR(commits[2], hex2);
		CHECK_STR(commits[3], hex2);
	}
	mlb_strv_free(paths);
	mlb_strv_free(commits);

	CHECK_INT(mlb_session_stats(s, &st), 0);
	CHECK_INT(st.commits, 3);
	CHECK_STR(st.head, hex2);

	/* An invalid pane name stores nothing. */
	app[0] = (struct mlb_pane_append){ "../x", NULL, NULL, a2, 1, NULL };
	CHECK_INT(mlb_session_commit(s, app, 1, "bad", NULL), -1);
	CHECK_INT(mlb_session_stats(s, &st), 0);
	CHECK_INT(st.commits, 3);

	check_git_clean(s);
	for (i = 0; i < 2; i++) {
		mlb_msgfile_free(&a[i]);
		mlb_msgfile_free(&b[i]);
		mlb_msgfile_free(&a2[i]);
		free(pa[i]);
		free(pb[i]);
		free(pa2[i]);
	}
	mlb_session_close(s);
}

/* 8 processes append 20 messages each to the same pane at the same time: all 160 arrive, in order. */
static void test_concurrent(void)
{
	enum { WRITERS = 8, EACH = 20 };
	struct mlb_session *s;
	struct mlb_msgfile *msgs;
	struct mlb_session_stats st;
	char **paths, seen[WRITERS][EACH];
	pid_t pids[WRITERS];
	size_t n, i;
	int w, status, ok = 1;

	CHECK_INT(mlb_session_open("t2", 1, &s), 0);
	mlb_session_close(s);
	for (w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			struct mlb_session *cs;
			int k, failed = 0;

			if (mlb_session_open("t2", 0, &cs) < 0)
				_exit(1);
			for (k = 0; k < EACH; k++) {
				struct mlb_msgfile m;
				struct mlb_pane_append a = { "p", "fake:x", NULL, &m, 1, NULL };
				char text[64], msg[64];

				snprintf(text, sizeof(text), "writer %d message %d", w, k);
				snprintf(msg, sizeof(msg), "mlb-test: writer %d", w);
				make_msg(&m, "user", NULL, text, strlen(text));
				if (mlb_session_commit(cs, &a, 1, msg, NULL) < 0)
					failed = 1;
				mlb_msgfile_free(&m);
			}
			mlb_session_close(cs);
			_exit(failed);
		}
	}
	for (w = 0; w < WRITERS; w++) {
		CHECK(pids[w] > 0);
		if (pids[w] > 0 && waitpid(pids[w], &status, 0) == pids[w])
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK_INT(mlb_session_open("t2", 0, &s), 0);
	if (!s)
		return;
	CHECK_INT(mlb_session_messages(s, "p", &msgs, &n), 0);
	CHECK_INT(n, WRITERS * EACH);
	CHECK_INT(mlb_session_message_paths(s, "p", &paths, NULL, &n), 0);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		int k;

		if (!message_path(paths[i], "p") || (i > 0 && strcmp(paths[i - 1], paths[i]) >= 0))
			ok = 0;
		if (sscanf(msgs[i].content, "writer %d message %d", &w, &k) == 2 &&
		    w >= 0 && w < WRITERS && k >= 0 && k < EACH)
			seen[w][k]++;
	}
	CHECK(ok);	/* 160 names, each later than the one before */
	for (w = 0; w < WRITERS; w++)
		for (i = 0; i < EACH; i++)
			if (seen[w][i] != 1)
				ok = 0;
	CHECK(ok);	/* every message exactly once */
	mlb_strv_free(paths);
	mlb_msgfiles_free(msgs, n);
	CHECK_INT(mlb_session_stats(s, &st), 0);
	CHECK_INT(st.commits, WRITERS * EACH + 1);
	check_git_clean(s);
	mlb_session_close(s);
}

/* The text of .git/<name> of a session. */
static char *git_file(struct mlb_session *s, const char *name)
{
	char *path = mlb_xasprintf("%s/.git/%s", mlb_session_path(s), name), *text;
	size_t len;

	text = read_file(path, &len);
	free(path);
	return text;
}

/* One message appended to pane a. */
static int one_more(struct mlb_session *s, const char *text, char *path_out[1], char hex[41])
{
	struct mlb_msgfile m;
	struct mlb_pane_append a = { "a", NULL, NULL, &m, 1, path_out };
	int rc;

	make_msg(&m, "user", NULL, text, strlen(text));
	rc = mlb_session_commit(s, &a, 1, "mlb-test: one more", hex);
	mlb_msgfile_free(&m);
	return rc;
}

/* Opening and reading write nothing; a file the person removed stays removed; a writer killed
 * before the index caught up (.git/mlb-intent left behind) is finished by the next one. */
static void test_guest(void)
{
	struct mlb_session *s;
	struct mlb_msgfile *msgs;
	char *p1[1] = { NULL }, *p2[1] = { NULL }, *p3[1] = { NULL }, parent[41], hex[41], hex3[41];
	char *before, *after, *out = NULL, *intent;
	size_t n;
	int bad;

	CHECK_INT(mlb_session_open("t1", 0, &s), 0);
	if (!s)
		return;
	CHECK_INT(mlb_session_set_name(s, "after", hex), 0);
	CHECK_INT(one_more(s, "kept", p1, parent), 0);
	CHECK(git_file(s, "mlb-intent") == NULL);	/* gone once the work tree followed */
	mlb_session_close(s);

	/* Reading: the index and everything else stay as they are. */
	CHECK_INT(run(&before, "cd \"$MLB_HOME_SESSIONS_T1\" && find . | sort | xargs stat -c '%%n %%s %%y %%i'"), 0);
	CHECK_INT(mlb_session_open("t1", 0, &s), 0);
	if (!s)
		return;
	CHECK_INT(mlb_session_messages(s, "a", &msgs, &n), 0);
	mlb_msgfiles_free(msgs, n);
	mlb_session_close(s);
	CHECK_INT(run(&after, "cd \"$MLB_HOME_SESSIONS_T1\" && find . | sort | xargs stat -c '%%n %%s %%y %%i'"), 0);
	CHECK_STR(after, before);
	free(before);
	free(after);

	/* The person removes a message file (git rm): mlb leaves it so; it is still in main. */
	CHECK_INT(run(NULL, "cd \"$MLB_HOME_SESSIONS_T1\" && git rm -q '%s'", p1[0]), 0);
	CHECK_INT(mlb_session_open("t1", 0, &s), 0);
	if (!s)
		return;
	CHECK_INT(one_more(s, "next", p2, hex), 0);
	CHECK_INT(run(&out, "cd \"$MLB_HOME_SESSIONS_T1\" && git status --porcelain"), 0);
	{
		char *want = mlb_xasprintf("D  %s\n", p1[0]);

		CHECK_STR(out, want);
		free(want);
	}
	free(out);
	CHECK_INT(run(NULL, "cd \"$MLB_HOME_SESSIONS_T1\" && git reset -q --hard"), 0);

	/* A writer killed after moving main: its file is in neither the index nor the work tree, and
	 * .git/mlb-intent names its commit.  The next writer adds it. */
	CHECK_INT(one_more(s, "killed", p3, hex3), 0);
	CHECK_INT(run(NULL, "cd \"$MLB_HOME_SESSIONS_T1\" && git rm -q --cached '%s' && rm '%s'", p3[0], p3[0]), 0);
	intent = mlb_xasprintf("cd \"$MLB_HOME_SESSIONS_T1\" && echo \"$(git rev-parse main~1) %s\" >.git/mlb-intent", hex3);
	CHECK_INT(run(NULL, "%s", intent), 0);
	free(intent);
	CHECK_INT(one_more(s, "after", NULL, hex), 0);
	CHECK(git_file(s, "mlb-intent") == NULL);
	check_git_clean(s);
	CHECK_INT(check_worktree(s, &bad), 10);
	CHECK_INT(bad, 0);
	/* An intent whose commit never reached main is dropped. */
	CHECK_INT(run(NULL, "cd \"$MLB_HOME_SESSIONS_T1\" && echo \"%s 0123456789012345678901234567890123456789\" >.git/mlb-intent", hex), 0);
	CHECK_INT(one_more(s, "last", NULL, hex), 0);
	CHECK(git_file(s, "mlb-intent") == NULL);
	check_git_clean(s);
	free(p1[0]);
	free(p2[0]);
	free(p3[0]);
	mlb_session_close(s);
}

static void test_history(void)
{
	struct mlb_session *s, *f;
	struct mlb_session_stats st, st2;
	struct mlb_msgfile *msgs;
	char hex[41], **ids, *latest;
	json_object *info;
	size_t n, n_before;

	CHECK_INT(mlb_session_open("t1", 0, &s), 0);
	if (!s)
		return;
	CHECK_INT(mlb_session_stats(s, &st), 0);
	CHECK_INT(mlb_session_messages(s, "a", &msgs, &n_before), 0);
	mlb_msgfiles_free(msgs, n_before);
	/* Restore the panes of the first turn (main~7): a has 2 messages again, session.json keeps its name. */
	CHECK_INT(mlb_session_restore(s, "main~7", hex), 0);
	CHECK_INT(mlb_session_messages(s, "a", &msgs, &n), 0);
	CHECK_INT(n, 2);
	mlb_msgfiles_free(msgs, n);
	info = mlb_session_info(s);
	CHECK_STR(mlb_json_str(info, "name"), "after");
	json_object_put(info);
	CHECK_INT(mlb_session_stats(s, &st2), 0);
	CHECK_INT(st2.commits, st.commits + 1);
	check_git_clean(s);
	CHECK_INT(mlb_session_restore(s, "no-such-commit", hex), -1);

	/* A fork at main~1 has the history up to there, plus its own commit. */
	CHECK_INT(mlb_session_fork(s, "t1-fork", "main~1", &f), 0);
	if (f) {
		CHECK_INT(mlb_session_messages(f, "a", &msgs, &n), 0);
		CHECK_INT(n, n_before);
		mlb_msgfiles_free(msgs, n);
		CHECK_INT(mlb_session_stats(f, &st2), 0);
		CHECK_INT(st2.commits, st.commits + 1);
		info = mlb_session_info(f);
		CHECK_STR(mlb_json_str(info, "id"), "t1-fork");
		json_object_put(info);
		check_git_clean(f);
		mlb_session_close(f);
	}
	CHECK_INT(mlb_session_fork(s, "t1-fork", NULL, &f), -1);
	mlb_session_close(s);

	CHECK_INT(mlb_session_list(&ids, &n), 0);
	CHECK_INT(n, 3);
	mlb_strv_free(ids);
	latest = mlb_session_latest();
	CHECK_STR(latest, "t1-fork");
	free(latest);
	CHECK_INT(mlb_session_remove("t1-fork"), 0);
	CHECK(!mlb_session_exists("t1-fork"));
	CHECK_INT(mlb_session_remove("t1-fork"), -1);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void sha1_hex(const void *data, size_t len, char out[41])
{
	unsigned char sum[20];
	int i;

	mlb_sha1(data, len, sum);
	for (i = 0; i < 20; i++)
		sprintf(out + 2 * i, "%02x", sum[i]);
}

static struct mlb_index_edit index_edit(const char *path, unsigned char id, uint32_t size, uint32_t mtime)
{
	struct mlb_index_edit e;

	memset(&e, 0, sizeof(e));
	e.path = mlb_xstrdup(path);
	e.mode = 0100644;
	e.size = size;
	e.mtime_s = mtime;
	memset(e.id, id, sizeof(e.id));
	return e;
}

/* The paths of an index file as libgit2 reads it (which checks the checksum), with each size. */
static char *index_listing(const char *path)
{
	struct mlb_buf b = MLB_BUF_INIT;
	git_index *index;
	size_t i;

	if (git_index_open(&index, path) < 0)
		return mlb_xstrdup("unreadable");
	for (i = 0; i < git_index_entrycount(index); i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);

		mlb_buf_addf(&b, "%s:%u:%02x ", e->path, (unsigned)e->file_size, e->id.id[0]);
	}
	git_index_free(index);
	return mlb_buf_detach(&b);
}

/* What the store does with an index: 0 when written through lib/gitindex.c, 1 when it is not plain
 * (nothing written), -1 with errno (EEXIST: someone else's index.lock). */
static int index_update(const char *path, struct mlb_index_edit *e, size_t n)
{
	char *lock = mlb_xasprintf("%s.lock", path);
	struct mlb_index x;
	int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644), ret = -1;

	if (fd < 0) {
		free(lock);
		return -1;
	}
	if (mlb_index_read(path, &x) < 0)
		ret = errno == ENOENT ? 1 : -1;
	else if (!x.plain)
		ret = 1;
	else if (mlb_index_write(&x, fd, e, n) == 0 && close(fd) == 0 && rename(lock, path) == 0)
		ret = fd = 0;
	if (ret != 0) {
		close(fd);
		unlink(lock);
	}
	mlb_index_free(&x);
	free(lock);
	return ret;
}

static void test_index(const char *dir)
{
	char hex[41], *path = mlb_xasprintf("%s/index", dir), *lock = mlb_xasprintf("%s/index.lock", dir), *list;
	char *million = mlb_xmalloc(1000000);
	struct mlb_index_edit e[4];
	struct mlb_index x;
	git_index *index;
	git_index_entry ge;
	unsigned char id[20];
	uint32_t mode;
	size_t i;
	int fd;

	git_libgit2_init();
	sha1_hex("", 0, hex);
	CHECK_STR(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	sha1_hex("abc", 3, hex);
	CHECK_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
	sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	CHECK_STR(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	memset(million, 'a', 1000000);
	sha1_hex(million, 1000000, hex);
	CHECK_STR(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(million);

	e[0] = index_edit("a", 1, 1, 0);
	CHECK_INT(index_update(path, e, 1), 1);	/* no index yet: nothing written */
	free(e[0].path);

	/* An index as libgit2 writes it: three entries, one with a long name, and a TREE extension. */
	CHECK_INT(git_index_open(&index, path), 0);
	memset(&ge, 0, sizeof(ge));
	ge.mode = GIT_FILEMODE_BLOB;
	for (i = 0; i < 3; i++) {
		static const char *const names[] = { "panes/a/000001.msg", "panes/b/000001.msg", "session.json" };

		memset(ge.id.id, 0x10 + (int)i, sizeof(ge.id.id));
		ge.file_size = 10 + (uint32_t)i;
		ge.path = names[i];
		CHECK_INT(git_index_add(index, &ge), 0);
	}
	CHECK_INT(git_index_write(index), 0);
	git_index_free(index);

	/* Lookups. */
	CHECK_INT(mlb_index_read(path, &x), 0);
	CHECK(x.plain);
	CHECK_INT(mlb_index_find(&x, "panes/b/000001.msg", id, &mode), 1);
	CHECK(id[0] == 0x11 && mode == 0100644);
	CHECK_INT(mlb_index_find(&x, "panes/b", id, &mode), 0);
	CHECK_INT(mlb_index_find(&x, "zzz", id, &mode), 0);
	mlb_index_free(&x);

	/* Add two files, replace one, remove one and one that is not there. */
	e[0] = index_edit("panes/b/000001.msg", 0, 0, 0);
	e[0].remove = 1;
	e[1] = index_edit("panes/a/000002.msg", 0x22, 22, 0);
	e[2] = index_edit("session.json", 0x33, 33, 0);
	e[3] = index_edit("panes/c/000001.msg", 0x44, 44, 0);
	CHECK_INT(index_update(path, e, 4), 0);
	list = index_listing(path);
	CHECK_STR(list, "panes/a/000001.msg:10:10 panes/a/000002.msg:22:22 panes/c/000001.msg:44:44 session.json:33:33 ");
	free(list);
	for (i = 0; i < 4; i++)
		free(e[i].path);

	/* An entry changed in the same tick as the index was written is kept for a compare by content. */
	e[0] = index_edit("panes/a/000003.msg", 0x55, 55, 0xfffffff0u);
	CHECK_INT(index_update(path, e, 1), 0);
	e[1] = index_edit("panes/a/000004.msg", 0x66, 66, 0);
	CHECK_INT(index_update(path, e + 1, 1), 0);
	list = index_listing(path);
	CHECK(list && strstr(list, "panes/a/000003.msg:0:55 ") && strstr(list, "panes/a/000004.msg:66:66 ") &&
	      strstr(list, "panes/a/000001.msg:10:10 "));
	free(list);

	/* Someone else's index.lock: nothing is written, and it stays. */
	fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	errno = 0;
	CHECK_INT(index_update(path, e + 1, 1), -1);
	CHECK_INT(errno, EEXIST);
	CHECK(access(lock, F_OK) == 0);
	unlink(lock);

	{
		/* A damaged checksum: not plain. */
		size_t len;
		char *bytes = read_file(path, &len), *tmp = mlb_xasprintf("%s.new", path);
		FILE *f = fopen(tmp, "w");

		CHECK(bytes && len > 20 && f);
		if (bytes && f) {
			bytes[13] ^= 1;
			fwrite(bytes, 1, len, f);
		}
		if (f)
			fclose(f);
		CHECK_INT(mlb_index_read(tmp, &x), 0);
		CHECK(!x.plain);
		mlb_index_free(&x);
		unlink(tmp);
		free(bytes);
		free(tmp);
	}

	/* Version 4: not plain, for libgit2. */
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT(pwrite(fd, "\0\0\0\x04", 4, 4), 4);
		close(fd);
	}
	CHECK_INT(index_update(path, e + 1, 1), 1);
	free(e[0].path);
	free(e[1].path);
	free(lock);
	free(path);
	git_libgit2_shutdown();
}

static int unit_tests(void)
{
	char tmpl[4096], *sessions;
	const char *tmp = getenv("TMPDIR");

	snprintf(tmpl, sizeof(tmpl), "%s/test-store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	setenv("MLB_HOME", tmpl, 1);
	setenv("MLB_LOCK_TIMEOUT", "60", 1);
	sessions = mlb_xasprintf("%s/sessions/t1", tmpl);
	setenv("MLB_HOME_SESSIONS_T1", sessions, 1);
	free(sessions);
	test_ids();
	test_turns();
	test_concurrent();
	test_guest();
	test_history();
	test_index(tmpl);
	if (unit_failures == 0)
		nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "test-store: sessions left in %s\n", tmpl);
	return unit_done();
}

/* ---- modes for the bats tests ---- */

static int turn(struct mlb_session *s, const char *prompt, const char *answer_a, const char *answer_b, char hex[41])
{
	struct mlb_msgfile ma[2], mb[2];
	struct mlb_pane_append app[2] = {
		{ "a", "fake:alpha", NULL, ma, 2, NULL },
		{ "b", "fake:beta", NULL, mb, answer_b ? 2 : 0, NULL },
	};
	char *msg = mlb_xasprintf("mlb-test: a, b: %s", prompt);
	int ret, i;

	make_msg(&ma[0], "user", NULL, prompt, strlen(prompt));
	make_msg(&ma[1], "assistant", "fake:alpha", answer_a, strlen(answer_a));
	mlb_msgfile_set(&ma[1], "Finish-Reason", "stop");
	make_msg(&mb[0], "user", NULL, prompt, strlen(prompt));
	make_msg(&mb[1], "assistant", "fake:beta", answer_b ? answer_b : "", answer_b ? strlen(answer_b) : 0);
	mlb_msgfile_set(&mb[1], "Finish-Reason", "length");
	mlb_msgfile_set(&mb[1], "Partial", "true");
	ret = mlb_session_commit(s, app, answer_b ? 2 : 1, msg, hex);
	for (i = 0; i < 2; i++) {
		mlb_msgfile_free(&ma[i]);
		mlb_msgfile_free(&mb[i]);
	}
	free(msg);
	return ret;
}

static int populate(const char *id)
{
	struct mlb_session *s;
	char hex[41];
	int ret = 0;

	if (mlb_session_open(id, 1, &s) < 0)
		return 1;
	if (turn(s, "What is a tree?", "A tree is a plant with a trunk.\n\nIt has leaves.",
		 "A graph with no cycles.", hex) < 0 ||
	    turn(s, "And a forest?", "Many trees together.", "A set of disjoint trees.\n", hex) < 0 ||
	    turn(s, "Name a famous one.", "Sherwood Forest, home of Robin Hood.", NULL, hex) < 0)
		ret = 1;
	/* A message moved here from another pane, with its provenance. */
	if (ret == 0) {
		struct mlb_msgfile m;
		struct mlb_pane_append a = { "b", NULL, NULL, &m, 1, NULL };

		make_msg(&m, "user", NULL, "Many trees together.", 20);
		mlb_msgfile_set(&m, "Source-Session", id);
		mlb_msgfile_set(&m, "Source-Pane", "a");
		mlb_msgfile_set(&m, "Source-Model", "fake:alpha");
		mlb_msgfile_set(&m, "Transfer-Ts", "2026-11-22T02:30:00.000Z");
		mlb_msgfile_set(&m, "Source-Hash", mlb_msgfile_get(&m, "Content-Hash"));
		if (mlb_session_commit(s, &a, 1, "mlb-test: send a to b", hex) < 0)
			ret = 1;
		mlb_msgfile_free(&m);
	}
	if (ret == 0)
		printf("%s\n", hex);
	mlb_session_close(s);
	return ret;
}

static int append_loop(const char *id, long max, double seconds)
{
	struct mlb_session *s;
	int64_t end = mlb_mono_ms() + (int64_t)(seconds * 1000);
	long i;

	if (mlb_session_open(id, 1, &s) < 0)
		return 1;
	for (i = 0; i < max && mlb_mono_ms() < end; i++) {
		struct mlb_msgfile m[2];
		struct mlb_pane_append a[2] = {
			{ i % 3 ? "loop" : "other", "fake:loop", NULL, &m[0], 1, NULL },
			{ "loop2", "fake:loop", NULL, &m[1], 1, NULL },
		};
		char text[64];

		snprintf(text, sizeof(text), "append %ld\n\nwith a blank line", i);
		make_msg(&m[0], "user", NULL, text, strlen(text));
		make_msg(&m[1], "assistant", "fake:loop", text, strlen(text));
		if (mlb_session_commit(s, a, i % 2 ? 2 : 1, "mlb-test: append", NULL) < 0) {
			mlb_msgfile_free(&m[0]);
			mlb_msgfile_free(&m[1]);
			mlb_session_close(s);
			return 1;
		}
		mlb_msgfile_free(&m[0]);
		mlb_msgfile_free(&m[1]);
		if (i == 0) {
			printf("started\n");
			fflush(stdout);
		}
	}
	mlb_session_close(s);
	return 0;
}

static int verify(const char *id)
{
	struct mlb_session *s;
	long n;
	int bad;

	if (mlb_session_open(id, 0, &s) < 0)
		return 1;
	n = check_worktree(s, &bad);
	mlb_session_close(s);
	printf("%ld messages%s\n", n, bad ? ", with problems" : "");
	return bad;
}

static int bench(const char *id, long target)
{
	enum { BATCH = 250, TIMED = 20 };
	struct mlb_session *s;
	struct mlb_msgfile *msgs;
	size_t have;
	int64_t t0;
	long i, j;

	if (mlb_session_open(id, 1, &s) < 0)
		return 1;
	if (mlb_session_messages(s, "big", &msgs, &have) < 0)
		return 1;
	mlb_msgfiles_free(msgs, have);
	/* Fill in batches (one commit each) to get there quickly. */
	for (i = (long)have; i < target; i += BATCH) {
		struct mlb_msgfile m[BATCH];
		struct mlb_pane_append a = { "big", "fake:big", NULL, m, 0, NULL };

		for (j = 0; j < BATCH && i + j < target; j++) {
			char text[64];

			snprintf(text, sizeof(text), "filler %ld", i + j);
			make_msg(&m[j], j % 2 ? "assistant" : "user", NULL, text, strlen(text));
		}
		a.nmsgs = (size_t)j;
		if (mlb_session_commit(s, &a, 1, "mlb-test: fill", NULL) < 0)
			return 1;
		for (j = 0; j < (long)a.nmsgs; j++)
			mlb_msgfile_free(&m[j]);
	}
	mlb_session_close(s);

	t0 = mlb_mono_ms();
	if (mlb_session_open(id, 0, &s) < 0)
		return 1;
	printf("open with %ld messages: %lld ms\n", target, (long long)(mlb_mono_ms() - t0));
	t0 = mlb_mono_ms();
	for (i = 0; i < TIMED; i++) {
		struct mlb_msgfile m;
		struct mlb_pane_append a = { "big", NULL, NULL, &m, 1, NULL };

		make_msg(&m, "user", NULL, "one more", 8);
		if (mlb_session_commit(s, &a, 1, "mlb-test: one more", NULL) < 0)
			return 1;
		mlb_msgfile_free(&m);
	}
	printf("append one message to a pane of %ld: %.1f ms each (mean of %d)\n", target,
	       (double)(mlb_mono_ms() - t0) / TIMED, TIMED);
	mlb_session_close(s);
	return 0;
}

int main(int argc, char **argv)
{
	mlb_set_progname("test-store");
	if (argc == 1)
		return unit_tests();
	if (argc == 3 && strcmp(argv[1], "populate") == 0)
		return populate(argv[2]);
	if (argc >= 3 && argc <= 5 && strcmp(argv[1], "append-loop") == 0)
		return append_loop(argv[2], argc > 3 ? atol(argv[3]) : 2000, argc > 4 ? atof(argv[4]) : 10);
	if (argc == 3 && strcmp(argv[1], "verify") == 0)
		return verify(argv[2]);
	if (argc == 4 && strcmp(argv[1], "bench") == 0)
		return bench(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: test-store [populate <id> | append-loop <id> [<max> [<seconds>]] | "
		"verify <id> | bench <id> <n>]\n");
	return 2;
}
