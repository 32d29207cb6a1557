/*
 * mlb-session - list, show, search and manage sessions.
 */
#include "cli.h"
#include "msg.h"

static const char usage[] =
	"usage: mlb-session ls [--json]\n"
	"       mlb-session show <id> [--json|--text]\n"
	"       mlb-session log <id>\n"
	"       mlb-session grep <pattern>\n"
	"       mlb-session fork <id> <new-id> [--at <commit>]\n"
	"       mlb-session restore <id> <commit>\n"
	"       mlb-session export <id> [<file>]\n"
	"       mlb-session import <file> [<id>]\n"
	"       mlb-session rm [-f] <id>\n"
	"       mlb-session name <id> <text>\n"
	"\n"
	"List, show, search and manage sessions.\n"
	"\n"
	"      --at <commit>            fork from this commit\n"
	"  -f, --force                  do not ask before removing\n"
	"  -h, --help                   show this help\n"
	"      --version                show the version\n"
	"      --json                   write events (default in a pipe)\n"
	"      --text                   write text for a person (default on a terminal)\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		{ "at", required_argument, NULL, MLB_OPT_FIRST_TOOL_OPTION + 0 },
		{ "force", no_argument, NULL, 'f' },
		{ 0 }
	};
	int c;

	mlb_cli_init(argc, argv, usage);
	while ((c = getopt_long(argc, argv, ":hf", longopts, NULL)) != -1)
		mlb_cli_option(c);
	mlb_die(MLB_EXIT_FAIL, "not implemented yet");
}
