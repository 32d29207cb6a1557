#include <stdio.h>
#include "cli.h"
#include "msg.h"
#include "term.h"

#include <json-c/json.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.h"
#include "store.h"

#ifndef MLB_VERSION
#define MLB_VERSION "0.0.0"
#endif

static const char *usage_text = "";
static int output_mode = -1;	/* -1 not chosen, 0 text, 1 json */
static char **cli_argv;
static int cli_argc;

void mlb_cli_init(int argc, char **argv, const char *usage)
{
	cli_argc = argc;
	cli_argv = argv;
	mlb_set_progname(argv[0]);
	usage_text = usage;
	/*
	 * Events are flushed as they are due (after each round of network
	 * reads, or when input runs dry), so the buffer's size only sets how
	 * many write(2)s a burst costs: stdio's default for a pipe is 4 KiB.
	 */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, (size_t)64 << 10);
	/* A closed pipe must be an error we can report and clean up after, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	/* Costs and rates read better as 0.000123 than as 0.00012299999999999998. */
	json_c_set_serialization_double_format("%.10g", JSON_C_OPTION_GLOBAL);
	/* Say which option was bad ourselves, in our own style. */
	opterr = 0;
}

void mlb_usage(FILE *f)
{
	fputs(usage_text, f);
}

void mlb_usage_error(const char *fmt, ...)
{
	va_list ap;

	/* The one line that names the problem stays in sight; the usage is a --help away. */
	va_start(ap, fmt);
	mlb_vreport("", fmt, ap);
	va_end(ap);
	fprintf(stderr, "try '%s --help'\n", mlb_progname);
	exit(MLB_EXIT_USAGE);
}

/* The long options the usage text names ("--model", ...), for "did you mean". */
static size_t usage_options(char ***out)
{
	const char *p = usage_text;
	char **v = NULL;
	size_t n = 0;

	while ((p = strstr(p, "--"))) {
		size_t len = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz0123456789-");

		if (len > 0 && (p == usage_text || p[-1] == ' ' || p[-1] == '[' || p[-1] == '|' || p[-1] == ',')) {
			v = mlb_xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = mlb_xasprintf("--%.*s", (int)len, p + 2);
		}
		p += 2 + len;
	}
	*out = v;
	return n;
}

/* "unknown option '--modle' (did you mean '--model'?)" */
static _Noreturn void unknown_long(const char *arg)
{
	char **opts, *word = mlb_xstrdup(arg), *eq = strchr(word, '=');
	size_t n = usage_options(&opts);
	const char *near;

	if (eq)
		*eq = '\0';
	near = mlb_nearest(word, (const char *const *)opts, n);
	if (near)
		mlb_usage_error("unknown option '%s' (did you mean '%s'?)", word, near);
	mlb_usage_error("unknown option '%s'", arg);
}

void mlb_usage_unknown(const char *what, const char *word, const char *const *known, size_t n)
{
	const char *near = mlb_nearest(word, known, n);

	if (near)
		mlb_usage_error("unknown %s '%s' (did you mean '%s'?)", what, word, near);
	mlb_usage_error("unknown %s '%s'", what, word);
}

/* The argument getopt_long just stumbled on (it leaves optopt 0 for long options). */
static const char *offending(void)
{
	if (optind > 0 && optind <= cli_argc && cli_argv[optind - 1])
		return cli_argv[optind - 1];
	return "?";
}

int mlb_cli_option(int c)
{
	switch (c) {
	case 'h':
		mlb_usage(stdout);
		exit(mlb_cli_finish(MLB_EXIT_OK));
	case MLB_OPT_VERSION:
		printf("%s %s\n", mlb_progname, MLB_VERSION);
		exit(mlb_cli_finish(MLB_EXIT_OK));
	case MLB_OPT_JSON:
		output_mode = 1;
		return 1;
	case MLB_OPT_TEXT:
		output_mode = 0;
		return 1;
	case ':':
		if (optopt && optopt < 0x100)
			mlb_usage_error("option '-%c' needs a value", optopt);
		mlb_usage_error("option '%s' needs a value", offending());
	case '?':
		if (optopt && optopt < 0x100)
			mlb_usage_error("unknown option '-%c'", optopt);
		if (!strncmp(offending(), "--", 2))
			unknown_long(offending());
		mlb_usage_error("unknown option '%s'", offending());
	}
	return 0;
}

int mlb_cli_tty(void)
{
	static int tty = -1;

	if (tty < 0)
		tty = isatty(STDOUT_FILENO);
	return tty;
}

int mlb_cli_json(void)
{
	if (output_mode < 0)
		return !mlb_cli_tty();
	return output_mode;
}

int mlb_cli_stderr_apart(void)
{
	struct stat a, b;

	if (fstat(STDOUT_FILENO, &a) < 0 || fstat(STDERR_FILENO, &b) < 0)
		return 1;
	/* mlb-broadcast | mlb-meter on a terminal: the meter shows the failure in its view */
	if (S_ISFIFO(a.st_mode) && isatty(STDERR_FILENO))
		return 0;
	return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

int mlb_cli_json_asked(void)
{
	return output_mode == 1;
}

int mlb_cli_color(void)
{
	return !mlb_cli_json() && mlb_term_color(STDOUT_FILENO);
}

int mlb_cli_finish(int status)
{
	int err = 0;
	struct stat st;

	mlb_event_flush();	/* the token lines still waiting, and the event output */
	if (fflush(stdout) == EOF)
		err = errno;
	else if (ferror(stdout))
		err = mlb_event_errno();	/* an earlier write failed; errno is long gone */
	if (!err && !ferror(stdout))
		return status;
	/* The reader went away (a closed pipe): not our failure, and nobody to tell. */
	if (err == EPIPE || (!err && fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode)))
		return status;
	mlb_error("cannot write output: %s", err ? strerror(err) : "write error");
	return status ? status : MLB_EXIT_FAIL;
}

double mlb_parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0)
		return -1;
	return v;
}

long mlb_parse_long(const char *s, long min, long max, int *ok)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	*ok = !(errno || end == s || *end || v < min || v > max);
	return *ok ? v : -1;
}

const char *mlb_cli_project(const char *arg)
{
	if (*arg && !mlb_session_id_valid(arg))
		mlb_usage_error("invalid project name '%s': %s", arg, MLB_NAME_RULE);
	return arg;
}
