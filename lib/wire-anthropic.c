/* The anthropic wire kind: the Messages API with typed SSE events. */
#include "wire-kind.h"
#include "wire-frame.h"
#include "msg.h"

#include <string.h>

#define ANTHROPIC_VERSION "2023-06-01"
/* The Messages API requires max_tokens; this is used when -o max_tokens is not given. */
#define DEFAULT_MAX_TOKENS 4096

static void url(const struct mlb_model *m, int stream, struct mlb_buf *u)
{
	(void)m;
	(void)stream;
	mlb_buf_adds(u, "/v1/messages");
}

static struct curl_slist *auth(const char *key, struct curl_slist *list)
{
	list = curl_slist_append(list, "anthropic-version: " ANTHROPIC_VERSION);
	if (key) {
		char *h = mlb_xasprintf("x-api-key: %s", key);

		list = curl_slist_append(list, h);
		memset(h, 0, strlen(h));
		free(h);
	}
	return list;
}

static const char *const renames[] = { "stop", "stop_sequences", NULL };

static json_object *body(const struct mlb_model *m, const struct mlb_chat *chat, int stream)
{
	json_object *b = json_object_new_object(), *msgs = json_object_new_array(), *stop;
	struct mlb_buf system = MLB_BUF_INIT;

	mlb_json_set_str(b, "model", m->id);
	mlb_json_set_int(b, "max_tokens", DEFAULT_MAX_TOKENS);
	for (size_t i = 0; i < chat->nturns; i++) {
		const struct mlb_turn *t = &chat->turns[i];
		json_object *msg;

		if (!strcmp(t->role, "system")) {
			if (system.len)
				mlb_buf_adds(&system, "\n\n");
			mlb_buf_adds(&system, t->content);
			continue;
		}
		msg = json_object_new_object();
		mlb_json_set_str(msg, "role", strcmp(t->role, "assistant") ? "user" : "assistant");
		mlb_json_set_str(msg, "content", t->content);
		json_object_array_add(msgs, msg);
	}
	if (system.len)
		mlb_json_set_str(b, "system", system.s);
	mlb_buf_free(&system);
	json_object_object_add(b, "messages", msgs);
	mlb_json_set_bool(b, "stream", stream);
	mlb_wire_options(b, chat->options, renames);
	stop = mlb_wire_member(b, "stop_sequences");
	if (json_object_is_type(stop, json_type_string)) {
		json_object *arr = json_object_new_array();

		json_object_array_add(arr, json_object_get(stop));
		json_object_object_add(b, "stop_sequences", arr);
	}
	return b;
}

/*
 * Every input token is billed: the uncached ones (input_tokens) and those
 * written to or read from the prompt cache, which input_tokens leaves out.
 */
static const char *const billed_prompt[] = {
	"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", NULL
};
static const char *const billed_completion[] = { "output_tokens", NULL };

static int event(struct mlb_reply *r, const char *ev, json_object *o)
{
	/* The data's own "type" is authoritative; the event: line repeats it. */
	const char *type = mlb_json_str(o, "type");

	if (!type)
		type = ev;
	if (!strcmp(type, "message_start")) {
		mlb_wire_usage_sum(r, mlb_wire_member(o, "message.usage"), billed_prompt, billed_completion, NULL);
		mlb_wire_cached(r, mlb_wire_member(o, "message.usage"), "cache_read_input_tokens");
	} else if (!strcmp(type, "content_block_delta")) {
		const char *dtype = mlb_json_str(mlb_wire_member(o, "delta"), "type");

		if (dtype && !strcmp(dtype, "text_delta"))
			mlb_wire_text(r, mlb_json_str(mlb_wire_member(o, "delta"), "text"));
	} else if (!strcmp(type, "message_delta")) {
		mlb_wire_finish(r, mlb_json_str(mlb_wire_member(o, "delta"), "stop_reason"));
		/* Newer servers report the input here too, in full (after server tools ran): it replaces message_start's. */
		mlb_wire_usage_sum(r, mlb_wire_member(o, "usage"),
				   mlb_wire_member(o, "usage.input_tokens") ? billed_prompt : billed_completion + 1,
				   billed_completion, NULL);
		if (mlb_wire_member(o, "usage.input_tokens"))
			mlb_wire_cached(r, mlb_wire_member(o, "usage"), "cache_read_input_tokens");
	} else if (!strcmp(type, "message_stop")) {
		r->done = 1;
	} else if (!strcmp(type, "error")) {
		mlb_wire_error_object(r, mlb_wire_member(o, "error"));
	}
	/* ping, content_block_start/stop and unknown types carry nothing we need. */
	return 0;
}

