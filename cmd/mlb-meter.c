/*
 * mlb-meter - add up tokens, cost and latency; enforce a budget.
 */
#include "cli.h"
#include "term.h"
#include "turn.h"
#include "view.h"
#include "config.h"
#include "meter.h"
#include "msg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: mlb-meter [--budget <usd>] [--warn <fraction>] [--by <key>] [--interval <seconds>]\n"
	"                 [--report] [--prices <file>] [-s <session> | --project <name> | --all]\n"
	"                 [--since <date>] [--until <date>] [--json|--text]\n"
	"\n"
	"Add up tokens, cost and latency; enforce a budget.\n"
	"\n"
	"      --budget <usd>           stop at this cost (exit 4)\n"
	"      --warn <fraction>        warn at this share of the budget (0.8)\n"
	"      --by <key>               aggregate by pane, model or session; stored replies also by\n"
	"                               day, week, month, provider or project\n"
	"      --interval <seconds>     emit aggregates this often\n"
	"      --report                 print a table at the end\n"
	"      --prices <file>          an extra price table\n"
	"  -s, --session <id>           the cost of a stored session\n"
	"      --project <name>         the cost of every session of a project, together\n"
	"      --all                    the cost of every session under MLB_HOME, together\n"
	"      --since <date>           stored replies of this day (YYYY-MM-DD, UTC) or later\n"
	"      --until <date>           stored replies of this day (YYYY-MM-DD, UTC) or earlier\n"
	"  -h, --help                   show this help\n"
	"      --version                show the version\n"
	"      --json                   write events (default in a pipe)\n"
	"      --text                   write text for a person (default on a terminal)\n";

enum {
	OPT_BUDGET = MLB_OPT_FIRST_TOOL_OPTION,
	OPT_WARN,
	OPT_BY,
	OPT_INTERVAL,
	OPT_REPORT,
	OPT_PRICES,
	OPT_PROJECT,
	OPT_ALL,
	OPT_SINCE,
	OPT_UNTIL,
};

/* A day as YYYY-MM-DD that exists (2026-02-30 does not), or NULL after a usage error. */
static const char *day(const char *opt, const char *s)
{
	struct tm tm = { 0 };
	char back[16];
	time_t t;
	int y, mo, d, n = 0;

	if (strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10) {
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		t = timegm(&tm);
		if (gmtime_r(&t, &tm) && strftime(back, sizeof(back), "%Y-%m-%d", &tm) && !strcmp(back, s))
			return s;
	}
	mlb_usage_error("%s takes a day as YYYY-MM-DD, such as 2026-01-31, not '%s'", opt, s);
	return NULL;
}

