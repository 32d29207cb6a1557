#include "gitindex.h"
#include "file.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- SHA-1 (FIPS 180-4) ---- */

static uint32_t rol(uint32_t x, int n)
{
	return x << n | x >> (32 - n);
}

/* One round.  The variables rotate through the macro's arguments instead of being moved, and the
 * schedule is computed as it is needed in 16 words: fully unrolled, each of the 80 rounds is a
 * handful of instructions that do not wait on memory. */
#define ROUND(a, b, c, d, e, f, k, x) do { \
		e += rol(a, 5) + f(b, c, d) + (k) + (x); \
		b = rol(b, 30); \
	} while (0)
#define CH(b, c, d) (d ^ (b & (c ^ d)))
#define PARITY(b, c, d) (b ^ c ^ d)
#define MAJ(b, c, d) ((b & c) | (d & (b | c)))
#define X(i) ((i) < 16 ? w[(i) & 15] : \
	      (w[(i) & 15] = rol(w[((i) + 13) & 15] ^ w[((i) + 8) & 15] ^ w[((i) + 2) & 15] ^ w[(i) & 15], 1)))
#define FIVE(f, k, i) do { \
		ROUND(a, b, c, d, e, f, k, X(i)); \
		ROUND(e, a, b, c, d, f, k, X((i) + 1)); \
		ROUND(d, e, a, b, c, f, k, X((i) + 2)); \
		ROUND(c, d, e, a, b, f, k, X((i) + 3)); \
		ROUND(b, c, d, e, a, f, k, X((i) + 4)); \
	} while (0)

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
	uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	FIVE(CH, 0x5A827999, 0);
	FIVE(CH, 0x5A827999, 5);
	FIVE(CH, 0x5A827999, 10);
	FIVE(CH, 0x5A827999, 15);
	FIVE(PARITY, 0x6ED9EBA1, 20);
	FIVE(PARITY, 0x6ED9EBA1, 25);
	FIVE(PARITY, 0x6ED9EBA1, 30);
	FIVE(PARITY, 0x6ED9EBA1, 35);
	FIVE(MAJ, 0x8F1BBCDC, 40);
	FIVE(MAJ, 0x8F1BBCDC, 45);
	FIVE(MAJ, 0x8F1BBCDC, 50);
	FIVE(MAJ, 0x8F1BBCDC, 55);
	FIVE(PARITY, 0xCA62C1D6, 60);
	FIVE(PARITY, 0xCA62C1D6, 65);
	FIVE(PARITY, 0xCA62C1D6, 70);
	FIVE(PARITY, 0xCA62C1D6, 75);
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void mlb_sha1(const void *data, size_t len, unsigned char out[20])
{
	uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
	const unsigned char *p = data;
	uint64_t bits = (uint64_t)len * 8;
	unsigned char tail[128];
	size_t i, end;

	for (; len >= 64; p += 64, len -= 64)
		sha1_block(h, p);
	memcpy(tail, p, len);
	tail[len] = 0x80;
	end = len < 56 ? 64 : 128;
	memset(tail + len + 1, 0, end - len - 1);
	for (i = 0; i < 8; i++)
		tail[end - 1 - i] = (unsigned char)(bits >> (8 * i));
	for (i = 0; i < end; i += 64)
		sha1_block(h, tail + i);
	for (i = 0; i < 20; i++)
		out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* ---- the index ---- */

/* Stat data (ten 32-bit words), the object id and the 16-bit flags, before the path. */
#define ENTRY_FIXED 62
#define FLAG_EXTENDED 0x4000
#define FLAG_STAGE 0x3000
#define NAME_MASK 0x0FFF
#define CHECKSUM 20

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* An entry's length on disk: the fixed part and the path, padded with 1 to 8 NULs to a multiple of 8. */
static size_t entry_len(size_t namelen)
{
	return (ENTRY_FIXED + namelen + 8) & ~(size_t)7;
}

/* Git's order of paths: bytes, then the shorter first. */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : alen < blen ? -1 : alen > blen;
}

static int edit_cmp(const void *x, const void *y)
{
	const struct mlb_index_edit *a = x, *b = y;

	return strcmp(a->path, b->path);
}

