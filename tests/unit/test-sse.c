/*
 * test-sse.c - unit tests for lib/sse.c, the server-sent-events parser.
 *
 * Each transcript is what a provider really sends.  It is fed whole, byte
 * by byte and in 200 random splits (including empty feeds), and every way
 * must produce exactly the expected sequence of (event, id, data): the
 * parser may not depend on where the network cut the stream.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "unit.h"
#include "sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* What the callback saw, serialised unambiguously (data carries its length). */
struct rec {
	char *s;
	size_t len, cap;
	int events;
	int bad_eol;	/* data held a CR: a line ending leaked into it */
	int lane;	/* offer events to test_lane, which takes every other one it can */
	int lane_turn;
	int stop_at;	/* return stop_rc from this event (1-based); 0: never */
	int stop_rc;
};

static void rec_add(struct rec *r, const char *s, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		while (r->len + n + 1 > r->cap)
			r->cap = r->cap ? r->cap * 2 : 256;
		r->s = realloc(r->s, r->cap);
		if (!r->s)
			abort();
	}
	memcpy(r->s + r->len, s, n);
	r->len += n;
	r->s[r->len] = '\0';
}

static void rec_event(struct rec *r, const char *event, const char *data, size_t len,
		      const char *id)
{
	char num[32];

	rec_add(r, "[", 1);
	rec_add(r, event, strlen(event));
	rec_add(r, " id=", 4);
	rec_add(r, id, strlen(id));
	snprintf(num, sizeof(num), " len=%zu] ", len);
	rec_add(r, num, strlen(num));
	rec_add(r, data, len);
	rec_add(r, "\n", 1);
}

static void rec_clear(struct rec *r)
{
	r->len = 0;
	r->events = 0;
	r->bad_eol = 0;
	if (r->s)
		r->s[0] = '\0';
}

static int on_event(void *ctx, const char *event, const char *data, size_t len, const char *id)
{
	struct rec *r = ctx;

	if (memchr(data, '\r', len))
		r->bad_eol++;
	rec_event(r, event, data, len, id);
	r->events++;
	if (r->stop_at && r->events == r->stop_at)
		return r->stop_rc;
	return 0;
}

/*
 * A fast lane that takes "data: <data>\n\n" with LF endings, every other
 * time it could, and records it as on_event would: the events must come
 * out the same as without it, in the same order, however the input is cut.
 */
static int test_lane(void *ctx, const char *buf, size_t len, const char *id, size_t *used)
{
	struct rec *r = ctx;
	const char *data = buf + 6, *nl;

	if (!r->lane || len < 8 || memcmp(buf, "data: ", 6) || !(nl = memchr(data, '\n', len - 6)) ||
	    (size_t)(nl - buf) + 2 > len || nl[1] != '\n' || memchr(data, '\r', (size_t)(nl - data)) ||
	    (r->lane_turn ^= 1))
		return 0;
	*used = (size_t)(nl - buf) + 2;
	rec_event(r, "message", data, (size_t)(nl - data), id);
	r->events++;
	if (r->stop_at && r->events == r->stop_at)
		return r->stop_rc;
	return 0;
}

/* xorshift64: a fixed seed makes every random split reproducible. */
static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A transcript: input bytes, and the expected (event, id, data) triples, NULL-ended. */
struct tcase {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen(in) */
	const char *want[40];
};

