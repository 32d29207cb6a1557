/*
 * mlb-broadcast - send one prompt to many models at once, one pane each.
 */
#include "budget.h"
#include "cli.h"
#include "input.h"
#include "modelspec.h"
#include "msg.h"
#include "role.h"
#include "store.h"
#include "turn.h"
#include "utf8.h"
#include "view.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: mlb-broadcast -m <model> [-m <model>]... [-g <group>] [-s <session>] [-S <system>]\n"
	"                     [-o <key=value>]... [--panes <name,...>] [--first | --quorum <n>]\n"
	"                     [--deadline <seconds>] [--budget <usd>] [--fallback <model>]... [--project <name>]\n"
	"                     [--no-store] [--raw] [--json|--text] [<prompt>...]\n"
	"\n"
	"Send one prompt to many models at once, one pane each, and store all replies in one commit.\n"
	"\n"
	"  -m, --model <provider:model>  a model to ask (repeatable; else MLB_MODELS); an alias,\n"
	"                           options after commas: openai:gpt-4o,temperature=0.2\n"
	"  -g, --group <group>      the models of a config group ([group \"<name>\"] model = ...)\n"
	"  -s, --session <id>       the session to continue (default: MLB_SESSION, else a new one)\n"
	"  -S, --system <text|@role> a system prompt for every pane, or a saved one (a role)\n"
	"  -o, --option <key=value> a request option, e.g. temperature=0.2\n"
	"      --panes <name,...>   pane names, one per model (default: named after the models)\n"
	"      --first              stop when the first model finishes; cancel the rest\n"
	"      --quorum <n>         stop when n models finished; cancel the rest\n"
	"      --deadline <s>       cancel whatever still runs after s seconds\n"
	"      --budget <usd>       refuse to start when the prompt alone costs more; stop at the limit\n"
	"      --fallback <model>   a model to ask for a pane whose model fails before its first token\n"
	"                           (repeatable)\n"
	"      --project <name>     put the session in this project ('' takes it out of its project)\n"
	"      --no-store           do not store the turn\n"
	"      --raw                on a terminal, the answers as sent (their markdown not drawn)\n"
	MLB_POLICY_USAGE
	"  -h, --help               show this help\n"
	"      --version            show the version\n"
	"      --json               write events (default in a pipe)\n"
	"      --text               write text for a person (default on a terminal)\n";

enum { OPT_PANES = MLB_OPT_FIRST_TOOL_OPTION, OPT_FIRST, OPT_QUORUM, OPT_DEADLINE, OPT_BUDGET, OPT_NO_STORE,
       OPT_FALLBACK, OPT_RAW, OPT_PROJECT };

struct args {
	char **models;
	size_t nmodels;
	char **fallbacks;
	size_t nfallbacks;
	const char *group, *session, *system, *panes, *project;
	int first, quorum, no_store, raw;
	double deadline, budget;
	json_object *options;
	struct mlb_policy policy;
};

static void add_model(struct args *a, const char *m)
{
	a->models = mlb_xrealloc(a->models, (a->nmodels + 2) * sizeof(*a->models));
	a->models[a->nmodels++] = mlb_xstrdup(m);
	a->models[a->nmodels] = NULL;
}

static void parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		MLB_POLICY_LONGOPTS,
		{ "model", required_argument, NULL, 'm' },
		{ "group", required_argument, NULL, 'g' },
		{ "session", required_argument, NULL, 's' },
		{ "system", required_argument, NULL, 'S' },
		{ "option", required_argument, NULL, 'o' },
		{ "panes", required_argument, NULL, OPT_PANES },
		{ "first", no_argument, NULL, OPT_FIRST },
		{ "quorum", required_argument, NULL, OPT_QUORUM },
		{ "deadline", required_argument, NULL, OPT_DEADLINE },
		{ "budget", required_argument, NULL, OPT_BUDGET },
		{ "no-store", no_argument, NULL, OPT_NO_STORE },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ "fallback", required_argument, NULL, OPT_FALLBACK },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ 0 }
	};
	int c, ok;

	while ((c = getopt_long(argc, argv, ":hm:g:s:S:o:", longopts, NULL)) != -1) {
		if (mlb_policy_option(&a->policy, c, optarg))
			continue;
		switch (c) {
		case 'm': add_model(a, optarg); break;
		case 'g': a->group = optarg; break;
		case 's': a->session = optarg; break;
		case 'S':
			mlb_require_utf8("the system prompt (-S)", optarg, strlen(optarg));
			a->system = optarg;
			break;
		case 'o':
			if (mlb_option_parse(a->options, optarg) < 0)
				exit(MLB_EXIT_USAGE);
			break;
		case OPT_PANES: a->panes = optarg; break;
		case OPT_FIRST: a->first = 1; break;
		case OPT_QUORUM:
			a->quorum = (int)mlb_parse_long(optarg, 1, 100000, &ok);
			if (!ok)
				mlb_usage_error("--quorum takes a whole number of models, not '%s'", optarg);
			break;
		case OPT_DEADLINE:
			a->deadline = mlb_parse_seconds(optarg);
			if (a->deadline <= 0)
				mlb_usage_error("--deadline takes a number of seconds, not '%s'", optarg);
			break;
		case OPT_BUDGET:
			a->budget = mlb_parse_seconds(optarg);
			if (a->budget <= 0)
				mlb_usage_error("--budget takes an amount in USD, such as 0.05, not '%s'", optarg);
			break;
		case OPT_NO_STORE: a->no_store = 1; break;
		case OPT_PROJECT: a->project = mlb_cli_project(optarg); break;
		case OPT_RAW: a->raw = 1; break;
		case OPT_FALLBACK:
			mlb_strv_push(&a->fallbacks, &a->nfallbacks, optarg);
			break;
		default: mlb_cli_option(c);
		}
	}
	if (a->first && a->quorum)
		mlb_usage_error("--first and --quorum both say when to stop; give one");
}

