/* The openai wire kind: Chat Completions, as OpenAI, LiteLLM, Groq, OpenRouter, Ollama, vLLM and llama.cpp speak it. */
#include "wire-kind.h"
#include "wire-frame.h"
#include "msg.h"

#include <string.h>

static void url(const struct mlb_model *m, int stream, struct mlb_buf *u)
{
	(void)m;
	(void)stream;
	mlb_buf_adds(u, "/chat/completions");
}

static struct curl_slist *auth(const char *key, struct curl_slist *list)
{
	char *h;

	if (!key)
		return list;
	h = mlb_xasprintf("Authorization: Bearer %s", key);
	list = curl_slist_append(list, h);
	memset(h, 0, strlen(h));	/* keys do not linger in freed memory */
	free(h);
	return list;
}

static json_object *body(const struct mlb_model *m, const struct mlb_chat *chat, int stream)
{
	json_object *b = json_object_new_object(), *msgs = json_object_new_array();

	mlb_json_set_str(b, "model", m->id);
	for (size_t i = 0; i < chat->nturns; i++) {
		json_object *t = json_object_new_object();

		mlb_json_set_str(t, "role", chat->turns[i].role);
		mlb_json_set_str(t, "content", chat->turns[i].content);
		json_object_array_add(msgs, t);
	}
	json_object_object_add(b, "messages", msgs);
	mlb_json_set_bool(b, "stream", stream);
	if (stream) {
		/* Usage arrives in a last chunk with empty choices only when asked for. */
		json_object *so = json_object_new_object();

		mlb_json_set_bool(so, "include_usage", 1);
		json_object_object_add(b, "stream_options", so);
	}
	mlb_wire_options(b, chat->options, NULL);
	return b;
}

/*
 * Usage may sit at the top (OpenAI, OpenRouter with "cost") or under x_groq
 * (Groq): the last top-level object wins, and x_groq's only while none came.
 * A chunk with "usage": null (one after the usage chunk, say) changes nothing.
 */
static const char *const billed_prompt[] = { "prompt_tokens", NULL };
static const char *const billed_completion[] = { "completion_tokens", NULL };

static void usage(struct mlb_reply *r, json_object *o)
{
	json_object *u = mlb_wire_member(o, "usage"), *cost;

	if (json_object_is_type(u, json_type_object)) {
		r->usage_top = 1;
	} else {
		u = mlb_wire_member(o, "x_groq.usage");
		if (r->usage_top || !json_object_is_type(u, json_type_object))
			return;
	}
	mlb_wire_usage_sum(r, u, billed_prompt, billed_completion, "total_tokens");
	/* OpenAI's way, then DeepSeek's */
	mlb_wire_cached(r, u, "prompt_tokens_details.cached_tokens");
	mlb_wire_cached(r, u, "prompt_cache_hit_tokens");
	cost = mlb_wire_member(u, "cost");
	if (json_object_is_type(cost, json_type_double) || json_object_is_type(cost, json_type_int)) {
		r->cost_usd = json_object_get_double(cost);
		r->has_cost = 1;
	}
}

static int event(struct mlb_reply *r, const char *ev, json_object *o)
{
	json_object *choice = mlb_wire_member(o, "choices.0");
	json_object *content = mlb_wire_member(choice, "delta.content");

	(void)ev;
	if (mlb_wire_member(o, "error")) {
		mlb_wire_error_object(r, mlb_wire_member(o, "error"));
		return 0;
	}
	if (json_object_is_type(content, json_type_string))
		mlb_wire_text(r, json_object_get_string(content));
	mlb_wire_finish(r, mlb_json_str(choice, "finish_reason"));
	usage(r, o);
	return 0;
}

/*
 * The quick path: almost every chunk of a stream is
 *   {"id":…,"object":…,"choices":[{"index":0,"delta":{"content":"…"},"finish_reason":null}],
 *    "usage":null,"obfuscation":"…"}
 * and event() reads only choices[0].delta.content and choices[0].finish_reason
 * from it ("usage":null, which include_usage puts on every chunk, is to
 * usage() as if it were not there).  Anything event() would read more of
 * (error, a usage object, x_groq) and anything json-c might read differently
 * (a member twice, where json-c keeps the last) is left to event().
 */
struct quick {
	struct json_str content, finish, pad;
	int has_content, has_finish, has_pad;
	int seen_choices, seen_delta, seen_usage;
};

static int quick_delta(struct json_scan *sc, const struct json_str *key, void *ctx)
{
	struct quick *q = ctx;

	if (json_scan_is(key, "content"))
		return json_scan_member_string(sc, &q->content, &q->has_content);
	return json_scan_skip(sc);
}

static int quick_choice(struct json_scan *sc, const struct json_str *key, void *ctx)
{
	struct quick *q = ctx;

	if (json_scan_is(key, "delta"))
		return !q->seen_delta++ && json_scan_object(sc, quick_delta, q);
	if (json_scan_is(key, "finish_reason"))
		return json_scan_member_string(sc, &q->finish, &q->has_finish);
	return json_scan_skip(sc);
}

static int quick_choices(struct json_scan *sc, struct quick *q)
{
	if (q->seen_choices++ || !json_scan_take(sc, '['))
		return 0;
	if (json_scan_take(sc, ']'))
		return 1;
	if (!json_scan_object(sc, quick_choice, q))
		return 0;
	while (json_scan_take(sc, ','))
		if (!json_scan_skip(sc))
			return 0;
	return json_scan_take(sc, ']');
}

