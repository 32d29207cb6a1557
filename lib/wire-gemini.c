/* The gemini wire kind: Google's streamGenerateContent with alt=sse. */
#include "wire-kind.h"
#include "wire-frame.h"
#include "msg.h"

#include <string.h>

static void url(const struct mlb_model *m, int stream, struct mlb_buf *u)
{
	char *id = curl_easy_escape(NULL, m->id, 0);

	mlb_buf_addf(u, "/models/%s:%s", id ? id : m->id,
		     stream ? "streamGenerateContent?alt=sse" : "generateContent");
	curl_free(id);
}

static struct curl_slist *auth(const char *key, struct curl_slist *list)
{
	char *h;

	if (!key)
		return list;
	/* The header, never the ?key= query parameter: URLs end up in logs. */
	h = mlb_xasprintf("x-goog-api-key: %s", key);
	list = curl_slist_append(list, h);
	memset(h, 0, strlen(h));
	free(h);
	return list;
}

static json_object *text_parts(const char *text)
{
	json_object *parts = json_object_new_array(), *p = json_object_new_object();

	mlb_json_set_str(p, "text", text);
	json_object_array_add(parts, p);
	return parts;
}

static const char *const renames[] = {
	"max_tokens", "maxOutputTokens", "top_p", "topP", "top_k", "topK",
	"stop", "stopSequences", "seed", "seed", NULL
};

static json_object *body(const struct mlb_model *m, const struct mlb_chat *chat, int stream)
{
	json_object *b = json_object_new_object(), *contents = json_object_new_array();
	json_object *gen = json_object_new_object();
	struct mlb_buf system = MLB_BUF_INIT;

	(void)m;
	(void)stream;
	for (size_t i = 0; i < chat->nturns; i++) {
		const struct mlb_turn *t = &chat->turns[i];
		json_object *c;

		if (!strcmp(t->role, "system")) {
			if (system.len)
				mlb_buf_adds(&system, "\n\n");
			mlb_buf_adds(&system, t->content);
			continue;
		}
		c = json_object_new_object();
		mlb_json_set_str(c, "role", strcmp(t->role, "assistant") ? "user" : "model");
		json_object_object_add(c, "parts", text_parts(t->content));
		json_object_array_add(contents, c);
	}
	json_object_object_add(b, "contents", contents);
	if (system.len) {
		json_object *si = json_object_new_object();

		json_object_object_add(si, "parts", text_parts(system.s));
		json_object_object_add(b, "systemInstruction", si);
	}
	mlb_buf_free(&system);
	mlb_wire_options(gen, chat->options, renames);
	/* Gemini wants a list of stop sequences. */
	{
		json_object *stop = mlb_wire_member(gen, "stopSequences");

		if (json_object_is_type(stop, json_type_string)) {
			json_object *arr = json_object_new_array();

			json_object_array_add(arr, json_object_get(stop));
			json_object_object_add(gen, "stopSequences", arr);
		}
	}
	if (json_object_object_length(gen))
		json_object_object_add(b, "generationConfig", gen);
	else
		json_object_put(gen);
	return b;
}

/*
 * Google bills the tool-use prompt (search results, code output fed back) as
 * input and the thoughts as output, beside the prompt and the candidates;
 * the four add up to totalTokenCount.
 */
static const char *const billed_prompt[] = { "promptTokenCount", "toolUsePromptTokenCount", NULL };
static const char *const billed_completion[] = { "candidatesTokenCount", "thoughtsTokenCount", NULL };
static const char total_count[] = "totalTokenCount";

/* Each chunk repeats usageMetadata, growing: the last one seen is the total. */
static int decode(struct mlb_reply *r, json_object *o)
{
	json_object *cand = mlb_wire_member(o, "candidates.0");
	json_object *parts = mlb_wire_member(cand, "content.parts");
	size_t n = json_object_is_type(parts, json_type_array) ? json_object_array_length(parts) : 0;
	json_object *um = mlb_wire_member(o, "usageMetadata");

	if (mlb_wire_member(o, "error")) {
		mlb_wire_error_object(r, mlb_wire_member(o, "error"));
		return 0;
	}
	if (!cand && !um)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_object *part = json_object_array_get_idx(parts, i);

		/* "thought" parts are the model's reasoning, not its answer. */
		if (json_object_get_boolean(mlb_wire_member(part, "thought")))
			continue;
		mlb_wire_text(r, mlb_json_str(part, "text"));
	}
	if (mlb_json_str(cand, "finishReason")) {
		mlb_wire_finish(r, mlb_json_str(cand, "finishReason"));
		r->done = 1;
	}
	if (um) {
		mlb_wire_usage_sum(r, um, billed_prompt, billed_completion, total_count);
		mlb_wire_cached(r, um, "cachedContentTokenCount");
	}
	return 0;
}

