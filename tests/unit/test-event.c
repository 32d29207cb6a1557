/*
 * The event reader and writer: pass-through byte for byte, malformed lines
 * reported with their numbers and skipped, limits on line length and depth.
 */
#include "unit.h"
#include "event.h"
#include "msg.h"

#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

static const char *const *want_types;

/* Read everything in `in` with limits; return what the reader passed and wrote. */
static char *through(const char *in, size_t inlen, const struct mlb_reader_limits *lim, long *nevents, long *errors)
{
	FILE *src = tmpfile(), *out = tmpfile();
	struct mlb_reader *r;
	struct mlb_event_in ev;
	char *buf;
	long size;

	fwrite(in, 1, inlen, src);
	fflush(src);
	rewind(src);
	mlb_event_output(out);
	r = mlb_reader_new(fileno(src), lim);
	if (want_types)
		mlb_reader_want(r, want_types);
	*nevents = 0;
	while (mlb_reader_next(r, &ev) > 0) {
		(*nevents)++;
		mlb_reader_pass(r, &ev);
	}
	*errors = mlb_reader_errors(r);
	mlb_reader_free(r);
	mlb_event_flush();
	mlb_event_output(NULL);
	size = ftell(out);
	rewind(out);
	buf = calloc(1, (size_t)size + 1);
	if (fread(buf, 1, (size_t)size, out) != (size_t)size)
		buf[0] = '\0';
	fclose(src);
	fclose(out);
	return buf;
}

static void test_pass_through(void)
{
	const char in[] = "{\"type\":\"token\",\"text\":\"a\\/b \\u00e9\"}\n"
			  "{ \"z\":1,   \"type\":\"unknown\",\"extra\":[1,2,{\"x\":null}]}\n"
			  "\n"
			  "{\"type\":\"final\",\"content\":\"\xe6\x97\xa5\"}";
	long n, e;
	char *out = through(in, sizeof(in) - 1, NULL, &n, &e);

	CHECK_INT(n, 3);
	CHECK_INT(e, 0);
	CHECK_STR(out, "{\"type\":\"token\",\"text\":\"a\\/b \\u00e9\"}\n"
		       "{ \"z\":1,   \"type\":\"unknown\",\"extra\":[1,2,{\"x\":null}]}\n"
		       "{\"type\":\"final\",\"content\":\"\xe6\x97\xa5\"}\n");
	free(out);
}

static void test_malformed(void)
{
	const char in[] = "{\"type\":\"a\"}\n"
			  "{\"type\":\n"		/* 2: truncated */
			  "[1,2]\n"			/* 3: not an object */
			  "{\"text\":\"x\"}\n"		/* 4: no type */
			  "{\"type\":\"b\"} trailing\n"	/* 5 */
			  "\xff\xfe garbage\n"		/* 6: not JSON */
			  "{\"type\":\"\xc3\x28\"}\n"	/* 7: invalid UTF-8 */
			  "{\"type\":\"c\"}\n";
	long n, e;
	char *out = through(in, sizeof(in) - 1, NULL, &n, &e);

	CHECK_INT(n, 2);
	CHECK_INT(e, 5 + 1);
	CHECK(strstr(out, "{\"type\":\"a\"}\n") == out);
	CHECK(strstr(out, "\"code\":\"parse\",\"message\":\"line 2: truncated JSON") != NULL);
	CHECK(strstr(out, "\"line\":3") != NULL);
	CHECK(strstr(out, "line 4: event has no \\\"type\\\"") != NULL);
	CHECK(strstr(out, "line 7: invalid JSON") != NULL);
	CHECK(strstr(out, "{\"type\":\"c\"}\n") != NULL);
	free(out);
}

static void test_limits(void)
{
	struct mlb_reader_limits lim = { 1000, 8 };
	size_t big = 300000;
	char *in = malloc(big + 64), *out;
	long n, e;
	size_t len;

	/* an over-long line, then a good one: skipped, reported once, reading goes on */
	memset(in, 'x', big);
	len = big;
	len += (size_t)sprintf(in + len, "\n{\"type\":\"ok\"}\n");
	out = through(in, len, &lim, &n, &e);
	CHECK_INT(n, 1);
	CHECK_INT(e, 1);
	CHECK(strstr(out, "line 1: line longer than 1000 bytes") != NULL);
	CHECK(strstr(out, "{\"type\":\"ok\"}\n") != NULL);
	free(out);

	/* nesting past the limit is an error, not a stack overflow */
	len = (size_t)sprintf(in, "{\"type\":\"deep\",\"x\":");
	for (int i = 0; i < 20000; i++)
		in[len++] = '[';
	in[len++] = '\n';
	len += (size_t)sprintf(in + len, "{\"type\":\"after\"}\n");
	out = through(in, len, &lim, &n, &e);
	CHECK_INT(n, 1);
	CHECK_INT(e, 1);
	CHECK(strstr(out, "{\"type\":\"after\"}") != NULL);
	free(out);
	free(in);
}

