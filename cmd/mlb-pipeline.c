/*
 * mlb-pipeline - run pipeline templates of prompts and models.
 */
#include "cli.h"
#include "drift.h"
#include "shard.h"
#include "lock.h"
#include "msg.h"
#include "pipeline.h"
#include "store.h"
#include "turn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: mlb-pipeline run <file|name> [--var <k=v>]... [-s <session>] [--project <name>]\n"
	"                     [--budget <usd>] [--dry-run] [--lock] [--log <file>] [--rows <file>] [--jobs <n>] [--shard <i>/<n>]\n"
	"                     [--junit <file>] [--html <file>] [--record <dir> | --replay <dir>] [--json|--text]\n"
	"       mlb-pipeline validate [--rows <file>] <file|name>\n"
	"       mlb-pipeline show <file|name>\n"
	"       mlb-pipeline drift <recorded-session> <live-session> [--min-similarity <x>]\n"
	"       mlb-pipeline merge <session> <shard-session>...\n"
	"       mlb-pipeline report [--junit <file>] [--html <file>] [<log>...]\n"
	"       mlb-pipeline list\n"
	"       mlb-pipeline save --from-session <id> --name <name>\n"
	"       mlb-pipeline export <name> | import <file>\n"
	"\n"
	"Run pipeline templates of prompts and models.\n"
	"\n"
	"      --var <k=v>              set a template variable (over MLB_VAR_<k> and the template's vars)\n"
	"  -s, --session <id>           the session to store in (default: MLB_SESSION, else a new one)\n"
	"      --project <name>         put that session in this project ('' takes it out of its project)\n"
	"      --budget <usd>           refuse or stop beyond this cost\n"
	"      --dry-run                print prompts and order, send nothing\n"
	"      --lock                   refuse to start while the template runs\n"
	"      --log <file>             append every event to file\n"
	"      --rows <file>            run once a row of a JSONL or CSV file ('-': stdin)\n"
	"      --jobs <n>               rows at once (4)\n"
	"      --shard <i>/<n>          run only the rows whose number - 1 modulo n is i\n"
	"      --junit <file>           write a JUnit XML report: a test case an answer, the failed checks\n"
	"      --html <file>            write an HTML report: verdicts, answers side by side, cost and latency\n"
	"      --record <dir>           keep every provider exchange in dir (no keys)\n"
	"      --replay <dir>           answer every request from dir, without network\n"
	"      --min-similarity <x>     drift: the least word similarity to the recording, 0 to 1 (0.8)\n"
	"      --from-session <id>      the session to turn into a template\n"
	"      --name <name>            the name of the saved template\n"
	"  -f, --force                  let save and import replace a template of that name\n"
	MLB_POLICY_USAGE
	"  -h, --help                   show this help\n"
	"      --version                show the version\n"
	"      --json                   write events (default in a pipe)\n"
	"      --text                   write text for a person (default on a terminal)\n";

enum {
	OPT_VAR = MLB_OPT_FIRST_TOOL_OPTION, OPT_BUDGET, OPT_DRY_RUN, OPT_LOCK, OPT_LOG, OPT_FROM_SESSION, OPT_NAME,
	OPT_ROWS, OPT_JOBS, OPT_SHARD, OPT_JUNIT, OPT_HTML, OPT_RECORD, OPT_REPLAY, OPT_MIN_SIMILARITY, OPT_PROJECT
};

struct args {
	char **vars;
	size_t nvars;
	const char *session, *project, *log, *from_session, *name, *rows, *junit, *html, *record, *replay;
	long jobs, shard_i, shard_n;
	double budget, min_similarity;
	int dry_run, lock, force;
	int run_only;		/* an option only run takes was given */
	struct mlb_policy policy;
};

/* "<i>/<n>": 0 on success. */
static int parse_shard(const char *arg, long *i, long *n)
{
	const char *slash = strchr(arg, '/');
	char *head;
	int ok1, ok2;

	if (!slash)
		return -1;
	head = mlb_xstrndup(arg, (size_t)(slash - arg));
	*i = mlb_parse_long(head, 0, 1000000, &ok1);
	*n = mlb_parse_long(slash + 1, 1, 1000000, &ok2);
	free(head);
	return ok1 && ok2 && *i < *n ? 0 : -1;
}

