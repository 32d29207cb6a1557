/*
 * Decoders of the three wire kinds, fed realistic transcripts through the
 * SSE parser whole and byte by byte, must give the same text, finish
 * reason and usage.
 */
#include "unit.h"
#include "sse.h"
#include "wire-kind.h"	/* mlb_wire_member, to tell the usual shapes with json-c */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

struct feed {
	enum mlb_kind kind;
	struct mlb_reply r;
	int tokens;
};

static void on_text(void *ctx, const char *text, size_t len)
{
	(void)text;
	(void)len;
	((struct feed *)ctx)->tokens++;
}

static int on_event(void *ctx, const char *event, const char *data, size_t len, const char *id)
{
	struct feed *f = ctx;

	(void)id;
	mlb_wire_event(f->kind, &f->r, event, data, len);
	return 0;
}

/* Decode a transcript fed in pieces of `step` bytes (0: whole). */
static void decode(enum mlb_kind kind, const char *t, size_t step, struct feed *f)
{
	struct mlb_sse *p = mlb_sse_new(on_event, f, 0);
	size_t len = strlen(t);

	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->r.on_text = on_text;
	f->r.ctx = f;
	mlb_reply_reset(&f->r);
	if (!step)
		step = len;
	for (size_t i = 0; i < len; i += step)
		mlb_sse_feed(p, t + i, i + step > len ? len - i : step);
	mlb_sse_finish(p);
	mlb_sse_free(p);
}

static void expect(enum mlb_kind kind, const char *t, const char *text, const char *finish,
		   long prompt, long completion, int done)
{
	size_t steps[] = { 0, 1, 7 };

	for (size_t i = 0; i < 3; i++) {
		struct feed f;

		decode(kind, t, steps[i], &f);
		CHECK_STR(mlb_buf_str(&f.r.content), text);
		if (finish)
			CHECK_STR(f.r.finish_reason, finish);
		else
			CHECK(f.r.finish_reason == NULL);
		CHECK_INT(f.r.prompt_tokens, prompt);
		CHECK_INT(f.r.completion_tokens, completion);
		CHECK_INT(f.r.done, done);
		CHECK(f.r.error_code == NULL);
		CHECK_INT(f.r.bad_chunks, 0);
		mlb_reply_free(&f.r);
	}
}

static const char openai[] =
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u00e9\"},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":null},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n"
	"data: [DONE]\n\n";

static const char groq[] =
	"data: {\"id\":\"g\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"x_groq\":{\"id\":\"req_1\"}}\n\n"
	"data: {\"id\":\"g\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
	"data: {\"id\":\"g\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"x_groq\":{\"id\":\"req_1\",\"usage\":{\"queue_time\":0.01,\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}}\n\n"
	"data: [DONE]\n\n";

static const char openrouter[] =
	": OPENROUTER PROCESSING\n\n"
	": OPENROUTER PROCESSING\n\n"
	"data: {\"id\":\"gen-1\",\"provider\":\"X\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":null,\"native_finish_reason\":null}]}\n\n"
	"data: {\"id\":\"gen-1\",\"provider\":\"X\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"stop\",\"native_finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":1,\"total_tokens\":5,\"cost\":0.0000123,\"is_byok\":false}}\n\n"
	"data: [DONE]\n\n";

static const char openai_error[] =
	"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n"
	"data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}\n\n";

static const char gemini[] =
	"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"The \"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":1,\"totalTokenCount\":8},\"modelVersion\":\"gemini-2.0-flash\"}\r\n\r\n"
	"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"sky \"},{\"text\":\"\\u65e5\\u672c\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":3,\"totalTokenCount\":10}}\r\n\r\n"
	"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"!\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":4,\"totalTokenCount\":11}}\r\n\r\n";

