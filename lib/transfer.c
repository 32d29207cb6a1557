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

/* One stored message of a pane as a moved message, with its provenance. */
static struct mlb_provenance *moved(struct mlb_session *s, const char *session, const char *pane,
				    const struct mlb_msgfile *m)
{
	struct mlb_provenance *p = mlb_xcalloc(1, sizeof(*p));

	p->content = mlb_xstrndup(m->content ? m->content : "", m->content_len);
	p->session = mlb_xstrdup(session);
	p->pane = mlb_xstrdup(pane);
	if (mlb_msgfile_get(m, "Model")) {
		p->model = mlb_xstrdup(mlb_msgfile_get(m, "Model"));
	} else {
		json_object *info = mlb_session_pane_info(s, pane);

		if (mlb_json_str(info, "model"))
			p->model = mlb_xstrdup(mlb_json_str(info, "model"));
		json_object_put(info);
	}
	return finish(p);
}

/* Messages first..last (1-based) of a pane; first 0: its last answer; last -1: every
 * message but the system prompts.  A chain in the pane's order. */
static struct mlb_provenance *from_session(const char *session, const char *pane, long first, long last)
{
	struct mlb_session *s;
	struct mlb_msgfile *msgs;
	size_t n;
	struct mlb_provenance *head = NULL, **tail = &head;

	if (mlb_session_open(session, 0, &s) < 0)
		return NULL;
	if (mlb_session_messages(s, pane, &msgs, &n) < 0) {
		mlb_session_close(s);
		return NULL;
	}
	if (first == 0) {
		for (size_t i = n; i-- > 0;) {
			const char *role = mlb_msgfile_get(&msgs[i], "Role");

			if (role && !strcmp(role, "assistant")) {
				first = last = (long)i + 1;
				break;
			}
		}
		if (first == 0)
			mlb_error("pane '%s' of session '%s' has no answer to take; 'mlb-session show %s' lists its messages",
				  pane, session, session);
	} else if (last > (long)n) {
		mlb_error("pane '%s' of session '%s' has no message %ld (it has %zu)", pane, session, last, n);
		first = 0;
	}
	for (long i = first; first > 0 && i <= (last < 0 ? (long)n : last); i++) {
		const char *role = mlb_msgfile_get(&msgs[i - 1], "Role");

		if (last < 0 && role && !strcmp(role, "system"))
			continue;
		*tail = moved(s, session, pane, &msgs[i - 1]);
		tail = &(*tail)->next;
	}
	if (first > 0 && !head)
		mlb_error("pane '%s' of session '%s' has no message to take; 'mlb-session show %s' lists its messages",
			  pane, session, session);
	mlb_msgfiles_free(msgs, n);
	mlb_session_close(s);
	return head;
}

/* "<n>", "<a>-<b>" or "all" after the ':' of --from: 0 after a one-line error. */
static int parse_numbers(const char *spec, const char *what, long *first, long *last)
{
	char *end;

	if (!strcmp(what, "all")) {
		*first = 1;
		*last = -1;
		return 1;
	}
	*first = strtol(what, &end, 10);
	*last = *first;
	if (end != what && *end == '-' && end[1] >= '0' && end[1] <= '9') {
		const char *b = end + 1;

		*last = strtol(b, &end, 10);
	}
	if (end == what || *end || *first < 1 || *last < *first) {
		mlb_error("--from '%s': after ':' give a message number (1 or more), a range <a>-<b> with a <= b, or 'all'",
			  spec);
		return 0;
	}
	return 1;
}

struct mlb_provenance *mlb_transfer_resolve(const char *spec, const char *current_session, int *usage)
{
	char *copy, *slash, *colon, *session, *pane;
	long first = 0, last = 0;
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
		*colon = '\0';
		if (!parse_numbers(spec, colon + 1, &first, &last)) {
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
	p = from_session(session, pane, first, last);
	free(copy);
	return p;
}
