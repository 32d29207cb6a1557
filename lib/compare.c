/*
 * compare.c - pair answers, build diff events, draw diffs (see compare.h).
 *
 * A stream is read as a list of tracks, one per answer: without follow a
 * track is made by each final event; with follow a pane's first token
 * already makes it, and its final event completes it.  Pairs of tracks are
 * made as tracks appear (the first two, every pair, or each against one),
 * and a pair is compared for good once both of its tracks are final.
 *
 * Words and characters are compared in stages (mlb_compare_diff): lines
 * first, then the runs of lines that differ, from their first change to
 * their last.  lib/diff's cost is in cutting text into tokens and in the
 * search; both then only see what changed.
 */
#include "compare.h"
#include "clock.h"
#include "config.h"
#include "event.h"
#include "msg.h"
#include "store.h"
#include "term.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Compare streaming texts again at most this often (less often when comparing takes long). */
#define LIVE_INTERVAL_MS 500
/* Unchanged lines around each hunk of a unified diff, as diff -u. */
#define CONTEXT 3
#define NONE SIZE_MAX
/* The most bytes of changed lines that blank lines are looked across (see mlb_compare_diff). */
#define RUN_MAX (16u << 10)

/* The colours git uses for diffs. */
#define SGR_RESET "\033[m"
#define SGR_DEL "\033[31m"
#define SGR_INS "\033[32m"
#define SGR_FRAG "\033[36m"
#define SGR_META "\033[1m"

const char *mlb_compare_unit_name(enum mlb_diff_unit unit)
{
	switch (unit) {
	case MLB_DIFF_LINES:
		return "lines";
	case MLB_DIFF_CHARS:
		return "chars";
	case MLB_DIFF_WORDS:
		break;
	}
	return "words";
}

/* The value both sides share, or the one that is known; NULL when they differ. */
static const char *common(const char *x, const char *y)
{
	if (!x)
		return y;
	if (!y || !strcmp(x, y))
		return x;
	return NULL;
}

/* The diff event without its ops. */
static json_object *event_head(const struct mlb_answer *a, const struct mlb_answer *b,
			       enum mlb_diff_unit unit, const struct mlb_diff *d)
{
	struct mlb_tag tag = { common(a->session, b->session), NULL, NULL, common(a->run, b->run) };
	json_object *ev = mlb_event_new("diff", &tag);

	/* Answers from two sessions: say which is which rather than pick one. */
	if (a->session && b->session && !tag.session) {
		mlb_json_set_str(ev, "session_a", a->session);
		mlb_json_set_str(ev, "session_b", b->session);
	}
	mlb_json_set_str(ev, "a", a->label);
	mlb_json_set_str(ev, "b", b->label);
	mlb_json_set_str(ev, "model_a", a->model);
	mlb_json_set_str(ev, "model_b", b->model);
	mlb_json_set_str(ev, "unit", mlb_compare_unit_name(unit));
	mlb_json_set_double(ev, "similarity", d->similarity);
	return ev;
}

json_object *mlb_compare_event(const struct mlb_answer *a, const struct mlb_answer *b,
			       enum mlb_diff_unit unit, const struct mlb_diff *d)
{
	json_object *ev = event_head(a, b, unit, d), *ops = json_object_new_array();

	for (size_t i = 0; i < d->nops; i++) {
		json_object *op = json_object_new_object();

		mlb_json_set_str(op, "op", mlb_diff_opname(d->ops[i].op));
		/* Inputs are bounded by the reader's line limit, far below INT_MAX. */
		json_object_object_add(op, "text", json_object_new_string_len(d->ops[i].text, (int)d->ops[i].len));
		json_object_array_add(ops, op);
	}
	json_object_object_add(ev, "ops", ops);
	return ev;
}

/*
 * The diff event as one line.  The ops are written here rather than by
 * json-c, which makes an object per op and escapes byte by byte: on answers
 * of a megabyte that was a quarter of the run time.
 */
static void event_line(struct mlb_buf *out, const struct mlb_answer *a, const struct mlb_answer *b,
		       enum mlb_diff_unit unit, const struct mlb_diff *d, int live)
{
	json_object *ev = event_head(a, b, unit, d);
	const char *head;
	size_t len;

	if (live)
		mlb_json_set_bool(ev, "live", 1);
	head = mlb_json_line(ev, &len);
	mlb_buf_add(out, head, len - 1);	/* without its closing brace */
	json_object_put(ev);
	mlb_buf_adds(out, ",\"ops\":[");
	for (size_t i = 0; i < d->nops; i++) {
		mlb_buf_adds(out, i ? ",{\"op\":\"" : "{\"op\":\"");
		mlb_buf_adds(out, mlb_diff_opname(d->ops[i].op));
		mlb_buf_adds(out, "\",\"text\":");
		mlb_json_escape(out, d->ops[i].text, d->ops[i].len);
		mlb_buf_addc(out, '}');
	}
	mlb_buf_adds(out, "]}");
}

/* Append op to d, joining it to the last op when that one is of the same kind and ends where op starts. */
static void push_op(struct mlb_diff *d, size_t *cap, enum mlb_diff_opkind kind, const char *text, size_t len)
{
	struct mlb_diff_op *last = d->nops ? &d->ops[d->nops - 1] : NULL;

	if (len == 0)
		return;
	if (kind == MLB_DIFF_EQUAL)
		d->equal_bytes += len;
	else if (kind == MLB_DIFF_DELETE)
		d->deleted_bytes += len;
	else
		d->inserted_bytes += len;
	if (last && last->op == kind && last->text + last->len == text) {
		last->len += len;
		return;
	}
	if (d->nops == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		d->ops = mlb_xrealloc(d->ops, *cap * sizeof(*d->ops));
	}
	d->ops[d->nops++] = (struct mlb_diff_op){ kind, text, len };
}

