#include "rows.h"
#include "buf.h"
#include "input.h"
#include "msg.h"
#include "template.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct mlb_row *add_row(struct mlb_rows *rows, long line)
{
	struct mlb_row *r;

	rows->v = mlb_xrealloc(rows->v, (rows->n + 1) * sizeof(*rows->v));
	r = &rows->v[rows->n];
	memset(r, 0, sizeof(*r));
	r->index = (long)++rows->n;
	r->line = line;
	return r;
}

/* A row's variable as a string: what a template puts in a prompt. */
static json_object *as_string(json_object *v)
{
	if (!v)
		return json_object_new_string("");
	if (json_object_is_type(v, json_type_string))
		return json_object_get(v);
	if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return json_object_new_string(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
									       JSON_C_TO_STRING_NOSLASHESCAPE));
	return json_object_new_string(json_object_get_string(v));
}

/* Why a row's keys cannot be variables, or NULL. */
static char *bad_names(json_object *o)
{
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (!mlb_template_name_valid(key))
			return mlb_xasprintf("'%.60s' cannot be a variable name; use 1 to %d letters, digits, '_' or '-'",
					     key, MLB_TEMPLATE_ID_MAX);
	}
	return NULL;
}

static void jsonl_row(struct mlb_rows *rows, const char *s, size_t len, long line)
{
	struct mlb_row *r = add_row(rows, line);
	json_tokener *tok;
	json_object *o;
	size_t bad = mlb_utf8_check(s, len);

	if (bad < len) {
		r->bad = mlb_xasprintf("not UTF-8 (byte %zu); save the file as UTF-8", bad + 1);
		return;
	}
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len) {
		size_t end = json_tokener_get_parse_end(tok);

		if (o && end < len && strspn(s + end, " \t\r") == len - end) {
			/* trailing blanks are fine */
		} else {
			r->bad = mlb_xasprintf("not JSON: %s; write one object a line, e.g. {\"topic\": \"tides\"}",
					       o ? "more after the object" :
					       json_tokener_error_desc(json_tokener_get_error(tok)));
			json_object_put(o);
			json_tokener_free(tok);
			return;
		}
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		r->bad = mlb_xasprintf("is a JSON %s, not an object; write one object of variables a line",
				       json_type_to_name(json_object_get_type(o)));
		json_object_put(o);
		return;
	}
	if ((r->bad = bad_names(o))) {
		json_object_put(o);
		return;
	}
	r->vars = json_object_new_object();
	json_object_object_foreach(o, key, val)
		json_object_object_add(r->vars, key, as_string(val));
	json_object_put(o);
}

static void parse_jsonl(struct mlb_rows *rows, const char *text, size_t len)
{
	long line = 0;

	for (size_t at = 0; at < len;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - text) : len;

		line++;
		if (strspn(text + at, " \t\r") < end - at)
			jsonl_row(rows, text + at, end - at, line);
		at = end + 1;
	}
}

/* ---- CSV (RFC 4180): fields split by ',', quoted with '"', "" a quote, newlines inside quotes ---- */

struct record {
	char **f;
	size_t n;
	long line;		/* where it starts */
	char *bad;
};

static void record_free(struct record *rec)
{
	for (size_t i = 0; i < rec->n; i++)
		free(rec->f[i]);
	free(rec->f);
	free(rec->bad);
	memset(rec, 0, sizeof(*rec));
}

/* Read one record at *at; 0 at the end of the text.  *line counts the lines read. */
static int csv_record(const char *text, size_t len, size_t *at, long *line, struct record *rec)
{
	struct mlb_buf field = MLB_BUF_INIT;
	size_t i = *at;
	int quoted = 0, was_quoted = 0, done = 0;

	memset(rec, 0, sizeof(*rec));
	if (i >= len)
		return 0;
	rec->line = ++*line;
	while (!done) {
		char c = i < len ? text[i] : '\n';

		if (i >= len && quoted) {
			rec->bad = mlb_xstrdup("a quoted field is not closed; end it with '\"'");
			quoted = 0;
		}
		if (quoted) {
			if (c == '"' && i + 1 < len && text[i + 1] == '"') {
				mlb_buf_addc(&field, '"');
				i += 2;
				continue;
			}
			if (c == '"')
				quoted = 0;
			else
				mlb_buf_addc(&field, c);
			if (c == '\n')
				++*line;
			i++;
			continue;
		}
		if (c == '"' && !field.len && !was_quoted) {
			quoted = was_quoted = 1;
			i++;
			continue;
		}
		if (c == ',' || c == '\n' || (c == '\r' && (i + 1 >= len || text[i + 1] == '\n'))) {
			rec->f = mlb_xrealloc(rec->f, (rec->n + 1) * sizeof(*rec->f));
			rec->f[rec->n++] = mlb_buf_detach(&field);
			was_quoted = 0;
			if (c == '\r')
				i++;
			done = c != ',';
			i++;
			continue;
		}
		if (was_quoted && !rec->bad)
			rec->bad = mlb_xstrdup("text after a closing quote; quote the whole field and write a quote inside it as \"\"");
		mlb_buf_addc(&field, c);
		i++;
	}
	mlb_buf_free(&field);
	*at = i;
	return 1;
}

