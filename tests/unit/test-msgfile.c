/*
 * test-msgfile.c - unit tests for lib/msgfile.c.
 *
 * The property that matters: whatever the content, format then parse gives
 * back the same headers and the same bytes, and a file that is not a
 * message file is refused without a crash.
 */
#include "msgfile.h"
#include "unit.h"

#include <stdlib.h>

/* Format m, parse the bytes, and check that headers and content survive. */
static void round_trip(const char *content, size_t len)
{
	struct mlb_msgfile m, back;
	char *bytes;
	size_t n, i;

	mlb_msgfile_init(&m);
	mlb_msgfile_set(&m, "Role", "assistant");
	mlb_msgfile_set(&m, "Model", "groq:llama-3.1-8b-instant");
	mlb_msgfile_set(&m, "Date", "2026-11-22T02:30:00.123Z");
	mlb_msgfile_set_content(&m, content, len);
	CHECK(mlb_msgfile_verify(&m));
	bytes = mlb_msgfile_format(&m, &n);
	CHECK_INT(mlb_msgfile_parse(bytes, n, &back), 0);
	CHECK_INT(back.nheaders, m.nheaders);
	for (i = 0; i < m.nheaders && i < back.nheaders; i++) {
		CHECK_STR(back.headers[i].name, m.headers[i].name);
		CHECK_STR(back.headers[i].value, m.headers[i].value);
	}
	CHECK_INT(back.content_len, len);
	CHECK(back.content_len == len && memcmp(back.content, content, len) == 0);
	CHECK(back.content[back.content_len] == '\0');
	CHECK(mlb_msgfile_verify(&back));
	/* The file ends with the content itself: nothing is added. */
	CHECK(n >= len && memcmp(bytes + n - len, content, len) == 0);
	free(bytes);
	mlb_msgfile_free(&back);
	mlb_msgfile_free(&m);
}

static void check_bad(const char *data)
{
	struct mlb_msgfile m;

	CHECK_INT(mlb_msgfile_parse(data, strlen(data), &m), -1);
	CHECK_INT(m.nheaders, 0);
	CHECK_INT(m.content_len, 0);
	mlb_msgfile_free(&m);
}

