/*
 * fuzz-sse.c - the SSE parser (lib/sse.c) on arbitrary bytes.
 *
 * The first bytes choose the parser's limit, where to split the stream and
 * at which event the callback asks to stop; the rest is the stream.  The
 * same stream is parsed whole, split in two at that point, and (when short)
 * byte by byte: the network may cut a stream anywhere, so every way must
 * give the same events and the same final result.  A reset parser must
 * behave like a new one.
 */
#include "fuzz.h"
#include "sse.h"

struct rec {
	char *s;
	size_t len, cap;
	size_t max;
	int events;
	int stop_at;
};

static void rec_add(struct rec *r, const void *p, size_t n)
{
	if (!n)
		return;
	if (r->len + n > r->cap) {
		while (r->len + n > r->cap)
			r->cap = r->cap ? r->cap * 2 : 256;
		r->s = realloc(r->s, r->cap);
		if (!r->s)
			abort();
	}
	memcpy(r->s + r->len, p, n);
	r->len += n;
}

static int on_event(void *ctx, const char *event, const char *data, size_t len, const char *id)
{
	struct rec *r = ctx;

	FUZZ_CHECK(event && data && id);
	FUZZ_CHECK(len <= r->max);
	FUZZ_CHECK(strlen(event) <= r->max && strlen(id) <= r->max);
	/* Lines end at CR or LF: no field can hold one, except data's joining \n. */
	FUZZ_CHECK(!memchr(data, '\r', len));
	FUZZ_CHECK(!strpbrk(event, "\r\n") && !strpbrk(id, "\r\n"));
	rec_add(r, event, strlen(event) + 1);
	rec_add(r, id, strlen(id) + 1);
	rec_add(r, &len, sizeof(len));
	rec_add(r, data, len);
	r->events++;
	return r->stop_at && r->events == r->stop_at ? 7 : 0;
}

/* Feed the stream in pieces cut at the given points; the result of finish. */
static int parse(struct mlb_sse *p, struct rec *r, const uint8_t *s, size_t len,
		 const size_t *cuts, size_t ncuts)
{
	size_t at = 0;
	int rc, sticky = 0;

	r->len = 0;
	r->events = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		/* From a copy freed after the feed, as libcurl reuses its buffer:
		 * an event handed over in place must be copied before the feed returns. */
		char *piece = malloc(end - at ? end - at : 1);

		if (!piece)
			abort();
		memcpy(piece, s + at, end - at);
		rc = mlb_sse_feed(p, piece, end - at);
		memset(piece, 'X', end - at);
		free(piece);
		/* Errors are sticky: once non-zero, always the same. */
		if (sticky)
			FUZZ_CHECK(rc == sticky);
		else if (rc)
			sticky = rc;
		FUZZ_CHECK(rc == 0 || rc == 7 || rc == MLB_SSE_TOO_LONG || rc == MLB_SSE_NOMEM);
		at = end;
	}
	rc = mlb_sse_finish(p);
	if (sticky)
		FUZZ_CHECK(rc == sticky);
	return rc;
}

static void same(const struct rec *a, int rca, const struct rec *b, int rcb)
{
	FUZZ_CHECK(rca == rcb);
	FUZZ_CHECK(a->events == b->events);
	FUZZ_CHECK(a->len == b->len);
	FUZZ_CHECK(a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t limit = fuzz_take(&data, &size, 1);
	uint32_t split = fuzz_take(&data, &size, 2);
	uint32_t stop = fuzz_take(&data, &size, 1);
	size_t max = limit ? (size_t)limit * 8 : 0;
	struct rec whole = { 0 }, parts = { 0 }, bytes = { 0 };
	struct mlb_sse *p;
	size_t cut[1];
	int rc_whole, rc;

	whole.max = parts.max = bytes.max = max ? max : (size_t)16 << 20;
	whole.stop_at = parts.stop_at = bytes.stop_at = stop < 16 ? (int)stop : 0;

	p = mlb_sse_new(on_event, &whole, max);
	FUZZ_CHECK(p);
	rc_whole = parse(p, &whole, data, size, NULL, 0);

	/* A reset parser is a new parser (its callback still records into whole). */
	parts.len = 0;
	rec_add(&parts, whole.s, whole.len);
	parts.events = whole.events;
	mlb_sse_reset(p);
	rc = parse(p, &whole, data, size, NULL, 0);
	same(&parts, rc_whole, &whole, rc);
	mlb_sse_free(p);

	p = mlb_sse_new(on_event, &parts, max);
	cut[0] = size ? split % (size + 1) : 0;
	rc = parse(p, &parts, data, size, cut, 1);
	same(&whole, rc_whole, &parts, rc);
	mlb_sse_free(p);

	if (size <= 2048) {
		size_t *cuts = malloc((size ? size : 1) * sizeof(*cuts));

		if (!cuts)
			abort();
		for (size_t i = 0; i < size; i++)
			cuts[i] = i;
		p = mlb_sse_new(on_event, &bytes, max);
		rc = parse(p, &bytes, data, size, cuts, size);
		same(&whole, rc_whole, &bytes, rc);
		mlb_sse_free(p);
		free(cuts);
	}
	free(whole.s);
	free(parts.s);
	free(bytes.s);
	return 0;
}
