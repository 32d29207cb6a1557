#include "view.h"
#include "buf.h"
#include "clock.h"
#include "markdown.h"
#include "msg.h"
#include "term.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum pane_state { WAITING, STREAMING, RETRYING, DONE, PARTIAL, FAILED, CANCELLED };

static const char *const state_names[] = { "waiting", "streaming", "retrying", "done", "partial", "failed",
					   "cancelled" };

struct pane_view {
	char *pane, *model;
	struct mlb_buf text;
	enum pane_state state;
	long tokens;		/* token events so far, then the meter's completion tokens */
	long prompt_tokens;
	double cost;		/* the meter's cost; -1 until it comes or when unpriced */
	int metered;		/* the reply's meter came */
	int64_t t0, t_end;	/* monotonic ms; t_end 0 while it runs */
	double latency_s;	/* the meter's, when it has one */
	int attempt;
	int64_t retry_at;	/* when the next attempt starts */
	char reason[200];	/* why it failed, or why it retries */
};

struct mlb_view {
	struct pane_view *p;
	size_t n, cap;
	int color;
	int live;		/* stdout is a terminal: draw while streaming */
	int on_screen;		/* the alternate screen is ours */
	int dirty;
	int label_panes;	/* "pane (model)" rather than the model alone */
	int raw;		/* markdown as sent */
	int streamed;		/* a reply streams (a token or status came): a meter's table alone draws no panes */
	int cols, rows;
	int64_t t0, last_draw;
	const struct mlb_prices *prices;
	struct mlb_buf held;	/* diagnostics that came while the screen was ours */
};

static volatile sig_atomic_t resized;
static int screen_taken;	/* for the exit handler: leave the alternate screen */

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

static void leave_screen(void)
{
	if (screen_taken) {
		fputs("\033[?25h\033[?1049l", stdout);
		fflush(stdout);
		screen_taken = 0;
	}
}

static struct pane_view *add_pane(struct mlb_view *v, const char *pane, const char *model)
{
	struct pane_view *p;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 8;
		v->p = mlb_xrealloc(v->p, v->cap * sizeof(*v->p));
	}
	p = &v->p[v->n++];
	memset(p, 0, sizeof(*p));
	p->pane = mlb_xstrdup(pane);
	p->model = mlb_xstrdup(model && *model ? model : pane);
	p->cost = -1;
	p->t0 = mlb_mono_ms();
	return p;
}

struct mlb_view *mlb_view_new(size_t n, const char *const *panes, const char *const *models, int color)
{
	struct mlb_view *v = mlb_xcalloc(1, sizeof(*v));
	struct sigaction sa;

	v->color = color;
	v->live = isatty(STDOUT_FILENO);
	v->t0 = mlb_mono_ms();
	for (size_t i = 0; i < n; i++)
		add_pane(v, panes[i], models[i]);
	mlb_term_size(STDOUT_FILENO, &v->cols, &v->rows);
	if (v->live) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_winch;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGWINCH, &sa, NULL);
		atexit(leave_screen);
	}
	return v;
}

void mlb_view_raw(struct mlb_view *v)
{
	v->raw = 1;
}

void mlb_view_label_panes(struct mlb_view *v)
{
	v->label_panes = 1;
}

void mlb_view_prices(struct mlb_view *v, const struct mlb_prices *prices)
{
	v->prices = prices;
}

static struct pane_view *find(struct mlb_view *v, json_object *ev)
{
	const char *pane = mlb_json_str(ev, "pane");

	if (!pane || !*pane)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->p[i].pane, pane))
			return &v->p[i];
	/* A filter learns its panes from the events it reads. */
	if (v->label_panes) {
		char *label = mlb_xasprintf("%s (%s)", pane, mlb_json_str(ev, "model") ? mlb_json_str(ev, "model") : "?");
		struct pane_view *p = add_pane(v, pane, label);

		free(label);
		return p;
	}
	return add_pane(v, pane, mlb_json_str(ev, "model"));
}

