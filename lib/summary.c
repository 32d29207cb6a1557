#include "summary.h"
#include "buf.h"
#include "config.h"
#include "input.h"
#include "msg.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const formats[] = { "executive", "technical", "bullet", NULL };

int mlb_summary_format_valid(const char *format)
{
	for (const char *const *f = formats; *f; f++)
		if (!strcmp(*f, format))
			return 1;
	return 0;
}

/* The user's template if there is one, else the shipped one. */
static char *read_template(const char *format)
{
	char *dir = mlb_config_dir();
	char *paths[2] = {
		mlb_xasprintf("%s/prompts/%s.txt", dir, format),
		mlb_xasprintf("%s/prompts/%s.txt", mlb_share_dir(), format),
	};
	char *text = NULL;

	for (int i = 0; i < 2 && !text; i++) {
		int fd = open(paths[i], O_RDONLY);

		if (fd < 0) {
			if (i == 1)
				mlb_error("cannot read the prompt template '%s': %s", paths[i], strerror(errno));
			continue;
		}
		text = mlb_read_all(fd, NULL);
		close(fd);
	}
	free(paths[0]);
	free(paths[1]);
	free(dir);
	return text;
}

/* Cut at most max bytes, backing off to a UTF-8 boundary. */
static size_t cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

char *mlb_summary_prompt(const char *format, const char *question,
			 const struct mlb_summary_source *src, size_t n)
{
	char *instruction = read_template(format);
	struct mlb_buf b = MLB_BUF_INIT;
	size_t total = 0, shortened = 0;

	if (!instruction)
		return NULL;
	mlb_buf_adds(&b, instruction);
	free(instruction);
	if (b.len && b.s[b.len - 1] != '\n')
		mlb_buf_addc(&b, '\n');
	if (question && *question)
		mlb_buf_addf(&b, "\nThe question was:\n%s\n", question);
	mlb_buf_addf(&b, "\nThere %s %zu answer%s.\n", n == 1 ? "is" : "are", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(src[i].content);
		size_t room = total < MLB_SUMMARY_TOTAL_BYTES ? MLB_SUMMARY_TOTAL_BYTES - total : 0;
		size_t keep = cut(src[i].content, len, room < MLB_SUMMARY_SOURCE_BYTES ? room : MLB_SUMMARY_SOURCE_BYTES);

		mlb_buf_addf(&b, "\n### Answer %zu: pane %s (%s)\n", i + 1, src[i].pane ? src[i].pane : "?",
			     src[i].model ? src[i].model : "unknown model");
		mlb_buf_add(&b, src[i].content, keep);
		if (keep < len) {
			mlb_buf_addf(&b, "\n[shortened: the first %zu of %zu bytes are shown]", keep, len);
			shortened++;
		}
		mlb_buf_addc(&b, '\n');
		total += keep;
	}
	if (shortened)
		mlb_buf_addf(&b, "\nNote: %zu answer%s shortened to fit a budget of %d bytes per answer and %d in all; "
			     "summarize what is shown.\n", shortened, shortened == 1 ? " was" : "s were",
			     MLB_SUMMARY_SOURCE_BYTES, MLB_SUMMARY_TOTAL_BYTES);
	return mlb_buf_detach(&b);
}

char *mlb_summary_headers(const struct mlb_summary_source *src, size_t n)
{
	struct mlb_buf b = MLB_BUF_INIT;

	mlb_buf_addf(&b, "Summary-Sources: %zu\n", n);
	for (size_t i = 0; i < n; i++)
		mlb_buf_addf(&b, "Source-%zu: %s/%s %s %s\n", i + 1, src[i].session ? src[i].session : "-",
			     src[i].pane ? src[i].pane : "-", src[i].model ? src[i].model : "-", src[i].hash);
	return mlb_buf_detach(&b);
}

void mlb_summary_hash(struct mlb_summary_source *src)
{
	mlb_content_hash(src->content, strlen(src->content), src->hash);
}

void mlb_summary_sources_free(struct mlb_summary_source *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(src[i].session);
		free(src[i].pane);
		free(src[i].model);
		free(src[i].content);
	}
	free(src);
}
