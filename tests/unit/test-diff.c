/*
 * test-diff.c - unit tests for lib/diff.c.
 *
 * The main property: the ops always rebuild both texts exactly.  Beyond it,
 * a small edit must give a small diff, short diffs must be minimal (checked
 * against a brute-force LCS), and megabyte inputs must not be slow (timed
 * and printed, not asserted).
 *
 * Usage: test-diff [<bytes> [<unrelated-bytes>]].  The first sets the size
 * of the texts with 1% edits (default 1 MB), the second that of the
 * unrelated texts (default a quarter of it: they cost O(N^1.5), which is
 * slow under the sanitizers).  Smaller sizes suit valgrind.
 */
#include "diff.h"
#include "unit.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* A growable string, enough for building test texts. */
struct str {
	char *s;
	size_t len, cap;
};

static void str_add(struct str *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		if (!t->s)
			abort();
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void str_adds(struct str *t, const char *p)
{
	str_add(t, p, strlen(p));
}

/* xorshift64: a fixed seed makes every run test the same pairs. */
static uint64_t rng_state = 88172645463325252u;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t rndn(size_t n)
{
	return (size_t)(rnd() % n);
}

static const char *const small_words[] = {
	"the", "a", "model", "answer", "is", "not", "and", "or", "café", "naïve",
	"λ", "日本", "42", "x", "y", "z", "code", "diff", "line", "word",
};
static const char *const spaces[] = { " ", " ", " ", " ", "  ", "\n", "\t", "\n\n", " \n" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Check everything a diff promises about itself; returns edited bytes. */
static size_t check_diff(const char *a, size_t alen, const char *b, size_t blen,
			 enum mlb_diff_unit unit, struct mlb_diff *d)
{
	struct str ra = { 0 }, rb = { 0 };
	size_t i, eq = 0, del = 0, ins = 0;
	int bad = 0;

	CHECK_INT(mlb_diff(a, alen, b, blen, unit, d), 0);
	for (i = 0; i < d->nops; i++) {
		const struct mlb_diff_op *o = &d->ops[i];

		bad |= o->len == 0;
		bad |= i > 0 && d->ops[i - 1].op == o->op;
		bad |= i > 0 && d->ops[i - 1].op == MLB_DIFF_INSERT && o->op == MLB_DIFF_DELETE;
		if (o->op != MLB_DIFF_INSERT)
			str_add(&ra, o->text, o->len);
		if (o->op != MLB_DIFF_DELETE)
			str_add(&rb, o->text, o->len);
		if (o->op == MLB_DIFF_EQUAL)
			eq += o->len;
		else if (o->op == MLB_DIFF_DELETE)
			del += o->len;
		else
			ins += o->len;
	}
	CHECK(!bad);
	CHECK_INT(ra.len, alen);
	CHECK_INT(rb.len, blen);
	CHECK(ra.len == alen && (alen == 0 || memcmp(ra.s, a, alen) == 0));
	CHECK(rb.len == blen && (blen == 0 || memcmp(rb.s, b, blen) == 0));
	CHECK_INT(d->equal_bytes, eq);
	CHECK_INT(d->deleted_bytes, del);
	CHECK_INT(d->inserted_bytes, ins);
	if (alen + blen == 0)
		CHECK(d->similarity == 1.0);
	else
		CHECK(d->similarity == 2.0 * (double)eq / ((double)alen + (double)blen));
	free(ra.s);
	free(rb.s);
	return del + ins;
}

/* Diff a and b in every unit and check the rebuild property. */
static void check_all_units(const char *a, size_t alen, const char *b, size_t blen)
{
	static const enum mlb_diff_unit units[] = { MLB_DIFF_WORDS, MLB_DIFF_LINES, MLB_DIFF_CHARS };
	struct mlb_diff d;
	size_t u;

	for (u = 0; u < NELEM(units); u++) {
		check_diff(a, alen, b, blen, units[u], &d);
		mlb_diff_free(&d);
	}
}

static void check_strs(const char *a, const char *b)
{
	check_all_units(a, strlen(a), b, strlen(b));
}

/* Expect exactly the ops given as kind, text pairs, ending with a NULL text. */
static void expect_ops(const char *a, const char *b, enum mlb_diff_unit unit, ...)
{
	struct mlb_diff d;
	va_list ap;
	size_t i = 0;
	const char *text;
	int kind;

	check_diff(a, strlen(a), b, strlen(b), unit, &d);
	va_start(ap, unit);
	for (;;) {
		kind = va_arg(ap, int);
		text = va_arg(ap, const char *);
		if (!text)
			break;
		if (i >= d.nops) {
			CHECK(i < d.nops);
			break;
		}
		CHECK_STR(mlb_diff_opname(d.ops[i].op), mlb_diff_opname((enum mlb_diff_opkind)kind));
		CHECK_INT(d.ops[i].len, strlen(text));
		CHECK(d.ops[i].len == strlen(text) && memcmp(d.ops[i].text, text, d.ops[i].len) == 0);
		i++;
	}
	va_end(ap);
	CHECK_INT(d.nops, i);
	mlb_diff_free(&d);
}

#define EQ MLB_DIFF_EQUAL
#define DEL MLB_DIFF_DELETE
#define INS MLB_DIFF_INSERT

static void test_hand_written(void)
{
	struct mlb_diff d;

	CHECK_STR(mlb_diff_opname(MLB_DIFF_EQUAL), "equal");
	CHECK_STR(mlb_diff_opname(MLB_DIFF_DELETE), "delete");
	CHECK_STR(mlb_diff_opname(MLB_DIFF_INSERT), "insert");

	check_strs("", "");
	check_strs("", "x");
	check_strs("x", "");
	check_strs("same text\n", "same text\n");
	check_strs("the quick brown fox", "the quick red fox");
	check_strs("a  b\tc\n", "a b c\n");
	check_strs("world", "hello world");
	check_strs("hello", "hello world");
	check_strs("abc", "xyz");
	check_strs("naïve café λ 日本", "naive cafe λ 日本語");
	check_strs("\xff\xfe bad \xc3", "\xff bad \xc3\xa9");

	CHECK_INT(mlb_diff(NULL, 0, NULL, 0, MLB_DIFF_WORDS, &d), 0);
	CHECK_INT(d.nops, 0);
	CHECK(d.similarity == 1.0);
	mlb_diff_free(&d);
	mlb_diff_free(&d);	/* freeing twice is harmless */

	expect_ops("", "x y", MLB_DIFF_WORDS, INS, "x y", 0, NULL);
	expect_ops("x y", "", MLB_DIFF_WORDS, DEL, "x y", 0, NULL);
	expect_ops("same", "same", MLB_DIFF_WORDS, EQ, "same", 0, NULL);
	expect_ops("abc", "xyz", MLB_DIFF_WORDS, DEL, "abc", INS, "xyz", 0, NULL);
	expect_ops("the quick brown fox", "the quick red fox", MLB_DIFF_WORDS,
		   EQ, "the quick ", DEL, "brown", INS, "red", EQ, " fox", 0, NULL);
	expect_ops("a b", "a  b", MLB_DIFF_WORDS, EQ, "a", DEL, " ", INS, "  ", EQ, "b", 0, NULL);
	expect_ops("world", "hello world", MLB_DIFF_WORDS, INS, "hello ", EQ, "world", 0, NULL);
	expect_ops("hello", "hello world", MLB_DIFF_WORDS, EQ, "hello", INS, " world", 0, NULL);
	expect_ops("one\ntwo\nthree", "one\n2\nthree\n", MLB_DIFF_LINES,
		   EQ, "one\n", DEL, "two\nthree", INS, "2\nthree\n", 0, NULL);
	expect_ops("a\nb\nc\n", "a\nc\n", MLB_DIFF_LINES, EQ, "a\n", DEL, "b\n", EQ, "c\n", 0, NULL);
	expect_ops("café", "cafe", MLB_DIFF_CHARS, EQ, "caf", DEL, "é", INS, "e", 0, NULL);
	expect_ops("日本", "日本語", MLB_DIFF_CHARS, EQ, "日本", INS, "語", 0, NULL);
	/* An invalid byte is a token of its own, even next to a valid lead byte. */
	expect_ops("\xe6\x97", "\xe6\x98", MLB_DIFF_CHARS, EQ, "\xe6", DEL, "\x97", INS, "\x98", 0, NULL);

	check_diff("ab", 2, "ab", 2, MLB_DIFF_CHARS, &d);
	CHECK(d.similarity == 1.0);
	mlb_diff_free(&d);
	check_diff("abcd", 4, "abxy", 4, MLB_DIFF_CHARS, &d);
	CHECK(d.similarity == 0.5);
	mlb_diff_free(&d);
}

/* Append n random words with random whitespace between them. */
static void random_text(struct str *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			str_adds(t, spaces[rndn(NELEM(spaces))]);
		str_adds(t, small_words[rndn(NELEM(small_words))]);
	}
}

/* A copy of a with a few random word and whitespace edits. */
static void random_edit(struct str *out, const char *a, size_t alen)
{
	size_t i = 0, j, nedits = rndn(8);

	while (i < alen) {
		for (j = i; j < alen && (a[j] == ' ') == (a[i] == ' '); j++)
			;
		if (rndn(alen / (j - i) + 1) < nedits) {
			switch (rndn(4)) {
			case 0:		/* delete */
				break;
			case 1:		/* replace */
				str_adds(out, small_words[rndn(NELEM(small_words))]);
				break;
			case 2:		/* insert before */
				str_adds(out, small_words[rndn(NELEM(small_words))]);
				str_adds(out, spaces[rndn(NELEM(spaces))]);
				str_add(out, a + i, j - i);
				break;
			default:	/* whitespace */
				str_adds(out, spaces[rndn(NELEM(spaces))]);
				break;
			}
		} else {
			str_add(out, a + i, j - i);
		}
		i = j;
	}
	if (!out->s)
		str_add(out, "", 0);
}

static void test_random_pairs(void)
{
	struct str a, b;
	int k;

	for (k = 0; k < 500; k++) {
		a = (struct str){ 0 };
		b = (struct str){ 0 };
		random_text(&a, rndn(200));
		if (!a.s)
			str_add(&a, "", 0);
		if (k % 10 == 9)
			random_text(&b, rndn(200));	/* now and then unrelated */
		else
			random_edit(&b, a.s, a.len);
		if (!b.s)
			str_add(&b, "", 0);
		check_all_units(a.s, a.len, b.s, b.len);
		free(a.s);
		free(b.s);
	}
}

static void test_small_edit(void)
{
	struct str a = { 0 }, b = { 0 };
	struct mlb_diff d;
	char w[32];
	size_t i, cut = 0;

	for (i = 0; i < 1000; i++) {
		snprintf(w, sizeof(w), "%sword%zu", i ? " " : "", i % 37);
		str_adds(&a, w);
		if (i == 500) {
			str_adds(&b, " CHANGED");
			cut = b.len;
		} else {
			str_adds(&b, w);
		}
	}
	check_diff(a.s, a.len, b.s, b.len, MLB_DIFF_WORDS, &d);
	CHECK_INT(d.nops, 4);
	if (d.nops == 4) {
		CHECK_INT(d.ops[0].op, MLB_DIFF_EQUAL);
		CHECK_INT(d.ops[1].op, MLB_DIFF_DELETE);
		CHECK_INT(d.ops[2].op, MLB_DIFF_INSERT);
		CHECK_INT(d.ops[3].op, MLB_DIFF_EQUAL);
		CHECK_INT(d.ops[0].len, cut - strlen("CHANGED"));
		CHECK(d.ops[0].text == a.s);
		CHECK(d.ops[1].len == strlen("word19") && memcmp(d.ops[1].text, "word19", 6) == 0);
		CHECK(d.ops[2].len == strlen("CHANGED") && memcmp(d.ops[2].text, "CHANGED", 7) == 0);
		CHECK(d.ops[2].text == b.s + cut - strlen("CHANGED"));
		CHECK(d.ops[3].text + d.ops[3].len == a.s + a.len);
	}
	mlb_diff_free(&d);
	free(a.s);
	free(b.s);
}

/* Minimal edit count by dynamic programming: n + m - 2 * LCS. */
static size_t lcs_edits(const size_t *x, size_t n, const size_t *y, size_t m)
{
	size_t t[64][64], i, j;

	for (i = 0; i <= n; i++)
		for (j = 0; j <= m; j++) {
			if (i == 0 || j == 0)
				t[i][j] = 0;
			else if (x[i - 1] == y[j - 1])
				t[i][j] = t[i - 1][j - 1] + 1;
			else
				t[i][j] = t[i - 1][j] > t[i][j - 1] ? t[i - 1][j] : t[i][j - 1];
		}
	return n + m - 2 * t[n][m];
}

/* Words mode on tokens "a" .. "d" and " ": token i of text is a symbol. */
static size_t make_tokens(char *text, size_t *sym, size_t n)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		if (i % 2) {
			sym[i] = 100 + rndn(2);	/* one or two spaces */
			text[len++] = ' ';
			if (sym[i] == 101)
				text[len++] = ' ';
		} else {
			sym[i] = rndn(4);
			text[len++] = (char)('a' + sym[i]);
		}
	}
	text[len] = '\0';
	return len;
}

