/*
 * wire-kind.h - inside the wire module: what each wire kind provides.
 * Not for tools; they use wire.h.
 */
#ifndef MLB_WIRE_KIND_H
#define MLB_WIRE_KIND_H

#include "wire.h"
#include "event.h"

struct wire_kind {
	/* The path below the base URL, without query. */
	void (*url)(const struct mlb_model *m, int stream, struct mlb_buf *url);
	/* Optional: the query string, from the chat (a GET request's whole question). */
	void (*query)(const struct mlb_chat *chat, struct mlb_buf *url);
	/* Headers beyond Content-Type, key included. */
	struct curl_slist *(*auth)(const char *key, struct curl_slist *list);
	/* The request body for chat; NULL for a GET request. */
	json_object *(*body)(const struct mlb_model *m, const struct mlb_chat *chat, int stream);
	/* One streamed event: 0, or -1 when malformed. */
	int (*event)(struct mlb_reply *r, const char *event, json_object *data);
	/* Optional: the usual shape of a streamed event, decoded without json-c: 1 when
	 * done, 0 (having changed nothing) to leave it to event. */
	int (*quick)(struct mlb_reply *r, const char *data, size_t len);
	/* Optional: the fast lane (sse.h) for the usual event: the bytes of one whole
	 * "data: …\n\n" it decoded, or 0 (having changed nothing). */
	size_t (*lane)(struct mlb_reply *r, const char *buf, size_t len);
	/* A whole non-streamed reply: 0, or -1 when malformed. */
	int (*whole)(struct mlb_reply *r, json_object *body);
	/* The path that lists models; NULL when the kind has none. */
	const char *models_path;
	/* The array of models in a list response and the member naming each. */
	const char *models_array, *models_id;
};

extern const struct wire_kind mlb_wire_openai, mlb_wire_gemini, mlb_wire_anthropic, mlb_wire_brave;

/* Shared by the kinds. */
json_object *mlb_wire_member(json_object *o, const char *path);	/* "a.b.0.c" */
void mlb_wire_text(struct mlb_reply *r, const char *text);
void mlb_wire_text_len(struct mlb_reply *r, const char *text, size_t len);
/*
 * Usage as the sums of the members of u that are billed as prompt and as completion
 * (NULL-terminated names); a part of total (a member name, or NULL) that neither sum
 * holds counts as completion, so that prompt + completion is what the provider bills.
 */
/* mlb_wire_usage_sum's rule on counts already added up (-1: none), for the quick paths. */
void mlb_wire_usage_counts(struct mlb_reply *r, long prompt, long completion, long total);
void mlb_wire_usage_sum(struct mlb_reply *r, json_object *u, const char *const *prompt,
			const char *const *completion, const char *total);
/* The prompt tokens read from the cache, from the member at path of u ("a.b"), when it is a count. */
void mlb_wire_cached(struct mlb_reply *r, json_object *u, const char *path);
void mlb_wire_finish(struct mlb_reply *r, const char *reason);
/* Copy options into body, renaming the generic names kind by kind (NULL-terminated from/to pairs). */
void mlb_wire_options(json_object *dst, json_object *options, const char *const *renames);
/* A provider's error object: record it with a DESIGN.md code derived from its type or status. */
void mlb_wire_error_object(struct mlb_reply *r, json_object *err);

#endif
