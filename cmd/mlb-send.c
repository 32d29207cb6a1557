/*
 * mlb-send - send a prompt to one model, stream the reply, store both turns.
 */
#include "cli.h"
#include "input.h"
#include "msg.h"
#include "role.h"
#include "store.h"
#include "transfer.h"
#include "turn.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: mlb-send [-m <provider:model>] [-s <session>] [-c] [-p <pane>] [-S <system>]\n"
	"                [-o <key=value>]... [--from <pane>[:<n>|:<a>-<b>|:all]]\n"
	"                [--fallback <model>]... [--project <name>] [--no-store] [--json|--text]\n"
	"                [<prompt>...]\n"
	"       mlb-send --list-roles | --show-role <name>\n"
	"\n"
	"Send a prompt to one model, stream the reply, and store both in the session.\n"
	"The prompt is the operands, or else stdin.\n"
	"\n"
	"  -m, --model <provider:model>  the model, an alias, options after commas:\n"
	"                           openai:gpt-4o,temperature=0.2 (default: the role's, the pane's,\n"
	"                           MLB_MODEL, core.model)\n"
	"  -s, --session <id>       the session to continue (default: MLB_SESSION, else a new one)\n"
	"  -c, --continue           continue the most recent session\n"
	"  -p, --pane <pane>        the pane (default: named after the model)\n"
	"  -S, --system <text|@role> a system prompt for this pane, or a saved one (a role)\n"
	"  -o, --option <key=value> a request option, e.g. temperature=0.2, max_tokens=100\n"
	"      --from <src>         send another pane's messages: <pane>[:<n>|:<a>-<b>|:all],\n"
	"                           <session>/<pane>[:...], or - for the last final or message\n"
	"                           event on stdin\n"
	"      --fallback <model>   a model to ask if the first fails before its first token (repeatable)\n"
	"      --project <name>     put the session in this project ('' takes it out of its project)\n"
	"      --no-store           do not store the turn in a session\n"
	"      --list-roles         list the roles -S @<name> can name\n"
	"      --show-role <name>   show a role: its defaults and its text\n"
	MLB_POLICY_USAGE
	"  -h, --help               show this help\n"
	"      --version            show the version\n"
	"      --json               write events (default in a pipe)\n"
	"      --text               write the reply as text (default on a terminal)\n";

enum { OPT_FROM = MLB_OPT_FIRST_TOOL_OPTION, OPT_NO_STORE, OPT_FALLBACK, OPT_LIST_ROLES, OPT_SHOW_ROLE, OPT_PROJECT };

struct send_args {
	const char *model, *session, *pane, *system, *from, *show_role, *project;
	int cont, no_store, list_roles;
	char **fallbacks;
	size_t nfallbacks;
	json_object *options;
	struct mlb_policy policy;
};

static void parse_args(int argc, char **argv, struct send_args *a)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		MLB_POLICY_LONGOPTS,
		{ "model", required_argument, NULL, 'm' },
		{ "session", required_argument, NULL, 's' },
		{ "continue", no_argument, NULL, 'c' },
		{ "pane", required_argument, NULL, 'p' },
		{ "system", required_argument, NULL, 'S' },
		{ "option", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "no-store", no_argument, NULL, OPT_NO_STORE },
		{ "fallback", required_argument, NULL, OPT_FALLBACK },
		{ "list-roles", no_argument, NULL, OPT_LIST_ROLES },
		{ "show-role", required_argument, NULL, OPT_SHOW_ROLE },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":hm:s:cp:S:o:", longopts, NULL)) != -1) {
		if (mlb_policy_option(&a->policy, c, optarg))
			continue;
		switch (c) {
		case 'm': a->model = optarg; break;
		case 's': a->session = optarg; break;
		case 'c': a->cont = 1; break;
		case 'p': a->pane = optarg; break;
		case 'S':
			mlb_require_utf8("the system prompt (-S)", optarg, strlen(optarg));
			a->system = optarg;
			break;
		case 'o':
			if (mlb_option_parse(a->options, optarg) < 0)
				exit(MLB_EXIT_USAGE);
			break;
		case OPT_FROM: a->from = optarg; break;
		case OPT_NO_STORE: a->no_store = 1; break;
		case OPT_FALLBACK:
			mlb_strv_push(&a->fallbacks, &a->nfallbacks, optarg);
			break;
		case OPT_LIST_ROLES: a->list_roles = 1; break;
		case OPT_SHOW_ROLE: a->show_role = optarg; break;
		case OPT_PROJECT: a->project = mlb_cli_project(optarg); break;
		default: mlb_cli_option(c);
		}
	}
}

/* -s, -c or MLB_SESSION: the session to continue, or NULL for a new one. */
static char *pick_session(const struct send_args *a)
{
	const char *env = getenv("MLB_SESSION");
	char *id = NULL;

	if (a->session)
		id = mlb_xstrdup(a->session);
	else if (a->cont && !(id = mlb_session_latest()))
		mlb_die(MLB_EXIT_FAIL, "-c: there is no session to continue yet");
	else if (!a->cont && env && *env)
		id = mlb_xstrdup(env);
	if (id && !mlb_session_id_valid(id))
		mlb_die(MLB_EXIT_USAGE, "invalid session id '%s': " MLB_NAME_RULE, id);
	return id;
}

