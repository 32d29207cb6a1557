/*
 * mlb-broadcast - send one prompt to many models at once.
 */
#include "cli.h"
#include "msg.h"

static const char usage[] =
	"usage: mlb-broadcast -m <model> [-m <model>]... [-g <group>] [-s <session>] [-S <system>]\n"
	"                     [-o <key=value>]... [--panes <name,...>] [--first | --quorum <n>]\n"
	"                     [--deadline <seconds>] [--budget <usd>] [--no-store] [--json|--text] [<prompt>...]\n"
	"\n"
	"Send one prompt to many models at once.\n"
	"\n"
	"  -m, --model <provider:model> a model to ask (repeatable; else MLB_MODELS)\n"
	"  -g, --group <group>          the models of a config group\n"
	"  -s, --session <id>           the session to continue\n"
	"  -S, --system <text>          a system prompt\n"
	"  -o, --option <key=value>     a request option, e.g. temperature=0.2\n"
	"      --panes <name,...>       pane names, one per model\n"
	"      --first                  stop when the first model finishes\n"
	"      --quorum <n>             stop when n models finished\n"
	"      --deadline <seconds>     cancel what still runs after this\n"
	"      --budget <usd>           refuse or stop beyond this cost\n"
	"      --no-store               do not store the turn\n"
	"  -h, --help                   show this help\n"
	"      --version                show the version\n"
	"      --json                   write events (default in a pipe)\n"
	"      --text                   write text for a person (default on a terminal)\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		{ "model", required_argument, NULL, 'm' },
		{ "group", required_argument, NULL, 'g' },
		{ "session", required_argument, NULL, 's' },
		{ "system", required_argument, NULL, 'S' },
		{ "option", required_argument, NULL, 'o' },
		{ "panes", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 5 },
		{ "first", no_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 6 },
		{ "quorum", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 7 },
		{ "deadline", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 8 },
		{ "budget", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 9 },
		{ "no-store", no_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 10 },
		{ 0 }
	};
	int c;

	mlb_cli_init(argc, argv, usage);
	while ((c = getopt_long(argc, argv, ":hm:g:s:S:o:", longopts, NULL)) != -1)
		mlb_cli_option(c);
	mlb_die(MLB_EXIT_FAIL, "not implemented yet");
}