/* An entry of the old index. */
struct span {
	const unsigned char *p;
	size_t len;
	const char *name;
	size_t namelen;
};

/* The entries of an index file of version 2 or 3 with a right checksum (unless trusted): 0, or 1 when
 * it is not one this module may rewrite. */
static int parse(const unsigned char *data, size_t len, int trusted, struct span **out, size_t *count)
{
	unsigned char sum[CHECKSUM];
	size_t off = 12, end, i, n;
	struct span *v;

	*out = NULL;
	if (len < 12 + CHECKSUM || memcmp(data, "DIRC", 4) != 0 || (get32(data + 4) != 2 && get32(data + 4) != 3))
		return 1;
	end = len - CHECKSUM;
	if (!trusted) {
		mlb_sha1(data, end, sum);
		if (memcmp(sum, data + end, CHECKSUM) != 0)
			return 1;
	}
	n = get32(data + 8);
	if (n > (end - 12) / entry_len(1))
		return 1;
	v = mlb_xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		unsigned flags;
		const char *name;
		size_t namelen, el;

		if (end - off < ENTRY_FIXED + 1)
			goto other;
		flags = (unsigned)data[off + 60] << 8 | data[off + 61];
		if (flags & (FLAG_EXTENDED | FLAG_STAGE))
			goto other;
		name = (const char *)data + off + ENTRY_FIXED;
		namelen = flags & NAME_MASK;
		if (namelen == NAME_MASK)
			namelen = strnlen(name, end - off - ENTRY_FIXED);
		el = entry_len(namelen);
		if (el > end - off || name[namelen] != '\0')
			goto other;
		if (i > 0 && name_cmp(v[i - 1].name, v[i - 1].namelen, name, namelen) >= 0)
			goto other;
		v[i].p = data + off;
		v[i].len = el;
		v[i].name = name;
		v[i].namelen = namelen;
		off += el;
	}
	/* Extensions are dropped; one whose name is not upper case must be understood, so stop. */
	while (off < end) {
		if (end - off < 8 || data[off] < 'A' || data[off] > 'Z' || get32(data + off + 4) > end - off - 8)
			goto other;
		off += 8 + get32(data + off + 4);
	}
	*out = v;
	*count = n;
	return 0;
other:
	free(v);
	return 1;
}

static size_t put_edit(unsigned char *p, const struct mlb_index_edit *e)
{
	size_t namelen = strlen(e->path), el = entry_len(namelen);
	const uint32_t stat[10] = { e->ctime_s, e->ctime_ns, e->mtime_s, e->mtime_ns, e->dev, e->ino,
				    e->mode, e->uid, e->gid, e->size };
	size_t i;

	for (i = 0; i < 10; i++)
		put32(p + 4 * i, stat[i]);
	memcpy(p + 40, e->id, 20);
	p[60] = (unsigned char)((namelen < NAME_MASK ? namelen : NAME_MASK) >> 8);
	p[61] = (unsigned char)(namelen < NAME_MASK ? namelen : NAME_MASK);
	memcpy(p + ENTRY_FIXED, e->path, namelen);
	memset(p + ENTRY_FIXED + namelen, 0, el - ENTRY_FIXED - namelen);
	return el;
}

static void stamp_of(const struct stat *st, struct mlb_index_stamp *s)
{
	s->ino = (unsigned long long)st->st_ino;
	s->size = (unsigned long long)st->st_size;
	s->mtime_s = (long long)st->st_mtim.tv_sec;
	s->mtime_ns = st->st_mtim.tv_nsec;
	s->ctime_s = (long long)st->st_ctim.tv_sec;
	s->ctime_ns = st->st_ctim.tv_nsec;
}

/* How long to wait for another holder of index.lock: git add, or an editor refreshing its status,
 * keeps it for milliseconds. */
#define LOCK_TRIES 50
#define LOCK_PAUSE_NS (20 * 1000 * 1000)

/* Take path.lock as git does, before the index is read: whoever renames a new index over it while
 * we hold the lock would otherwise have their update lost under ours.  The descriptor, or -1. */
