/*
 * mlb-diff - compare two answers, word by word.
 */
#include "cli.h"
#include "msg.h"

static const char usage[] =
	"usage: mlb-diff [-s <session>] [<pane-a> <pane-b>] [--words|--lines|--chars]\n"
	"                [--all | --against <pane>] [--follow] [--unified] [--json|--text]\n"
	"\n"
	"Compare two answers, word by word.\n"
	"\n"
	"  -s, --session <id>           the session holding the panes\n"
	"      --words                  compare words (default)\n"
	"      --lines                  compare lines\n"
	"      --chars                  compare characters\n"
	"      --all                    compare every pair of final events\n"
	"      --against <pane>         compare each final event with this pane\n"
	"      --follow                 compare again while tokens stream in\n"
	"      --unified                a line diff on a terminal\n"
	"  -h, --help                   show this help\n"
	"      --version                show the version\n"
	"      --json                   write events (default in a pipe)\n"
	"      --text                   write text for a person (default on a terminal)\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		{ "session", required_argument, NULL, 's' },
		{ "words", no_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 1 },
		{ "lines", no_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 2 },
		{ "chars", no_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 3 },
		{ "all", no_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 4 },
		{ "against", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 5 },
		{ "follow", no_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 6 },
		{ "unified", no_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 7 },
		{ 0 }
	};
	int c;

	mlb_cli_init(argc, argv, usage);
	while ((c = getopt_long(argc, argv, ":hs:", longopts, NULL)) != -1)
		mlb_cli_option(c);
	mlb_die(MLB_EXIT_FAIL, "not implemented yet");
}
