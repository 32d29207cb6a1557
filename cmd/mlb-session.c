/*
 * mlb-session - list, show, search and manage sessions.
 *
 * Each subcommand is a small function over lib/store.h; main() only picks
 * one and maps its result to an exit status.
 */
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "event.h"
#include "markdown.h"
#include "msg.h"
#include "msgfile.h"
#include "report-html.h"
#include "store.h"
#include "term.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: mlb-session ls|list [--project <name>] [--archived | --all] [--json]\n"
	"       mlb-session show <id> [--raw] [--json|--text]\n"
	"       mlb-session log <id> [--json]\n"
	"       mlb-session grep|search [-i] <pattern> [<id>...]\n"
	"       mlb-session fork <id> <new-id> [--at <commit>]\n"
	"       mlb-session restore <id> <commit>\n"
	"       mlb-session export [-f] <id> [<file>]\n"
	"       mlb-session export [-f] --html <file> <id>\n"
	"       mlb-session import <file> [<id>]\n"
	"       mlb-session rm|remove [-f] <id>\n"
	"       mlb-session name <id> <text>\n"
	"       mlb-session project <id> <name|none>\n"
	"       mlb-session archive|complete|reopen <id>\n"
	"\n"
	"List, show, search and manage sessions.\n"
	"\n"
	"      --at <commit>            fork from this commit\n"
	"      --project <name>         ls: only the sessions of this project ('' or none: of no project)\n"
	"      --archived               ls: only the archived sessions\n"
	"      --all                    ls: the archived sessions too\n"
	"  -f, --force                  rm: do not ask; export: overwrite the file\n"
	"      --html <file>            export: an HTML report of the answers, not a bundle\n"
	"      --raw                    show: the text as sent (on a terminal its markdown is drawn)\n"
	"  -i, --ignore-case            grep without regard to case\n"
	"  -h, --help                   show this help\n"
	"      --version                show the version\n"
	"      --json                   write events (default in a pipe)\n"
	"      --text                   write text for a person (default on a terminal)\n";

enum { OPT_AT = MLB_OPT_FIRST_TOOL_OPTION, OPT_RAW, OPT_PROJECT, OPT_ARCHIVED, OPT_ALL, OPT_HTML };

static struct {
	const char *at;
	const char *html;	/* export --html: the page to write */
	const char *project;	/* ls --project: "" for the sessions of no project */
	int archived, all;	/* ls: only the archived ones; every one */
	int force;
	int icase;
	int raw;	/* --raw: markdown as sent */
	int json;	/* --json given */
	int text;	/* --text given */
} opt;

/* Check an id before any path is built from it: a bad one is a usage error. */
static void need_id(const char *id)
{
	if (mlb_session_id_check(id) < 0)
		exit(MLB_EXIT_USAGE);
}

static void need_args(int argc, int min, int max, const char *cmd)
{
	if (argc < min)
		mlb_usage_error("%s: too few arguments", cmd);
	if (argc > max)
		mlb_usage_error("%s: too many arguments", cmd);
}

static int open_session(const char *id, struct mlb_session **s)
{
	need_id(id);
	return mlb_session_open(id, 0, s);
}

static void rfc3339_or_dash(char *out, int64_t ms)
{
	if (ms)
		mlb_rfc3339(out, ms);
	else
		strcpy(out, "-");
}

/* ---- ls ---- */

/* s as one tab-separated field: tabs and line breaks become spaces. */
static char *one_field(const char *s)
{
	struct mlb_buf b = MLB_BUF_INIT;

	mlb_term_safe(&b, s, strlen(s), 0);
	return mlb_buf_detach(&b);
}

/* One session as ls shows it. */
struct ls_row {
	char *id, *name, *title, *created, *head, *status, *project, **panes;
	size_t npanes, turns;
	int64_t last_ms;
	double cost;		/* the stored replies' Cost-Usd, summed */
	int priced;		/* any reply had a cost */
};