/* "429 Rate limit exceeded": the status when there is one, then the message, on one line. */
static void set_reason(struct pane_view *p, json_object *ev)
{
	long long status = mlb_json_int(ev, "http_status", 0);
	const char *msg = mlb_json_str(ev, "message");

	if (status > 0 && !strstr(msg, "HTTP"))
		snprintf(p->reason, sizeof(p->reason), "%lld %s", status, msg);
	else
		snprintf(p->reason, sizeof(p->reason), "%s", *msg ? msg : mlb_json_str(ev, "code"));
}

static int running(const struct pane_view *p)
{
	return p->state == WAITING || p->state == STREAMING || p->state == RETRYING;
}

static void end(struct pane_view *p, enum pane_state s)
{
	p->state = s;
	if (!p->t_end)
		p->t_end = mlb_mono_ms();
}

static void update(struct mlb_view *v, struct pane_view *p, json_object *ev)
{
	const char *type = mlb_json_str(ev, "type");

	if (!strcmp(type, "token")) {
		mlb_buf_adds(&p->text, mlb_json_str(ev, "text"));
		p->tokens++;
		p->state = STREAMING;
	} else if (!strcmp(type, "status")) {
		const char *stage = mlb_json_str(ev, "stage");

		if (!strcmp(stage, "retry")) {
			p->state = RETRYING;
			p->attempt = (int)mlb_json_int(ev, "attempt", p->attempt + 1);
			p->retry_at = mlb_mono_ms() + mlb_json_int(ev, "retry_in_ms", 0);
			if (*mlb_json_str(ev, "message") || mlb_json_int(ev, "http_status", 0))
				set_reason(p, ev);
			/* A retry starts the reply again. */
			mlb_buf_reset(&p->text);
			p->tokens = 0;
		} else if (!strcmp(stage, "cancelled")) {
			end(p, CANCELLED);
		} else if (!strcmp(stage, "request") || !strcmp(stage, "queued")) {
			if (p->state == RETRYING)
				p->state = WAITING;
		} else if (!strcmp(stage, "done") && running(p)) {
			end(p, DONE);
		}
	} else if (!strcmp(type, "error")) {
		set_reason(p, ev);
		end(p, FAILED);
	} else if (!strcmp(type, "final")) {
		if (running(p))
			end(p, mlb_json_bool(ev, "partial") ? PARTIAL : DONE);
		/* The final text is authoritative (tokens can be lost to a skipped chunk). */
		mlb_buf_reset(&p->text);
		mlb_buf_adds(&p->text, mlb_json_str(ev, "content"));
	} else if (!strcmp(type, "meter")) {
		p->metered = 1;
		p->tokens = (long)mlb_json_int(ev, "completion_tokens", p->tokens);
		p->prompt_tokens = (long)mlb_json_int(ev, "prompt_tokens", 0);
		p->cost = mlb_json_double(ev, "cost_usd", -1);
		if (mlb_json_has(ev, "latency_ms"))
			p->latency_s = mlb_json_int(ev, "latency_ms", 0) / 1000.0;
		if (running(p))
			end(p, DONE);
	}
	(void)v;
}

