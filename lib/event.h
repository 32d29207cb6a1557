/*
 * event.h - the NDJSON event stream that joins the tools (DESIGN.md, "Events").
 *
 * Writing: build an event with mlb_event_new(), add fields with json-c, and
 * hand it to mlb_event_write(), which prints one line and flushes it, so a
 * token reaches the pipe before the next network read.  Token events, most
 * of any stream, have mlb_event_write_token(), which formats the same line
 * without building an object.
 *
 * Reading: mlb_reader_next() yields one event per input line.  A malformed
 * line is reported on stderr as "<tool>: line N: <what>" and as an error
 * event with code "parse" on the output, then skipped; reading goes on.
 * mlb_reader_pass() copies an event the tool does not consume to the output
 * byte for byte.
 */
#ifndef MLB_EVENT_H
#define MLB_EVENT_H

#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>

#include "buf.h"

/* What ties an event to one model's reply; NULL members are left out. */
struct mlb_tag {
	const char *session;
	const char *pane;
	const char *model;	/* provider:model */
	const char *run;
};

/* A new event object with "type", "ts" and the tag's fields, in that order. */
json_object *mlb_event_new(const char *type, const struct mlb_tag *tag);

/* Write ev as one line to the event output and release it; -1 on a write error. */
int mlb_event_write(json_object *ev);

/*
 * Token events, most of any stream, are written without building them: what
 * mlb_event_new("token", tag) with a "text" member would write, byte for
 * byte.  A struct mlb_token_line keeps the start of one job's token lines
 * (type, ts and tag) from one token to the next, and makes it again when the
 * millisecond or the tag's strings change (change a string in place and it
 * cannot tell); zero-initialise it and free it with mlb_token_line_free().
 * Token lines are batched past stdio until the next flush or other event.
 */
struct mlb_token_line {
	struct mlb_buf prefix;
	char ts[32];
	const char *tag[4];	/* the tag's strings the prefix was made from, in event order */
};
/* Write one token event; -1 on a write error. */
int mlb_event_write_token(struct mlb_token_line *tl, const struct mlb_tag *tag, const char *text, size_t len);
void mlb_token_line_free(struct mlb_token_line *tl);

/*
 * Make *tok (NULL for none yet) ready for a new text, with depth and flags
 * for a new one; NULL when out of memory.  json_tokener_reset() keeps the
 * state of an unfinished \u escape, and json-c then puts U+FFFD into the
 * next text's first escape: a tokener that stopped short is replaced.
 */
json_tokener *mlb_json_tokener_ready(json_tokener **tok, int depth, int flags);

/* A json-c string of len bytes that writes itself out faster than json-c would, byte for byte
 * the same: for long texts such as a reply's content. */
json_object *mlb_json_new_text(const char *s, size_t len);

/* Append s as a JSON string, quotes included, escaped as json-c escapes it for mlb_json_line(). */
void mlb_json_escape(struct mlb_buf *b, const char *s, size_t len);

/* Write raw bytes (one line, no newline) as an event line; -1 on a write error. */
int mlb_event_write_raw(const char *line, size_t len);

/* An error event: code (DESIGN.md), a one-line message. */
json_object *mlb_event_error(const struct mlb_tag *tag, const char *code, const char *message);

/* Set where events go (default stdout). */
void mlb_event_output(FILE *f);

/* Whether each event is flushed at once (default 1); readers batch while input is buffered. */
void mlb_event_autoflush(int on);

/* Flush the event output; -1 when writing failed (for instance EPIPE). */
int mlb_event_flush(void);

/* The errno of the first failed write to the event output, or 0. */
int mlb_event_errno(void);

/* Whether a write to the event output has failed (a closed pipe, a full disk). */
int mlb_event_failed(void);

/* Report a bad input line: "<tool>: line N: what" on stderr and an error event with code parse. */
void mlb_event_bad_line(long lineno, const char *what);

/* Shorthands for adding fields; a NULL string adds JSON null. */
void mlb_json_set_str(json_object *o, const char *key, const char *val);
void mlb_json_set_int(json_object *o, const char *key, long long val);
void mlb_json_set_double(json_object *o, const char *key, double val);
void mlb_json_set_bool(json_object *o, const char *key, int val);
/* A string member, or NULL when absent or not a string. */
const char *mlb_json_str(json_object *o, const char *key);
/* A numeric member as long long, or def. */
long long mlb_json_int(json_object *o, const char *key, long long def);
/* A numeric member as double, or def. */
double mlb_json_double(json_object *o, const char *key, double def);
/* The byte offset of the first U+0000 in a string member, or -1: mlb_json_str() would stop there. */
long mlb_json_nul(json_object *o, const char *key);
/* A boolean member, or 0 when absent. */
int mlb_json_bool(json_object *o, const char *key);
/* Whether o has key with a non-null value. */
int mlb_json_has(json_object *o, const char *key);
/* Serialise compactly, without escaping '/'; the string lives as long as o. */
const char *mlb_json_line(json_object *o, size_t *len);

/* One event read from the input. */
struct mlb_event_in {
	json_object *obj;	/* the parsed object, owned by the reader; NULL for unwanted types */
	const char *type;	/* its "type" member */
	const char *line;	/* the raw line, without its newline */
	size_t len;
	long lineno;
};

struct mlb_reader;

/* Limits on input lines, settable by configuration. */
struct mlb_reader_limits {
	size_t max_line;	/* bytes; longer lines are reported and skipped */
	int max_depth;		/* JSON nesting */
};
#define MLB_READER_MAX_LINE (16u << 20)
#define MLB_READER_MAX_DEPTH 64
/* The most limit.jsonDepth may ask for: json-c allocates its parse stack up front. */
#define MLB_READER_DEPTH_CAP 10000

/* The limits of readers made without any (zero members keep the built-in ones); mlb_config_load()
 * sets them from limit.lineBytes and limit.jsonDepth. */
void mlb_reader_defaults(const struct mlb_reader_limits *limits);

/* Read events from fd; limits may be NULL for the defaults. */
struct mlb_reader *mlb_reader_new(int fd, const struct mlb_reader_limits *limits);
/* Parse only events of these types (a NULL-terminated list the caller keeps);
 * others are checked to be well-formed and delivered with obj NULL, for
 * passing through.  Most of a stream is tokens a filter does not look at. */
void mlb_reader_want(struct mlb_reader *r, const char *const *types);
/* Next event: 1 with *ev filled, 0 at end of input, -1 on a read error. */
int mlb_reader_next(struct mlb_reader *r, struct mlb_event_in *ev);
/* Copy the event unchanged to the event output. */
int mlb_reader_pass(struct mlb_reader *r, const struct mlb_event_in *ev);
/* How many malformed lines were reported so far. */
long mlb_reader_errors(const struct mlb_reader *r);
/* Wait up to timeout_ms (negative: no limit) for input, flushing all output first:
 * 1 when there is input (or an error, for the read to report), 0 on time-out. */
int mlb_reader_wait(struct mlb_reader *r, long timeout_ms);
/* Whether more input is already buffered (so output need not be flushed yet). */
int mlb_reader_buffered(const struct mlb_reader *r);
void mlb_reader_free(struct mlb_reader *r);

#endif