static int quick_top(struct json_scan *sc, const struct json_str *key, void *ctx)
{
	struct quick *q = ctx;

	if (json_scan_is(key, "choices"))
		return quick_choices(sc, q);
	if (json_scan_is(key, "usage")) {
		json_scan_ws(sc);
		if (q->seen_usage++ || sc->end - sc->p < 4 || memcmp(sc->p, "null", 4))
			return 0;
		sc->p += 4;
		return 1;
	}
	/* The padding OpenAI adds to every chunk: a hole of the frame, see keep_frame(). */
	if (json_scan_is(key, "obfuscation"))
		return json_scan_member_string(sc, &q->pad, &q->has_pad);
	if (json_scan_is(key, "error") || json_scan_is(key, "x_groq"))
		return 0;
	return json_scan_skip(sc);
}

/* The frame's holes: the text, and the padding after it (read, not kept). */
enum { HOLE_TEXT, HOLE_PAD };

/* The text of a framed chunk at s, and where the chunk ends; NULL if s does not start with the frame. */
static const char *framed(struct mlb_reply *r, const char *s, size_t len, struct json_str *text)
{
	struct wire_match m;
	const char *end = wire_frame_match(&r->frame, s, len, &m);

	if (end)
		*text = m.str[HOLE_TEXT];
	return end;
}

/* Hand on a framed chunk's text: 1, or 0 (having changed nothing) to leave the chunk to json-c. */
static int framed_text(struct mlb_reply *r, const struct json_str *str)
{
	const char *text;
	size_t len;

	if (!json_scan_text(str, &r->scratch, &text, &len))
		return 0;
	mlb_wire_text_len(r, text, len);
	return 1;
}

/* Keep the frame of a chunk read whole: the text is a hole, and the padding when it comes after the text. */
static void keep_frame(struct mlb_reply *r, const char *data, size_t len, const struct json_str *text,
		       const struct json_str *pad)
{
	struct wire_hole holes[2] = {
		{ WIRE_HOLE_STRING, text->s - 1, text->len + 2, HOLE_TEXT },
		{ WIRE_HOLE_STRING, pad ? pad->s - 1 : NULL, pad ? pad->len + 2 : 0, HOLE_PAD },
	};

	wire_frame_keep(&r->frame, data, len, holes, pad && pad->s > text->s ? 2 : 1);
}

/*
 * The fast lane: a line "data: " + a frame (see wire-frame.h), then the
 * blank line, is the event quick() would read by its frame, with its line
 * ending found as the strings are crossed rather than searched for first.
 */
static size_t lane(struct mlb_reply *r, const char *buf, size_t len)
{
	static const char field[] = "data: ";
	const size_t flen = sizeof(field) - 1;
	const char *end;
	struct json_str str;

	if (len < flen || memcmp(buf, field, flen) || !(end = framed(r, buf + flen, len - flen, &str)) ||
	    (size_t)(buf + len - end) < 2 || end[0] != '\n' || end[1] != '\n' || !framed_text(r, &str))
		return 0;
	return (size_t)(end + 2 - buf);
}

static int quick(struct mlb_reply *r, const char *data, size_t len)
{
	struct json_scan sc;
	struct quick q = { 0 };
	const char *text = NULL;
	size_t text_len = 0;
	char finish[64];

	if (framed(r, data, len, &q.content) == data + len)
		return framed_text(r, &q.content);
	json_scan_init(&sc, data, len);
	if (!json_scan_object(&sc, quick_top, &q) || !json_scan_end(&sc))
		return 0;
	if (q.has_content > 0 && !json_scan_text(&q.content, &r->scratch, &text, &text_len))
		return 0;
	/* Only a frame without a finish reason says nothing but its text. */
	if (q.has_content > 0 && q.has_finish <= 0)
		keep_frame(r, data, len, &q.content, q.has_pad > 0 ? &q.pad : NULL);
	if (q.has_finish > 0) {
		/* mlb_wire_finish() wants a C string; a reason is a short word */
		if (q.finish.escaped || q.finish.len >= sizeof(finish))
			return 0;
		memcpy(finish, q.finish.s, q.finish.len);
		finish[q.finish.len] = '\0';
	}
	mlb_wire_text_len(r, text, text_len);
	if (q.has_finish > 0)
		mlb_wire_finish(r, finish);
	return 1;
}

static int whole(struct mlb_reply *r, json_object *o)
{
	json_object *choice = mlb_wire_member(o, "choices.0");
	json_object *content = mlb_wire_member(choice, "message.content");

	if (mlb_wire_member(o, "error")) {
		mlb_wire_error_object(r, mlb_wire_member(o, "error"));
		return 0;
	}
	if (!choice)
		return -1;
	if (json_object_is_type(content, json_type_string))
		mlb_wire_text(r, json_object_get_string(content));
	mlb_wire_finish(r, mlb_json_str(choice, "finish_reason"));
	usage(r, o);
	r->done = 1;
	return 0;
}

const struct wire_kind mlb_wire_openai = {
	.url = url, .auth = auth, .body = body, .event = event, .quick = quick, .lane = lane, .whole = whole,
	.models_path = "/models", .models_array = "data", .models_id = "id",
};