/* The first prompt (its first line) and the cost of the stored replies. */
static void ls_summary(struct mlb_session *s, struct ls_row *r)
{
	char *first = NULL, *first_date = NULL;

	for (size_t i = 0; i < r->npanes; i++) {
		struct mlb_msgfile *msgs;
		size_t n;

		if (mlb_session_messages(s, r->panes[i], &msgs, &n) < 0)
			continue;
		for (size_t k = 0; k < n; k++) {
			const char *role = mlb_msgfile_get(&msgs[k], "Role"), *date = mlb_msgfile_get(&msgs[k], "Date");
			const char *cost = mlb_msgfile_get(&msgs[k], "Cost-Usd");

			if (cost && *cost) {
				r->cost += strtod(cost, NULL);
				r->priced = 1;
			}
			/* RFC 3339 UTC dates sort as strings. */
			if (role && !strcmp(role, "user") && date && (!first_date || strcmp(date, first_date) < 0)) {
				const char *nl = memchr(msgs[k].content, '\n', msgs[k].content_len);

				free(first);
				free(first_date);
				first = mlb_xstrndup(msgs[k].content,
						     nl ? (size_t)(nl - msgs[k].content) : msgs[k].content_len);
				first_date = mlb_xstrdup(date);
			}
		}
		mlb_msgfiles_free(msgs, n);
	}
	free(first_date);
	r->title = first;
}

static int by_activity(const void *a, const void *b)
{
	const struct ls_row *x = a, *y = b;

	if (x->last_ms != y->last_ms)
		return x->last_ms < y->last_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void ls_row_free(struct ls_row *r)
{
	free(r->id);
	free(r->name);
	free(r->title);
	free(r->created);
	free(r->head);
	free(r->status);
	free(r->project);
	mlb_strv_free(r->panes);
}

static void ls_event(const struct ls_row *r)
{
	struct mlb_tag tag = { r->id, NULL, NULL, NULL };
	json_object *ev = mlb_event_new("session", &tag), *arr = json_object_new_array();
	char last[32];

	rfc3339_or_dash(last, r->last_ms);
	for (size_t k = 0; k < r->npanes; k++)
		json_object_array_add(arr, json_object_new_string(r->panes[k]));
	mlb_json_set_str(ev, "id", r->id);
	mlb_json_set_str(ev, "name", r->name);
	mlb_json_set_str(ev, "title", r->name && *r->name ? r->name : r->title ? r->title : "");
	mlb_json_set_str(ev, "created", r->created);
	mlb_json_set_str(ev, "status", r->status);
	json_object_object_add(ev, "project", r->project ? json_object_new_string(r->project) : NULL);
	json_object_object_add(ev, "panes", arr);
	mlb_json_set_int(ev, "turns", (long long)r->turns);
	mlb_json_set_str(ev, "last_activity", last);
	if (r->priced)
		mlb_json_set_double(ev, "cost_usd", r->cost);
	else
		json_object_object_add(ev, "cost_usd", NULL);
	mlb_json_set_str(ev, "head", r->head);
	mlb_event_write(ev);
}

/* A pipe: tab-separated fields; a terminal: aligned columns under a header, the title cut to the width. */
static void ls_text(const struct ls_row *r, size_t n)
{
	int tty = mlb_cli_tty(), cols, rows, idw = 7;
	struct mlb_buf line = MLB_BUF_INIT;

	mlb_term_size(STDOUT_FILENO, &cols, &rows);
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(r[i].id) > idw)
			idw = (int)strlen(r[i].id);
	if (tty && n)
		printf("%-*s  %-16s  %5s  %9s  %s\n", idw, "SESSION", "LAST ACTIVITY", "TURNS", "COST", "TITLE");
	for (size_t i = 0; i < n; i++) {
		const char *title = r[i].name && *r[i].name ? r[i].name : r[i].title ? r[i].title : "-";
		char last[32], cost[32];

		rfc3339_or_dash(last, r[i].last_ms);
		if (r[i].priced)
			snprintf(cost, sizeof(cost), "$%.4f", r[i].cost);
		else
			snprintf(cost, sizeof(cost), "-");
		mlb_buf_reset(&line);
		if (tty) {
			int used = idw + 2 + 16 + 2 + 5 + 2 + 9 + 2;

			/* "2026-12-08 01:22" reads better than the whole timestamp */
			if (strlen(last) >= 16) {
				last[10] = ' ';
				last[16] = '\0';
			}
			mlb_buf_addf(&line, "%-*s  %-16s  %5zu  %9s  ", idw, r[i].id, last, r[i].turns, cost);
			mlb_term_cut(&line, title, cols - 1 - used > 8 ? cols - 1 - used : 8);
		} else {
			char *shown = one_field(title);

			mlb_buf_addf(&line, "%s\t%s\t%s\t%zu\t%zu\t%s\t%s", r[i].id, shown,
				     r[i].created ? r[i].created : "-", r[i].npanes, r[i].turns, last, cost);
			free(shown);
		}
		puts(mlb_buf_str(&line));
	}
	mlb_buf_free(&line);
}

