/*
 * config.h - providers, models and settings.
 *
 * Settings come, in rising priority, from the default table in
 * share/mlb/providers, the user's file ($MLB_CONFIG, else
 * $XDG_CONFIG_HOME/mlb/config, else ~/.config/mlb/config) and environment
 * variables.  Both files are git-config syntax (lib/gitconfig.h).  Key names
 * follow git's rules (baseUrl, keyEnv); the spelling base_url of DESIGN.md
 * is accepted too, since git names cannot hold '_' and users copy examples.
 *
 * A model is named provider:model.  Keys are read from the environment
 * variable the provider names (keyEnv), or from the output of keyCmd, and
 * are only ever handed to the HTTP layer as a header.  Loading registers every
 * key set in the environment and every base URL's user:password with
 * secret.h, so that no text mlb writes shows them.
 */
#ifndef MLB_CONFIG_H
#define MLB_CONFIG_H

#include <stddef.h>

enum mlb_kind { MLB_KIND_OPENAI, MLB_KIND_GEMINI, MLB_KIND_ANTHROPIC, MLB_KIND_BRAVE };

struct mlb_provider {
	char *name;
	enum mlb_kind kind;
	char *base_url;		/* without a trailing slash; environment override applied */
	char *base_url_env;	/* the variable that overrides base_url, or NULL */
	char *key_env;		/* the variable holding the key, or NULL when none is needed */
	char *key_cmd;		/* a command printing the key, or NULL */
	double key_cmd_timeout_s;	/* how long key_cmd may run: keyCmdTimeout, else timeout.keyCmd */
	long max_concurrent;		/* maxConcurrent: requests at once, 0 no limit (ratelimit.h) */
	double requests_per_minute;	/* requestsPerMinute, 0 no limit */
	long tokens_per_minute;		/* tokensPerMinute, 0 no limit */
};

struct mlb_model {
	const struct mlb_provider *provider;
	char *spec;		/* "provider:model" as given */
	char *id;		/* the part after the first ':' */
};

struct mlb_config;

/* Load the default table and the user's file; NULL after reporting an error. */
struct mlb_config *mlb_config_load(void);
void mlb_config_free(struct mlb_config *c);

/* The number of providers, and the i-th one (in the order first defined). */
size_t mlb_config_nproviders(const struct mlb_config *c);
const struct mlb_provider *mlb_config_provider_at(const struct mlb_config *c, size_t i);
/* The provider called name, or NULL. */
const struct mlb_provider *mlb_config_provider(const struct mlb_config *c, const char *name);

/* Resolve "provider:model"; -1 after a one-line error that names the fix. */
int mlb_model_resolve(const struct mlb_config *c, const char *spec, struct mlb_model *out);
void mlb_model_clear(struct mlb_model *m);

/* The API key for p (caller frees), or NULL: then *missing says why, for a message.  A key
 * holding a control character is refused, naming where it came from; a key read is registered
 * for redaction (secret.h). */
char *mlb_provider_key(const struct mlb_provider *p, char **missing);
/* The name of a kind ("openai", "gemini", "anthropic", "brave"). */
const char *mlb_kind_name(enum mlb_kind k);

/* A string setting such as "core.model" (caller frees), or NULL. */
char *mlb_config_str(const struct mlb_config *c, const char *key);
/* A number setting, or def when unset; -1 after an error when malformed. */
int mlb_config_double(const struct mlb_config *c, const char *key, double def, double *out);
/* Every value of a multi-valued setting such as "group.fast.model"; returns the count, *out is NULL-terminated. */
size_t mlb_config_multi(const struct mlb_config *c, const char *key, char ***out);
/* Call fn for every entry whose name matches the regular expression re. */
int mlb_config_each(const struct mlb_config *c, const char *re,
		    int (*fn)(const char *name, const char *value, void *ctx), void *ctx);
/* The path of the user's configuration file (caller frees). */
char *mlb_config_path(void);

/* The directory of shared files (share/mlb): $MLB_SHARE_DIR, beside the binary, or the installed one. */
const char *mlb_share_dir(void);
/* The user's configuration directory ($XDG_CONFIG_HOME/mlb) (caller frees). */
char *mlb_config_dir(void);
/* Where sessions live: $MLB_HOME or $XDG_DATA_HOME/mlb (caller frees). */
char *mlb_home_dir(void);

/* Free a NULL-terminated list of strings. */
void mlb_strv_free(char **v);
/* Append a copy of s to the NULL-terminated list *v of *n strings (*v may be NULL). */
void mlb_strv_push(char ***v, size_t *n, const char *s);

#endif