/* Whether s is nothing but white space: such lines are everywhere, so they anchor nothing. */
static int blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

/* White space as lib/diff cuts words: runs of it, and runs of the rest, are tokens. */
static int space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Back p, the length of a prefix that two texts share, up to a point where
 * lib/diff cuts both alike: the start of the token holding byte p - 1.  A
 * word starts where the class of byte changes; a line after a '\n'; a
 * character at any byte that is not a UTF-8 continuation byte, which no
 * token can run into.
 */
static size_t prefix_cut(const unsigned char *s, size_t p, enum mlb_diff_unit unit)
{
	if (p == 0)
		return 0;
	p--;
	if (unit == MLB_DIFF_CHARS) {
		while (p > 0 && (s[p] & 0xc0) == 0x80)
			p--;
	} else if (unit == MLB_DIFF_LINES) {
		while (p > 0 && s[p - 1] != '\n')
			p--;
	} else {
		int sp = space(s[p]);

		while (p > 0 && space(s[p - 1]) == sp)
			p--;
	}
	return p;
}

/* Move t, the start of a suffix that two texts of length n share, forward to such a point. */
static size_t suffix_cut(const unsigned char *s, size_t n, size_t t, enum mlb_diff_unit unit)
{
	const unsigned char *nl;

	if (unit == MLB_DIFF_CHARS) {
		while (t < n && (s[t] & 0xc0) == 0x80)
			t++;
	} else if (unit == MLB_DIFF_LINES) {
		nl = memchr(s + t, '\n', n - t);
		t = nl ? (size_t)(nl - s) + 1 : n;
	} else if (t < n) {
		for (t++; t < n && space(s[t - 1]) == space(s[t]); t++)
			;
	}
	return t;
}

/*
 * The bytes x and y share at their start (*pre) and end (*suf), cut back
 * to token boundaries of unit so that lib/diff would cut the rest alike.
 * lib/diff strips common tokens at the ends itself, so the ops are the
 * same with or without this; only the shared ends are never cut into
 * tokens.
 */
static void common_ends(const char *x, size_t xl, const char *y, size_t yl, enum mlb_diff_unit unit,
			size_t *pre, size_t *suf)
{
	const unsigned char *ux = (const unsigned char *)x, *uy = (const unsigned char *)y;
	size_t n = xl < yl ? xl : yl, p = 0, s = 0;

	while (p + 64 <= n && !memcmp(x + p, y + p, 64))
		p += 64;
	while (p < n && x[p] == y[p])
		p++;
	while (s + 64 <= n - p && !memcmp(x + xl - s - 64, y + yl - s - 64, 64))
		s += 64;
	while (s < n - p && ux[xl - 1 - s] == uy[yl - 1 - s])
		s++;
	*pre = prefix_cut(ux, p, unit);
	*suf = xl - suffix_cut(ux, xl, xl - s, unit);
}

/*
 * Diff one changed run of lines by unit into d.  Its common start and end
 * are cut off first, so that lib/diff cuts into tokens only the middle,
 * from the first change to the last: a paragraph with one word changed
 * costs a few tokens, not all of them.
 */
static int diff_run(struct mlb_diff *d, size_t *cap, const char *x, size_t xl, const char *y, size_t yl,
		    enum mlb_diff_unit unit)
{
	size_t p, s;
	struct mlb_diff sub;

	common_ends(x, xl, y, yl, unit, &p, &s);
	push_op(d, cap, MLB_DIFF_EQUAL, x, p);
	if (p == xl - s || p == yl - s) {
		push_op(d, cap, MLB_DIFF_DELETE, x + p, xl - s - p);
		push_op(d, cap, MLB_DIFF_INSERT, y + p, yl - s - p);
	} else {
		if (mlb_diff(x + p, xl - s - p, y + p, yl - s - p, unit, &sub) < 0)
			return -1;
		for (size_t k = 0; k < sub.nops; k++)
			push_op(d, cap, sub.ops[k].op, sub.ops[k].text, sub.ops[k].len);
		mlb_diff_free(&sub);
	}
	push_op(d, cap, MLB_DIFF_EQUAL, x + xl - s, s);
	return 0;
}

int mlb_compare_diff(const char *a, size_t alen, const char *b, size_t blen,
		     enum mlb_diff_unit unit, struct mlb_diff *out)
{
	struct mlb_diff lines;
	size_t cap = 0, i = 0, j, pa, pb, a0, b0, pre, suf;