/* Whether ls shows a session: of the project asked for, and archived only when asked. */
static int ls_wanted(json_object *info)
{
	const char *project = mlb_json_str(info, "project") ? mlb_json_str(info, "project") : "";
	const char *status = mlb_json_str(info, "status");
	int archived = status && !strcmp(status, "archived");

	if (opt.project && strcmp(project, opt.project) != 0)
		return 0;
	return opt.all || archived == opt.archived;
}

static int cmd_ls(int argc, char **argv)
{
	char **ids;
	size_t n, i, nrows = 0;
	int status = MLB_EXIT_OK;
	struct ls_row *rows;

	(void)argv;
	need_args(argc, 0, 0, "ls");
	if (mlb_session_list(&ids, &n) < 0)
		return MLB_EXIT_FAIL;
	rows = mlb_xcalloc(n + 1, sizeof(*rows));
	for (i = 0; i < n; i++) {
		struct mlb_session *s;
		struct mlb_session_stats st;
		struct ls_row *r = &rows[nrows];
		json_object *info;

		if (mlb_session_open(ids[i], 0, &s) < 0) {
			status = MLB_EXIT_FAIL;	/* reported; the others still get listed */
			continue;
		}
		info = mlb_session_info(s);
		if (info && !ls_wanted(info)) {
			json_object_put(info);
			mlb_session_close(s);
			continue;
		}
		if (!info || mlb_session_stats(s, &st) < 0 || mlb_session_panes(s, &r->panes, &r->npanes) < 0) {
			json_object_put(info);
			mlb_session_close(s);
			status = MLB_EXIT_FAIL;
			continue;
		}
		r->id = mlb_xstrdup(ids[i]);
		r->name = mlb_xstrdup(mlb_json_str(info, "name") ? mlb_json_str(info, "name") : "");
		r->created = mlb_json_str(info, "created") ? mlb_xstrdup(mlb_json_str(info, "created")) : NULL;
		r->status = mlb_json_str(info, "status") ? mlb_xstrdup(mlb_json_str(info, "status")) : NULL;
		r->project = mlb_json_str(info, "project") ? mlb_xstrdup(mlb_json_str(info, "project")) : NULL;
		r->head = mlb_xstrdup(st.head);
		r->turns = st.commits ? st.commits - 1 : 0;
		r->last_ms = st.last_ms;
		ls_summary(s, r);
		nrows++;
		json_object_put(info);
		mlb_session_close(s);
	}
	mlb_strv_free(ids);
	/* Newest activity last, where the eye lands after the listing. */
	qsort(rows, nrows, sizeof(*rows), by_activity);
	if (opt.json)
		for (i = 0; i < nrows; i++)
			ls_event(&rows[i]);
	else
		ls_text(rows, nrows);
	for (i = 0; i < nrows; i++)
		ls_row_free(&rows[i]);
	free(rows);
	return status;
}

/* ---- show ---- */

static void show_text(const char *pane, const char *model, struct mlb_msgfile *msgs, size_t n)
{
	static const char *const shown[] = { "Role", "Model", "Date" };
	size_t i, k;

	printf("== %s (%s) ==\n", pane, model ? model : "no model");
	for (i = 0; i < n; i++) {
		putchar('\n');
		for (k = 0; k < sizeof(shown) / sizeof(shown[0]); k++) {
			const char *v = mlb_msgfile_get(&msgs[i], shown[k]);

			if (v)
				printf("%s: %s\n", shown[k], v);
		}
		if (mlb_msgfile_get(&msgs[i], "Source-Pane"))
			printf("From: %s/%s (%s)\n", mlb_msgfile_get(&msgs[i], "Source-Session") ?
			       mlb_msgfile_get(&msgs[i], "Source-Session") : "?",
			       mlb_msgfile_get(&msgs[i], "Source-Pane"),
			       mlb_msgfile_get(&msgs[i], "Source-Model") ? mlb_msgfile_get(&msgs[i], "Source-Model") : "?");
		if (mlb_msgfile_get(&msgs[i], "Partial"))
			printf("Partial: %s\n", mlb_msgfile_get(&msgs[i], "Partial"));
		/* why a model did not answer, in its own words */
		if (mlb_msgfile_get(&msgs[i], "Error")) {
			fputs("Error: ", stdout);
			mlb_term_write(stdout, mlb_msgfile_get(&msgs[i], "Error"), strlen(mlb_msgfile_get(&msgs[i], "Error")));
			putchar('\n');
		}
		putchar('\n');
		if (mlb_cli_tty() && mlb_cli_color() && !opt.raw) {
			/* a person reading: the markdown drawn lightly; the stored text is untouched */
			struct mlb_buf safe = MLB_BUF_INIT, drawn = MLB_BUF_INIT;

			mlb_term_safe(&safe, msgs[i].content, msgs[i].content_len, MLB_TERM_NEWLINES | MLB_TERM_TABS);
			mlb_markdown_render(&drawn, safe.s ? safe.s : "", safe.len);
			fwrite(drawn.s ? drawn.s : "", 1, drawn.len, stdout);
			mlb_buf_free(&safe);
			mlb_buf_free(&drawn);
		} else {
			mlb_term_write(stdout, msgs[i].content, msgs[i].content_len);
		}
		if (msgs[i].content_len && msgs[i].content[msgs[i].content_len - 1] != '\n')
			putchar('\n');
	}
}