static const char anthropic[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	"event: ping\n"
	"data: {\"type\": \"ping\"}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}\n\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"
	"event: message_stop\n"
	"data: {\"type\":\"message_stop\"}\n\n";

static const char anthropic_error[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
	"event: error\n"
	"data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";

static void test_errors(void)
{
	struct feed f;
	long retry;
	char *m;

	decode(MLB_KIND_OPENAI, openai_error, 1, &f);
	CHECK_STR(mlb_buf_str(&f.r.content), "par");
	CHECK_STR(f.r.error_code, "server");
	CHECK_STR(f.r.error_message, "The server had an error");
	CHECK_INT(f.r.error_retryable, 1);
	mlb_reply_free(&f.r);

	decode(MLB_KIND_ANTHROPIC, anthropic_error, 3, &f);
	CHECK_STR(f.r.error_code, "server");
	CHECK_STR(f.r.error_message, "Overloaded");
	mlb_reply_free(&f.r);

	const char *g = "{\"error\":{\"code\":429,\"message\":\"Resource exhausted\",\"status\":\"RESOURCE_EXHAUSTED\","
		"\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"2.5s\"}]}}";

	m = mlb_wire_error_body(MLB_KIND_GEMINI, g, strlen(g), &retry);
	CHECK_STR(m, "Resource exhausted");
	CHECK_INT(retry, 2500);
	free(m);
	m = mlb_wire_error_body(MLB_KIND_OPENAI, "upstream\nconnect error", 22, &retry);
	CHECK_STR(m, "upstream connect error");
	CHECK_INT(retry, -1);
	free(m);
}

static void test_malformed(void)
{
	struct feed f;
	const char t[] = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
			 "data: {\"choices\":[{\"delta\":{\"content\":\"b\n\n"
			 "data: [1,2]\n\n"
			 "data: {\"choices\":[{\"delta\":{\"content\":\"c\"},\"finish_reason\":\"stop\"}]}\n\n";

	decode(MLB_KIND_OPENAI, t, 0, &f);
	CHECK_STR(mlb_buf_str(&f.r.content), "ac");
	CHECK_INT(f.r.bad_chunks, 2);
	CHECK_STR(f.r.finish_reason, "stop");
	mlb_reply_free(&f.r);
}

static void test_models(void)
{
	char **ids;
	const char g[] = "{\"models\":[{\"name\":\"models/gemini-2.0-flash\"},{\"name\":\"models/embedding-001\"}]}";
	size_t n = mlb_wire_models(MLB_KIND_GEMINI, g, strlen(g), &ids);

	CHECK_INT(n, 2);
	CHECK_STR(ids[0], "gemini-2.0-flash");
	mlb_strv_free(ids);
	n = mlb_wire_models(MLB_KIND_OPENAI, "not json", 8, &ids);
	CHECK_INT(n, 0);
	mlb_strv_free(ids);
}

/* ---- the quick path against json-c ---- */

struct seen {
	struct mlb_buf text;	/* every piece, each followed by | */
};

static void on_piece(void *ctx, const char *text, size_t len)
{
	struct seen *s = ctx;

	mlb_buf_add(&s->text, text, len);
	mlb_buf_addc(&s->text, '|');
}

static void reply_init(struct mlb_reply *r, struct seen *s)
{
	memset(r, 0, sizeof(*r));
	memset(s, 0, sizeof(*s));
	r->on_text = on_piece;
	r->ctx = s;
	mlb_reply_reset(r);
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Everything a decoder can tell about a reply must match. */
static int same_reply(const struct mlb_reply *a, const struct seen *sa, const struct mlb_reply *b,
		      const struct seen *sb)
{
	return a->content.len == b->content.len &&
	       !memcmp(mlb_buf_str(&a->content), mlb_buf_str(&b->content), a->content.len) &&
	       !strcmp(mlb_buf_str(&sa->text), mlb_buf_str(&sb->text)) &&
	       same_str(a->finish_reason, b->finish_reason) && same_str(a->error_code, b->error_code) &&
	       same_str(a->error_message, b->error_message) && a->prompt_tokens == b->prompt_tokens &&
	       a->completion_tokens == b->completion_tokens && a->has_cost == b->has_cost &&
	       a->cost_usd == b->cost_usd && a->done == b->done && a->bad_chunks == b->bad_chunks &&
	       a->error_retryable == b->error_retryable;
}

/*
 * Three replies fed the same chunks: one with the quick path, one without,
 * and one through an SSE parser with the fast lane, as the runner feeds it.
 */
struct pair {
	enum mlb_kind kind;
	const char *event;	/* an "event:" line before the data, or NULL */
	const char *eol;	/* "\n" or "\r\n" */
	struct mlb_reply quick, slow, lane;
	struct seen sq, ss, sl;
	struct mlb_sse *sse;
	int lane_rc;
};

static long lane_taken;	/* chunks the lane decoded, over all pairs */

static int lane_event(void *ctx, const char *event, const char *data, size_t len, const char *id)
{
	struct pair *p = ctx;

	(void)id;
	p->lane_rc = mlb_wire_event(p->kind, &p->lane, event, data, len);
	return 0;
}

static int lane_lane(void *ctx, const char *buf, size_t len, const char *id, size_t *used)
{
	struct pair *p = ctx;

	int rc;

	(void)id;
	rc = mlb_wire_lane(p->kind, &p->lane, buf, len, used);
	if (*used) {
		p->lane_rc = 0;
		lane_taken++;
	}
	return rc;
}

static void pair_init_kind(struct pair *p, enum mlb_kind kind, const char *event, const char *eol)
{
	p->kind = kind;
	p->event = event;
	p->eol = eol;
	reply_init(&p->quick, &p->sq);
	reply_init(&p->slow, &p->ss);
	reply_init(&p->lane, &p->sl);
	p->sse = mlb_sse_new(lane_event, p, 0);
	mlb_sse_set_lane(p->sse, lane_lane);
}

static void pair_init(struct pair *p)
{
	pair_init_kind(p, MLB_KIND_OPENAI, NULL, "\n");
}

static void pair_free(struct pair *p)
{
	mlb_reply_free(&p->quick);
	mlb_reply_free(&p->slow);
	mlb_reply_free(&p->lane);
	mlb_buf_free(&p->sq.text);
	mlb_buf_free(&p->ss.text);
	mlb_buf_free(&p->sl.text);
	mlb_sse_free(p->sse);
}

/* Feed one chunk to the three; 0 (after saying which) when they disagree. */
static int pair_feed(struct pair *p, const char *data, size_t len)
{
	int rq, rs;

	mlb_wire_quick(1);
	rq = mlb_wire_event(p->kind, &p->quick, p->event ? p->event : "message", data, len);
	if (memchr(data, '\n', len) || memchr(data, '\r', len)) {
		/* an SSE stream would cut it into lines: the lane reply takes it as the quick one */
		p->lane_rc = mlb_wire_event(p->kind, &p->lane, p->event ? p->event : "message", data, len);
	} else {
		/* the event line, "data: " and the chunk, the blank line, and the next event's first bytes, in one feed */
		struct mlb_buf line = MLB_BUF_INIT;

		if (p->event)
			mlb_buf_addf(&line, "event: %s%s", p->event, p->eol);
		mlb_buf_adds(&line, "data: ");
		mlb_buf_add(&line, data, len);
		mlb_buf_addf(&line, "%s%sdata", p->eol, p->eol);
		p->lane_rc = -9;
		CHECK_INT(mlb_sse_feed(p->sse, line.s, line.len), 0);
		mlb_sse_reset(p->sse);	/* forget the held "data" */
		mlb_buf_free(&line);
	}
	mlb_wire_quick(0);
	rs = mlb_wire_event(p->kind, &p->slow, p->event ? p->event : "message", data, len);
	mlb_wire_quick(1);
	unit_checks++;
	if (rq == rs && same_reply(&p->quick, &p->sq, &p->slow, &p->ss) &&
	    (p->lane_rc == rs || (p->lane_rc == -9 && !len)) && same_reply(&p->lane, &p->sl, &p->slow, &p->ss))
		return 1;
	unit_failures++;
	fprintf(stderr, "quick path disagrees with json-c on: %.*s\n", (int)len, data);
	fprintf(stderr, "  quick %d [%s] [%s] bad %d / json-c %d [%s] [%s] bad %d\n", rq, mlb_buf_str(&p->sq.text),
		p->quick.finish_reason ? p->quick.finish_reason : "-", p->quick.bad_chunks, rs, mlb_buf_str(&p->ss.text),
		p->slow.finish_reason ? p->slow.finish_reason : "-", p->slow.bad_chunks);
	fprintf(stderr, "  lane %d [%s] [%s] bad %d\n", p->lane_rc, mlb_buf_str(&p->sl.text),
		p->lane.finish_reason ? p->lane.finish_reason : "-", p->lane.bad_chunks);
	return 0;
}

static const char *const chunk_seeds[] = {
	"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\",\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" brown\"},\"logprobs\":null,\"finish_reason\":null}]}",
	"{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}",
	"{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}",
	"{\"choices\":[{\"delta\":{\"content\":\"a\\n\\\"b\\\\ \\/ \\t\\u00e9\\u65e5 caf\xc3\xa9 \xf0\x9f\x98\x80\"}}]}",
	"{\"choices\":[{\"delta\":{\"content\":\"y \\u0000 x\"}}]}",
	"{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5,\"cost\":1.5e-06}}",
	"{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"x_groq\":{\"id\":\"r\",\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}}",
	"{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\",\"code\":null}}",
	"{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":null}]}",
	" { \"choices\" : [ { \"delta\" : { \"content\" : \"x\" } , \"finish_reason\" : \"length\" } , {\"delta\":{\"content\":\"y\"}} ] } \n",
	"{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"b\"}}],\"choices\":[{\"delta\":{\"content\":\"c\"}}]}",
	"{\"choices\":[{\"delta\":{\"content\":null},\"finish_reason\":7,\"delta\":{\"content\":\"d\"}}],\"n\":[1,-0.5,1e3,12345678901234567890,true,false,{\"a\":[[]]}]}",
	"{\"cho\\u0069ces\":[{\"delta\":{\"content\":\"e\"}}],\"choices\":{\"0\":{\"delta\":{\"content\":\"f\"}}}}",
	"{\"choices\":[null,{\"delta\":{\"content\":5}}],\"usage\":null,\"error\":null}",
	/* OpenAI's own, under include_usage (real-openai-usage.http) */
	"{\"id\":\"chatcmpl-D\",\"object\":\"chat.completion.chunk\",\"created\":1782955818,\"model\":\"gpt-4o-mini\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_d0\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" capital\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null,\"obfuscation\":\"oHb\"}",
	"{\"id\":\"chatcmpl-D\",\"object\":\"chat.completion.chunk\",\"created\":1782955818,\"model\":\"gpt-4o-mini\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_d0\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null,\"obfuscation\":\"RTaww\"}",
	"{\"id\":\"chatcmpl-D\",\"choices\":[],\"usage\":{\"prompt_tokens\":78,\"completion_tokens\":9,\"total_tokens\":87,\"prompt_tokens_details\":{\"cached_tokens\":0}},\"obfuscation\":\"dhWUdLZO659\"}",
	"{\"choices\":[{\"delta\":{\"content\":\"u\"}}],\"usage\":null,\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2},\"obfuscation\":\"a\\\"b\"}",
	"{\"choices\":[{\"delta\":{\"content\":\"v\"}}],\"obfuscation\":\"p\",\"x_groq\":{\"usage\":{\"prompt_tokens\":4}},\"usage\":null}",
};