/* "streaming · 42 tok · ~$0.000012 · 3.2 s", "retry 2 in 3 s · 429 rate limited", "failed · reason". */
static void status_text(const struct mlb_view *v, const struct pane_view *p, struct mlb_buf *out)
{
	int64_t now = mlb_mono_ms();
	double elapsed = p->latency_s > 0 ? p->latency_s : ((p->t_end ? p->t_end : now) - p->t0) / 1000.0;
	double cost;

	if (p->state == RETRYING) {
		int64_t left = p->retry_at > now ? (p->retry_at - now + 999) / 1000 : 0;

		mlb_buf_addf(out, "retry %d in %lld s", p->attempt, (long long)left);
		if (*p->reason)
			mlb_buf_addf(out, " \xc2\xb7 %s", p->reason);
		return;
	}
	if (p->state == FAILED) {
		mlb_buf_addf(out, "failed \xc2\xb7 %s", p->reason);
		return;
	}
	mlb_buf_adds(out, state_names[p->state]);
	if (p->state == WAITING && p->attempt)
		mlb_buf_addf(out, " (attempt %d)", p->attempt + 1);
	if (p->tokens || p->metered)
		mlb_buf_addf(out, " \xc2\xb7 %ld tok", p->tokens);
	if (p->metered && p->cost >= 0)
		mlb_buf_addf(out, " \xc2\xb7 $%.6f", p->cost);
	else if (!p->metered && p->tokens && v->prices &&
		 mlb_prices_cost(v->prices, p->model, p->prompt_tokens, p->tokens, &cost) == 1)
		mlb_buf_addf(out, " \xc2\xb7 ~$%.6f", cost);
	mlb_buf_addf(out, " \xc2\xb7 %.1f s", elapsed);
}

static const char *state_color(const struct mlb_view *v, const struct pane_view *p)
{
	if (!v->color)
		return "";
	switch (p->state) {
	case DONE:
		return "\033[1;32m";
	case FAILED:
	case CANCELLED:
	case PARTIAL:
		return "\033[1;31m";
	case RETRYING:
		return "\033[1;33m";
	default:
		return "\033[1;36m";
	}
}

static const char *off(const struct mlb_view *v)
{
	return v->color ? "\033[0m" : "";
}

/* The pane's text made safe, with the reason below it when it failed. */
static void shown_text(const struct pane_view *p, struct mlb_buf *out)
{
	mlb_term_safe(out, p->text.s ? p->text.s : "", p->text.len, MLB_TERM_NEWLINES);
	if (p->state == FAILED) {
		if (out->len && out->s[out->len - 1] != '\n')
			mlb_buf_addc(out, '\n');
		mlb_buf_adds(out, "\xe2\x9c\x97 ");	/* ✗ */
		mlb_term_safe(out, p->reason, strlen(p->reason), 0);
	}
}

/* A frame under construction: at most `max` lines, each already cut to the screen. */
struct frame {
	struct mlb_buf out;
	int lines, max;
};

static void frame_line_start(struct frame *f)
{
	if (f->lines)
		mlb_buf_adds(&f->out, "\033[K\r\n");
	f->lines++;
}

/* One line: s (safe) cut to width columns, in colour on. */
static void frame_text(struct frame *f, const char *on, const char *off_, const char *s, size_t len, int width)
{
	mlb_buf_adds(&f->out, on);
	mlb_term_cell(&f->out, s, len, width);
	mlb_buf_adds(&f->out, off_);
}