/*
 * The quick path: almost every event of a stream is
 *   {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"…"}   }
 * and event() reads only the two types and the text from it.  Any other
 * event (ping among them: a few a stream) and anything json-c might read
 * differently (a member twice) is left to event().
 */
struct quick {
	struct json_str type, dtype, text;
	int has_type, has_dtype, has_text, seen_delta;
	const char *blanks;	/* where the blanks after the delta start, for the frame */
};

/* The frame's holes (wire-frame.h): the text, and the blanks Anthropic pads with after the delta. */
enum { TEXT_HOLE, BLANKS_HOLE };

static int quick_delta(struct json_scan *sc, const struct json_str *key, void *ctx)
{
	struct quick *q = ctx;

	if (json_scan_is(key, "type"))
		return json_scan_member_string(sc, &q->dtype, &q->has_dtype);
	if (json_scan_is(key, "text"))
		return json_scan_member_string(sc, &q->text, &q->has_text);
	return json_scan_skip(sc);
}

static int quick_top(struct json_scan *sc, const struct json_str *key, void *ctx)
{
	struct quick *q = ctx;

	if (json_scan_is(key, "type"))
		return json_scan_member_string(sc, &q->type, &q->has_type);
	if (json_scan_is(key, "delta")) {
		if (q->seen_delta++ || !json_scan_object(sc, quick_delta, q))
			return 0;
		q->blanks = (const char *)sc->p;
		return 1;
	}
	return json_scan_skip(sc);
}

static int quick(struct mlb_reply *r, const char *data, size_t len)
{
	struct json_scan sc;
	struct quick q = { 0 };
	struct wire_match m;
	const char *text;
	size_t text_len;

	/* A chunk in the frame of the last one read whole is a text_delta too, with its own text. */
	if (wire_frame_match(&r->frame, data, len, &m) == data + len) {
		if (!json_scan_text(&m.str[TEXT_HOLE], &r->scratch, &text, &text_len))
			return 0;
		mlb_wire_text_len(r, text, text_len);
		return 1;
	}
	json_scan_init(&sc, data, len);
	if (!json_scan_object(&sc, quick_top, &q) || !json_scan_end(&sc))
		return 0;
	/* names compared raw: an escaped one is not "unsure" for them, only unequal, so json-c decides */
	if (q.has_type <= 0 || q.type.escaped || !json_scan_is(&q.type, "content_block_delta") ||
	    q.has_dtype <= 0 || q.dtype.escaped || !json_scan_is(&q.dtype, "text_delta") || q.has_text <= 0 ||
	    !json_scan_text(&q.text, &r->scratch, &text, &text_len))
		return 0;
	{
		struct wire_hole holes[2] = {
			{ WIRE_HOLE_STRING, q.text.s - 1, q.text.len + 2, TEXT_HOLE },
			{ WIRE_HOLE_BLANKS, q.blanks, 0, BLANKS_HOLE },
		};

		while (q.blanks + holes[1].len < data + len && (q.blanks[holes[1].len] == ' ' || q.blanks[holes[1].len] == '\t'))
			holes[1].len++;
		wire_frame_keep(&r->frame, data, len, holes, 2);
	}
	mlb_wire_text_len(r, text, text_len);
	return 1;
}

static int whole(struct mlb_reply *r, json_object *o)
{
	json_object *content = mlb_wire_member(o, "content");
	size_t n = json_object_is_type(content, json_type_array) ? json_object_array_length(content) : 0;

	if (mlb_json_str(o, "type") && !strcmp(mlb_json_str(o, "type"), "error")) {
		mlb_wire_error_object(r, mlb_wire_member(o, "error"));
		return 0;
	}
	if (!content)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_object *block = json_object_array_get_idx(content, i);
		const char *type = mlb_json_str(block, "type");

		if (type && !strcmp(type, "text"))
			mlb_wire_text(r, mlb_json_str(block, "text"));
	}
	mlb_wire_finish(r, mlb_json_str(o, "stop_reason"));
	mlb_wire_usage_sum(r, mlb_wire_member(o, "usage"), billed_prompt, billed_completion, NULL);
	mlb_wire_cached(r, mlb_wire_member(o, "usage"), "cache_read_input_tokens");
	r->done = 1;
	return 0;
}

const struct wire_kind mlb_wire_anthropic = {
	.url = url, .auth = auth, .body = body, .event = event, .quick = quick, .whole = whole,
	.models_path = "/v1/models", .models_array = "data", .models_id = "id",
};