static const char *const anthropic_seeds[] = {
	"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" Sc\"}   }",
	"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"oop \\n\\u00e9 \\\"q\\\"\"}}",
	"{\"type\":\"message_start\",\"message\":{\"model\":\"claude\",\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":17,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}",
	"{\"type\": \"ping\"}",
	"{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}        }",
	"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\"}}",
	"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":17,\"output_tokens\":20}}",
	"{\"type\":\"message_stop\"       }",
	"{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"a\",\"type\":\"text_delta\"},\"type\":\"ping\"}",
	"{\"delta\":{\"type\":\"text_delta\",\"text\":\"b\"},\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"c\"}}",
	"{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text\\u005fdelta\",\"text\":7}}",
	"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
};

static const char *const gemini_seeds[] = {
	"{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"4\\n15\\n16\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 18,\"candidatesTokenCount\": 79,\"totalTokenCount\": 132,\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 18}],\"thoughtsTokenCount\": 35,\"serviceTier\": \"standard\"},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"ru1g\"}",
	"{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The temperature\"}],\"role\": \"model\"}}],\"usageMetadata\": {\"promptTokenCount\": 169,\"totalTokenCount\": 169},\"modelVersion\": \"gemini-2.0-flash\"}",
	"{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"0\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 18,\"candidatesTokenCount\": 80}}",
	"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"},{\"text\":\"b\\u00e9\"},{\"text\":\"\",\"thoughtSignature\":\"x\"}]}}]}",
	"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"plan\",\"thought\":true},{\"text\":\"ok\"}]}}]}",
	"{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\"}}]}}]}",
	"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"c\"}]}},{\"content\":{\"parts\":[{\"text\":\"d\"}]}}],\"usageMetadata\":{\"promptTokenCount\":-3,\"candidatesTokenCount\":2.5}}",
	"{\"usageMetadata\":{\"promptTokenCount\":1,\"promptTokenCount\":2},\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"e\"}]}}]}",
	"{\"error\":{\"code\":500,\"message\":\"Internal error encountered.\",\"status\":\"INTERNAL\"}}",
	"{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":3}}",
};

