/*
 * test-price.c - the price table: the shipped prices, costs, overrides,
 * fallbacks, malformed lines and the speed of loading and looking up.
 *
 * Runs from the repository root, or from anywhere with MLB_TEST_SRCDIR set
 * to it.  Expected prices are LiteLLM's, copied by hand from
 * ../shared/data/model-prices.json, not read back from prices.tsv.
 */
#include "msg.h"
#include "price.h"
#include "unit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHECK_USD(got, want) CHECK(fabs((got) - (want)) <= 1e-12 * fabs(want))

static char tsv[4096];

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Price of model, or -1 when the table does not know it. */
static double in_price(const struct mlb_prices *t, const char *model)
{
	struct mlb_price p;

	return mlb_prices_lookup(t, model, &p) ? p.input : -1;
}

static double out_price(const struct mlb_prices *t, const char *model)
{
	struct mlb_price p;

	return mlb_prices_lookup(t, model, &p) ? p.output : -1;
}

static void test_shipped_costs(const struct mlb_prices *t)
{
	double c;

	/* gpt-4o-mini: 1.5e-07 in, 6e-07 out */
	CHECK_INT(mlb_prices_cost(t, "openai:gpt-4o-mini", 1000, 500, &c), 1);
	CHECK_USD(c, 0.00045);
	/* groq/llama-3.1-8b-instant: 5e-08 in, 8e-08 out */
	CHECK_INT(mlb_prices_cost(t, "groq:llama-3.1-8b-instant", 1000000, 1000000, &c), 1);
	CHECK_USD(c, 0.13);
	/* claude-haiku-4-5: 1e-06 in, 5e-06 out */
	CHECK_INT(mlb_prices_cost(t, "anthropic:claude-haiku-4-5", 2000, 1000, &c), 1);
	CHECK_USD(c, 0.007);
	/* gemini/gemini-2.5-flash: 3e-07 in, 2.5e-06 out */
	CHECK_INT(mlb_prices_cost(t, "gemini:gemini-2.5-flash", 10000, 2000, &c), 1);
	CHECK_USD(c, 0.008);
	/* openrouter/openai/gpt-5.2-pro: 2.1e-05 in, 0.000168 out */
	CHECK_INT(mlb_prices_cost(t, "openrouter:openai/gpt-5.2-pro", 100, 100, &c), 1);
	CHECK_USD(c, 0.01890);
	CHECK_INT(mlb_prices_cost(t, "openai:gpt-4o-mini", 0, 0, &c), 1);
	CHECK(c == 0);
}

static void test_unknown(const struct mlb_prices *t)
{
	double c = 42;

	CHECK_INT(mlb_prices_cost(t, "openai:no-such-model", 10, 10, &c), 0);
	CHECK(c == 42);
	CHECK_INT(mlb_prices_lookup(t, "gpt-4o-mini", NULL), 0);	/* no provider */
	CHECK_INT(mlb_prices_lookup(t, "", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, NULL, NULL), 0);
	CHECK_INT(mlb_prices_lookup(NULL, "openai:gpt-4o-mini", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "openai:", NULL), 0);
	/* other gateways are not guessed at */
	CHECK_INT(mlb_prices_lookup(t, "groq:gpt-4o-mini", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "ollama:llama3", NULL), 0);
	/* the source's 0/0 placeholders are not shipped */
	CHECK_INT(mlb_prices_lookup(t, "openrouter:openrouter/auto", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "gemini:gemini-exp-1206", NULL), 0);
	/* a negative count has no cost */
	CHECK_INT(mlb_prices_cost(t, "openai:gpt-4o-mini", -1, 10, &c), 0);
	CHECK(c == 42);
}

static void test_fallbacks(const struct mlb_prices *t)
{
	/* litellm:<m> -> <p>:<x> for <m> = <p>/<x>, else openai, anthropic, gemini */
	CHECK(in_price(t, "litellm:gpt-4o-mini") == 1.5e-07);
	CHECK(in_price(t, "litellm:groq/llama-3.1-8b-instant") == 5e-08);
	CHECK(in_price(t, "litellm:claude-haiku-4-5") == 1e-06);
	CHECK(in_price(t, "litellm:gemini-2.5-flash") == 3e-07);
	CHECK(in_price(t, "litellm:gemini/gemini-2.5-flash") == 3e-07);
	CHECK(in_price(t, "litellm:openrouter/openai/gpt-4o-2024-05-13") == 5e-06);
	CHECK(in_price(t, "litellm:openai/gpt-4o") == 2.5e-06);
	CHECK_INT(mlb_prices_lookup(t, "litellm:my-own-alias", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "litellm:/gpt-4o", NULL), 0);

	/* a missing snapshot is priced as its undated alias */
	CHECK(out_price(t, "openai:gpt-4o-mini-2099-01-01") == 6e-07);
	CHECK(out_price(t, "anthropic:claude-haiku-4-5-20991231") == 5e-06);
	CHECK(out_price(t, "openrouter:openai/gpt-4o-2030-02-03") == 1e-05);
	CHECK(in_price(t, "litellm:gpt-4o-mini-2099-01-01") == 1.5e-07);
	CHECK(in_price(t, "litellm:groq/llama-3.1-8b-instant-20990101") == 5e-08);
	/* a listed snapshot keeps its own price: gpt-4o-2024-05-13 is dearer */
	CHECK(in_price(t, "openai:gpt-4o-2024-05-13") == 5e-06);
	CHECK(in_price(t, "openai:gpt-4o") == 2.5e-06);
	/* things that only look like dates */
	CHECK_INT(mlb_prices_lookup(t, "openai:gpt-4o-mini-2024-13-01", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "openai:gpt-4o-mini-12345678", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "openai:gpt-4o-mini-0613", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "openai:gpt-4o-mini2024-07-18", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "openai:-2024-07-18", NULL), 0);
}