static int event(struct mlb_reply *r, const char *ev, json_object *o)
{
	(void)ev;
	return decode(r, o);
}

/*
 * The quick path: almost every chunk of a stream is
 *   {"candidates": [{"content": {"parts": [{"text": "…"}],"role": "model"},"index": 0}],
 *    "usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": 4,…},…}
 * and decode() reads the parts' texts and the two counts from it.  A
 * finish reason, a thought, an error, a part without text, and anything
 * json-c might read differently (a member twice, a count that is not a
 * plain integer) are left to decode().
 */
#define QUICK_PARTS 4

/* The usageMetadata counts decode() reads, in slots: billed_prompt's, billed_completion's, the total. */
enum { COUNT_PROMPT = 0, COUNT_COMPLETION = 2, COUNT_TOTAL = 4, NCOUNTS };
_Static_assert(sizeof(billed_prompt) / sizeof(*billed_prompt) == COUNT_COMPLETION - COUNT_PROMPT + 1 &&
	       sizeof(billed_completion) / sizeof(*billed_completion) == COUNT_TOTAL - COUNT_COMPLETION + 1,
	       "a slot for every count decode() adds up");

/* The tag of the text's hole in the frame; the counts' holes are tagged with their slots. */
#define TEXT_HOLE NCOUNTS

struct quick {
	struct json_str text[QUICK_PARTS];
	int nparts, has_text;
	long count[NCOUNTS];
	int has_count[NCOUNTS];
	const char *count_at[NCOUNTS];	/* where each count is in the chunk, for the frame */
	size_t count_len[NCOUNTS];
	int seen_candidates, seen_content, seen_parts, seen_usage;
};

static int quick_part(struct json_scan *sc, const struct json_str *key, void *ctx)
{
	struct quick *q = ctx;

	if (json_scan_is(key, "text"))
		return json_scan_member_string(sc, &q->text[q->nparts], &q->has_text);
	if (json_scan_is(key, "thought"))
		return 0;
	return json_scan_skip(sc);
}

static int quick_parts(struct json_scan *sc, struct quick *q)
{
	if (!json_scan_take(sc, '['))
		return 0;
	if (json_scan_take(sc, ']'))
		return 1;
	do {
		q->has_text = 0;
		if (q->nparts == QUICK_PARTS || !json_scan_object(sc, quick_part, q) || q->has_text <= 0)
			return 0;
		q->nparts++;
	} while (json_scan_take(sc, ','));
	return json_scan_take(sc, ']');
}

static int quick_content(struct json_scan *sc, const struct json_str *key, void *ctx)
{
	struct quick *q = ctx;

	if (json_scan_is(key, "parts"))
		return !q->seen_parts++ && quick_parts(sc, q);
	return json_scan_skip(sc);
}

static int quick_candidate(struct json_scan *sc, const struct json_str *key, void *ctx)
{
	struct quick *q = ctx;

	if (json_scan_is(key, "content"))
		return !q->seen_content++ && json_scan_object(sc, quick_content, q);
	if (json_scan_is(key, "finishReason"))
		return 0;
	return json_scan_skip(sc);
}

static int is_name(const struct json_str *key, const char *name)
{
	return key->len == strlen(name) && !memcmp(key->s, name, key->len);
}

/* The slot of a count decode() reads, or -1. */
static int count_slot(const struct json_str *key)
{
	for (int i = 0; billed_prompt[i]; i++)
		if (is_name(key, billed_prompt[i]))
			return COUNT_PROMPT + i;
	for (int i = 0; billed_completion[i]; i++)
		if (is_name(key, billed_completion[i]))
			return COUNT_COMPLETION + i;
	return is_name(key, total_count) ? COUNT_TOTAL : -1;
}

static int quick_usage(struct json_scan *sc, const struct json_str *key, void *ctx)
{
	struct quick *q = ctx;
	int i = count_slot(key);

	if (i < 0)
		return json_scan_skip(sc);
	json_scan_ws(sc);
	q->count_at[i] = (const char *)sc->p;
	if (q->has_count[i]++ || !json_scan_int(sc, &q->count[i]))
		return 0;
	q->count_len[i] = (size_t)((const char *)sc->p - q->count_at[i]);
	return 1;
}

