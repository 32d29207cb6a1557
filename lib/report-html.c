#include "report-html.h"
#include "compare.h"
#include "file.h"
#include "msg.h"
#include "report-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char style[] =
	"body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:80rem;color:#1b1b1b;background:#fff}\n"
	"h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}h3{font-size:1rem}\n"
	".scroll{overflow-x:auto}\n"
	"table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}\n"
	".pass{background:#dff3e0}.fail{background:#fbdcdc}.error{background:#fde9c8}.none{color:#666}\n"
	".charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{flex:1 1 22rem;min-width:0}\n"
	"svg{width:100%;height:auto}svg text{font:14px system-ui,sans-serif}\n"
	".answers{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:.75rem}\n"
	".answer{border:1px solid #ccc;border-radius:4px;padding:.5rem;min-width:0}\n"
	".answer h4{margin:0 0 .3rem;font-size:.95rem}\n"
	"pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;font:13px/1.4 ui-monospace,monospace}\n"
	"del{background:#fbdcdc;color:#8a1010}ins{background:#dff3e0;color:#0d5a16;text-decoration:none}\n"
	"@media (max-width:600px){body{padding:.5rem}.answers{grid-template-columns:1fr}.chart{flex-basis:100%}}\n";

static void esc(struct mlb_buf *b, const char *s)
{
	mlb_report_escape(b, s, strlen(s), "\n");
}

/* The verdict of a case: its class and its words. */
static const char *verdict(const struct mlb_report_case *c)
{
	if (c->error)
		return "error";
	if (!c->nchecks)
		return "none";
	return c->nfails ? "fail" : "pass";
}

static void verdict_words(struct mlb_buf *b, const struct mlb_report_case *c)
{
	if (c->error) {
		mlb_buf_adds(b, "error: ");
		esc(b, c->error_code);
	} else if (!c->nchecks) {
		mlb_buf_adds(b, "answered, no checks");
	} else if (c->nfails) {
		mlb_buf_addf(b, "fail (%zu of %zu checks)", c->nfails, c->nchecks);
	} else {
		mlb_buf_addf(b, "pass (%zu checks)", c->nchecks);
	}
}

/* A row of the matrix: a row of the dataset (0 without one) and a step. */
struct group {
	long row;
	const char *step;
	size_t first, n;	/* its cases in the sorted order */
};

static void group_name(struct mlb_buf *b, const struct group *g)
{
	if (g->row)
		mlb_buf_addf(b, "row %ld, ", g->row);
	esc(b, g->step);
}

static int by_group(const void *x, const void *y)
{
	const struct mlb_report_case *a = *(const struct mlb_report_case *const *)x;
	const struct mlb_report_case *b = *(const struct mlb_report_case *const *)y;
	int c;

	if (a->row != b->row)
		return a->row < b->row ? -1 : 1;
	if ((c = strcmp(a->step, b->step)))
		return c;
	return strcmp(a->pane, b->pane);
}

/* The models in order of first appearance. */
static size_t models_of(const struct mlb_report_case **cases, size_t n, const char ***out)
{
	const char **m = mlb_xcalloc(n + 1, sizeof(*m));
	size_t nm = 0;

	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		while (k < nm && strcmp(m[k], cases[i]->model))
			k++;
		if (k == nm)
			m[nm++] = cases[i]->model;
	}
	*out = m;
	return nm;
}

/* A horizontal bar chart of one value a model; values below 0 are unknown. */
static void bar_chart(struct mlb_buf *b, const char *title, const char *const *names, const double *values,
		      size_t n, const char *unit_fmt, const char *colour)
{
	double max = 0;
	unsigned height = 24 * (unsigned)n + 8;

	for (size_t i = 0; i < n; i++)
		if (values[i] > max)
			max = values[i];
	mlb_buf_adds(b, "<div class=\"chart\"><h3>");
	esc(b, title);
	mlb_buf_addf(b, "</h3>\n<svg viewBox=\"0 0 480 %u\" role=\"img\" aria-label=\"", height);
	esc(b, title);
	mlb_buf_adds(b, "\">\n");
	for (size_t i = 0; i < n; i++) {
		unsigned y = 4 + 24 * (unsigned)i;
		double w = max > 0 && values[i] > 0 ? 200.0 * values[i] / max : 0;

		mlb_buf_addf(b, "<text x=\"0\" y=\"%u\">", y + 15);
		mlb_report_escape(b, names[i], strnlen(names[i], 28), " ");
		mlb_buf_addf(b, "</text><rect x=\"190\" y=\"%u\" width=\"%.1f\" height=\"18\" fill=\"%s\"/>", y + 2, w, colour);
		mlb_buf_addf(b, "<text x=\"%.1f\" y=\"%u\">", 194 + w, y + 15);
		if (values[i] < 0)
			mlb_buf_adds(b, "unknown");
		else
			mlb_buf_addf(b, unit_fmt, values[i]);
		mlb_buf_adds(b, "</text>\n");
	}
	mlb_buf_adds(b, "</svg></div>\n");
}

