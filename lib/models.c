#include "models.h"
#include "buf.h"
#include "cli.h"
#include "event.h"
#include "file.h"
#include "input.h"
#include "msg.h"
#include "template.h"
#include "wire.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NEAR_CACHE_S 300	/* how long a provider's list is trusted */
#define NEAR_TIMEOUT_S 5	/* the most a suggestion may add to a failure */

struct listing {
	const struct mlb_provider *p;
	CURL *easy;
	struct curl_slist *headers;
	struct mlb_buf body;
	char errbuf[CURL_ERROR_SIZE];
	char *problem;		/* why it could not be listed */
	int optional;		/* not asked for by name and needs no key (a local server) */
	int absent;		/* optional, and nothing answered: a note, not a failure */
};

static size_t on_write(char *data, size_t size, size_t n, void *ctx)
{
	struct listing *l = ctx;

	/* A models list is small; anything past 16 MiB is not one. */
	if (l->body.len + size * n > (16u << 20))
		return 0;
	mlb_buf_add(&l->body, data, size * n);
	return size * n;
}

static int wanted(const struct mlb_provider *p, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], p->name))
			return 1;
	return n == 0;
}

static void start(CURLM *multi, struct listing *l, double timeout_s)
{
	char *missing, *key = mlb_provider_key(l->p, &missing), *url;

	if (missing) {
		l->problem = missing;
		free(key);
		return;
	}
	url = mlb_wire_models_url(l->p);
	l->headers = mlb_wire_auth(l->p->kind, key, NULL);
	if (key) {
		memset(key, 0, strlen(key));
		free(key);
	}
	l->easy = curl_easy_init();
	curl_easy_setopt(l->easy, CURLOPT_URL, url);
	curl_easy_setopt(l->easy, CURLOPT_HTTPHEADER, l->headers);
	curl_easy_setopt(l->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(l->easy, CURLOPT_WRITEDATA, l);
	curl_easy_setopt(l->easy, CURLOPT_ERRORBUFFER, l->errbuf);
	curl_easy_setopt(l->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(l->easy, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
	curl_easy_setopt(l->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(l->easy, CURLOPT_USERAGENT, "mlb/" MLB_VERSION);
	curl_multi_add_handle(multi, l->easy);
	free(url);
}

static void finish(struct listing *l, CURLcode res)
{
	long status = 0;

	curl_easy_getinfo(l->easy, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK) {
		l->absent = l->optional;
		l->problem = mlb_xasprintf("cannot reach %s: %s", l->p->base_url,
					   l->errbuf[0] ? l->errbuf : curl_easy_strerror(res));
	} else if (status >= 400) {
		long retry;
		char *m = mlb_wire_error_body(l->p->kind, mlb_buf_str(&l->body), l->body.len, &retry);

		l->problem = mlb_xasprintf("HTTP %ld: %s", status, m ? m : "no message");
		free(m);
	}
}

static void report(struct listing *l)
{
	char **ids;
	size_t n;

	if (l->absent) {
		mlb_note("%s: nothing answers at %s; skipped (start it, or name it to see why)", l->p->name,
			 l->p->base_url);
		return;
	}
	if (l->problem) {
		json_object *ev;

		if (!mlb_cli_json_asked()) {
			mlb_error("%s: %s", l->p->name, l->problem);
			return;
		}
		ev = mlb_event_error(NULL, strstr(l->problem, "HTTP 40") ? "auth" : "network", l->problem);
		mlb_json_set_str(ev, "provider", l->p->name);
		mlb_event_write(ev);
		return;
	}
	n = mlb_wire_models(l->p->kind, mlb_buf_str(&l->body), l->body.len, &ids);
	for (size_t i = 0; i < n; i++) {
		if (mlb_cli_json_asked()) {
			json_object *o = json_object_new_object();
			char *spec = mlb_xasprintf("%s:%s", l->p->name, ids[i]);

			mlb_json_set_str(o, "type", "model");
			mlb_json_set_str(o, "model", spec);
			mlb_json_set_str(o, "provider", l->p->name);
			mlb_json_set_str(o, "id", ids[i]);
			mlb_json_set_str(o, "kind", mlb_kind_name(l->p->kind));
			mlb_event_write(o);
			free(spec);
		} else {
			printf("%s:%s\n", l->p->name, ids[i]);
		}
	}
	mlb_strv_free(ids);
}

/* With no key at all: which variables would configure a provider. */
static void key_hint(const struct mlb_config *cfg)
{
	struct mlb_buf vars = MLB_BUF_INIT;
	size_t np = mlb_config_nproviders(cfg);

	for (size_t i = 0; i < np; i++) {
		const struct mlb_provider *p = mlb_config_provider_at(cfg, i);

		if (p->key_env && !strstr(mlb_buf_str(&vars), p->key_env))
			mlb_buf_addf(&vars, "%s%s", vars.len ? ", " : "", p->key_env);
	}
	mlb_error("no provider has a key: set one of %s (or add a provider to the config file)",
		  vars.len ? vars.s : "the providers' key variables");
	mlb_buf_free(&vars);
}

int mlb_models_list(const struct mlb_config *cfg, const char *const *names, size_t n, double timeout_s)
{
	size_t np = mlb_config_nproviders(cfg), count = 0, failed = 0, absent = 0, keyed = 0;
	struct listing *ls = mlb_xcalloc(np, sizeof(*ls));
	CURLM *multi;
	int running;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	multi = curl_multi_init();
	for (size_t i = 0; i < np; i++) {
		const struct mlb_provider *p = mlb_config_provider_at(cfg, i);
		char *missing, *key;

		if (!wanted(p, names, n))
			continue;
		if (p->kind == MLB_KIND_BRAVE) {
			/* a web search (brave) offers no models */
			if (n)
				mlb_warn("'%s' is a web search, not a provider of models; a pipeline step asks it with \"search\"",
					 p->name);
			continue;
		}
		/* Unasked-for providers without a key are not configured: skip them quietly. */
		key = mlb_provider_key(p, &missing);
		free(key);
		if (missing && !n) {
			free(missing);
			continue;
		}
		free(missing);
		ls[count].p = p;
		ls[count].optional = !n && !p->key_env;
		start(multi, &ls[count], timeout_s);
		count++;
	}
	do {
		CURLMsg *m;
		int left;

		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &left)))
			for (size_t i = 0; i < count; i++)
				if (m->msg == CURLMSG_DONE && ls[i].easy == m->easy_handle)
					finish(&ls[i], m->data.result);
		if (running)
			curl_multi_poll(multi, NULL, 0, 200, NULL);
	} while (running);
	for (size_t i = 0; i < count; i++) {
		report(&ls[i]);
		absent += ls[i].absent;
		keyed += !ls[i].optional;
		failed += ls[i].problem != NULL && !ls[i].absent;
		if (ls[i].easy) {
			curl_multi_remove_handle(multi, ls[i].easy);
			curl_easy_cleanup(ls[i].easy);
		}
		curl_slist_free_all(ls[i].headers);
		mlb_buf_free(&ls[i].body);
		free(ls[i].problem);
	}
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	free(ls);
	if (keyed == 0 && absent == count) {
		key_hint(cfg);
		return MLB_EXIT_FAIL;
	}
	count -= absent;
	return failed == 0 ? MLB_EXIT_OK : failed == count ? MLB_EXIT_FAIL : MLB_EXIT_PARTIAL;
}

/* The cache file of p's model list (caller frees). */
static char *cache_path(const struct mlb_provider *p, char **dir)
{
	const char *base = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	*dir = base && *base == '/' ? mlb_xasprintf("%s/mlb/models", base)
				    : mlb_xasprintf("%s/.cache/mlb/models", home && *home ? home : ".");
	return mlb_xasprintf("%s/%s", *dir, p->name);
}

/* p's model ids, one a line: from the cache while it is fresh, else asked for (and cached). */
static char *model_ids(const struct mlb_provider *p)
{
	char *dir, *path = cache_path(p, &dir), *text = NULL, *missing = NULL, *key, *url;
	struct stat st;
	struct listing l = { 0 };
	char **ids = NULL;
	size_t n;
	int fd;

	if (stat(path, &st) == 0 && time(NULL) - st.st_mtime < NEAR_CACHE_S &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		text = mlb_read_upto(fd, 4 << 20, &n);
		close(fd);
		if (text) {
			free(path);
			free(dir);
			return text;
		}
	}
	key = mlb_provider_key(p, &missing);
	url = mlb_wire_models_url(p);
	if (!missing && url) {
		CURL *e = curl_easy_init();
		long status = 0;

		l.headers = mlb_wire_auth(p->kind, key, NULL);
		curl_easy_setopt(e, CURLOPT_URL, url);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, l.headers);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, &l);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)NEAR_TIMEOUT_S);
		if (curl_easy_perform(e) == CURLE_OK && curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
		    status == 200) {
			struct mlb_buf b = MLB_BUF_INIT;

			n = mlb_wire_models(p->kind, mlb_buf_str(&l.body), l.body.len, &ids);
			for (size_t i = 0; i < n; i++)
				mlb_buf_addf(&b, "%s\n", ids[i]);
			mlb_strv_free(ids);
			text = mlb_buf_detach(&b);
			if (!text)
				text = mlb_xstrdup("");
			/* a cache that cannot be written only costs the next failure a request */
			if (mlb_mkdirs(dir, 0700) == 0)
				mlb_file_replace(path, text, strlen(text), 0600, 0, NULL);
		}
		curl_easy_cleanup(e);
		curl_slist_free_all(l.headers);
		mlb_buf_free(&l.body);
	}
	if (key) {
		memset(key, 0, strlen(key));
		free(key);
	}
	free(missing);
	free(url);
	free(path);
	free(dir);
	return text;
}

char **mlb_models_near(const struct mlb_provider *p, const char *id)
{
	char *text = model_ids(p), **near = mlb_xcalloc(1, sizeof(char *)), **cands = NULL;
	size_t ncands = 0, nnear = 0;
	const char *best;

	for (char *line = text, *nl; line && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (*line && strcmp(line, id))
			mlb_strv_push(&cands, &ncands, line);
	}
	best = mlb_template_nearest(id, (const char *const *)cands, ncands);
	if (best)
		mlb_strv_push(&near, &nnear, best);
	/* a shorter name for a longer one: llama-3.1-8b for llama-3.1-8b-instant */
	for (size_t i = 0; i < ncands && nnear < 3 && strlen(id) >= 3; i++)
		if (strstr(cands[i], id) && (!best || strcmp(cands[i], best)))
			mlb_strv_push(&near, &nnear, cands[i]);
	mlb_strv_free(cands);
	free(text);
	return near;
}