static void parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		MLB_POLICY_LONGOPTS,
		{ "var", required_argument, NULL, OPT_VAR },
		{ "session", required_argument, NULL, 's' },
		{ "budget", required_argument, NULL, OPT_BUDGET },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "lock", no_argument, NULL, OPT_LOCK },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "from-session", required_argument, NULL, OPT_FROM_SESSION },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "force", no_argument, NULL, 'f' },
		{ "rows", required_argument, NULL, OPT_ROWS },
		{ "jobs", required_argument, NULL, OPT_JOBS },
		{ "shard", required_argument, NULL, OPT_SHARD },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "replay", required_argument, NULL, OPT_REPLAY },
		{ "min-similarity", required_argument, NULL, OPT_MIN_SIMILARITY },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ 0 }
	};
	int c, ok;

	while ((c = getopt_long(argc, argv, ":hs:f", longopts, NULL)) != -1) {
		if (mlb_policy_option(&a->policy, c, optarg)) {
			a->run_only = 1;
			continue;
		}
		switch (c) {
		case OPT_VAR:
			if (!strchr(optarg, '=') || *optarg == '=')
				mlb_usage_error("--var takes name=value, not '%s'", optarg);
			a->vars = mlb_xrealloc(a->vars, (a->nvars + 1) * sizeof(*a->vars));
			a->vars[a->nvars++] = optarg;
			break;
		case 's': a->session = optarg; a->run_only = 1; break;
		case OPT_PROJECT: a->project = mlb_cli_project(optarg); a->run_only = 1; break;
		case OPT_BUDGET:
			a->budget = mlb_parse_seconds(optarg);
			if (a->budget <= 0)
				mlb_usage_error("--budget takes an amount in USD, such as 0.05, not '%s'", optarg);
			a->run_only = 1;
			break;
		case OPT_DRY_RUN: a->dry_run = 1; a->run_only = 1; break;
		case OPT_LOCK: a->lock = 1; a->run_only = 1; break;
		case OPT_LOG: a->log = optarg; a->run_only = 1; break;
		case OPT_FROM_SESSION: a->from_session = optarg; break;
		case OPT_NAME: a->name = optarg; break;
		case 'f': a->force = 1; break;
		case OPT_ROWS: a->rows = optarg; break;
		case OPT_JOBS:
			a->jobs = mlb_parse_long(optarg, 1, 10000, &ok);
			if (!ok)
				mlb_usage_error("--jobs takes a number of rows from 1 to 10000, not '%s'", optarg);
			a->run_only = 1;
			break;
		case OPT_SHARD:
			if (parse_shard(optarg, &a->shard_i, &a->shard_n) < 0)
				mlb_usage_error("--shard takes <i>/<n> with 0 <= i < n, such as 0/4, not '%s'", optarg);
			a->run_only = 1;
			break;
		case OPT_JUNIT: a->junit = optarg; a->run_only = 1; break;
		case OPT_HTML: a->html = optarg; a->run_only = 1; break;
		case OPT_RECORD: a->record = optarg; a->run_only = 1; break;
		case OPT_REPLAY: a->replay = optarg; a->run_only = 1; break;
		case OPT_MIN_SIMILARITY: {
			char *end;

			a->min_similarity = strtod(optarg, &end);
			if (end == optarg || *end || !(a->min_similarity >= 0 && a->min_similarity <= 1))
				mlb_usage_error("--min-similarity takes a similarity from 0 to 1, such as 0.8, not '%s'", optarg);
			break;
		}
		default: mlb_cli_option(c);
		}
	}
}

/* Load the template, set its variables and check it all; NULL after reporting every problem.
 * With rows, the placeholders are checked row by row, with each row's variables. */
static struct mlb_template *load_checked(const struct mlb_config *cfg, const struct args *a, const char *arg,
					 int keys)
{
	extern char **environ;
	struct mlb_template *t = mlb_pipeline_load(arg);

	if (!t)
		return NULL;
	mlb_template_env_vars(t, environ);
	for (size_t i = 0; i < a->nvars; i++)
		if (mlb_template_option_var(t, a->vars[i]) < 0) {
			mlb_template_free(t);
			mlb_usage_error("--var '%s': a name is 1 to %d letters, digits, '_' or '-'", a->vars[i],
					MLB_TEMPLATE_ID_MAX);
		}
	if (!a->rows)
		mlb_template_check(t);
	mlb_pipeline_check_models(cfg, t, keys);
	if (mlb_pipeline_report(t)) {
		mlb_template_free(t);
		return NULL;
	}
	return t;
}