static int is_true(const char *v)
{
	return v && strcasecmp(v, "true") == 0;
}

/* The events that replay one stored message: message, and final for an answer. */
static int show_events(const char *id, const char *pane, const char *pane_model, const struct mlb_msgfile *m,
		       const char *path, const char *commit)
{
	const char *model = mlb_msgfile_get(m, "Model") ? mlb_msgfile_get(m, "Model") : pane_model;
	const char *role = mlb_msgfile_get(m, "Role"), *date = mlb_msgfile_get(m, "Date");
	struct mlb_tag tag = { id, pane, model, mlb_msgfile_get(m, "Run") };
	json_object *ev = mlb_event_new("message", &tag);
	json_object *content = mlb_json_new_text(m->content, m->content_len);

	if (date)
		mlb_json_set_str(ev, "ts", date);
	mlb_json_set_str(ev, "role", role);
	json_object_object_add(ev, "content", content);
	mlb_json_set_str(ev, "message", path);
	if (mlb_msgfile_get(m, "Source-Session") || mlb_msgfile_get(m, "Source-Pane") ||
	    mlb_msgfile_get(m, "Source-Model")) {
		json_object *p = json_object_new_object();
		const char *hash = mlb_msgfile_get(m, "Source-Hash");

		mlb_json_set_str(p, "source_session", mlb_msgfile_get(m, "Source-Session"));
		mlb_json_set_str(p, "source_pane", mlb_msgfile_get(m, "Source-Pane"));
		mlb_json_set_str(p, "source_model", mlb_msgfile_get(m, "Source-Model"));
		mlb_json_set_str(p, "transfer_ts", mlb_msgfile_get(m, "Transfer-Ts"));
		mlb_json_set_str(p, "content_hash", hash ? hash : mlb_msgfile_get(m, "Content-Hash"));
		json_object_object_add(ev, "provenance", p);
	}
	/* The final event shares the content: hold on to it past the first write. */
	json_object_get(content);
	if (mlb_event_write(ev) < 0 || !role || strcmp(role, "assistant") != 0) {
		json_object_put(content);
		return mlb_event_failed() ? -1 : 0;
	}
	ev = mlb_event_new("final", &tag);
	if (date)
		mlb_json_set_str(ev, "ts", date);
	json_object_object_add(ev, "content", content);
	mlb_json_set_str(ev, "finish_reason", mlb_msgfile_get(m, "Finish-Reason"));
	mlb_json_set_bool(ev, "partial", is_true(mlb_msgfile_get(m, "Partial")));
	mlb_json_set_str(ev, "message", path);
	mlb_json_set_str(ev, "commit", commit && *commit ? commit : NULL);
	return mlb_event_write(ev);
}

static int cmd_show(int argc, char **argv)
{
	struct mlb_session *s;
	char **panes;
	size_t np, i, j;
	int json = opt.json, status = MLB_EXIT_OK;	/* text by default, as git show */

	need_args(argc, 1, 1, "show");
	if (open_session(argv[0], &s) < 0)
		return MLB_EXIT_FAIL;
	if (mlb_session_panes(s, &panes, &np) < 0) {
		mlb_session_close(s);
		return MLB_EXIT_FAIL;
	}
	for (i = 0; i < np && !mlb_event_failed(); i++) {
		json_object *info = mlb_session_pane_info(s, panes[i]);
		const char *model = mlb_json_str(info, "model");
		struct mlb_msgfile *msgs;
		char **paths, **commits;
		size_t n, n2;

		if (mlb_session_messages(s, panes[i], &msgs, &n) < 0) {
			json_object_put(info);
			status = MLB_EXIT_FAIL;
			continue;
		}
		if (!json) {
			if (i)
				putchar('\n');
			show_text(panes[i], model, msgs, n);
		} else if (mlb_session_message_paths(s, panes[i], &paths, &commits, &n2) == 0) {
			for (j = 0; j < n && j < n2; j++)
				if (show_events(mlb_session_id(s), panes[i], model, &msgs[j], paths[j], commits[j]) < 0)
					break;
			mlb_strv_free(paths);
			mlb_strv_free(commits);
		} else {
			status = MLB_EXIT_FAIL;
		}
		mlb_msgfiles_free(msgs, n);
		json_object_put(info);
	}
	mlb_strv_free(panes);
	mlb_session_close(s);
	return status;
}