static void draw_columns(struct mlb_view *v, struct frame *f, int w)
{
	struct mlb_buf *texts = mlb_xcalloc(v->n, sizeof(*texts)), tmp = MLB_BUF_INIT;
	struct mlb_term_row **rows = mlb_xcalloc(v->n, sizeof(*rows));
	size_t *nrows = mlb_xcalloc(v->n, sizeof(*nrows)), *caps = mlb_xcalloc(v->n, sizeof(*caps));
	int body = f->max - 3, need = 0;

	for (size_t i = 0; i < v->n; i++) {
		shown_text(&v->p[i], &texts[i]);
		nrows[i] = texts[i].len ? mlb_term_wrap(texts[i].s, texts[i].len, w, &rows[i], &caps[i]) : 0;
		if ((int)nrows[i] > need)
			need = (int)nrows[i];
	}
	if (body > need)
		body = need;
	if (body < 1)
		body = 1;
	frame_line_start(f);
	for (size_t i = 0; i < v->n; i++) {
		mlb_buf_reset(&tmp);
		mlb_term_safe(&tmp, v->p[i].model, strlen(v->p[i].model), 0);
		frame_text(f, state_color(v, &v->p[i]), off(v), tmp.s, tmp.len, w);
		mlb_buf_adds(&f->out, i + 1 < v->n ? "\xe2\x94\x82" : "");
	}
	frame_line_start(f);
	for (size_t i = 0; i < v->n; i++) {
		struct mlb_buf st = MLB_BUF_INIT;

		status_text(v, &v->p[i], &st);
		mlb_buf_reset(&tmp);
		mlb_term_safe(&tmp, st.s, st.len, 0);
		frame_text(f, "", "", tmp.s, tmp.len, w);
		mlb_buf_adds(&f->out, i + 1 < v->n ? "\xe2\x94\x82" : "");
		mlb_buf_free(&st);
	}
	for (int row = 0; row < body; row++) {
		frame_line_start(f);
		for (size_t i = 0; i < v->n; i++) {
			/* The tail of each pane: the newest text stays in sight. */
			size_t first = nrows[i] > (size_t)body ? nrows[i] - (size_t)body : 0, k = first + (size_t)row;

			if (k < nrows[i])
				mlb_term_cell(&f->out, texts[i].s + rows[i][k].start, rows[i][k].len, w);
			else
				mlb_term_cell(&f->out, "", 0, w);
			mlb_buf_adds(&f->out, i + 1 < v->n ? "\xe2\x94\x82" : "");
		}
	}
	for (size_t i = 0; i < v->n; i++) {
		mlb_buf_free(&texts[i]);
		free(rows[i]);
	}
	mlb_buf_free(&tmp);
	free(texts);
	free(rows);
	free(nrows);
	free(caps);
}

/* "model  status" on one line of width columns. */
static void pane_header(struct mlb_view *v, struct frame *f, struct pane_view *p, int width)
{
	struct mlb_buf line = MLB_BUF_INIT, st = MLB_BUF_INIT, safe = MLB_BUF_INIT;
	int room;

	/* A long model name gives way to the state: the model is cut, never the reason. */
	status_text(v, p, &st);
	mlb_term_safe(&safe, st.s, st.len, 0);
	room = width - 2 - mlb_term_width(safe.s, safe.len);
	if (room < width / 3)
		room = width / 3;
	mlb_term_cut(&line, p->model, room);
	mlb_buf_adds(&line, "  ");
	mlb_buf_add(&line, safe.s, safe.len);
	mlb_buf_reset(&safe);
	mlb_buf_add(&safe, line.s, line.len);
	frame_text(f, state_color(v, p), off(v), safe.s, safe.len, width);
	mlb_buf_free(&line);
	mlb_buf_free(&st);
	mlb_buf_free(&safe);
}

static void draw_stacked(struct mlb_view *v, struct frame *f)
{
	int width = v->cols - 1, share = (f->max - 1 - (int)v->n) / (int)(v->n ? v->n : 1);
	struct mlb_buf text = MLB_BUF_INIT;
	struct mlb_term_row *rows = NULL;
	size_t cap = 0;

	if (share < 1)
		share = 1;
	for (size_t i = 0; i < v->n && f->lines < f->max; i++) {
		size_t nrows, first;

		frame_line_start(f);
		pane_header(v, f, &v->p[i], width);
		mlb_buf_reset(&text);
		shown_text(&v->p[i], &text);
		nrows = text.len ? mlb_term_wrap(text.s, text.len, width - 2, &rows, &cap) : 0;
		first = nrows > (size_t)share ? nrows - (size_t)share : 0;
		for (size_t k = first; k < nrows && f->lines < f->max; k++) {
			frame_line_start(f);
			mlb_buf_adds(&f->out, "  ");
			mlb_buf_add(&f->out, text.s + rows[k].start, rows[k].len);
		}
	}
	mlb_buf_free(&text);
	free(rows);
}

