#include "report-internal.h"
#include "buf.h"
#include "config.h"
#include "event.h"
#include "file.h"
#include "msg.h"
#include "msgfile.h"
#include "store.h"
#include "utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mlb_report *mlb_report_new(const char *name)
{
	struct mlb_report *r = mlb_xcalloc(1, sizeof(*r));

	r->name = mlb_xstrdup(name);
	return r;
}

size_t mlb_report_case(struct mlb_report *r, long row, const char *step, const char *pane, const char *model,
		       double seconds)
{
	struct mlb_report_case *c;

	r->v = mlb_xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	c = &r->v[r->n];
	memset(c, 0, sizeof(*c));
	c->row = row;
	c->step = mlb_xstrdup(step);
	c->pane = mlb_xstrdup(pane);
	c->model = mlb_xstrdup(model);
	c->seconds = seconds;
	return r->n++;
}

void mlb_report_keep_answers(struct mlb_report *r)
{
	r->keep_answers = 1;
}

void mlb_report_answer(struct mlb_report *r, size_t i, const char *text, size_t len, int priced, double cost_usd)
{
	struct mlb_report_case *c = &r->v[i];

	c->priced = priced;
	c->cost_usd = priced ? cost_usd : 0;
	if (!r->keep_answers || !text)
		return;
	free(c->text);
	c->text = mlb_xmalloc(len + 1);
	memcpy(c->text, text, len);
	c->text[len] = '\0';
	c->text_len = len;
}

void mlb_report_error(struct mlb_report *r, size_t i, const char *code, const char *message)
{
	struct mlb_report_case *c = &r->v[i];

	free(c->error_code);
	free(c->error);
	c->error_code = mlb_xstrdup(code);
	c->error = mlb_xstrdup(message);
}

void mlb_report_check(struct mlb_report *r, size_t i, const char *check, int pass, const char *why)
{
	struct mlb_report_case *c = &r->v[i];

	c->nchecks++;
	if (pass)
		return;
	c->fails = mlb_xrealloc(c->fails, (c->nfails + 1) * sizeof(*c->fails));
	c->fails[c->nfails].check = mlb_xstrdup(check);
	c->fails[c->nfails].why = mlb_xstrdup(why);
	c->nfails++;
}

void mlb_report_escape(struct mlb_buf *b, const char *s, size_t len, const char *newline)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		size_t n;

		switch (*p) {
		case '&': mlb_buf_adds(b, "&amp;"); p++; continue;
		case '<': mlb_buf_adds(b, "&lt;"); p++; continue;
		case '>': mlb_buf_adds(b, "&gt;"); p++; continue;
		case '"': mlb_buf_adds(b, "&quot;"); p++; continue;
		case '\'': mlb_buf_adds(b, "&#39;"); p++; continue;
		case '\n': mlb_buf_adds(b, newline); p++; continue;
		case '\t': mlb_buf_adds(b, "&#9;"); p++; continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			mlb_buf_addc(b, '?');
			p++;
			continue;
		}
		n = mlb_utf8_seq(p, end);
		/* U+FFFE and U+FFFF are not XML characters */
		if (!n || (n == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe)) {
			mlb_buf_addc(b, '?');
			p += n ? n : 1;
			continue;
		}
		mlb_buf_add(b, p, n);
		p += n;
	}
}

static void xml(struct mlb_buf *b, const char *s)
{
	mlb_report_escape(b, s, strlen(s), "&#10;");
}

/* The case of a pane, made when there is none yet. */
static size_t case_of(struct mlb_report *r, json_object *ev)
{
	const char *pane = mlb_json_str(ev, "pane");

	for (size_t i = r->n; i-- > 0;)
		if (!strcmp(r->v[i].pane, pane))
			return i;
	return mlb_report_case(r, (long)mlb_json_int(ev, "row", 0), mlb_json_str(ev, "step") ? mlb_json_str(ev, "step") : "-",
			       pane, mlb_json_str(ev, "model") ? mlb_json_str(ev, "model") : "?", 0);
}

