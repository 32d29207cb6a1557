#include "event.h"
#include "json-scan.h"
#include "secret.h"
#include "clock.h"
#include "msg.h"
#include "plain.h"
#include "utf8.h"

#include <json-c/printbuf.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* What another JSON tool reads the same way: no single quotes or raw newlines in strings. */
#define READER_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)

static FILE *out_stream;
static int autoflush = 1;
static int write_failed;
static int write_errno;

static int spill(void);

void mlb_event_output(FILE *f)
{
	spill();
	out_stream = f;
}

static FILE *output(void)
{
	return out_stream ? out_stream : stdout;
}

void mlb_event_autoflush(int on)
{
	autoflush = on;
}

int mlb_event_failed(void)
{
	return write_failed || ferror(output());
}

int mlb_event_errno(void)
{
	return write_errno;
}

int mlb_event_flush(void)
{
	spill();
	if (fflush(output()) == EOF) {
		write_failed = 1;
		write_errno = errno;
	}
	return mlb_event_failed() ? -1 : 0;
}

int mlb_event_write_raw(const char *line, size_t len)
{
	FILE *f = output();

	if (spill() < 0)
		return -1;
	if (fwrite(line, 1, len, f) != len || putc('\n', f) == EOF) {
		write_failed = 1;
		write_errno = errno;
		return -1;
	}
	return autoflush ? mlb_event_flush() : 0;
}

const char *mlb_json_line(json_object *o, size_t *len)
{
	return json_object_to_json_string_length(o,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

int mlb_event_write(json_object *ev)
{
	size_t len;
	const char *s = mlb_json_line(ev, &len);
	int ret = mlb_event_write_raw(s, len);

	json_object_put(ev);
	return ret;
}

/*
 * json-c's escaping with JSON_C_TO_STRING_NOSLASHESCAPE: the quote, the
 * backslash and the control characters, \b \f \n \r \t by name and the rest
 * as \u00xx in lower case; every other byte, DEL and non-ASCII included, as is.
 */
void mlb_json_escape(struct mlb_buf *b, const char *s, size_t len)
{
	static const char hexd[] = "0123456789abcdef";
	const char *end = s + len, *run = s;
	char *o;

	/*
	 * Room for the text as it is, the quotes and a NUL; an escape makes up
	 * to six bytes of one, so room for the rest is checked at each.  (Six
	 * times the length up front would ask a 1 GiB reply for 6 GiB.)
	 */
	mlb_buf_grow(b, len + 3);
	o = b->s + b->len;
	*o++ = '"';
	for (;; s++) {
		unsigned char c;

		s = (const char *)mlb_plain_end((const unsigned char *)s, (const unsigned char *)end);
		if (s == end)
			break;
		c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;	/* DEL and non-ASCII bytes go as they are */
		if ((size_t)(b->s + b->cap - o) < (size_t)(end - run) + 8) {
			b->len = (size_t)(o - b->s);
			mlb_buf_grow(b, (size_t)(end - run) + (size_t)(end - run) / 4 + 64);
			o = b->s + b->len;
		}
		memcpy(o, run, (size_t)(s - run));
		o += s - run;
		run = s + 1;
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hexd[c >> 4];
			o[4] = hexd[c & 0xf];
			o += 5;
		}
	}
	memcpy(o, run, (size_t)(end - run));
	o += end - run;
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->s);
}

/*
 * Token lines wait here, past stdio, until another event, a flush or a full
 * batch: a stream is mostly tokens, and an fwrite a token cost more than
 * making the line.  Everything that writes or flushes the event output
 * spills them first, so lines keep their order; exit() spills them too.
 */
static struct mlb_buf pending;
#define PENDING_MAX ((size_t)64 << 10)

static int spill(void)
{
	int ret = 0;

	if (!pending.len)
		return write_failed ? -1 : 0;
	if (write_failed) {
		ret = -1;
	} else if (fwrite_unlocked(pending.s, 1, pending.len, output()) != pending.len) {
		write_failed = 1;
		write_errno = errno;
		ret = -1;
	}
	pending.len = 0;
	/* A whole non-streamed reply comes as one piece: it should not pin its memory. */
	if (pending.cap > (size_t)1 << 20)
		mlb_buf_free(&pending);
	return ret;
}

