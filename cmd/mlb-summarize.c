/*
 * mlb-summarize - summarize several panes' answers with a chosen model.
 */
#include "cli.h"
#include "event.h"
#include "msg.h"
#include "role.h"
#include "store.h"
#include "summary.h"
#include "turn.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: mlb-summarize [-m <model>] [--format executive|technical|bullet] [-s <session>]\n"
	"                     [-S <system>] [--project <name>] [--no-store] [--json|--text] [<pane>...]\n"
	"\n"
	"Summarize the last answers of the panes named (default: every pane of the session),\n"
	"or the final events on stdin, with one model; store the summary in a new pane summary-<n>.\n"
	"\n"
	"  -m, --model <provider:model>  the model that summarizes, or an alias (default: the role's,\n"
	"                           MLB_MODEL, core.model)\n"
	"  -S, --system <text|@role> a system prompt for the summarizing model, or a saved one (a role)\n"
	"      --format <format>    executive (default), technical or bullet\n"
	"  -s, --session <id>       the session to read and store in (default: MLB_SESSION)\n"
	"      --project <name>     put the session in this project ('' takes it out of its project)\n"
	"      --no-store           do not store the summary\n"
	MLB_POLICY_USAGE
	"  -h, --help               show this help\n"
	"      --version            show the version\n"
	"      --json               write events (default in a pipe)\n"
	"      --text               write the summary as text (default on a terminal)\n";

enum { OPT_FORMAT = MLB_OPT_FIRST_TOOL_OPTION, OPT_NO_STORE, OPT_PROJECT };

struct sources {
	struct mlb_summary_source *v;
	size_t n;
	char *question;
	char *session;		/* where the answers came from */
};

static void add_source(struct sources *s, const char *session, const char *pane, const char *model,
		       const char *content)
{
	struct mlb_summary_source *src;

	s->v = mlb_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	src = &s->v[s->n++];
	memset(src, 0, sizeof(*src));
	src->session = session ? mlb_xstrdup(session) : NULL;
	src->pane = pane ? mlb_xstrdup(pane) : NULL;
	src->model = model ? mlb_xstrdup(model) : NULL;
	src->content = mlb_xstrdup(content);
	mlb_summary_hash(src);
}

/* The last answer of one pane, and the question it answered: 1, 0 when it has none, -1 on an error. */
static int from_pane(struct mlb_session *ses, const char *id, const char *pane, struct sources *s)
{
	struct mlb_msgfile *msgs;
	size_t n;
	int found = 0;

	if (mlb_session_messages(ses, pane, &msgs, &n) < 0)
		return -1;
	for (size_t i = n; i-- > 0 && !found;) {
		const char *role = mlb_msgfile_get(&msgs[i], "Role");

		if (!role || strcmp(role, "assistant"))
			continue;
		add_source(s, id, pane, mlb_msgfile_get(&msgs[i], "Model"), msgs[i].content ? msgs[i].content : "");
		for (size_t j = i; j-- > 0;)
			if (!s->question && mlb_msgfile_get(&msgs[j], "Role") &&
			    !strcmp(mlb_msgfile_get(&msgs[j], "Role"), "user")) {
				s->question = mlb_xstrdup(msgs[j].content ? msgs[j].content : "");
				break;
			}
		found = 1;
	}
	mlb_msgfiles_free(msgs, n);
	return found;
}

static int from_session(const char *id, char **panes, size_t npanes, struct sources *s)
{
	struct mlb_session *ses;
	char **all = NULL;
	size_t nall = 0;
	int ret = 0;

	if (mlb_session_open(id, 0, &ses) < 0)
		return -1;
	if (!npanes) {
		if (mlb_session_panes(ses, &all, &nall) < 0) {
			mlb_session_close(ses);
			return -1;
		}
		panes = all;
		npanes = nall;
	}
	for (size_t i = 0; i < npanes && ret == 0; i++) {
		int found;

		if (!mlb_pane_name_valid(panes[i])) {
			ret = mlb_error("invalid pane name '%s'", panes[i]);
		} else if (all && !strncmp(panes[i], "summary-", 8)) {
			continue;	/* summaries of summaries only when asked for */
		} else if ((found = from_pane(ses, id, panes[i], s)) < 0) {
			ret = -1;
		} else if (!found && !all) {
			ret = mlb_error("pane '%s' of session '%s' has no answer to summarize", panes[i], id);
		} else if (!found) {
			/* a pane whose request failed: summarize the others, and say so */
			mlb_warn("pane '%s' of session '%s' has no answer; it is left out", panes[i], id);
		}
	}
	s->session = mlb_xstrdup(id);
	mlb_strv_free(all);
	mlb_session_close(ses);
	return ret;
}

