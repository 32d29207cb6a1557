/*
 * The event reader and writer: pass-through byte for byte, malformed lines
 * reported with their numbers and skipped, limits on line length and depth.
 */
#include "unit.h"
#include "event.h"
#include "json-scan.h"
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

/* A line cut just after a high surrogate escape must not change how the next line reads. */
static void test_cut_surrogate(void)
{
	static const char in[] = "{\"type\":\"final\",\"content\":\"x\\ud83d\n"
				 "{\"type\":\"final\",\"content\":\"sm\\u00f6rg\"}\n";
	FILE *src = tmpfile(), *out = tmpfile();
	struct mlb_reader *r;
	struct mlb_event_in ev;
	int n = 0;

	fwrite(in, 1, sizeof(in) - 1, src);
	fflush(src);
	rewind(src);
	mlb_event_output(out);
	r = mlb_reader_new(fileno(src), NULL);
	while (mlb_reader_next(r, &ev) > 0) {
		n++;
		CHECK_STR(mlb_json_str(ev.obj, "content"), "sm\xc3\xb6rg");
	}
	CHECK_INT(n, 1);
	CHECK_INT(mlb_reader_errors(r), 1);
	mlb_reader_free(r);
	mlb_event_output(NULL);
	fclose(src);
	fclose(out);
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

/* Make edits random changes to line[0..*len): a byte replaced from bytes, one deleted, or one inserted while it fits in cap. */
static void edit_randomly(char *line, size_t *len, size_t cap, const char *bytes, size_t nbytes, int edits)
{
	for (int k = 0; k < edits; k++) {
		size_t at = next_rand() % *len;

		switch (next_rand() % 3) {
		case 0:
			line[at] = bytes[next_rand() % nbytes];
			break;
		case 1:
			memmove(line + at, line + at + 1, *len - at - 1);
			(*len)--;
			break;
		default:
			if (*len + 1 < cap) {
				memmove(line + at + 1, line + at, *len - at);
				line[at] = bytes[next_rand() % nbytes];
				(*len)++;
			}
		}
	}
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
		edit_randomly(line, &len, sizeof(line), bytes, sizeof(bytes) - 1, edits);
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

/*
 * The scanner's builder (for long lines) must make what json-c's strict
 * tokener makes, or say it is unsure: never an object json-c would not
 * make, nor a different one.  Real event lines, edited at random.
 */
static void test_build_agrees(void)
{
	static const char *const seeds[] = {
		"{\"type\":\"final\",\"ts\":\"2026-11-22T02:22:15.123Z\",\"pane\":\"a\",\"content\":\"Para one.\\n\\nTwo \\\"q\\\" caf\u00e9 \\u00e9 \\/ \\t end\",\"partial\":false,\"n\":null}",
		"{\"type\":\"meter\",\"prompt_tokens\":12,\"completion_tokens\":-3,\"x\":[true,false,null,{},[]],\"y\":123456789012345678}",
		"{ \"text\" : \"a\" , \"type\" : \"final\" , \"type\" : \"token\", \"n\":[[[1]]] }\r",
		"{\"type\":\"status\",\"nested\":{\"a\":{\"b\":[1,2,3]}},\"s\":\"\xe6\x97\xa5\xf0\x9f\x98\x80\",\"f\":0.5}",
	};
	const char bytes[] = "{}[]\":,\\ tfnu0-.e9\"\x80\xc3\xff\x01";
	json_tokener *tok = json_tokener_new_ex(MLB_READER_MAX_DEPTH);
	struct mlb_buf scratch = MLB_BUF_INIT;
	int built = 0;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	for (int round = 0; round < 20000; round++) {
		const char *seed = seeds[next_rand() % 4];
		char line[512];
		size_t len = strlen(seed);
		int edits = (int)(next_rand() % 3);
		struct json_scan sc;
		json_object *fast, *slow;

		memcpy(line, seed, len);
		edit_randomly(line, &len, sizeof(line), bytes, sizeof(bytes) - 1, edits);
		json_scan_init(&sc, line, len);
		sc.max_depth = MLB_READER_MAX_DEPTH;
		if (!json_scan_build(&sc, &scratch, &fast) || !json_scan_end(&sc)) {
			json_object_put(fast);
			continue;
		}
		built++;
		json_tokener_reset(tok);
		slow = json_tokener_parse_ex(tok, line, (int)len);
		CHECK_INT(json_tokener_get_error(tok) == json_tokener_success ||
			  (json_tokener_get_error(tok) == json_tokener_continue && !slow), 1);
		CHECK_STR(json_object_to_json_string_ext(fast, JSON_C_TO_STRING_PLAIN),
			  json_object_to_json_string_ext(slow, JSON_C_TO_STRING_PLAIN));
		json_object_put(fast);
		json_object_put(slow);
	}
	CHECK(built > 5000);
	mlb_buf_free(&scratch);
	json_tokener_free(tok);
}

/* Everything written to the event output by fn(arg), with the timestamp blanked out. */
static char *written(int (*fn)(const void *), const void *arg, size_t *len)
{
	FILE *out = tmpfile();
	char *buf, *ts;
	long size;

	mlb_event_output(out);
	CHECK_INT(fn(arg), 0);
	mlb_event_flush();
	mlb_event_output(NULL);
	size = ftell(out);
	rewind(out);
	buf = calloc(1, (size_t)size + 1);
	if (fread(buf, 1, (size_t)size, out) != (size_t)size)
		size = 0;
	fclose(out);
	*len = (size_t)size;
	/* two writes may fall in different milliseconds */
	ts = strstr(buf, "\"ts\":\"");
	if (ts && strlen(ts) > 30)
		memset(ts + 6, '0', 24);
	return buf;
}

struct token_case {
	struct mlb_tag tag;
	const char *text;
	size_t len;
};

static int token_by_json_c(const void *arg)
{
	const struct token_case *c = arg;
	json_object *ev = mlb_event_new("token", &c->tag);

	json_object_object_add(ev, "text", json_object_new_string_len(c->text, (int)c->len));
	return mlb_event_write(ev);
}

static int token_direct(const void *arg)
{
	const struct token_case *c = arg;
	struct mlb_token_line tl = { 0 };
	int ret = mlb_event_write_token(&tl, &c->tag, c->text, c->len);

	mlb_token_line_free(&tl);
	return ret;
}

/* Three tokens through one line, batched, with an event built by json-c between them. */
static int tokens_and_event(const void *arg)
{
	const struct token_case *c = arg;
	struct mlb_token_line tl = { 0 };
	json_object *ev = mlb_event_new("status", &c->tag);
	int ret = 0;

	mlb_event_autoflush(0);
	ret |= mlb_event_write_token(&tl, &c->tag, "one", 3);
	ret |= mlb_event_write_token(&tl, &c->tag, " \"two\"", 6);
	ret |= mlb_event_write(ev);
	ret |= mlb_event_write_token(&tl, &c->tag, "\n", 1);
	{
		/* the same line for another tag, within the millisecond: that tag's members */
		struct mlb_tag other = { "s2", "q", "gemini:g", "r1" };

		ret |= mlb_event_write_token(&tl, &other, "x", 1);
	}
	mlb_event_autoflush(1);
	mlb_token_line_free(&tl);
	return ret;
}

/*
 * Token lines wait past stdio, but never behind an event written after
 * them, and a line kept from token to token starts each of them alike.
 */
static void test_token_batch_order(void)
{
	struct token_case c = { { "s1", "p", "openai:m", NULL }, NULL, 0 };
	size_t len;
	char *out = written(tokens_and_event, &c, &len), *line;
	static const char *const want[] = {
		"\"type\":\"token\"", "\"text\":\"one\"}",
		"\"type\":\"token\"", "\"text\":\" \\\"two\\\"\"}",
		"\"type\":\"status\"", "\"session\":\"s1\",\"pane\":\"p\",\"model\":\"openai:m\"}",
		"\"type\":\"token\"", "\"text\":\"\\n\"}",
		"\"session\":\"s2\",\"pane\":\"q\",\"model\":\"gemini:g\",\"run\":\"r1\"", "\"text\":\"x\"}",
	};
	size_t i = 0;

	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), i += 2) {
		CHECK(i < sizeof(want) / sizeof(want[0]));
		if (i >= sizeof(want) / sizeof(want[0]))
			break;
		CHECK(strstr(line, want[i]) != NULL);
		CHECK(strstr(line, want[i + 1]) != NULL);
		CHECK(!strncmp(line, "{\"type\":", 8));
	}
	CHECK_INT(i, sizeof(want) / sizeof(want[0]));
	free(out);
}