static int take_lock(const char *lock)
{
	int fd, tries;

	for (tries = 0;; tries++) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST || tries == LOCK_TRIES)
			return fd;
		nanosleep(&(struct timespec){ 0, LOCK_PAUSE_NS }, NULL);
	}
}

static int write_all(int fd, const unsigned char *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

int mlb_index_update(const char *path, const struct mlb_index_stamp *known, struct mlb_index_edit *edits,
		     size_t n, struct mlb_index_stamp *written)
{
	char *lock = mlb_xasprintf("%s.lock", path), *dir;
	int lfd = take_lock(lock), fd = -1, ret = 1, trusted, renamed = 0, e, rc;
	struct mlb_index_stamp now;
	unsigned char *old = NULL, *out = NULL, sum[CHECKSUM];
	struct timespec stamped;
	struct span *v = NULL;
	size_t len = 0, count = 0, cap, o, i, j, kept = 0;
	struct stat st;

	if (lfd < 0) {
		e = errno;
		free(lock);	/* someone else's lock: theirs to remove */
		errno = e;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ENOENT ? 1 : -1;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ret = -1;
		goto out;
	}
	stamped = st.st_mtim;
	stamp_of(&st, &now);
	trusted = known && known->ino == now.ino && known->size == now.size &&
		  known->mtime_s == now.mtime_s && known->mtime_ns == now.mtime_ns &&
		  known->ctime_s == now.ctime_s && known->ctime_ns == now.ctime_ns;
	old = mlb_xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, old + len, (size_t)st.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	fd = -1;
	if (len != (size_t)st.st_size || parse(old, len, trusted, &v, &count) != 0)
		goto out;
	if (n > 0)	/* edits may be NULL then */
		qsort(edits, n, sizeof(*edits), edit_cmp);
	cap = len;
	for (j = 0; j < n; j++) {
		if (j > 0 && strcmp(edits[j - 1].path, edits[j].path) == 0)
			goto out;
		cap += entry_len(strlen(edits[j].path));
	}
	out = mlb_xmalloc(cap + CHECKSUM);
	memcpy(out, old, 8);
	o = 12;
	for (i = j = 0; i < count || j < n; ) {
		int c = i == count ? 1 : j == n ? -1 :
			name_cmp(v[i].name, v[i].namelen, edits[j].path, strlen(edits[j].path));

		if (c < 0) {
			memcpy(out + o, v[i].p, v[i].len);
			/* Changed in the same tick as the old index was written, a file could still look
			 * unchanged by its stat data: git's "racily clean".  Git reads an entry whose size
			 * is 0 as one to compare by content, and so must the next reader of this one. */
			if (get32(v[i].p + 8) > (uint32_t)stamped.tv_sec ||
			    (get32(v[i].p + 8) == (uint32_t)stamped.tv_sec && get32(v[i].p + 12) >= (uint32_t)stamped.tv_nsec))
				put32(out + o + 36, 0);
			o += v[i].len;
			kept++;
			i++;
			continue;
		}
		if (c == 0)
			i++;
		if (!edits[j].remove) {
			o += put_edit(out + o, &edits[j]);
			kept++;
		}
		j++;
	}
	put32(out + 8, (uint32_t)kept);
	mlb_sha1(out, o, sum);
	memcpy(out + o, sum, CHECKSUM);
	ret = -1;
	if (write_all(lfd, out, o + CHECKSUM) < 0 || fsync(lfd) < 0)
		goto out;
	/* close() releases the descriptor even when it fails: never close it twice. */
	rc = close(lfd);
	lfd = -1;
	if (rc < 0 || rename(lock, path) < 0)
		goto out;
	renamed = 1;
	dir = mlb_dir_of(path);
	mlb_sync_dir(dir);
	free(dir);
	ret = 0;
	if (written) {
		memset(written, 0, sizeof(*written));
		if (lstat(path, &st) == 0)
			stamp_of(&st, written);
	}
out:
	e = errno;
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	if (!renamed)
		unlink(lock);	/* ours: taken above */
	free(lock);
	free(out);
	free(v);
	free(old);
	errno = e;
	return ret;
}