/* A positive finite amount, or -1. */
static double amount(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	return errno || end == s || *end || !isfinite(v) || v <= 0 ? -1 : v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		{ "budget", required_argument, NULL, OPT_BUDGET },
		{ "warn", required_argument, NULL, OPT_WARN },
		{ "by", required_argument, NULL, OPT_BY },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "report", no_argument, NULL, OPT_REPORT },
		{ "prices", required_argument, NULL, OPT_PRICES },
		{ "session", required_argument, NULL, 's' },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ 0 }
	};
	struct mlb_meter_opts o = { .by = MLB_METER_BY_MODEL };
	struct mlb_config *cfg;
	struct mlb_meter *m;
	struct mlb_view *view = NULL;
	struct mlb_prices *prices = NULL;
	const char *session = NULL, *project = NULL;
	int c, report = 0, all = 0, status;
	static const char *const keys[] = { "model", "pane", "session", "day", "week", "month", "provider", "project" };

	mlb_cli_init(argc, argv, usage);
	while ((c = getopt_long(argc, argv, ":hs:", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_BUDGET:
			if ((o.budget = amount(optarg)) < 0)
				mlb_usage_error("--budget takes an amount in USD, such as 0.05, not '%s'", optarg);
			break;
		case OPT_WARN:
			if ((o.warn = amount(optarg)) < 0 || o.warn > 1)
				mlb_usage_error("--warn takes a share of the budget above 0 and up to 1, such as 0.8, not '%s'",
						optarg);
			break;
		case OPT_BY:
			for (c = 0; c < (int)(sizeof(keys) / sizeof(*keys)) && strcmp(optarg, keys[c]); c++)
				;
			if (c == (int)(sizeof(keys) / sizeof(*keys)))
				mlb_usage_error("--by takes pane, model, session, day, week, month, provider or project, not '%s'",
						optarg);
			o.by = (enum mlb_meter_by)c;
			break;
		case OPT_INTERVAL:
			if ((o.interval = mlb_parse_seconds(optarg)) <= 0)
				mlb_usage_error("--interval takes a number of seconds, such as 5 or 0.5, not '%s'", optarg);
			break;
		case OPT_REPORT:
			report = 1;
			break;
		case OPT_PRICES:
			o.prices_file = optarg;
			break;
		case 's':
			session = optarg;
			break;
		case OPT_PROJECT:
			project = mlb_cli_project(optarg);
			if (!*project)
				mlb_usage_error("--project needs a project's name");
			break;
		case OPT_ALL:
			all = 1;
			break;
		case OPT_SINCE:
			o.since = day("--since", optarg);
			break;
		case OPT_UNTIL:
			o.until = day("--until", optarg);
			break;
		default:
			mlb_cli_option(c);
		}
	}
	if (optind < argc)
		mlb_usage_error("unexpected argument '%s': events come on stdin, a stored session with -s", argv[optind]);
	if (o.warn > 0 && o.budget <= 0)
		mlb_usage_error("--warn needs --budget");
	if (!!session + !!project + all > 1)
		mlb_usage_error("-s meters one session, --project the sessions of a project, --all every session; give one");
	if (o.since && o.until && strcmp(o.since, o.until) > 0)
		mlb_usage_error("--since %s is after --until %s: nothing could be metered", o.since, o.until);
	if (!session && !project && !all && (o.since || o.until || o.by > MLB_METER_BY_SESSION))
		mlb_usage_error("--since, --until and --by day|week|month|provider|project are for stored replies: "
				"add -s <session>, --project <name> or --all");
	if (all && o.interval > 0)
		mlb_usage_error("--interval is for a stream of events, not stored sessions (--all)");
	if (project && o.interval > 0)
		mlb_usage_error("--interval is for a stream of events, not a project's sessions (--project)");
	if (session && o.interval > 0)
		mlb_usage_error("--interval is for a stream of events, not a stored session (-s)");
	if (!session && !project && !all && isatty(STDIN_FILENO))
		mlb_usage_error("no events on stdin: pipe them in (mlb-send ... | mlb-meter) or name a session with -s");

	/* Events in a pipe, the table on a terminal; --report adds the table on stderr to the events. */
	o.events = mlb_cli_json();
	if (!o.events) {
		o.report = stdout;
		o.color = mlb_cli_color();
	} else if (report) {
		o.report = stderr;
		o.color = mlb_term_color(STDERR_FILENO);
	}
	cfg = mlb_config_load();
	if (!cfg)
		return MLB_EXIT_FAIL;
	o.cfg = cfg;
	if (!session && !project && !all && !o.events && mlb_cli_tty()) {
		/* The end of a pipeline owns the terminal: it draws the replies it reads (doc/decisions.md). */
		view = mlb_view_new(0, NULL, NULL, o.color);
		prices = mlb_prices_default(cfg);
		mlb_view_prices(view, prices);
		o.watch = mlb_view_event;
		o.tick = mlb_view_tick;
		o.watch_ctx = view;
		o.report = NULL;
	}
	m = mlb_meter_new(&o);
	if (!m) {
		mlb_config_free(cfg);
		return MLB_EXIT_FAIL;
	}
	status = session ? mlb_meter_from_session(m, session) : project ? mlb_meter_from_project(m, project)
		: all ? mlb_meter_from_all(m) : mlb_meter_filter(m, STDIN_FILENO);
	if (view) {
		if (mlb_view_finish(view, NULL))
			putchar('\n');
		mlb_meter_report(m, stdout, o.color);
		fflush(stdout);
		mlb_prices_free(prices);
	}
	mlb_meter_free(m);
	mlb_config_free(cfg);
	return mlb_cli_finish(status);
}
