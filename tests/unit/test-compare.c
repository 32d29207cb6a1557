/*
 * test-compare.c - unit tests for lib/compare.c, and a helper for the bats
 * suite.
 *
 * Without arguments it checks the renderings and the diff event: the word
 * diff marks exactly the changed spans and never carries a marker or a
 * colour over a line end, the unified diff has diff -u's hunk ranges, the
 * event names both sides and rebuilds both texts, and the staged diff
 * (lines first) is a proper diff on random texts.
 *
 *     test-compare populate <session> (<pane> <model> <answer>)...
 *
 * stores one turn in the session ($MLB_HOME), creating it if need be: a
 * user message "hi" and the answer in each pane, all in one commit, through
 * the store API as mlb-broadcast does.  An answer of "@none" stores only the
 * user message.
 */
#include "compare.h"
#include "event.h"
#include "store.h"
#include "unit.h"

#include <stdlib.h>

static int populate(int argc, char **argv)
{
	struct mlb_pane_append *app;
	struct mlb_session *s;
	size_t n = (size_t)(argc - 3) / 3, i;
	int rc;

	if (argc < 6 || (argc - 3) % 3) {
		fprintf(stderr, "usage: test-compare populate <session> (<pane> <model> <answer>)...\n");
		return 2;
	}
	if (mlb_session_open(argv[2], 1, &s) < 0)
		return 1;
	app = calloc(n, sizeof(*app));
	for (i = 0; i < n; i++) {
		const char *pane = argv[3 + 3 * i], *model = argv[4 + 3 * i], *answer = argv[5 + 3 * i];
		int has_answer = strcmp(answer, "@none") != 0;

		app[i].pane = pane;
		app[i].model = model;
		app[i].nmsgs = has_answer ? 2 : 1;
		app[i].msgs = calloc(2, sizeof(*app[i].msgs));
		mlb_msgfile_init(&app[i].msgs[0]);
		mlb_msgfile_set(&app[i].msgs[0], "Role", "user");
		mlb_msgfile_set_content(&app[i].msgs[0], "hi", 2);
		mlb_msgfile_init(&app[i].msgs[1]);
		if (has_answer) {
			mlb_msgfile_set(&app[i].msgs[1], "Role", "assistant");
			mlb_msgfile_set(&app[i].msgs[1], "Model", model);
			mlb_msgfile_set_content(&app[i].msgs[1], answer, strlen(answer));
		}
	}
	rc = mlb_session_commit(s, app, n, "test-compare: populate", NULL);
	for (i = 0; i < n; i++)
		mlb_msgfiles_free(app[i].msgs, 2);
	free(app);
	mlb_session_close(s);
	return rc < 0 ? 1 : 0;
}

static struct mlb_answer answer(const char *label, const char *text)
{
	return (struct mlb_answer){ .label = label, .pane = label, .text = text, .len = strlen(text) };
}

/* The word diff of a and b, plain or coloured, as a new string. */
static char *words(const char *a, const char *b, int color)
{
	struct mlb_buf out = MLB_BUF_INIT;
	struct mlb_diff d;

	CHECK_INT(mlb_diff(a, strlen(a), b, strlen(b), MLB_DIFF_WORDS, &d), 0);
	mlb_compare_words(&out, &d, color);
	mlb_diff_free(&d);
	return mlb_buf_detach(&out);
}

static char *unified(const char *a, const char *b)
{
	struct mlb_answer x = answer("x", a), y = answer("y", b);
	struct mlb_buf out = MLB_BUF_INIT;

	CHECK_INT(mlb_compare_unified(&out, &x, &y, 0), 0);
	return mlb_buf_detach(&out);
}