/*
 * Whatever a chunk holds, the quick path must leave the reply exactly as
 * json-c's path does: realistic chunks, odd ones, and thousands of random
 * edits of them.  Consecutive chunks share their frame, as in a stream, so
 * the shortcut for the bytes around the text is exercised too.  There are
 * no surrogate escapes here: the quick path leaves them to json-c, whose
 * reading of them depends on the chunk its tokener read before.
 */
static void quick_agrees(enum mlb_kind kind, const char *event, const char *eol, const char *const *seeds,
			 size_t nseeds)
{
	const char bytes[] = "{}[]\":,\\ tfnu0-.e9\"\x80\xc3\xa9\xff\x01\n\x00";
	unsigned long long rng = 88172645463325252ull;
	struct pair p;

	pair_init_kind(&p, kind, event, eol);
	for (size_t i = 0; i < nseeds; i++)
		pair_feed(&p, seeds[i], strlen(seeds[i]));
	pair_free(&p);

	for (int round = 0; round < 3000; round++) {
		pair_init_kind(&p, kind, event, eol);
		for (int k = 0; k < 8; k++) {
			const char *seed = seeds[k < 4 ? 0 : (rng >> 20) % nseeds];
			char chunk[600];
			size_t len = strlen(seed);
			int edits = (int)(rng % 4);

			memcpy(chunk, seed, len);
			for (int e = 0; e < edits && len > 1; e++) {
				size_t at;

				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
				at = (size_t)(rng % len);
				switch ((rng >> 32) % 3) {
				case 0:
					chunk[at] = bytes[(rng >> 40) % (sizeof(bytes) - 1)];
					break;
				case 1:
					memmove(chunk + at, chunk + at + 1, len - at - 1);
					len--;
					break;
				default:
					memmove(chunk + at + 1, chunk + at, len - at);
					chunk[at] = bytes[(rng >> 40) % (sizeof(bytes) - 1)];
					len++;
				}
			}
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			if (!pair_feed(&p, chunk, len))
				round = 1 << 30;
		}
		pair_free(&p);
	}
}

