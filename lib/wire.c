#include "wire-kind.h"
#include "msg.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const struct wire_kind *kinds[] = {
	[MLB_KIND_OPENAI] = &mlb_wire_openai,
	[MLB_KIND_GEMINI] = &mlb_wire_gemini,
	[MLB_KIND_ANTHROPIC] = &mlb_wire_anthropic,
	[MLB_KIND_BRAVE] = &mlb_wire_brave,
};

void mlb_reply_reset(struct mlb_reply *r)
{
	mlb_buf_reset(&r->content);
	free(r->finish_reason);
	free(r->error_code);
	free(r->error_message);
	r->finish_reason = r->error_code = r->error_message = NULL;
	json_object_put(r->results);
	r->results = NULL;
	r->prompt_tokens = r->completion_tokens = r->cached_tokens = -1;
	r->cost_usd = 0;
	r->has_cost = r->usage_top = r->done = r->bad_chunks = r->error_retryable = 0;
	r->retry_ms = -1;
	mlb_buf_reset(&r->frame.bytes);
	r->frame.nholes = 0;
}

void mlb_reply_free(struct mlb_reply *r)
{
	mlb_reply_reset(r);
	mlb_buf_free(&r->content);
	mlb_buf_free(&r->scratch);
	mlb_buf_free(&r->frame.bytes);
}

void mlb_reply_error(struct mlb_reply *r, const char *code, const char *message, int retryable)
{
	if (r->error_code)
		return;
	r->error_code = mlb_xstrdup(code);
	/* An empty "message" would make an error line that says nothing. */
	r->error_message = mlb_xstrdup(message && *message ? message : "the provider reported an error");
	r->error_retryable = retryable;
}

json_object *mlb_wire_member(json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (json_object_is_type(o, json_type_array)) {
			char *end;
			long i = strtol(key, &end, 10);

			o = *end ? NULL : json_object_array_get_idx(o, (size_t)i);
		} else if (json_object_is_type(o, json_type_object)) {
			if (!json_object_object_get_ex(o, key, &o))
				o = NULL;
		} else {
			o = NULL;
		}
		path += n + (path[n] == '.');
	}
	return o;
}

void mlb_wire_text_len(struct mlb_reply *r, const char *text, size_t len)
{
	if (!len)
		return;
	mlb_buf_add(&r->content, text, len);
	if (r->on_text)
		r->on_text(r->ctx, text, len);
}

void mlb_wire_text(struct mlb_reply *r, const char *text)
{
	mlb_wire_text_len(r, text, text ? strlen(text) : 0);
}

static int is_number(json_object *o)
{
	return json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double);
}

/* The sum of the numeric members named; -1 when none is there. */
static long sum_members(json_object *u, const char *const *names)
{
	long sum = -1;

	for (; *names; names++) {
		json_object *v = mlb_wire_member(u, *names);

		if (is_number(v) && json_object_get_int64(v) >= 0) {
			long n = (long)json_object_get_int64(v);

			if (sum < 0)
				sum = 0;
			/* a count past what a long holds is nonsense: stop there rather than overflow */
			sum = n > LONG_MAX - sum ? LONG_MAX : sum + n;
		}
	}
	return sum;
}

void mlb_wire_usage_counts(struct mlb_reply *r, long prompt, long completion, long total)
{
	if (prompt >= 0)
		r->prompt_tokens = prompt;
	if (completion >= 0)
		r->completion_tokens = completion;
	/* total > prompt + completion, without the sum that could overflow */
	if (prompt >= 0 && completion >= 0 && total >= 0 && total - prompt > completion)
		r->completion_tokens = total - prompt;
}

void mlb_wire_usage_sum(struct mlb_reply *r, json_object *u, const char *const *prompt,
			const char *const *completion, const char *total)
{
	json_object *t = total ? mlb_wire_member(u, total) : NULL;

	mlb_wire_usage_counts(r, sum_members(u, prompt), sum_members(u, completion),
			      is_number(t) ? (long)json_object_get_int64(t) : -1);
}

void mlb_wire_cached(struct mlb_reply *r, json_object *u, const char *path)
{
	json_object *v = mlb_wire_member(u, path);

	if (is_number(v) && json_object_get_int64(v) >= 0)
		r->cached_tokens = (long)json_object_get_int64(v);
}

void mlb_wire_finish(struct mlb_reply *r, const char *reason)
{
	if (!reason || !*reason)
		return;
	free(r->finish_reason);
	r->finish_reason = mlb_xstrdup(reason);
}

void mlb_wire_options(json_object *dst, json_object *options, const char *const *renames)
{
	json_object_object_foreach(options, key, val) {
		const char *name = key;

		if (!strcmp(key, "stream"))
			continue;	/* chosen by the runner, not passed through */
		for (const char *const *p = renames; p && *p; p += 2)
			if (!strcmp(key, p[0])) {
				name = p[1];
				break;
			}
		json_object_object_add(dst, name, json_object_get(val));
	}
}

