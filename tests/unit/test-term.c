/*
 * test-term.c - unit tests for lib/term.c: the safe filter turns every
 * control byte into a visible symbol, widths follow wcwidth (CJK, emoji,
 * combining marks), and wrapping breaks at spaces without losing a byte.
 */
#include "term.h"
#include "unit.h"

#include <stdlib.h>

static const char *safe(const char *s, int flags)
{
	static struct mlb_buf b = MLB_BUF_INIT;

	mlb_buf_reset(&b);
	mlb_term_safe(&b, s, strlen(s), flags);
	return mlb_buf_str(&b);
}

/* The rows of s wrapped to width, joined with '|'. */
static const char *wrapped(const char *s, int width)
{
	static struct mlb_buf b = MLB_BUF_INIT;
	struct mlb_term_row *rows = NULL;
	size_t cap = 0, n = mlb_term_wrap(s, strlen(s), width, &rows, &cap);

	mlb_buf_reset(&b);
	for (size_t i = 0; i < n; i++) {
		if (i)
			mlb_buf_addc(&b, '|');
		mlb_buf_add(&b, s + rows[i].start, rows[i].len);
		if (rows[i].width > width && rows[i].len > 4)
			mlb_buf_adds(&b, "<too wide>");
	}
	free(rows);
	return mlb_buf_str(&b);
}

int main(void)
{
	/* No escape sequence survives: ESC, BEL, CSI as a C1 control, a lone broken byte. */
	CHECK_STR(safe("x\033]0;pwned\007", 0), "x\xe2\x90\x9b]0;pwned\xe2\x90\x87");
	CHECK_STR(safe("a\xc2\x9b" "2Jb", 0), "a\xef\xbf\xbd" "2Jb");
	CHECK_STR(safe("a\x9b" "2J", 0), "a\xef\xbf\xbd" "2J");
	CHECK_STR(safe("del\x7f", 0), "del\xe2\x90\xa1");
	CHECK_STR(safe("a\rb", MLB_TERM_NEWLINES), "a\xe2\x90\x8d" "b");
	CHECK_STR(safe("a\nb\tc", MLB_TERM_NEWLINES | MLB_TERM_TABS), "a\nb\tc");
	CHECK_STR(safe("a\nb\tc", 0), "a\xe2\x90\x8a" "b    c");
	CHECK_STR(safe("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", 0),
		  "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");

	/* Widths: CJK and emoji 2, a combining acute 0, a control shown as one symbol. */
	CHECK_INT(mlb_term_width("\xe6\x97\xa5\xe6\x9c\xac", 6), 4);
	CHECK_INT(mlb_term_width("\xf0\x9f\x98\x80", 4), 2);
	CHECK_INT(mlb_term_width("e\xcc\x81", 3), 1);
	CHECK_INT(mlb_term_width("ab\033", 3), 3);

	/* Wrapping breaks at spaces; no byte but the breaking space goes. */
	CHECK_STR(wrapped("the quick brown fox", 10), "the quick|brown fox");
	CHECK_STR(wrapped("the quick brown fox", 9), "the quick|brown fox");
	CHECK_STR(wrapped("abcdefghij", 4), "abcd|efgh|ij");
	CHECK_STR(wrapped("one\n\ntwo", 10), "one||two");
	CHECK_STR(wrapped("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4), "\xe6\x97\xa5\xe6\x9c\xac|\xe8\xaa\x9e");
	CHECK_STR(wrapped("ab \xe6\x97\xa5\xe6\x9c\xac", 5), "ab|\xe6\x97\xa5\xe6\x9c\xac");
	CHECK_STR(wrapped("", 5), "");

	/* A streamed text cut inside a UTF-8 sequence comes out whole. */
	{
		FILE *f = tmpfile();
		struct mlb_term_stream st = { { 0 }, 0 };
		char got[64] = "";
		size_t n;

		mlb_term_stream_write(&st, f, "a\xe6\x97", 3);
		mlb_term_stream_write(&st, f, "\xa5" "b\033", 3);
		mlb_term_stream_write(&st, f, "", 0);
		rewind(f);
		n = fread(got, 1, sizeof(got) - 1, f);
		got[n] = '\0';
		CHECK_STR(got, "a\xe6\x97\xa5" "b\xe2\x90\x9b");
		fclose(f);
	}

	/* Cut to a width with an ellipsis. */
	{
		struct mlb_buf b = MLB_BUF_INIT;

		mlb_term_cut(&b, "abcdef", 4);
		CHECK_STR(mlb_buf_str(&b), "abc\xe2\x80\xa6");
		mlb_buf_reset(&b);
		mlb_term_cell(&b, "ab", 2, 4);
		CHECK_STR(mlb_buf_str(&b), "ab  ");
		mlb_buf_free(&b);
	}
	return unit_done();
}