/* ---- log ---- */

static int log_one(const struct mlb_commit_info *c, void *ctx)
{
	struct mlb_session *s = ctx;
	const char *p = c->message, *nl;
	char date[32];

	mlb_rfc3339(date, c->time_ms);
	if (opt.json) {
		struct mlb_tag tag = { mlb_session_id(s), NULL, NULL, NULL };
		json_object *ev = mlb_event_new("commit", &tag);
		size_t len = strlen(c->message);

		mlb_json_set_str(ev, "ts", date);
		mlb_json_set_str(ev, "commit", c->hex);
		mlb_json_set_str(ev, "author", c->author);
		while (len && c->message[len - 1] == '\n')
			len--;
		json_object_object_add(ev, "message", json_object_new_string_len(c->message, (int)len));
		return mlb_event_write(ev) < 0 ? -1 : 0;
	}
	printf("commit %s\nDate: %s\n\n", c->hex, date);	/* ours: hex and a date */
	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		/* Trailing blank lines of the message are not worth showing. */
		if (strspn(p, "\n") == strlen(p))
			break;
		fputs("    ", stdout);
		mlb_term_write(stdout, p, (size_t)(nl - p));
		putchar('\n');
		p = *nl ? nl + 1 : nl;
	}
	putchar('\n');
	return ferror(stdout) ? -1 : 0;
}

static int cmd_log(int argc, char **argv)
{
	struct mlb_session *s;
	int rc;

	need_args(argc, 1, 1, "log");
	if (open_session(argv[0], &s) < 0)
		return MLB_EXIT_FAIL;
	rc = mlb_session_log(s, log_one, s);
	mlb_session_close(s);
	return rc < 0 ? MLB_EXIT_FAIL : MLB_EXIT_OK;
}

/* ---- grep ---- */

struct grep {
	regex_t re;
	const char *session;
	long matches;
};

static int grep_file(const char *path, const char *data, size_t len, void *ctx)
{
	struct grep *g = ctx;
	const char *p = data, *end = data + len, *shown = path;
	long lineno = 0;
	char *line = NULL;
	size_t cap = 0;

	if (strncmp(shown, "panes/", 6) == 0)
		shown += 6;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		lineno++;
		if (n + 1 > cap) {
			cap = n + 1;
			line = mlb_xrealloc(line, cap);
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (regexec(&g->re, line, 0, NULL, 0) == 0) {
			printf("%s/%s:%ld:", g->session, shown, lineno);
			mlb_term_write(stdout, line, n);
			putchar('\n');
			g->matches++;
		}
		p = nl ? nl + 1 : end;
	}
	free(line);
	return ferror(stdout) ? -1 : 0;
}

static int cmd_grep(int argc, char **argv)
{
	struct grep g = { .matches = 0 };
	char **ids = NULL, errbuf[256];
	size_t n, i, k;
	int rc, status = MLB_EXIT_OK;

	need_args(argc, 1, 1 << 20, "grep");
	for (i = 1; i < (size_t)argc; i++)
		need_id(argv[i]);
	rc = regcomp(&g.re, argv[0], REG_EXTENDED | REG_NEWLINE | REG_NOSUB | (opt.icase ? REG_ICASE : 0));
	if (rc != 0) {
		regerror(rc, &g.re, errbuf, sizeof(errbuf));
		mlb_usage_error("invalid pattern '%s': %s", argv[0], errbuf);
	}
	if (argc > 1) {
		ids = mlb_xcalloc((size_t)argc, sizeof(char *));
		for (i = 1; i < (size_t)argc; i++)
			ids[i - 1] = mlb_xstrdup(argv[i]);
		n = (size_t)argc - 1;
	} else if (mlb_session_list(&ids, &n) < 0) {
		regfree(&g.re);
		return MLB_EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		struct mlb_session *s;
		char **panes;
		size_t np;

		if (mlb_session_open(ids[i], 0, &s) < 0) {
			status = MLB_EXIT_FAIL;
			continue;
		}
		g.session = ids[i];
		if (mlb_session_panes(s, &panes, &np) < 0) {
			status = MLB_EXIT_FAIL;
		} else {
			for (k = 0; k < np; k++)
				if (mlb_session_each_file(s, panes[k], grep_file, &g) < 0)
					status = MLB_EXIT_FAIL;
			mlb_strv_free(panes);
		}
		mlb_session_close(s);
	}
	mlb_strv_free(ids);
	regfree(&g.re);
	/* Like grep: 1 when nothing matched, 2 for trouble. */
	if (status != MLB_EXIT_OK)
		return status;
	return g.matches ? MLB_EXIT_OK : 1;
}

