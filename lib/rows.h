/*
 * rows.h - datasets for `mlb-pipeline run --rows`: the variables of each run
 * of a template, read from a JSONL file (one object a line) or a CSV file
 * (a header row names the variables).
 *
 * Every record is a row, numbered from 1 in the order of the file, good or
 * bad, so that a row keeps its number (and its shard, I/N) whatever else
 * the file holds.  A bad row (not an object, bad UTF-8, a field too many)
 * is kept with the reason and the line it starts on, so that the run
 * reports it and goes on with the others.  Values become strings: numbers
 * and booleans as JSON writes them, null as "", arrays and objects as their
 * JSON text.
 */
#ifndef MLB_ROWS_H
#define MLB_ROWS_H

#include <stddef.h>
#include <json-c/json.h>

struct mlb_row {
	long index;		/* 1, 2, ... in the order of the file */
	long line;		/* the line it starts on */
	json_object *vars;	/* an object of strings, or NULL when bad */
	char *bad;		/* why the row cannot run, or NULL */
};

struct mlb_rows {
	char *label;		/* the file, or "stdin" */
	struct mlb_row *v;
	size_t n;
};

/* Read the rows of path ("-": stdin); NULL after a one-line error (unreadable, a bad CSV header). */
struct mlb_rows *mlb_rows_read(const char *path);
/* Parse rows from text; csv chooses the format; NULL after a one-line error. */
struct mlb_rows *mlb_rows_parse(const char *text, size_t len, int csv, const char *label);
void mlb_rows_free(struct mlb_rows *rows);

#endif