long mlb_report_read(struct mlb_report *r, FILE *f, const char *label)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0, bad = 0;

	while ((len = getline(&line, &cap, f)) > 0) {
		json_object *ev = json_tokener_parse(line);
		const char *type = mlb_json_str(ev, "type");

		lineno++;
		if (!type) {
			if (strspn(line, " \t\r\n") < (size_t)len && bad++ < 10)
				mlb_warn("%s: line %ld: not an event; skipped", label, lineno);
			json_object_put(ev);
			continue;
		}
		if (!strcmp(type, "status") && mlb_json_str(ev, "template") && !strcmp(r->name, "mlb")) {
			free(r->name);
			r->name = mlb_xstrdup(mlb_json_str(ev, "template"));
		}
		if (!mlb_json_str(ev, "pane") || mlb_json_has(ev, "judged") || !mlb_json_str(ev, "step")) {
			json_object_put(ev);
			continue;
		}
		if (!strcmp(type, "final")) {
			size_t c = case_of(r, ev);
			const char *text = mlb_json_str(ev, "content");

			if (text)
				mlb_report_answer(r, c, text, strlen(text), r->v[c].priced, r->v[c].cost_usd);
		} else if (!strcmp(type, "meter")) {
			size_t c = case_of(r, ev);	/* it may move r->v */
			json_object *cost;

			r->v[c].seconds = mlb_json_int(ev, "latency_ms", 0) / 1000.0;
			cost = json_object_object_get(ev, "cost_usd");
			if (json_object_is_type(cost, json_type_double) || json_object_is_type(cost, json_type_int)) {
				r->v[c].priced = 1;
				r->v[c].cost_usd = json_object_get_double(cost);
			}
		} else if (!strcmp(type, "error") && mlb_json_str(ev, "code")) {
			mlb_report_error(r, case_of(r, ev), mlb_json_str(ev, "code"), mlb_json_str(ev, "message"));
		} else if (!strcmp(type, "assert")) {
			mlb_report_check(r, case_of(r, ev), mlb_json_str(ev, "check"), mlb_json_bool(ev, "pass"),
					 mlb_json_str(ev, "why") ? mlb_json_str(ev, "why") : "");
		}
		json_object_put(ev);
	}
	free(line);
	return bad;
}

int mlb_report_read_session(struct mlb_report *r, struct mlb_session *s)
{
	char **panes;
	size_t np;

	if (mlb_session_panes(s, &panes, &np) < 0)
		return -1;
	for (size_t i = 0; i < np; i++) {
		struct mlb_msgfile *msgs;
		size_t n, turn = 0;

		if (!strncmp(panes[i], "summary-", 8))
			continue;	/* a summary is not one of the answers */
		if (mlb_session_messages(s, panes[i], &msgs, &n) < 0) {
			mlb_strv_free(panes);
			return -1;
		}
		for (size_t k = 0; k < n; k++) {
			const struct mlb_msgfile *m = &msgs[k];
			const char *role = mlb_msgfile_get(m, "Role"), *model = mlb_msgfile_get(m, "Model");
			const char *latency = mlb_msgfile_get(m, "Latency-Ms"), *cost = mlb_msgfile_get(m, "Cost-Usd");
			char step[32];
			size_t c;

			if (!role || strcasecmp(role, "assistant"))
				continue;
			snprintf(step, sizeof(step), "turn %zu", ++turn);
			c = mlb_report_case(r, 0, step, panes[i], model ? model : panes[i],
					    latency ? strtod(latency, NULL) / 1000.0 : 0);
			mlb_report_answer(r, c, m->content, m->content_len, cost != NULL, cost ? strtod(cost, NULL) : 0);
		}
		mlb_msgfiles_free(msgs, n);
	}
	mlb_strv_free(panes);
	return 0;
}

static int case_cmp(const void *a, const void *b)
{
	const struct mlb_report_case *x = *(const struct mlb_report_case *const *)a, *y = *(const struct mlb_report_case *const *)b;

	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	return strcmp(x->pane, y->pane);
}

