/*
 * mlb-models - list the models that the configured providers offer.
 */
#include "cli.h"
#include "event.h"
#include "models.h"
#include "msg.h"

#include <string.h>

static const char usage[] =
	"usage: mlb-models [--timeout <seconds>] [--json|--text] [<provider>...]\n"
	"\n"
	"List the models of every configured provider that has a key (or needs none),\n"
	"or of the providers named.\n"
	"\n"
	"      --timeout <s>        seconds to wait for each provider (15)\n"
	"  -h, --help               show this help\n"
	"      --version            show the version\n"
	"      --json               write one JSON object per model\n"
	"      --text               write provider:model lines (the default)\n";

enum { OPT_TIMEOUT = MLB_OPT_FIRST_TOOL_OPTION };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MLB_COMMON_LONGOPTS,
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ 0 }
	};
	struct mlb_config *cfg;
	double timeout = 15;
	int c, status;

	mlb_cli_init(argc, argv, usage);
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == OPT_TIMEOUT) {
			timeout = mlb_parse_seconds(optarg);
			if (timeout <= 0)
				mlb_usage_error("--timeout takes a number of seconds, not '%s'", optarg);
		} else {
			mlb_cli_option(c);
		}
	}
	cfg = mlb_config_load();
	if (!cfg)
		return MLB_EXIT_FAIL;
	for (int i = optind; i < argc; i++)
		if (!mlb_config_provider(cfg, argv[i])) {
			struct mlb_model m;
			char *spec = mlb_xasprintf("%s:x", argv[i]);

			mlb_model_resolve(cfg, spec, &m);	/* reports it, with a suggestion */
			free(spec);
			mlb_config_free(cfg);
			return MLB_EXIT_USAGE;
		}
	status = mlb_models_list(cfg, (const char *const *)argv + optind, (size_t)(argc - optind), timeout);
	mlb_config_free(cfg);
	return mlb_cli_finish(status);
}
