/*
 * wire-harness.h - the body of fuzz-wire-<kind>.c: one wire kind's decoders
 * (lib/wire*.c) on arbitrary bytes.  Each includer defines FUZZ_KIND.
 *
 * The input is read three ways, as the runner would meet it: as an SSE
 * stream whose events go to mlb_wire_event(), as a whole non-streamed body
 * (mlb_wire_body), as an HTTP error body (mlb_wire_error_body) and as a
 * models list (mlb_wire_models).  Beyond not crashing, the text handed to
 * on_text must be exactly the reply's content, error codes must be
 * DESIGN.md's, and an error message must be one line.
 */
#include "fuzz.h"
#include "sse.h"
#include "wire.h"
#include "msg.h"

struct seen {
	struct mlb_reply r;
	struct mlb_buf text;	/* everything on_text was given, in order */
	int events;
};

static void on_text(void *ctx, const char *text, size_t len)
{
	struct seen *s = ctx;

	FUZZ_CHECK(len > 0 && !memchr(text, '\0', len));
	mlb_buf_add(&s->text, text, len);
}

static void check_reply(const struct seen *s)
{
	static const char *const codes[] = { "auth", "rate_limit", "timeout", "server", "network",
		"bad_request", "budget", "parse", "config", "storage", NULL };
	const struct mlb_reply *r = &s->r;

	FUZZ_CHECK(r->content.len == s->text.len);
	FUZZ_CHECK(!r->content.len || !memcmp(r->content.s, s->text.s, r->content.len));
	FUZZ_CHECK(!r->finish_reason || *r->finish_reason);
	FUZZ_CHECK(r->error_retryable == 0 || r->error_retryable == 1);
	if (r->error_code) {
		const char *const *c;

		for (c = codes; *c && strcmp(*c, r->error_code); c++)
			;
		FUZZ_CHECK(*c);
		FUZZ_CHECK(r->error_message && *r->error_message);
	}
}

static int on_event(void *ctx, const char *event, const char *data, size_t len, const char *id)
{
	struct seen *s = ctx;
	int rc = mlb_wire_event(FUZZ_KIND, &s->r, event, data, len);

	(void)id;
	FUZZ_CHECK(rc == 0 || rc == -1);
	s->events++;
	FUZZ_CHECK(s->r.bad_chunks <= s->events);
	return 0;
}

static int on_lane(void *ctx, const char *buf, size_t len, const char *id, size_t *used)
{
	struct seen *s = ctx;

	(void)id;
	mlb_wire_lane(FUZZ_KIND, &s->r, buf, len, used);
	FUZZ_CHECK(*used <= len);
	if (*used)
		s->events++;
	return 0;
}

static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* What the fast lane decodes must be what the parser and the decoder decode. */
static void check_same_reply(const struct seen *a, const struct seen *b)
{
	FUZZ_CHECK(a->r.content.len == b->r.content.len);
	FUZZ_CHECK(!a->r.content.len || !memcmp(a->r.content.s, b->r.content.s, a->r.content.len));
	FUZZ_CHECK(a->events == b->events && a->r.bad_chunks == b->r.bad_chunks);
	FUZZ_CHECK(same(a->r.finish_reason, b->r.finish_reason) && same(a->r.error_code, b->r.error_code));
	FUZZ_CHECK(a->r.prompt_tokens == b->r.prompt_tokens && a->r.completion_tokens == b->r.completion_tokens);
	FUZZ_CHECK(a->r.done == b->r.done);
}

static void seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->r.on_text = on_text;
	s->r.ctx = s;
	mlb_reply_reset(&s->r);
}

static void seen_free(struct seen *s)
{
	mlb_reply_free(&s->r);
	mlb_buf_free(&s->text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct seen s;
	struct mlb_sse *p;
	char *msg, **ids;
	long retry = 0;
	size_t n, i;

	/* As a stream read by json-c alone, and again through the fast lanes and quick paths, which must change nothing. */
	mlb_wire_quick(0);
	seen_init(&s);
	p = mlb_sse_new(on_event, &s, 0);
	mlb_sse_feed(p, in, size);
	mlb_sse_finish(p);
	mlb_sse_free(p);
	check_reply(&s);
	mlb_wire_quick(1);
	{
		struct seen l;

		seen_init(&l);
		p = mlb_sse_new(on_event, &l, 0);
		mlb_sse_set_lane(p, on_lane);
		mlb_sse_feed(p, in, size);
		mlb_sse_finish(p);
		mlb_sse_free(p);
		check_reply(&l);
		check_same_reply(&s, &l);
		seen_free(&l);
	}
	seen_free(&s);

	/* As a whole body; decoding may fail but must leave a sane reply. */
	seen_init(&s);
	FUZZ_CHECK(mlb_wire_body(FUZZ_KIND, &s.r, in, size) >= -1);
	check_reply(&s);
	seen_free(&s);

	/* As an HTTP error body: one line for stderr and the error event. */
	msg = mlb_wire_error_body(FUZZ_KIND, in, size, &retry);
	FUZZ_CHECK(retry >= -1);
	FUZZ_CHECK(!msg || !strpbrk(msg, "\r\n"));
	free(msg);

	/* As a models list. */
	n = mlb_wire_models(FUZZ_KIND, in, size, &ids);
	FUZZ_CHECK(ids);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(ids[i]);
	FUZZ_CHECK(ids[n] == NULL);
	mlb_strv_free(ids);
	return 0;
}