static void test_set(struct mlb_prices *t)
{
	double c;

	CHECK_INT(mlb_prices_set(t, "openai:gpt-4o-mini", 1e-06, 2e-06), 0);
	CHECK_INT(mlb_prices_cost(t, "openai:gpt-4o-mini", 1000, 1000, &c), 1);
	CHECK_USD(c, 0.003);
	/* a price set by hand is exact and beats the fallbacks */
	CHECK_INT(mlb_prices_set(t, "litellm:gpt-4o-mini", 3e-06, 4e-06), 0);
	CHECK(in_price(t, "litellm:gpt-4o-mini") == 3e-06);
	/* a model that really is free costs 0, and says so */
	CHECK_INT(mlb_prices_set(t, "ollama:llama3", 0, 0), 0);
	CHECK_INT(mlb_prices_cost(t, "ollama:llama3", 100, 100, &c), 1);
	CHECK(c == 0);

	errno = 0;
	CHECK_INT(mlb_prices_set(t, "gpt-4o-mini", 1, 1), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(mlb_prices_set(t, ":x", 1, 1), -1);
	CHECK_INT(mlb_prices_set(t, "openai:", 1, 1), -1);
	CHECK_INT(mlb_prices_set(t, NULL, 1, 1), -1);
	CHECK_INT(mlb_prices_set(t, "openai:x", -1e-6, 1), -1);
	CHECK_INT(mlb_prices_set(t, "openai:x", 1, NAN), -1);
	CHECK_INT(mlb_prices_set(t, "openai:x", INFINITY, 1), -1);
	CHECK_INT(mlb_prices_lookup(t, "openai:x", NULL), 0);
}

static const char override_tsv[] =
	"# a user's own prices\n"			/* 1 */
	"\n"						/* 2 */
	"openai:gpt-4o-mini\t5e-06\t7e-06\n"		/* 3 */
	"openai:two-fields\t1e-06\n"			/* 4 */
	"openai:bad-price\tabc\t1e-06\n"		/* 5 */
	"openai:negative\t-1e-06\t1e-06\n"		/* 6 */
	"no-provider\t1e-06\t1e-06\n"			/* 7 */
	"openai:nan\tnan\t1e-06\n"			/* 8 */
	"openai:trailing\t1e-06\t2e-06x\n"		/* 9 */
	"openai:five\t1\t2\t3\t4\n"			/* 10 */
	"local:my-model\t0.000001\t2E-6\t1e-7\r\n"	/* 11 */
	"openai:inf\t1e-06\tinf\n"			/* 12 */
	":no-provider\t1\t1\n"				/* 13 */
	" \t \n"					/* 14 */
	"openai:empty-price\t\t1e-06\n"			/* 15 */
	"openai:huge\t1e999\t1\n"			/* 16 */
	"groq:no-newline\t1.5e-07\t2.5e-07";		/* 17 */

/* Load text as a file; what went to stderr into err. */
static int load_text(struct mlb_prices *t, const char *text, char *path, char *err, size_t errsz)
{
	char errpath[64];
	int fd, saved, efd, rc;
	ssize_t n;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);

	strcpy(errpath, "/tmp/test-price-err.XXXXXX");
	efd = mkstemp(errpath);
	CHECK(efd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(efd, 2);
	rc = mlb_prices_load(t, path);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(efd, 0, SEEK_SET);
	n = read(efd, err, errsz - 1);
	err[n > 0 ? n : 0] = '\0';
	close(efd);
	unlink(errpath);
	return rc;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_second_file(struct mlb_prices *t)
{
	static const int bad[] = { 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 16 };
	char path[] = "/tmp/test-price.XXXXXX", err[8192], want[128];
	size_t i;
	double c;

	CHECK_INT(load_text(t, override_tsv, path, err, sizeof(err)), 0);
	CHECK(in_price(t, "openai:gpt-4o-mini") == 5e-06);
	CHECK(out_price(t, "openai:gpt-4o-mini") == 7e-06);
	CHECK(in_price(t, "local:my-model") == 1e-06);
	CHECK(out_price(t, "local:my-model") == 2e-06);
	CHECK(out_price(t, "groq:no-newline") == 2.5e-07);
	/* the rest of the shipped table is still there */
	CHECK_INT(mlb_prices_cost(t, "groq:llama-3.1-8b-instant", 1000000, 0, &c), 1);
	CHECK_USD(c, 0.05);
	CHECK_INT(mlb_prices_lookup(t, "openai:two-fields", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "openai:negative", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "openai:trailing", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "openai:five", NULL), 0);
	/* a fourth column prices the prompt tokens read from the cache; without one they cost the input price */
	CHECK_INT(mlb_prices_cost_cached(t, "local:my-model", 1000, 800, 10, &c), 1);
	CHECK_USD(c, 200 * 1e-06 + 800 * 1e-07 + 10 * 2e-06);
	CHECK_INT(mlb_prices_cost_cached(t, "openai:gpt-4o-mini", 1000, 800, 0, &c), 1);
	CHECK_USD(c, 1000 * 5e-06);
	CHECK_INT(mlb_prices_cost_cached(t, "local:my-model", 10, 800, 0, &c), 1);
	CHECK_USD(c, 10 * 1e-07);
	CHECK_INT(mlb_prices_lookup(t, "openai:inf", NULL), 0);
	CHECK_INT(mlb_prices_lookup(t, "openai:huge", NULL), 0);

	/* one warning per bad line, each naming path:line */
	CHECK_INT(count_lines(err), sizeof(bad) / sizeof(bad[0]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "test-price: warning: %s:%d: ", path, bad[i]);
		CHECK(strstr(err, want) != NULL);
	}
	snprintf(want, sizeof(want), "%s:5: bad input price 'abc'\n", path);
	CHECK(strstr(err, want) != NULL);
	unlink(path);
	if (unit_failures)
		fputs(err, stderr);
}

static void test_load_errors(struct mlb_prices *t)
{
	errno = 0;
	CHECK_INT(mlb_prices_load(t, "/nonexistent/prices.tsv"), -1);
	CHECK_INT(errno, ENOENT);
	errno = 0;
	CHECK_INT(mlb_prices_load(t, "/tmp"), -1);
	CHECK_INT(errno, EISDIR);
	CHECK(in_price(t, "openai:gpt-4o-mini") == 5e-06);
}

/*
 * Every line of the shipped file reads back exactly, and 10,000 lookups
 * through the table all hit; returns the number of entries.
 */
static int test_every_entry(const struct mlb_prices *t)
{
	static char *names[4096];
	static double ins[4096], outs[4096];
	char line[512], *tab, *tab2;
	int n = 0, i, hits = 0;
	double t0, us;
	FILE *f = fopen(tsv, "r");

	CHECK(f != NULL);
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && n < 4096) {
		if (line[0] == '#')
			continue;
		tab = strchr(line, '\t');
		tab2 = tab ? strchr(tab + 1, '\t') : NULL;
		CHECK(tab2 != NULL);
		if (!tab2)
			continue;
		*tab = '\0';
		names[n] = strdup(line);
		ins[n] = strtod(tab + 1, NULL);
		outs[n++] = strtod(tab2 + 1, NULL);
	}
	fclose(f);
	for (i = 0; i < n; i++) {
		CHECK(in_price(t, names[i]) == ins[i]);
		CHECK(out_price(t, names[i]) == outs[i]);
	}
	t0 = now_us();
	for (i = 0; i < 10000; i++)
		hits += mlb_prices_lookup(t, names[i % n], NULL);
	us = now_us() - t0;
	CHECK_INT(hits, 10000);
	printf("10000 lookups: %.0f us\n", us);
	for (i = 0; i < n; i++)
		free(names[i]);
	return n;
}

static void test_growth(void)
{
	struct mlb_prices *t = mlb_prices_new();
	char name[64];
	int i, ok = 0;

	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "p%d:model-%d", i % 7, i);
		mlb_prices_set(t, name, i * 1e-9, i * 2e-9);
	}
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "p%d:model-%d", i % 7, i);
		ok += in_price(t, name) == i * 1e-9 && out_price(t, name) == i * 2e-9;
	}
	CHECK_INT(ok, 20000);
	mlb_prices_free(t);
	mlb_prices_free(NULL);
}

static void time_load(void)
{
	double t0, us, best = 1e9;
	int i;

	for (i = 0; i < 20; i++) {
		struct mlb_prices *t = mlb_prices_new();

		t0 = now_us();
		CHECK_INT(mlb_prices_load(t, tsv), 0);
		us = now_us() - t0;
		if (us < best)
			best = us;
		mlb_prices_free(t);
	}
	printf("load %s: %.0f us (best of 20)\n", tsv, best);
}

int main(void)
{
	const char *srcdir = getenv("MLB_TEST_SRCDIR");
	struct mlb_prices *t = mlb_prices_new();
	int n;

	mlb_set_progname("test-price");
	snprintf(tsv, sizeof(tsv), "%s/share/mlb/prices.tsv", srcdir && *srcdir ? srcdir : ".");
	CHECK_INT(mlb_prices_load(t, tsv), 0);
	n = test_every_entry(t);
	CHECK(n > 200);
	printf("%d entries\n", n);
	test_shipped_costs(t);
	test_unknown(t);
	test_fallbacks(t);
	test_set(t);
	test_second_file(t);
	test_load_errors(t);
	mlb_prices_free(t);
	test_growth();
	time_load();
	return unit_done();
}