static void spill_at_exit(void)
{
	spill();
	mlb_buf_free(&pending);
}

/* A tag's four strings in event order (all NULL without a tag). */
static void tag_strings(const struct mlb_tag *tag, const char *v[4])
{
	v[0] = tag ? tag->session : NULL;
	v[1] = tag ? tag->pane : NULL;
	v[2] = tag ? tag->model : NULL;
	v[3] = tag ? tag->run : NULL;
}

int mlb_event_write_token(struct mlb_token_line *tl, const struct mlb_tag *tag, const char *text, size_t len)
{
	static const char head[] = "{\"type\":\"token\",\"ts\":\"", mid[] = ",\"text\":";
	static const char *const keys[4] = { ",\"session\":", ",\"pane\":", ",\"model\":", ",\"run\":" };
	static int at_exit;
	const char *v[4];
	char ts[32];
	char *o;

	mlb_now_rfc3339(ts);
	tag_strings(tag, v);
	/* The timestamp changes once a millisecond, the tag once a job: most tokens only add their text. */
	if (!tl->prefix.len || memcmp(ts, tl->ts, sizeof(ts)) || memcmp(v, tl->tag, sizeof(v))) {
		mlb_buf_reset(&tl->prefix);
		mlb_buf_add(&tl->prefix, head, sizeof(head) - 1);
		mlb_buf_adds(&tl->prefix, ts);	/* a timestamp needs no escaping */
		mlb_buf_addc(&tl->prefix, '"');
		for (int i = 0; i < 4; i++) {
			if (v[i]) {
				mlb_buf_adds(&tl->prefix, keys[i]);
				mlb_json_escape(&tl->prefix, v[i], strlen(v[i]));
			}
		}
		mlb_buf_add(&tl->prefix, mid, sizeof(mid) - 1);
		memcpy(tl->ts, ts, sizeof(ts));
		memcpy(tl->tag, v, sizeof(v));
	}
	if (!at_exit) {
		atexit(spill_at_exit);
		at_exit = 1;
	}
	mlb_buf_grow(&pending, tl->prefix.len + len + 4);
	o = pending.s + pending.len;
	memcpy(o, tl->prefix.s, tl->prefix.len);
	o += tl->prefix.len;
	if ((const char *)mlb_plain_end((const unsigned char *)text, (const unsigned char *)text + len) ==
	    text + len) {
		/* the usual token, a word or two: nothing to escape */
		*o++ = '"';
		memcpy(o, text, len);
		memcpy(o + len, "\"}\n", 4);	/* and the NUL */
		pending.len = (size_t)(o - pending.s) + len + 3;
	} else {
		pending.len = (size_t)(o - pending.s);
		mlb_json_escape(&pending, text, len);
		mlb_buf_add(&pending, "}\n", 2);
	}
	if (autoflush)
		return mlb_event_flush();
	return pending.len >= PENDING_MAX ? spill() : (write_failed ? -1 : 0);
}

void mlb_token_line_free(struct mlb_token_line *tl)
{
	mlb_buf_free(&tl->prefix);
}

/*
 * json-c escapes a string a byte at a time; a reply's content can be
 * megabytes, and mlb_json_escape() crosses plain runs eight bytes a step.
 * Without JSON_C_TO_STRING_NOSLASHESCAPE json-c also writes '/' as "\/".
 */
