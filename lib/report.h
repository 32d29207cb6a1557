/*
 * report.h - the results of a pipeline run as test cases, written as JUnit
 * XML (--junit) for the CI systems that read it.
 *
 * A test case is one answer: a row (0 without a dataset), a step and a
 * model.  Its failures are the checks (expect.h) that failed; a model that
 * gave no answer is an error.  Cases and checks are kept small (names and
 * one-line reasons, no answers), so that a run of many rows stays small;
 * a report for the HTML page (report-html.h) keeps the answers as well.
 */
#ifndef MLB_REPORT_H
#define MLB_REPORT_H

#include <stddef.h>
#include <stdio.h>

struct mlb_report;

struct mlb_report *mlb_report_new(const char *name);
/* Add a test case; its index, for the calls below. */
size_t mlb_report_case(struct mlb_report *r, long row, const char *step, const char *pane, const char *model,
		       double seconds);
/* Keep the answers given to mlb_report_answer (the HTML page shows them); call before adding cases. */
void mlb_report_keep_answers(struct mlb_report *r);
/* The case's answer (kept only with mlb_report_keep_answers) and its cost, when priced. */
void mlb_report_answer(struct mlb_report *r, size_t c, const char *text, size_t len, int priced, double cost_usd);
/* The case's model gave no answer: code and message say why. */
void mlb_report_error(struct mlb_report *r, size_t c, const char *code, const char *message);
/* One check of the case. */
void mlb_report_check(struct mlb_report *r, size_t c, const char *check, int pass, const char *why);
/* Add the cases of a run's events (a --log file, or several shards' logs one after another): a case
 * for each final and each model's error event, the assert events as its checks.  Judges' events
 * (those with "judged") are no cases.  label names f in messages; the number of malformed lines. */
long mlb_report_read(struct mlb_report *r, FILE *f, const char *label);
struct mlb_session;
/* Add a case for each answer in the session's panes (summaries left out): its step "turn N", N its
 * place among the pane's answers, its model, latency and cost from the message's headers; -1 after
 * a one-line error. */
int mlb_report_read_session(struct mlb_report *r, struct mlb_session *s);
/* Write the report as JUnit XML to path, atomically, its cases by row and pane; -1 after a one-line error. */
int mlb_report_junit(const struct mlb_report *r, const char *path);
void mlb_report_free(struct mlb_report *r);

#endif
