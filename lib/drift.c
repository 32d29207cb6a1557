#include "drift.h"
#include "cli.h"
#include "compare.h"
#include "config.h"
#include "event.h"
#include "msg.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

static void report(const char *live, const char *pane, const char *model, int pass, const char *why)
{
	struct mlb_tag tag = { live, pane, model, NULL };
	json_object *ev;

	if (!mlb_cli_json()) {
		printf("%s %s (%s): %s\n", pass ? "ok  " : "FAIL", pane, model ? model : "?", why);
		return;
	}
	ev = mlb_event_new("assert", &tag);
	mlb_json_set_str(ev, "check", "drift");
	mlb_json_set_bool(ev, "pass", pass);
	mlb_json_set_str(ev, "why", why);
	mlb_event_write(ev);
}

int mlb_drift(const char *recorded, const char *live, double min)
{
	struct mlb_session *a = NULL, *b = NULL;
	char **panes = NULL;
	size_t n = 0, failed = 0, missing = 0, compared = 0;
	int status = MLB_EXIT_FAIL;

	if (!mlb_session_exists(recorded) || !mlb_session_exists(live)) {
		mlb_error("no session '%s'", mlb_session_exists(recorded) ? live : recorded);
		return MLB_EXIT_FAIL;
	}
	if (mlb_session_open(recorded, 0, &a) < 0 || mlb_session_open(live, 0, &b) < 0 ||
	    mlb_session_panes(a, &panes, &n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct mlb_answer x = { 0 }, y = { 0 };
		struct mlb_diff d = { 0 };
		char *why;

		if (mlb_compare_load_answer(a, panes[i], &x) < 0)
			continue;	/* no answer was recorded there: nothing to compare */
		if (mlb_compare_load_answer(b, panes[i], &y) < 0) {
			why = mlb_xasprintf("no answer in '%s' to compare with the recording", live);
			report(live, panes[i], x.model, 0, why);
			free(why);
			missing++;
		} else if (mlb_compare_diff(x.text, x.len, y.text, y.len, MLB_DIFF_WORDS, &d) < 0) {
			mlb_error("out of memory comparing pane '%s'", panes[i]);
			missing++;
		} else {
			int pass = d.similarity >= min;

			why = mlb_xasprintf("similarity %.3f to the recording, the least allowed is %.3f", d.similarity, min);
			report(live, panes[i], y.model, pass, why);
			free(why);
			failed += !pass;
			compared++;
		}
		mlb_diff_free(&d);
		free((char *)x.text);
		free((char *)x.model);
		free((char *)y.text);
		free((char *)y.model);
	}
	mlb_note("drift: %zu answers compared, %zu below %.3f, %zu missing from '%s'", compared, failed, min, missing, live);
	status = failed ? MLB_EXIT_CHECK : missing ? MLB_EXIT_PARTIAL : compared ? MLB_EXIT_OK : MLB_EXIT_FAIL;
out:
	mlb_strv_free(panes);
	mlb_session_close(b);
	mlb_session_close(a);
	return status;
}
