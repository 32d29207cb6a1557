#include "config.h"
#include "buf.h"
#include "event.h"
#include "gitconfig.h"
#include "input.h"
#include "msg.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MLB_SHARE_DEFAULT
#define MLB_SHARE_DEFAULT "/usr/local/share/mlb"
#endif

struct config_entry {
	char *name;	/* canonical: see gitconfig.h */
	char *value;	/* NULL for a key without '=' */
};

struct mlb_config {
	struct config_entry *entries;	/* in reading order: the table, then the user's file */
	size_t nentries;
	struct mlb_provider *providers;
	size_t nproviders;
};

static const char *kind_names[] = { "openai", "gemini", "anthropic", "brave" };

const char *mlb_kind_name(enum mlb_kind k)
{
	return kind_names[k];
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *mlb_share_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("MLB_SHARE_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (*dir)
		return dir;
	if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
		return dir;
	}
	/* bin/../share/mlb serves both the build tree and an installed prefix. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(dir, sizeof(dir), "%s/../share/mlb", exe) < (int)sizeof(dir) && is_dir(dir))
				return dir;
		}
	}
	snprintf(dir, sizeof(dir), "%s", MLB_SHARE_DEFAULT);
	return dir;
}

static char *xdg_dir(const char *var, const char *fallback)
{
	const char *base = getenv(var);
	const char *home = getenv("HOME");

	if (base && *base == '/')
		return mlb_xasprintf("%s/mlb", base);
	return mlb_xasprintf("%s/%s/mlb", home && *home ? home : ".", fallback);
}

char *mlb_config_dir(void)
{
	return xdg_dir("XDG_CONFIG_HOME", ".config");
}

char *mlb_home_dir(void)
{
	const char *home = getenv("MLB_HOME");

	if (home && *home)
		return mlb_xstrdup(home);
	return xdg_dir("XDG_DATA_HOME", ".local/share");
}

char *mlb_config_path(void)
{
	const char *env = getenv("MLB_CONFIG");
	char *dir, *path;

	if (env && *env)
		return mlb_xstrdup(env);
	dir = mlb_config_dir();
	path = mlb_xasprintf("%s/config", dir);
	free(dir);
	return path;
}

/* git's own limit: deeper than this, an include is surely a loop */
#define MAX_INCLUDE_DEPTH 10
#define MAX_CONFIG_BYTES (4 << 20)

struct reading {
	struct mlb_config *c;
	const char *path;
	int depth;
};

static int add_file(struct mlb_config *c, const char *path, int depth);

/* An included file's path: ~/ is the home directory, a relative path is beside the including file. */
static char *include_path(const char *from, const char *value)
{
	const char *home = getenv("HOME"), *slash = strrchr(from, '/');

	if (!strncmp(value, "~/", 2) && home && *home)
		return mlb_xasprintf("%s/%s", home, value + 2);
	if (*value == '/' || !slash)
		return mlb_xstrdup(value);
	return mlb_xasprintf("%.*s/%s", (int)(slash - from), from, value);
}

/* Each entry of a file; include.path reads another file in its place, as git does. */
static int add_entry(const char *name, const char *value, int line, void *ctx)
{
	struct reading *rd = ctx;
	struct mlb_config *c = rd->c;

	if (!strncmp(name, "includeif.", 10)) {
		mlb_error("%s:%d: includeIf is for git's conditions, which mlb has none of; use include.path",
			  rd->path, line);
		return 1;
	}
	c->entries = mlb_xrealloc(c->entries, (c->nentries + 1) * sizeof(*c->entries));
	c->entries[c->nentries].name = mlb_xstrdup(name);
	c->entries[c->nentries].value = value ? mlb_xstrdup(value) : NULL;
	c->nentries++;
	if (!strcmp(name, "include.path") && value && *value) {
		char *path = include_path(rd->path, value);
		int bad;

		if (rd->depth >= MAX_INCLUDE_DEPTH)
			bad = mlb_error("%s:%d: includes nested more than %d deep; is '%s' including itself?", rd->path,
					line, MAX_INCLUDE_DEPTH, value);
		else
			bad = add_file(c, path, rd->depth + 1);
		free(path);
		return bad ? 1 : 0;
	}
	return 0;
}

/* Add the settings of the file at path; a file that does not exist adds nothing. */
static int add_file(struct mlb_config *c, const char *path, int depth)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0, rc;
	struct reading rd = { c, path, depth };
	char *text, err[320] = "";
	size_t len;

	if (fd < 0)
		return errno == ENOENT ? 0 : mlb_error("cannot read '%s': %s", path, strerror(errno));
	/* bounded, so that an include of /dev/zero is an error and not a hang */
	text = mlb_read_upto(fd, MAX_CONFIG_BYTES + 1, &len);
	if (!text)
		ret = mlb_error("cannot read '%s': %s", path, strerror(errno));
	else if (len > MAX_CONFIG_BYTES)
		ret = mlb_error("'%s' is over %d MiB; is it a configuration file?", path, MAX_CONFIG_BYTES >> 20);
	else if ((rc = mlb_gitconfig_parse(text, len, add_entry, &rd, err, sizeof(err))) < 0)
		ret = mlb_error("cannot parse '%s': %s", path, err);
	else if (rc > 0)
		ret = -1;	/* an entry said what was wrong */
	close(fd);
	free(text);
	return ret;
}