/* ---- fork, restore, name ---- */

static int cmd_fork(int argc, char **argv)
{
	struct mlb_session *s, *f;
	int rc;

	need_args(argc, 2, 2, "fork");
	need_id(argv[0]);
	need_id(argv[1]);
	if (open_session(argv[0], &s) < 0)
		return MLB_EXIT_FAIL;
	rc = mlb_session_fork(s, argv[1], opt.at, &f);
	mlb_session_close(f);
	mlb_session_close(s);
	return rc < 0 ? MLB_EXIT_FAIL : MLB_EXIT_OK;
}

static int cmd_restore(int argc, char **argv)
{
	struct mlb_session *s;
	char hex[41];
	int rc;

	need_args(argc, 2, 2, "restore");
	if (open_session(argv[0], &s) < 0)
		return MLB_EXIT_FAIL;
	rc = mlb_session_restore(s, argv[1], hex);
	mlb_session_close(s);
	if (rc < 0)
		return MLB_EXIT_FAIL;
	printf("%s\n", hex);
	return MLB_EXIT_OK;
}

static int cmd_name(int argc, char **argv)
{
	struct mlb_session *s;
	char *name;
	int rc, i;
	size_t len = 0;

	need_args(argc, 2, 1 << 20, "name");
	for (i = 1; i < argc; i++)
		len += strlen(argv[i]) + 1;
	name = mlb_xmalloc(len);
	name[0] = '\0';
	for (i = 1; i < argc; i++) {
		if (i > 1)
			strcat(name, " ");
		strcat(name, argv[i]);
	}
	if (open_session(argv[0], &s) < 0) {
		free(name);
		return MLB_EXIT_FAIL;
	}
	rc = mlb_session_set_name(s, name, NULL);
	mlb_session_close(s);
	free(name);
	return rc < 0 ? MLB_EXIT_FAIL : MLB_EXIT_OK;
}

/* ---- projects and status ---- */

static int cmd_project(int argc, char **argv)
{
	struct mlb_session *s;
	const char *project;
	int rc;

	need_args(argc, 2, 2, "project");
	project = !strcmp(argv[1], "none") ? "" : mlb_cli_project(argv[1]);
	if (open_session(argv[0], &s) < 0)
		return MLB_EXIT_FAIL;
	rc = mlb_session_join_project(s, project);
	mlb_session_close(s);
	return rc < 0 ? MLB_EXIT_FAIL : MLB_EXIT_OK;
}

/* archive, complete and reopen: one commit that sets the status (none when it is that already). */
static int set_status(int argc, char **argv, const char *cmd, const char *status)
{
	struct mlb_session *s;
	json_object *info;
	int rc = -1;

	need_args(argc, 1, 1, cmd);
	if (open_session(argv[0], &s) < 0)
		return MLB_EXIT_FAIL;
	if ((info = mlb_session_info(s))) {
		const char *now = mlb_json_str(info, "status");

		rc = now && !strcmp(now, status) ? 0 : mlb_session_set_status(s, status, NULL);
		json_object_put(info);
	}
	mlb_session_close(s);
	return rc < 0 ? MLB_EXIT_FAIL : MLB_EXIT_OK;
}

static int cmd_archive(int argc, char **argv)
{
	return set_status(argc, argv, "archive", "archived");
}

static int cmd_complete(int argc, char **argv)
{
	return set_status(argc, argv, "complete", "completed");
}

static int cmd_reopen(int argc, char **argv)
{
	return set_status(argc, argv, "reopen", "active");
}

/* ---- export, import ---- */

/* Move the finished bundle at tmp to file.  Without -f, link(2) refuses a file that came
 * meanwhile, where rename(2) would replace it; a file system without hard links gets rename. */
static int put_in_place(const char *tmp, const char *file)
{
	if (!opt.force) {
		if (link(tmp, file) == 0) {
			unlink(tmp);
			return 0;
		}
		if (errno == EEXIST)
			return mlb_error("export: '%s' exists; give -f to overwrite it", file);
		if (errno != EPERM && errno != ENOTSUP && errno != ENOSYS)
			return mlb_error("cannot write '%s': %s", file, strerror(errno));
	}
	if (rename(tmp, file) < 0)
		return mlb_error("cannot write '%s': %s", file, strerror(errno));
	return 0;
}

