/*
 * secret.h - keeping API keys out of everything mlb prints, emits or stores.
 *
 * A provider may echo the key it was sent in an error ("Incorrect API key
 * provided: sk-..."), and a base URL may carry user:password@.  Every key
 * mlb reads (from an environment variable or a keyCmd) is registered here,
 * and mlb_redact() is the one place that removes registered values and a
 * URL's user:password from a text: diagnostics (msg.c), the message of
 * error events (event.c) and message-file headers (msgfile.c) all pass
 * through it.  Registering a key also turns core dumps off, since a core
 * file would hold it.
 *
 * Keys are checked before any request (no control characters, which
 * would add header lines), and a keyCmd runs in its own process group
 * under a time limit.
 */
#ifndef MLB_SECRET_H
#define MLB_SECRET_H

#include <stddef.h>

/* What a redacted value reads as. */
#define MLB_REDACTED "[redacted]"

/* Values shorter than this are not redacted: they are no real keys ("none", "x") and would
 * mangle every text they occur in. */
#define MLB_SECRET_MIN 8

/* Remember value as a secret (copied), and turn core dumps off. */
void mlb_secret_add(const char *value);

/* Remember the user:password of a URL, if it has one. */
void mlb_secret_add_url(const char *url);

/* s with every registered secret and every URL's user:password replaced by MLB_REDACTED
 * (a new string the caller frees; NULL for NULL). */
char *mlb_redact(const char *s);

/* Whether mlb_redact() would change s. */
int mlb_redact_needed(const char *s);

/* Turn core dumps off for the rest of the process (RLIMIT_CORE 0, not dumpable). */
void mlb_secret_no_core(void);

/* The first control character's offset in key (a byte below 0x20, or 0x7f), or -1. */
long mlb_key_control(const char *key);

/*
 * Run cmd with /bin/sh in its own process group and return the first line of
 * its output (caller frees), or NULL with *why set (caller frees): it failed,
 * printed nothing, or ran longer than timeout_s seconds, when its whole
 * process group is killed.
 */
char *mlb_key_cmd(const char *cmd, double timeout_s, char **why);

#endif
