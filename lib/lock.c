#include "lock.h"
#include "clock.h"
#include "msg.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

int mlb_lock_acquire(const char *path, double timeout_s, int *fd_out)
{
	int64_t deadline = mlb_mono_ms() + (int64_t)(timeout_s * 1000);
	int fd, e;

	*fd_out = -1;
	do
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			*fd_out = fd;
			return 0;
		}
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		if (errno == EWOULDBLOCK && mlb_mono_ms() >= deadline) {
			errno = ETIMEDOUT;
			break;
		}
		/* Polling rather than a blocking flock keeps the timeout exact without signals. */
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

void mlb_lock_release(int fd)
{
	if (fd < 0)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}

double mlb_lock_timeout(double def)
{
	const char *env = getenv("MLB_LOCK_TIMEOUT");
	double t;

	if (!env || !*env)
		return def;
	t = mlb_parse_seconds(env);
	if (t < 0) {
		mlb_warn("MLB_LOCK_TIMEOUT='%s' is not a number of seconds; using %g", env, def);
		return def;
	}
	return t;
}