static int find_provider(const struct mlb_config *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->nproviders; i++)
		if (strlen(c->providers[i].name) == len && !memcmp(c->providers[i].name, name, len))
			return (int)i;
	return -1;
}

static int collect_provider(const char *name, const char *value, void *ctx)
{
	struct mlb_config *c = ctx;
	const char *sub = name + strlen("provider.");
	const char *dot = strrchr(sub, '.');

	(void)value;
	if (!dot || dot == sub || find_provider(c, sub, (size_t)(dot - sub)) >= 0)
		return 0;
	c->providers = mlb_xrealloc(c->providers, (c->nproviders + 1) * sizeof(*c->providers));
	memset(&c->providers[c->nproviders], 0, sizeof(*c->providers));
	c->providers[c->nproviders++].name = mlb_xstrndup(sub, (size_t)(dot - sub));
	return 0;
}

static char *provider_setting(const struct mlb_config *c, const char *name, const char *key)
{
	char *full = mlb_xasprintf("provider.%s.%s", name, key);
	char *v = mlb_config_str(c, full);

	free(full);
	if (v && !*v) {
		free(v);
		v = NULL;
	}
	return v;
}

/* The default time a keyCmd may take: a password manager answers in well under a second,
 * and a cron job must not hang on one that waits for a person. */
#define KEY_CMD_TIMEOUT_S 10

/* provider.<name>.keyCmdTimeout, else timeout.keyCmd, else the default. */
static int key_cmd_timeout(const struct mlb_config *c, struct mlb_provider *p)
{
	char *key = mlb_xasprintf("provider.%s.keyCmdTimeout", p->name), *v = mlb_config_str(c, key);
	const char *name = v ? key : "timeout.keyCmd";
	double t;
	int ret = 0;

	free(v);
	if (mlb_config_double(c, name, KEY_CMD_TIMEOUT_S, &t) < 0)
		ret = -1;
	else if (!(t > 0 && t <= 86400))
		ret = mlb_error("configuration '%s' must be a number of seconds above 0 and at most 86400", name);
	p->key_cmd_timeout_s = t;
	free(key);
	return ret;
}

/* provider.<name>.<key>: a number from 0 (no limit) to max; -1 after a one-line error. */
static int rate_setting(const struct mlb_config *c, const struct mlb_provider *p, const char *key, double max,
			int whole, double *out)
{
	char *name = mlb_xasprintf("provider.%s.%s", p->name, key);
	int ret = mlb_config_double(c, name, 0, out);

	if (ret == 0 && (!(*out >= 0 && *out <= max) || (whole && *out != (double)(long)*out)))
		ret = mlb_error("configuration '%s' must be a %s from 0 (no limit) to %g", name,
				whole ? "whole number" : "number", max);
	free(name);
	return ret;
}

/* maxConcurrent, requestsPerMinute and tokensPerMinute (ratelimit.h). */
static int rate_limits(const struct mlb_config *c, struct mlb_provider *p)
{
	double v;

	if (rate_setting(c, p, "maxConcurrent", 10000, 1, &v) < 0)
		return -1;
	p->max_concurrent = (long)v;
	if (rate_setting(c, p, "requestsPerMinute", 1e7, 0, &v) < 0)
		return -1;
	p->requests_per_minute = v;
	if (rate_setting(c, p, "tokensPerMinute", 1e12, 1, &v) < 0)
		return -1;
	p->tokens_per_minute = (long)v;
	return 0;
}

