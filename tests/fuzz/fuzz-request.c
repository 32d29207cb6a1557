/*
 * fuzz-request.c - requests built from arbitrary prompts and -o options
 * (lib/chat.c, mlb_wire_build in lib/wire*.c).
 *
 * The input is lines (NUL also ends a line): the first is the model id,
 * "o key=value" adds an option as -o does, "s ", "a " and "u " add a
 * system, assistant or user turn.  The request is built for each kind, and
 * the body must be JSON that carries every turn's text exactly and the
 * key must be only in a header, never in the URL or the body.
 */
#include "fuzz.h"
#include "chat.h"
#include "wire.h"

#define KEY "sk-fuzz-key-7f3a"

/* The text of every turn of the body, in order, joined by \x01 as the kind lays them out. */
static void texts(enum mlb_kind k, json_object *body, struct mlb_buf *out)
{
	json_object *arr, *o;
	const char *key = k == MLB_KIND_GEMINI ? "contents" : "messages";

	if (json_object_object_get_ex(body, "system", &o))
		mlb_buf_adds(out, json_object_get_string(o)), mlb_buf_addc(out, 1);
	if (json_object_object_get_ex(body, "systemInstruction", &o) && json_object_object_get_ex(o, "parts", &o))
		mlb_buf_adds(out, json_object_get_string(json_object_object_get(
			json_object_array_get_idx(o, 0), "text"))), mlb_buf_addc(out, 1);
	FUZZ_CHECK(json_object_object_get_ex(body, key, &arr) && json_object_is_type(arr, json_type_array));
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *t = json_object_array_get_idx(arr, i), *c;

		if (k == MLB_KIND_GEMINI) {
			FUZZ_CHECK(json_object_object_get_ex(t, "parts", &c));
			c = json_object_object_get(json_object_array_get_idx(c, 0), "text");
		} else {
			FUZZ_CHECK(json_object_object_get_ex(t, "content", &c));
		}
		FUZZ_CHECK(json_object_is_type(c, json_type_string));
		mlb_buf_add(out, json_object_get_string(c), (size_t)json_object_get_string_len(c));
		mlb_buf_addc(out, 1);
	}
}

/*
 * -o passes any name through, so -o messages=... would replace the turns
 * themselves; the check below is about the turns, so leave those names out.
 */
static int reserved(const char *kv)
{
	static const char *const names[] = { "messages", "contents", "system", "systemInstruction",
		"model", NULL };
	size_t n = strcspn(kv, "=");

	for (const char *const *p = names; *p; p++)
		if (strlen(*p) == n && !strncmp(kv, *p, n))
			return 1;
	return 0;
}

static json_object *parse_deep(const char *s, size_t len)
{
	/* Options may hold JSON nested as deep as json-c allows, one level down. */
	json_tokener *tok = json_tokener_new_ex(1000);
	json_object *o;

	FUZZ_CHECK(tok);
	o = json_tokener_parse_ex(tok, s, (int)len);
	FUZZ_CHECK(json_tokener_get_error(tok) == json_tokener_success);
	json_tokener_free(tok);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const base = "http://127.0.0.1:9/v1";
	const char *s = (const char *)data, *end = s + size;
	struct mlb_chat chat;
	struct mlb_provider prov = { 0 };
	struct mlb_model model = { 0 };
	char *id = NULL;
	int bad_option = 0;
	int own_key = memmem(data, size, KEY, strlen(KEY)) != NULL;

	mlb_chat_init(&chat);
	while (s < end) {
		const char *nl = s;
		char *line;

		while (nl < end && *nl != '\n' && *nl)
			nl++;
		line = malloc((size_t)(nl - s) + 1);
		FUZZ_CHECK(line);
		memcpy(line, s, (size_t)(nl - s));
		line[nl - s] = '\0';
		if (!id)
			id = line, line = NULL;
		else if (!strncmp(line, "o ", 2) && !reserved(line + 2))
			bad_option |= mlb_option_parse(chat.options, line + 2) < 0;
		else if (!strncmp(line, "s ", 2))
			mlb_chat_add(&chat, "system", line + 2);
		else if (!strncmp(line, "a ", 2))
			mlb_chat_add(&chat, "assistant", line + 2);
		else
			mlb_chat_add(&chat, "user", line + (strncmp(line, "u ", 2) ? 0 : 2));
		free(line);
		s = nl + 1;
	}
	(void)bad_option;
	prov.name = "fuzz";
	prov.base_url = (char *)base;
	model.provider = &prov;
	model.spec = "fuzz:model";
	model.id = id ? id : "m";
	for (int k = MLB_KIND_OPENAI; k <= MLB_KIND_ANTHROPIC; k++) {
		for (int stream = 0; stream <= 1; stream++) {
			struct mlb_wire_req req;
			struct mlb_buf want = MLB_BUF_INIT, got = MLB_BUF_INIT;
			json_object *body;
			int has_key = 0;

			prov.kind = (enum mlb_kind)k;
			mlb_wire_build(&model, KEY, &chat, stream, &req);
			FUZZ_CHECK(req.url && !strncmp(req.url, base, strlen(base)));
			FUZZ_CHECK(!strpbrk(req.url, " \r\n"));
			FUZZ_CHECK(req.body && strlen(req.body) == req.body_len);
			/* Unless the input itself holds it, the key is in no URL and no body. */
			FUZZ_CHECK(own_key || (!strstr(req.url, KEY) && !strstr(req.body, KEY)));
			for (struct curl_slist *h = req.headers; h; h = h->next) {
				FUZZ_CHECK(!strpbrk(h->data, "\r\n"));
				has_key |= strstr(h->data, KEY) != NULL;
			}
			FUZZ_CHECK(has_key);
			body = parse_deep(req.body, req.body_len);
			FUZZ_CHECK(json_object_is_type(body, json_type_object));
			/* The turns as the kind arranges them: system first, then the rest in order. */
			if (k != MLB_KIND_OPENAI) {
				struct mlb_buf sys = MLB_BUF_INIT;

				for (size_t i = 0; i < chat.nturns; i++)
					if (!strcmp(chat.turns[i].role, "system"))
						mlb_buf_adds(&sys, sys.len ? "\n\n" : ""), mlb_buf_adds(&sys, chat.turns[i].content);
				if (sys.len)
					mlb_buf_add(&want, sys.s, sys.len), mlb_buf_addc(&want, 1);
				mlb_buf_free(&sys);
			}
			for (size_t i = 0; i < chat.nturns; i++)
				if (k == MLB_KIND_OPENAI || strcmp(chat.turns[i].role, "system"))
					mlb_buf_adds(&want, chat.turns[i].content), mlb_buf_addc(&want, 1);
			texts((enum mlb_kind)k, body, &got);
			FUZZ_CHECK(want.len == got.len && (!want.len || !memcmp(want.s, got.s, want.len)));
			mlb_buf_free(&want);
			mlb_buf_free(&got);
			json_object_put(body);
			mlb_wire_req_free(&req);
		}
	}
	free(id);
	mlb_chat_free(&chat);
	return 0;
}
