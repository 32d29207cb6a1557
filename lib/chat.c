#include "chat.h"
#include "msg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void mlb_chat_init(struct mlb_chat *c)
{
	memset(c, 0, sizeof(*c));
	c->options = json_object_new_object();
}

void mlb_chat_add(struct mlb_chat *c, const char *role, const char *content)
{
	c->turns = mlb_xrealloc(c->turns, (c->nturns + 1) * sizeof(*c->turns));
	c->turns[c->nturns].role = mlb_xstrdup(role);
	c->turns[c->nturns].content = mlb_xstrdup(content);
	c->nturns++;
}

size_t mlb_chat_bytes(const struct mlb_chat *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nturns; i++)
		n += strlen(c->turns[i].content);
	return n;
}

void mlb_chat_copy(struct mlb_chat *dst, const struct mlb_chat *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->nturns; i++)
		mlb_chat_add(dst, src->turns[i].role, src->turns[i].content);
	dst->options = json_object_get(src->options);
}

void mlb_chat_free(struct mlb_chat *c)
{
	for (size_t i = 0; i < c->nturns; i++) {
		free(c->turns[i].role);
		free(c->turns[i].content);
	}
	free(c->turns);
	json_object_put(c->options);
	memset(c, 0, sizeof(*c));
}

static json_object *typed_value(const char *v)
{
	char *end;
	long long i;
	double d;

	if (!strcmp(v, "true") || !strcmp(v, "false"))
		return json_object_new_boolean(*v == 't');
	if (!strcmp(v, "null"))
		return NULL;
	errno = 0;
	i = strtoll(v, &end, 10);
	if (*v && !*end && !errno)
		return json_object_new_int64(i);
	errno = 0;
	d = strtod(v, &end);
	if (*v && !*end && !errno && isfinite(d))
		return json_object_new_double(d);
	if (*v == '[' || *v == '{') {
		json_object *j = json_tokener_parse(v);

		if (j)
			return j;
	}
	return json_object_new_string(v);
}

/* Request members that carry the conversation itself: an option must not replace them. */
static const char *const reserved[] = {
	"model", "messages", "contents", "system", "systemInstruction", "stream_options", NULL
};

int mlb_option_parse(json_object *opts, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char *key;

	if (!eq || eq == kv)
		return mlb_error("option '%s' is not key=value; e.g. -o temperature=0.2", kv);
	key = mlb_xstrndup(kv, (size_t)(eq - kv));
	for (const char *const *r = reserved; *r; r++)
		if (!strcmp(key, *r)) {
			mlb_error("option '%s' is set by mlb itself (from -m, the session and the prompt); drop -o %s",
				  key, key);
			free(key);
			return -1;
		}
	json_object_object_add(opts, key, typed_value(eq + 1));
	free(key);
	return 0;
}
