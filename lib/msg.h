/*
 * msg.h - how every tool talks to people: diagnostics and checked allocation.
 *
 * Every line starts with the tool's name ("mlb-send: ..."), begins in lower
 * case and has no full stop, as git's messages do.  mlb_die() exits,
 * mlb_error() returns -1 so callers can write `return mlb_error(...)`,
 * mlb_warn() only reports.  The x-allocators die on exhaustion, because no
 * tool has anything sensible to do without memory.
 */
#ifndef MLB_MSG_H
#define MLB_MSG_H

#include <stddef.h>
#include <stdarg.h>

/* Exit codes shared by every tool (DESIGN.md, "Exit status"). */
enum {
	MLB_EXIT_OK = 0,
	MLB_EXIT_FAIL = 1,
	MLB_EXIT_USAGE = 2,
	MLB_EXIT_PARTIAL = 3,
	MLB_EXIT_BUDGET = 4,
	MLB_EXIT_CHECK = 5,
};

/* The tool's name, used as the prefix of every diagnostic. */
extern const char *mlb_progname;

/* Set mlb_progname from argv[0] (its last path component). */
void mlb_set_progname(const char *argv0);

/* Print "<tool>: <message>" on stderr and exit with status. */
_Noreturn void mlb_die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "<tool>: <message>" on stderr; return -1. */
int mlb_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "<tool>: warning: <message>" on stderr. */
void mlb_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "<tool>: <message>" on stderr: an account of what was done, neither error nor warning. */
void mlb_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Hold diagnostics in held (whole lines) instead of writing them, while a
 * full-screen view owns the terminal; NULL writes them again. */
struct mlb_buf;
void mlb_msg_hold(struct mlb_buf *held);

/* Print "<tool>: <message>" on stderr from a va_list. */
void mlb_vreport(const char *prefix, const char *fmt, va_list ap);

/* The candidate nearest to word within two edits (and fewer than its length), for
 * "did you mean"; NULL when none is near.  NULL candidates are skipped. */
const char *mlb_nearest(const char *word, const char *const *cands, size_t n);

void *mlb_xmalloc(size_t n);
void *mlb_xcalloc(size_t n, size_t size);
void *mlb_xrealloc(void *p, size_t n);
char *mlb_xstrdup(const char *s);
char *mlb_xstrndup(const char *s, size_t n);
/* A newly allocated string formatted like printf. */
char *mlb_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