	if (unit == MLB_DIFF_LINES)
		return mlb_diff(a, alen, b, blen, unit, out);
	memset(out, 0, sizeof(*out));
	/* Answers that share most of their lines (or all: the same answer twice) are mostly not cut into lines. */
	common_ends(a, alen, b, blen, MLB_DIFF_LINES, &pre, &suf);
	if (mlb_diff(a + pre, alen - pre - suf, b + pre, blen - pre - suf, MLB_DIFF_LINES, &lines) < 0)
		return -1;
	push_op(out, &cap, MLB_DIFF_EQUAL, a, pre);
	pa = pb = pre;
	while (i < lines.nops) {
		if (lines.ops[i].op == MLB_DIFF_EQUAL) {
			push_op(out, &cap, MLB_DIFF_EQUAL, a + pa, lines.ops[i].len);
			pa += lines.ops[i].len;
			pb += lines.ops[i].len;
			i++;
			continue;
		}
		/*
		 * A changed run of lines, up to the next equal lines that are
		 * not blank: on long texts the line diff is not minimal, and a
		 * blank line it matched between two changes may pair the wrong
		 * paragraphs, so the finer diff looks across it.  Not beyond
		 * RUN_MAX, though: unrelated texts share little but their blank
		 * lines, and one search over all of them would cost O(N^1.5)
		 * where paragraph-sized ones cost next to nothing.
		 */
		a0 = pa;
		b0 = pb;
		for (j = i; j < lines.nops; j++) {
			const struct mlb_diff_op *op = &lines.ops[j];

			if (op->op == MLB_DIFF_EQUAL && (j + 1 == lines.nops || !blank(op->text, op->len) ||
							 (pa - a0) + (pb - b0) > RUN_MAX))
				break;
			if (op->op != MLB_DIFF_INSERT)
				pa += op->len;
			if (op->op != MLB_DIFF_DELETE)
				pb += op->len;
		}
		i = j;
		if (diff_run(out, &cap, a + a0, pa - a0, b + b0, pb - b0, unit) < 0) {
			mlb_diff_free(&lines);
			mlb_diff_free(out);
			return -1;
		}
	}
	mlb_diff_free(&lines);
	push_op(out, &cap, MLB_DIFF_EQUAL, a + alen - suf, suf);
	out->similarity = alen + blen ? 2.0 * (double)out->equal_bytes / ((double)alen + (double)blen) : 1.0;
	return 0;
}

/* A pane's label (its model's name comes from events): safe for a terminal, on one line. */
static void add_label(struct mlb_buf *out, const char *label)
{
	mlb_term_safe(out, label, strlen(label), 0);
}

/* Append s with each line's part wrapped in open/close, so no colour or marker spans a line end. */
static void marked(struct mlb_buf *out, const char *s, size_t len, const char *open, const char *close)
{
	while (len > 0) {
		const char *nl = memchr(s, '\n', len);
		size_t n = nl ? (size_t)(nl - s) : len;

		if (n > 0) {
			mlb_buf_adds(out, open);
			mlb_term_safe(out, s, n, MLB_TERM_TABS);
			mlb_buf_adds(out, close);
		}
		if (nl) {
			mlb_buf_addc(out, '\n');
			n++;
		}
		s += n;
		len -= n;
	}
}

void mlb_compare_words(struct mlb_buf *out, const struct mlb_diff *d, int color)
{
	size_t start = out->len;

	for (size_t i = 0; i < d->nops; i++) {
		const struct mlb_diff_op *op = &d->ops[i];

		switch (op->op) {
		case MLB_DIFF_EQUAL:
			mlb_term_safe(out, op->text, op->len, MLB_TERM_NEWLINES | MLB_TERM_TABS);
			break;
		case MLB_DIFF_DELETE:
			marked(out, op->text, op->len, color ? SGR_DEL : "[-", color ? SGR_RESET : "-]");
			break;
		case MLB_DIFF_INSERT:
			marked(out, op->text, op->len, color ? SGR_INS : "{+", color ? SGR_RESET : "+}");
			break;
		}
	}
	if (out->len > start && out->s[out->len - 1] != '\n')
		mlb_buf_addc(out, '\n');
}

/* One line of a unified diff: ' ', '-' or '+', and the line with its '\n' if it has one. */
struct uline {
	char tag;
	const char *s;
	size_t len;
};

struct ulines {
	struct uline *v;
	size_t n, cap;
};

static void add_ulines(struct ulines *u, char tag, const char *s, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(s, '\n', len);
		size_t n = nl ? (size_t)(nl - s) + 1 : len;

		if (u->n == u->cap) {
			u->cap = u->cap ? u->cap * 2 : 64;
			u->v = mlb_xrealloc(u->v, u->cap * sizeof(*u->v));
		}
		u->v[u->n++] = (struct uline){ tag, s, n };
		s += n;
		len -= n;
	}
}

/* "-start,count" as diff -u writes it: the count left out when 1, and an empty range starts before it. */
static void add_range(struct mlb_buf *out, char sign, size_t before, size_t count)
{
	if (count == 1)
		mlb_buf_addf(out, "%c%zu", sign, before + 1);
	else
		mlb_buf_addf(out, "%c%zu,%zu", sign, count ? before + 1 : before, count);
}

static void add_uline(struct mlb_buf *out, const struct uline *l, int color)
{
	int nl = l->len > 0 && l->s[l->len - 1] == '\n';

	if (color && l->tag != ' ')
		mlb_buf_adds(out, l->tag == '-' ? SGR_DEL : SGR_INS);
	mlb_buf_addc(out, l->tag);
	mlb_term_safe(out, l->s, l->len - (size_t)nl, MLB_TERM_TABS);
	if (color && l->tag != ' ')
		mlb_buf_adds(out, SGR_RESET);
	mlb_buf_addc(out, '\n');
	if (!nl)
		mlb_buf_adds(out, "\\ No newline at end of file\n");
}

