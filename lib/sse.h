/*
 * sse.h - an incremental parser for server-sent events (text/event-stream).
 *
 * Every provider streams its reply as SSE.  The HTTP loop hands each chunk
 * that curl delivers to mlb_sse_feed(), in whatever pieces the network cut
 * it; the parser calls back once per complete event, so the provider code
 * above it only ever sees whole events and never a line, a CRLF or a UTF-8
 * sequence cut in two.
 *
 * The rules are WHATWG HTML "Parsing an event stream": lines end in CRLF,
 * LF or CR (a CR ending one feed and an LF starting the next are one line
 * ending); a leading UTF-8 BOM is skipped; ':' starts a comment; "data",
 * "event" and "id" fields are honoured, "retry" and unknown fields are
 * ignored; a blank line dispatches the event.  The parser works on bytes
 * and never assumes the input is NUL-terminated.
 *
 * One deliberate deviation: the spec discards an event that is still
 * pending when the stream ends, but real servers (Gemini among them) close
 * the connection without the final blank line, so mlb_sse_finish()
 * processes an unterminated last line and then dispatches a pending event
 * whose data buffer is non-empty.
 *
 * Errors are sticky: once mlb_sse_feed() or mlb_sse_finish() has returned
 * non-zero (the callback's value, MLB_SSE_TOO_LONG or MLB_SSE_NOMEM), the
 * rest of that input is dropped and every later call returns the same value
 * until mlb_sse_reset().  Callbacks should therefore stop with a positive
 * value, so that it cannot be mistaken for the parser's own codes.
 */
#ifndef MLB_SSE_H
#define MLB_SSE_H

#include <stddef.h>

/* A line or an event's data was longer than max_event; it was discarded. */
#define MLB_SSE_TOO_LONG (-2)
/* Memory ran out; the pending line and event were discarded. */
#define MLB_SSE_NOMEM (-3)

/* Called once per dispatched event. event is "message" when no event: field was set;
 * data is data_len bytes, not NUL-terminated (an event of one data line is handed over
 * from the fed buffer itself), with \n between data: lines when several were joined;
 * id is the last event id seen ("" if none).
 * Return 0 to go on, non-zero to stop parsing (mlb_sse_feed then returns that value). */
typedef int (*mlb_sse_cb)(void *ctx, const char *event, const char *data, size_t data_len,
			  const char *id);

/*
 * An optional fast lane for the usual event.  At the start of a line, while
 * nothing is pending (no unfinished line, data or event name), the parser
 * offers the rest of the fed buffer, at most max_event + 2 bytes, to the
 * lane.  A lane that recognises one whole event there, "data: <data>"
 * through the blank line after it (an "event: <name>" line may come
 * first; every line whole, ended by LF or CRLF, never a lone CR), handles
 * it as the callback would have handled that event (name or "message",
 * data, id) and sets *used to its length; setting nothing leaves the
 * bytes to the parser.  Returns as the callback does.
 */
typedef int (*mlb_sse_lane)(void *ctx, const char *buf, size_t len, const char *id, size_t *used);

struct mlb_sse;

/* A new parser calling cb(ctx, ...) per event; max_event bounds a line and an event's data in bytes (0: 16 MiB); NULL when out of memory. */
struct mlb_sse *mlb_sse_new(mlb_sse_cb cb, void *ctx, size_t max_event);
/* Offer each line start to lane (NULL: none), called with the parser's ctx. */
void mlb_sse_set_lane(struct mlb_sse *p, mlb_sse_lane lane);
/* Parse len bytes of the stream; 0, the callback's non-zero value, MLB_SSE_TOO_LONG or MLB_SSE_NOMEM. */
int mlb_sse_feed(struct mlb_sse *p, const char *buf, size_t len);
/* End of stream: process an unterminated last line, dispatch a pending event, then start afresh; returns as mlb_sse_feed. */
int mlb_sse_finish(struct mlb_sse *p);
/* Forget everything buffered, the last event id and any sticky error (used before a retry). */
void mlb_sse_reset(struct mlb_sse *p);
/* Free the parser (NULL is allowed). */
void mlb_sse_free(struct mlb_sse *p);

#endif