/* -m, else -g, else MLB_MODELS, else the role's model; aliases expanded. */
static void collect_models(const struct mlb_config *cfg, struct args *a, const struct mlb_role *role)
{
	const char *env = getenv("MLB_MODELS");

	if (a->group) {
		char *key = mlb_xasprintf("group.%s.model", a->group), **v;
		size_t n = mlb_config_multi(cfg, key, &v);

		free(key);
		if (!n)
			mlb_die(MLB_EXIT_USAGE, "no group '%s' in the configuration; add [group \"%s\"] with model = lines",
				a->group, a->group);
		for (size_t i = 0; i < n; i++)
			add_model(a, v[i]);
		mlb_strv_free(v);
	}
	if (!a->nmodels && env && *env) {
		size_t n;
		char **v = mlb_split_list(env, &n);

		for (size_t i = 0; i < n; i++)
			add_model(a, v[i]);
		mlb_strv_free(v);
	}
	if (!a->nmodels && role->model)
		add_model(a, role->model);
	if (!a->nmodels)
		mlb_usage_error("no models: use -m provider:model (repeatable), -g <group> or MLB_MODELS");
	for (size_t i = 0; i < a->nmodels; i++) {
		char *m = mlb_model_expand(cfg, a->models[i]);

		free(a->models[i]);
		a->models[i] = m;
	}
	/* a quorum no run can reach would wait for every model and then call the run partial */
	if (a->quorum > 0 && (size_t)a->quorum > a->nmodels)
		mlb_usage_error("--quorum %d is more than the %zu model%s given; give at most %zu", a->quorum,
				a->nmodels, a->nmodels == 1 ? "" : "s", a->nmodels);
}

/* Pane names: --panes, else from the models; a repeated name gets -2, -3, ... */
static void name_panes(struct args *a, struct mlb_pane_turn *panes)
{
	size_t n = 0;
	char **names = a->panes ? mlb_split_list(a->panes, &n) : NULL;

	if (names && n != a->nmodels) {
		mlb_strv_free(names);
		mlb_usage_error("--panes names %zu panes for %zu models; give one name per model", n, a->nmodels);
	}
	for (size_t i = 0; i < a->nmodels; i++) {
		char *base = names ? mlb_xstrdup(names[i]) : mlb_pane_from_model(a->models[i]);
		int dup = 1;

		if (!mlb_pane_name_valid(base))
			mlb_die(MLB_EXIT_USAGE, "invalid pane name '%s': " MLB_NAME_RULE, base);
		panes[i].pane = mlb_xstrdup(base);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(panes[j].pane, panes[i].pane)) {
				free(panes[i].pane);
				panes[i].pane = mlb_xasprintf("%s-%d", base, ++dup);
				j = (size_t)-1;
			}
		free(base);
	}
	mlb_strv_free(names);
}

static char *summary(const struct mlb_turn_result *r, size_t n, const char *session)
{
	return mlb_xasprintf("%zu models: %d ok, %d failed, %d cancelled%s%s", n, r->ok, r->failed, r->cancelled,
			     session ? "; session " : "", session ? session : "");
}

/* The live view on a terminal (or --text): the same turn, drawn for a person. */
static int run_with_view(const struct mlb_config *cfg, struct mlb_turn_opts *o, int raw,
			 struct mlb_pane_turn *panes, size_t n)
{
	const char **names = mlb_xcalloc(n, sizeof(*names)), **models = mlb_xcalloc(n, sizeof(*models));
	struct mlb_turn_result res;
	struct mlb_view *view;
	char *line;
	int status;