static int text_to_json(json_object *o, struct printbuf *pb, int level, int flags)
{
	/* A piece at a time, so that a long text is not held escaped twice. */
	static struct mlb_buf piece;
	const size_t step = (size_t)64 << 10;
	const char *s = json_object_get_string(o);
	size_t len = (size_t)json_object_get_string_len(o);
	int slash = !(flags & JSON_C_TO_STRING_NOSLASHESCAPE);

	(void)level;
	printbuf_memappend(pb, "\"", 1);
	for (size_t at = 0, n; at < len; at += n) {
		const char *run, *end, *q;

		n = len - at < step ? len - at : step;
		/* Escaping is byte by byte, so pieces escape as the whole does. */
		mlb_buf_reset(&piece);
		mlb_json_escape(&piece, s + at, n);
		run = piece.s + 1;		/* within its quotes */
		end = piece.s + piece.len - 1;
		while (slash && (q = memchr(run, '/', (size_t)(end - run)))) {
			printbuf_memappend(pb, run, (int)(q - run));
			printbuf_memappend(pb, "\\/", 2);
			run = q + 1;
		}
		printbuf_memappend(pb, run, (int)(end - run));
	}
	printbuf_memappend(pb, "\"", 1);
	return 0;
}

json_tokener *mlb_json_tokener_ready(json_tokener **tok, int depth, int flags)
{
	if (*tok && json_tokener_get_error(*tok) == json_tokener_success) {
		json_tokener_reset(*tok);
		return *tok;
	}
	if (*tok)
		json_tokener_free(*tok);
	*tok = json_tokener_new_ex(depth);
	if (*tok)
		json_tokener_set_flags(*tok, flags);
	return *tok;
}

json_object *mlb_json_new_text(const char *s, size_t len)
{
	json_object *o = json_object_new_string_len(s, (int)len);

	if (o && len >= 256)
		json_object_set_serializer(o, text_to_json, NULL, NULL);
	return o;
}

void mlb_json_set_str(json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, val ? json_object_new_string(val) : NULL);
}

void mlb_json_set_int(json_object *o, const char *key, long long val)
{
	json_object_object_add(o, key, json_object_new_int64(val));
}

void mlb_json_set_double(json_object *o, const char *key, double val)
{
	json_object_object_add(o, key, json_object_new_double(val));
}

void mlb_json_set_bool(json_object *o, const char *key, int val)
{
	json_object_object_add(o, key, json_object_new_boolean(val));
}

const char *mlb_json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long mlb_json_nul(json_object *o, const char *key)
{
	json_object *v;
	const char *s, *nul;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	nul = memchr(s, '\0', (size_t)json_object_get_string_len(v));
	return nul ? (long)(nul - s) : -1;
}

