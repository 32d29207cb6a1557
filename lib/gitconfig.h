/*
 * gitconfig.h - a reader for git-config syntax, as git itself parses it:
 * [section] and [section "subsection"] headers, key = value lines, # and ;
 * comments, double quotes, the escapes \\ \" \n \t \b and a backslash at the
 * end of a line to continue a value.
 *
 * Names come out canonical: section and key lowercased, the subsection as
 * written ("provider.Local.baseurl").  One departure from git: '_' is
 * allowed in key names and dropped, since DESIGN.md and users write
 * base_url, which then reads as baseUrl.  Values keep their '_'.
 *
 * mlb reads its settings with this instead of libgit2's configuration API
 * because initialising libgit2 loads the system's CA store, which costs a
 * tool that never opens a session more than all the rest of its start-up.
 */
#ifndef MLB_GITCONFIG_H
#define MLB_GITCONFIG_H

#include <stddef.h>

/* Called for each entry in order, with the line its key is on; value is
 * NULL for a key without '='.  A non-zero return stops the parse and is
 * returned. */
typedef int (*mlb_gitconfig_fn)(const char *name, const char *value, int line, void *ctx);

/* Parse text; 0 when all of it is valid, else -1 with "line N: <problem>"
 * in err (entries before the bad line have been passed to fn). */
int mlb_gitconfig_parse(const char *text, size_t len, mlb_gitconfig_fn fn, void *ctx,
			char *err, size_t errlen);

/* Canonical form of a lookup key such as "limit.lineBytes" (caller frees). */
char *mlb_gitconfig_key(const char *key);

#endif
