/*
 * report.h - the results of a pipeline run as test cases, written as JUnit
 * XML (--junit) for the CI systems that read it.
 *
 * A test case is one answer: a row (0 without a dataset), a step and a
 * model.  Its failures are the checks (expect.h) that failed; a model that
 * gave no answer is an error.  Cases and checks are kept small (names and
 * one-line reasons, no answers), so that a run of many rows stays small.
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
/* The case's model gave no answer: code and message say why. */
void mlb_report_error(struct mlb_report *r, size_t c, const char *code, const char *message);
/* One check of the case. */
void mlb_report_check(struct mlb_report *r, size_t c, const char *check, int pass, const char *why);
/* Add the cases of a run's events (a --log file, or several shards' logs one after another): a case
 * for each final and each model's error event, the assert events as its checks.  Judges' events
 * (those with "judged") are no cases.  label names f in messages; the number of malformed lines. */
long mlb_report_read(struct mlb_report *r, FILE *f, const char *label);
/* Write the report as JUnit XML to path, atomically, its cases by row and pane; -1 after a one-line error. */
int mlb_report_junit(const struct mlb_report *r, const char *path);
void mlb_report_free(struct mlb_report *r);

#endif
