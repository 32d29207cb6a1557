/* The openai wire kind: Chat Completions, as OpenAI, LiteLLM, Groq, OpenRouter, Ollama, vLLM and llama.cpp speak it. */
#include "wire-kind.h"
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

/* Usage may sit at the top (OpenAI, OpenRouter with "cost") or under x_groq (Groq). */
static void usage(struct mlb_reply *r, json_object *o)
{
	json_object *u = mlb_wire_member(o, "usage"), *cost;

	if (!json_object_is_type(u, json_type_object))
		u = mlb_wire_member(o, "x_groq.usage");
	if (!json_object_is_type(u, json_type_object))
		return;
	mlb_wire_usage(r, mlb_wire_member(u, "prompt_tokens"), mlb_wire_member(u, "completion_tokens"));
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
	.url = url, .auth = auth, .body = body, .event = event, .whole = whole,
	.models_path = "/models", .models_array = "data", .models_id = "id",
};