static void check_words(void)
{
	char *s;

	s = words("the quick brown fox", "the quick red fox", 0);
	CHECK_STR(s, "the quick [-brown-]{+red+} fox\n");
	free(s);
	s = words("the quick brown fox", "the quick red fox", 1);
	CHECK_STR(s, "the quick \033[31mbrown\033[m\033[32mred\033[m fox\n");
	free(s);
	/* A change across lines is marked line by line; the line ends stay bare. */
	s = words("one\ntwo three\n", "one\nfour\nfive three\n", 0);
	CHECK_STR(s, "one\n[-two-]{+four+}\n{+five+} three\n");
	free(s);
	s = words("a\n", "a\n", 0);
	CHECK_STR(s, "a\n");
	free(s);
	s = words("", "", 0);
	CHECK_STR(s, "");
	free(s);
}

static void check_unified(void)
{
	char *s;

	s = unified("a\nb\nc\n", "a\nb\nc\n");
	CHECK_STR(s, "");
	free(s);
	s = unified("", "new\n");
	CHECK_STR(s, "--- x\n+++ y\n@@ -0,0 +1 @@\n+new\n");
	free(s);
	s = unified("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n",
		    "1\n2\nTHREE\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n20\n");
	CHECK_STR(s, "--- x\n+++ y\n"
		  "@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+THREE\n 4\n 5\n 6\n"
		  "@@ -16,5 +16,4 @@\n 16\n 17\n 18\n-19\n 20\n");
	free(s);
	/* Changes 6 lines apart share a hunk, as in diff -u. */
	s = unified("a\n1\n2\n3\n4\n5\n6\nb\n", "A\n1\n2\n3\n4\n5\n6\nB\n");
	CHECK_STR(s, "--- x\n+++ y\n@@ -1,8 +1,8 @@\n-a\n+A\n 1\n 2\n 3\n 4\n 5\n 6\n-b\n+B\n");
	free(s);
	s = unified("last", "last\n");
	CHECK_STR(s, "--- x\n+++ y\n@@ -1 +1 @@\n-last\n\\ No newline at end of file\n+last\n");
	free(s);
}

static void check_event(void)
{
	static const char a[] = "Hello wörld,\n\nsame  ", b[] = "Hello world!\n\n\nsame";
	struct mlb_answer x = answer("a", a), y = answer("b", b);
	struct mlb_buf ra = MLB_BUF_INIT, rb = MLB_BUF_INIT;
	json_object *ev, *ops;
	struct mlb_diff d;
	size_t i;

	x.session = y.session = "s1";
	x.model = "openai:alpha";
	CHECK_INT(mlb_diff(a, strlen(a), b, strlen(b), MLB_DIFF_CHARS, &d), 0);
	ev = mlb_compare_event(&x, &y, MLB_DIFF_CHARS, &d);
	CHECK_STR(mlb_json_str(ev, "type"), "diff");
	CHECK_STR(mlb_json_str(ev, "session"), "s1");
	CHECK_STR(mlb_json_str(ev, "a"), "a");
	CHECK_STR(mlb_json_str(ev, "b"), "b");
	CHECK_STR(mlb_json_str(ev, "model_a"), "openai:alpha");
	CHECK(!mlb_json_has(ev, "model_b"));
	CHECK_STR(mlb_json_str(ev, "unit"), "chars");
	CHECK(mlb_json_double(ev, "similarity", -1) > 0.5 && mlb_json_double(ev, "similarity", -1) < 1);
	CHECK(json_object_object_get_ex(ev, "ops", &ops));
	for (i = 0; i < json_object_array_length(ops); i++) {
		json_object *op = json_object_array_get_idx(ops, i);
		const char *kind = mlb_json_str(op, "op"), *text = mlb_json_str(op, "text");

		if (strcmp(kind, "insert"))
			mlb_buf_adds(&ra, text);
		if (strcmp(kind, "delete"))
			mlb_buf_adds(&rb, text);
	}
	CHECK_STR(mlb_buf_str(&ra), a);
	CHECK_STR(mlb_buf_str(&rb), b);
	json_object_put(ev);
	/* Two sessions: neither is "the" session. */
	y.session = "s2";
	ev = mlb_compare_event(&x, &y, MLB_DIFF_CHARS, &d);
	CHECK(!mlb_json_has(ev, "session"));
	CHECK_STR(mlb_json_str(ev, "session_a"), "s1");
	CHECK_STR(mlb_json_str(ev, "session_b"), "s2");
	json_object_put(ev);
	mlb_diff_free(&d);
	mlb_buf_free(&ra);
	mlb_buf_free(&rb);
	CHECK_STR(mlb_compare_unit_name(MLB_DIFF_WORDS), "words");
	CHECK_STR(mlb_compare_unit_name(MLB_DIFF_LINES), "lines");
	CHECK_STR(mlb_compare_unit_name(MLB_DIFF_CHARS), "chars");
}