/* final events on stdin; every event passes through first, as filters do; the number of malformed lines. */
static long from_stdin(struct sources *s)
{
	struct mlb_reader *r = mlb_reader_new(STDIN_FILENO, NULL);
	struct mlb_event_in ev;
	long bad, with_nul = 0;

	while (mlb_reader_next(r, &ev) > 0) {
		if (mlb_cli_json())
			mlb_reader_pass(r, &ev);
		if (strcmp(ev.type, "final") || !mlb_json_str(ev.obj, "content"))
			continue;
		if (mlb_json_nul(ev.obj, "content") >= 0) {
			/* a C string would end at the NUL: the answer would be cut without a word */
			mlb_event_bad_line(ev.lineno, "the final's content holds U+0000 (a NUL character); "
					   "it is left out of the summary");
			with_nul++;
			continue;
		}
		add_source(s, mlb_json_str(ev.obj, "session"), mlb_json_str(ev.obj, "pane"),
			   mlb_json_str(ev.obj, "model"), mlb_json_str(ev.obj, "content"));
		if (!s->session && mlb_json_str(ev.obj, "session"))
			s->session = mlb_xstrdup(mlb_json_str(ev.obj, "session"));
	}
	bad = mlb_reader_errors(r) + with_nul;
	mlb_reader_free(r);
	return bad;
}

