#include "shard.h"
#include "msg.h"
#include "report.h"
#include "report-html.h"
#include "store.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Run git with argv; its exit status, or -1 when it could not run. */
static int git(char *const argv[])
{
	pid_t pid;
	int status, rc = posix_spawnp(&pid, "git", NULL, NULL, argv, environ);

	if (rc) {
		errno = rc;
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The directory of a session named by id or by path (caller frees); NULL after a one-line error. */
static char *session_dir(const char *arg)
{
	struct stat st;
	char *dir;

	if (strchr(arg, '/'))
		dir = mlb_xstrdup(arg);
	else if (mlb_session_id_valid(arg) && mlb_session_exists(arg)) {
		char *sessions = mlb_sessions_dir();

		dir = mlb_xasprintf("%s/%s", sessions, arg);
		free(sessions);
	} else {
		mlb_error("no session '%s'; name a session of $MLB_HOME or give the path of a session's directory", arg);
		return NULL;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		mlb_error("'%s' is not a session's directory: %s", dir, stat(dir, &st) < 0 ? strerror(errno) : "not a directory");
		free(dir);
		return NULL;
	}
	return dir;
}

int mlb_shard_merge(const char *into, char *const *from, size_t n)
{
	struct mlb_session *s;
	char *target, *sessions;
	int status = MLB_EXIT_OK;

	if (mlb_session_id_check(into) < 0)
		return MLB_EXIT_USAGE;
	if (mlb_session_open(into, 1, &s) < 0)
		return MLB_EXIT_FAIL;
	mlb_session_close(s);
	sessions = mlb_sessions_dir();
	target = mlb_xasprintf("%s/%s", sessions, into);
	free(sessions);
	for (size_t i = 0; i < n && status == MLB_EXIT_OK; i++) {
		char *dir = session_dir(from[i]), *msg;
		int rc;

		if (!dir) {
			status = MLB_EXIT_FAIL;
			break;
		}
		msg = mlb_xasprintf("mlb-pipeline merge: %s", from[i]);
		{
			char *fetch[] = { "git", "-C", target, "fetch", "--quiet", dir, "main", NULL };
			char *merge[] = { "git", "-C", target, "merge", "--quiet", "--no-edit", "--allow-unrelated-histories",
					  "-X", "ours", "-m", msg, "FETCH_HEAD", NULL };

			rc = git(fetch);
			if (rc == 0)
				rc = git(merge);
		}
		if (rc < 0)
			status = mlb_error("cannot run git to merge '%s': %s; merging sessions needs git", dir, strerror(errno));
		else if (rc)
			status = mlb_error("git could not merge '%s' into session '%s' (exit %d, above); "
					   "resolve it in %s with git, or run 'git merge --abort' there", dir, into, rc, target);
		else
			mlb_note("merged %s into session %s", dir, into);
		free(msg);
		free(dir);
	}
	free(target);
	return status ? MLB_EXIT_FAIL : MLB_EXIT_OK;
}

int mlb_shard_report(char *const *logs, size_t n, const char *junit, const char *html)
{
	struct mlb_report *r = mlb_report_new("mlb");
	int status = MLB_EXIT_OK;

	if (html)
		mlb_report_keep_answers(r);

	for (size_t i = 0; i < (n ? n : 1) && status == MLB_EXIT_OK; i++) {
		const char *path = n ? logs[i] : "-";
		FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;

		if (!f) {
			status = mlb_error("cannot read the log '%s': %s", path, strerror(errno));
			break;
		}
		mlb_report_read(r, f, strcmp(path, "-") ? path : "stdin");
		if (f != stdin)
			fclose(f);
	}
	if (status == MLB_EXIT_OK && junit && mlb_report_junit(r, junit) < 0)
		status = MLB_EXIT_FAIL;
	if (status == MLB_EXIT_OK && html && mlb_report_html(r, html) < 0)
		status = MLB_EXIT_FAIL;
	mlb_report_free(r);
	return status;
}
