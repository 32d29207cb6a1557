/*
 * mlb-pipeline - run pipeline templates of prompts and models.
 */
#include "cli.h"
#include "msg.h"

static const char usage[] =
	"usage: mlb-pipeline run <file|name> [--var <k=v>]... [-s <session>] [--budget <usd>] [--dry-run]\n"
	"                     [--lock] [--log <file>] [--json|--text]\n"
	"       mlb-pipeline validate|show <file|name>\n"
	"       mlb-pipeline list\n"
	"       mlb-pipeline save --from-session <id> --name <name>\n"
	"       mlb-pipeline export <name> | import <file>\n"
	"\n"
	"Run pipeline templates of prompts and models.\n"
	"\n"
	"      --var <k=v>              set a template variable\n"
	"  -s, --session <id>           the session to store in\n"
	"      --budget <usd>           refuse or stop beyond this cost\n"
	"      --dry-run                print prompts and order, send nothing\n"
	"      --lock                   refuse to start while the template runs\n"
	"      --log <file>             append every event to file\n"
	"      --from-session <id>      the session to turn into a template\n"
	"      --name <name>            the name of the saved template\n"
	"  -h, --help                   show this help\n"
	"      --version                show the version\n"
	"      --json                   write events (default in a pipe)\n"
	"      --text                   write text for a person (default on a terminal)\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		{ "var", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 0 },
		{ "session", required_argument, NULL, 's' },
		{ "budget", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 2 },
		{ "dry-run", no_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 3 },
		{ "lock", no_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 4 },
		{ "log", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 5 },
		{ "from-session", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 6 },
		{ "name", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 7 },
		{ 0 }
	};
	int c;

	mlb_cli_init(argc, argv, usage);
	while ((c = getopt_long(argc, argv, ":hs:", longopts, NULL)) != -1)
		mlb_cli_option(c);
	mlb_die(MLB_EXIT_FAIL, "not implemented yet");
}