int mlb_compare_unified(struct mlb_buf *out, const struct mlb_answer *a, const struct mlb_answer *b, int color)
{
	struct ulines u = { 0 };
	struct mlb_diff d;
	size_t *an, *bn, i;

	if (mlb_diff(a->text, a->len, b->text, b->len, MLB_DIFF_LINES, &d) < 0)
		return -1;
	for (i = 0; i < d.nops; i++)
		add_ulines(&u, d.ops[i].op == MLB_DIFF_EQUAL ? ' ' : d.ops[i].op == MLB_DIFF_DELETE ? '-' : '+',
			   d.ops[i].text, d.ops[i].len);
	mlb_diff_free(&d);
	/* an[i], bn[i]: how many lines of a and of b come before line i. */
	an = mlb_xcalloc(u.n + 1, sizeof(*an));
	bn = mlb_xcalloc(u.n + 1, sizeof(*bn));
	for (i = 0; i < u.n; i++) {
		an[i + 1] = an[i] + (u.v[i].tag != '+');
		bn[i + 1] = bn[i] + (u.v[i].tag != '-');
	}
	for (i = 0; i < u.n; ) {
		size_t first, last, from, to, j;

		for (first = i; first < u.n && u.v[first].tag == ' '; first++)
			;
		if (first == u.n)
			break;
		if (i == 0) {
			mlb_buf_addf(out, "%s--- ", color ? SGR_META : "");
			add_label(out, a->label);
			mlb_buf_addf(out, "%s\n%s+++ ", color ? SGR_RESET : "", color ? SGR_META : "");
			add_label(out, b->label);
			mlb_buf_addf(out, "%s\n", color ? SGR_RESET : "");
		}
		/* Extend the hunk over changes that are at most 2 * CONTEXT equal lines apart. */
		last = first;
		for (j = first; j < u.n; j++) {
			if (u.v[j].tag != ' ')
				last = j;
			else if (j - last > 2 * CONTEXT)
				break;
		}
		from = first > i + CONTEXT ? first - CONTEXT : i;
		to = last + 1 + CONTEXT < u.n ? last + 1 + CONTEXT : u.n;
		if (color)
			mlb_buf_adds(out, SGR_FRAG);
		mlb_buf_adds(out, "@@ ");
		add_range(out, '-', an[from], an[to] - an[from]);
		mlb_buf_addc(out, ' ');
		add_range(out, '+', bn[from], bn[to] - bn[from]);
		mlb_buf_adds(out, " @@");
		if (color)
			mlb_buf_adds(out, SGR_RESET);
		mlb_buf_addc(out, '\n');
		for (j = from; j < to; j++)
			add_uline(out, &u.v[j], color);
		i = to;
	}
	free(an);
	free(bn);
	free(u.v);
	return 0;
}

int mlb_compare_text(struct mlb_buf *out, const struct mlb_answer *a, const struct mlb_answer *b,
		     const struct mlb_diff *d, const struct mlb_compare_opts *o, const char *note)
{
	mlb_buf_addf(out, "%sdiff ", o->color ? SGR_META : "");
	add_label(out, a->label);
	mlb_buf_addc(out, ' ');
	add_label(out, b->label);
	mlb_buf_addf(out, " (similarity %.2f%s%s)%s\n", d->similarity, note ? ", " : "", note ? note : "",
		     o->color ? SGR_RESET : "");
	if (o->unified)
		return mlb_compare_unified(out, a, b, o->color);
	mlb_compare_words(out, d, o->color);
	return 0;
}

/* Write one comparison to stdout as an event or as text; -1 when out of memory. */
static int write_diff(const struct mlb_compare_opts *o, const struct mlb_answer *a,
		      const struct mlb_answer *b, int live)
{
	struct mlb_diff d;
	int rc = 0;

	if (mlb_compare_diff(a->text, a->len, b->text, b->len, o->unit, &d) < 0)
		return mlb_error("cannot compare '%s' with '%s': %s", a->label, b->label, strerror(errno));
	if (o->json) {
		struct mlb_buf line = MLB_BUF_INIT;

		event_line(&line, a, b, o->unit, &d, live);
		mlb_event_write_raw(line.s, line.len);
		mlb_buf_free(&line);
	} else {
		struct mlb_buf t = MLB_BUF_INIT;

		rc = mlb_compare_text(&t, a, b, &d, o, NULL);
		if (rc < 0)
			mlb_error("cannot compare '%s' with '%s': %s", a->label, b->label, strerror(errno));
		fwrite(t.s ? t.s : "", 1, t.len, stdout);
		fflush(stdout);
		mlb_buf_free(&t);
	}
	mlb_diff_free(&d);
	return rc;
}

/* ---- from a session ---- */

/* Whether the session has a pane called pane. */
static int has_pane(struct mlb_session *s, const char *pane)
{
	char **panes;
	size_t n, i;
	int found = 0;

	if (mlb_session_panes(s, &panes, &n) < 0)
		return 0;
	for (i = 0; i < n; i++)
		found |= !strcmp(panes[i], pane);
	mlb_strv_free(panes);
	return found;
}