/* export --html: the session's answers as one page (report-html.h). */
static int export_html(const char *id)
{
	struct mlb_report *r;
	struct mlb_session *s;
	int rc;

	if (!opt.force && access(opt.html, F_OK) == 0) {
		mlb_error("export: '%s' exists; give -f to overwrite it", opt.html);
		return MLB_EXIT_FAIL;
	}
	if (open_session(id, &s) < 0)
		return MLB_EXIT_FAIL;
	r = mlb_report_new(id);
	mlb_report_keep_answers(r);
	rc = mlb_report_read_session(r, s);
	if (rc == 0)
		rc = mlb_report_html(r, opt.html);
	mlb_report_free(r);
	mlb_session_close(s);
	return rc < 0 ? MLB_EXIT_FAIL : MLB_EXIT_OK;
}

static int cmd_export(int argc, char **argv)
{
	struct mlb_session *s;
	const char *file;
	char *def = NULL, *tmp = NULL;
	FILE *f;
	int rc, fd;

	if (opt.html) {
		need_args(argc, 1, 1, "export --html");
		return export_html(argv[0]);
	}
	need_args(argc, 1, 2, "export");
	need_id(argv[0]);
	file = argc > 1 ? argv[1] : (def = mlb_xasprintf("%s.bundle", argv[0]));
	if (strcmp(file, "-") == 0 && isatty(STDOUT_FILENO))
		mlb_usage_error("export: not writing a bundle to a terminal; name a file or redirect");
	if (strcmp(file, "-") != 0 && !opt.force && access(file, F_OK) == 0) {
		mlb_error("export: '%s' exists; give -f to overwrite it", file);
		free(def);
		return MLB_EXIT_FAIL;
	}
	if (open_session(argv[0], &s) < 0) {
		free(def);
		return MLB_EXIT_FAIL;
	}
	if (strcmp(file, "-") == 0) {
		rc = mlb_session_export(s, stdout);
	} else {
		/* Beside the target, then renamed: a reader never sees half a bundle. */
		tmp = mlb_xasprintf("%s.tmp-XXXXXX", file);
		fd = mkstemp(tmp);
		if (fd < 0 || !(f = fdopen(fd, "wb"))) {
			rc = mlb_error("cannot write '%s': %s", file, strerror(errno));
			if (fd >= 0)
				close(fd);
		} else {
			mode_t mask = umask(0);

			/* mkstemp makes it private; a bundle is for sharing, so it gets the usual mode. */
			umask(mask);
			rc = mlb_session_export(s, f);
			if (rc == 0 && (fflush(f) == EOF || fsync(fileno(f)) < 0 || fchmod(fileno(f), 0666 & ~mask) < 0))
				rc = mlb_error("cannot write '%s': %s", file, strerror(errno));
			if (fclose(f) == EOF && rc == 0)
				rc = mlb_error("cannot write '%s': %s", file, strerror(errno));
			if (rc == 0)
				rc = put_in_place(tmp, file);
		}
		if (rc < 0 && fd >= 0)
			unlink(tmp);
	}
	mlb_session_close(s);
	free(tmp);
	free(def);
	return rc < 0 ? MLB_EXIT_FAIL : MLB_EXIT_OK;
}

static int cmd_import(int argc, char **argv)
{
	struct mlb_session *s;
	FILE *f;
	int rc;

	need_args(argc, 1, 2, "import");
	if (argc > 1)
		need_id(argv[1]);
	if (strcmp(argv[0], "-") == 0)
		f = stdin;
	else if (!(f = fopen(argv[0], "rb"))) {
		mlb_error("cannot open '%s': %s", argv[0], strerror(errno));
		return MLB_EXIT_FAIL;
	}
	rc = mlb_session_import(f, argc > 1 ? argv[1] : NULL, &s);
	if (f != stdin)
		fclose(f);
	if (rc < 0)
		return MLB_EXIT_FAIL;
	printf("%s\n", mlb_session_id(s));
	mlb_session_close(s);
	return MLB_EXIT_OK;
}

/* ---- rm ---- */

/* Ask on the terminal; 1 for yes.  Refuses (exit 2) when there is no one to ask. */
static int confirm(const char *id)
{
	char answer[64];
	FILE *tty;
	int yes;

	if (!isatty(STDERR_FILENO) || !(tty = fopen("/dev/tty", "r")))
		mlb_usage_error("rm: not removing session '%s' without a terminal to ask on; use -f", id);
	fprintf(stderr, "remove session '%s' and all its history? [y/N] ", id);
	fflush(stderr);
	yes = fgets(answer, sizeof(answer), tty) &&
	      (strcasecmp(answer, "y\n") == 0 || strcasecmp(answer, "yes\n") == 0);
	fclose(tty);
	return yes;
}