/* The line under the panes: how many run, what they cost so far, the time. */
static void overall(struct mlb_view *v, struct mlb_buf *out)
{
	int counts[CANCELLED + 1] = { 0 };
	double cost = 0;
	int priced = 0;

	for (size_t i = 0; i < v->n; i++) {
		counts[v->p[i].state]++;
		if (v->p[i].metered && v->p[i].cost >= 0) {
			cost += v->p[i].cost;
			priced = 1;
		}
	}
	mlb_buf_addf(out, "%zu pane%s", v->n, v->n == 1 ? "" : "s");
	for (int s = WAITING; s <= CANCELLED; s++)
		if (counts[s])
			mlb_buf_addf(out, " \xc2\xb7 %d %s", counts[s], state_names[s]);
	if (priced)
		mlb_buf_addf(out, " \xc2\xb7 $%.6f", cost);
	mlb_buf_addf(out, " \xc2\xb7 %.1f s", (mlb_mono_ms() - v->t0) / 1000.0);
}

static void draw(struct mlb_view *v)
{
	struct frame f = { MLB_BUF_INIT, 0, 0 };
	struct mlb_buf line = MLB_BUF_INIT;
	int w;

	if (resized) {
		resized = 0;
		mlb_term_size(STDOUT_FILENO, &v->cols, &v->rows);
		mlb_buf_adds(&f.out, "\033[2J");
	}
	if (!v->on_screen) {
		/* The alternate screen: the live frames never mix with the person's scrollback. */
		mlb_buf_adds(&f.out, "\033[?1049h\033[?25l\033[2J");
		v->on_screen = screen_taken = 1;
		mlb_msg_hold(&v->held);
	}
	mlb_buf_adds(&f.out, "\033[H");
	f.max = v->rows - 1 > 2 ? v->rows - 1 : 2;
	w = v->n ? (v->cols - ((int)v->n - 1)) / (int)v->n : v->cols;
	if (v->n > 1 && w >= MLB_VIEW_MIN_COLUMN)
		draw_columns(v, &f, w);
	else
		draw_stacked(v, &f);
	overall(v, &line);
	frame_line_start(&f);
	frame_text(&f, "", "", line.s, line.len, v->cols - 1);
	mlb_buf_adds(&f.out, "\033[K\033[J");
	fwrite(f.out.s, 1, f.out.len, stdout);
	fflush(stdout);
	mlb_buf_free(&f.out);
	mlb_buf_free(&line);
	v->dirty = 0;
	v->last_draw = mlb_mono_ms();
}

void mlb_view_event(void *ctx, struct mlb_job *job, json_object *ev)
{
	struct mlb_view *v = ctx;
	struct pane_view *p = find(v, ev);

	(void)job;
	if (p) {
		const char *type = mlb_json_str(ev, "type");

		if (!strcmp(type, "token") || !strcmp(type, "status"))
			v->streamed = 1;
		update(v, p, ev);
		v->dirty = 1;
		/* One line on stderr too (held while the screen is ours): it stays after the view. */
		if (!strcmp(mlb_json_str(ev, "type"), "error"))
			mlb_error("%s: %s", p->model, p->reason);
	} else if (!strcmp(mlb_json_str(ev, "type"), "error")) {
		mlb_error("%s", mlb_json_str(ev, "message"));
	}
	json_object_put(ev);
	if (v->live && v->streamed && mlb_mono_ms() - v->last_draw >= 50)
		draw(v);
}

void mlb_view_tick(void *ctx)
{
	struct mlb_view *v = ctx;
	int64_t since;
	int any_running = 0;

	if (!v->live || !v->streamed)
		return;
	since = mlb_mono_ms() - v->last_draw;
	for (size_t i = 0; i < v->n; i++)
		any_running |= running(&v->p[i]);
	/* Changes at most 20 times a second; the clocks and countdowns every quarter of a second. */
	if (resized || (v->dirty && since >= 50) || (any_running && since >= 250))
		draw(v);
}

