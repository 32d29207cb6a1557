/*
 * report-internal.h - what report.c (the cases, JUnit) and report-html.c
 * (the page for a person) share: the cases of a report and the escaping of
 * text for XML and HTML.  Not for other modules: they use report.h.
 */
#ifndef MLB_REPORT_INTERNAL_H
#define MLB_REPORT_INTERNAL_H

#include "buf.h"
#include "report.h"

struct mlb_report_failure {
	char *check, *why;
};

struct mlb_report_case {
	long row;
	char *step, *pane, *model;
	double seconds;
	char *error_code, *error;
	struct mlb_report_failure *fails;
	size_t nfails, nchecks;
	char *text;		/* the answer, kept only when the report keeps answers; text_len bytes */
	size_t text_len;
	double cost_usd;
	int priced;		/* cost_usd is known */
};

struct mlb_report {
	char *name;
	struct mlb_report_case *v;
	size_t n;
	int keep_answers;
};

/* s as XML or HTML text or attribute: the five entities; characters XML 1.0 cannot hold, and
 * bytes that are not UTF-8, as '?'.  newline: what a '\n' becomes ("&#10;" in attributes). */
void mlb_report_escape(struct mlb_buf *b, const char *s, size_t len, const char *newline);
/* The cases in order of row, step and pane (caller frees the array, not the cases). */
const struct mlb_report_case **mlb_report_sorted(const struct mlb_report *r);

#endif