static int cmd_run(const struct mlb_config *cfg, const struct args *a, const char *arg)
{
	const char *env_session = getenv("MLB_SESSION");
	struct mlb_pipeline_opts o = { 0 };
	struct mlb_template *t;
	struct mlb_prices *prices;
	int lock_fd = -1, status;

	o.session = a->session ? a->session : env_session && *env_session ? env_session : NULL;
	if (o.session && !mlb_session_id_valid(o.session))
		mlb_die(MLB_EXIT_USAGE, "invalid session id '%s': " MLB_NAME_RULE,
			o.session);
	o.project = a->project;
	if (a->record && a->replay)
		mlb_usage_error("--record and --replay exclude each other: record a run live, then replay it");
	if (a->replay && access(a->replay, R_OK | X_OK) < 0)
		mlb_die(MLB_EXIT_USAGE, "--replay '%s': %s; record one with --record", a->replay, strerror(errno));
	/* a replay sends nothing: it needs no keys */
	t = load_checked(cfg, a, arg, !a->replay);
	if (!t)
		return MLB_EXIT_USAGE;
	if (a->rows && !(o.rows = mlb_rows_read(a->rows))) {
		mlb_template_free(t);
		return MLB_EXIT_USAGE;
	}
	if (a->dry_run) {
		status = mlb_pipeline_dry_run(t);
		mlb_template_free(t);
		mlb_rows_free((struct mlb_rows *)o.rows);
		return status;
	}
	if (a->lock && mlb_pipeline_lock(t->name, &lock_fd) < 0) {
		mlb_template_free(t);
		mlb_rows_free((struct mlb_rows *)o.rows);
		return MLB_EXIT_FAIL;
	}
	if (a->log && !(o.log = fopen(a->log, "ae"))) {
		mlb_error("cannot open the log file '%s': %s", a->log, strerror(errno));
		mlb_template_free(t);
		mlb_rows_free((struct mlb_rows *)o.rows);
		mlb_lock_release(lock_fd);
		return MLB_EXIT_FAIL;
	}
	prices = mlb_prices_default(cfg);
	o.budget = a->budget;
	o.policy = a->policy;
	o.prices = prices;
	o.jobs = a->jobs ? (int)a->jobs : 4;
	o.shard_i = a->shard_i;
	o.shard_n = a->shard_n;
	o.junit = a->junit;
	o.html = a->html;
	o.record = a->record;
	o.replay = a->replay;
	status = mlb_pipeline_run(cfg, t, &o);
	if (o.log && fclose(o.log) == EOF) {
		mlb_error("cannot write the log file '%s': %s", a->log, strerror(errno));
		status = status ? status : MLB_EXIT_FAIL;
	}
	mlb_prices_free(prices);
	mlb_template_free(t);
	mlb_rows_free((struct mlb_rows *)o.rows);
	mlb_lock_release(lock_fd);
	return status;
}

static int cmd_validate(const struct mlb_config *cfg, const struct args *a, const char *arg)
{
	struct mlb_template *t = load_checked(cfg, a, arg, 1);
	struct mlb_rows *rows = NULL;
	size_t bad = 0;

	if (!t)
		return MLB_EXIT_USAGE;
	if (a->rows && !(rows = mlb_rows_read(a->rows))) {
		mlb_template_free(t);
		return MLB_EXIT_USAGE;
	}
	/* each row is checked as it will run: the template with the row's variables */
	for (size_t i = 0; rows && i < rows->n; i++) {
		const struct mlb_row *row = &rows->v[i];
		struct mlb_template *rt = row->bad ? NULL : mlb_pipeline_row_template(cfg, t, row);

		if (row->bad)
			mlb_error("%s: line %ld: row %ld: %s", rows->label, row->line, row->index, row->bad);
		for (size_t k = 0; rt && k < rt->nproblems; k++)
			mlb_error("%s: line %ld: row %ld: %s", rows->label, row->line, row->index,
				  mlb_pipeline_row_problem(rt, k));
		bad += row->bad || (rt && rt->nproblems);
		mlb_template_free(rt);
	}
	if (!bad) {
		printf("%s: ok: %zu step%s in %d wave%s", t->label, t->nsteps, t->nsteps == 1 ? "" : "s",
		       t->nwaves, t->nwaves == 1 ? "" : "s");
		if (rows)
			printf(", %zu row%s", rows->n, rows->n == 1 ? "" : "s");
		putchar('\n');
	}
	mlb_template_free(t);
	mlb_rows_free(rows);
	return bad ? MLB_EXIT_USAGE : MLB_EXIT_OK;
}

/* show needs only a template that parses and has an order; its variables may come at run time. */
static int cmd_show(const char *arg)
{
	struct mlb_template *t = mlb_pipeline_load(arg);
	char *path;
	int status;

	if (!t || mlb_pipeline_report(t)) {
		mlb_template_free(t);
		return MLB_EXIT_USAGE;
	}
	path = mlb_pipeline_find(arg);
	status = mlb_pipeline_show(t, path);
	free(path);
	mlb_template_free(t);
	return status;
}