static const struct tcase cases[] = {
	{ "openai",
	  "data: {\"id\":\"chatcmpl-9xA\",\"object\":\"chat.completion.chunk\",\"created\":1718000000,"
	  "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
	  "\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
	  "data: {\"id\":\"chatcmpl-9xA\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},"
	  "\"finish_reason\":null}]}\n\n"
	  "data: {\"id\":\"chatcmpl-9xA\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},"
	  "\"finish_reason\":null}]}\n\n"
	  "data: {\"id\":\"chatcmpl-9xA\",\"choices\":[{\"index\":0,\"delta\":{},"
	  "\"finish_reason\":\"stop\"}]}\n\n"
	  "data: {\"id\":\"chatcmpl-9xA\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
	  "\"completion_tokens\":2,\"total_tokens\":11}}\n\n"
	  "data: [DONE]\n\n", 0, {
	  "message", "", "{\"id\":\"chatcmpl-9xA\",\"object\":\"chat.completion.chunk\",\"created\":1718000000,"
	  "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
	  "\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}",
	  "message", "", "{\"id\":\"chatcmpl-9xA\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},"
	  "\"finish_reason\":null}]}",
	  "message", "", "{\"id\":\"chatcmpl-9xA\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},"
	  "\"finish_reason\":null}]}",
	  "message", "", "{\"id\":\"chatcmpl-9xA\",\"choices\":[{\"index\":0,\"delta\":{},"
	  "\"finish_reason\":\"stop\"}]}",
	  "message", "", "{\"id\":\"chatcmpl-9xA\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
	  "\"completion_tokens\":2,\"total_tokens\":11}}",
	  "message", "", "[DONE]", NULL } },

	{ "openrouter",
	  ": OPENROUTER PROCESSING\n\n"
	  ": OPENROUTER PROCESSING\n\n"
	  "data: {\"id\":\"gen-17\",\"provider\":\"Together\",\"model\":\"meta-llama/llama-3.1-8b-instruct\","
	  "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\n\n"
	  ": OPENROUTER PROCESSING\n\n"
	  "data: {\"id\":\"gen-17\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},"
	  "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n"
	  "data: [DONE]\n\n", 0, {
	  "message", "", "{\"id\":\"gen-17\",\"provider\":\"Together\",\"model\":\"meta-llama/llama-3.1-8b-instruct\","
	  "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}",
	  "message", "", "{\"id\":\"gen-17\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},"
	  "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}",
	  "message", "", "[DONE]", NULL } },

	/* Gemini: CRLF, no [DONE], and the last event lacks its blank line. */
	{ "gemini",
	  "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The sky\"}],\"role\": \"model\"}}],"
	  "\"modelVersion\": \"gemini-1.5-flash\"}\r\n\r\n"
	  "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" is blue.\"}],\"role\": \"model\"},"
	  "\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 6,"
	  "\"candidatesTokenCount\": 4,\"totalTokenCount\": 10}}\r\n", 0, {
	  "message", "", "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The sky\"}],\"role\": \"model\"}}],"
	  "\"modelVersion\": \"gemini-1.5-flash\"}",
	  "message", "", "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" is blue.\"}],\"role\": \"model\"},"
	  "\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 6,"
	  "\"candidatesTokenCount\": 4,\"totalTokenCount\": 10}}", NULL } },

	{ "gemini-unterminated",
	  "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"a\"}]}}]}\r\n\r\n"
	  "data: {\"candidates\": [{\"finishReason\": \"STOP\"}]}", 0, {
	  "message", "", "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"a\"}]}}]}",
	  "message", "", "{\"candidates\": [{\"finishReason\": \"STOP\"}]}", NULL } },

	{ "anthropic",
	  "event: message_start\n"
	  "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","
	  "\"model\":\"claude-3-5-haiku-20241022\",\"content\":[],\"stop_reason\":null,"
	  "\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n"
	  "event: content_block_start\n"
	  "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	  "event: ping\n"
	  "data: {\"type\": \"ping\"}\n\n"
	  "event: content_block_delta\n"
	  "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
	  "event: content_block_stop\n"
	  "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	  "event: message_delta\n"
	  "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
	  "\"usage\":{\"output_tokens\":15}}\n\n"
	  "event: message_stop\n"
	  "data: {\"type\":\"message_stop\"}\n\n", 0, {
	  "message_start", "", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\","
	  "\"role\":\"assistant\",\"model\":\"claude-3-5-haiku-20241022\",\"content\":[],\"stop_reason\":null,"
	  "\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}",
	  "content_block_start", "", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
	  "{\"type\":\"text\",\"text\":\"\"}}",
	  "ping", "", "{\"type\": \"ping\"}",
	  "content_block_delta", "", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	  "{\"type\":\"text_delta\",\"text\":\"Hello\"}}",
	  "content_block_stop", "", "{\"type\":\"content_block_stop\",\"index\":0}",
	  "message_delta", "", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
	  "\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}",
	  "message_stop", "", "{\"type\":\"message_stop\"}", NULL } },

	{ "anthropic-error",
	  "event: message_start\n"
	  "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_02\"}}\n\n"
	  "event: error\n"
	  "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	  "data: after\n\n", 0, {
	  "message_start", "", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_02\"}}",
	  "error", "", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
	  "message", "", "after", NULL } },

	{ "cr-only",
	  "event: a\rdata: one\r\rdata: two\rdata: three\r\r\r\rdata: four\r\r", 0, {
	  "a", "", "one",
	  "message", "", "two\nthree",
	  "message", "", "four", NULL } },

	{ "mixed-endings",
	  "data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r", 0, {
	  "message", "", "a\nb\nc",
	  "message", "", "d", NULL } },

	{ "no-space",
	  "data:x\n\ndata:  two spaces\n\ndata: a:b: c\n\n", 0, {
	  "message", "", "x",
	  "message", "", " two spaces",
	  "message", "", "a:b: c", NULL } },

	{ "multi-line",
	  "data: line one\ndata: line two\ndata:\ndata\ndata: five\n\n", 0, {
	  "message", "", "line one\nline two\n\n\nfive", NULL } },

	{ "empty-data",
	  "data\n\ndata:\n\ndata: \n\n", 0, {
	  "message", "", "",
	  "message", "", "",
	  "message", "", "", NULL } },

	{ "event-reset",
	  "event: first\ndata: 1\n\ndata: 2\n\nevent: lost\n\ndata: 3\n\nevent:\ndata: 4\n\n", 0, {
	  "first", "", "1",
	  "message", "", "2",
	  "message", "", "3",
	  "message", "", "4", NULL } },

	{ "id",
	  "id: 42\ndata: a\n\ndata: b\n\nid: 4\0003\ndata: c\n\nid\ndata: d\n\nid: x:y\nid: 7\n\ndata: e\n\n",
	  sizeof("id: 42\ndata: a\n\ndata: b\n\nid: 4\0003\ndata: c\n\nid\ndata: d\n\nid: x:y\nid: 7\n\n"
		 "data: e\n\n") - 1, {
	  "message", "42", "a",
	  "message", "42", "b",
	  "message", "42", "c",
	  "message", "", "d",
	  "message", "7", "e", NULL } },

	{ "bom",
	  "\xEF\xBB\xBF" "data: bom\n\n\xEF\xBB\xBF" "data: ignored\n\ndata: after\n\n", 0, {
	  "message", "", "bom",
	  "message", "", "after", NULL } },

	/* Starts like a BOM but is not one: the held bytes must not vanish. */
	{ "not-bom",
	  "\xEF\xBB" "data: x\n\n\xEF\n\ndata: y\n\n", 0, {
	  "message", "", "y", NULL } },

	{ "comments-only",
	  ": keep-alive\n\n: keep-alive\r\n\r\n:\n\n: OPENROUTER PROCESSING\n", 0, { NULL } },

	{ "unknown-fields",
	  "retry: 3000\nfoo: bar\nDATA: no\n data: no\ndata : no\ndata: yes\n\n", 0, {
	  "message", "", "yes", NULL } },

	{ "utf8",
	  "data: {\"content\":\"caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\"}\n\n"
	  "data: \xF0\x9F\x98\x80\xF0\x9F\x98\x80\ndata: \xC3\xA9\n\n", 0, {
	  "message", "", "{\"content\":\"caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\"}",
	  "message", "", "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\n\xC3\xA9", NULL } },

	{ "nul-in-data",
	  "data: a\000b\n\n", sizeof("data: a\000b\n\n") - 1, {
	  "message", "", "a\000b", NULL } },

	{ "finish-pending",
	  "data: one\n\ndata: two\n", 0, {
	  "message", "", "one",
	  "message", "", "two", NULL } },

	{ "finish-comment", "data: one\n\n: bye", 0, {
	  "message", "", "one", NULL } },

	{ "empty", "", 0, { NULL } },
};