/* The last assistant message of a pane, copied into ans (which owns text and model); -1 after a message. */
int mlb_compare_load_answer(struct mlb_session *s, const char *pane, struct mlb_answer *ans)
{
	struct mlb_msgfile *msgs;
	size_t n, i, found = NONE;
	const char *model;
	char *text;

	if (mlb_session_messages(s, pane, &msgs, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *role = mlb_msgfile_get(&msgs[i], "Role");

		if (role && !strcasecmp(role, "assistant"))
			found = i;
	}
	if (found == NONE) {
		mlb_msgfiles_free(msgs, n);
		if (!has_pane(s, pane))
			return mlb_error("session '%s' has no pane '%s'", mlb_session_id(s), pane);
		return mlb_error("pane '%s' of session '%s' has no answer yet", pane, mlb_session_id(s));
	}
	text = mlb_xmalloc(msgs[found].content_len + 1);
	memcpy(text, msgs[found].content, msgs[found].content_len);
	text[msgs[found].content_len] = '\0';
	model = mlb_msgfile_get(&msgs[found], "Model");
	*ans = (struct mlb_answer){
		.session = mlb_session_id(s),
		.pane = pane,
		.model = model ? mlb_xstrdup(model) : NULL,
		.run = NULL,
		.label = pane,
		.text = text,
		.len = msgs[found].content_len,
	};
	if (!ans->model) {
		/* A message without a Model header: the pane's model is the next best thing. */
		json_object *info = mlb_session_pane_info(s, pane);
		const char *m = mlb_json_str(info, "model");

		ans->model = m ? mlb_xstrdup(m) : NULL;
		json_object_put(info);
	}
	mlb_msgfiles_free(msgs, n);
	return 0;
}

int mlb_compare_session(const struct mlb_compare_opts *o, const char *session,
			const char *pane_a, const char *pane_b)
{
	struct mlb_answer a = { 0 }, b = { 0 };
	struct mlb_session *s;
	int status = MLB_EXIT_FAIL;

	if (!mlb_session_exists(session)) {
		mlb_error("no session '%s'", session);
		return MLB_EXIT_FAIL;
	}
	if (mlb_session_open(session, 0, &s) < 0)
		return MLB_EXIT_FAIL;
	if (mlb_compare_load_answer(s, pane_a, &a) == 0 && mlb_compare_load_answer(s, pane_b, &b) == 0 &&
	    write_diff(o, &a, &b, 0) == 0)
		status = MLB_EXIT_OK;
	free((char *)a.text);
	free((char *)a.model);
	free((char *)b.text);
	free((char *)b.model);
	mlb_session_close(s);
	return status;
}

int mlb_compare_session_panes(const struct mlb_compare_opts *o, const char *session)
{
	struct mlb_session *s;
	struct mlb_answer *ans;
	char **panes;
	size_t np, n = 0, ref = NONE;
	int status = MLB_EXIT_OK, compared = 0;

	if (!mlb_session_exists(session)) {
		mlb_error("no session '%s'", session);
		return MLB_EXIT_FAIL;
	}
	if (mlb_session_open(session, 0, &s) < 0)
		return MLB_EXIT_FAIL;
	if (mlb_session_panes(s, &panes, &np) < 0) {
		mlb_session_close(s);
		return MLB_EXIT_FAIL;
	}
	ans = mlb_xcalloc(np + 1, sizeof(*ans));
	for (size_t i = 0; i < np; i++) {
		if (o->pairs == MLB_COMPARE_AGAINST && !strcmp(panes[i], o->against))
			ref = n;
		else if (!strncmp(panes[i], "summary-", 8))
			continue;	/* a summary is not one of the answers */
		/* a pane that never answered is named (by the loader) and left out */
		if (mlb_compare_load_answer(s, panes[i], &ans[n]) == 0)
			n++;
		else if (o->pairs == MLB_COMPARE_AGAINST && ref == n)
			ref = NONE;
	}
	if (o->pairs == MLB_COMPARE_AGAINST && ref == NONE) {
		if (!has_pane(s, o->against))
			mlb_error("session '%s' has no pane '%s'", session, o->against);
		status = MLB_EXIT_FAIL;
	}
	for (size_t i = 0; status == MLB_EXIT_OK && i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			const struct mlb_answer *a = &ans[i], *b = &ans[j];

			if (o->pairs == MLB_COMPARE_AGAINST) {
				if (i != ref && j != ref)
					continue;
				if (j == ref) {
					a = &ans[j];
					b = &ans[i];
				}
			}
			if (write_diff(o, a, b, 0) < 0)
				status = MLB_EXIT_FAIL;
			compared++;
		}
	if (status == MLB_EXIT_OK && !compared) {
		mlb_error("session '%s' has fewer than two answers to compare", session);
		status = MLB_EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		free((char *)ans[i].text);
		free((char *)ans[i].model);
	}
	free(ans);
	mlb_strv_free(panes);
	mlb_session_close(s);
	return status;
}

/* ---- from a stream ---- */

/* One answer in the stream. */
struct track {
	char *session, *pane, *model, *run, *label;
	struct mlb_buf text;	/* the tokens so far */
	json_object *content;	/* the final content, held rather than copied (answers can be megabytes) */
	unsigned long version;	/* bumped at every change of text */
	int final;
};

/* Two tracks to compare. */
struct pair {
	size_t a, b;
	unsigned long va, vb;	/* the versions last compared */
	int done;		/* the final diff is written */
	struct mlb_buf shown;	/* its last live rendering, for the terminal */
};

struct stream {
	const struct mlb_compare_opts *o;
	struct mlb_reader *r;
	struct track *t;
	size_t nt, tcap;
	struct pair *p;
	size_t np, pcap;
	size_t ref;		/* the track compared against, or NONE */
	long finals;		/* final events with content */
	long bad;		/* final events without */
	long uncompared;	/* finals past MLB_COMPARE_ALL_MAX with --all */
	long diffs;		/* final diffs written */
	int oom;
	int64_t last_live;	/* when the last round of live comparisons started */
	int64_t interval;	/* how long to wait from there to the next round */
	int drawn;		/* rows of the live view on the terminal */
	int stale;		/* the live view was erased and must be drawn again */
};

static char *dup_or_null(const char *s)
{
	return s ? mlb_xstrdup(s) : NULL;
}

static int same(const char *x, const char *y)
{
	return x == y || (x && y && !strcmp(x, y));
}

static struct mlb_answer answer(const struct track *t)
{
	return (struct mlb_answer){
		t->session, t->pane, t->model, t->run, t->label,
		t->content ? json_object_get_string(t->content) : mlb_buf_str(&t->text),
		t->content ? (size_t)json_object_get_string_len(t->content) : t->text.len
	};
}

static int is_against(const struct stream *st, const struct track *t)
{
	const char *x = st->o->against;

	return same(t->pane, x) || same(t->model, x) || !strcmp(t->label, x);
}

static void add_pair(struct stream *st, size_t a, size_t b)
{
	if (st->np == st->pcap) {
		st->pcap = st->pcap ? st->pcap * 2 : 8;
		st->p = mlb_xrealloc(st->p, st->pcap * sizeof(*st->p));
	}
	st->p[st->np++] = (struct pair){ .a = a, .b = b, .shown = MLB_BUF_INIT };
}

/* Whether another track could still be paired with anything. */
static int wanted(const struct stream *st)
{
	if (st->o->pairs == MLB_COMPARE_ALL)
		return st->nt < MLB_COMPARE_ALL_MAX;
	return st->o->pairs != MLB_COMPARE_FIRST || st->nt < 2;
}

/* A new track for the answer that ev starts, and the pairs it joins. */
static size_t add_track(struct stream *st, json_object *ev)
{
	struct track *t;
	size_t k = st->nt, i;

	if (st->nt == st->tcap) {
		st->tcap = st->tcap ? st->tcap * 2 : 8;
		st->t = mlb_xrealloc(st->t, st->tcap * sizeof(*st->t));
	}
	t = &st->t[st->nt++];
	*t = (struct track){
		.session = dup_or_null(mlb_json_str(ev, "session")),
		.pane = dup_or_null(mlb_json_str(ev, "pane")),
		.model = dup_or_null(mlb_json_str(ev, "model")),
		.run = dup_or_null(mlb_json_str(ev, "run")),
		.text = MLB_BUF_INIT,
	};
	t->label = t->pane ? mlb_xstrdup(t->pane) : t->model ? mlb_xstrdup(t->model) : mlb_xasprintf("%zu", k + 1);
	switch (st->o->pairs) {
	case MLB_COMPARE_FIRST:
		if (k == 1)
			add_pair(st, 0, 1);
		break;
	case MLB_COMPARE_ALL:
		for (i = 0; i < k; i++)
			add_pair(st, i, k);
		break;
	case MLB_COMPARE_AGAINST:
		if (st->ref != NONE) {
			add_pair(st, st->ref, k);
		} else if (is_against(st, t)) {
			/* The ones that came first were held for it. */
			st->ref = k;
			for (i = 0; i < k; i++)
				add_pair(st, k, i);
		}
		break;
	}
	return k;
}

/* The unfinished track of the pane that ev belongs to, or NONE (only with follow). */
static size_t open_track(const struct stream *st, json_object *ev)
{
	const char *pane = mlb_json_str(ev, "pane"), *model = mlb_json_str(ev, "model");
	const char *session = mlb_json_str(ev, "session"), *run = mlb_json_str(ev, "run");

	if (!st->o->follow || (!pane && !model))
		return NONE;
	for (size_t k = st->nt; k-- > 0;) {
		const struct track *t = &st->t[k];

		if (!t->final && same(t->pane, pane) && same(t->model, model) &&
		    same(t->session, session) && same(t->run, run))
			return k;
	}
	return NONE;
}

/* Whether the pair's texts changed since they were last compared. */
static int changed(const struct stream *st, const struct pair *p)
{
	return !p->done && (p->va != st->t[p->a].version || p->vb != st->t[p->b].version);
}

/* Move the cursor back over the live view and clear it. */
static void erase_view(struct stream *st)
{
	if (st->drawn > 0)
		printf("\r\033[%dA\033[J", st->drawn);
	st->drawn = 0;
	st->stale = 1;
}

/*
 * Cut rendered text into rows of at most width columns, so that the live
 * view knows how many rows it takes and can move back over exactly those.
 * Our colour escapes take no room and carry over to the next row; the
 * answers' text is already safe (mlb_term_safe), and any control byte left
 * shows as '?' all the same.  rows[i] is where row i starts in out.
 */
static size_t wrap_rows(const char *s, size_t len, int width, struct mlb_buf *out, size_t **rows)
{
	char sgr[16] = "";
	size_t nrows = 0, cap = 0, i = 0;
	int col = 0, open = 0;

	while (i < len) {
		const unsigned char *u = (const unsigned char *)s + i;
		size_t n = 1;
		int w = 1;

		if (!open) {
			if (nrows == cap) {
				cap = cap ? cap * 2 : 64;
				*rows = mlb_xrealloc(*rows, cap * sizeof(**rows));
			}
			(*rows)[nrows++] = out->len;
			mlb_buf_adds(out, sgr);
			open = 1;
			col = 0;
		}
		if (u[0] == '\033' && i + 1 < len && u[1] == '[') {
			size_t j = i + 2;

			while (j < len && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';'))
				j++;
			if (j < len && s[j] == 'm' && j + 1 - i < sizeof(sgr)) {
				memcpy(sgr, s + i, j + 1 - i);
				sgr[j + 1 - i] = '\0';
				if (!strcmp(sgr, SGR_RESET) || !strcmp(sgr, "\033[0m"))
					sgr[0] = '\0';
				mlb_buf_add(out, s + i, j + 1 - i);
				i = j + 1;
				continue;
			}
		}
		if (u[0] == '\n') {
			if (sgr[0])
				mlb_buf_adds(out, SGR_RESET);
			mlb_buf_addc(out, '\n');
			open = 0;
			i++;
			continue;
		}
		if (u[0] >= 0x80) {
			uint32_t cp;

			n = mlb_term_char(s + i, len - i, &cp, &w);
			if (w < 0)
				w = 1;
		}
		if (col + w > width && col > 0) {
			if (sgr[0])
				mlb_buf_adds(out, SGR_RESET);
			mlb_buf_addc(out, '\n');
			open = 0;
			continue;
		}
		if (u[0] < 0x20 || u[0] == 0x7f)
			mlb_buf_addc(out, u[0] == '\t' ? ' ' : '?');
		else
			mlb_buf_add(out, s + i, n);
		col += w;
		i += n;
	}
	if (open) {
		if (sgr[0])
			mlb_buf_adds(out, SGR_RESET);
		mlb_buf_addc(out, '\n');
	}
	return nrows;
}

