/*
 * mlb-meter - add up tokens, cost and latency; enforce a budget.
 */
#include "cli.h"
#include "msg.h"

static const char usage[] =
	"usage: mlb-meter [--budget <usd>] [--warn <fraction>] [--by pane|model|session] [--interval <seconds>]\n"
	"                 [--report] [--prices <file>] [-s <session>] [--json|--text]\n"
	"\n"
	"Add up tokens, cost and latency; enforce a budget.\n"
	"\n"
	"      --budget <usd>           stop at this cost (exit 4)\n"
	"      --warn <fraction>        warn at this share of the budget (0.8)\n"
	"      --by <key>               aggregate by pane, model or session\n"
	"      --interval <seconds>     emit aggregates this often\n"
	"      --report                 print a table at the end\n"
	"      --prices <file>          an extra price table\n"
	"  -s, --session <id>           the cost of a stored session\n"
	"  -h, --help                   show this help\n"
	"      --version                show the version\n"
	"      --json                   write events (default in a pipe)\n"
	"      --text                   write text for a person (default on a terminal)\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		{ "budget", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 0 },
		{ "warn", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 1 },
		{ "by", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 2 },
		{ "interval", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 3 },
		{ "report", no_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 4 },
		{ "prices", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 5 },
		{ "session", required_argument, NULL, 's' },
		{ 0 }
	};
	int c;

	mlb_cli_init(argc, argv, usage);
	while ((c = getopt_long(argc, argv, ":hs:", longopts, NULL)) != -1)
		mlb_cli_option(c);
	mlb_die(MLB_EXIT_FAIL, "not implemented yet");
}