static int cmd_rm(int argc, char **argv)
{
	need_args(argc, 1, 1, "rm");
	need_id(argv[0]);
	if (!mlb_session_exists(argv[0])) {
		mlb_error("no session '%s'; 'mlb-session ls' lists them", argv[0]);
		return MLB_EXIT_FAIL;
	}
	if (!opt.force && !confirm(argv[0])) {
		fprintf(stderr, "%s: session '%s' kept\n", mlb_progname, argv[0]);
		return MLB_EXIT_FAIL;
	}
	return mlb_session_remove(argv[0]) < 0 ? MLB_EXIT_FAIL : MLB_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		{ "at", required_argument, NULL, OPT_AT },
		{ "force", no_argument, NULL, 'f' },
		{ "ignore-case", no_argument, NULL, 'i' },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ "archived", no_argument, NULL, OPT_ARCHIVED },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "html", required_argument, NULL, OPT_HTML },
		{ 0 }
	};
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "ls", cmd_ls }, { "show", cmd_show }, { "log", cmd_log }, { "grep", cmd_grep },
		{ "fork", cmd_fork }, { "restore", cmd_restore }, { "export", cmd_export },
		{ "import", cmd_import }, { "rm", cmd_rm }, { "name", cmd_name },
		{ "project", cmd_project }, { "archive", cmd_archive }, { "complete", cmd_complete },
		{ "reopen", cmd_reopen },
	};
	static const char *const aliases[][2] = { { "list", "ls" }, { "search", "grep" }, { "remove", "rm" } };
	const char *cmd, *names[sizeof(cmds) / sizeof(cmds[0]) + sizeof(aliases) / sizeof(aliases[0])];
	size_t i;
	int c;

	mlb_cli_init(argc, argv, usage);
	while ((c = getopt_long(argc, argv, ":hfi", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_AT:
			opt.at = optarg;
			break;
		case 'f':
			opt.force = 1;
			break;
		case 'i':
			opt.icase = 1;
			break;
		case OPT_HTML:
			opt.html = optarg;
			break;
		case OPT_RAW:
			opt.raw = 1;
			break;
		case OPT_PROJECT:
			opt.project = !strcmp(optarg, "none") ? "" : mlb_cli_project(optarg);
			break;
		case OPT_ARCHIVED:
			opt.archived = 1;
			break;
		case OPT_ALL:
			opt.all = 1;
			break;
		case MLB_OPT_JSON:
			opt.json = 1;
			opt.text = 0;
			mlb_cli_option(c);
			break;
		case MLB_OPT_TEXT:
			opt.text = 1;
			opt.json = 0;
			mlb_cli_option(c);
			break;
		default:
			mlb_cli_option(c);
		}
	}
	if (optind >= argc)
		mlb_usage_error("which subcommand?");
	cmd = argv[optind++];
	/* The words people use for them. */
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(cmd, aliases[i][0]))
			cmd = aliases[i][1];
	if (opt.at && strcmp(cmd, "fork") != 0)
		mlb_usage_error("option '--at' is for fork only");
	if (opt.force && strcmp(cmd, "rm") != 0 && strcmp(cmd, "export") != 0)
		mlb_usage_error("option '-f' is for rm and export only");
	if (opt.html && strcmp(cmd, "export") != 0)
		mlb_usage_error("option '--html' is for export only");
	if (opt.raw && strcmp(cmd, "show") != 0)
		mlb_usage_error("option '--raw' is for show only");
	if ((opt.project || opt.archived || opt.all) && strcmp(cmd, "ls") != 0)
		mlb_usage_error("options '--project', '--archived' and '--all' are for ls only");
	if (opt.archived && opt.all)
		mlb_usage_error("--archived lists only the archived sessions, --all every one; give one");
	if (opt.icase && strcmp(cmd, "grep") != 0)
		mlb_usage_error("option '-i' is for grep only");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			return mlb_cli_finish(cmds[i].fn(argc - optind, argv + optind));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		names[i] = cmds[i].name;
	for (size_t k = 0; k < sizeof(aliases) / sizeof(aliases[0]); k++)
		names[i + k] = aliases[k][0];
	mlb_usage_unknown("subcommand", cmd, names, sizeof(names) / sizeof(names[0]));
}
