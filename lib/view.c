#include "view.h"
#include "budget.h"
#include "buf.h"
#include "clock.h"
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct pane_view {
	const char *pane, *model;
	struct mlb_buf text;
	char state[24];		/* "waiting", "streaming", "done", "failed", ... */
	char footer[160];
};

struct mlb_view {
	struct pane_view *p;
	size_t n;
	int color;
	int cols, rows;
	int drawn;		/* lines of the last frame, to move back over */
	int64_t last_draw;
	int text_mode;		/* --text in a pipe: no live drawing */
};

static void term_size(int *cols, int *rows)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS"), *r = getenv("LINES");

	*cols = 80;
	*rows = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	} else {
		if (c && atoi(c) > 0)
			*cols = atoi(c);
		if (r && atoi(r) > 0)
			*rows = atoi(r);
	}
}

struct mlb_view *mlb_view_new(size_t n, const char *const *panes, const char *const *models, int color)
{
	struct mlb_view *v = mlb_xcalloc(1, sizeof(*v));

	v->p = mlb_xcalloc(n, sizeof(*v->p));
	v->n = n;
	v->color = color;
	v->text_mode = !isatty(STDOUT_FILENO);
	for (size_t i = 0; i < n; i++) {
		v->p[i].pane = panes[i];
		v->p[i].model = models[i];
		snprintf(v->p[i].state, sizeof(v->p[i].state), "waiting");
	}
	term_size(&v->cols, &v->rows);
	return v;
}

static struct pane_view *find(struct mlb_view *v, const char *pane)
{
	for (size_t i = 0; pane && i < v->n; i++)
		if (!strcmp(v->p[i].pane, pane))
			return &v->p[i];
	return NULL;
}

/* The byte length of the first `width` characters of s (UTF-8), stopping at a newline. */
static size_t fit(const char *s, size_t len, int width, int *used)
{
	size_t i = 0;
	int cols = 0;

	while (i < len && s[i] != '\n' && cols < width) {
		unsigned char c = (unsigned char)s[i++];

		if (c >= 0xc0)
			while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
				i++;
		cols++;
	}
	*used = cols;
	return i;
}

/* Wrap text to width and keep the last `height` lines: their starts and lengths. */
static int tail_lines(const char *s, size_t len, int width, int height, size_t *start, size_t *lens)
{
	int count = 0;
	size_t i = 0;

	while (i < len) {
		int used;
		size_t n = fit(s + i, len - i, width, &used);

		start[count % height] = i;
		lens[count % height] = n;
		count++;
		i += n;
		if (i < len && s[i] == '\n')
			i++;
	}
	return count;
}

static void header(struct mlb_view *v, struct pane_view *p, int width, struct mlb_buf *out)
{
	char line[256];
	int used;
	size_t n;
	const char *on = "", *off = "";

	if (v->color) {
		on = !strcmp(p->state, "done") ? "\033[1;32m" :
		     !strcmp(p->state, "streaming") || !strcmp(p->state, "waiting") ? "\033[1;36m" : "\033[1;31m";
		off = "\033[0m";
	}
	/* The state first: a long model name must not push it off the column. */
	snprintf(line, sizeof(line), "[%s] %s", p->state, p->model);
	n = fit(line, strlen(line), width, &used);
	mlb_buf_adds(out, on);
	mlb_buf_add(out, line, n);
	mlb_buf_adds(out, off);
	for (; used < width; used++)
		mlb_buf_addc(out, ' ');
}

static void cell(const char *s, size_t len, int width, struct mlb_buf *out)
{
	int used;
	size_t n = fit(s, len, width, &used);

	mlb_buf_add(out, s, n);
	for (; used < width; used++)
		mlb_buf_addc(out, ' ');
}

