/*
 * The brave wire kind: the Brave Search API, a web search asked like a
 * model.  GET {base}/res/v1/web/search?q=<the last user message>&count=<n>,
 * the key in X-Subscription-Token.  The reply is the results, numbered so
 * that a model can cite them as [n]: "[n] title", the URL and the
 * description, a blank line between two; each result is also kept as an
 * object for the search_result events (reply.results).
 */
#include "wire-kind.h"
#include "msg.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_COUNT 5
#define MAX_COUNT 20	/* the API's own limit */

static void url(const struct mlb_model *m, int stream, struct mlb_buf *u)
{
	(void)m;
	(void)stream;
	mlb_buf_adds(u, "/res/v1/web/search");
}

/* ?q=…&count=…: the query is the last user message. */
static void query(const struct mlb_chat *chat, struct mlb_buf *u)
{
	const char *q = "";
	json_object *c;
	long count = DEFAULT_COUNT;
	char *esc;

	for (size_t i = chat->nturns; i-- > 0;)
		if (!strcmp(chat->turns[i].role, "user")) {
			q = chat->turns[i].content;
			break;
		}
	if (json_object_object_get_ex(chat->options, "count", &c))
		count = json_object_get_int64(c);
	if (count < 1)
		count = 1;
	if (count > MAX_COUNT)
		count = MAX_COUNT;
	esc = curl_easy_escape(NULL, q, (int)strlen(q));
	mlb_buf_addf(u, "?q=%s&count=%ld", esc ? esc : "", count);
	curl_free(esc);
}

static struct curl_slist *auth(const char *key, struct curl_slist *list)
{
	list = curl_slist_append(list, "Accept: application/json");
	if (key) {
		char *h = mlb_xasprintf("X-Subscription-Token: %s", key);

		list = curl_slist_append(list, h);
		memset(h, 0, strlen(h));
		free(h);
	}
	return list;
}

/* A search sends no body: NULL makes the request a GET. */
static json_object *body(const struct mlb_model *m, const struct mlb_chat *chat, int stream)
{
	(void)m;
	(void)chat;
	(void)stream;
	return NULL;
}

static int event(struct mlb_reply *r, const char *ev, json_object *data)
{
	(void)r;
	(void)ev;
	(void)data;
	return -1;	/* the search API does not stream */
}

/* One line of text: a title or description with its line breaks made spaces. */
static void add_line(struct mlb_buf *b, const char *s)
{
	for (; s && *s; s++)
		mlb_buf_add(b, *s == '\n' || *s == '\r' ? " " : s, 1);
}

static int whole(struct mlb_reply *r, json_object *o)
{
	json_object *results = mlb_wire_member(o, "web.results");
	size_t n = json_object_is_type(results, json_type_array) ? json_object_array_length(results) : 0;
	struct mlb_buf text = MLB_BUF_INIT;

	if (mlb_wire_member(o, "error")) {
		mlb_wire_error_object(r, mlb_wire_member(o, "error"));
		return 0;
	}
	json_object_put(r->results);
	r->results = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *res = json_object_array_get_idx(results, i), *item = json_object_new_object();
		const char *title = mlb_json_str(res, "title"), *link = mlb_json_str(res, "url");
		const char *desc = mlb_json_str(res, "description");

		mlb_buf_addf(&text, "%s[%zu] ", i ? "\n\n" : "", i + 1);
		add_line(&text, title ? title : "(no title)");
		mlb_buf_adds(&text, "\n");
		add_line(&text, link ? link : "");
		if (desc && *desc) {
			mlb_buf_adds(&text, "\n");
			add_line(&text, desc);
		}
		mlb_json_set_int(item, "index", (long long)i + 1);
		mlb_json_set_str(item, "title", title);
		mlb_json_set_str(item, "url", link);
		mlb_json_set_str(item, "description", desc);
		json_object_array_add(r->results, item);
	}
	if (!n)
		mlb_buf_adds(&text, "(no results)");
	mlb_wire_text_len(r, mlb_buf_str(&text), text.len);
	mlb_buf_free(&text);
	mlb_wire_finish(r, "stop");
	r->done = 1;
	return 0;
}

const struct wire_kind mlb_wire_brave = {
	.url = url, .query = query, .auth = auth, .body = body, .event = event, .whole = whole,
	.models_path = NULL,
};
