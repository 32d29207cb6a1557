#include "buf.h"
#include "msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mlb_buf_grow(struct mlb_buf *b, size_t n)
{
	size_t want = b->len + n + 1;

	if (want < b->len)
		mlb_die(MLB_EXIT_FAIL, "buffer size overflow");
	if (want <= b->cap)
		return;
	if (b->cap * 2 > want)
		want = b->cap * 2;
	if (want < 64)
		want = 64;
	b->s = mlb_xrealloc(b->s, want);
	b->cap = want;
}

void mlb_buf_addf(struct mlb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	mlb_buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *mlb_buf_str(const struct mlb_buf *b)
{
	return b->s ? b->s : "";
}

char *mlb_buf_detach(struct mlb_buf *b)
{
	char *s = b->s ? b->s : mlb_xstrdup("");

	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void mlb_buf_free(struct mlb_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}