/* --list-roles: one role a line (name, description, file), or role events. */
static int list_roles(void)
{
	size_t n;
	char **names = mlb_role_names(&n);
	int status = MLB_EXIT_OK;

	for (size_t i = 0; i < n; i++) {
		struct mlb_role r;

		if (mlb_role_load(names[i], &r) < 0) {
			status = MLB_EXIT_FAIL;	/* reported; the others are still listed */
		} else if (mlb_cli_json()) {
			mlb_event_write(mlb_role_event(&r, 0));
		} else {
			printf("%-16s %s\n", r.name, r.description ? r.description : "");
			printf("%-16s %s\n", "", r.path);
		}
		mlb_role_clear(&r);
	}
	mlb_strv_free(names);
	return status;
}

/* --show-role: the role's file as it is, or its event with text and options. */
static int show_role(const char *name)
{
	struct mlb_role r;

	if (mlb_role_load(*name == '@' ? name + 1 : name, &r) < 0)
		return MLB_EXIT_USAGE;
	if (mlb_cli_json()) {
		mlb_event_write(mlb_role_event(&r, 1));
	} else {
		printf("# %s\n", r.path);
		if (r.model)
			printf("Model: %s\n", r.model);
		json_object_object_foreach(r.options, k, v)
			printf("Option: %s=%s\n", k, json_object_get_type(v) == json_type_string ?
			       json_object_get_string(v) : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		printf("\n%s\n", r.text);
	}
	mlb_role_clear(&r);
	return MLB_EXIT_OK;
}

/* The user message (the prompt, the moved message, or both), the model and the pane; 0 or an exit status. */
static int build_pane(const struct mlb_config *cfg, const struct send_args *a, const struct mlb_role *role,
		      const char *session, char *prompt, struct mlb_pane_turn *pane)
{
	if (a->from) {
		int usage_err;

		pane->from = mlb_transfer_resolve(a->from, session, &usage_err);
		if (!pane->from) {
			free(prompt);
			return usage_err ? MLB_EXIT_USAGE : MLB_EXIT_FAIL;
		}
		pane->prompt = prompt ? mlb_xasprintf("%s\n\n%s", prompt, pane->from->content)
				      : mlb_xstrdup(pane->from->content);
		free(prompt);
	} else if (!(pane->prompt = prompt)) {
		mlb_usage_error("no prompt: give it as operands or on stdin");
	}
	if (a->cont && !a->pane && !a->model && !role->model)
		pane->pane = mlb_last_pane(session);	/* -c: on with the last pane and its model */
	pane->model = mlb_default_model(cfg, a->model ? a->model : role->model, session,
					a->pane ? a->pane : pane->pane);
	if (!pane->model)
		mlb_usage_error("no model: use -m provider:model, or set MLB_MODEL or core.model in the config");
	if (!pane->pane)
		pane->pane = a->pane ? mlb_xstrdup(a->pane) : mlb_pane_from_model(pane->model);
	return 0;
}

int main(int argc, char **argv)
{
	struct send_args a = { 0 };
	struct mlb_turn_opts o = { 0 };
	struct mlb_pane_turn pane = { 0 };
	struct mlb_turn_result res;
	struct mlb_config *cfg;
	struct mlb_prices *prices = NULL;
	struct mlb_role role;
	char *prompt;
	int status;

	mlb_cli_init(argc, argv, usage);
	a.options = json_object_new_object();
	mlb_policy_defaults(&a.policy);
	cfg = mlb_config_load();
	if (!cfg || mlb_policy_configure(&a.policy, cfg) < 0)
		return MLB_EXIT_FAIL;
	parse_args(argc, argv, &a);
	if (a.list_roles || a.show_role) {
		status = a.list_roles ? list_roles() : show_role(a.show_role);
		json_object_put(a.options);
		mlb_config_free(cfg);
		return mlb_cli_finish(status);
	}
	if (mlb_role_from_arg(a.system, &role) < 0)
		exit(MLB_EXIT_USAGE);
	if (a.session && a.cont)
		mlb_usage_error("-s and -c both name a session; give one");
	if (a.no_store && (a.session || a.cont))
		mlb_usage_error("--no-store cannot continue a session; drop -s/-c or --no-store");
	if (a.no_store && a.project)
		mlb_usage_error("--no-store stores no session to put in a project; drop --project or --no-store");
	o.project = a.project;
	if (a.pane && !mlb_pane_name_valid(a.pane))
		mlb_die(MLB_EXIT_USAGE, "invalid pane name '%s': " MLB_NAME_RULE, a.pane);
	o.session = a.no_store ? NULL : pick_session(&a);
	/* With --from -, stdin carries events, so the prompt can only be operands. */
	prompt = mlb_read_prompt(argc - optind, argv + optind, !(a.from && !strcmp(a.from, "-")),
				 a.policy.max_request);
	status = build_pane(cfg, &a, &role, o.session, prompt, &pane);
	if (status == 0) {
		prices = mlb_prices_default(cfg);
		o.tool = mlb_progname;
		o.store = !a.no_store;
		o.system = role.text;
		o.role = role.name;
		o.role_options = role.options;
		o.options = a.options;
		o.fallbacks = a.fallbacks;
		o.policy = a.policy;
		o.prices = prices;
		status = mlb_turn_run(cfg, &o, &pane, 1, &res);
		if (status == MLB_EXIT_OK && pane.from && pane.from->bad_lines)
			status = MLB_EXIT_FAIL;	/* answered, but the input had bad lines */
	}
	mlb_pane_turn_clear(&pane);
	mlb_prices_free(prices);
	mlb_role_clear(&role);
	mlb_strv_free(a.fallbacks);
	json_object_put(a.options);
	free(o.session);
	mlb_config_free(cfg);
	return mlb_cli_finish(status);
}