/*
 * A token event written directly must be byte for byte the one json-c
 * writes: every byte value in the text (NUL, controls, quotes, DEL, bytes
 * that are not UTF-8), tags with odd characters and missing members, and
 * tags that change from one token to the next.
 */
static void test_token_writer_agrees(void)
{
	static const char *const names[] = {
		NULL, "p", "openai:gpt-4o-mini", "a\"b\\c/d\te\x01\x1f\x7f\xc3\xa9", "",
	};
	unsigned long long rng = 0x9e3779b97f4a7c15ull;
	char text[3000];

	for (int round = 0; round < 5000; round++) {
		struct token_case c;
		size_t la, lb;
		char *a, *b;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		c.tag.session = names[rng % 5];
		c.tag.pane = names[(rng >> 8) % 5];
		c.tag.model = names[(rng >> 16) % 5];
		c.tag.run = names[(rng >> 24) % 5];
		c.len = (size_t)((rng >> 32) % sizeof(text));
		for (size_t i = 0; i < c.len; i++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			/* mostly plain text, so that runs of every length occur; now and
			 * then nothing but control characters, six bytes out for each */
			if (round % 10 == 0)
				text[i] = (char)(rng % 0x20);
			else
				text[i] = (char)(rng % 4 ? 'a' + rng % 26 : (rng >> 8) & 0xff);
		}
		c.text = text;
		a = written(token_by_json_c, &c, &la);
		b = written(token_direct, &c, &lb);
		CHECK_INT(lb, la);
		unit_checks++;
		if (la != lb || memcmp(a, b, la)) {
			unit_failures++;
			fprintf(stderr, "token writer differs:\n%s%s", a, b);
			round = 1 << 30;
		}
		free(a);
		free(b);
	}
}