int main(void)
{
	static const char blank_lines[] = "first paragraph\n\nsecond\n\n\nthird\n";
	static const char header_like[] = "Role: user\nModel: fake:one\n\nRole: system\n";
	static const char utf8[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x01\x02\x7f\r\n\ttab";
	static const char no_newline[] = "the end has no newline";
	struct mlb_msgfile m;
	char *bytes;
	size_t n;

	round_trip(blank_lines, strlen(blank_lines));
	round_trip(header_like, strlen(header_like));
	round_trip(utf8, strlen(utf8));
	round_trip(no_newline, strlen(no_newline));
	round_trip("", 0);
	round_trip("\n", 1);
	round_trip("\n\n\n", 3);
	round_trip("a\0b", 3);

	/* Known bytes for a known message: the format is the contract. */
	mlb_msgfile_init(&m);
	mlb_msgfile_set(&m, "Role", "user");
	mlb_msgfile_set(&m, "Date", "2026-01-01T00:00:00.000Z");
	mlb_msgfile_set_content(&m, "hi", 2);
	bytes = mlb_msgfile_format(&m, &n);
	CHECK_STR(bytes, "Role: user\nDate: 2026-01-01T00:00:00.000Z\n"
		  "Content-Hash: sha256:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4\n\nhi");
	CHECK_INT(n, strlen(bytes));
	free(bytes);

	/* Set replaces, case-insensitive get, NULL removes, a value is one line. */
	mlb_msgfile_set(&m, "role", "assistant");
	CHECK_STR(mlb_msgfile_get(&m, "ROLE"), "assistant");
	CHECK_STR(m.headers[0].name, "Role");
	mlb_msgfile_set(&m, "Finish-Reason", "stop\nInjected: yes\r\n");
	CHECK_STR(mlb_msgfile_get(&m, "finish-reason"), "stop Injected: yes  ");
	CHECK(mlb_msgfile_get(&m, "Injected") == NULL);
	mlb_msgfile_set(&m, "Tool", " \t\n mlb-send");
	CHECK_STR(mlb_msgfile_get(&m, "Tool"), "mlb-send");
	mlb_msgfile_set(&m, "Tool", NULL);
	mlb_msgfile_set(&m, "Date", NULL);
	CHECK(mlb_msgfile_get(&m, "Date") == NULL);
	CHECK_INT(m.nheaders, 3);
	CHECK(mlb_msgfile_get(&m, "Missing") == NULL);
	/* A changed content no longer verifies until it is set properly. */
	m.content[0] = 'H';
	CHECK(!mlb_msgfile_verify(&m));
	mlb_msgfile_set_content(&m, "Hi", 2);
	CHECK(mlb_msgfile_verify(&m));
	mlb_msgfile_free(&m);
	CHECK_INT(m.nheaders, 0);
	mlb_msgfile_free(&m);	/* freeing twice is harmless */

	/* Moving headers to the front keeps the rest in order. */
	{
		static const char *const first[] = { "Role", "Date", "Missing", NULL };

		mlb_msgfile_init(&m);
		mlb_msgfile_set(&m, "Source-Pane", "a");
		mlb_msgfile_set(&m, "date", "d");
		mlb_msgfile_set(&m, "Tool", "t");
		mlb_msgfile_set(&m, "Role", "user");
		mlb_msgfile_order(&m, first);
		CHECK_INT(m.nheaders, 4);
		CHECK_STR(m.headers[0].name, "Role");
		CHECK_STR(m.headers[1].name, "date");
		CHECK_STR(m.headers[2].name, "Source-Pane");
		CHECK_STR(m.headers[3].name, "Tool");
		mlb_msgfile_free(&m);
		mlb_msgfile_order(&m, first);	/* no headers at all */
		CHECK_INT(m.nheaders, 0);
	}

	/* CRLF headers, folded lines, no space after the colon. */
	{
		static const char crlf[] = "Role: user\r\nModel:fake:x\r\nX-Long: one\r\n  two\r\n\r\nbody\r\n";

		CHECK_INT(mlb_msgfile_parse(crlf, strlen(crlf), &m), 0);
		CHECK_STR(mlb_msgfile_get(&m, "Role"), "user");
		CHECK_STR(mlb_msgfile_get(&m, "Model"), "fake:x");
		CHECK_STR(mlb_msgfile_get(&m, "X-Long"), "one two");
		CHECK_INT(m.content_len, 6);
		CHECK_STR(m.content, "body\r\n");
		mlb_msgfile_free(&m);
	}
	/* Odd blanks and stray CRs read back the way set() would have stored them, so that
	 * formatting and parsing again is stable (cases the fuzzer found). */
	{
		static const char odd[] = "Role: user\r\nM:\n  tgo\r\nX:\r \n  two\r\nY: a\r\r\n\r\nb";
		struct mlb_msgfile back;
		char *bytes;

		CHECK_INT(mlb_msgfile_parse(odd, strlen(odd), &m), 0);
		CHECK_STR(mlb_msgfile_get(&m, "M"), "tgo");
		CHECK_STR(mlb_msgfile_get(&m, "X"), "two");
		CHECK_STR(mlb_msgfile_get(&m, "Y"), "a ");
		bytes = mlb_msgfile_format(&m, &n);
		CHECK_INT(mlb_msgfile_parse(bytes, n, &back), 0);
		CHECK_STR(mlb_msgfile_get(&back, "X"), "two");
		CHECK_STR(mlb_msgfile_get(&back, "Y"), "a ");
		free(bytes);
		mlb_msgfile_free(&back);
		mlb_msgfile_free(&m);
	}
	/* Only headers and the blank line: empty content. */
	CHECK_INT(mlb_msgfile_parse("Role: user\n\n", 12, &m), 0);
	CHECK_INT(m.content_len, 0);
	CHECK_STR(m.content, "");
	mlb_msgfile_free(&m);

	/* Malformed: refused, nothing left behind. */
	check_bad("");
	check_bad("\n");
	check_bad("\nbody");
	check_bad("Role: user");
	check_bad("Role: user\n");
	check_bad("Role: user\nModel: x\n");
	check_bad("Role: user\nno colon here\n\nbody");
	check_bad("Role user\n\nbody");
	check_bad(": empty name\n\nbody");
	check_bad("Bad Name: x\n\nbody");
	check_bad(" folded first\n\nbody");
	CHECK_INT(mlb_msgfile_parse("Role: a\0b\n\nx", 12, &m), -1);
	mlb_msgfile_free(&m);
	/* A prefix of a good file that stops inside the headers never parses. */
	{
		static const char good[] = "Role: user\nDate: 2026-01-01T00:00:00.000Z\n\ncontent";
		size_t i, head = strlen(good) - strlen("\ncontent");

		for (i = 0; i < head; i++) {
			CHECK_INT(mlb_msgfile_parse(good, i, &m), -1);
			mlb_msgfile_free(&m);
		}
		CHECK_INT(mlb_msgfile_parse(good, head + 1, &m), 0);
		CHECK_INT(m.content_len, 0);
		mlb_msgfile_free(&m);
	}
	return unit_done();
}