static void draw(struct mlb_view *v)
{
	struct mlb_buf out = MLB_BUF_INIT;
	int columns = v->n > 1 && (size_t)v->cols / v->n >= 28;
	int body = columns ? v->rows - 5 : (int)((v->rows - 3) / (int)v->n) - 2;
	size_t start[64], lens[64];
	int lines = 0;

	if (body > 64)
		body = 64;
	/* Only as tall as the longest pane needs: short answers make a short frame. */
	{
		int width = columns ? (int)(v->cols / (int)v->n) - 1 : v->cols - 3, need = 1;

		for (size_t i = 0; i < v->n; i++) {
			int c = tail_lines(mlb_buf_str(&v->p[i].text), v->p[i].text.len, width > 0 ? width : 1, 64, start, lens);

			if (c > need)
				need = c;
		}
		if (body > need)
			body = need;
	}
	if (body < 1)
		body = 1;
	if (v->drawn)
		mlb_buf_addf(&out, "\r\033[%dA", v->drawn);
	if (columns) {
		int w = (int)(v->cols / (int)v->n) - 1;
		size_t (*st)[64] = mlb_xcalloc(v->n, sizeof(*st)), (*ln)[64] = mlb_xcalloc(v->n, sizeof(*ln));
		int *count = mlb_xcalloc(v->n, sizeof(*count));

		for (size_t i = 0; i < v->n; i++) {
			header(v, &v->p[i], w, &out);
			mlb_buf_adds(&out, i + 1 < v->n ? "|" : "\033[K\n");
			count[i] = tail_lines(mlb_buf_str(&v->p[i].text), v->p[i].text.len, w, body, st[i], ln[i]);
		}
		for (int row = 0; row < body; row++) {
			for (size_t i = 0; i < v->n; i++) {
				int first = count[i] > body ? count[i] - body : 0, k = first + row;

				if (k < count[i])
					cell(v->p[i].text.s + st[i][k % body], ln[i][k % body], w, &out);
				else
					cell("", 0, w, &out);
				mlb_buf_adds(&out, i + 1 < v->n ? "|" : "\033[K\n");
			}
		}
		for (size_t i = 0; i < v->n; i++) {
			cell(v->p[i].footer, strlen(v->p[i].footer), w, &out);
			mlb_buf_adds(&out, i + 1 < v->n ? "|" : "\033[K\n");
		}
		lines = body + 2;
		free(st);
		free(ln);
		free(count);
	} else {
		for (size_t i = 0; i < v->n; i++) {
			struct pane_view *p = &v->p[i];
			int count = tail_lines(mlb_buf_str(&p->text), p->text.len, v->cols - 2, body, start, lens);
			int first = count > body ? count - body : 0;

			header(v, p, v->cols - 1, &out);
			mlb_buf_adds(&out, "\033[K\n");
			for (int row = 0; row < body; row++) {
				int k = first + row;

				mlb_buf_adds(&out, "  ");
				if (k < count)
					cell(p->text.s + start[k % body], lens[k % body], v->cols - 3, &out);
				mlb_buf_adds(&out, "\033[K\n");
			}
			mlb_buf_addf(&out, "  %s\033[K\n", p->footer);
			lines += body + 2;
		}
	}
	fwrite(out.s, 1, out.len, stdout);
	fflush(stdout);
	mlb_buf_free(&out);
	v->drawn = lines;
	v->last_draw = mlb_mono_ms();
}

static void set_footer(struct pane_view *p, json_object *ev)
{
	char costs[32];

	mlb_cost_text(ev, costs, sizeof(costs));
	snprintf(p->footer, sizeof(p->footer), "%lld tok, %s, %.2f s, %s",
		 mlb_json_int(ev, "completion_tokens", 0), costs,
		 mlb_json_int(ev, "latency_ms", 0) / 1000.0, p->state);
}

void mlb_view_event(void *ctx, struct mlb_job *job, json_object *ev)
{
	struct mlb_view *v = ctx;
	const char *type = mlb_json_str(ev, "type");
	struct pane_view *p = find(v, mlb_json_str(ev, "pane"));

	(void)job;
	if (p && !strcmp(type, "token")) {
		mlb_buf_adds(&p->text, mlb_json_str(ev, "text"));
		snprintf(p->state, sizeof(p->state), "streaming");
	} else if (p && !strcmp(type, "status")) {
		const char *stage = mlb_json_str(ev, "stage");

		if (!strcmp(stage, "retry"))
			snprintf(p->state, sizeof(p->state), "retrying");
		else if (!strcmp(stage, "cancelled"))
			snprintf(p->state, sizeof(p->state), "cancelled");
		else if (!strcmp(stage, "done") && (!strcmp(p->state, "streaming") || !strcmp(p->state, "waiting") ||
						    !strcmp(p->state, "retrying")))
			snprintf(p->state, sizeof(p->state), "done");
	} else if (p && !strcmp(type, "error")) {
		snprintf(p->state, sizeof(p->state), "failed");
		snprintf(p->footer, sizeof(p->footer), "%s", mlb_json_str(ev, "message"));
	} else if (p && !strcmp(type, "final")) {
		if (!strcmp(p->state, "streaming") || !strcmp(p->state, "waiting"))
			snprintf(p->state, sizeof(p->state), "%s",
				 mlb_json_bool(ev, "partial") ? "partial" : "done");
		/* The final text is authoritative (tokens can be lost to a skipped chunk). */
		mlb_buf_reset(&p->text);
		mlb_buf_adds(&p->text, mlb_json_str(ev, "content"));
	} else if (p && !strcmp(type, "meter")) {
		set_footer(p, ev);
	} else if (!p && !strcmp(type, "error")) {
		mlb_error("%s", mlb_json_str(ev, "message"));
	}
	json_object_put(ev);
	if (!v->text_mode && mlb_mono_ms() - v->last_draw >= 50)
		draw(v);
}

void mlb_view_finish(struct mlb_view *v, const char *summary)
{
	if (v->text_mode) {
		/* --text in a pipe: each pane whole, one after another. */
		for (size_t i = 0; i < v->n; i++) {
			struct pane_view *p = &v->p[i];

			printf("%s== %s (%s) ==\n%s", i ? "\n" : "", p->model, p->state, mlb_buf_str(&p->text));
			if (p->text.len && p->text.s[p->text.len - 1] != '\n')
				putchar('\n');
			if (*p->footer)
				printf("-- %s\n", p->footer);
		}
	} else {
		draw(v);
	}
	if (summary)
		printf("%s\n", summary);
	fflush(stdout);
	for (size_t i = 0; i < v->n; i++)
		mlb_buf_free(&v->p[i].text);
	free(v->p);
	free(v);
}