static void test_quick_agrees(void)
{
	long taken = lane_taken;

	quick_agrees(MLB_KIND_OPENAI, NULL, "\n", chunk_seeds, sizeof(chunk_seeds) / sizeof(*chunk_seeds));
	/* each round starts with four edits of one chunk; those left whole went down the lane */
	CHECK(lane_taken - taken > 500);
	taken = lane_taken;
	quick_agrees(MLB_KIND_ANTHROPIC, "content_block_delta", "\n", anthropic_seeds,
		     sizeof(anthropic_seeds) / sizeof(*anthropic_seeds));
	CHECK(lane_taken - taken > 500);
	taken = lane_taken;
	quick_agrees(MLB_KIND_GEMINI, NULL, "\r\n", gemini_seeds, sizeof(gemini_seeds) / sizeof(*gemini_seeds));
	CHECK(lane_taken - taken > 500);
}

/* The frame shortcut must not take two strings, or a changed frame, for one text. */
static void test_quick_frames(void)
{
	static const char *const chunks[] = {
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}",
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":null}]}",
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"x\",\"content\":\"y\"},\"finish_reason\":null}]}",
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"\"},\"finish_reason\":null}]}",
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"\\u0000\"},\"finish_reason\":null}]}",
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"\xff\"},\"finish_reason\":null}]}",
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"q\\\"\"},\"finish_reason\":null}]}",
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"c\"},\"finish_reason\":\"stop\"}]}",
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"d\"},\"finish_reason\":null}]}",
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"e\"},\"finish_reason\":null}]}trailing",
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":null},\"finish_reason\":null}]}",
		"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"\"},\"finish_reason\":null}]}",
	};
	struct pair p;

	pair_init(&p);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(*chunks); i++)
		pair_feed(&p, chunks[i], strlen(chunks[i]));
	/* json-c takes bytes that are not UTF-8, and ignores what follows the object */
	CHECK_STR(mlb_buf_str(&p.quick.content), "aby\xffq\"cde");
	CHECK_STR(p.quick.finish_reason, "stop");
	pair_free(&p);
}