/* summary-<n>, n one past the summaries the session already has. */
static char *summary_pane(const char *session)
{
	struct mlb_session *ses;
	char **panes;
	size_t n, count = 0;

	if (session && mlb_session_exists(session) && mlb_session_open(session, 0, &ses) == 0) {
		if (mlb_session_panes(ses, &panes, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				count += !strncmp(panes[i], "summary-", 8);
			mlb_strv_free(panes);
		}
		mlb_session_close(ses);
	}
	return mlb_xasprintf("summary-%zu", count + 1);
}

static void report_sources(const struct sources *s, const struct mlb_pane_turn *pane, const char *session)
{
	struct mlb_tag tag = { session, pane->pane, pane->model, NULL };
	json_object *ev = mlb_event_new("message", &tag), *prov = json_object_new_object();
	json_object *list = json_object_new_array();

	mlb_json_set_str(ev, "role", "user");
	mlb_json_set_str(ev, "content", pane->prompt);
	for (size_t i = 0; i < s->n; i++) {
		json_object *o = json_object_new_object();

		mlb_json_set_str(o, "source_session", s->v[i].session);
		mlb_json_set_str(o, "source_pane", s->v[i].pane);
		mlb_json_set_str(o, "source_model", s->v[i].model);
		mlb_json_set_str(o, "content_hash", s->v[i].hash);
		json_object_array_add(list, o);
	}
	json_object_object_add(prov, "sources", list);
	json_object_object_add(ev, "provenance", prov);
	mlb_turn_print(NULL, NULL, ev);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		MLB_POLICY_LONGOPTS,
		{ "model", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "session", required_argument, NULL, 's' },
		{ "system", required_argument, NULL, 'S' },
		{ "no-store", no_argument, NULL, OPT_NO_STORE },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ 0 }
	};
	const char *model = NULL, *format = "executive", *session = getenv("MLB_SESSION"), *system = NULL,
		   *project = NULL;
	struct mlb_role role;
	struct mlb_policy policy;
	struct sources src = { 0 };
	struct mlb_turn_opts o = { 0 };
	struct mlb_pane_turn pane = { 0 };
	struct mlb_turn_result res;
	struct mlb_config *cfg;
	struct mlb_prices *prices;
	int c, no_store = 0, explicit_session = 0, status;
	long bad_lines = 0;

	mlb_cli_init(argc, argv, usage);
	mlb_policy_defaults(&policy);
	cfg = mlb_config_load();
	if (!cfg || mlb_policy_configure(&policy, cfg) < 0) {
		mlb_config_free(cfg);
		return MLB_EXIT_FAIL;
	}
	while ((c = getopt_long(argc, argv, ":hm:s:S:", longopts, NULL)) != -1) {
		if (mlb_policy_option(&policy, c, optarg))
			continue;
		switch (c) {
		case 'm': model = optarg; break;
		case 's': session = optarg; explicit_session = 1; break;
		case 'S':
			mlb_require_utf8("the system prompt (-S)", optarg, strlen(optarg));
			system = optarg;
			break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_NO_STORE: no_store = 1; break;
		case OPT_PROJECT: project = mlb_cli_project(optarg); break;
		default: mlb_cli_option(c);
		}
	}
	if (mlb_role_from_arg(system, &role) < 0) {
		mlb_config_free(cfg);
		return MLB_EXIT_USAGE;
	}
	if (no_store && project)
		mlb_usage_error("--no-store stores no session to put in a project; drop --project or --no-store");
	if (!mlb_summary_format_valid(format))
		mlb_usage_error("unknown format '%s'; use executive, technical or bullet", format);
	if (session && *session && !mlb_session_id_valid(session))
		mlb_die(MLB_EXIT_USAGE, "invalid session id '%s': " MLB_NAME_RULE, session);
	/* -s names the session; else final events on stdin; else MLB_SESSION. */
	if (!explicit_session && optind == argc && !isatty(STDIN_FILENO))
		bad_lines = from_stdin(&src);
	if (!src.n && session && *session) {
		if (from_session(session, argv + optind, (size_t)(argc - optind), &src) < 0) {
			status = MLB_EXIT_FAIL;
			goto out;
		}
	} else if (!src.n && optind < argc) {
		mlb_usage_error("panes name answers in a session: give -s <id> (or MLB_SESSION)");
	} else if (!src.n && isatty(STDIN_FILENO)) {
		mlb_usage_error("nothing to summarize: name a session with -s, or pipe final events in");
	}
	if (!src.n)
		mlb_die(MLB_EXIT_FAIL, "no answers to summarize");
	pane.model = mlb_default_model(cfg, model ? model : role.model, NULL, NULL);
	if (!pane.model)
		mlb_usage_error("no model: use -m provider:model, or set MLB_MODEL or core.model");
	pane.prompt = mlb_summary_prompt(format, src.question, src.v, src.n);
	if (!pane.prompt) {
		status = MLB_EXIT_FAIL;
		goto out;
	}
	pane.extra_headers = mlb_summary_headers(src.v, src.n);
	pane.pane = summary_pane(no_store ? NULL : src.session);

	prices = mlb_prices_default(cfg);
	o.tool = mlb_progname;
	o.session = no_store || !src.session ? NULL : mlb_xstrdup(src.session);
	o.store = !no_store;
	o.project = project;
	o.policy = policy;
	o.prices = prices;
	o.system = role.text;
	o.role = role.name;
	o.role_options = role.options;
	report_sources(&src, &pane, o.session);
	status = mlb_turn_run(cfg, &o, &pane, 1, &res);
	if (status == MLB_EXIT_OK && bad_lines)
		status = MLB_EXIT_FAIL;	/* the summary is made; the exit status remembers the bad input */
	free(o.session);
	mlb_prices_free(prices);
out:
	mlb_pane_turn_clear(&pane);
	mlb_summary_sources_free(src.v, src.n);
	free(src.question);
	free(src.session);
	mlb_role_clear(&role);
	mlb_config_free(cfg);
	return mlb_cli_finish(status);
}