int mlb_json_bool(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

int mlb_json_has(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v;
}

static json_object *number(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return NULL;
	return v;
}

long long mlb_json_int(json_object *o, const char *key, long long def)
{
	json_object *v = number(o, key);

	return v ? (long long)json_object_get_int64(v) : def;
}

double mlb_json_double(json_object *o, const char *key, double def)
{
	json_object *v = number(o, key);

	return v ? json_object_get_double(v) : def;
}

json_object *mlb_event_new(const char *type, const struct mlb_tag *tag)
{
	json_object *ev = json_object_new_object();
	char ts[32];

	mlb_now_rfc3339(ts);
	mlb_json_set_str(ev, "type", type);
	mlb_json_set_str(ev, "ts", ts);
	if (tag) {
		if (tag->session)
			mlb_json_set_str(ev, "session", tag->session);
		if (tag->pane)
			mlb_json_set_str(ev, "pane", tag->pane);
		if (tag->model)
			mlb_json_set_str(ev, "model", tag->model);
		if (tag->run)
			mlb_json_set_str(ev, "run", tag->run);
	}
	return ev;
}

json_object *mlb_event_error(const struct mlb_tag *tag, const char *code, const char *message)
{
	json_object *ev = mlb_event_new("error", tag);
	char *clean = mlb_redact(message);

	mlb_json_set_str(ev, "code", code);
	mlb_json_set_str(ev, "message", clean);
	free(clean);
	return ev;
}

/* ---- reading ---- */

struct mlb_reader {
	int fd;
	struct mlb_reader_limits lim;
	char *buf;		/* bytes read but not yet consumed */
	size_t start, end, cap;
	int eof;
	int discarding;		/* inside an over-long line, skipping to its end */
	long lineno;
	long errors;
	json_tokener *tok;
	json_object *cur;
	const char *const *want;	/* the types to parse; NULL: all */
	char type[64];			/* the type of an event delivered unparsed */
	struct mlb_buf scratch;		/* decoded text for json_scan_build */
};

/* What the configuration asked for; tools make readers with NULL limits. */
static struct mlb_reader_limits configured = { MLB_READER_MAX_LINE, MLB_READER_MAX_DEPTH };

void mlb_reader_defaults(const struct mlb_reader_limits *limits)
{
	configured.max_line = limits->max_line ? limits->max_line : MLB_READER_MAX_LINE;
	configured.max_depth = limits->max_depth > 0 ? limits->max_depth : MLB_READER_MAX_DEPTH;
}

struct mlb_reader *mlb_reader_new(int fd, const struct mlb_reader_limits *limits)
{
	struct mlb_reader *r = mlb_xcalloc(1, sizeof(*r));

	r->fd = fd;
	r->lim.max_line = limits && limits->max_line ? limits->max_line : configured.max_line;
	/* json-c takes a line's length as an int. */
	if (r->lim.max_line > (size_t)INT_MAX - 1)
		r->lim.max_line = (size_t)INT_MAX - 1;
	r->lim.max_depth = limits && limits->max_depth > 0 ? limits->max_depth : configured.max_depth;
	if (r->lim.max_depth > MLB_READER_DEPTH_CAP)
		r->lim.max_depth = MLB_READER_DEPTH_CAP;
	/*
	 * The buffer holds at most one line and its newline, so a line longer
	 * than max_line fills it and is caught in fill(); starting it at 64 KiB
	 * regardless let lines up to 64 KiB through a smaller limit.
	 */
	r->cap = r->lim.max_line < 65536 ? r->lim.max_line + 1 : 65536;
	r->buf = mlb_xmalloc(r->cap);
	if (!mlb_json_tokener_ready(&r->tok, r->lim.max_depth, READER_FLAGS))
		mlb_die(MLB_EXIT_FAIL, "out of memory");
	return r;
}

void mlb_reader_free(struct mlb_reader *r)
{
	if (!r)
		return;
	json_object_put(r->cur);
	json_tokener_free(r->tok);
	mlb_buf_free(&r->scratch);
	free(r->buf);
	free(r);
}

long mlb_reader_errors(const struct mlb_reader *r)
{
	return r->errors;
}

int mlb_reader_buffered(const struct mlb_reader *r)
{
	return r->end > r->start;
}

int mlb_reader_wait(struct mlb_reader *r, long timeout_ms)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	int64_t deadline = mlb_mono_ms() + timeout_ms;
	int n;

	if (mlb_reader_buffered(r))
		return 1;
	/* whatever was written reaches the pipe or the screen before we sleep */
	mlb_event_flush();
	fflush(stdout);
	do {
		int64_t left = deadline - mlb_mono_ms();

		if (timeout_ms >= 0 && left <= 0)
			return 0;
		n = poll(&p, 1, timeout_ms < 0 ? -1 : left > INT_MAX ? INT_MAX : (int)left);
	} while (n < 0 && errno == EINTR);
	return n != 0;
}

void mlb_event_bad_line(long lineno, const char *what)
{
	json_object *ev;
	char msg[256];

	snprintf(msg, sizeof(msg), "line %ld: %s", lineno, what);
	mlb_error("%s", msg);
	ev = mlb_event_error(NULL, "parse", msg);
	mlb_json_set_int(ev, "line", lineno);
	mlb_json_set_bool(ev, "retryable", 0);
	mlb_event_write(ev);
}

static void report(struct mlb_reader *r, const char *what)
{
	r->errors++;
	mlb_event_bad_line(r->lineno, what);
}