/*
 * Feed whole (how 0), byte by byte (1) or in random pieces (2); no call may
 * fail.  Each piece is fed from a buffer of its own, scribbled over and
 * freed once the feed returns, as libcurl reuses its own: an event handed
 * over from a fed buffer must have been copied by then (ASan sees the rest).
 */
static void run(const struct tcase *t, struct rec *r, int how)
{
	size_t len = t->len ? t->len : strlen(t->in), i = 0, n;
	struct mlb_sse *p = mlb_sse_new(on_event, r, 0);
	int rc = 0;

	mlb_sse_set_lane(p, test_lane);
	rec_clear(r);
	while (i < len && !rc) {
		char *piece;

		if (how == 0)
			n = len;
		else if (how == 1)
			n = 1;
		else
			n = (size_t)(xorshift() % 12);	/* includes empty feeds */
		if (n > len - i)
			n = len - i;
		piece = malloc(n ? n : 1);
		memcpy(piece, t->in + i, n);
		rc = mlb_sse_feed(p, piece, n);
		memset(piece, 'X', n);
		free(piece);
		i += n;
	}
	CHECK_INT(rc, 0);
	CHECK_INT(mlb_sse_finish(p), 0);
	CHECK_INT(r->bad_eol, 0);
	mlb_sse_free(p);
}