/* Draw the pairs still streaming below what is printed for good, in at most a screenful. */
static void draw_view(struct stream *st)
{
	struct mlb_buf all = MLB_BUF_INIT, rows_out = MLB_BUF_INIT;
	size_t *rows = NULL, nrows, first = 0;
	int cols, height;

	erase_view(st);
	st->stale = 0;
	for (size_t i = 0; i < st->np; i++)
		if (!st->p[i].done)
			mlb_buf_add(&all, mlb_buf_str(&st->p[i].shown), st->p[i].shown.len);
	if (all.len == 0)
		return;
	mlb_term_size(STDOUT_FILENO, &cols, &height);
	/* One column and one row spare: no terminal wraps or scrolls behind our count. */
	nrows = wrap_rows(all.s, all.len, cols > 1 ? cols - 1 : 1, &rows_out, &rows);
	if (height > 1 && nrows > (size_t)(height - 1))
		first = nrows - (size_t)(height - 1);
	fwrite(rows_out.s + rows[first], 1, rows_out.len - rows[first], stdout);
	fflush(stdout);
	st->drawn = (int)(nrows - first);
	free(rows);
	mlb_buf_free(&all);
	mlb_buf_free(&rows_out);
}

/* Compare every pair whose text changed since the last time: live events, or the live view. */
static void live(struct stream *st)
{
	const struct mlb_compare_opts *o = st->o;
	int redraw = st->stale;
	int64_t took;

	st->last_live = mlb_mono_ms();
	for (size_t i = 0; i < st->np; i++) {
		struct pair *p = &st->p[i];
		struct mlb_answer a, b;
		struct mlb_diff d;

		if (!changed(st, p))
			continue;
		p->va = st->t[p->a].version;
		p->vb = st->t[p->b].version;
		a = answer(&st->t[p->a]);
		b = answer(&st->t[p->b]);
		if (o->json) {
			if (write_diff(o, &a, &b, 1) < 0)
				st->oom = 1;
		} else if (o->redraw) {
			if (mlb_compare_diff(a.text, a.len, b.text, b.len, o->unit, &d) < 0) {
				st->oom = 1;
				continue;
			}
			mlb_buf_reset(&p->shown);
			if (mlb_compare_text(&p->shown, &a, &b, &d, o, "streaming") < 0)
				st->oom = 1;
			mlb_diff_free(&d);
			redraw = 1;
		}
	}
	if (redraw && o->redraw)
		draw_view(st);
	mlb_event_flush();
	/* Long answers take long to compare: keep that to a third of the time at most. */
	took = mlb_mono_ms() - st->last_live;
	st->interval = took * 3 > LIVE_INTERVAL_MS ? took * 3 : LIVE_INTERVAL_MS;
}

