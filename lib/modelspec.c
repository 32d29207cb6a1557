#include "modelspec.h"
#include "chat.h"
#include "msg.h"

#include <stdlib.h>
#include <string.h>

static int key_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int key_char(char c)
{
	return key_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* Whether an option starts at s, a ',': a key, then '='. */
static int option_at(const char *s)
{
	const char *k = s + 1;

	if (*s != ',' || !key_start(*k))
		return 0;
	while (key_char(*k))
		k++;
	return *k == '=';
}

size_t mlb_model_word_len(const char *word)
{
	const char *s = word;

	while (*s && !option_at(s))
		s++;
	return (size_t)(s - word);
}

/* Add the options written from s (at a ',') on; -1 after an error. */
static int add_options(const char *s, json_object *options)
{
	while (*s) {
		const char *end = s + 1;
		char *kv;
		int ret;

		while (*end && !option_at(end))
			end++;
		kv = mlb_xstrndup(s + 1, (size_t)(end - s - 1));
		ret = options ? mlb_option_parse(options, kv) : 0;
		free(kv);
		if (ret < 0)
			return -1;	/* reported, naming the option */
		s = end;
	}
	return 0;
}

/* The alias's value when name (len bytes) is one, else NULL (caller frees). */
static char *alias_value(const struct mlb_config *cfg, const char *name, size_t len)
{
	char *key = mlb_xasprintf("alias.%.*s", (int)len, name), *v;

	v = cfg ? mlb_config_str(cfg, key) : NULL;
	free(key);
	return v;
}

char *mlb_model_expand(const struct mlb_config *cfg, const char *word)
{
	size_t len = mlb_model_word_len(word);
	char *v;

	if (memchr(word, ':', len) || !(v = alias_value(cfg, word, len)))
		return mlb_xstrdup(word);
	if (word[len]) {
		char *both = mlb_xasprintf("%s%s", v, word + len);

		free(v);
		v = both;
	}
	return v;
}

int mlb_model_word(const struct mlb_config *cfg, const char *word, char **spec, json_object *options)
{
	char *w = mlb_model_expand(cfg, word);
	size_t len = mlb_model_word_len(w);

	*spec = NULL;
	if (!len || !memchr(w, ':', len)) {
		size_t wl = mlb_model_word_len(word);

		if (!memchr(word, ':', wl))
			mlb_error("model '%.*s' is neither provider:model nor an alias; write it as e.g. openai:%.*s, "
				  "or add [alias] %.*s = provider:model to the configuration",
				  (int)wl, word, (int)wl, word, (int)wl, word);
		else
			mlb_error("model '%s' is not provider:model", word);
		free(w);
		return -1;
	}
	if (add_options(w + len, options) < 0) {
		free(w);
		return -1;
	}
	*spec = mlb_xstrndup(w, len);
	free(w);
	return 0;
}

struct defaults_ctx {
	const char *spec;
	size_t prefix;		/* strlen("model.") + strlen(spec) */
	struct mlb_model_defaults *d;
	int bad;
};

/* One model.<spec>.<key> entry; the subsection may hold dots (gpt-3.5-turbo), the key cannot. */
static int defaults_entry(const char *name, const char *value, void *ctx)
{
	struct defaults_ctx *c = ctx;
	const char *key = name + c->prefix;

	if (strlen(name) <= c->prefix || strncmp(name + 6, c->spec, c->prefix - 6) || *key != '.')
		return 0;
	key++;
	if (!strcmp(key, "option")) {
		if (mlb_option_parse(c->d->options, value) < 0) {
			mlb_error("configuration [model \"%s\"] option = %s: write it as option = key=value", c->spec, value);
			c->bad = 1;
		}
	} else if (!strcmp(key, "role")) {
		free(c->d->role);
		c->d->role = mlb_xstrdup(*value == '@' ? value + 1 : value);
	} else if (!strcmp(key, "fallback")) {
		c->d->fallbacks = mlb_xrealloc(c->d->fallbacks, (c->d->nfallbacks + 2) * sizeof(char *));
		c->d->fallbacks[c->d->nfallbacks++] = mlb_xstrdup(value);
		c->d->fallbacks[c->d->nfallbacks] = NULL;
	} else {
		mlb_warn("configuration [model \"%s\"] %s: unknown setting; use option = key=value, role or fallback",
			 c->spec, key);
	}
	return 0;
}

int mlb_model_defaults(const struct mlb_config *cfg, const char *spec, struct mlb_model_defaults *d)
{
	struct defaults_ctx c = { spec, 6 + strlen(spec), d, 0 };

	memset(d, 0, sizeof(*d));
	d->options = json_object_new_object();
	d->fallbacks = mlb_xcalloc(1, sizeof(char *));
	if (cfg)
		mlb_config_each(cfg, "^model\\.", defaults_entry, &c);
	return c.bad ? -1 : 0;
}

void mlb_model_defaults_clear(struct mlb_model_defaults *d)
{
	json_object_put(d->options);
	free(d->role);
	mlb_strv_free(d->fallbacks);
	memset(d, 0, sizeof(*d));
}

void mlb_options_overlay(json_object *dst, json_object *src)
{
	if (!src)
		return;
	json_object_object_foreach(src, k, v)
		json_object_object_add(dst, k, json_object_get(v));
}
