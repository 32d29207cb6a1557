/*
 * gitindex.h - adding a few entries to a git index file (.git/index) of the
 * plain kind, without libgit2, for a caller that holds index.lock.
 *
 * A turn adds a few files to a session, but libgit2 reads, checks and
 * writes the whole index to do so, with a collision-detecting SHA-1 that
 * costs some thirty instructions a byte: beside 5,000 messages that was a
 * third of a turn.  This copies the entries that stay as they are, byte
 * for byte, and merges in the edits, as git itself would write them
 * (version 2 or 3, entries sorted by path, the SHA-1 of it all at the end).
 * Anything else (version 4, entries with extended flags or conflict stages,
 * required extensions such as a split or sparse index) is not "plain", and
 * is the caller's to hand to libgit2 or to leave alone; optional extensions
 * (the cache tree, untracked cache, fsmonitor data) are dropped, which git
 * allows.
 */
#ifndef MLB_GITINDEX_H
#define MLB_GITINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* One path to put in the index, or with remove, to take out (stage 0). */
struct mlb_index_edit {
	char *path;		/* owned by whoever fills the array */
	int remove;
	uint32_t ctime_s, ctime_ns, mtime_s, mtime_ns, dev, ino, mode, uid, gid, size;
	unsigned char id[20];
};

struct mlb_index_span;

/* An index file as read. */
struct mlb_index {
	unsigned char *data;
	size_t len;
	struct timespec mtime;
	int plain;		/* version 2 or 3, a right checksum, no extended or staged entry, no required extension */
	char required[5];	/* the required extension seen, when that is why it is not plain */
	struct mlb_index_span *v;	/* plain: the entries */
	size_t n;
};

/* Read the index file at path: 0, or -1 with errno set (ENOENT: there is none). */
int mlb_index_read(const char *path, struct mlb_index *x);
/* A plain index's stage-0 entry for path: 1 with its id and mode, 0 when there is none. */
int mlb_index_find(const struct mlb_index *x, const char *path, unsigned char id[20], uint32_t *mode);
/* Write the plain index x with n edits (any order, one per path) to fd, and sync it; -1 with errno. */
int mlb_index_write(const struct mlb_index *x, int fd, struct mlb_index_edit *edits, size_t n);
void mlb_index_free(struct mlb_index *x);

/* SHA-1 of data, as git checksums its files with. */
void mlb_sha1(const void *data, size_t len, unsigned char out[20]);

#endif