/* The sum of the counts from..to that are there, as sum_members() adds them; -1 when none is. */
static long quick_sum(const struct quick *q, int from, int to)
{
	long sum = -1;

	for (int i = from; i <= to; i++)
		if (q->has_count[i] && q->count[i] >= 0)
			sum = (sum < 0 ? 0 : sum) + q->count[i];	/* counts of 18 digits at most: no overflow */
	return sum;
}

static int quick_top(struct json_scan *sc, const struct json_str *key, void *ctx)
{
	struct quick *q = ctx;

	if (json_scan_is(key, "candidates")) {
		/* the first candidate read, the others only checked */
		if (q->seen_candidates++ || !json_scan_take(sc, '[') || !json_scan_object(sc, quick_candidate, q))
			return 0;
		while (json_scan_take(sc, ','))
			if (!json_scan_skip(sc))
				return 0;
		return json_scan_take(sc, ']');
	}
	if (json_scan_is(key, "usageMetadata"))
		return !q->seen_usage++ && json_scan_object(sc, quick_usage, q);
	if (json_scan_is(key, "error"))
		return 0;
	return json_scan_skip(sc);
}

/* Hand on what a quick read found: 1, or 0 (having changed nothing). */
static int hand_on(struct mlb_reply *r, const struct quick *q)
{
	/* Each text is handed on before the next is decoded into the same scratch buffer; json_scan_string
	 * let none through that json_scan_text could not decode, so nothing is handed on in vain. */
	for (int i = 0; i < q->nparts; i++) {
		const char *text;
		size_t text_len;

		if (!json_scan_text(&q->text[i], &r->scratch, &text, &text_len))
			return 0;
		mlb_wire_text_len(r, text, text_len);
	}
	if (q->seen_usage)
		mlb_wire_usage_counts(r, quick_sum(q, COUNT_PROMPT, COUNT_COMPLETION - 1),
				      quick_sum(q, COUNT_COMPLETION, COUNT_TOTAL - 1),
				      q->has_count[COUNT_TOTAL] ? q->count[COUNT_TOTAL] : -1);
	return 1;
}

/* Keep the frame of a chunk of one text: the text and the counts are its holes (wire-frame.h). */
static void keep_frame(struct mlb_reply *r, const char *data, size_t len, const struct quick *q)
{
	struct wire_hole holes[1 + NCOUNTS];
	int n = 0;

	if (q->nparts != 1 || !q->seen_usage) {
		wire_frame_forget(&r->frame);
		return;
	}
	holes[n++] = (struct wire_hole){ WIRE_HOLE_STRING, q->text[0].s - 1, q->text[0].len + 2, TEXT_HOLE };
	for (int i = 0; i < NCOUNTS; i++)
		if (q->has_count[i])
			holes[n++] = (struct wire_hole){ WIRE_HOLE_INT, q->count_at[i], q->count_len[i], (unsigned char)i };
	wire_frame_keep(&r->frame, data, len, holes, n);
}

static int quick(struct mlb_reply *r, const char *data, size_t len)
{
	struct json_scan sc;
	struct quick q = { 0 };
	struct wire_match m;

	/* A chunk in the frame of the last one read whole says what that one said, with its own values. */
	if (wire_frame_match(&r->frame, data, len, &m) == data + len) {
		q.nparts = 1;
		q.text[0] = m.str[TEXT_HOLE];
		q.seen_usage = 1;
		for (int i = 0; i < NCOUNTS; i++)
			if ((q.has_count[i] = !!(m.present & 1u << i)))
				q.count[i] = m.num[i];
		return hand_on(r, &q);
	}
	json_scan_init(&sc, data, len);
	if (!json_scan_object(&sc, quick_top, &q) || !json_scan_end(&sc) || !q.seen_content)
		return 0;
	keep_frame(r, data, len, &q);
	return hand_on(r, &q);
}

static int whole(struct mlb_reply *r, json_object *o)
{
	int ret = decode(r, o);

	r->done = ret == 0;
	return ret;
}

const struct wire_kind mlb_wire_gemini = {
	.url = url, .auth = auth, .body = body, .event = event, .quick = quick, .whole = whole,
	.models_path = "/models", .models_array = "models", .models_id = "name",
};