/* Count the tokens of the deleted and inserted spans (words mode). */
static size_t edited_tokens(const struct mlb_diff *d)
{
	size_t i, j, n = 0;

	for (i = 0; i < d->nops; i++) {
		if (d->ops[i].op == MLB_DIFF_EQUAL)
			continue;
		for (j = 0; j < d->ops[i].len; j++)
			n += j == 0 || (d->ops[i].text[j] == ' ') != (d->ops[i].text[j - 1] == ' ');
	}
	return n;
}

static void test_minimal(void)
{
	char a[128], b[128];
	size_t xa[64], xb[64], na, nb, i, lena, lenb;
	struct mlb_diff d;
	int k;

	/* Chars mode over a small alphabet: each byte is a token. */
	for (k = 0; k < 2000; k++) {
		na = rndn(41), nb = rndn(41);
		for (i = 0; i < na; i++)
			xa[i] = rndn(3 + (size_t)k % 4), a[i] = (char)('a' + xa[i]);
		for (i = 0; i < nb; i++)
			xb[i] = rndn(3 + (size_t)k % 4), b[i] = (char)('a' + xb[i]);
		CHECK_INT(check_diff(a, na, b, nb, MLB_DIFF_CHARS, &d), lcs_edits(xa, na, xb, nb));
		mlb_diff_free(&d);
	}
	/* Words mode: words and whitespace runs alternate. */
	for (k = 0; k < 1000; k++) {
		na = rndn(41), nb = rndn(41);
		lena = make_tokens(a, xa, na);
		lenb = make_tokens(b, xb, nb);
		check_diff(a, lena, b, lenb, MLB_DIFF_WORDS, &d);
		CHECK_INT(edited_tokens(&d), lcs_edits(xa, na, xb, nb));
		mlb_diff_free(&d);
	}
}