/* Milliseconds until live() is due, or -1 when nothing waits to be shown. */
static int live_timeout(const struct stream *st)
{
	int64_t left;
	int pending = st->stale && st->o->redraw;

	for (size_t i = 0; i < st->np && !pending; i++)
		pending = changed(st, &st->p[i]);
	if (!pending)
		return -1;
	left = st->last_live + st->interval - mlb_mono_ms();
	return left < 0 ? 0 : (int)left;
}

/* Write the final diff of every pair whose answers are both complete now. */
static void finish_pairs(struct stream *st)
{
	for (size_t i = 0; i < st->np; i++) {
		struct pair *p = &st->p[i];
		struct mlb_answer a, b;

		if (p->done || !st->t[p->a].final || !st->t[p->b].final)
			continue;
		p->done = 1;
		a = answer(&st->t[p->a]);
		b = answer(&st->t[p->b]);
		if (st->o->redraw)
			erase_view(st);
		if (write_diff(st->o, &a, &b, 0) < 0)
			st->oom = 1;
		else
			st->diffs++;
		mlb_buf_free(&p->shown);
	}
}

/* A final event that cannot be compared: report it like the reader reports a bad line. */
static void bad_final(struct stream *st, const struct mlb_event_in *ev, const char *what)
{
	st->bad++;
	mlb_event_bad_line(ev->lineno, what);
}

