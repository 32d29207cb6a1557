/*
 * replay.h - provider exchanges kept on disk (--record DIR) and answered
 * from there without any network (--replay DIR), so that a CI run of a
 * dataset is deterministic and costs nothing.
 *
 * An exchange is one request that succeeded (HTTP 200) and the bytes of its
 * response as they came, stream and all.  It is keyed by what the request
 * asks, not by where it goes: the SHA-256 of the model (provider:model) and
 * the request body, so that a recording made against a provider's real URL
 * answers the same request sent anywhere.  Headers, where keys travel, are
 * never kept; the URL is kept for a person, with any user:password removed,
 * and an exchange whose request or response holds a registered key is not
 * kept at all.  Each is one JSON file, DIR/<key>.json, written atomically.
 */
#ifndef MLB_REPLAY_H
#define MLB_REPLAY_H

#include <stddef.h>

/* One recorded exchange. */
struct mlb_exchange {
	long status;		/* the HTTP status, 200 */
	int stream;		/* the response is an SSE stream, else one JSON body */
	char *body;		/* the response's bytes */
	size_t len;
};

/* The key of a request: 64 hex digits. */
void mlb_replay_key(const char *model, const char *body, size_t len, char out[65]);
/* Keep an exchange in dir; -1 after a one-line warning (nothing kept). */
int mlb_replay_save(const char *dir, const char *model, const char *url, const char *req, size_t req_len,
		    const struct mlb_exchange *x);
/* The exchange kept for a request; -1 with *why set (caller frees) when there is none or it is unreadable. */
int mlb_replay_load(const char *dir, const char *model, const char *req, size_t req_len, struct mlb_exchange *x,
		    char **why);
void mlb_exchange_clear(struct mlb_exchange *x);

#endif