/* English-like text: words from a skewed vocabulary, spaces, punctuation. */
static void big_text(struct str *t, size_t bytes, char first)
{
	static char vocab[2000][12];
	static char last = 0;
	size_t i, j, len;

	if (last != first) {
		for (i = 0; i < 2000; i++) {
			len = 1 + rndn(9);
			for (j = 0; j < len; j++)
				vocab[i][j] = (char)(first + rndn(26));
			vocab[i][len] = '\0';
		}
		last = first;
	}
	while (t->len < bytes) {
		/* The min of two draws makes low-numbered words more common. */
		i = rndn(2000);
		j = rndn(2000);
		str_adds(t, vocab[i < j ? i : j]);
		str_adds(t, rndn(15) ? " " : rndn(2) ? ", " : ".\n");
	}
}

/* b is a with about one word in a hundred replaced, deleted or added to. */
static void edit_percent(struct str *b, const struct str *a)
{
	size_t i = 0, j;

	while (i < a->len) {
		for (j = i; j < a->len && a->s[j] != ' '; j++)
			;
		if (j < a->len)
			j++;
		if (rndn(100) == 0)
			str_adds(b, rndn(2) ? "EDIT " : "");
		else
			str_add(b, a->s + i, j - i);
		if (rndn(300) == 0)
			str_adds(b, "ADDED ");
		i = j;
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void time_diff(const char *what, const struct str *a, const struct str *b)
{
	struct mlb_diff d;
	double t0 = now(), t;

	CHECK_INT(mlb_diff(a->s, a->len, b->s, b->len, MLB_DIFF_WORDS, &d), 0);
	t = now() - t0;
	fprintf(stderr, "test-diff: %s: %zu and %zu bytes, %zu ops, similarity %.3f, %.3f s\n",
		what, a->len, b->len, d.nops, d.similarity, t);
	mlb_diff_free(&d);
	/* Check the rebuild property too, outside the timed part. */
	check_diff(a->s, a->len, b->s, b->len, MLB_DIFF_WORDS, &d);
	mlb_diff_free(&d);
}

static void test_speed(size_t bytes, size_t unrelated)
{
	struct str a = { 0 }, b = { 0 }, c = { 0 }, e = { 0 };
	size_t i;

	big_text(&a, bytes, 'a');
	edit_percent(&b, &a);
	time_diff("1% of words edited", &a, &b);
	free(a.s);
	a = (struct str){ 0 };
	/* Same vocabulary: common words and spaces match all over the place. */
	big_text(&a, unrelated, 'a');
	big_text(&c, unrelated, 'a');
	time_diff("unrelated texts, same vocabulary", &a, &c);
	/* Disjoint vocabulary: only the spaces and punctuation can match. */
	big_text(&e, unrelated, 'A');
	time_diff("unrelated texts, disjoint vocabulary", &a, &e);
	/* Nothing in common at all: not even the whitespace. */
	for (i = 0; i < e.len; i++)
		if (e.s[i] == ' ' || e.s[i] == '\n')
			e.s[i] = '\t';
	time_diff("nothing in common", &a, &e);
	free(a.s);
	free(b.s);
	free(c.s);
	free(e.s);
}

int main(int argc, char **argv)
{
	size_t big = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 1 << 20;
	size_t unrelated = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : big / 4;

	test_hand_written();
	test_random_pairs();
	test_small_edit();
	test_minimal();
	test_speed(big, unrelated);
	return unit_done();
}