static void charts(struct mlb_buf *b, const struct mlb_report_case **cases, size_t n, const char **models, size_t nm)
{
	double *cost = mlb_xcalloc(nm + 1, sizeof(*cost)), *latency = mlb_xcalloc(nm + 1, sizeof(*latency));
	size_t *answers = mlb_xcalloc(nm + 1, sizeof(*answers)), *priced = mlb_xcalloc(nm + 1, sizeof(*priced));

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < nm; k++)
			if (!strcmp(models[k], cases[i]->model)) {
				answers[k]++;
				latency[k] += cases[i]->seconds;
				if (cases[i]->priced) {
					priced[k]++;
					cost[k] += cases[i]->cost_usd;
				}
			}
	for (size_t k = 0; k < nm; k++) {
		latency[k] = answers[k] ? latency[k] / (double)answers[k] : -1;
		if (!priced[k])
			cost[k] = -1;
	}
	mlb_buf_adds(b, "<h2>Cost and latency</h2>\n<div class=\"charts\">\n");
	bar_chart(b, "Cost per model (USD)", models, cost, nm, "$%.6f", "#4a7bd0");
	bar_chart(b, "Mean latency per answer (seconds)", models, latency, nm, "%.3f s", "#d08a4a");
	mlb_buf_adds(b, "</div>\n");
	free(cost);
	free(latency);
	free(answers);
	free(priced);
}

static void matrix(struct mlb_buf *b, const struct mlb_report_case **cases, const struct group *g, size_t ng,
		   const char **models, size_t nm)
{
	mlb_buf_adds(b, "<h2>Verdicts</h2>\n<div class=\"scroll\"><table id=\"matrix\">\n<tr><th>row</th>");
	for (size_t k = 0; k < nm; k++) {
		mlb_buf_adds(b, "<th>");
		esc(b, models[k]);
		mlb_buf_adds(b, "</th>");
	}
	mlb_buf_adds(b, "</tr>\n");
	for (size_t i = 0; i < ng; i++) {
		mlb_buf_adds(b, "<tr><th>");
		group_name(b, &g[i]);
		mlb_buf_adds(b, "</th>");
		for (size_t k = 0; k < nm; k++) {
			const struct mlb_report_case *c = NULL;

			for (size_t j = g[i].first; !c && j < g[i].first + g[i].n; j++)
				if (!strcmp(cases[j]->model, models[k]))
					c = cases[j];
			if (!c) {
				mlb_buf_adds(b, "<td class=\"none\">-</td>");
				continue;
			}
			mlb_buf_addf(b, "<td class=\"%s\">", verdict(c));
			verdict_words(b, c);
			mlb_buf_adds(b, "</td>");
		}
		mlb_buf_adds(b, "</tr>\n");
	}
	mlb_buf_adds(b, "</table></div>\n");
}

/* The answer of c, marked where it differs from ref's by word (ref NULL: as it is). */
static void answer_text(struct mlb_buf *b, const struct mlb_report_case *c, const struct mlb_report_case *ref)
{
	struct mlb_diff d = { 0 };

	mlb_buf_adds(b, "<pre>");
	if (!ref || mlb_compare_diff(ref->text, ref->text_len, c->text, c->text_len, MLB_DIFF_WORDS, &d) < 0) {
		mlb_report_escape(b, c->text, c->text_len, "\n");
	} else {
		for (size_t i = 0; i < d.nops; i++) {
			const struct mlb_diff_op *op = &d.ops[i];
			const char *tag = op->op == MLB_DIFF_DELETE ? "del" : op->op == MLB_DIFF_INSERT ? "ins" : NULL;

			if (tag)
				mlb_buf_addf(b, "<%s>", tag);
			mlb_report_escape(b, op->text, op->len, "\n");
			if (tag)
				mlb_buf_addf(b, "</%s>", tag);
		}
	}
	mlb_diff_free(&d);
	mlb_buf_adds(b, "</pre>\n");
}