static int parse_csv(struct mlb_rows *rows, const char *text, size_t len)
{
	struct record head, rec;
	size_t at = 0;
	long line = 0;

	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		at = 3;	/* a byte order mark, as spreadsheets write */
	if (!csv_record(text, len, &at, &line, &head))
		return mlb_error("%s: no header row; the first line of a CSV file names the variables", rows->label);
	for (size_t i = 0; i < head.n; i++) {
		if (head.bad || !mlb_template_name_valid(head.f[i])) {
			if (head.bad)
				mlb_error("%s: line 1: the header: %s", rows->label, head.bad);
			else
				mlb_error("%s: line 1: column %zu, '%.60s', cannot be a variable name; use 1 to %d letters, digits, '_' or '-'",
					  rows->label, i + 1, head.f[i], MLB_TEMPLATE_ID_MAX);
			record_free(&head);
			return -1;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(head.f[i], head.f[k])) {
				mlb_error("%s: line 1: columns %zu and %zu are both '%s'; name each column once",
					  rows->label, k + 1, i + 1, head.f[i]);
				record_free(&head);
				return -1;
			}
	}
	while (csv_record(text, len, &at, &line, &rec)) {
		struct mlb_row *r;

		if (rec.n == 1 && !*rec.f[0] && !rec.bad) {
			record_free(&rec);	/* a blank line */
			continue;
		}
		r = add_row(rows, rec.line);
		if (rec.bad) {
			r->bad = rec.bad;
			rec.bad = NULL;
		} else if (rec.n != head.n) {
			r->bad = mlb_xasprintf("has %zu field%s where the header has %zu; quote fields that hold a ','",
					       rec.n, rec.n == 1 ? "" : "s", head.n);
		} else {
			for (size_t i = 0; i < rec.n && !r->bad; i++) {
				size_t b = mlb_utf8_check(rec.f[i], strlen(rec.f[i]));

				if (rec.f[i][b])
					r->bad = mlb_xasprintf("column '%s' is not UTF-8 (byte %zu); save the file as UTF-8",
							       head.f[i], b + 1);
			}
			if (!r->bad) {
				r->vars = json_object_new_object();
				for (size_t i = 0; i < rec.n; i++)
					json_object_object_add(r->vars, head.f[i], json_object_new_string(rec.f[i]));
			}
		}
		record_free(&rec);
	}
	record_free(&head);
	return 0;
}

struct mlb_rows *mlb_rows_parse(const char *text, size_t len, int csv, const char *label)
{
	struct mlb_rows *rows = mlb_xcalloc(1, sizeof(*rows));

	rows->label = mlb_xstrdup(label);
	if (memchr(text, '\0', len)) {
		mlb_error("%s: holds a NUL byte; rows are text, JSONL or CSV", label);
		mlb_rows_free(rows);
		return NULL;
	}
	if (csv) {
		if (parse_csv(rows, text, len) < 0) {
			mlb_rows_free(rows);
			return NULL;
		}
	} else {
		parse_jsonl(rows, text, len);
	}
	return rows;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && !strcasecmp(s + ls - lx, suffix);
}

struct mlb_rows *mlb_rows_read(const char *path)
{
	int is_stdin = !strcmp(path, "-");
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	struct mlb_rows *rows;
	size_t len, first;
	char *text;
	int csv;

	if (fd < 0) {
		mlb_error("cannot read the rows file '%s': %s", path, strerror(errno));
		return NULL;
	}
	text = mlb_read_all(fd, &len);
	if (!text) {
		mlb_error("cannot read the rows %s'%s': %s", is_stdin ? "from stdin " : "file ", path, strerror(errno));
		if (!is_stdin)
			close(fd);
		return NULL;
	}
	if (!is_stdin)
		close(fd);
	/* The name says the format; without one (stdin), a first '{' says JSONL. */
	first = strspn(text, " \t\r\n");
	csv = ends_with(path, ".csv") || (!ends_with(path, ".jsonl") && !ends_with(path, ".ndjson") &&
					  !ends_with(path, ".json") && first < len && text[first] != '{');
	rows = mlb_rows_parse(text, len, csv, is_stdin ? "stdin" : path);
	free(text);
	return rows;
}

void mlb_rows_free(struct mlb_rows *rows)
{
	if (!rows)
		return;
	for (size_t i = 0; i < rows->n; i++) {
		json_object_put(rows->v[i].vars);
		free(rows->v[i].bad);
	}
	free(rows->v);
	free(rows->label);
	free(rows);
}
