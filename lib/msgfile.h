/*
 * msgfile.h - the mail-like message file of a session (DESIGN.md, "Sessions").
 *
 * A message file is "Key: value" header lines, a blank line, then the
 * content exactly as sent or received: any bytes, possibly empty, with no
 * newline added.  It reads with cat, searches with grep and diffs with git
 * diff.  A value is always one line; header names compare without regard
 * to case, as in mail.  Headers keep the order in which they were set.
 *
 * Header names in use: Role, Model, Date (RFC 3339 UTC with ms),
 * Message-Id, Content-Hash ("sha256:<hex of the content>"), Prompt-Tokens,
 * Completion-Tokens, Cost-Usd, Latency-Ms, Ttft-Ms, Finish-Reason,
 * Partial, Cancelled, Estimated (each "true" when present), the provenance
 * of a transferred message (Source-Session, Source-Pane, Source-Model,
 * Transfer-Ts, Source-Hash), Tool and Run for what wrote it, and
 * Prompt-Name on a system message that came from a role, and Fallback-For
 * on a reply a fallback model gave in place of the pane's own.
 */
#ifndef MLB_MSGFILE_H
#define MLB_MSGFILE_H

#include <stddef.h>

struct mlb_header {
	char *name;
	char *value;
};

struct mlb_msgfile {
	struct mlb_header *headers;
	size_t nheaders;
	char *content;		/* content_len bytes and a NUL that is not part of it */
	size_t content_len;
};

/* Make m an empty message (no headers, empty content). */
void mlb_msgfile_init(struct mlb_msgfile *m);
/* Replace the header called name, or append it; a NULL value removes it.  Line breaks in value
 * become spaces and leading blanks are dropped: a value is one line. */
void mlb_msgfile_set(struct mlb_msgfile *m, const char *name, const char *value);
/* The value of a header (name compared case-insensitively), or NULL when absent. */
const char *mlb_msgfile_get(const struct mlb_msgfile *m, const char *name);
/* Set the content (len bytes, copied) and its Content-Hash header. */
void mlb_msgfile_set_content(struct mlb_msgfile *m, const char *content, size_t len);
/* Move the headers named in names (NULL-terminated) to the front, in that order; the rest keep theirs. */
void mlb_msgfile_order(struct mlb_msgfile *m, const char *const *names);
/* Whether Content-Hash is present and matches the content. */
int mlb_msgfile_verify(const struct mlb_msgfile *m);
/* The file's bytes (caller frees; NUL-terminated, *len excludes the NUL). */
char *mlb_msgfile_format(const struct mlb_msgfile *m, size_t *len);
/* Parse a file's bytes into m (which is initialised here): 0, or -1 leaving m empty.
 * CRLF line ends in the header block are accepted; at least one header and the blank line are required. */
int mlb_msgfile_parse(const char *data, size_t len, struct mlb_msgfile *m);
/* Release what m holds and leave it empty. */
void mlb_msgfile_free(struct mlb_msgfile *m);

#endif
