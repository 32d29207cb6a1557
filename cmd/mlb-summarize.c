/*
 * mlb-summarize - summarize several answers with a chosen model.
 */
#include "cli.h"
#include "msg.h"

static const char usage[] =
	"usage: mlb-summarize [-m <model>] [--format executive|technical|bullet] [-s <session>] [--json|--text] [<pane>...]\n"
	"\n"
	"Summarize several answers with a chosen model.\n"
	"\n"
	"  -m, --model <provider:model> the model that summarizes\n"
	"      --format <format>        executive, technical or bullet\n"
	"  -s, --session <id>           the session to read and store in\n"
	"  -h, --help                   show this help\n"
	"      --version                show the version\n"
	"      --json                   write events (default in a pipe)\n"
	"      --text                   write text for a person (default on a terminal)\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		{ "model", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 1 },
		{ "session", required_argument, NULL, 's' },
		{ 0 }
	};
	int c;

	mlb_cli_init(argc, argv, usage);
	while ((c = getopt_long(argc, argv, ":hm:s:", longopts, NULL)) != -1)
		mlb_cli_option(c);
	mlb_die(MLB_EXIT_FAIL, "not implemented yet");
}
