#include "markdown.h"

#include <string.h>

#define BOLD "\033[1m"
#define ITALIC "\033[3m"
#define CODE "\033[36m"
#define HEADING "\033[1;4m"
#define OFF "\033[0m"

/* The inline marks of one line: **strong**, *em*, _em_, `code`; a mark without its closing twin stays. */
static void inline_marks(struct mlb_buf *out, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *mark = NULL, *on = NULL;
		size_t mlen = 0;

		if (s[i] == '`') {
			mark = "`", mlen = 1, on = CODE;
		} else if (i + 1 < len && s[i] == '*' && s[i + 1] == '*') {
			mark = "**", mlen = 2, on = BOLD;
		} else if ((s[i] == '*' || s[i] == '_') && i + 1 < len && s[i + 1] != ' ' &&
			   (i == 0 || s[i - 1] == ' ' || s[i - 1] == '(')) {
			mark = s[i] == '*' ? "*" : "_", mlen = 1, on = ITALIC;
		}
		if (mark) {
			const char *end = NULL;

			for (size_t j = i + mlen; j + mlen <= len; j++)
				if (!memcmp(s + j, mark, mlen) && j > i + mlen && s[j - 1] != ' ') {
					end = s + j;
					break;
				}
			if (end) {
				mlb_buf_adds(out, on);
				mlb_buf_add(out, s + i + mlen, (size_t)(end - (s + i + mlen)));
				mlb_buf_adds(out, OFF);
				i = (size_t)(end - s) + mlen;
				continue;
			}
		}
		mlb_buf_addc(out, s[i++]);
	}
}

void mlb_markdown_render(struct mlb_buf *out, const char *s, size_t len)
{
	size_t i = 0;
	int fenced = 0;

	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (s + i)) : len - i, lead = 0;
		const char *line = s + i;

		while (lead < n && line[lead] == ' ')
			lead++;
		if (n - lead >= 3 && !memcmp(line + lead, "```", 3)) {
			fenced = !fenced;	/* the fence itself is not drawn */
			i += n + (nl != NULL);
			continue;
		}
		if (fenced) {
			mlb_buf_adds(out, "    " CODE);
			mlb_buf_add(out, line, n);
			mlb_buf_adds(out, OFF);
		} else if (lead < n && line[lead] == '#') {
			size_t h = lead;

			while (h < n && line[h] == '#')
				h++;
			while (h < n && line[h] == ' ')
				h++;
			mlb_buf_adds(out, HEADING);
			mlb_buf_add(out, line + h, n - h);
			mlb_buf_adds(out, OFF);
		} else if (n - lead >= 2 && (line[lead] == '-' || line[lead] == '*' || line[lead] == '+') &&
			   line[lead + 1] == ' ') {
			mlb_buf_add(out, line, lead);
			mlb_buf_adds(out, "\xe2\x80\xa2 ");	/* • */
			inline_marks(out, line + lead + 2, n - lead - 2);
		} else {
			inline_marks(out, line, n);
		}
		if (nl)
			mlb_buf_addc(out, '\n');
		i += n + (nl != NULL);
	}
}