/* Read more input, first making room; flushes output before it may block. */
static int fill(struct mlb_reader *r)
{
	ssize_t n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		/* A line may grow to max_line; the buffer grows with it, no further. */
		size_t want = r->cap * 2;

		if (want > r->lim.max_line + 1)
			want = r->lim.max_line + 1;
		if (want > r->cap) {
			r->buf = mlb_xrealloc(r->buf, want);
			r->cap = want;
		}
	}
	if (r->end == r->cap)
		return -2;	/* the line is too long */
	mlb_event_flush();
	do
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0)
		r->eof = 1;
	r->end += (size_t)n;
	return (int)(n > 0);
}

static int blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/*
 * A long line (a final event with a whole answer) built by the strict
 * scanner rather than json-c's tokener, which takes a byte at a time: an
 * event with a "type" string, or NULL to leave the line to json-c, which
 * alone decides what is malformed.
 */
#define BUILD_MIN 4096

static json_object *built(struct mlb_reader *r, const char *s, size_t len)
{
	struct json_scan sc;
	json_object *obj, *type;

	json_scan_init(&sc, s, len);
	sc.max_depth = r->lim.max_depth;
	if (!json_scan_build(&sc, &r->scratch, &obj) || !json_scan_end(&sc) ||
	    !json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, "type", &type) ||
	    !json_object_is_type(type, json_type_string)) {
		json_object_put(obj);
		obj = NULL;
	}
	/* one huge answer should not pin its memory */
	if (r->scratch.cap > (1u << 20))
		mlb_buf_free(&r->scratch);
	return obj;
}