static void answers(struct mlb_buf *b, const struct mlb_report_case **cases, const struct group *g, size_t ng)
{
	mlb_buf_adds(b, "<h2>Answers</h2>\n<p>Each answer after the first of its row is marked where its words differ "
			"from the first: <del>only in the first</del>, <ins>only in this one</ins>.</p>\n");
	for (size_t i = 0; i < ng; i++) {
		const struct mlb_report_case *ref = NULL;

		mlb_buf_adds(b, "<section><h3>");
		group_name(b, &g[i]);
		mlb_buf_adds(b, "</h3>\n<div class=\"answers\">\n");
		for (size_t j = g[i].first; j < g[i].first + g[i].n; j++) {
			const struct mlb_report_case *c = cases[j];

			mlb_buf_addf(b, "<div class=\"answer\"><h4 class=\"%s\">", verdict(c));
			esc(b, c->model);
			mlb_buf_adds(b, " <small>(");
			esc(b, c->pane);
			mlb_buf_adds(b, "): ");
			verdict_words(b, c);
			mlb_buf_adds(b, "</small></h4>\n");
			if (c->error) {
				mlb_buf_adds(b, "<p>");
				esc(b, c->error);
				mlb_buf_adds(b, "</p>\n");
			}
			if (c->nfails) {
				mlb_buf_adds(b, "<ul>");
				for (size_t k = 0; k < c->nfails; k++) {
					mlb_buf_adds(b, "<li>");
					esc(b, c->fails[k].check);
					mlb_buf_adds(b, ": ");
					esc(b, c->fails[k].why);
					mlb_buf_adds(b, "</li>");
				}
				mlb_buf_adds(b, "</ul>\n");
			}
			if (c->text) {
				answer_text(b, c, ref);
				if (!ref)
					ref = c;
			}
			mlb_buf_adds(b, "</div>\n");
		}
		mlb_buf_adds(b, "</div></section>\n");
	}
}

int mlb_report_html(const struct mlb_report *r, const char *path)
{
	struct mlb_buf b = MLB_BUF_INIT;
	const struct mlb_report_case **cases = mlb_report_sorted(r);
	struct group *g = mlb_xcalloc(r->n + 1, sizeof(*g));
	size_t ng = 0, nm, count[3] = { 0 };
	const char **models;
	int ret = 0;

	qsort(cases, r->n, sizeof(*cases), by_group);
	for (size_t i = 0; i < r->n; i++) {
		const char *v = verdict(cases[i]);

		count[!strcmp(v, "pass") ? 0 : !strcmp(v, "fail") ? 1 : 2] += strcmp(v, "none") != 0;
		if (ng && g[ng - 1].row == cases[i]->row && !strcmp(g[ng - 1].step, cases[i]->step)) {
			g[ng - 1].n++;
			continue;
		}
		g[ng++] = (struct group){ cases[i]->row, cases[i]->step, i, 1 };
	}
	nm = models_of(cases, r->n, &models);
	mlb_buf_adds(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	esc(&b, r->name);
	mlb_buf_adds(&b, " - mlb report</title>\n<style>\n");
	mlb_buf_adds(&b, style);
	mlb_buf_adds(&b, "</style>\n</head>\n<body>\n<h1>");
	esc(&b, r->name);
	mlb_buf_addf(&b, "</h1>\n<p id=\"summary\">%zu answers of %zu models in %zu rows: %zu passed, %zu failed, "
		     "%zu errors.</p>\n", r->n, nm, ng, count[0], count[1], count[2]);
	matrix(&b, cases, g, ng, models, nm);
	charts(&b, cases, r->n, models, nm);
	answers(&b, cases, g, ng);
	mlb_buf_adds(&b, "</body>\n</html>\n");
	if (mlb_file_replace(path, b.s, b.len, 0644, 0, NULL) < 0)
		ret = mlb_error("cannot write the HTML report '%s': %s", path, strerror(errno));
	mlb_buf_free(&b);
	free(models);
	free(g);
	free(cases);
	return ret;
}
