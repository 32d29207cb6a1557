/*
 * mlb - run an mlb tool by its short name, as git runs its commands:
 * "mlb send ..." runs mlb-send, found beside mlb itself and then on PATH.
 */
#include "cli.h"
#include "msg.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: mlb <command> [<args>...]\n"
	"       mlb help [<command>]\n"
	"\n"
	"commands:\n"
	"  send        send a prompt to one model and stream the reply\n"
	"  broadcast   send one prompt to many models at once\n"
	"  diff        compare two answers\n"
	"  summarize   summarize several answers with a model\n"
	"  meter       add up tokens, cost and latency; enforce a budget\n"
	"  pipeline    run a pipeline template of prompts and models\n"
	"  session     list, show, search and manage sessions\n"
	"  models      list the models the configured providers offer\n"
	"\n"
	"  -h, --help     show this help\n"
	"      --version  show the version\n"
	"\n"
	"'mlb help <command>' shows the help of a command; 'man mlb-<command>' its manual.\n";

static const char *const commands[] = {
	"send", "broadcast", "diff", "summarize", "meter", "pipeline", "session", "models", NULL
};

static int known(const char *cmd)
{
	for (const char *const *c = commands; *c; c++)
		if (!strcmp(*c, cmd))
			return 1;
	return 0;
}

static _Noreturn void not_command(const char *cmd)
{
	const char *near = mlb_nearest(cmd, commands, sizeof(commands) / sizeof(commands[0]) - 1);

	if (near)
		mlb_usage_error("'%s' is not an mlb command (did you mean '%s'?)", cmd, near);
	mlb_usage_error("'%s' is not an mlb command; 'mlb help' lists them", cmd);
}

/* Run mlb-<cmd> from the directory of this binary, else from PATH. */
static _Noreturn void run(const char *cmd, char **argv)
{
	char self[PATH_MAX], *prog = mlb_xasprintf("mlb-%s", cmd);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	argv[0] = prog;
	if (n > 0) {
		char *slash, *path;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			path = mlb_xasprintf("%s/%s", self, prog);
			if (access(path, X_OK) == 0)
				execv(path, argv);
			free(path);
		}
	}
	execvp(prog, argv);
	mlb_die(MLB_EXIT_FAIL, "cannot run '%s': %s", prog, strerror(errno));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { MLB_COMMON_LONGOPTS, { 0 } };
	int c;

	mlb_cli_init(argc, argv, usage);
	/* Stop at the command: its options are its own. */
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1)
		mlb_cli_option(c);
	if (optind >= argc) {
		mlb_error("no command given");
		mlb_usage(stderr);
		return MLB_EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "help")) {
		if (optind + 1 >= argc) {
			mlb_usage(stdout);
			return mlb_cli_finish(MLB_EXIT_OK);
		}
		if (!known(argv[optind + 1]))
			not_command(argv[optind + 1]);
		char *help_argv[] = { NULL, "--help", NULL };
		run(argv[optind + 1], help_argv);
	}
	if (!known(argv[optind]))
		not_command(argv[optind]);
	run(argv[optind], argv + optind);
}