/* Check the operands and options a command takes, then run it. */
static int dispatch(const struct mlb_config *cfg, const struct args *a, char **ops, int nops)
{
	const char *cmd = nops ? ops[0] : NULL;
	int want = cmd && (!strcmp(cmd, "list") || !strcmp(cmd, "save")) ? 1 : cmd && !strcmp(cmd, "drift") ? 3 : 2;

	if (!cmd)
		mlb_usage_error("no command: give run, validate, show, list, save, export, import, drift, merge or report");
	if ((a->junit || a->html) && !strcmp(cmd, "report"))
		return mlb_shard_report(ops + 1, (size_t)nops - 1, a->junit, a->html);
	if (!strcmp(cmd, "report"))
		mlb_usage_error("report needs --junit <file> or --html <file>, then the event logs (--log) to read, or none for stdin");
	if (!strcmp(cmd, "merge") && nops >= 3 && !a->run_only && !a->nvars && !a->rows)
		return mlb_shard_merge(ops[1], ops + 2, (size_t)nops - 2);
	if (!strcmp(cmd, "merge"))
		mlb_usage_error("merge takes the session to merge into, then one or more shards' sessions (ids or directories)");
	if (strcmp(cmd, "run") && strcmp(cmd, "validate") && strcmp(cmd, "show") && strcmp(cmd, "list") &&
	    strcmp(cmd, "save") && strcmp(cmd, "export") && strcmp(cmd, "import") && strcmp(cmd, "drift")) {
		static const char *const cmds[] = { "run", "validate", "show", "list", "save", "export", "import", "drift",
						    "merge", "report" };

		if (mlb_nearest(cmd, cmds, sizeof(cmds) / sizeof(cmds[0])))
			mlb_usage_unknown("command", cmd, cmds, sizeof(cmds) / sizeof(cmds[0]));
		mlb_usage_error("unknown command '%s'; give run, validate, show, list, save, export, import, drift, merge or report",
				cmd);
	}
	if (nops != want)
		mlb_usage_error("'%s' takes %s", cmd, want == 1 ? "no operand" : want == 3 ? "two sessions, the recorded and the live" :
				!strcmp(cmd, "import") ? "one template file" : "one template, a file or a name");
	if (a->run_only && strcmp(cmd, "run"))
		mlb_usage_error("-s, --budget, --dry-run, --lock, --log, --jobs, --shard, --junit, --html, --record, --replay and the request options are for 'run' only");
	if (a->nvars && strcmp(cmd, "run") && strcmp(cmd, "validate"))
		mlb_usage_error("--var is for 'run' and 'validate' only");
	if (a->rows && strcmp(cmd, "run") && strcmp(cmd, "validate"))
		mlb_usage_error("--rows is for 'run' and 'validate' only");
	if ((a->jobs || a->shard_n) && !a->rows)
		mlb_usage_error("--jobs and --shard choose among rows; give --rows <file>");
	if ((a->from_session && strcmp(cmd, "save")) || (a->name && strcmp(cmd, "save") && strcmp(cmd, "import")) ||
	    (a->force && strcmp(cmd, "save") && strcmp(cmd, "import")))
		mlb_usage_error("--from-session is for 'save'; --name and --force for 'save' and 'import'");
	if (a->min_similarity && strcmp(cmd, "drift"))
		mlb_usage_error("--min-similarity is for 'drift' only");
	if (!strcmp(cmd, "drift"))
		return mlb_drift(ops[1], ops[2], a->min_similarity ? a->min_similarity : 0.8);
	if (!strcmp(cmd, "run"))
		return cmd_run(cfg, a, ops[1]);
	if (!strcmp(cmd, "validate"))
		return cmd_validate(cfg, a, ops[1]);
	if (!strcmp(cmd, "show"))
		return cmd_show(ops[1]);
	if (!strcmp(cmd, "list"))
		return mlb_pipeline_list();
	if (!strcmp(cmd, "export"))
		return mlb_pipeline_export(ops[1]);
	if (!strcmp(cmd, "import"))
		return mlb_pipeline_import(cfg, ops[1], a->name, a->force);
	if (!a->from_session || !a->name)
		mlb_usage_error("save needs --from-session <id> and --name <name>");
	return mlb_pipeline_save(a->from_session, a->name, a->force);
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	struct mlb_config *cfg;
	int status;

	mlb_cli_init(argc, argv, usage);
	mlb_policy_defaults(&a.policy);
	cfg = mlb_config_load();
	if (!cfg || mlb_policy_configure(&a.policy, cfg) < 0)
		return MLB_EXIT_FAIL;
	parse_args(argc, argv, &a);
	status = dispatch(cfg, &a, argv + optind, argc - optind);
	free(a.vars);
	mlb_config_free(cfg);
	return mlb_cli_finish(status);
}