static void check_text(void)
{
	struct mlb_compare_opts o = { .unit = MLB_DIFF_WORDS };
	struct mlb_answer x = answer("a", "one two\n"), y = answer("b", "one three\n");
	struct mlb_buf out = MLB_BUF_INIT;
	struct mlb_diff d;

	CHECK_INT(mlb_diff(x.text, x.len, y.text, y.len, o.unit, &d), 0);
	CHECK_INT(mlb_compare_text(&out, &x, &y, &d, &o, NULL), 0);
	CHECK_STR(mlb_buf_str(&out), "diff a b (similarity 0.56)\none [-two-]{+three+}\n");
	mlb_buf_reset(&out);
	o.unified = 1;
	CHECK_INT(mlb_compare_text(&out, &x, &y, &d, &o, "streaming"), 0);
	CHECK_STR(mlb_buf_str(&out), "diff a b (similarity 0.56, streaming)\n--- a\n+++ b\n@@ -1 +1 @@\n-one two\n+one three\n");
	mlb_buf_free(&out);
	mlb_diff_free(&d);
}

/* A random text of lines of words from a small vocabulary, with blank lines and odd spacing. */
static char *random_text(unsigned *seed, size_t nwords)
{
	static const char *const vocab[] = { "the", "of", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "a", "b", "x y" };
	struct mlb_buf t = MLB_BUF_INIT;

	for (size_t i = 0; i < nwords; i++) {
		unsigned r = (unsigned)rand_r(seed);

		mlb_buf_adds(&t, vocab[r % 7]);
		mlb_buf_adds(&t, r % 11 == 0 ? "\n\n" : r % 5 == 0 ? "\n" : r % 13 == 0 ? "  " : " ");
	}
	return mlb_buf_detach(&t);
}

/* Change a few words of s: replace, drop or repeat one. */
static char *edit_text(unsigned *seed, const char *s)
{
	struct mlb_buf t = MLB_BUF_INIT;
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++) {
		unsigned r = (unsigned)rand_r(seed) % 40;

		if (r == 0 && s[i] != ' ')
			mlb_buf_adds(&t, "EDIT");
		else if (r == 1)
			continue;
		else if (r == 2)
			mlb_buf_addc(&t, '\n');
		mlb_buf_addc(&t, s[i]);
	}
	return mlb_buf_detach(&t);
}

/* The staged diff is a proper diff: it rebuilds both texts, its ops alternate, its numbers add up. */
static void check_staged(const char *a, const char *b, enum mlb_diff_unit unit)
{
	struct mlb_buf ra = MLB_BUF_INIT, rb = MLB_BUF_INIT;
	size_t alen = strlen(a), blen = strlen(b), i, eq = 0;
	struct mlb_diff d;

	CHECK_INT(mlb_compare_diff(a, alen, b, blen, unit, &d), 0);
	for (i = 0; i < d.nops; i++) {
		const struct mlb_diff_op *op = &d.ops[i];

		CHECK(op->len > 0);
		if (i > 0)
			CHECK(op->op != d.ops[i - 1].op &&
			      !(op->op == MLB_DIFF_DELETE && d.ops[i - 1].op == MLB_DIFF_INSERT));
		if (op->op != MLB_DIFF_INSERT)
			mlb_buf_add(&ra, op->text, op->len);
		if (op->op != MLB_DIFF_DELETE)
			mlb_buf_add(&rb, op->text, op->len);
		if (op->op == MLB_DIFF_EQUAL)
			eq += op->len;
	}
	CHECK_STR(mlb_buf_str(&ra), a);
	CHECK_STR(mlb_buf_str(&rb), b);
	CHECK_INT(d.equal_bytes, eq);
	CHECK_INT(d.equal_bytes + d.deleted_bytes, alen);
	CHECK_INT(d.equal_bytes + d.inserted_bytes, blen);
	CHECK(d.similarity == (alen + blen ? 2.0 * (double)eq / (double)(alen + blen) : 1.0));
	mlb_diff_free(&d);
	mlb_buf_free(&ra);
	mlb_buf_free(&rb);
}