/* A long text written by mlb_json_new_text() is what json-c writes, with and without '/' escaped. */
static void test_text_writer_agrees(void)
{
	static const int flags[] = { JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
				     JSON_C_TO_STRING_PLAIN, JSON_C_TO_STRING_PRETTY };
	unsigned long long rng = 0x2545f4914f6cdd1dull;
	static char text[70000];

	for (int round = 0; round < 300; round++) {
		size_t len = round < 10 ? (size_t)round * 50 : (size_t)(rng % sizeof(text));

		for (size_t i = 0; i < len; i++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			text[i] = rng % 5 ? (char)('a' + rng % 26) : "/\"\\\n\x01\x7f\xc3\xa9\0"[(rng >> 8) % 9];
		}
		for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			json_object *mine = json_object_new_object(), *theirs = json_object_new_object();
			const char *a, *b;

			json_object_object_add(mine, "content", mlb_json_new_text(text, len));
			json_object_object_add(theirs, "content", json_object_new_string_len(text, (int)len));
			a = json_object_to_json_string_ext(mine, flags[f]);
			b = json_object_to_json_string_ext(theirs, flags[f]);
			unit_checks++;
			if (strcmp(a, b)) {
				unit_failures++;
				fprintf(stderr, "text writer differs at length %zu, flags %d\n", len, flags[f]);
				round = 1 << 30;
			}
			json_object_put(mine);
			json_object_put(theirs);
		}
	}
}

int main(void)
{
	mlb_set_progname("test-event");
	test_pass_through();
	test_malformed();
	test_limits();
	test_cut_surrogate();
	test_writer();
	test_quick_scan_agrees();
	test_build_agrees();
	test_token_writer_agrees();
	test_token_batch_order();
	test_text_writer_agrees();
	return unit_done();
}