static void test_writer(void)
{
	FILE *out = tmpfile();
	struct mlb_tag tag = { "s1", "p1", "openai:x", NULL };
	json_object *ev = mlb_event_new("token", &tag);
	char line[512];

	mlb_event_output(out);
	mlb_json_set_str(ev, "text", "a/b");
	CHECK_INT(mlb_event_write(ev), 0);
	mlb_event_output(NULL);
	rewind(out);
	CHECK(fgets(line, sizeof(line), out) != NULL);
	/* type and ts first, then the tag, slashes unescaped */
	CHECK(strncmp(line, "{\"type\":\"token\",\"ts\":\"", 22) == 0);
	CHECK(strstr(line, "Z\",\"session\":\"s1\",\"pane\":\"p1\",\"model\":\"openai:x\",\"text\":\"a/b\"}\n") != NULL);
	fclose(out);
}

static unsigned long long rng = 88172645463325252ull;

static unsigned next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)rng;
}

/*
 * The quick check for unwanted types must decide exactly as json-c does:
 * the same lines pass, the same lines are reported.  Mutate real event
 * lines at random and compare the reader's output with and without it.
 */
static void test_quick_scan_agrees(void)
{
	static const char *const nothing[] = { "none-of-these", NULL };
	static const char *const seeds[] = {
		"{\"type\":\"token\",\"ts\":\"2026-11-22T02:22:15.123Z\",\"pane\":\"a\",\"text\":\" caf\u00e9 \u65e5\"}",
		"{\"type\":\"meter\",\"prompt_tokens\":12,\"cost_usd\":0.000123,\"x\":[true,false,null,-0.5,{}],\"y\":1e-7}",
		"{ \"text\" : \"a\\\"b\\\\c\\/d\\n\" , \"type\" : \"final\" , \"n\":[[[]]] }",
		"{\"type\":\"status\",\"stage\":\"retry\",\"nested\":{\"a\":{\"b\":[1,2,3]}},\"s\":\"\xe6\x97\xa5\xf0\x9f\x98\x80\"}",
	};
	const char bytes[] = "{}[]\":,\\ tfn0-.e9\"\x80\xc3\xff\x01";
	int saved = dup(2), devnull = open("/dev/null", O_WRONLY);

	/* thousands of expected parse errors: keep them off the test log */
	dup2(devnull, 2);

	for (int round = 0; round < 20000; round++) {
		const char *seed = seeds[next_rand() % 4];
		char line[512];
		size_t len = strlen(seed);
		int edits = 1 + (int)(next_rand() % 3);
		long n1, e1, n2, e2;
		char *slow, *fast;

		memcpy(line, seed, len);
		for (int k = 0; k < edits; k++) {
			size_t at = next_rand() % len;

			switch (next_rand() % 3) {
			case 0:
				line[at] = bytes[next_rand() % (sizeof(bytes) - 1)];
				break;
			case 1:
				memmove(line + at, line + at + 1, len - at - 1);
				len--;
				break;
			default:
				if (len + 1 < sizeof(line)) {
					memmove(line + at + 1, line + at, len - at);
					line[at] = bytes[next_rand() % (sizeof(bytes) - 1)];
					len++;
				}
			}
		}
		for (size_t i = 0; i < len; i++)
			if (line[i] == '\n' || line[i] == '\0')
				line[i] = ' ';
		line[len++] = '\n';
		want_types = NULL;
		slow = through(line, len, NULL, &n1, &e1);
		want_types = nothing;
		fast = through(line, len, NULL, &n2, &e2);
		want_types = NULL;
		CHECK_INT(n2, n1);
		CHECK_INT(e2, e1);
		/* the error events carry timestamps: compare what was passed, and whether it was an error */
		CHECK_INT(strstr(fast, "\"code\":\"parse\"") != NULL, strstr(slow, "\"code\":\"parse\"") != NULL);
		if (n1 == 1)
			CHECK_STR(fast, slow);
		if (n2 != n1 || e2 != e1) {
			fprintf(stderr, "disagreement on: %.*s", (int)len, line);
			break;
		}
		free(slow);
		free(fast);
	}
	dup2(saved, 2);
	close(saved);
	close(devnull);
}

int main(void)
{
	mlb_set_progname("test-event");
	test_pass_through();
	test_malformed();
	test_limits();
	test_writer();
	test_quick_scan_agrees();
	return unit_done();
}
