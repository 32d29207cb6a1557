/*
 * compare.h - what mlb-diff does: compare models' answers and show how
 * they differ.
 *
 * The answers come either from a session (the last assistant message of
 * two panes) or from the final events of a stream, which otherwise passes
 * through unchanged; with follow, each pane's text is also rebuilt from its
 * token events and compared again while it grows.  A comparison becomes a
 * diff event for a pipe, or a word diff (or a unified line diff) for a
 * person.  The diff itself is lib/diff; this module decides what is paired
 * with what, names the sides, and renders the result.
 *
 * Words and characters are compared the way git's word diff does it: lines
 * first, then only inside the runs of lines that differ, so that answers
 * of a megabyte compare in tens of milliseconds and a live comparison can
 * be redone twice a second.
 */
#ifndef MLB_COMPARE_H
#define MLB_COMPARE_H

#include <stddef.h>
#include <json-c/json.h>

#include "buf.h"
#include "diff.h"

/* --all compares this many answers at most: every pair of them is a diff (496 for 32), and
 * the work grows with the square of their number.  Later finals pass through uncompared,
 * and a warning at the end says how many. */
#define MLB_COMPARE_ALL_MAX 32

/* Which final events of a stream are compared. */
enum mlb_compare_pairs {
	MLB_COMPARE_FIRST,	/* the first two */
	MLB_COMPARE_ALL,	/* every pair, in order of arrival */
	MLB_COMPARE_AGAINST	/* each one against one pane's */
};

/* What to compare and how to show it; main() fills this from the flags. */
struct mlb_compare_opts {
	enum mlb_diff_unit unit;
	enum mlb_compare_pairs pairs;
	const char *against;	/* the pane (or model) for MLB_COMPARE_AGAINST */
	int follow;		/* compare again while tokens stream in */
	int unified;		/* text: a unified line diff instead of a word diff */
	int json;		/* write diff events (1) or text for a person (0) */
	int color;		/* text: ANSI colour */
	int redraw;		/* text with follow: redraw a live view in place (a terminal) */
};

/* One side of a comparison; NULL members are unknown. */
struct mlb_answer {
	const char *session, *pane, *model, *run;
	const char *label;	/* its name in the diff: the pane, else the model, else its ordinal */
	const char *text;	/* len bytes, not necessarily NUL-terminated */
	size_t len;
};

/* The name of a unit in events and flags: "words", "lines" or "chars". */
const char *mlb_compare_unit_name(enum mlb_diff_unit unit);

/* Like mlb_diff(), but words and chars are compared only inside the runs of lines that differ,
 * as git's word diff does: much faster on long texts, and minimal within each run. */
int mlb_compare_diff(const char *a, size_t alen, const char *b, size_t blen,
		     enum mlb_diff_unit unit, struct mlb_diff *out);

/* A diff event for d, the diff of a against b by unit (the caller writes it). */
json_object *mlb_compare_event(const struct mlb_answer *a, const struct mlb_answer *b,
			       enum mlb_diff_unit unit, const struct mlb_diff *d);

/* Append d as a word diff: coloured like git's --word-diff=color, else [-deleted-]{+inserted+}. */
void mlb_compare_words(struct mlb_buf *out, const struct mlb_diff *d, int color);

/* Append the line diff of a and b in unified format with 3 lines of context; -1 when out of memory. */
int mlb_compare_unified(struct mlb_buf *out, const struct mlb_answer *a, const struct mlb_answer *b, int color);

/* Append the text form of one comparison: a "diff <a> <b> (similarity 0.83)" line, then the body. */
int mlb_compare_text(struct mlb_buf *out, const struct mlb_answer *a, const struct mlb_answer *b,
		     const struct mlb_diff *d, const struct mlb_compare_opts *o, const char *note);

struct mlb_session;
/* The last answer of a pane (text and model are the caller's to free); -1 after a one-line error. */
int mlb_compare_load_answer(struct mlb_session *s, const char *pane, struct mlb_answer *ans);

/* --all or --against (o->pairs) over the last answers of a session's panes (summaries left out,
 * panes without an answer named and left out); an exit status. */
int mlb_compare_session_panes(const struct mlb_compare_opts *o, const char *session);

/* Compare the last answers of two panes of a session and write the result; an exit status. */
int mlb_compare_session(const struct mlb_compare_opts *o, const char *session,
			const char *pane_a, const char *pane_b);

/* Read events from fd, pass them through, compare the final events as o says; an exit status. */
int mlb_compare_stream(const struct mlb_compare_opts *o, int fd);

#endif
