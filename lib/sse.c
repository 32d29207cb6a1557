/*
 * sse.c - incremental server-sent-events parser (see sse.h).
 *
 * The hot path is mlb_sse_feed(): it finds line endings with memchr and
 * hands each complete line straight from the caller's buffer to
 * take_line(), copying only the piece of a line that a feed leaves
 * unfinished.  Every byte is scanned a bounded number of times and every
 * buffer grows geometrically, so parsing is amortised O(n).
 */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_EVENT ((size_t)16 << 20)

/* A growable byte string, kept NUL-terminated (the event name and id reach callbacks as C strings). */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
};

struct mlb_sse {
	mlb_sse_cb cb;
	mlb_sse_lane lane;
	void *ctx;
	size_t max;		/* longest line and longest event data accepted */
	size_t limit;		/* max + 2: a buffer never needs more than that */
	struct sbuf line;	/* a line left unfinished by the previous feed */
	struct sbuf data;	/* data lines joined, each followed by \n */
	struct sbuf event;	/* event name; empty means "message" */
	struct sbuf id;		/* last event id; survives dispatch */
	/* The pending event's only data line so far, still in the caller's
	 * buffer: most events are one line, and dispatching it from there saves
	 * a copy.  Copied into data before the feed returns, or when a second
	 * data line comes. */
	const char *direct;
	size_t direct_len;
	int has_direct;
	int bom;		/* bytes of a leading BOM matched; 3 once decided */
	int cr_pending;		/* the last feed ended in CR: skip one LF */
	int err;		/* sticky non-zero result */
};

static const unsigned char bom_bytes[3] = { 0xEF, 0xBB, 0xBF };

/*
 * Make room for need bytes plus a NUL.  Doubling keeps appends amortised
 * O(1); limit (the most the parser will ever store) stops a 16 MiB event
 * from claiming 32 MiB.
 */
static int sbuf_reserve(struct sbuf *b, size_t need, size_t limit)
{
	size_t cap;
	char *np;

	if (need < b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap <= need && cap <= (size_t)-1 / 2)
		cap *= 2;
	if (cap > limit && limit > need)
		cap = limit;
	if (cap <= need)
		cap = need + 1;
	np = realloc(b->p, cap);
	if (!np)
		return MLB_SSE_NOMEM;
	b->p = np;
	b->cap = cap;
	return 0;
}