const struct mlb_report_case **mlb_report_sorted(const struct mlb_report *r)
{
	const struct mlb_report_case **order = mlb_xcalloc(r->n + 1, sizeof(*order));

	for (size_t i = 0; i < r->n; i++)
		order[i] = &r->v[i];
	qsort(order, r->n, sizeof(*order), case_cmp);
	return order;
}

int mlb_report_junit(const struct mlb_report *r, const char *path)
{
	struct mlb_buf b = MLB_BUF_INIT;
	size_t failures = 0, errors = 0;
	double seconds = 0;
	int ret = 0;

	for (size_t i = 0; i < r->n; i++) {
		failures += r->v[i].nfails ? 1 : 0;
		errors += r->v[i].error ? 1 : 0;
		seconds += r->v[i].seconds;
	}
	mlb_buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"");
	xml(&b, r->name);
	mlb_buf_addf(&b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", r->n, failures, errors, seconds);
	mlb_buf_adds(&b, "  <testsuite name=\"");
	xml(&b, r->name);
	mlb_buf_addf(&b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"%.3f\">\n",
		     r->n, failures, errors, seconds);
	const struct mlb_report_case **order = mlb_report_sorted(r);

	for (size_t i = 0; i < r->n; i++) {
		const struct mlb_report_case *c = order[i];
		char *name = c->row ? mlb_xasprintf("row %ld, %s, %s (%s)", c->row, c->step, c->model, c->pane) :
				      mlb_xasprintf("%s, %s (%s)", c->step, c->model, c->pane);

		mlb_buf_adds(&b, "    <testcase classname=\"");
		xml(&b, r->name);
		mlb_buf_addc(&b, '.');
		xml(&b, c->step);
		mlb_buf_adds(&b, "\" name=\"");
		xml(&b, name);
		mlb_buf_addf(&b, "\" time=\"%.3f\"", c->seconds);
		free(name);
		if (!c->nfails && !c->error) {
			mlb_buf_adds(&b, "/>\n");
			continue;
		}
		mlb_buf_adds(&b, ">\n");
		if (c->error) {
			mlb_buf_adds(&b, "      <error type=\"");
			xml(&b, c->error_code);
			mlb_buf_adds(&b, "\" message=\"");
			xml(&b, c->error);
			mlb_buf_adds(&b, "\"/>\n");
		}
		/* JUnit readers show one failure per case: the first, with every failed check in its text */
		if (c->nfails) {
			mlb_buf_addf(&b, "      <failure type=\"%s\" message=\"", c->fails[0].check);
			mlb_buf_addf(&b, "%zu of %zu checks failed: ", c->nfails, c->nchecks);
			xml(&b, c->fails[0].check);
			mlb_buf_adds(&b, ": ");
			xml(&b, c->fails[0].why);
			mlb_buf_adds(&b, "\">");
			for (size_t k = 0; k < c->nfails; k++) {
				xml(&b, c->fails[k].check);
				mlb_buf_adds(&b, ": ");
				xml(&b, c->fails[k].why);
				mlb_buf_adds(&b, "&#10;");
			}
			mlb_buf_adds(&b, "</failure>\n");
		}
		mlb_buf_adds(&b, "    </testcase>\n");
	}
	free(order);
	mlb_buf_adds(&b, "  </testsuite>\n</testsuites>\n");
	if (mlb_file_replace(path, b.s, b.len, 0644, 0, NULL) < 0)
		ret = mlb_error("cannot write the JUnit report '%s': %s", path, strerror(errno));
	mlb_buf_free(&b);
	return ret;
}

void mlb_report_free(struct mlb_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct mlb_report_case *c = &r->v[i];

		free(c->step);
		free(c->pane);
		free(c->model);
		free(c->error_code);
		free(c->error);
		free(c->text);
		for (size_t k = 0; k < c->nfails; k++) {
			free(c->fails[k].check);
			free(c->fails[k].why);
		}
		free(c->fails);
	}
	free(r->v);
	free(r->name);
	free(r);
}