static void expected(const struct tcase *t, struct rec *want)
{
	const char *const *w;
	size_t dlen;

	rec_clear(want);
	for (w = t->want; *w; w += 3) {
		/* The one case with a NUL in data spells its length out here. */
		dlen = strcmp(t->name, "nul-in-data") ? strlen(w[2]) : 3;
		rec_event(want, w[0], w[2], dlen, w[1]);
	}
}

static void test_transcripts(int lane)
{
	struct rec r = { 0 }, want = { 0 };
	size_t k;
	int j, same;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct tcase *t = &cases[k];

		expected(t, &want);
		r.lane = lane;
		run(t, &r, 0);
		if (r.len != want.len || memcmp(r.s ? r.s : "", want.s ? want.s : "", r.len))
			fprintf(stderr, "case %s (whole):\n", t->name);
		CHECK_STR(r.s ? r.s : "", want.s ? want.s : "");
		run(t, &r, 1);
		if (r.len != want.len || memcmp(r.s ? r.s : "", want.s ? want.s : "", r.len))
			fprintf(stderr, "case %s (bytes):\n", t->name);
		CHECK_STR(r.s ? r.s : "", want.s ? want.s : "");
		same = 1;
		for (j = 0; j < 200; j++) {
			run(t, &r, 2);
			if (r.len != want.len || memcmp(r.s ? r.s : "", want.s ? want.s : "", r.len)) {
				fprintf(stderr, "case %s (random split %d):\n", t->name, j);
				CHECK_STR(r.s ? r.s : "", want.s ? want.s : "");
				same = 0;
				break;
			}
		}
		CHECK(same);
	}
	free(r.s);
	free(want.s);
}

/* A CR closing one feed and an LF opening the next are one line ending. */
static void test_crlf_split(void)
{
	struct rec r = { 0 };
	struct mlb_sse *p = mlb_sse_new(on_event, &r, 0);

	CHECK_INT(mlb_sse_feed(p, "data: a\r", 8), 0);
	CHECK_INT(mlb_sse_feed(p, "\n", 1), 0);
	CHECK_INT(r.events, 0);		/* a second ending would have dispatched */
	CHECK_INT(mlb_sse_feed(p, "data: b\r", 8), 0);
	CHECK_INT(mlb_sse_feed(p, "", 0), 0);	/* an empty feed must not forget the CR */
	CHECK_INT(mlb_sse_feed(p, "\n\r", 2), 0);
	CHECK_INT(r.events, 1);
	CHECK_STR(r.s, "[message id= len=3] a\nb\n");
	mlb_sse_free(p);
	free(r.s);
}