/*
 * A chunk cut inside a string, just after a high surrogate escape, must not
 * change how the next chunk reads: json-c keeps the surrogate across
 * json_tokener_reset() and writes U+FFFD into the next text it decodes.
 */
static void test_cut_surrogate(void)
{
	static const char cut[] = "{\"choices\":[{\"delta\":{\"content\":\"x\\ud83d";
	static const char next[] = "{\"choices\":[{\"delta\":{\"content\":\"sm\\u00f6rg\"}}]}";
	struct mlb_reply r;
	struct seen s;

	mlb_wire_quick(0);
	reply_init(&r, &s);
	CHECK_INT(mlb_wire_event(MLB_KIND_OPENAI, &r, "message", cut, strlen(cut)), -1);
	CHECK_INT(mlb_wire_event(MLB_KIND_OPENAI, &r, "message", next, strlen(next)), 0);
	CHECK_STR(mlb_buf_str(&r.content), "sm\xc3\xb6rg");
	mlb_reply_free(&r);
	mlb_buf_free(&s.text);
	mlb_wire_quick(1);
}

/* One recording read two ways: json-c alone, and as the runner reads it, lanes and quick paths on. */
struct real {
	enum mlb_kind kind;
	struct mlb_reply slow, fast;
	struct seen ss, sf;
	long events, usual, laned;
};