/* Every answer in full on the normal screen, wrapped at words to the terminal's width. */
static void print_full(struct mlb_view *v)
{
	struct mlb_buf out = MLB_BUF_INIT, text = MLB_BUF_INIT, st = MLB_BUF_INIT;
	struct mlb_term_row *rows = NULL;
	size_t cap = 0;
	int width = v->cols - 1 > 10 ? v->cols - 1 : 10;

	for (size_t i = 0; i < v->n; i++) {
		struct pane_view *p = &v->p[i];
		size_t nrows;

		mlb_buf_reset(&st);
		mlb_buf_adds(&st, "\xe2\x94\x80\xe2\x94\x80 ");	/* ── */
		mlb_buf_adds(&st, p->model);
		mlb_buf_adds(&st, " \xc2\xb7 ");
		status_text(v, p, &st);
		mlb_buf_adds(&out, i ? "\n" : "");
		mlb_buf_adds(&out, state_color(v, p));
		mlb_term_cut(&out, st.s, width);
		mlb_buf_adds(&out, off(v));
		mlb_buf_addc(&out, '\n');
		mlb_buf_reset(&text);
		shown_text(p, &text);
		if (v->color && !v->raw) {
			struct mlb_buf drawn = MLB_BUF_INIT;

			mlb_markdown_render(&drawn, text.s ? text.s : "", text.len);
			mlb_buf_free(&text);
			text = drawn;
		}
		nrows = text.len ? mlb_term_wrap(text.s, text.len, width, &rows, &cap) : 0;
		for (size_t k = 0; k < nrows; k++) {
			mlb_buf_add(&out, text.s + rows[k].start, rows[k].len);
			mlb_buf_addc(&out, '\n');
		}
	}
	fwrite(out.s ? out.s : "", 1, out.len, stdout);
	mlb_buf_free(&out);
	mlb_buf_free(&text);
	mlb_buf_free(&st);
	free(rows);
}

/* --text in a pipe: each pane whole, one after another, under its model and how it ended. */
static void print_plain(struct mlb_view *v)
{
	for (size_t i = 0; i < v->n; i++) {
		struct pane_view *p = &v->p[i];
		struct mlb_buf st = MLB_BUF_INIT;

		printf("%s== ", i ? "\n" : "");
		mlb_term_write(stdout, p->model, strlen(p->model));
		printf(" (%s", state_names[p->state]);
		if (p->state == FAILED) {
			printf(": ");
			mlb_term_write(stdout, p->reason, strlen(p->reason));
		}
		printf(") ==\n");
		mlb_term_write(stdout, p->text.s ? p->text.s : "", p->text.len);
		if (p->text.len && p->text.s[p->text.len - 1] != '\n')
			putchar('\n');
		if (p->state != FAILED) {
			status_text(v, p, &st);
			printf("-- ");
			mlb_term_write(stdout, st.s, st.len);
			putchar('\n');
		}
		mlb_buf_free(&st);
	}
}

int mlb_view_finish(struct mlb_view *v, const char *summary)
{
	int printed = v->n && (v->streamed || !v->live);

	if (v->live) {
		if (resized)
			mlb_term_size(STDOUT_FILENO, &v->cols, &v->rows);
		leave_screen();
		v->on_screen = 0;
		mlb_msg_hold(NULL);
		if (v->streamed || !v->n)
			print_full(v);
	} else {
		print_plain(v);
	}
	fflush(stdout);
	if (v->held.len) {
		fwrite(v->held.s, 1, v->held.len, stderr);
		fflush(stderr);
	}
	if (summary)
		printf("%s\n", summary);
	fflush(stdout);
	if (v->live)
		signal(SIGWINCH, SIG_DFL);
	for (size_t i = 0; i < v->n; i++) {
		mlb_buf_free(&v->p[i].text);
		free(v->p[i].pane);
		free(v->p[i].model);
	}
	mlb_buf_free(&v->held);
	free(v->p);
	free(v);
	return printed;
}