static void on_final(struct stream *st, const struct mlb_event_in *ev)
{
	json_object *content;
	struct track *t;
	size_t k;

	if (!json_object_object_get_ex(ev->obj, "content", &content) ||
	    !json_object_is_type(content, json_type_string)) {
		bad_final(st, ev, "final event has no \"content\" string");
		return;
	}
	st->finals++;
	k = open_track(st, ev->obj);
	if (k == NONE) {
		if (!wanted(st)) {
			if (st->o->pairs == MLB_COMPARE_ALL)
				st->uncompared++;
			return;	/* nothing left to pair it with: do not keep it */
		}
		k = add_track(st, ev->obj);
	}
	t = &st->t[k];
	mlb_buf_free(&t->text);
	json_object_put(t->content);
	t->content = json_object_get(content);
	t->version++;
	t->final = 1;
	finish_pairs(st);
}

static void on_token(struct stream *st, const struct mlb_event_in *ev)
{
	json_object *text;
	size_t k;

	if (!json_object_object_get_ex(ev->obj, "text", &text) || !json_object_is_type(text, json_type_string))
		return;
	if (!mlb_json_str(ev->obj, "pane") && !mlb_json_str(ev->obj, "model"))
		return;	/* no way to tell whose it is */
	k = open_track(st, ev->obj);
	if (k == NONE) {
		if (!wanted(st))
			return;
		k = add_track(st, ev->obj);
	}
	mlb_buf_add(&st->t[k].text, json_object_get_string(text), (size_t)json_object_get_string_len(text));
	st->t[k].version++;
}

/* Wait for input while live comparisons fall due; 1 when input is ready, 0 at a live tick. */
static int wait_input(struct stream *st)
{
	if (mlb_reader_wait(st->r, live_timeout(st)))
		return 1;
	live(st);
	return 0;
}

static void stream_free(struct stream *st)
{
	for (size_t i = 0; i < st->nt; i++) {
		struct track *t = &st->t[i];

		free(t->session);
		free(t->pane);
		free(t->model);
		free(t->run);
		free(t->label);
		mlb_buf_free(&t->text);
		json_object_put(t->content);
	}
	for (size_t i = 0; i < st->np; i++)
		mlb_buf_free(&st->p[i].shown);
	free(st->t);
	free(st->p);
	mlb_reader_free(st->r);
}

/* Whether output has failed (a closed pipe): then reading on is pointless. */
static int output_gone(const struct stream *st)
{
	return st->o->json ? mlb_event_failed() : ferror(stdout);
}

/* Only these are read; every other event is checked and passed through as it is. */
static const char *const finals_only[] = { "final", NULL };
static const char *const with_tokens[] = { "final", "token", NULL };

int mlb_compare_stream(const struct mlb_compare_opts *o, int fd)
{
	struct stream st = { .o = o, .ref = NONE };
	struct mlb_event_in ev;
	FILE *devnull = NULL;
	int rc, status = MLB_EXIT_OK;

	/* Text is for a person: events (the reader's parse errors) go nowhere; stderr has them. */
	if (!o->json) {
		devnull = fopen("/dev/null", "w");
		if (!devnull) {
			mlb_error("cannot open /dev/null: %s", strerror(errno));
			return MLB_EXIT_FAIL;
		}
		mlb_event_output(devnull);
	}
	st.r = mlb_reader_new(fd, NULL);
	mlb_reader_want(st.r, o->follow ? with_tokens : finals_only);
	st.last_live = mlb_mono_ms();
	st.interval = LIVE_INTERVAL_MS;
	for (;;) {
		if (o->follow && !wait_input(&st))
			continue;
		rc = mlb_reader_next(st.r, &ev);
		if (rc <= 0)
			break;
		if (o->json)
			mlb_reader_pass(st.r, &ev);
		if (!strcmp(ev.type, "final"))
			on_final(&st, &ev);
		else if (o->follow && !strcmp(ev.type, "token"))
			on_token(&st, &ev);
		if (o->follow && mlb_mono_ms() - st.last_live >= st.interval)
			live(&st);
		if (output_gone(&st))
			break;
	}
	if (o->redraw)
		erase_view(&st);
	if (output_gone(&st)) {
		status = MLB_EXIT_OK;	/* the reader went away; mlb_cli_finish() judges that */
	} else if (rc < 0) {
		mlb_error("cannot read input: %s", strerror(errno));
		status = MLB_EXIT_FAIL;
	} else {
		if (mlb_reader_errors(st.r) || st.bad || st.oom)
			status = MLB_EXIT_FAIL;
		if (st.finals < 2) {
			mlb_error("need two final events to compare, got %ld", st.finals);
			status = MLB_EXIT_FAIL;
		} else if (o->pairs == MLB_COMPARE_AGAINST && (st.ref == NONE || !st.t[st.ref].final)) {
			mlb_error("no final event from '%s' to compare against", o->against);
			status = MLB_EXIT_FAIL;
		} else if (st.diffs == 0 && !st.oom) {
			mlb_error("the first two panes to stream did not both end with a final event");
			status = MLB_EXIT_FAIL;
		}
		if (st.uncompared)
			mlb_warn("--all compares the first %d answers (%d pairs); %ld more passed through uncompared: "
				 "compare them with --against <pane>, or in groups of at most %d", MLB_COMPARE_ALL_MAX,
				 MLB_COMPARE_ALL_MAX * (MLB_COMPARE_ALL_MAX - 1) / 2, st.uncompared, MLB_COMPARE_ALL_MAX);
	}
	mlb_event_flush();
	stream_free(&st);
	if (devnull) {
		mlb_event_output(NULL);
		fclose(devnull);
	}
	return status;
}
