/*
 * Decoders of the three wire kinds, fed realistic transcripts through the
 * SSE parser whole and byte by byte, must give the same text, finish
 * reason and usage.
 */
#include "unit.h"
#include "sse.h"
#include "wire.h"

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
	return unit_done();
}
