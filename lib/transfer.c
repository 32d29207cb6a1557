#include "transfer.h"
#include "clock.h"
#include "event.h"
#include "msg.h"
#include "msgfile.h"
#include "sha256.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct mlb_provenance *finish(struct mlb_provenance *p)
{
	char ts[32], hash[72];

	mlb_now_rfc3339(ts);
	p->ts = mlb_xstrdup(ts);
	mlb_content_hash(p->content, strlen(p->content), hash);
	p->hash = mlb_xstrdup(hash);
	return p;
}

/* The last final or message event on stdin. */
static struct mlb_provenance *from_stdin(void)
{
	struct mlb_reader *r = mlb_reader_new(STDIN_FILENO, NULL);
	struct mlb_event_in ev;
	struct mlb_provenance *p = NULL;
	int n;

	if (isatty(STDIN_FILENO)) {
		mlb_reader_free(r);
		mlb_error("--from - reads events from stdin, but stdin is a terminal; pipe mlb-broadcast or mlb-send into it");
		return NULL;
	}
	while ((n = mlb_reader_next(r, &ev)) > 0) {
		const char *content = mlb_json_str(ev.obj, "content");
		long nul;

		if (strcmp(ev.type, "final") && strcmp(ev.type, "message"))
			continue;
		if (!content)
			continue;
		/* C strings end at a NUL: moving the text on would cut it there without a word */
		if ((nul = mlb_json_nul(ev.obj, "content")) >= 0) {
			mlb_error("--from -: line %ld: the content holds U+0000 (a NUL character) at byte %ld; "
				  "mlb does not send text with NULs: remove them, e.g. with jq '.content |= gsub(\"\\u0000\"; \"\")'",
				  ev.lineno, nul);
			mlb_provenance_free(p);
			mlb_reader_free(r);
			return NULL;
		}
		mlb_provenance_free(p);
		p = mlb_xcalloc(1, sizeof(*p));
		p->content = mlb_xstrdup(content);
		if (mlb_json_str(ev.obj, "session"))
			p->session = mlb_xstrdup(mlb_json_str(ev.obj, "session"));
		if (mlb_json_str(ev.obj, "pane"))
			p->pane = mlb_xstrdup(mlb_json_str(ev.obj, "pane"));
		if (mlb_json_str(ev.obj, "model"))
			p->model = mlb_xstrdup(mlb_json_str(ev.obj, "model"));
	}
	if (p)
		p->bad_lines = mlb_reader_errors(r);
	mlb_reader_free(r);
	if (!p)
		mlb_error("--from -: no final or message event with content on stdin");
	return p ? finish(p) : NULL;
}

static struct mlb_provenance *from_session(const char *session, const char *pane, long number)
{
	struct mlb_session *s;
	struct mlb_msgfile *msgs;
	size_t n;
	long pick = -1;
	struct mlb_provenance *p;
	json_object *info;

	if (mlb_session_open(session, 0, &s) < 0)
		return NULL;
	if (mlb_session_messages(s, pane, &msgs, &n) < 0) {
		mlb_session_close(s);
		return NULL;
	}
	if (number > 0) {
		pick = number <= (long)n ? number - 1 : -1;
	} else {
		for (size_t i = n; i-- > 0;) {
			const char *role = mlb_msgfile_get(&msgs[i], "Role");

			if (role && !strcmp(role, "assistant")) {
				pick = (long)i;
				break;
			}
		}
	}
	if (pick < 0) {
		if (number > 0)
			mlb_error("pane '%s' of session '%s' has no message %ld (it has %zu)", pane, session, number, n);
		else
			mlb_error("pane '%s' of session '%s' has no answer to take; 'mlb-session show %s' lists its messages",
				  pane, session, session);
		mlb_msgfiles_free(msgs, n);
		mlb_session_close(s);
		return NULL;
	}
	p = mlb_xcalloc(1, sizeof(*p));
	p->content = mlb_xstrndup(msgs[pick].content ? msgs[pick].content : "", msgs[pick].content_len);
	p->session = mlb_xstrdup(session);
	p->pane = mlb_xstrdup(pane);
	if (mlb_msgfile_get(&msgs[pick], "Model")) {
		p->model = mlb_xstrdup(mlb_msgfile_get(&msgs[pick], "Model"));
	} else {
		info = mlb_session_pane_info(s, pane);
		if (mlb_json_str(info, "model"))
			p->model = mlb_xstrdup(mlb_json_str(info, "model"));
		json_object_put(info);
	}
	mlb_msgfiles_free(msgs, n);
	mlb_session_close(s);
	return finish(p);
}

struct mlb_provenance *mlb_transfer_resolve(const char *spec, const char *current_session, int *usage)
{
	char *copy, *slash, *colon, *session, *pane;
	long number = 0;
	struct mlb_provenance *p;

	*usage = 0;
	if (!strcmp(spec, "-"))
		return from_stdin();
	copy = mlb_xstrdup(spec);
	slash = strchr(copy, '/');
	session = slash ? copy : (char *)current_session;
	pane = slash ? slash + 1 : copy;
	if (slash)
		*slash = '\0';
	colon = strchr(pane, ':');
	if (colon) {
		char *end;

		*colon = '\0';
		number = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end || number < 1) {
			mlb_error("--from '%s': the message number after ':' must be 1 or more", spec);
			*usage = 1;
			free(copy);
			return NULL;
		}
	}
	if (!session) {
		mlb_error("--from '%s' names a pane but no session; use -s <id>, -c, or --from <session>/<pane>", spec);
		*usage = 1;
		free(copy);
		return NULL;
	}
	if (!mlb_session_id_valid(session) || !mlb_pane_name_valid(pane)) {
		mlb_error("--from '%s': invalid session or pane name; " MLB_NAME_RULE, spec);
		*usage = 1;
		free(copy);
		return NULL;
	}
	p = from_session(session, pane, number);
	free(copy);
	return p;
}
