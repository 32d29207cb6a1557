/*
 * test-meter.c - unit tests for lib/meter.c.
 *
 * What matters: percentiles by nearest rank exactly as documented, bars
 * that are exact to an eighth of a cell, a reply's cost computed only when
 * it has none and never made zero when unknown, aggregates that add up and
 * do not count aggregates again, and a budget that warns once and stops at
 * (not only past) the limit.
 */
#include "event.h"
#include "meter.h"
#include "msg.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static void test_percentile(void)
{
	double one[] = { 7 };
	double two[] = { 9, 3 };
	double ten[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	double twenty[20];

	CHECK(mlb_meter_percentile(one, 1, 50) == 7);
	CHECK(mlb_meter_percentile(one, 1, 95) == 7);
	CHECK(mlb_meter_percentile(two, 2, 50) == 3);	/* rank ceil(0.5*2) = 1 */
	CHECK(mlb_meter_percentile(two, 2, 95) == 9);	/* rank ceil(0.95*2) = 2 */
	CHECK(mlb_meter_percentile(ten, 10, 50) == 5);	/* rank 5 */
	CHECK(mlb_meter_percentile(ten, 10, 95) == 10);	/* rank ceil(9.5) = 10 */
	CHECK(mlb_meter_percentile(ten, 10, 0) == 1);	/* rank 0 is taken as 1 */
	CHECK(mlb_meter_percentile(ten, 10, 100) == 10);
	for (int i = 0; i < 20; i++)
		twenty[i] = 20 - i;
	CHECK(mlb_meter_percentile(twenty, 20, 50) == 10);	/* rank 10 */
	CHECK(mlb_meter_percentile(twenty, 20, 95) == 19);	/* rank 19 */
}

static void test_bar(void)
{
	char buf[64];

	CHECK_INT(mlb_meter_bar(buf, sizeof(buf), 4, 4, 4), 12);
	CHECK_STR(buf, "\u2588\u2588\u2588\u2588");
	CHECK_INT(mlb_meter_bar(buf, sizeof(buf), 0, 4, 4), 4);
	CHECK_STR(buf, "    ");
	mlb_meter_bar(buf, sizeof(buf), 2, 4, 4);
	CHECK_STR(buf, "\u2588\u2588  ");
	mlb_meter_bar(buf, sizeof(buf), 1, 32, 4);	/* one eighth of a cell */
	CHECK_STR(buf, "\u258f   ");
	mlb_meter_bar(buf, sizeof(buf), 7, 32, 4);	/* seven eighths */
	CHECK_STR(buf, "\u2589   ");
	mlb_meter_bar(buf, sizeof(buf), 12, 32, 4);	/* one cell and a half */
	CHECK_STR(buf, "\u2588\u258c  ");
	mlb_meter_bar(buf, sizeof(buf), 1e-9, 1, 4);	/* tiny but not nothing */
	CHECK_STR(buf, "\u258f   ");
	mlb_meter_bar(buf, sizeof(buf), 5, 0, 2);	/* no scale: no bar */
	CHECK_STR(buf, "  ");
	mlb_meter_bar(buf, 5, 4, 4, 4);			/* a short buffer is never overrun */
	CHECK_STR(buf, "\u2588 ");
}

/* A file descriptor that reads the given text. */
static int input(const char *text)
{
	FILE *f = tmpfile();
	int fd;

	fputs(text, f);
	fflush(f);
	fd = dup(fileno(f));
	fclose(f);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Feed text through a meter; the output lines land in *out (caller frees); the last add_event result. */
static int feed(struct mlb_meter *m, const char *text, char **out)
{
	size_t size;
	FILE *mem = open_memstream(out, &size);
	int fd = input(text), res = MLB_METER_GO;
	struct mlb_reader *r = mlb_reader_new(fd, NULL);
	struct mlb_event_in ev;

	mlb_event_output(mem);
	while (res == MLB_METER_GO && mlb_reader_next(r, &ev) > 0)
		res = mlb_meter_add_event(m, r, &ev);
	mlb_reader_free(r);
	close(fd);
	mlb_event_output(NULL);
	fclose(mem);
	return res;
}

/* The n-th line (from 0) of text, parsed; NULL when there is none. */
static json_object *line(const char *text, int n)
{
	while (n-- > 0 && text && (text = strchr(text, '\n')))
		text++;
	return text && *text ? json_tokener_parse(text) : NULL;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

static const char events[] =
	"{\"type\":\"token\",\"text\":\"a\\/b \\u00e9\",\"model\":\"t:cheap\"}\n"
	"{\"type\":\"meter\",\"model\":\"t:cheap\",\"prompt_tokens\":4,\"completion_tokens\":2,\"latency_ms\":100,\"ttft_ms\":10,\"tokens_per_s\":3}\n"
	"{\"type\":\"meter\",\"model\":\"t:none\",\"prompt_tokens\":1,\"completion_tokens\":1,\"latency_ms\":300}\n"
	"{\"type\":\"meter\",\"model\":\"t:cheap\",\"prompt_tokens\":0,\"completion_tokens\":0,\"cost_usd\":0.125,\"latency_ms\":200,\"tokens_per_s\":4}\n"
	"{\"type\":\"meter\",\"scope\":\"model\",\"model\":\"t:cheap\",\"prompt_tokens\":99,\"cost_usd\":99}\n"
	"{\"type\":\"meter\",\"scope\":\"pane\",\"pane\":\"x\",\"replies\":5,\"cost_usd\":99}\n"
	"{\"type\":\"error\",\"model\":\"t:none\",\"code\":\"server\"}\n"
	"{\"type\":\"error\",\"code\":\"parse\"}\n";

static void test_events(void)
{
	struct mlb_prices *p = mlb_prices_new();
	struct mlb_meter_opts o = { .events = 1 };
	struct mlb_meter *m;
	char *out = NULL, *agg = NULL;
	size_t size;
	FILE *mem;
	json_object *ev;

	mlb_prices_set(p, "t:cheap", 0.25, 0.5);
	o.prices = p;
	m = mlb_meter_new(&o);
	CHECK_INT(feed(m, events, &out), MLB_METER_GO);
	/* Untouched lines come out byte for byte. */
	CHECK(!strncmp(out, "{\"type\":\"token\",\"text\":\"a\\/b \\u00e9\",\"model\":\"t:cheap\"}\n", 56));
	CHECK(strstr(out, "\"cost_usd\":0.125,\"latency_ms\":200,\"tokens_per_s\":4}\n") != NULL);
	CHECK(strstr(out, "{\"type\":\"meter\",\"scope\":\"model\",\"model\":\"t:cheap\",\"prompt_tokens\":99,\"cost_usd\":99}\n") != NULL);
	/* 4 * 0.25 + 2 * 0.5 = 2, appended at the end. */
	ev = line(out, 1);
	CHECK(fabs(mlb_json_double(ev, "cost_usd", -1) - 2.0) < 1e-12);
	CHECK(!json_object_object_get_ex(ev, "unpriced", NULL));
	json_object_put(ev);
	/* Unknown is null and flagged, never 0. */
	ev = line(out, 2);
	CHECK(json_object_object_get_ex(ev, "cost_usd", NULL) && !mlb_json_has(ev, "cost_usd"));
	CHECK(mlb_json_bool(ev, "unpriced"));
	json_object_put(ev);
	free(out);

	mem = open_memstream(&agg, &size);
	mlb_event_output(mem);
	CHECK_INT(mlb_meter_emit_aggregates(m), 0);
	mlb_event_output(NULL);
	fclose(mem);
	/* Sorted by key: t:cheap, t:none, then the run. */
	ev = line(agg, 0);
	CHECK_STR(mlb_json_str(ev, "scope"), "model");
	CHECK_STR(mlb_json_str(ev, "model"), "t:cheap");
	CHECK_INT(mlb_json_int(ev, "replies", -1), 2);
	CHECK_INT(mlb_json_int(ev, "prompt_tokens", -1), 4);
	CHECK_INT(mlb_json_int(ev, "completion_tokens", -1), 2);
	CHECK(fabs(mlb_json_double(ev, "cost_usd", -1) - 2.125) < 1e-12);
	CHECK_INT(mlb_json_int(ev, "unpriced", -1), 0);
	CHECK_INT(mlb_json_int(ev, "latency_ms_p50", -1), 100);
	CHECK_INT(mlb_json_int(ev, "latency_ms_p95", -1), 200);
	CHECK_INT(mlb_json_int(ev, "ttft_ms_p50", -1), 10);
	CHECK(fabs(mlb_json_double(ev, "tokens_per_s", -1) - 3.5) < 1e-12);
	CHECK_INT(mlb_json_int(ev, "errors", -1), 0);
	json_object_put(ev);
	ev = line(agg, 1);
	CHECK_STR(mlb_json_str(ev, "model"), "t:none");
	CHECK(json_object_object_get_ex(ev, "cost_usd", NULL) && !mlb_json_has(ev, "cost_usd"));
	CHECK_INT(mlb_json_int(ev, "unpriced", -1), 1);
	CHECK_INT(mlb_json_int(ev, "errors", -1), 1);
	CHECK(!mlb_json_has(ev, "ttft_ms_p50"));
	json_object_put(ev);
	ev = line(agg, 2);
	CHECK_STR(mlb_json_str(ev, "scope"), "run");
	CHECK(!json_object_object_get_ex(ev, "model", NULL));
	CHECK_INT(mlb_json_int(ev, "replies", -1), 3);
	CHECK(fabs(mlb_json_double(ev, "cost_usd", -1) - 2.125) < 1e-12);
	CHECK_INT(mlb_json_int(ev, "unpriced", -1), 1);
	CHECK_INT(mlb_json_int(ev, "errors", -1), 2);
	CHECK_INT(mlb_json_int(ev, "latency_ms_p50", -1), 200);
	CHECK_INT(mlb_json_int(ev, "latency_ms_p95", -1), 300);
	json_object_put(ev);
	CHECK(line(agg, 3) == NULL);
	free(agg);

	/* The table: names, blocks, and escape codes only when asked for. */
	mem = open_memstream(&agg, &size);
	mlb_meter_report(m, mem, 0);
	fclose(mem);
	CHECK(strstr(agg, "t:cheap") && strstr(agg, "t:none") && strstr(agg, "\u2588"));
	CHECK(strstr(agg, "unpriced") != NULL);
	CHECK(!strchr(agg, '\033'));
	free(agg);
	mem = open_memstream(&agg, &size);
	mlb_meter_report(m, mem, 1);
	fclose(mem);
	CHECK(strchr(agg, '\033') != NULL);
	free(agg);
	mlb_meter_free(m);
	mlb_prices_free(p);
}

static void test_budget(void)
{
	struct mlb_prices *p = mlb_prices_new();
	struct mlb_meter_opts o = { .events = 1, .budget = 1.0, .warn = 0.5 };
	struct mlb_meter *m;
	char *out = NULL;
	const char *half = "{\"type\":\"meter\",\"model\":\"t:m\",\"prompt_tokens\":1}\n";
	char text[512];
	json_object *ev;

	/* Eighths add up exactly in binary, so "at the limit" is tested exactly. */
	mlb_prices_set(p, "t:m", 0.25, 0);
	o.prices = p;
	m = mlb_meter_new(&o);
	snprintf(text, sizeof(text), "%s%s%s%s{\"type\":\"token\",\"text\":\"late\"}\n%s", half, half, half, half, half);
	CHECK_INT(feed(m, text, &out), MLB_METER_OVER_BUDGET);
	/* 0.25, 0.5 (warns), status, 0.75, 1.0 (stops), error; nothing after. */
	ev = line(out, 2);
	CHECK_STR(mlb_json_str(ev, "type"), "status");
	CHECK_STR(mlb_json_str(ev, "stage"), "budget_warning");
	CHECK(mlb_json_double(ev, "spent", 0) == 0.5);
	CHECK(mlb_json_double(ev, "budget", 0) == 1.0);
	json_object_put(ev);
	ev = line(out, 5);
	CHECK_STR(mlb_json_str(ev, "type"), "error");
	CHECK_STR(mlb_json_str(ev, "code"), "budget");
	CHECK(mlb_json_str(ev, "message") && strstr(mlb_json_str(ev, "message"), "--budget"));
	json_object_put(ev);
	CHECK(line(out, 6) == NULL);
	CHECK(!strstr(out, "late"));
	CHECK_INT(count(out, "budget_warning"), 1);
	free(out);
	mlb_meter_free(m);
	mlb_prices_free(p);
}

int main(int argc, char **argv)
{
	(void)argc;
	mlb_set_progname(argv[0]);
	json_c_set_serialization_double_format("%.10g", JSON_C_OPTION_GLOBAL);
	test_percentile();
	test_bar();
	test_events();
	test_budget();
	return unit_done();
}