static void test_too_long(void)
{
	struct rec r = { 0 };
	struct mlb_sse *p = mlb_sse_new(on_event, &r, 16);
	const char *big;
	char *huge;
	size_t i, n;
	int rc;

	/* A line of exactly max bytes is fine, one more is not. */
	CHECK_INT(mlb_sse_feed(p, "data: 0123456789\n\n", 18), 0);
	CHECK_INT(r.events, 1);
	CHECK_INT(mlb_sse_feed(p, "data: 01234567890\n\n", 19), MLB_SSE_TOO_LONG);
	CHECK_INT(r.events, 1);
	/* Sticky until reset. */
	CHECK_INT(mlb_sse_feed(p, "data: ok\n\n", 10), MLB_SSE_TOO_LONG);
	CHECK_INT(mlb_sse_finish(p), MLB_SSE_TOO_LONG);
	CHECK_INT(r.events, 1);
	mlb_sse_reset(p);
	CHECK_INT(mlb_sse_feed(p, "data: ok\n\n", 10), 0);
	CHECK_INT(r.events, 2);

	/* Joined data may reach max (the final \n does not count) but not pass it. */
	big = "data: 1234567\ndata: 12345678\n\n";
	CHECK_INT(mlb_sse_feed(p, big, strlen(big)), 0);
	CHECK_INT(r.events, 3);
	big = "data: 12345678\ndata: 12345678\n\n";
	CHECK_INT(mlb_sse_feed(p, big, strlen(big)), MLB_SSE_TOO_LONG);
	CHECK_INT(r.events, 3);
	mlb_sse_reset(p);

	/* An endless line fed byte by byte fails as soon as it passes max. */
	for (i = 0; i < 100; i++)
		if (mlb_sse_feed(p, "a", 1))
			break;
	CHECK_INT(i, 16);
	mlb_sse_reset(p);
	for (i = 0; i < 16; i++)
		CHECK_INT(mlb_sse_feed(p, ":", 1), 0);
	CHECK_INT(mlb_sse_feed(p, "\n", 1), 0);	/* 16 bytes plus its ending: fine */
	mlb_sse_free(p);

	/* The default of 16 MiB, fed in 64 KiB pieces. */
	n = (size_t)16 << 20;
	huge = malloc(n + 2);
	if (!huge)
		abort();
	memcpy(huge, "data: ", 6);
	memset(huge + 6, 'x', n - 6);
	huge[n] = '\n';
	huge[n + 1] = '\n';
	p = mlb_sse_new(on_event, &r, 0);
	rec_clear(&r);
	for (i = 0, rc = 0; i < n + 2 && !rc; i += 65536)
		rc = mlb_sse_feed(p, huge + i, n + 2 - i < 65536 ? n + 2 - i : 65536);
	CHECK_INT(rc, 0);
	CHECK_INT(r.events, 1);
	mlb_sse_reset(p);
	huge[n] = 'x';
	CHECK_INT(mlb_sse_feed(p, huge, n + 1), MLB_SSE_TOO_LONG);
	mlb_sse_free(p);
	free(huge);
	free(r.s);
}

static void test_reset(void)
{
	struct rec r = { 0 };
	struct mlb_sse *p = mlb_sse_new(on_event, &r, 0);

	/* Half a line, a pending event, an id and a trailing CR: all forgotten. */
	CHECK_INT(mlb_sse_feed(p, "id: 9\nevent: x\ndata: old\ndata: par", 34), 0);
	CHECK_INT(mlb_sse_feed(p, "tial\r", 5), 0);
	mlb_sse_reset(p);
	CHECK_INT(mlb_sse_feed(p, "\ndata: fresh\n\n", 14), 0);
	CHECK_INT(r.events, 1);
	CHECK_STR(r.s, "[message id= len=5] fresh\n");
	/* A new stream may begin with a BOM again. */
	mlb_sse_reset(p);
	CHECK_INT(mlb_sse_feed(p, "\xEF\xBB\xBF" "data: b\n\n", 12), 0);
	CHECK_INT(r.events, 2);
	/* finish leaves the parser ready for the next stream. */
	CHECK_INT(mlb_sse_feed(p, "id: 1\ndata: c", 13), 0);
	CHECK_INT(mlb_sse_finish(p), 0);
	CHECK_INT(r.events, 3);
	CHECK_INT(mlb_sse_feed(p, "\xEF\xBB\xBF" "data: d\n\n", 12), 0);
	CHECK_INT(r.events, 4);
	CHECK_STR(r.s, "[message id= len=5] fresh\n[message id= len=1] b\n"
		  "[message id=1 len=1] c\n[message id= len=1] d\n");
	mlb_sse_free(p);
	mlb_sse_free(NULL);
	free(r.s);
}