/* Map a provider's error type (or HTTP-like status) to a DESIGN.md code. */
static const char *error_code(const char *type, long status, int *retryable)
{
	static const struct { const char *word, *code; int retry; } map[] = {
		{ "rate_limit", "rate_limit", 1 }, { "RESOURCE_EXHAUSTED", "rate_limit", 1 },
		{ "overloaded", "server", 1 }, { "UNAVAILABLE", "server", 1 },
		{ "authentication", "auth", 0 }, { "permission", "auth", 0 },
		{ "UNAUTHENTICATED", "auth", 0 }, { "PERMISSION_DENIED", "auth", 0 },
		{ "invalid_request", "bad_request", 0 }, { "INVALID_ARGUMENT", "bad_request", 0 },
		{ "not_found", "bad_request", 0 }, { "NOT_FOUND", "bad_request", 0 },
		{ "timeout", "timeout", 1 }, { "DEADLINE_EXCEEDED", "timeout", 1 },
	};

	for (size_t i = 0; type && i < sizeof(map) / sizeof(*map); i++)
		if (strstr(type, map[i].word)) {
			*retryable = map[i].retry;
			return map[i].code;
		}
	if (status == 429) {
		*retryable = 1;
		return "rate_limit";
	}
	if (status >= 400 && status < 500) {
		*retryable = 0;
		return status == 401 || status == 403 ? "auth" : "bad_request";
	}
	*retryable = 1;
	return "server";
}

void mlb_wire_error_object(struct mlb_reply *r, json_object *err)
{
	json_object *e = json_object_is_type(err, json_type_object) ? err : NULL;
	const char *msg = mlb_json_str(e, "message");
	const char *type = mlb_json_str(e, "type");
	int retryable;
	const char *code;

	if (!type)
		type = mlb_json_str(e, "status");
	if (!type)
		type = mlb_json_str(e, "code");
	code = error_code(type, (long)json_object_get_int64(mlb_wire_member(e, "code")), &retryable);
	mlb_reply_error(r, code, msg, retryable);
}

void mlb_wire_build(const struct mlb_model *m, const char *key, const struct mlb_chat *chat,
		    int stream, struct mlb_wire_req *out)
{
	const struct wire_kind *k = kinds[m->provider->kind];
	struct mlb_buf url = MLB_BUF_INIT;
	json_object *body;
	const char *s;
	size_t len;

	memset(out, 0, sizeof(*out));
	mlb_buf_adds(&url, m->provider->base_url);
	k->url(m, stream, &url);
	if (k->query)
		k->query(chat, &url);
	out->url = mlb_buf_detach(&url);
	body = k->body(m, chat, stream);
	if (!body) {
		/* A GET: nothing is sent but the URL.  body holds its query, which is what is asked
		 * (a recording is keyed by it); it is not sent. */
		const char *q = strchr(out->url, '?');

		out->get = 1;
		out->body = mlb_xstrdup(q ? q + 1 : "");
		out->body_len = strlen(out->body);
		out->headers = k->auth(key, NULL);
		return;
	}
	out->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (stream)
		out->headers = curl_slist_append(out->headers, "Accept: text/event-stream");
	/* Without this curl waits a second for "100 Continue" on large bodies. */
	out->headers = curl_slist_append(out->headers, "Expect:");
	out->headers = k->auth(key, out->headers);
	s = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	out->body = mlb_xstrndup(s, len);
	out->body_len = len;
	json_object_put(body);
}

void mlb_wire_req_free(struct mlb_wire_req *req)
{
	free(req->url);
	free(req->body);
	curl_slist_free_all(req->headers);
	memset(req, 0, sizeof(*req));
}

struct curl_slist *mlb_wire_auth(enum mlb_kind k, const char *key, struct curl_slist *list)
{
	return kinds[k]->auth(key, list);
}

/* One tokener for every chunk: a stream is thousands of small documents. */
static json_tokener *tokener;

static void free_tokener(void)
{
	if (tokener)
		json_tokener_free(tokener);
	tokener = NULL;
}