static int fill_provider(struct mlb_config *c, struct mlb_provider *p)
{
	char *kind = provider_setting(c, p->name, "kind");
	const char *env;
	size_t n;

	p->base_url = provider_setting(c, p->name, "baseurl");
	p->base_url_env = provider_setting(c, p->name, "baseurlenv");
	p->key_env = provider_setting(c, p->name, "keyenv");
	p->key_cmd = provider_setting(c, p->name, "keycmd");
	if (key_cmd_timeout(c, p) < 0 || rate_limits(c, p) < 0) {
		free(kind);
		return -1;
	}
	p->kind = MLB_KIND_OPENAI;
	if (kind) {
		size_t k;

		for (k = 0; k < sizeof(kind_names) / sizeof(*kind_names) && strcmp(kind, kind_names[k]); k++)
			;
		if (k == sizeof(kind_names) / sizeof(*kind_names)) {
			mlb_error("provider '%s': unknown kind '%s'; use openai, gemini, anthropic or brave", p->name, kind);
			free(kind);
			return -1;
		}
		p->kind = (enum mlb_kind)k;
		free(kind);
	}
	env = p->base_url_env ? getenv(p->base_url_env) : NULL;
	if (env && *env) {
		free(p->base_url);
		p->base_url = mlb_xstrdup(env);
	}
	if (!p->base_url)
		return mlb_error("provider '%s' has no base URL; set provider.%s.baseUrl in %s",
				 p->name, p->name, "the configuration");
	n = strlen(p->base_url);
	while (n > 0 && p->base_url[n - 1] == '/')
		p->base_url[--n] = '\0';
	mlb_secret_add_url(p->base_url);
	if (p->key_env)
		mlb_secret_add(getenv(p->key_env));
	return 0;
}

/*
 * limit.lineBytes and limit.jsonDepth bound what a tool reads from a pipe.
 * Every tool that reads events loads the configuration first, so setting
 * the readers' defaults here reaches all of them without each passing the
 * limits along.
 */
static int reader_limits(const struct mlb_config *c)
{
	struct mlb_reader_limits lim;
	double line, depth;

	if (mlb_config_double(c, "limit.lineBytes", MLB_READER_MAX_LINE, &line) < 0 ||
	    mlb_config_double(c, "limit.jsonDepth", MLB_READER_MAX_DEPTH, &depth) < 0)
		return -1;
	if (!(line >= 1 && line <= INT_MAX - 1 && line == (double)(size_t)line))
		return mlb_error("configuration 'limit.lineBytes' must be a whole number of bytes from 1 to %d", INT_MAX - 1);
	if (!(depth >= 1 && depth <= MLB_READER_DEPTH_CAP && depth == (double)(int)depth))
		return mlb_error("configuration 'limit.jsonDepth' must be a whole number from 1 to %d", MLB_READER_DEPTH_CAP);
	lim.max_line = (size_t)line;
	lim.max_depth = (int)depth;
	mlb_reader_defaults(&lim);
	return 0;
}

struct mlb_config *mlb_config_load(void)
{
	struct mlb_config *c = mlb_xcalloc(1, sizeof(*c));
	char *table = mlb_xasprintf("%s/providers", mlb_share_dir());
	char *user = mlb_config_path();
	int bad = 0;

	if (access(table, R_OK) != 0) {
		bad = mlb_error("cannot read the provider table '%s'; set MLB_SHARE_DIR to the share/mlb directory", table);
	} else {
		bad |= add_file(c, table, 0);
		bad |= add_file(c, user, 0);
	}
	free(table);
	free(user);
	if (!bad)
		mlb_config_each(c, "^provider\\..*\\.", collect_provider, c);
	for (size_t i = 0; !bad && i < c->nproviders; i++)
		bad |= fill_provider(c, &c->providers[i]);
	if (!bad)
		bad |= reader_limits(c);
	if (bad) {
		mlb_config_free(c);
		return NULL;
	}
	return c;
}

void mlb_config_free(struct mlb_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nproviders; i++) {
		free(c->providers[i].name);
		free(c->providers[i].base_url);
		free(c->providers[i].base_url_env);
		free(c->providers[i].key_env);
		free(c->providers[i].key_cmd);
	}
	free(c->providers);
	for (size_t i = 0; i < c->nentries; i++) {
		free(c->entries[i].name);
		free(c->entries[i].value);
	}
	free(c->entries);
	free(c);
}

size_t mlb_config_nproviders(const struct mlb_config *c)
{
	return c->nproviders;
}

const struct mlb_provider *mlb_config_provider_at(const struct mlb_config *c, size_t i)
{
	return i < c->nproviders ? &c->providers[i] : NULL;
}

const struct mlb_provider *mlb_config_provider(const struct mlb_config *c, const char *name)
{
	int i = find_provider(c, name, strlen(name));

	return i < 0 ? NULL : &c->providers[i];
}

static const char *nearest_provider(const struct mlb_config *c, const char *name)
{
	const char **names = mlb_xcalloc(c->nproviders + 1, sizeof(*names)), *best;

	for (size_t i = 0; i < c->nproviders; i++)
		names[i] = c->providers[i].name;
	best = mlb_nearest(name, names, c->nproviders);
	free(names);
	return best;
}

