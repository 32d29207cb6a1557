/*
 * wire.h - the three wire kinds: how a chat becomes an HTTP request, and how
 * each kind's response becomes text, a finish reason and usage.
 *
 *   openai     POST {base}/chat/completions, SSE chunks ending in [DONE]
 *   gemini     POST {base}/models/{model}:streamGenerateContent?alt=sse
 *   anthropic  POST {base}/v1/messages, typed SSE events
 *   brave      GET {base}/res/v1/web/search?q=&count= (a web search, asked like a model)
 *
 * Keys travel in headers only (Authorization: Bearer, x-goog-api-key,
 * x-api-key).  Decoders fill a struct mlb_reply and call its on_text hook
 * for every piece of text as it arrives.
 */
#ifndef MLB_WIRE_H
#define MLB_WIRE_H

#include <stddef.h>
#include <curl/curl.h>

#include "buf.h"
#include "chat.h"
#include "config.h"
#include <json-c/json.h>

/* What a reply has told us so far. */
/* The bytes around the values of a chunk, as segments back to back (wire-frame.h). */
#define MLB_FRAME_HOLES 8
struct mlb_frame {
	struct mlb_buf bytes;
	size_t seg[MLB_FRAME_HOLES + 1];	/* the segments' lengths */
	unsigned char kind[MLB_FRAME_HOLES], tag[MLB_FRAME_HOLES];
	int nholes;				/* 0: no frame */
};

struct mlb_reply {
	struct mlb_buf content;
	char *finish_reason;		/* as the provider says it, or NULL */
	long prompt_tokens;		/* -1 until the provider reports usage */
	long completion_tokens;		/* -1 until the provider reports usage */
	double cost_usd;		/* provider-reported cost (OpenRouter), if has_cost */
	int has_cost;
	long cached_tokens;		/* of prompt_tokens, those read from the prompt cache; -1 until reported */
	int usage_top;			/* openai: a top-level usage object came (x_groq's no longer counts) */
	int done;			/* the provider said the reply is complete */
	int bad_chunks;			/* malformed chunks skipped */
	/* An error the provider reported inside the stream or body. */
	char *error_code;		/* DESIGN.md error code */
	char *error_message;
	int error_retryable;
	json_object *results;		/* a search's results, [{index, title, url, description}], or NULL */
	long retry_ms;			/* a retry delay the body asked for, or -1 */
	/* The quick paths' memory: room to decode text in, and the frame of the last chunk
	 * one read whole (wire-frame.h). */
	struct mlb_buf scratch;
	struct mlb_frame frame;
	/* Called for every piece of text, in order; text is len bytes, not NUL-terminated. */
	void (*on_text)(void *ctx, const char *text, size_t len);
	void *ctx;
};

/* An HTTP request ready for curl. */
struct mlb_wire_req {
	char *url;
	struct curl_slist *headers;
	char *body;			/* for a GET, its query, which is not sent */
	size_t body_len;
	int get;			/* a GET request (a search), not a POST */
};

/* Reset r to "nothing received", keeping its hooks. */
void mlb_reply_reset(struct mlb_reply *r);
void mlb_reply_free(struct mlb_reply *r);
/* Record an error the provider reported (the first one wins). */
void mlb_reply_error(struct mlb_reply *r, const char *code, const char *message, int retryable);

/* Build the request for model m; key may be NULL.  stream chooses SSE. */
void mlb_wire_build(const struct mlb_model *m, const char *key, const struct mlb_chat *chat,
		    int stream, struct mlb_wire_req *out);
void mlb_wire_req_free(struct mlb_wire_req *req);

/* Decode one SSE event of kind k into r; 0, or -1 for a malformed chunk (counted, skipped). */
int mlb_wire_event(enum mlb_kind k, struct mlb_reply *r, const char *event, const char *data, size_t len);
/* The fast lane of sse.h for kind k: decode the usual event at buf into r, setting *used to
 * its bytes, or leave it (and *used) alone; returns 0. */
int mlb_wire_lane(enum mlb_kind k, struct mlb_reply *r, const char *buf, size_t len, size_t *used);
/* Whether mlb_wire_event() and mlb_wire_lane() may read the usual chunks without json-c
 * (default 1); tests turn it off to compare the two ways. */
void mlb_wire_quick(int on);
/* Decode a whole non-streamed response body; -1 when malformed. */
int mlb_wire_body(enum mlb_kind k, struct mlb_reply *r, const char *body, size_t len);
/* From an HTTP error body: the provider's message (caller frees, may be NULL) and any retry delay in ms (-1 if none). */
char *mlb_wire_error_body(enum mlb_kind k, const char *body, size_t len, long *retry_ms);

/* The URL to list models for p (caller frees), or NULL when its kind lists none. */
char *mlb_wire_models_url(const struct mlb_provider *p);
/* Add the headers that carry key for p's kind to list. */
struct curl_slist *mlb_wire_auth(enum mlb_kind k, const char *key, struct curl_slist *list);
/* The model ids in a models-list response; the count; *ids is NULL-terminated (free with mlb_strv_free). */
size_t mlb_wire_models(enum mlb_kind k, const char *body, size_t len, char ***ids);

#endif