/* Whether a chunk holds what the scanner leaves to json-c: surrogate or NUL escapes, exponents, long fractions. */
static int json_c_decides(const char *s)
{
	int in_string = 0;

	for (const char *p = s; *p; p++) {
		if (in_string) {
			if (*p == '\\') {
				if (p[1] == 'u' && (p[2] == 'd' || p[2] == 'D' || !strncmp(p + 2, "0000", 4)))
					return 1;
				p++;
			} else if (*p == '"') {
				in_string = 0;
			}
		} else if (*p == '"') {
			in_string = 1;
		} else if ((*p >= '0' && *p <= '9') || *p == '-') {
			size_t n = strspn(p, "-0123456789.");

			if (p[n] == 'e' || p[n] == 'E' || (memchr(p, '.', n) && n > 15) || n > 18)
				return 1;
			p += n - 1;
		}
	}
	return 0;
}

/* Whether an event has the usual shape of its kind, the one its lane must take (json-c's reading). */
static int usual_shape(enum mlb_kind kind, const char *data, size_t len)
{
	json_object *o;
	char *copy = malloc(len + 1);
	int ok = 0;

	memcpy(copy, data, len);
	copy[len] = '\0';
	if (json_c_decides(copy)) {
		free(copy);
		return 0;
	}
	o = json_tokener_parse(copy);
	free(copy);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return 0;
	}
	if (kind == MLB_KIND_OPENAI) {
		/* all but a usage object, x_groq and errors: event() reads only choices[0]'s text and finish */
		json_object *choices = mlb_wire_member(o, "choices"), *c = mlb_wire_member(o, "choices.0");
		json_object *delta = mlb_wire_member(c, "delta");

		ok = json_object_is_type(choices, json_type_array) && !mlb_wire_member(o, "usage") &&
		     !mlb_wire_member(o, "x_groq") && !mlb_wire_member(o, "error") &&
		     (!json_object_array_length(choices) ||
		      (json_object_is_type(c, json_type_object) && (!delta || json_object_is_type(delta, json_type_object))));
	} else if (kind == MLB_KIND_ANTHROPIC) {
		const char *t = mlb_json_str(o, "type"), *dt = mlb_json_str(mlb_wire_member(o, "delta"), "type");

		ok = t && !strcmp(t, "content_block_delta") && dt && !strcmp(dt, "text_delta") &&
		     mlb_json_str(mlb_wire_member(o, "delta"), "text");
	} else {
		json_object *c = mlb_wire_member(o, "candidates.0"), *parts = mlb_wire_member(c, "content.parts");
		size_t n = json_object_is_type(parts, json_type_array) ? json_object_array_length(parts) : 0;

		ok = n > 0 && n <= 4 && !mlb_wire_member(c, "finishReason") && !mlb_wire_member(o, "error");
		for (size_t i = 0; ok && i < n; i++) {
			json_object *part = json_object_array_get_idx(parts, i);

			ok = mlb_json_str(part, "text") && !mlb_wire_member(part, "thought");
		}
	}
	json_object_put(o);
	return ok;
}

static int real_slow(void *ctx, const char *event, const char *data, size_t len, const char *id)
{
	struct real *t = ctx;

	(void)id;
	t->events++;
	t->usual += usual_shape(t->kind, data, len);
	mlb_wire_event(t->kind, &t->slow, event, data, len);
	return 0;
}

static int real_fast(void *ctx, const char *event, const char *data, size_t len, const char *id)
{
	struct real *t = ctx;

	(void)id;
	mlb_wire_event(t->kind, &t->fast, event, data, len);
	return 0;
}

static int real_lane(void *ctx, const char *buf, size_t len, const char *id, size_t *used)
{
	struct real *t = ctx;

	(void)id;
	mlb_wire_lane(t->kind, &t->fast, buf, len, used);
	t->laned += *used > 0;
	return 0;
}

/*
 * Every recorded stream of ../shared/data/real-streams reads the same with
 * the lanes and quick paths as with json-c alone, and its lane takes every
 * event of the usual shape (OpenAI's text chunks, with usage:null and
 * obfuscation or without; Anthropic's text_delta; Gemini's text chunks)
 * and no other.
 */
