#include "file.h"
#include "input.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mlb_mkdirs(const char *path, mode_t mode)
{
	char *p = mlb_xstrdup(path);
	int ret = 0;

	for (char *q = p + 1; ; q++) {
		if (*q == '/' || *q == '\0') {
			char c = *q;

			*q = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				ret = -1;
				break;
			}
			*q = c;
			if (!c)
				break;
		}
	}
	free(p);
	return ret;
}

void mlb_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

char *mlb_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? mlb_xstrndup(path, (size_t)(slash - path)) : mlb_xstrdup(".");
}

int mlb_file_replace(const char *path, const void *data, size_t len, mode_t mode, int link, struct stat *st)
{
	static unsigned long counter;
	const char *base = strrchr(path, '/');
	char *dir = mlb_dir_of(path), *tmp = NULL;
	const char *p = data;
	int fd = -1, tries, e;

	base = base ? base + 1 : path;
	for (tries = 0; tries < 100; tries++) {
		free(tmp);
		tmp = mlb_xasprintf("%s/" MLB_TMP_PREFIX "%ld-%lu-%s", dir, (long)getpid(), counter++, base);
		if (link) {
			char *target = mlb_xstrndup(data, len);
			int r = symlink(target, tmp);

			free(target);
			if (r == 0)
				break;
		} else {
			fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
			if (fd >= 0)
				break;
		}
		if (errno != EEXIST)
			goto fail;
	}
	if (fd < 0 && !link)
		goto fail;
	while (!link && len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fd >= 0) {
		if (fsync(fd) < 0)
			goto fail;
		if (close(fd) < 0) {
			fd = -1;
			goto fail;
		}
		fd = -1;
	}
	if (rename(tmp, path) < 0)
		goto fail;
	if (st && lstat(path, st) < 0)
		goto fail;
	free(tmp);
	free(dir);
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	errno = e;
	return -1;
}

int mlb_file_write(const char *path, const void *data, size_t len)
{
	char *dir;

	if (mlb_file_replace(path, data, len, 0644, 0, NULL) < 0)
		return -1;
	dir = mlb_dir_of(path);
	mlb_sync_dir(dir);
	free(dir);
	return 0;
}

char *mlb_file_read(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), saved;
	char *text;

	if (fd < 0)
		return NULL;
	text = mlb_read_all(fd, len);
	saved = errno;
	close(fd);
	errno = saved;
	return text;
}
