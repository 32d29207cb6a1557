#include "replay.h"
#include "event.h"
#include "file.h"
#include "msg.h"
#include "secret.h"
#include "sha256.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

void mlb_replay_key(const char *model, const char *body, size_t len, char out[65])
{
	struct mlb_sha256 c;
	unsigned char h[32];

	mlb_sha256_init(&c);
	mlb_sha256_update(&c, model, strlen(model) + 1);	/* with its NUL: model and body cannot run together */
	mlb_sha256_update(&c, body, len);
	mlb_sha256_final(&c, h);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static char *path_of(const char *dir, const char *model, const char *req, size_t len)
{
	char key[65];

	mlb_replay_key(model, req, len, key);
	return mlb_xasprintf("%s/%s.json", dir, key);
}

int mlb_replay_save(const char *dir, const char *model, const char *url, const char *req, size_t req_len,
		    const struct mlb_exchange *x)
{
	char *path, *text = mlb_xstrndup(req, req_len), *safe_url = mlb_redact(url);
	json_object *o, *body;
	const char *out;
	int ret = 0;

	if (mlb_redact_needed(text) || memchr(x->body, 0, x->len)) {
		free(text);
		free(safe_url);
		mlb_warn("%s: an exchange with %s is not recorded: it holds a key or a NUL byte", dir, model);
		return -1;
	}
	{
		char *resp = mlb_xstrndup(x->body, x->len);
		int secret = mlb_redact_needed(resp);

		free(resp);
		if (secret) {
			free(text);
			free(safe_url);
			mlb_warn("%s: an exchange with %s is not recorded: its response holds a key", dir, model);
			return -1;
		}
	}
	o = json_object_new_object();
	mlb_json_set_str(o, "model", model);
	mlb_json_set_str(o, "url", safe_url);
	body = json_tokener_parse(text);
	json_object_object_add(o, "request", body ? body : json_object_new_string(text));
	mlb_json_set_int(o, "status", x->status);
	mlb_json_set_bool(o, "stream", x->stream);
	json_object_object_add(o, "response", json_object_new_string_len(x->body, (int)x->len));
	out = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	path = path_of(dir, model, req, req_len);
	if (mlb_mkdirs(dir, 0755) < 0 || mlb_file_write(path, out, strlen(out)) < 0) {
		mlb_warn("cannot record an exchange in '%s': %s", path, strerror(errno));
		ret = -1;
	}
	json_object_put(o);
	free(path);
	free(text);
	free(safe_url);
	return ret;
}

int mlb_replay_load(const char *dir, const char *model, const char *req, size_t req_len, struct mlb_exchange *x,
		    char **why)
{
	char *path = path_of(dir, model, req, req_len), *text;
	json_object *o, *resp;

	memset(x, 0, sizeof(*x));
	text = mlb_file_read(path, NULL);
	if (!text) {
		*why = errno == ENOENT ?
		       mlb_xasprintf("--replay: %s has no recorded exchange for this request to %s (%s); "
				     "record it with --record, or the request changed since", dir, model, path) :
		       mlb_xasprintf("--replay: cannot read '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	o = json_tokener_parse(text);
	free(text);
	if (!json_object_object_get_ex(o, "response", &resp) || !json_object_is_type(resp, json_type_string)) {
		*why = mlb_xasprintf("--replay: '%s' is not a recorded exchange (no \"response\" text)", path);
		json_object_put(o);
		free(path);
		return -1;
	}
	x->status = mlb_json_int(o, "status", 200);
	x->stream = mlb_json_bool(o, "stream");
	x->len = (size_t)json_object_get_string_len(resp);
	x->body = mlb_xstrndup(json_object_get_string(resp), x->len);
	json_object_put(o);
	free(path);
	return 0;
}

void mlb_exchange_clear(struct mlb_exchange *x)
{
	free(x->body);
	memset(x, 0, sizeof(*x));
}
