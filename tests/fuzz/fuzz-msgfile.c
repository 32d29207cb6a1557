/*
 * fuzz-msgfile.c - the message-file parser and formatter (lib/msgfile.c).
 *
 * A file that parses must format to bytes that parse to the same headers
 * and content, and formatting that again must give the same bytes: what a
 * tool reads back from a session is what it stored.  Input that does not
 * parse is cut at NUL bytes into header names, values and a content, set
 * with mlb_msgfile_set(), and must survive format and parse the same way.
 */
#include "fuzz.h"
#include "msgfile.h"

#include <strings.h>

static void same_message(const struct mlb_msgfile *a, const struct mlb_msgfile *b)
{
	FUZZ_CHECK(a->nheaders == b->nheaders);
	for (size_t i = 0; i < a->nheaders; i++) {
		FUZZ_CHECK(strcmp(a->headers[i].name, b->headers[i].name) == 0);
		FUZZ_CHECK(strcmp(a->headers[i].value, b->headers[i].value) == 0);
	}
	FUZZ_CHECK(a->content_len == b->content_len);
	FUZZ_CHECK(!a->content_len || memcmp(a->content, b->content, a->content_len) == 0);
	FUZZ_CHECK(a->content[a->content_len] == '\0' && b->content[b->content_len] == '\0');
}

/* Format m, parse the bytes back, compare, and check that formatting is then a fixed point. */
static void round_trip(const struct mlb_msgfile *m)
{
	struct mlb_msgfile back;
	size_t len, len2;
	char *bytes = mlb_msgfile_format(m, &len), *again;

	FUZZ_CHECK(bytes && bytes[len] == '\0');
	if (m->nheaders == 0) {
		/* The format needs at least one header: such a message cannot be read back. */
		FUZZ_CHECK(mlb_msgfile_parse(bytes, len, &back) == -1);
		free(bytes);
		return;
	}
	FUZZ_CHECK(mlb_msgfile_parse(bytes, len, &back) == 0);
	same_message(m, &back);
	again = mlb_msgfile_format(&back, &len2);
	FUZZ_CHECK(len == len2 && memcmp(bytes, again, len) == 0);
	FUZZ_CHECK(mlb_msgfile_verify(m) == mlb_msgfile_verify(&back));
	free(again);
	free(bytes);
	mlb_msgfile_free(&back);
}

static void from_pieces(const char *s, size_t size)
{
	static const char *const order[] = { "Content-Hash", "Role", "Model", NULL };
	struct mlb_msgfile m;
	const char *piece[8];
	size_t npieces = 0, at = 0, nheaders;

	/* NUL-separated: name, value, name, value, ..., and the rest is the content. */
	while (npieces < 7 && at < size) {
		const char *nul = memchr(s + at, '\0', size - at);

		if (!nul)
			break;
		piece[npieces++] = s + at;
		at = (size_t)(nul - s) + 1;
	}
	mlb_msgfile_init(&m);
	for (size_t i = 0; i + 1 < npieces; i += 2)
		mlb_msgfile_set(&m, piece[i], piece[i + 1]);
	/* A name set twice is replaced; NULL removes it. */
	if (npieces >= 2) {
		mlb_msgfile_set(&m, piece[0], piece[1]);
		if (npieces == 3)
			mlb_msgfile_set(&m, piece[2], NULL);
	}
	for (size_t i = 0; i < m.nheaders; i++)
		FUZZ_CHECK(!strpbrk(m.headers[i].value, "\r\n"));
	mlb_msgfile_set_content(&m, s + at, size - at);
	FUZZ_CHECK(mlb_msgfile_verify(&m));
	nheaders = m.nheaders;
	mlb_msgfile_order(&m, order);
	FUZZ_CHECK(m.nheaders == nheaders);
	FUZZ_CHECK(strcasecmp(m.headers[0].name, "Content-Hash") == 0);
	round_trip(&m);
	mlb_msgfile_free(&m);
	FUZZ_CHECK(m.nheaders == 0 && m.content_len == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct mlb_msgfile m;

	if (mlb_msgfile_parse(s, size, &m) == 0) {
		FUZZ_CHECK(m.nheaders > 0);
		/* A header block with a NUL is refused, folded lines included: no value is cut short. */
		FUZZ_CHECK(!memchr(s, '\0', size - m.content_len));
		for (size_t i = 0; i < m.nheaders; i++) {
			FUZZ_CHECK(*m.headers[i].name);
			FUZZ_CHECK(!strpbrk(m.headers[i].name, ": \t\r\n"));
		}
		round_trip(&m);
		mlb_msgfile_free(&m);
	} else {
		FUZZ_CHECK(m.nheaders == 0 && m.content_len == 0);
		from_pieces(s, size);
	}
	return 0;
}