static json_object *parse(const char *s, size_t len)
{
	static int at_exit;
	json_object *o;

	if (!at_exit) {
		atexit(free_tokener);
		at_exit = 1;
	}
	if (!mlb_json_tokener_ready(&tokener, 64, 0))
		return NULL;
	o = json_tokener_parse_ex(tokener, s, (int)len);
	if (json_tokener_get_error(tokener) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static int quick_on = 1;

void mlb_wire_quick(int on)
{
	quick_on = on;
}

/* The end of the line at p (LF or CRLF, no other CR in it), where its ending begins; NULL if none or unsure. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p)), *eol;

	if (!lf)
		return NULL;
	eol = lf > p && lf[-1] == '\r' ? lf - 1 : lf;
	/* a lone CR ends a line too: such a stream is the parser's to cut */
	if (memchr(p, '\r', (size_t)(eol - p)))
		return NULL;
	*next = lf + 1;
	return eol;
}

/*
 * The lane for a kind's quick path: an optional "event: <name>" line, one
 * "data: " line and the blank line, ended by LF or CRLF, whose data quick()
 * takes.  The name does not matter: the quick paths take only events that
 * name their type in their data, which event() trusts over the name.
 */
static size_t quick_lane(const struct wire_kind *kind, struct mlb_reply *r, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *data, *eol, *next;

	if (len > 7 && !memcmp(p, "event: ", 7)) {
		if (!line_end(p, end, &p))
			return 0;
	}
	if (end - p < 6 || memcmp(p, "data: ", 6))
		return 0;
	data = p + 6;
	if (!(eol = line_end(data, end, &next)))
		return 0;
	if (next < end && *next == '\n')
		next++;
	else if (end - next >= 2 && next[0] == '\r' && next[1] == '\n')
		next += 2;
	else
		return 0;
	if (!kind->quick(r, data, (size_t)(eol - data)))
		return 0;
	return (size_t)(next - buf);
}

int mlb_wire_lane(enum mlb_kind k, struct mlb_reply *r, const char *buf, size_t len, size_t *used)
{
	size_t n = 0;

	if (!quick_on)
		return 0;
	if (kinds[k]->lane)
		n = kinds[k]->lane(r, buf, len);
	if (!n && kinds[k]->quick)
		n = quick_lane(kinds[k], r, buf, len);
	*used = n;
	return 0;
}

int mlb_wire_event(enum mlb_kind k, struct mlb_reply *r, const char *event, const char *data, size_t len)
{
	json_object *o;
	int ret;

	if (k == MLB_KIND_OPENAI && len == 6 && !memcmp(data, "[DONE]", 6)) {
		r->done = 1;
		return 0;
	}
	if (quick_on && kinds[k]->quick && kinds[k]->quick(r, data, len))
		return 0;
	o = parse(data, len);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		r->bad_chunks++;
		return -1;
	}
	ret = kinds[k]->event(r, event, o);
	json_object_put(o);
	if (ret < 0)
		r->bad_chunks++;
	return ret;
}

int mlb_wire_body(enum mlb_kind k, struct mlb_reply *r, const char *body, size_t len)
{
	json_object *o = parse(body, len);
	int ret;

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -1;
	}
	ret = kinds[k]->whole(r, o);
	json_object_put(o);
	return ret;
}

/* Gemini's RetryInfo: "details": [{"@type": "...RetryInfo", "retryDelay": "1.5s"}]. */
static long retry_info(json_object *err)
{
	json_object *details = mlb_wire_member(err, "details");
	size_t n = json_object_is_type(details, json_type_array) ? json_object_array_length(details) : 0;

	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(details, i);
		const char *type = mlb_json_str(d, "@type"), *delay = mlb_json_str(d, "retryDelay");

		if (type && delay && strstr(type, "RetryInfo")) {
			char *end;
			double secs = strtod(delay, &end);

			/* "1e30s" or "infs" must not overflow the conversion (undefined behaviour);
			 * a week is already far beyond any wait the runner honours. */
			if (end != delay && secs >= 0)
				return secs < 7 * 86400.0 ? (long)(secs * 1000) : 7 * 86400L * 1000;
		}
	}
	return -1;
}

char *mlb_wire_error_body(enum mlb_kind k, const char *body, size_t len, long *retry_ms)
{
	json_object *o = parse(body, len), *err;
	const char *msg = NULL;
	char *ret = NULL;

	(void)k;
	*retry_ms = -1;
	err = mlb_wire_member(o, "error");
	if (json_object_is_type(err, json_type_object)) {
		msg = mlb_json_str(err, "message");
		if (!msg)
			msg = mlb_json_str(err, "detail");	/* Brave's */
		*retry_ms = retry_info(err);
	} else if (json_object_is_type(err, json_type_string)) {
		msg = json_object_get_string(err);
	} else {
		msg = mlb_json_str(o, "message");
	}
	if (msg && *msg)
		ret = mlb_xstrdup(msg);
	else if (len)
		ret = mlb_xstrndup(body, len > 200 ? 200 : len);
	json_object_put(o);
	/* One line: a message goes into an error event and a stderr line. */
	for (char *p = ret; p && *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return ret;
}

char *mlb_wire_models_url(const struct mlb_provider *p)
{
	if (!kinds[p->kind]->models_path)
		return NULL;
	return mlb_xasprintf("%s%s", p->base_url, kinds[p->kind]->models_path);
}

size_t mlb_wire_models(enum mlb_kind k, const char *body, size_t len, char ***ids)
{
	json_object *o = parse(body, len);
	json_object *arr = mlb_wire_member(o, kinds[k]->models_array);
	size_t n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0, count = 0;

	*ids = mlb_xcalloc(n + 1, sizeof(**ids));
	for (size_t i = 0; i < n; i++) {
		const char *id = mlb_json_str(json_object_array_get_idx(arr, i), kinds[k]->models_id);

		if (!id)
			continue;
		if (!strncmp(id, "models/", 7))
			id += 7;	/* Gemini names models "models/<id>" */
		(*ids)[count++] = mlb_xstrdup(id);
	}
	json_object_put(o);
	return count;
}
