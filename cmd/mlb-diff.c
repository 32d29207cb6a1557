/*
 * mlb-diff - compare two answers, word by word.
 */
#include "cli.h"
#include "compare.h"
#include "msg.h"
#include "store.h"

#include <stdlib.h>
#include <unistd.h>

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
	"      --all                    compare every pair of answers (final events, or -s's panes)\n"
	"      --against <pane>         compare each answer with this pane's\n"
	"      --follow                 compare again while tokens stream in\n"
	"      --unified                a line diff on a terminal\n"
	"  -h, --help                   show this help\n"
	"      --version                show the version\n"
	"      --json                   write events (default in a pipe)\n"
	"      --text                   write text for a person (default on a terminal)\n";

enum {
	OPT_WORDS = MLB_OPT_FIRST_TOOL_OPTION + 1,
	OPT_LINES,
	OPT_CHARS,
	OPT_ALL,
	OPT_AGAINST,
	OPT_FOLLOW,
	OPT_UNIFIED
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		{ "session", required_argument, NULL, 's' },
		{ "words", no_argument, NULL, OPT_WORDS },
		{ "lines", no_argument, NULL, OPT_LINES },
		{ "chars", no_argument, NULL, OPT_CHARS },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "against", required_argument, NULL, OPT_AGAINST },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "unified", no_argument, NULL, OPT_UNIFIED },
		{ 0 }
	};
	struct mlb_compare_opts o = { .unit = MLB_DIFF_WORDS, .pairs = MLB_COMPARE_FIRST };
	const char *session = NULL, *env;
	int c, all = 0;

	mlb_cli_init(argc, argv, usage);
	while ((c = getopt_long(argc, argv, ":hs:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': session = optarg; break;
		case OPT_WORDS: o.unit = MLB_DIFF_WORDS; break;
		case OPT_LINES: o.unit = MLB_DIFF_LINES; break;
		case OPT_CHARS: o.unit = MLB_DIFF_CHARS; break;
		case OPT_ALL: all = 1; break;
		case OPT_AGAINST: o.against = optarg; break;
		case OPT_FOLLOW: o.follow = 1; break;
		case OPT_UNIFIED: o.unified = 1; break;
		default: mlb_cli_option(c);
		}
	}
	if (all && o.against)
		mlb_usage_error("--all and --against cannot be used together");
	if (o.against && !*o.against)
		mlb_usage_error("--against needs a pane name");
	o.pairs = all ? MLB_COMPARE_ALL : o.against ? MLB_COMPARE_AGAINST : MLB_COMPARE_FIRST;
	o.json = mlb_cli_json();
	o.color = mlb_cli_color();
	o.redraw = o.follow && !o.json && mlb_cli_tty();

	if (argc - optind == 2) {
		const char *a = argv[optind], *b = argv[optind + 1];

		if (all || o.against || o.follow)
			mlb_usage_error("%s compares final events from stdin, not two panes",
					all ? "--all" : o.against ? "--against" : "--follow");
		env = getenv("MLB_SESSION");
		if (!session && env && *env)
			session = env;
		if (!session)
			mlb_usage_error("name the session with -s");
		if (mlb_session_id_check(session) < 0)
			return MLB_EXIT_USAGE;
		if (!mlb_pane_name_valid(a) || !mlb_pane_name_valid(b))
			mlb_usage_error("invalid pane name '%s': " MLB_NAME_RULE,
					mlb_pane_name_valid(a) ? b : a);
		return mlb_cli_finish(mlb_compare_session(&o, session, a, b));
	}
	if (argc - optind != 0)
		mlb_usage_error("name two panes to compare, or none to read final events from stdin");
	if (session && (all || o.against) && !o.follow) {
		if (mlb_session_id_check(session) < 0)
			return MLB_EXIT_USAGE;
		return mlb_cli_finish(mlb_compare_session_panes(&o, session));
	}
	if (session)
		mlb_usage_error("-s needs two panes to compare, or --all or --against <pane>");
	if (isatty(STDIN_FILENO))
		mlb_usage_error("no input: name two panes, or pipe final events in");
	return mlb_cli_finish(mlb_compare_stream(&o, STDIN_FILENO));
}