int mlb_model_resolve(const struct mlb_config *c, const char *spec, struct mlb_model *out)
{
	const char *colon = strchr(spec, ':');
	char *name;
	const struct mlb_provider *p;

	memset(out, 0, sizeof(*out));
	if (!colon || colon == spec || !colon[1])
		return mlb_error("model '%s' is not provider:model; write it as e.g. openai:%s",
				 spec, colon ? colon + 1 : spec);
	name = mlb_xstrndup(spec, (size_t)(colon - spec));
	p = mlb_config_provider(c, name);
	if (!p) {
		const char *near = nearest_provider(c, name);

		if (near)
			mlb_error("unknown provider '%s' (did you mean '%s'?)", name, near);
		else
			mlb_error("unknown provider '%s'; 'mlb-models' lists providers, and the config file adds them", name);
		free(name);
		return -1;
	}
	free(name);
	out->provider = p;
	out->spec = mlb_xstrdup(spec);
	out->id = mlb_xstrdup(colon + 1);
	return 0;
}

void mlb_model_clear(struct mlb_model *m)
{
	free(m->spec);
	free(m->id);
	memset(m, 0, sizeof(*m));
}

char *mlb_provider_key(const struct mlb_provider *p, char **missing)
{
	const char *v = p->key_env ? getenv(p->key_env) : NULL;
	char *key = NULL, *why;
	long bad;

	*missing = NULL;
	if (v && *v) {
		key = mlb_xstrdup(v);
	} else if (p->key_cmd) {
		key = mlb_key_cmd(p->key_cmd, p->key_cmd_timeout_s, &why);
		if (!key) {
			*missing = mlb_xasprintf("provider.%s.keyCmd %s", p->name, why);
			free(why);
			return NULL;
		}
	} else {
		if (p->key_env)
			*missing = mlb_xasprintf("set %s to the %s API key", p->key_env, p->name);
		return NULL;
	}
	mlb_secret_add(key);
	/* A line break would end the header and start one of the key's own making. */
	if ((bad = mlb_key_control(key)) >= 0) {
		if (v && *v)
			*missing = mlb_xasprintf("%s holds a control character (byte 0x%02x at offset %ld); "
						 "set it to the key alone, without line breaks", p->key_env,
						 (unsigned char)key[bad], bad);
		else
			*missing = mlb_xasprintf("the key printed by provider.%s.keyCmd holds a control character "
						 "(byte 0x%02x at offset %ld); make it print the key alone",
						 p->name, (unsigned char)key[bad], bad);
		memset(key, 0, strlen(key));
		free(key);
		return NULL;
	}
	return key;
}

/* The last entry named key (the user's file comes after the table), or NULL. */
static const struct config_entry *last_entry(const struct mlb_config *c, const char *key)
{
	char *name = mlb_gitconfig_key(key);
	const struct config_entry *e = NULL;

	for (size_t i = c->nentries; i-- > 0 && !e;)
		if (!strcmp(c->entries[i].name, name))
			e = &c->entries[i];
	free(name);
	return e;
}

char *mlb_config_str(const struct mlb_config *c, const char *key)
{
	const struct config_entry *e = last_entry(c, key);

	/* a key without '=' reads as "", as in git */
	return e ? mlb_xstrdup(e->value ? e->value : "") : NULL;
}

int mlb_config_double(const struct mlb_config *c, const char *key, double def, double *out)
{
	char *v = mlb_config_str(c, key), *end;

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	*out = strtod(v, &end);
	if (errno || end == v || *end) {
		mlb_error("configuration '%s' is '%s'; it must be a number", key, v);
		free(v);
		*out = def;
		return -1;
	}
	free(v);
	return 0;
}

size_t mlb_config_multi(const struct mlb_config *c, const char *key, char ***out)
{
	char *name = mlb_gitconfig_key(key);
	char **v = mlb_xcalloc(1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < c->nentries; i++) {
		/* A key with no '=' ("[group \"fast\"] model") has no value at all: nothing to add. */
		if (strcmp(c->entries[i].name, name) || !c->entries[i].value)
			continue;
		v = mlb_xrealloc(v, (n + 2) * sizeof(*v));
		v[n++] = mlb_xstrdup(c->entries[i].value);
		v[n] = NULL;
	}
	free(name);
	*out = v;
	return n;
}

int mlb_config_each(const struct mlb_config *c, const char *re,
		    int (*fn)(const char *name, const char *value, void *ctx), void *ctx)
{
	regex_t rx;
	int ret = 0;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return mlb_error("bad configuration pattern '%s'", re);
	for (size_t i = 0; i < c->nentries && !ret; i++) {
		const struct config_entry *e = &c->entries[i];

		if (regexec(&rx, e->name, 0, NULL, 0) == 0)
			ret = fn(e->name, e->value ? e->value : "", ctx);
	}
	regfree(&rx);
	return ret;
}

void mlb_strv_push(char ***v, size_t *n, const char *s)
{
	*v = mlb_xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = mlb_xstrdup(s);
	(*v)[*n] = NULL;
}

void mlb_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}