static void test_stop(void)
{
	static const char in[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
	struct rec r = { 0 };
	struct mlb_sse *p = mlb_sse_new(on_event, &r, 0);
	size_t i;
	int rc = 0;

	r.stop_at = 2;
	r.stop_rc = 7;
	CHECK_INT(mlb_sse_feed(p, in, sizeof(in) - 1), 7);
	CHECK_INT(r.events, 2);
	CHECK_INT(mlb_sse_feed(p, in, sizeof(in) - 1), 7);
	CHECK_INT(mlb_sse_finish(p), 7);
	CHECK_INT(r.events, 2);

	/* Byte by byte, the feed that completes event 2 is the one that stops. */
	mlb_sse_reset(p);
	rec_clear(&r);
	for (i = 0; i < sizeof(in) - 1 && !rc; i++)
		rc = mlb_sse_feed(p, in + i, 1);
	CHECK_INT(rc, 7);
	CHECK_INT(i, 18);
	CHECK_INT(r.events, 2);

	/* A stop from the event that finish dispatches. */
	mlb_sse_reset(p);
	rec_clear(&r);
	r.stop_at = 1;
	CHECK_INT(mlb_sse_feed(p, "data: last", 10), 0);
	CHECK_INT(mlb_sse_finish(p), 7);
	CHECK_INT(r.events, 1);
	mlb_sse_free(p);
	free(r.s);
}

static int count_event(void *ctx, const char *event, const char *data, size_t len, const char *id)
{
	(void)event;
	(void)data;
	(void)id;
	((size_t *)ctx)[0]++;
	((size_t *)ctx)[1] += len;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 200,000 small OpenAI-style events: must be linear and fast. */
static void test_speed(void)
{
	static const char ev[] = "data: {\"choices\":[{\"delta\":{\"content\":\"tok\"}}]}\n\n";
	const size_t nev = 200000, evlen = sizeof(ev) - 1;
	size_t len = nev * evlen, count[2], i;
	char *in = malloc(len);
	struct mlb_sse *p = mlb_sse_new(count_event, count, 0);
	double t0, whole, chunked;
	int rc;

	if (!in || !p)
		abort();
	for (i = 0; i < nev; i++)
		memcpy(in + i * evlen, ev, evlen);

	count[0] = count[1] = 0;
	t0 = now();
	CHECK_INT(mlb_sse_feed(p, in, len), 0);
	CHECK_INT(mlb_sse_finish(p), 0);
	whole = now() - t0;
	CHECK_INT(count[0], nev);
	CHECK_INT(count[1], nev * (evlen - 8));

	/* Chunks of 1000 bytes: most events straddle no cut, some do. */
	count[0] = count[1] = 0;
	t0 = now();
	for (i = 0, rc = 0; i < len && !rc; i += 1000)
		rc = mlb_sse_feed(p, in + i, len - i < 1000 ? len - i : 1000);
	CHECK_INT(rc, 0);
	CHECK_INT(mlb_sse_finish(p), 0);
	chunked = now() - t0;
	CHECK_INT(count[0], nev);

	printf("sse: %zu events (%.1f MB): whole %.1f ms, 1000-byte feeds %.1f ms\n",
	       nev, (double)len / 1e6, whole * 1e3, chunked * 1e3);
	/* Generous enough for valgrind; a quadratic parser would take minutes. */
	CHECK(whole < 10.0 && chunked < 10.0);
	mlb_sse_free(p);
	free(in);
}

int main(void)
{
	test_transcripts(0);
	test_transcripts(1);	/* the same events through a fast lane */
	test_crlf_split();
	test_too_long();
	test_reset();
	test_stop();
	test_speed();
	return unit_done();
}
