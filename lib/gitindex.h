/*
 * gitindex.h - small edits to a git index file (.git/index), without
 * libgit2.
 *
 * A turn adds a few files to a session, but libgit2 reads, checks and
 * writes the whole index to do so, with a collision-detecting SHA-1 that
 * costs some thirty instructions a byte: beside 5,000 messages that was a
 * third of a turn.  This copies the entries that stay as they are, byte
 * for byte, and merges in the edits, as git itself would write them
 * (version 2 or 3, entries sorted by path, the SHA-1 of it all at the end,
 * written to index.lock and renamed; the lock is taken before the index is
 * read, so that no one else's update in between is lost).  Anything it does not know how to
 * keep (version 4, unmerged or extended entries, required extensions) is
 * left to the caller; optional extensions are dropped, which git allows.
 */
#ifndef MLB_GITINDEX_H
#define MLB_GITINDEX_H

#include <stddef.h>
#include <stdint.h>

/* One path to put in the index, or with remove, to take out (stage 0). */
struct mlb_index_edit {
	char *path;		/* owned by whoever fills the array */
	int remove;
	uint32_t ctime_s, ctime_ns, mtime_s, mtime_ns, dev, ino, mode, uid, gid, size;
	unsigned char id[20];
};

/* What lstat says of an index file.  Git and libgit2 replace the index by renaming a new file over
 * it, and a write in place changes its times: while all of this stays the same, the file is still
 * the one that was written, and its checksum need not be read again. */
struct mlb_index_stamp {
	unsigned long long ino, size;
	long long mtime_s, ctime_s;
	long mtime_ns, ctime_ns;
};

/* Apply n edits (in any order; one per path) to the index file at path: 0 when written, 1 when the
 * file is missing or of a kind this does not write (nothing was changed), -1 with errno set (EEXIST:
 * index.lock stayed taken by someone else for a second).  known
 * (may be NULL): the stamp of the index as it was last written, to spare checking its checksum;
 * written (may be NULL) gets the stamp of the new one. */
int mlb_index_update(const char *path, const struct mlb_index_stamp *known, struct mlb_index_edit *edits,
		     size_t n, struct mlb_index_stamp *written);

/* SHA-1 of data, as git checksums its files with. */
void mlb_sha1(const void *data, size_t len, unsigned char out[20]);

#endif
