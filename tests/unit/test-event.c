/*
 * The event reader and writer: pass-through byte for byte, malformed lines
 * reported with their numbers and skipped, limits on line length and depth.
 */
#include "unit.h"
#include "event.h"
#include "msg.h"

#include <stdlib.h>
#include <unistd.h>

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

int main(void)
{
	mlb_set_progname("test-event");
	test_pass_through();
	test_malformed();
	test_limits();
	test_writer();
	return unit_done();
}
