#include "models.h"
#include "buf.h"
#include "cli.h"
#include "event.h"
#include "msg.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

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