	/* the models without the options written after them, which the turn takes off */
	for (size_t i = 0; i < n; i++) {
		names[i] = panes[i].pane;
		models[i] = mlb_xstrndup(panes[i].model, mlb_model_word_len(panes[i].model));
	}
	view = mlb_view_new(n, names, models, mlb_cli_color());
	mlb_view_prices(view, o->prices);
	if (raw)
		mlb_view_raw(view);
	o->emit = mlb_view_event;
	o->emit_ctx = view;
	o->tick = mlb_view_tick;
	status = mlb_turn_run(cfg, o, panes, n, &res);
	line = summary(&res, n, o->session);
	mlb_view_finish(view, line);
	free(line);
	free(names);
	for (size_t i = 0; i < n; i++)
		free((char *)models[i]);
	free(models);
	return status;
}

static int broadcast(const struct mlb_config *cfg, struct args *a, const struct mlb_role *role,
		     struct mlb_pane_turn *panes, const struct mlb_prices *prices)
{
	struct mlb_turn_opts o = { 0 };
	struct mlb_turn_result res;
	const char *env = getenv("MLB_SESSION");
	char *run = mlb_session_new_id();
	int status;

	o.tool = mlb_progname;
	if (!a->no_store && (a->session || (env && *env)))
		o.session = mlb_xstrdup(a->session ? a->session : env);
	o.store = !a->no_store;
	o.project = a->project;
	o.system = role->text;
	o.role = role->name;
	o.role_options = role->options;
	o.options = a->options;
	o.fallbacks = a->fallbacks;
	o.run = run;
	o.policy = a->policy;
	o.deadline_s = a->deadline;
	o.first = a->first;
	o.quorum = a->quorum;
	o.prices = prices;
	o.budget = a->budget;
	if (mlb_cli_json())
		status = mlb_turn_run(cfg, &o, panes, a->nmodels, &res);
	else
		status = run_with_view(cfg, &o, a->raw, panes, a->nmodels);
	free(run);
	free(o.session);
	return status;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	struct mlb_pane_turn *panes;
	struct mlb_config *cfg;
	struct mlb_prices *prices;
	struct mlb_role role;
	char **specs;
	char *prompt;
	int status;

	mlb_cli_init(argc, argv, usage);
	a.options = json_object_new_object();
	mlb_policy_defaults(&a.policy);
	cfg = mlb_config_load();
	if (!cfg || mlb_policy_configure(&a.policy, cfg) < 0)
		return MLB_EXIT_FAIL;
	parse_args(argc, argv, &a);
	if (mlb_role_from_arg(a.system, &role) < 0)
		exit(MLB_EXIT_USAGE);
	collect_models(cfg, &a, &role);
	if (a.no_store && a.session)
		mlb_usage_error("--no-store cannot continue a session; drop -s or --no-store");
	if (a.no_store && a.project)
		mlb_usage_error("--no-store stores no session to put in a project; drop --project or --no-store");
	if (a.session && !mlb_session_id_valid(a.session))
		mlb_die(MLB_EXIT_USAGE, "invalid session id '%s': " MLB_NAME_RULE,
			a.session);
	prompt = mlb_read_prompt(argc - optind, argv + optind, 1, a.policy.max_request);
	if (!prompt)
		mlb_usage_error("no prompt: give it as operands or on stdin");
	panes = mlb_xcalloc(a.nmodels, sizeof(*panes));
	name_panes(&a, panes);
	for (size_t i = 0; i < a.nmodels; i++) {
		panes[i].model = mlb_xstrdup(a.models[i]);
		panes[i].prompt = mlb_xstrdup(prompt);
	}
	prices = mlb_prices_default(cfg);
	/* prices are by provider:model, without the options written after it */
	specs = mlb_xcalloc(a.nmodels + 1, sizeof(*specs));
	for (size_t i = 0; i < a.nmodels; i++)
		specs[i] = mlb_xstrndup(a.models[i], mlb_model_word_len(a.models[i]));
	if (a.budget > 0 && mlb_budget_refuse(prices, (const char *const *)specs, a.nmodels, prompt, a.budget))
		status = MLB_EXIT_BUDGET;
	else
		status = broadcast(cfg, &a, &role, panes, prices);

	for (size_t i = 0; i < a.nmodels; i++)
		mlb_pane_turn_clear(&panes[i]);
	free(panes);
	free(prompt);
	mlb_strv_free(specs);
	mlb_role_clear(&role);
	mlb_strv_free(a.fallbacks);
	mlb_strv_free(a.models);
	mlb_prices_free(prices);
	json_object_put(a.options);
	mlb_config_free(cfg);
	return mlb_cli_finish(status);
}