static void test_real_streams(void)
{
	const char *dir = "../shared/data/real-streams";
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0;
	long usual = 0;

	CHECK(d != NULL);
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		struct mlb_buf path = MLB_BUF_INIT, body = MLB_BUF_INIT;
		struct mlb_sse *p;
		struct real t;
		const char *start;
		FILE *f;
		char chunk[4096];
		size_t got;

		if (n < 6 || strcmp(de->d_name + n - 5, ".http"))
			continue;
		mlb_buf_addf(&path, "%s/%s", dir, de->d_name);
		f = fopen(path.s, "rb");
		CHECK(f != NULL);
		while (f && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			mlb_buf_add(&body, chunk, got);
		if (f)
			fclose(f);
		memset(&t, 0, sizeof(t));
		t.kind = strstr(de->d_name, "anthropic") ? MLB_KIND_ANTHROPIC :
			 strstr(de->d_name, "gemini") ? MLB_KIND_GEMINI : MLB_KIND_OPENAI;
		reply_init(&t.slow, &t.ss);
		reply_init(&t.fast, &t.sf);
		start = strstr(mlb_buf_str(&body), "\r\n\r\n");
		start = start ? start + 4 : strstr(mlb_buf_str(&body), "\n\n") + 2;
		n = body.len - (size_t)(start - body.s);

		mlb_wire_quick(0);
		p = mlb_sse_new(real_slow, &t, 0);
		mlb_sse_feed(p, start, n);
		mlb_sse_finish(p);
		mlb_sse_free(p);
		mlb_wire_quick(1);
		p = mlb_sse_new(real_fast, &t, 0);
		mlb_sse_set_lane(p, real_lane);
		mlb_sse_feed(p, start, n);
		mlb_sse_finish(p);
		mlb_sse_free(p);

		CHECK(same_reply(&t.slow, &t.ss, &t.fast, &t.sf));
		CHECK(t.laned == t.usual);
		if (t.laned != t.usual || !same_reply(&t.slow, &t.ss, &t.fast, &t.sf))
			fprintf(stderr, "%s: %ld events, %ld of the usual shape, %ld taken by the lane\n", de->d_name,
				t.events, t.usual, t.laned);
		usual += t.usual;
		files++;
		mlb_reply_free(&t.slow);
		mlb_reply_free(&t.fast);
		mlb_buf_free(&t.ss.text);
		mlb_buf_free(&t.sf.text);
		mlb_buf_free(&path);
		mlb_buf_free(&body);
	}
	if (d)
		closedir(d);
	CHECK(files >= 38);
	CHECK(usual > 300);
}

int main(void)
{
	expect(MLB_KIND_OPENAI, openai, "Hello \xc3\xa9", "stop", 9, 3, 1);
	expect(MLB_KIND_OPENAI, groq, "Hi", "stop", 5, 1, 1);
	expect(MLB_KIND_OPENAI, openrouter, "ok", "stop", 4, 1, 1);
	{
		struct feed f;

		decode(MLB_KIND_OPENAI, openrouter, 5, &f);
		CHECK_INT(f.r.has_cost, 1);
		CHECK(f.r.cost_usd > 0.0000122 && f.r.cost_usd < 0.0000124);
		mlb_reply_free(&f.r);
	}
	expect(MLB_KIND_GEMINI, gemini, "The sky \xe6\x97\xa5\xe6\x9c\xac!", "STOP", 7, 4, 1);
	expect(MLB_KIND_ANTHROPIC, anthropic, "Hello!", "end_turn", 25, 15, 1);
	test_errors();
	test_malformed();
	test_models();
	test_quick_agrees();
	test_quick_frames();
	test_cut_surrogate();
	test_real_streams();
	return unit_done();
}