/* Parse one line; NULL (after reporting) when it is not a proper event. */
static json_object *parse_line(struct mlb_reader *r, const char *s, size_t len)
{
	json_object *obj, *type;
	size_t used;
	enum json_tokener_error err;

	if (memchr(s, '\0', len)) {
		report(r, "contains a NUL byte; events are UTF-8 JSON text");
		return NULL;
	}
	if (len >= BUILD_MIN && (obj = built(r, s, len)))
		return obj;
	if (!mlb_json_tokener_ready(&r->tok, r->lim.max_depth, READER_FLAGS))
		mlb_die(MLB_EXIT_FAIL, "out of memory");
	obj = json_tokener_parse_ex(r->tok, s, (int)len);
	err = json_tokener_get_error(r->tok);
	if (!obj && err == json_tokener_continue) {
		/*
		 * json-c waits for the byte after a bare number or literal ("42",
		 * "null") before it ends it, so only a line that opens an object is
		 * truncated; anything else was never going to be an event.
		 */
		size_t i = 0;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i < len && s[i] == '{')
			report(r, "truncated JSON; each event must be one whole JSON object per line");
		else
			report(r, "not a JSON object; events are objects with a \"type\"");
		return NULL;
	}
	if (err != json_tokener_success) {
		char what[160];

		snprintf(what, sizeof(what), "invalid JSON: %s", json_tokener_error_desc(err));
		report(r, what);
		json_object_put(obj);
		return NULL;
	}
	used = json_tokener_get_parse_end(r->tok);
	if (!blank(s + used, len - used)) {
		report(r, "trailing characters after the JSON value; one event per line");
		json_object_put(obj);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		report(r, "not a JSON object; events are objects with a \"type\"");
		json_object_put(obj);
		return NULL;
	}
	if (!json_object_object_get_ex(obj, "type", &type) || !json_object_is_type(type, json_type_string)) {
		report(r, "event has no \"type\" string");
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

void mlb_reader_want(struct mlb_reader *r, const char *const *types)
{
	r->want = types;
}

/*
 * A quick check that a line is one JSON object, without building it, for
 * the events a filter only passes through: the strict scanner of
 * json-scan.h, with the reader's depth limit.  Every line it is unsure of
 * or rejects goes to json-c, so json-c alone decides what is malformed and
 * how it is reported.
 */
struct top {
	struct json_str type;
	int has_type;
};

static int top_member(struct json_scan *sc, const struct json_str *key, void *ctx)
{
	struct top *t = ctx;

	if (!json_scan_is(key, "type"))
		return json_scan_skip(sc);
	/* the last "type" wins, as it does in json-c; one with escapes is json-c's to read */
	if (!json_scan_string(sc, &t->type) || t->type.escaped)
		return 0;
	t->has_type = 1;
	return 1;
}

/* 1 when the line is surely one well-formed object whose "type" is set. */
static int quick_scan(const struct mlb_reader *r, const char *line, size_t len, const char **type, size_t *tlen)
{
	struct json_scan sc;
	struct top t = { 0 };

	json_scan_init(&sc, line, len);
	sc.max_depth = r->lim.max_depth;
	if (!json_scan_object(&sc, top_member, &t) || !json_scan_end(&sc) || !t.has_type)
		return 0;
	*type = t.type.s;
	*tlen = t.type.len;
	return 1;
}

static int wanted(const struct mlb_reader *r, const char *type, size_t len)
{
	for (const char *const *w = r->want; *w; w++)
		if (strlen(*w) == len && !memcmp(*w, type, len))
			return 1;
	return 0;
}

/*
 * 1 when the line starts as mlb writes events, {"type":"<t>", with t a
 * wanted type: json-c parses it anyway, so scanning it first is waste (for a
 * 1 MB final, a fifth of mlb-diff).  A later duplicate "type" is no harm:
 * the caller takes the type from what json-c made of the line.
 */
static int surely_wanted(const struct mlb_reader *r, const char *line, size_t len)
{
	static const char prefix[] = "{\"type\":\"";
	const size_t n = sizeof(prefix) - 1;
	const char *t = line + n, *q;

	if (len <= n || memcmp(line, prefix, n) || !(q = memchr(t, '"', len - n)))
		return 0;
	return !memchr(t, '\\', (size_t)(q - t)) && wanted(r, t, (size_t)(q - t));
}

int mlb_reader_next(struct mlb_reader *r, struct mlb_event_in *ev)
{
	json_object_put(r->cur);
	r->cur = NULL;
	for (;;) {
		char *s = r->buf + r->start;
		size_t avail = r->end - r->start;
		char *nl = memchr(s, '\n', avail);
		size_t len;

		if (!nl && !r->eof) {
			int n = fill(r);

			if (n == -1) {
				mlb_event_autoflush(1);
				return -1;
			}
			if (n == -2) {
				/* Over-long: drop what we have and keep skipping to the newline. */
				if (!r->discarding) {
					char what[128];

					r->lineno++;
					r->discarding = 1;
					snprintf(what, sizeof(what), "line longer than %zu bytes; skipped (raise limit.lineBytes)",
						 r->lim.max_line);
					report(r, what);
				}
				r->start = r->end = 0;
			}
			continue;
		}
		if (!nl && avail == 0) {
			mlb_event_autoflush(1);
			return 0;
		}
		len = nl ? (size_t)(nl - s) : avail;
		r->start += nl ? len + 1 : len;
		if (r->discarding) {
			r->discarding = 0;
			continue;
		}
		r->lineno++;
		if (blank(s, len))
			continue;
		if (r->want) {
			const char *type;
			size_t tlen;

			if (!surely_wanted(r, s, len) && quick_scan(r, s, len, &type, &tlen) && tlen < sizeof(r->type) && !wanted(r, type, tlen)) {
				memcpy(r->type, type, tlen);
				r->type[tlen] = '\0';
				ev->obj = NULL;
				ev->type = r->type;
				ev->line = s;
				ev->len = len;
				ev->lineno = r->lineno;
				mlb_event_autoflush(!mlb_reader_buffered(r));
				return 1;
			}
		}
		r->cur = parse_line(r, s, len);
		if (!r->cur)
			continue;
		ev->obj = r->cur;
		ev->type = mlb_json_str(r->cur, "type");
		ev->line = s;
		ev->len = len;
		ev->lineno = r->lineno;
		/* Batch output while more input waits; flush before blocking (see fill). */
		mlb_event_autoflush(!mlb_reader_buffered(r));
		return 1;
	}
}

int mlb_reader_pass(struct mlb_reader *r, const struct mlb_event_in *ev)
{
	(void)r;
	return mlb_event_write_raw(ev->line, ev->len);
}
