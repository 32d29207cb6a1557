/*
 * lock.h - one writer at a time on a session.
 *
 * An exclusive flock(2) on a lock file.  The kernel drops it when the
 * process dies, however it dies, so a writer killed with SIGKILL never
 * leaves a stale lock behind, and there is nothing to clean up by hand.
 */
#ifndef MLB_LOCK_H
#define MLB_LOCK_H

/* Take an exclusive lock on path (created 0644 if missing), polling every ~20 ms for up to timeout_s
 * seconds: 0 with *fd_out set, or -1 with errno ETIMEDOUT when another holder kept it, or another errno. */
int mlb_lock_acquire(const char *path, double timeout_s, int *fd_out);
/* Drop the lock taken by mlb_lock_acquire (a negative fd is ignored). */
void mlb_lock_release(int fd);
/* The lock timeout in seconds: $MLB_LOCK_TIMEOUT, else def (a malformed value is warned about). */
double mlb_lock_timeout(double def);

#endif
