/*
 * file.h - files written so that a crash never leaves half of one: the data
 * goes to a temporary file beside the final name, is synced, then renamed
 * over it.  Temporary files start with MLB_TMP_PREFIX, so that whoever owns
 * the directory (the session store) can sweep what a killed writer left.
 */
#ifndef MLB_FILE_H
#define MLB_FILE_H

#include <stddef.h>
#include <sys/stat.h>

#define MLB_TMP_PREFIX ".mlb-tmp-"

/* mkdir -p with mode for the directories it makes; -1 with errno set. */
int mlb_mkdirs(const char *path, mode_t mode);

/* Replace path with len bytes of data, all at once; with link, a symbolic link to data
 * instead.  st, if not NULL, gets the new file's status.  -1 with errno set. */
int mlb_file_replace(const char *path, const void *data, size_t len, mode_t mode, int link, struct stat *st);

/* Replace path with data as mlb_file_replace does, and sync its directory so that the name lasts too. */
int mlb_file_write(const char *path, const void *data, size_t len);

/* The whole of a file, NUL-terminated (caller frees); NULL with errno set. */
char *mlb_file_read(const char *path, size_t *len);

/* fsync a directory, so that a rename in it survives a crash. */
void mlb_sync_dir(const char *dir);

/* The directory part of path ("." when there is none); caller frees. */
char *mlb_dir_of(const char *path);

#endif
