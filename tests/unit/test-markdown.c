/*
 * test-markdown.c - unit tests for lib/markdown.c: headings, fenced code,
 * bullets and inline marks drawn, their markers gone, the rest untouched;
 * and the colours take no room when term.c wraps the result.
 */
#include "markdown.h"
#include "term.h"
#include "unit.h"

#include <stdlib.h>

static const char *md(const char *s)
{
	static struct mlb_buf b = MLB_BUF_INIT;

	mlb_buf_reset(&b);
	mlb_markdown_render(&b, s, strlen(s));
	return mlb_buf_str(&b);
}

int main(void)
{
	CHECK_STR(md("# Tides\nplain"), "\033[1;4mTides\033[0m\nplain");
	CHECK_STR(md("```c\nint x;\n```\nafter"), "    \033[36mint x;\033[0m\nafter");
	CHECK_STR(md("- one\n  * two"), "\xe2\x80\xa2 one\n  \xe2\x80\xa2 two");
	CHECK_STR(md("a **b** c *d* `e` _f_"), "a \033[1mb\033[0m c \033[3md\033[0m \033[36me\033[0m \033[3mf\033[0m");
	/* what is not markdown stays: a lone star, 2 * 3 * 4, snake_case, an open backtick */
	CHECK_STR(md("2 * 3 * 4 and snake_case_name and `open"), "2 * 3 * 4 and snake_case_name and `open");
	CHECK_STR(md(""), "");
	/* the colours take no room: the bold word wraps as four letters */
	{
		const char *s = md("aa **bbbb** cc");
		struct mlb_term_row *rows = NULL;
		size_t cap = 0, n = mlb_term_wrap(s, strlen(s), 7, &rows, &cap);

		CHECK_INT(n, 2);
		CHECK_INT(rows[0].width, 7);
		free(rows);
	}
	return unit_done();
}
