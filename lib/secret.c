#include "secret.h"
#include "buf.h"
#include "clock.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* The registered values, longest first, so that a key holding another is replaced whole. */
static char **secrets;
static size_t nsecrets;

void mlb_secret_no_core(void)
{
	static int done;
	struct rlimit none = { 0, 0 };

	if (done)
		return;
	done = 1;
	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void mlb_secret_add(const char *value)
{
	size_t len = value ? strlen(value) : 0, i;

	if (!len)
		return;
	mlb_secret_no_core();
	if (len < MLB_SECRET_MIN)
		return;
	for (i = 0; i < nsecrets; i++)
		if (!strcmp(secrets[i], value))
			return;
	secrets = mlb_xrealloc(secrets, (nsecrets + 1) * sizeof(*secrets));
	for (i = nsecrets; i > 0 && strlen(secrets[i - 1]) < len; i--)
		secrets[i] = secrets[i - 1];
	secrets[i] = mlb_xstrdup(value);
	nsecrets++;
}

/* Characters that end a URL's authority, or a URL written inside a text. */
static int ends_authority(char c)
{
	return !c || strchr("/?#\"'<>`()[]{}", c) || (unsigned char)c <= ' ';
}

/* In the URL whose "://" is at sep: where its user:password starts and how long it is; 0 when it has none. */
static size_t userinfo(const char *sep, const char **start)
{
	const char *p = sep + 3, *at = NULL;

	for (const char *q = p; !ends_authority(*q); q++)
		if (*q == '@')
			at = q;
	*start = p;
	return at && at > p ? (size_t)(at - p) : 0;
}

void mlb_secret_add_url(const char *url)
{
	const char *sep = url ? strstr(url, "://") : NULL, *start, *colon;
	size_t n;
	char *info;

	if (!sep || !(n = userinfo(sep, &start)))
		return;
	info = mlb_xstrndup(start, n);
	colon = strchr(info, ':');
	mlb_secret_add(info);
	if (colon)
		mlb_secret_add(colon + 1);	/* the password alone, should a text print it so */
	free(info);
}

/* The earliest occurrence at or after s of a secret or a URL's user:password: its start and length. */
static const char *next_secret(const char *s, size_t *len)
{
	const char *best = NULL, *sep = s, *start;

	*len = 0;
	for (size_t i = 0; i < nsecrets; i++) {
		const char *hit = strstr(s, secrets[i]);

		/* longest first: at one place, the longer key wins */
		if (hit && (!best || hit < best)) {
			best = hit;
			*len = strlen(secrets[i]);
		}
	}
	while ((sep = strstr(sep, "://")) && (!best || sep < best)) {
		size_t n = userinfo(sep, &start);

		if (n) {
			best = start;
			*len = n;
			break;
		}
		sep += 3;
	}
	return best;
}

int mlb_redact_needed(const char *s)
{
	size_t len;

	return s && next_secret(s, &len) != NULL;
}

char *mlb_redact(const char *s)
{
	struct mlb_buf b = MLB_BUF_INIT;
	const char *hit;
	size_t len;

	if (!s)
		return NULL;
	while ((hit = next_secret(s, &len))) {
		mlb_buf_add(&b, s, (size_t)(hit - s));
		mlb_buf_adds(&b, MLB_REDACTED);
		s = hit + len;
	}
	mlb_buf_adds(&b, s);
	return mlb_buf_detach(&b);
}

long mlb_key_control(const char *key)
{
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return (long)(p - (const unsigned char *)key);
	return -1;
}

/* Kill the command's whole process group and collect the shell. */
static void kill_group(pid_t pid)
{
	int status;

	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* The signals that stop a tool; held back while a key command runs (see mlb_key_cmd). */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/* Whether one of them arrived meanwhile. */
static int stop_pending(void)
{
	sigset_t pending;

	sigpending(&pending);
	return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) || sigismember(&pending, SIGHUP);
}

/* Wait until deadline for the child to end: 1 with *status filled, 0 when it still runs or a stop signal came. */
static int wait_until(pid_t pid, int64_t deadline, int *status)
{
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			return 1;
		if (mlb_mono_ms() >= deadline || stop_pending())
			return 0;
		usleep(10000);
	}
}

/* The bound on what a key command may print: a key is a line, not a file. */
#define KEY_CMD_MAX (64 << 10)

char *mlb_key_cmd(const char *cmd, double timeout_s, char **why)
{
	struct mlb_buf out = MLB_BUF_INIT;
	int fds[2], status = 0, timed_out = 0, stopped = 0;
	int64_t deadline = mlb_mono_ms() + (int64_t)(timeout_s * 1000);
	sigset_t stop, old;
	pid_t pid;

	*why = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		*why = mlb_xasprintf("cannot run '%s': %s", cmd, strerror(errno));
		return NULL;
	}
	/*
	 * The command has a process group of its own, out of reach of the
	 * terminal's Ctrl-C: hold the signals that stop us until its group is
	 * killed, so that it never outlives us.
	 */
	stop_signals(&stop);
	sigprocmask(SIG_BLOCK, &stop, &old);
	pid = fork();
	if (pid < 0) {
		*why = mlb_xasprintf("cannot run '%s': %s", cmd, strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		/* its own process group, so that a time-out ends the command's children too */
		setpgid(0, 0);
		sigprocmask(SIG_SETMASK, &old, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);	/* also here, so that the group exists before any kill */
	close(fds[1]);
	for (;;) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		int64_t left = deadline - mlb_mono_ms();
		char chunk[512];
		ssize_t n;
		int r;

		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (stop_pending()) {
			stopped = 1;
			break;
		}
		r = poll(&pfd, 1, left > 100 ? 100 : (int)left);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		n = read(fds[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out.len < KEY_CMD_MAX)
			mlb_buf_add(&out, chunk, (size_t)n);
	}
	close(fds[0]);
	if (!timed_out && !stopped && !wait_until(pid, deadline, &status))
		stopped = !(timed_out = mlb_mono_ms() >= deadline);
	if (timed_out || stopped) {
		kill_group(pid);
		*why = timed_out ? mlb_xasprintf("'%s' did not finish within %g s and was killed", cmd, timeout_s)
				 : mlb_xasprintf("'%s' was stopped by a signal", cmd);
	} else {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			*why = WIFEXITED(status) ? mlb_xasprintf("'%s' failed with status %d", cmd, WEXITSTATUS(status))
						 : mlb_xasprintf("'%s' was killed by signal %d", cmd, WTERMSIG(status));
	}
	/* Only the first line: password managers print more after it. */
	if (!*why && out.s)
		out.s[strcspn(out.s, "\r\n")] = '\0';
	if (!*why && (!out.s || !*out.s))
		*why = mlb_xasprintf("'%s' printed nothing", cmd);
	if (*why) {
		if (out.s)
			memset(out.s, 0, out.cap);
		mlb_buf_free(&out);
	}
	/* a signal held back acts now: the tool's handler, or its default end */
	sigprocmask(SIG_SETMASK, &old, NULL);
	return *why ? NULL : mlb_buf_detach(&out);
}