static int sbuf_add(struct sbuf *b, const char *s, size_t n, size_t limit)
{
	if (sbuf_reserve(b, b->len + n, limit))
		return MLB_SSE_NOMEM;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int sbuf_set(struct sbuf *b, const char *s, size_t n, size_t limit)
{
	b->len = 0;
	return sbuf_add(b, s, n, limit);
}

static void sbuf_free(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Hand the pending event to the callback and start the next one. */
static int dispatch(struct mlb_sse *p)
{
	int rc = 0;

	if (p->has_direct) {
		p->has_direct = 0;
		if (p->cb)
			rc = p->cb(p->ctx, p->event.len ? p->event.p : "message",
				   p->direct, p->direct_len, p->id.len ? p->id.p : "");
		p->event.len = 0;
		return rc;
	}
	/* The spec drops the event but still resets its name on an empty buffer. */
	if (p->data.len) {
		/* The last data line's \n is not part of the data. */
		p->data.p[--p->data.len] = '\0';
		if (p->cb)
			rc = p->cb(p->ctx, p->event.len ? p->event.p : "message",
				   p->data.p, p->data.len, p->id.len ? p->id.p : "");
	}
	p->data.len = 0;
	p->event.len = 0;
	return rc;
}

/* Append one data: value and its \n, refusing data longer than max. */
static int add_data(struct mlb_sse *p, const char *v, size_t n)
{
	/* The dispatched length excludes the final \n, hence len + n. */
	if (n > p->max || p->data.len > p->max - n)
		return MLB_SSE_TOO_LONG;
	if (sbuf_reserve(&p->data, p->data.len + n + 1, p->limit))
		return MLB_SSE_NOMEM;
	memcpy(p->data.p + p->data.len, v, n);
	p->data.len += n;
	p->data.p[p->data.len++] = '\n';
	p->data.p[p->data.len] = '\0';
	return 0;
}

/* The data line left in the caller's buffer goes into data: that buffer is about to go. */
static int keep_direct(struct mlb_sse *p)
{
	if (!p->has_direct)
		return 0;
	p->has_direct = 0;
	return add_data(p, p->direct, p->direct_len);
}

/*
 * Act on one complete line (without its ending); in_place when it lies in
 * the caller's buffer for the rest of this feed.
 */
static int process_line(struct mlb_sse *p, const char *s, size_t n, int in_place)
{
	const char *colon, *v;
	size_t name_len, vlen;
	int rc;

	if (n == 0)
		return dispatch(p);
	if (s[0] == ':')
		return 0;
	/* the usual line, with the first colon where memchr would find it */
	colon = n >= 5 && !memcmp(s, "data:", 5) ? s + 4 : memchr(s, ':', n);
	if (colon) {
		name_len = (size_t)(colon - s);
		v = colon + 1;
		vlen = n - name_len - 1;
		if (vlen && *v == ' ') {
			v++;
			vlen--;
		}
	} else {
		name_len = n;
		v = s + n;
		vlen = 0;
	}
	if (name_len == 4 && !memcmp(s, "data", 4)) {
		if (in_place && !p->has_direct && !p->data.len) {
			p->direct = v;	/* take_line checked n, and so vlen, against max */
			p->direct_len = vlen;
			p->has_direct = 1;
			return 0;
		}
		if ((rc = keep_direct(p)))
			return rc;
		return add_data(p, v, vlen);
	}
	if (name_len == 5 && !memcmp(s, "event", 5))
		return sbuf_set(&p->event, v, vlen, p->limit);
	/* An id with a NUL could not be sent back in Last-Event-ID. */
	if (name_len == 2 && !memcmp(s, "id", 2) && !memchr(v, '\0', vlen))
		return sbuf_set(&p->id, v, vlen, p->limit);
	return 0;	/* retry and unknown fields */
}

/* A line ended: complete any unfinished piece held from earlier feeds. */
static int take_line(struct mlb_sse *p, const char *s, size_t n)
{
	int rc;

	if (!p->line.len) {
		if (n > p->max)
			return MLB_SSE_TOO_LONG;
		return process_line(p, s, n, s != NULL);
	}
	if (n > p->max - p->line.len)
		return MLB_SSE_TOO_LONG;
	if (sbuf_add(&p->line, s, n, p->limit))
		return MLB_SSE_NOMEM;
	rc = process_line(p, p->line.p, p->line.len, 0);
	p->line.len = 0;
	return rc;
}

/* Keep the start of a line that the next feed will finish. */
static int hold(struct mlb_sse *p, const char *s, size_t n)
{
	/* Fail as soon as the line is known to be too long, not at its end. */
	if (n > p->max - p->line.len)
		return MLB_SSE_TOO_LONG;
	return sbuf_add(&p->line, s, n, p->limit);
}

/* Record a sticky error and drop what it left half-done. */
static int fail(struct mlb_sse *p, int rc)
{
	p->err = rc;
	p->line.len = 0;
	p->data.len = 0;
	p->event.len = 0;
	p->has_direct = 0;
	return rc;
}

/* Skip a UTF-8 BOM at the start of the stream, which may arrive split. */
static int skip_bom(struct mlb_sse *p, const char **sp, const char *end)
{
	const char *s = *sp;
	int matched;

	while (p->bom < 3 && s < end) {
		if ((unsigned char)*s != bom_bytes[p->bom]) {
			/* Not a BOM after all: the bytes held back belong to the line. */
			matched = p->bom;
			p->bom = 3;
			*sp = s;
			return hold(p, (const char *)bom_bytes, (size_t)matched);
		}
		p->bom++;
		s++;
	}
	*sp = s;
	return 0;
}

/* Where c next occurs in s[i..len), or len. */
static size_t find(const char *s, size_t i, size_t len, char c)
{
	const char *q = memchr(s + i, c, len - i);

	return q ? (size_t)(q - s) : len;
}

int mlb_sse_feed(struct mlb_sse *p, const char *buf, size_t len)
{
	const char *s = buf, *end = buf + len;
	size_t i, cr, lf, eol;
	int rc;

	if (p->err)
		return p->err;
	if (!len)
		return 0;
	if (p->bom < 3 && (rc = skip_bom(p, &s, end)))
		return fail(p, rc);
	if (p->cr_pending && s < end) {
		p->cr_pending = 0;
		if (*s == '\n')
			s++;
	}
	buf = s;
	len = (size_t)(end - s);
	/*
	 * Cache the next CR and the next LF and search again only once the
	 * scan has passed them: a stream without CR is searched for CR once.
	 */
	i = 0;
	cr = find(buf, 0, len, '\r');
	lf = find(buf, 0, len, '\n');
	for (;;) {
		if (p->lane && i < len && !p->line.len && !p->data.len && !p->has_direct && !p->event.len) {
			size_t used = 0;

			/* Capped so that what the lane takes is no longer than the parser allows. */
			if ((rc = p->lane(p->ctx, buf + i, len - i < p->limit ? len - i : p->limit,
					  p->id.len ? p->id.p : "", &used)))
				return fail(p, rc);
			if (used) {
				i += used;
				continue;
			}
		}
		if (cr < i)
			cr = find(buf, i, len, '\r');
		/* the blank line after each event needs no search */
		if (lf < i)
			lf = i < len && buf[i] == '\n' ? i : find(buf, i, len, '\n');
		eol = cr < lf ? cr : lf;
		if (eol == len)
			break;
		if ((rc = take_line(p, buf + i, eol - i)))
			return fail(p, rc);
		i = eol + 1;
		if (eol == cr) {
			if (i == len)
				p->cr_pending = 1;
			else if (buf[i] == '\n')
				i++;
		}
	}
	if ((rc = keep_direct(p)) || (i < len && (rc = hold(p, buf + i, len - i))))
		return fail(p, rc);
	return 0;
}

int mlb_sse_finish(struct mlb_sse *p)
{
	int rc = 0;

	if (p->err)
		return p->err;
	/* A stream shorter than a BOM that began like one: those bytes are a line. */
	if (p->bom > 0 && p->bom < 3) {
		rc = hold(p, (const char *)bom_bytes, (size_t)p->bom);
		p->bom = 3;
	}
	if (!rc && p->line.len)
		rc = take_line(p, NULL, 0);
	/* The deviation from the spec: see sse.h. */
	if (!rc && p->data.len)
		rc = dispatch(p);
	if (rc)
		return fail(p, rc);
	mlb_sse_reset(p);
	return 0;
}

void mlb_sse_reset(struct mlb_sse *p)
{
	/* Free rather than keep: one huge event should not pin its memory. */
	sbuf_free(&p->line);
	sbuf_free(&p->data);
	sbuf_free(&p->event);
	sbuf_free(&p->id);
	p->has_direct = 0;
	p->bom = 0;
	p->cr_pending = 0;
	p->err = 0;
}

struct mlb_sse *mlb_sse_new(mlb_sse_cb cb, void *ctx, size_t max_event)
{
	struct mlb_sse *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cb = cb;
	p->ctx = ctx;
	p->max = max_event ? max_event : DEFAULT_MAX_EVENT;
	/* Joined data holds one \n more than it dispatches, then a NUL. */
	p->limit = p->max > (size_t)-1 - 2 ? (size_t)-1 : p->max + 2;
	return p;
}

void mlb_sse_set_lane(struct mlb_sse *p, mlb_sse_lane lane)
{
	p->lane = lane;
}

void mlb_sse_free(struct mlb_sse *p)
{
	if (!p)
		return;
	mlb_sse_reset(p);
	free(p);
}
