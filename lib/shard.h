/*
 * shard.h - one run from many: the sessions of a dataset's shards
 * (mlb-pipeline run --shard I/N, each on its own machine or MLB_HOME) are
 * merged into one session by git, and their event logs into one report.
 *
 * Shards of one run hold disjoint panes (r<row>.<pane>, each row in one
 * shard), so git merges their histories without a conflict but for
 * session.json, where the merged session keeps its own (-X ours).
 */
#ifndef MLB_SHARD_H
#define MLB_SHARD_H

#include <stddef.h>

/* Merge each of the sessions (a session id of $MLB_HOME, or the path of a session's directory)
 * into session into, made when missing; an exit status. */
int mlb_shard_merge(const char *into, char *const *from, size_t n);

/* Read the events of each log ("-" or none: stdin) and write one JUnit report and/or one HTML
 * report (either path NULL: not that one); an exit status. */
int mlb_shard_report(char *const *logs, size_t n, const char *junit, const char *html);

#endif
