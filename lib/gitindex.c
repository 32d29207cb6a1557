#include "gitindex.h"
#include "file.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* An entry of the index. */
struct mlb_index_span {
	const unsigned char *p;
	size_t len;
	const char *name;
	size_t namelen;
};

/* The entries of an index file of version 2 or 3 with a right checksum: 0, or 1 when it is not one
 * this module may rewrite (x->required names a required extension when that is why). */
static int parse(struct mlb_index *x)
{
	const unsigned char *data = x->data;
	unsigned char sum[CHECKSUM];
	size_t off = 12, end, i, n, len = x->len;
	struct mlb_index_span *v;

	if (len < 12 + CHECKSUM || memcmp(data, "DIRC", 4) != 0 || (get32(data + 4) != 2 && get32(data + 4) != 3))
		return 1;
	end = len - CHECKSUM;
	mlb_sha1(data, end, sum);
	if (memcmp(sum, data + end, CHECKSUM) != 0)
		return 1;
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
	/* Optional extensions (upper case: TREE, REUC, UNTR, FSMN...) are dropped on writing, which git
	 * allows; one in lower case (link: a split index, sdir: a sparse one) must be understood. */
	while (off < end) {
		if (end - off < 8 || get32(data + off + 4) > end - off - 8)
			goto other;
		if (data[off] < 'A' || data[off] > 'Z') {
			memcpy(x->required, data + off, 4);
			goto other;
		}
		off += 8 + get32(data + off + 4);
	}
	x->v = v;
	x->n = n;
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

int mlb_index_read(const char *path, struct mlb_index *x)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;
	struct stat st;

	memset(x, 0, sizeof(*x));
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	x->mtime = st.st_mtim;
	x->data = mlb_xmalloc((size_t)st.st_size + 1);
	while (x->len < (size_t)st.st_size) {
		ssize_t r = read(fd, x->data + x->len, (size_t)st.st_size - x->len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		x->len += (size_t)r;
	}
	close(fd);
	if (x->len != (size_t)st.st_size) {
		mlb_index_free(x);
		errno = EIO;
		return -1;
	}
	x->plain = parse(x) == 0;
	return 0;
}

int mlb_index_find(const struct mlb_index *x, const char *path, unsigned char id[20], uint32_t *mode)
{
	size_t lo = 0, hi = x->n, len = strlen(path);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(x->v[mid].name, x->v[mid].namelen, path, len);

		if (c == 0) {
			memcpy(id, x->v[mid].p + 40, 20);
			*mode = get32(x->v[mid].p + 24);
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int mlb_index_write(const struct mlb_index *x, int fd, struct mlb_index_edit *edits, size_t n)
{
	unsigned char *out, sum[CHECKSUM];
	size_t cap = x->len, o, i, j, kept = 0;
	int ret;

	if (n > 0)	/* edits may be NULL then */
		qsort(edits, n, sizeof(*edits), edit_cmp);
	for (j = 0; j < n; j++) {
		if (j > 0 && strcmp(edits[j - 1].path, edits[j].path) == 0) {
			errno = EINVAL;
			return -1;
		}
		cap += entry_len(strlen(edits[j].path));
	}
	out = mlb_xmalloc(cap + CHECKSUM);
	memcpy(out, x->data, 8);
	o = 12;
	for (i = j = 0; i < x->n || j < n; ) {
		int c = i == x->n ? 1 : j == n ? -1 :
			name_cmp(x->v[i].name, x->v[i].namelen, edits[j].path, strlen(edits[j].path));

		if (c < 0) {
			const unsigned char *p = x->v[i].p;

			memcpy(out + o, p, x->v[i].len);
			/* Changed in the same tick as the old index was written, a file could still look
			 * unchanged by its stat data: git's "racily clean".  Git reads an entry whose size
			 * is 0 as one to compare by content, and so must the next reader of this one. */
			if (get32(p + 8) > (uint32_t)x->mtime.tv_sec ||
			    (get32(p + 8) == (uint32_t)x->mtime.tv_sec && get32(p + 12) >= (uint32_t)x->mtime.tv_nsec))
				put32(out + o + 36, 0);
			o += x->v[i].len;
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
	ret = write_all(fd, out, o + CHECKSUM) < 0 || fsync(fd) < 0 ? -1 : 0;
	free(out);
	return ret;
}

void mlb_index_free(struct mlb_index *x)
{
	free(x->v);
	free(x->data);
	memset(x, 0, sizeof(*x));
}
