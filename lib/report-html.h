/*
 * report-html.h - a report (report.h) as one HTML page for a person: the
 * matrix of rows and models with each check's verdict, the answers side by
 * side with their word-level differences from the first one marked, and
 * each model's cost and latency as bar charts.
 *
 * The page stands alone: its style is inline, it has no scripts and fetches
 * nothing, so that it can be kept as a CI artifact and opened anywhere.
 * Every text that came from a model is escaped.  Under 600 pixels its
 * columns stack, for a phone.
 */
#ifndef MLB_REPORT_HTML_H
#define MLB_REPORT_HTML_H

#include "report.h"

/* Write the page to path, atomically; -1 after a one-line error. */
int mlb_report_html(const struct mlb_report *r, const char *path);

#endif
