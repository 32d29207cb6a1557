/*
 * buf.h - a growable byte buffer, always NUL-terminated.
 *
 * Used wherever text is assembled piece by piece: request bodies, replies
 * that stream in, message files.  Initialise with MLB_BUF_INIT.
 */
#ifndef MLB_BUF_H
#define MLB_BUF_H

#include <stddef.h>
#include <string.h>

struct mlb_buf {
	char *s;	/* the bytes, NUL-terminated once anything was added */
	size_t len;
	size_t cap;
};

#define MLB_BUF_INIT { NULL, 0, 0 }

/* Make room for n more bytes. */
void mlb_buf_grow(struct mlb_buf *b, size_t n);

/* Append len bytes.  Inline: a stream appends a few bytes at a time, a million times. */
static inline void mlb_buf_add(struct mlb_buf *b, const void *data, size_t len)
{
	if (len >= b->cap - b->len)	/* room for the bytes and the NUL; cap 0 grows */
		mlb_buf_grow(b, len);
	if (len)
		memcpy(b->s + b->len, data, len);
	b->len += len;
	b->s[b->len] = '\0';
}

/* Append a NUL-terminated string. */
static inline void mlb_buf_adds(struct mlb_buf *b, const char *s)
{
	mlb_buf_add(b, s, strlen(s));
}

/* Append one byte. */
static inline void mlb_buf_addc(struct mlb_buf *b, char c)
{
	mlb_buf_add(b, &c, 1);
}
/* Append printf-formatted text. */
void mlb_buf_addf(struct mlb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empty the buffer, keeping its memory. */
static inline void mlb_buf_reset(struct mlb_buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}
/* The contents as a string ("" when empty); never NULL. */
const char *mlb_buf_str(const struct mlb_buf *b);
/* Hand the string to the caller (who frees it) and empty the buffer. */
char *mlb_buf_detach(struct mlb_buf *b);
/* Free the memory. */
void mlb_buf_free(struct mlb_buf *b);

#endif
