#include "msg.h"
#include "secret.h"
#include "term.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mlb_progname = "mlb";

void mlb_set_progname(const char *argv0)
{
	const char *slash;

	if (!argv0 || !*argv0)
		return;
	slash = strrchr(argv0, '/');
	mlb_progname = slash ? slash + 1 : argv0;
}

static struct mlb_buf *held_lines;

void mlb_msg_hold(struct mlb_buf *held)
{
	held_lines = held;
}

void mlb_vreport(const char *prefix, const char *fmt, va_list ap)
{
	/* One fprintf per line keeps lines whole when several tools share stderr. */
	char line[4096], *clean;
	struct mlb_buf safe = MLB_BUF_INIT;
	const unsigned char *u;

	vsnprintf(line, sizeof(line), fmt, ap);
	/* a provider's error may quote the key; a base URL may hold user:password */
	if (!mlb_redact_needed(line)) {
		fprintf(stderr, "%s: %s%s\n", mlb_progname, prefix, line);
		return;
	}
	clean = mlb_redact(line);
	/* Messages quote servers and models: no byte of theirs may drive the terminal. */
	for (u = (const unsigned char *)clean; *u && *u >= 0x20 && *u < 0x7f; u++)
		;
	if (!*u && !held_lines) {
		fprintf(stderr, "%s: %s%s\n", mlb_progname, prefix, clean);
		free(clean);
		return;
	}
	mlb_term_safe(&safe, clean, strlen(clean), MLB_TERM_TABS);
	if (held_lines)
		mlb_buf_addf(held_lines, "%s: %s%s\n", mlb_progname, prefix, mlb_buf_str(&safe));
	else
		fprintf(stderr, "%s: %s%s\n", mlb_progname, prefix, mlb_buf_str(&safe));
	mlb_buf_free(&safe);
	free(clean);
}

void mlb_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mlb_vreport("", fmt, ap);
	va_end(ap);
	fflush(stdout);
	exit(status);
}

int mlb_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mlb_vreport("", fmt, ap);
	va_end(ap);
	return -1;
}

void mlb_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mlb_vreport("", fmt, ap);
	va_end(ap);
}

void mlb_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mlb_vreport("warning: ", fmt, ap);
	va_end(ap);
}

static void *check(void *p)
{
	if (!p)
		mlb_die(MLB_EXIT_FAIL, "out of memory");
	return p;
}

void *mlb_xmalloc(size_t n)
{
	return check(malloc(n ? n : 1));
}

void *mlb_xcalloc(size_t n, size_t size)
{
	return check(calloc(n ? n : 1, size ? size : 1));
}

void *mlb_xrealloc(void *p, size_t n)
{
	return check(realloc(p, n ? n : 1));
}

char *mlb_xstrdup(const char *s)
{
	return check(strdup(s));
}

char *mlb_xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n));
}

char *mlb_xasprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		mlb_die(MLB_EXIT_FAIL, "cannot format a message: %s", strerror(errno));
	s = mlb_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* Levenshtein distance (the words are short). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65], d;

	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	d = row[lb];
	return d;
}

const char *mlb_nearest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < n; i++) {
		size_t d;

		if (!cands[i])
			continue;
		d = distance(word, cands[i]);
		if (d < best_d && d < strlen(cands[i])) {
			best = cands[i];
			best_d = d;
		}
	}
	return best;
}
