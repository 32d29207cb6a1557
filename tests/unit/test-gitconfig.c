/*
 * test-gitconfig.c - the git-config reader (lib/gitconfig.c), checked entry
 * by entry against libgit2's own parser on the same files, and on what
 * libgit2 leaves alone: '_' in key names, and the line of each error.
 */
#include "buf.h"
#include "gitconfig.h"
#include "unit.h"

#include <git2.h>
#include <stdlib.h>
#include <unistd.h>

static int collect(const char *name, const char *value, int line, void *ctx)
{
	(void)line;
	mlb_buf_addf(ctx, "%s=%s\n", name, value ? value : "(none)");
	return 0;
}

static int collect_git(const git_config_entry *e, void *ctx)
{
	return collect(e->name, e->value, 0, ctx);
}

/* Parse text with both readers: same entries in the same order, and both accept or both refuse. */
static void same_as_libgit2(const char *text)
{
	char path[] = "/tmp/mlb-test-gitconfig.XXXXXX", err[320];
	int fd = mkstemp(path), ours, theirs;
	struct mlb_buf a = MLB_BUF_INIT, b = MLB_BUF_INIT;
	git_config *cfg = NULL;

	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	ours = mlb_gitconfig_parse(text, strlen(text), collect, &a, err, sizeof(err));
	theirs = git_config_open_ondisk(&cfg, path);
	if (theirs == 0)
		theirs = git_config_foreach(cfg, collect_git, &b);
	git_config_free(cfg);
	unlink(path);
	if ((ours < 0) != (theirs < 0))
		fprintf(stderr, "disagree on validity of: %s\n  ours: %s\n  libgit2: %s\n", text,
			ours < 0 ? err : "valid", theirs < 0 ? git_error_last()->message : "valid");
	CHECK((ours < 0) == (theirs < 0));
	if (ours == 0 && theirs == 0) {
		if (strcmp(mlb_buf_str(&a), mlb_buf_str(&b)))
			fprintf(stderr, "for: %s\n", text);
		CHECK_STR(mlb_buf_str(&a), mlb_buf_str(&b));
	}
	mlb_buf_free(&a);
	mlb_buf_free(&b);
}

static void parses_to(const char *text, const char *want)
{
	struct mlb_buf a = MLB_BUF_INIT;
	char err[320];

	CHECK_INT(mlb_gitconfig_parse(text, strlen(text), collect, &a, err, sizeof(err)), 0);
	CHECK_STR(mlb_buf_str(&a), want);
	mlb_buf_free(&a);
}

static void refused(const char *text, size_t len, const char *want)
{
	struct mlb_buf a = MLB_BUF_INIT;
	char err[320] = "";

	if (!len)
		len = strlen(text);
	CHECK_INT(mlb_gitconfig_parse(text, len, collect, &a, err, sizeof(err)), -1);
	if (strncmp(err, want, strlen(want)))
		fprintf(stderr, "error for %s: %s\n", text, err);
	CHECK(!strncmp(err, want, strlen(want)));
	mlb_buf_free(&a);
}

int main(void)
{
	static const char *const same[] = {
		"",
		"\n\n# only comments\n; and these\n",
		"[core]\n\tmodel = openai:gpt-4o-mini\n",
		"[Core]\n\tMODEL = x\n[core]\nmodel=y\n",
		"[provider \"Local\"]\n\tkind = openai\n\tbaseUrl = http://127.0.0.1:8080/v1\n",
		"[provider \"with \\\"quotes\\\" and \\\\ slash\"]\nkind = gemini\n",
		"[group \"fast\"]\n\tmodel = a:b\n\tmodel = c:d\n\tmodel\n",
		"[a]\n\tk = \"  spaced  \"  \n",
		"[a]\n\tk = one   two\t three   # a comment\n",
		"[a]\n\tk = x ; y\n\tl = \"x ; y\" # z\n",
		"[a]\n\tk = tab\\there\\nnewline \\\\ back \\\" quote\n",
		"[a]\n\tk = first \\\n   second\n\tl = after\n",
		"[a]\n\tk = \"quoted \\\n   across\"\n",
		"[a]\r\n\tk = crlf\r\n\tl = v\r\n",
		"[a] k = on the header line\n",
		"[a.B]\n\tk = old style\n",
		"[a]\n\tk =\n\tl = \"\"\n",
		"[a]\n\tk-2 = digits and dash\n",
		"[a]\n\tk = caf\xc3\xa9 \xe2\x9c\x93\n",
		"[a]\n\tk = no newline at the end",
		"\xef\xbb\xbf[a]\n\tk = after a BOM\n",
		"[a]\n\tk = bad \\q escape\n",
		"[a\n\tk = v\n",
		"[a \"sub]\n",
		"[a \"sub\" ]\n",
		"[a]\n\tk v\n",
		"[a]\n\tk = \"\"\"\"\n",
		"[a]\n\tk = x\"y\"z\n",
		"[a]\n\t\tk\t=\tv\t\n",
		"[a]\n[b]\n[a]\n\tk = last\n",
		"[a \"\"]\n\tk = empty subsection\n",
		"[a]\n\tk = \\\n",
	};

	git_libgit2_init();
	for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++)
		same_as_libgit2(same[i]);
	git_libgit2_shutdown();

	/* '_' is dropped from key names only, so base_url reads as baseUrl; values keep it. */
	parses_to("[provider \"my_proxy\"]\n\tbase_url = http://h/a_b\n\t_key_env_ = K_V\n",
		  "provider.my_proxy.baseurl=http://h/a_b\nprovider.my_proxy.keyenv=K_V\n");
	parses_to("[a]\n\tk = one_\\\n_two\n", "a.k=one__two\n");
	/* stricter than libgit2, as git is: an open quote, a digit first, no section */
	refused("[a]\n\tk = \"unclosed\n", 0, "line 2: a quote is not closed");
	refused("[a]\n\t2k = v\n", 0, "line 2: a setting's name starts with a letter");
	refused("k = before any section\n", 0, "line 1: a setting before any [section]");
	/* errors name the line, and the line is the one that holds the mistake */
	refused("[a]\n\tk = \"unclosed\n\tl = v\n", 0, "line 2: a quote is not closed");
	refused("[a]\n\n\tk = bad \\q\n", 0, "line 3: unknown escape '\\q'");
	refused("[a]\n\tk = v\n\tx y\n", 0, "line 3: 'x' is not followed by '='");
	refused("k = v\n", 0, "line 1: a setting before any [section]");
	refused("[a]\n\t__ = v\n", 0, "line 2: a setting's name starts with a letter");
	refused("[a]\n\tk = v\0w\n", 12, "line 2: a NUL byte");
	refused("[a]\n\tk = v \\", 0, "line 2: a backslash ends the file");

	{
		char *k = mlb_gitconfig_key("Limit.lineBytes");

		CHECK_STR(k, "limit.linebytes");
		free(k);
		k = mlb_gitconfig_key("Provider.My.Local.baseUrl");
		CHECK_STR(k, "provider.My.Local.baseurl");
		free(k);
	}
	return unit_done();
}
