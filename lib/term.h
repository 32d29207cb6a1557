/*
 * term.h - the terminal: its size, display width, safe cells, word wrap and
 * whether to colour.
 *
 * Every text a person sees goes through here.  Text from a model (or from a
 * server's error body) is untrusted: mlb_term_safe() turns every control
 * character and every byte that is not UTF-8 into a visible, inert symbol
 * (ESC shows as U+241B, BEL as U+2407, C1 controls and broken bytes as
 * U+FFFD), so no such byte ever reaches a terminal as a control sequence.
 * Widths follow wcwidth(3) in a UTF-8 locale whatever the process locale
 * is: CJK and emoji take two columns, combining marks none.
 */
#ifndef MLB_TERM_H
#define MLB_TERM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"

/* The size of the terminal on fd: its ioctl, else $COLUMNS/$LINES, else 80x24. */
void mlb_term_size(int fd, int *cols, int *rows);

/* Whether to colour output on fd: a terminal and no NO_COLOR. */
int mlb_term_color(int fd);

/* Decode the character at s (len > 0): its length in bytes, its code point
 * (U+FFFD for a byte that starts no valid sequence) and display width
 * (-1 for a control character, 0 for a combining mark, 1 or 2). */
size_t mlb_term_char(const char *s, size_t len, uint32_t *cp, int *width);

/* The display width of s[0..len) once made safe (controls count as 1). */
int mlb_term_width(const char *s, size_t len);

enum {
	MLB_TERM_NEWLINES = 1,	/* keep '\n' (else it shows as a symbol) */
	MLB_TERM_TABS = 2,	/* keep '\t', which only moves forwards on its line (else 4 spaces) */
};

/* Append s[0..len) to out made safe for a terminal: controls and broken
 * bytes as visible symbols, except what flags keep. */
void mlb_term_safe(struct mlb_buf *out, const char *s, size_t len, int flags);

/* Write s[0..len) to f made safe (newlines kept). */
void mlb_term_write(FILE *f, const char *s, size_t len);

/* A streamed text written piece by piece: holds back a UTF-8 sequence cut
 * between two pieces so that it is judged whole. */
struct mlb_term_stream {
	char held[4];
	size_t nheld;
};

/* Write the next piece of a streamed text to f made safe; flush with len 0. */
void mlb_term_stream_write(struct mlb_term_stream *st, FILE *f, const char *s, size_t len);

/* One row of wrapped text: where it starts in the text, its length, its width. */
struct mlb_term_row {
	size_t start, len;
	int width;
};

/*
 * Wrap safe text (from mlb_term_safe) to rows of at most width columns,
 * breaking at spaces where a row holds a whole word and inside a word only
 * when the word is wider than a row.  The space a row breaks at is not
 * shown; no other byte is dropped.  Rows go to *rows (grown as needed, *cap
 * its capacity); returns how many.
 */
size_t mlb_term_wrap(const char *s, size_t len, int width, struct mlb_term_row **rows, size_t *cap);

/* Append s[0..len) (safe text, one row) to out cut to width columns and padded to it with spaces. */
void mlb_term_cell(struct mlb_buf *out, const char *s, size_t len, int width);

/* Append s to out made safe, cut to width columns (with "…" when cut), not padded. */
void mlb_term_cut(struct mlb_buf *out, const char *s, int width);

#endif