static void check_compare_diff(void)
{
	unsigned seed = 1;
	struct mlb_diff x, y;
	static const char one_a[] = "one line of words that changes here and there", one_b[] = "one line of wards that changes there";

	for (int k = 0; k < 200; k++) {
		char *a = random_text(&seed, (size_t)(rand_r(&seed) % 300)), *b = edit_text(&seed, a);

		check_staged(a, b, MLB_DIFF_WORDS);
		check_staged(a, b, MLB_DIFF_CHARS);
		check_staged(a, b, MLB_DIFF_LINES);
		check_staged(b, a, MLB_DIFF_WORDS);
		free(a);
		free(b);
	}
	check_staged("", "", MLB_DIFF_WORDS);
	check_staged("", "x\n", MLB_DIFF_WORDS);
	check_staged("a\n\nb\n", "", MLB_DIFF_CHARS);
	/* Within one line it is exactly lib/diff's diff. */
	CHECK_INT(mlb_compare_diff(one_a, strlen(one_a), one_b, strlen(one_b), MLB_DIFF_WORDS, &x), 0);
	CHECK_INT(mlb_diff(one_a, strlen(one_a), one_b, strlen(one_b), MLB_DIFF_WORDS, &y), 0);
	CHECK_INT(x.nops, y.nops);
	CHECK(x.similarity == y.similarity);
	mlb_diff_free(&x);
	mlb_diff_free(&y);
}

/* Lines both answers start and end with come out as equal spans, and the same answer twice as one. */
static void check_shared_ends(void)
{
	static const char a[] = "same start\nold middle\nsame end", b[] = "same start\nnew middle\nsame end";
	static const char *const ends[][2] = {
		{ "x\ny", "x\nz" }, { "p\nq", "r\nq" }, { "a\n", "a\n\n" }, { "\n\n", "\n" },
		{ "one\ntwo\n", "one\ntwo" }, { "same", "same" }, { "a b\n", "a  b\n" },
	};
	struct mlb_diff d;

	CHECK_INT(mlb_compare_diff(a, strlen(a), a, strlen(a), MLB_DIFF_WORDS, &d), 0);
	CHECK_INT(d.nops, 1);
	CHECK(d.nops == 1 && d.ops[0].op == MLB_DIFF_EQUAL && d.ops[0].len == strlen(a));
	CHECK(d.similarity == 1.0);
	mlb_diff_free(&d);
	CHECK_INT(mlb_compare_diff(a, strlen(a), b, strlen(b), MLB_DIFF_WORDS, &d), 0);
	CHECK_INT(d.nops, 4);
	if (d.nops == 4) {
		CHECK(d.ops[0].op == MLB_DIFF_EQUAL && d.ops[0].len == strlen("same start\n"));
		CHECK(d.ops[1].op == MLB_DIFF_DELETE && d.ops[1].len == 3 && !memcmp(d.ops[1].text, "old", 3));
		CHECK(d.ops[2].op == MLB_DIFF_INSERT && d.ops[2].len == 3 && !memcmp(d.ops[2].text, "new", 3));
		CHECK(d.ops[3].op == MLB_DIFF_EQUAL && d.ops[3].len == strlen(" middle\nsame end"));
	}
	mlb_diff_free(&d);
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		check_staged(ends[i][0], ends[i][1], MLB_DIFF_WORDS);
		check_staged(ends[i][1], ends[i][0], MLB_DIFF_CHARS);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "populate"))
		return populate(argc, argv);
	check_words();
	check_unified();
	check_event();
	check_text();
	check_compare_diff();
	check_shared_ends();
	return unit_done();
}
