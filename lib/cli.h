/*
 * cli.h - command-line behaviour shared by every tool.
 *
 * -h/--help prints the usage to stdout and exits 0; --version prints the
 * version; a bad flag prints one line naming it (with the nearest option the
 * usage knows) and "try '<tool> --help'" to stderr and exits 2.  --json and
 * --text choose the output; the default is text on a terminal and events in
 * a pipe.  Colour only on a terminal, and never when NO_COLOR is set.
 * Tools end with mlb_cli_finish(), which checks that stdout was written.
 */
#ifndef MLB_CLI_H
#define MLB_CLI_H

#include <getopt.h>
#include <stdio.h>

enum {
	MLB_OPT_VERSION = 0x1000,
	MLB_OPT_JSON,
	MLB_OPT_TEXT,
	MLB_OPT_FIRST_TOOL_OPTION	/* tools number their long-only options from here */
};

/* The long options every tool accepts; put it first in each tool's table. */
#define MLB_COMMON_LONGOPTS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, MLB_OPT_VERSION }, \
	{ "json", no_argument, NULL, MLB_OPT_JSON }, \
	{ "text", no_argument, NULL, MLB_OPT_TEXT }

/* Set the tool's name and usage text, ignore SIGPIPE; call first in main(). */
void mlb_cli_init(int argc, char **argv, const char *usage);

/* Handle an option getopt_long returned if it is a common one: 1 if handled.
 * Optstrings must start with ":" so that a missing value is told apart.
 * Exits for --help, --version and unknown options or missing arguments. */
int mlb_cli_option(int c);

/* Report a usage problem in one line on stderr, then "try '<tool> --help'"; exit 2. */
_Noreturn void mlb_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "unknown <what> '<word>' (did you mean '<nearest of known>'?)" as a usage error. */
_Noreturn void mlb_usage_unknown(const char *what, const char *word, const char *const *known, size_t n);

/* Print the usage text to f. */
void mlb_usage(FILE *f);

/* Whether events (1) or text for a person (0) go to stdout. */
int mlb_cli_json(void);

/* Whether stderr is another file than stdout (not 2>&1), and not the terminal of a
 * pipeline whose last tool draws there: then a failure that an event tells on
 * stdout is told on stderr too, for whoever keeps only stderr (cron's 2>>file). */
int mlb_cli_stderr_apart(void);

/* Whether --json was given: the reading commands print text unless asked for events. */
int mlb_cli_json_asked(void);

/* Whether to colour text: a terminal, text output, and no NO_COLOR. */
int mlb_cli_color(void);

/* Whether stdout is a terminal. */
int mlb_cli_tty(void);

/* Flush and check stdout: status, or 1 if writing failed (a full disk, a closed pipe is 0 for events). */
int mlb_cli_finish(int status);

/* The value of --project: a project name (the rules of session ids) or "" for none; a usage error otherwise. */
const char *mlb_cli_project(const char *arg);

/* Parse a non-negative number of seconds ("2", "0.5"); -1 if malformed. */
double mlb_parse_seconds(const char *s);

/* Parse a whole number in [min, max]; -1 with *ok = 0 if malformed. */
long mlb_parse_long(const char *s, long min, long max, int *ok);

#endif
