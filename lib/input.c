#include "input.h"
#include "buf.h"
#include "msg.h"
#include "utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *mlb_read_all(int fd, size_t *len)
{
	return mlb_read_upto(fd, 0, len);
}

char *mlb_read_upto(int fd, size_t max, size_t *len)
{
	struct mlb_buf b = MLB_BUF_INIT;
	char chunk[65536];
	ssize_t n;

	for (;;) {
		size_t want = sizeof(chunk);

		if (max && max - b.len < want)
			want = max - b.len;
		if (max && !want)
			break;
		n = read(fd, chunk, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			mlb_buf_free(&b);
			errno = saved;
			return NULL;
		}
		if (n == 0)
			break;
		mlb_buf_add(&b, chunk, (size_t)n);
	}
	if (len)
		*len = b.len;
	return mlb_buf_detach(&b);
}

/* Whether stdin is piped data: a pipe or a file (not a terminal, not /dev/null). */
static int stdin_is_data(void)
{
	struct stat st;

	return fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode));
}

/* All of stdin as a prompt's text, checked; NULL when empty. */
static char *read_stdin(size_t max)
{
	size_t len;
	char *s = mlb_read_upto(STDIN_FILENO, max ? max + 1 : 0, &len);

	if (!s)
		mlb_die(MLB_EXIT_FAIL, "cannot read the prompt from stdin: %s", strerror(errno));
	if (strlen(s) != len)
		mlb_die(MLB_EXIT_USAGE, "the prompt on stdin contains a NUL byte; prompts are text");
	mlb_require_utf8("the prompt on stdin", s, len);
	if (len)
		return s;
	free(s);
	return NULL;
}

char *mlb_read_prompt(int argc, char **argv, int use_stdin, size_t max)
{
	struct mlb_buf b = MLB_BUF_INIT;

	if (argc > 0) {
		char *data;

		for (int i = 0; i < argc; i++) {
			if (i)
				mlb_buf_addc(&b, ' ');
			mlb_buf_adds(&b, argv[i]);
		}
		mlb_require_utf8("the prompt", b.s, b.len);
		/* The instruction first, then the data it is about. */
		if (use_stdin && stdin_is_data() && (data = read_stdin(max))) {
			mlb_buf_adds(&b, "\n\n");
			mlb_buf_adds(&b, data);
			free(data);
		}
		return mlb_buf_detach(&b);
	}
	if (use_stdin && !isatty(STDIN_FILENO))
		return read_stdin(max);
	return NULL;
}

char **mlb_split_list(const char *s, size_t *n)
{
	char **v = mlb_xcalloc(strlen(s) + 2, sizeof(*v));
	size_t count = 0;

	while (*s) {
		size_t len = strcspn(s, ",");

		if (len)
			v[count++] = mlb_xstrndup(s, len);
		s += len + (s[len] == ',');
	}
	if (n)
		*n = count;
	return v;
}
