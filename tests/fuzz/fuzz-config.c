/*
 * fuzz-config.c - the configuration reader (lib/config.c) on arbitrary
 * bytes written as the user's config file.
 *
 * MLB_CONFIG points at the file and MLB_SHARE_DIR at share/mlb, so the
 * shipped provider table is read first, as in every tool.  A file that
 * loads must give providers that resolve by name, with a base URL and
 * without a trailing slash; settings and models are then looked up the way
 * the tools do.  Keys are never asked for: keyCmd would run a command
 * taken from the input.
 */
#include "fuzz.h"
#include "config.h"

#include <unistd.h>

#ifndef FUZZ_SHARE_DIR
#define FUZZ_SHARE_DIR "share/mlb"
#endif

static char path[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	static char dir[4000];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/mlb-fuzz-config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/config", dir);
	setenv("MLB_CONFIG", path, 1);
	if (!getenv("MLB_SHARE_DIR"))
		setenv("MLB_SHARE_DIR", FUZZ_SHARE_DIR, 1);
	/* The base URL variables of the table must not leak in from outside. */
	unsetenv("OPENAI_BASE_URL");
	return 0;
}

static int count_entry(const char *name, const char *value, void *ctx)
{
	FUZZ_CHECK(name && *name);
	(void)value;
	(*(long *)ctx)++;
	return 0;
}

static void resolve(const struct mlb_config *c, const char *spec)
{
	struct mlb_model m;

	if (mlb_model_resolve(c, spec, &m) == 0) {
		FUZZ_CHECK(m.provider && m.spec && m.id && *m.id);
		FUZZ_CHECK(strcmp(m.spec, spec) == 0);
	} else {
		FUZZ_CHECK(!m.provider && !m.spec && !m.id);
	}
	mlb_model_clear(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const numbers[] = { "limit.replyBytes", "limit.requestBytes", "limit.transfers",
		"retry.count", "timeout.total", "limit.lineBytes", "limit.jsonDepth", NULL };
	struct mlb_config *c;
	FILE *f;
	char *s, **v, *spec;
	long entries = 0;
	double d;

	if (!*path)
		LLVMFuzzerInitialize(NULL, NULL);
	f = fopen(path, "wb");
	FUZZ_CHECK(f);
	FUZZ_CHECK(fwrite(data, 1, size, f) == size);
	FUZZ_CHECK(fclose(f) == 0);

	c = mlb_config_load();
	if (!c)
		return 0;
	for (size_t i = 0; i < mlb_config_nproviders(c); i++) {
		const struct mlb_provider *p = mlb_config_provider_at(c, i);
		size_t n;

		FUZZ_CHECK(p && p->name && *p->name);
		FUZZ_CHECK(mlb_config_provider(c, p->name) == p);
		FUZZ_CHECK(p->base_url);
		n = strlen(p->base_url);
		FUZZ_CHECK(n == 0 || p->base_url[n - 1] != '/');
		FUZZ_CHECK(p->kind == MLB_KIND_OPENAI || p->kind == MLB_KIND_GEMINI || p->kind == MLB_KIND_ANTHROPIC ||
			   p->kind == MLB_KIND_BRAVE);
		FUZZ_CHECK(mlb_kind_name(p->kind));
		spec = malloc(strlen(p->name) + 3);
		FUZZ_CHECK(spec);
		sprintf(spec, "%s:m", p->name);
		resolve(c, spec);
		free(spec);
	}
	FUZZ_CHECK(mlb_config_provider_at(c, mlb_config_nproviders(c)) == NULL);
	resolve(c, "openai:gpt-4o-mini");
	resolve(c, "opnai:x");
	if ((s = mlb_config_str(c, "core.model"))) {
		resolve(c, s);
		free(s);
	}
	for (const char *const *k = numbers; *k; k++)
		FUZZ_CHECK(mlb_config_double(c, *k, 1, &d) == 0 || d == 1);
	mlb_config_multi(c, "group.fast.model", &v);
	FUZZ_CHECK(v);
	mlb_strv_free(v);
	mlb_config_each(c, "^(price|provider)\\.", count_entry, &entries);
	mlb_config_free(c);
	return 0;
}
