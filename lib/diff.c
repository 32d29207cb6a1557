/*
 * diff.c - token diff with Myers' O(ND) algorithm in linear space.
 *
 * The steps: cut both texts into tokens, intern every token as an integer
 * so that comparing tokens is comparing integers, mark the tokens that are
 * not part of a longest common subsequence, then walk both marked sequences
 * and emit one op per run of equal, deleted or inserted tokens.  Before the
 * search, the common prefix and suffix are stripped and tokens that occur
 * in only one text are marked at once and left out (they can never match).
 *
 * The comparison follows Myers, "An O(ND) Difference Algorithm and Its
 * Variations" (1986), section 4b: search forward from the start and
 * backward from the end at the same time until the two searches meet on a
 * "middle snake", split the problem there and recurse.  The code keeps the
 * shape of GNU diff's diffseq.h so that it can be checked against it.
 *
 * Cost cap: a minimal diff of two unrelated texts costs O(N*D) = O(N^2)
 * for N tokens.  Once the search in one sub-problem has taken more than
 * sqrt(N) + 128 steps (each step is one more edit in each direction), it
 * stops and splits at the diagonal that has got furthest so far, as GNU
 * diff does when a diff becomes "too expensive".  Both halves are still
 * diffed, so the result stays a valid diff, just no longer guaranteed
 * minimal; the whole costs about O(N^1.5), in proportion to the cap.
 * Diffs of fewer than about 2*sqrt(N) + 256 edits never reach the cap and
 * are minimal.
 */
#include "diff.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One text cut into tokens: token i is text[off[i] .. off[i+1]). */
struct seq {
	const char *text;
	size_t n;		/* number of tokens */
	size_t *off;		/* n + 1 offsets */
	size_t *id;		/* interned token numbers */
	unsigned char *chg;	/* 1 if token i is deleted (a) or inserted (b) */
};

/* A distinct token seen while interning. */
struct uniq {
	const unsigned char *p;
	size_t len;
};

/* A place in the table: id is 1 + the index into u, 0 when the place is empty. */
struct slot {
	uint64_t hash;
	size_t id;
};

/*
 * Open addressing with linear probing, kept at most half full; u has room
 * for that half.  One-byte tokens (a space between words is every other
 * token of prose) are also kept by their byte, which skips the hash.
 */
struct intern {
	struct slot *slot;
	size_t mask;
	struct uniq *u;
	size_t nu;
	size_t byte[256];	/* 1 + the id of each one-byte token, 0 until seen */
};

/* The tokens of one text that take part in the search. */
struct side {
	size_t n;
	size_t *id;		/* their ids */
	size_t *map;		/* their index in the whole text */
};

/* Shared state of one comparison. */
struct ctx {
	const size_t *x, *y;		/* token ids searched */
	const size_t *xmap, *ymap;	/* from searched index to token index */
	unsigned char *xchg, *ychg;	/* by token index */
	ptrdiff_t *fd, *bd;		/* forward and backward V arrays, by diagonal */
	ptrdiff_t too_expensive;	/* the edit cost at which diag() gives up */
};

/* Where diag() split a sub-problem, and which halves are known cheap. */
struct part {
	ptrdiff_t xmid, ymid;
	bool lo_minimal, hi_minimal;
};

/* White space, where words end: runs of it, and runs of the rest, are tokens. */
static const unsigned char space_class[256] = {
	['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1
};

/*
 * Length of the UTF-8 sequence at s (n bytes left), or 1 when it is not a
 * well-formed one (Unicode table 3-7: no overlongs, surrogates or values
 * past U+10FFFF), so that any byte string still cuts into tokens.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t k, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		k = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		k = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		k = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 1;
	}
	if (n < k || s[1] < lo || s[1] > hi)
		return 1;
	for (i = 2; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return k;
}

/* Offset just past the token that starts at offset i of s. */
static inline size_t token_end(const unsigned char *s, size_t len, size_t i, enum mlb_diff_unit unit)
{
	const unsigned char *nl;
	unsigned char c;

	switch (unit) {
	case MLB_DIFF_LINES:
		nl = memchr(s + i, '\n', len - i);
		return nl ? (size_t)(nl - s) + 1 : len;
	case MLB_DIFF_CHARS:
		return i + utf8_len(s + i, len - i);
	case MLB_DIFF_WORDS:
	default:
		c = space_class[s[i]];
		for (i++; i < len && space_class[s[i]] == c; i++)
			;
		return i;
	}
}

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t load32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The 64-bit finaliser of MurmurHash3: a bijection that spreads every input bit to every output bit. */
static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdu;
	x ^= x >> 33;
	return x;
}

/*
 * Eight bytes at a time, and the last one to eight bytes in two
 * overlapping loads, so that a token of a few bytes (most words) costs two
 * multiplications rather than one per byte, and no load leaves the token.
 */
static inline uint64_t hash_bytes(const unsigned char *p, size_t len)
{
	uint64_t h = len, v = 0;

	for (; len > 8; p += 8, len -= 8)
		h = mix(h ^ load64(p));
	if (len >= 4)
		v = load32(p) << 32 | load32(p + len - 4);
	else if (len > 0)
		v = (uint64_t)p[0] << 16 | (uint64_t)p[len >> 1] << 8 | p[len - 1];
	return mix(h ^ v);
}

/* Whether p and q hold the same len bytes; inline, since most tokens are shorter than a call to memcmp. */
static inline bool same_bytes(const unsigned char *p, const unsigned char *q, size_t len)
{
	for (; len > 8; p += 8, q += 8, len -= 8)
		if (load64(p) != load64(q))
			return false;
	if (len >= 4)
		return load32(p) == load32(q) && load32(p + len - 4) == load32(q + len - 4);
	/* First, middle and last byte: all of them, up to three. */
	return len == 0 || (p[0] == q[0] && p[len >> 1] == q[len >> 1] && p[len - 1] == q[len - 1]);
}

/* Distinct tokens are few next to all tokens (a few hundred words in a paragraph's run): start
 * small and double as they come, so that no call pays for clearing and touching a big table. */
static int intern_init(struct intern *t)
{
	size_t cap = 256;

	*t = (struct intern){ .mask = cap - 1 };
	t->slot = calloc(cap, sizeof(*t->slot));
	t->u = malloc(cap / 2 * sizeof(*t->u));
	return t->slot && t->u ? 0 : -1;
}

/* Double the table, moving every entry by the hash it keeps. */
static int intern_grow(struct intern *t)
{
	size_t cap = (t->mask + 1) * 2, i, k;
	struct slot *slot;
	struct uniq *u;

	if (cap > SIZE_MAX / sizeof(*slot))
		return -1;
	u = realloc(t->u, cap / 2 * sizeof(*u));
	if (!u)
		return -1;
	t->u = u;
	slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return -1;
	for (i = 0; i <= t->mask; i++) {
		if (!t->slot[i].id)
			continue;
		for (k = (size_t)t->slot[i].hash & (cap - 1); slot[k].id; k = (k + 1) & (cap - 1))
			;
		slot[k] = t->slot[i];
	}
	free(t->slot);
	t->slot = slot;
	t->mask = cap - 1;
	return 0;
}

/* The number of the token p[0..len), new if it was not seen before; SIZE_MAX when out of memory. */
static inline size_t intern_token(struct intern *t, const unsigned char *p, size_t len)
{
	uint64_t h;
	size_t i;
	const struct uniq *u;

	if (len == 1 && t->byte[p[0]])
		return t->byte[p[0]] - 1;
	h = hash_bytes(p, len);
	i = (size_t)h & t->mask;
	for (; t->slot[i].id; i = (i + 1) & t->mask) {
		u = &t->u[t->slot[i].id - 1];
		if (t->slot[i].hash == h && u->len == len && same_bytes(u->p, p, len))
			return t->slot[i].id - 1;
	}
	t->u[t->nu] = (struct uniq){ p, len };
	t->slot[i] = (struct slot){ h, ++t->nu };
	if (len == 1)
		t->byte[p[0]] = t->nu;
	/* At most half full, so probe runs stay short (and u has room for the next one). */
	if (t->nu * 2 > t->mask && intern_grow(t) < 0)
		return SIZE_MAX;
	return t->nu - 1;
}

static void intern_free(struct intern *t)
{
	free(t->slot);
	free(t->u);
}

/* Make room for at least n tokens and the offset after them. */
static int seq_reserve(struct seq *q, size_t n, size_t *cap)
{
	size_t *off, *id;

	if (n + 1 < *cap)
		return 0;
	while (*cap <= n + 1)
		*cap = *cap ? *cap * 2 : 64;
	if (*cap > SIZE_MAX / 2 / sizeof(*off))
		return -1;
	off = realloc(q->off, *cap * sizeof(*off));
	if (off)
		q->off = off;
	id = realloc(q->id, *cap * sizeof(*id));
	if (id)
		q->id = id;
	return off && id ? 0 : -1;
}

/*
 * Cut s into tokens and number each one in the same pass, while its bytes
 * are still in cache: a text is read once, and the work per token is a
 * hash of a few loads and, mostly, one probe.
 */
static int tokenise(struct intern *t, struct seq *q, const char *s, size_t len, enum mlb_diff_unit unit)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, j, n = 0, cap = 0, id;

	q->text = s;
	/* A guess from the length, so that most texts never reallocate: in prose the common words
	 * are short, and every other token is a space. */
	if (seq_reserve(q, unit == MLB_DIFF_LINES ? len / 32 : unit == MLB_DIFF_WORDS ? len / 2 : len, &cap) < 0)
		return -1;
	for (i = 0; i < len; i = j, n++) {
		j = token_end(u, len, i, unit);
		id = intern_token(t, u + i, j - i);
		if (id == SIZE_MAX || (n + 1 >= cap && seq_reserve(q, n + 1, &cap) < 0))
			return -1;
		q->off[n] = i;
		q->id[n] = id;
	}
	q->off[n] = len;
	q->n = n;
	q->chg = calloc(n ? n : 1, 1);
	return q->chg ? 0 : -1;
}

/*
 * Heuristic split for when the search got too expensive: the forward
 * diagonal that got furthest (largest x + y) or the backward one that got
 * furthest back, whichever made more progress.  The half that the chosen
 * search has covered is known to cost at most c, so only it is "minimal".
 */
static void split_best(const struct ctx *cx, ptrdiff_t xoff, ptrdiff_t xlim,
		       ptrdiff_t yoff, ptrdiff_t ylim, ptrdiff_t fmin, ptrdiff_t fmax,
		       ptrdiff_t bmin, ptrdiff_t bmax, struct part *part)
{
	ptrdiff_t d, x, y, fxy = -1, fx = xoff, bxy = PTRDIFF_MAX, bx = xlim;

	for (d = fmax; d >= fmin; d -= 2) {
		x = cx->fd[d] < xlim ? cx->fd[d] : xlim;
		y = x - d;
		if (y > ylim) {
			x = ylim + d;
			y = ylim;
		}
		if (x + y > fxy) {
			fxy = x + y;
			fx = x;
		}
	}
	for (d = bmax; d >= bmin; d -= 2) {
		x = cx->bd[d] > xoff ? cx->bd[d] : xoff;
		y = x - d;
		if (y < yoff) {
			x = yoff + d;
			y = yoff;
		}
		if (x + y < bxy) {
			bxy = x + y;
			bx = x;
		}
	}
	if ((xlim + ylim) - bxy < fxy - (xoff + yoff)) {
		*part = (struct part){ fx, fxy - fx, true, false };
	} else {
		*part = (struct part){ bx, bxy - bx, false, true };
	}
}

/* lo <= d <= hi in one comparison: the searches check it on every diagonal. */
static inline bool in_range(ptrdiff_t d, ptrdiff_t lo, ptrdiff_t hi)
{
	return (size_t)(d - lo) <= (size_t)(hi - lo);
}

/*
 * Find the midpoint of the shortest edit script for x[xoff..xlim) and
 * y[yoff..ylim), which must differ at both ends (the caller stripped the
 * common prefix and suffix).  Diagonal d holds the points with x - y == d;
 * fd[d] is the furthest x the forward search reached on it and bd[d] the
 * smallest x the backward search reached.  After c steps the searches
 * overlap exactly when the edit cost is at most 2c (or 2c - 1), and the
 * snake where they meet lies on an optimal path.
 */
static void diag(struct ctx *cx, ptrdiff_t xoff, ptrdiff_t xlim, ptrdiff_t yoff,
		 ptrdiff_t ylim, bool find_minimal, struct part *part)
{
	ptrdiff_t *const fd = cx->fd, *const bd = cx->bd;
	const size_t *const xv = cx->x, *const yv = cx->y;
	const ptrdiff_t dmin = xoff - ylim, dmax = xlim - yoff;
	const ptrdiff_t fmid = xoff - yoff, bmid = xlim - ylim;
	ptrdiff_t fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
	ptrdiff_t c, d, x, y, x0;
	/* Odd delta: the forward search meets the backward one; even: vice versa. */
	const bool odd = (fmid - bmid) % 2 != 0;

	fd[fmid] = xoff;
	bd[bmid] = xlim;
	for (c = 1;; c++) {
		/* Widen by one diagonal each side, or shrink at the edges. */
		if (fmin > dmin)
			fd[--fmin - 1] = -1;
		else
			fmin++;
		if (fmax < dmax)
			fd[++fmax + 1] = -1;
		else
			fmax--;
		for (d = fmax; d >= fmin; d -= 2) {
			x0 = fd[d - 1] < fd[d + 1] ? fd[d + 1] : fd[d - 1] + 1;
			for (x = x0, y = x0 - d; x < xlim && y < ylim && xv[x] == yv[y]; x++, y++)
				;
			fd[d] = x;
			if (odd && in_range(d, bmin, bmax) && bd[d] <= x) {
				*part = (struct part){ x, y, true, true };
				return;
			}
		}

		if (bmin > dmin)
			bd[--bmin - 1] = PTRDIFF_MAX;
		else
			bmin++;
		if (bmax < dmax)
			bd[++bmax + 1] = PTRDIFF_MAX;
		else
			bmax--;
		for (d = bmax; d >= bmin; d -= 2) {
			x0 = bd[d - 1] < bd[d + 1] ? bd[d - 1] : bd[d + 1] - 1;
			for (x = x0, y = x0 - d; x > xoff && y > yoff && xv[x - 1] == yv[y - 1]; x--, y--)
				;
			bd[d] = x;
			if (!odd && in_range(d, fmin, fmax) && x <= fd[d]) {
				*part = (struct part){ x, y, true, true };
				return;
			}
		}

		if (!find_minimal && c >= cx->too_expensive) {
			split_best(cx, xoff, xlim, yoff, ylim, fmin, fmax, bmin, bmax, part);
			return;
		}
	}
}

static void mark(unsigned char *chg, const size_t *map, ptrdiff_t lo, ptrdiff_t hi)
{
	for (; lo < hi; lo++)
		chg[map[lo]] = 1;
}

/*
 * Mark the tokens of x[xoff..xlim) and y[yoff..ylim) that are not in the
 * common subsequence.  Recurse into the smaller half and loop on the
 * larger, so the stack stays O(log N) even when the cost cap makes the
 * splits lopsided.
 */
static void compareseq(struct ctx *cx, ptrdiff_t xoff, ptrdiff_t xlim,
		       ptrdiff_t yoff, ptrdiff_t ylim, bool find_minimal)
{
	struct part p;

	for (;;) {
		while (xoff < xlim && yoff < ylim && cx->x[xoff] == cx->y[yoff])
			xoff++, yoff++;
		while (xoff < xlim && yoff < ylim && cx->x[xlim - 1] == cx->y[ylim - 1])
			xlim--, ylim--;
		if (xoff == xlim || yoff == ylim) {
			mark(cx->ychg, cx->ymap, yoff, ylim);
			mark(cx->xchg, cx->xmap, xoff, xlim);
			return;
		}
		diag(cx, xoff, xlim, yoff, ylim, find_minimal, &p);
		if ((p.xmid - xoff) + (p.ymid - yoff) < (xlim - p.xmid) + (ylim - p.ymid)) {
			compareseq(cx, xoff, p.xmid, yoff, p.ymid, p.lo_minimal);
			xoff = p.xmid, yoff = p.ymid, find_minimal = p.hi_minimal;
		} else {
			compareseq(cx, p.xmid, xlim, p.ymid, ylim, p.hi_minimal);
			xlim = p.xmid, ylim = p.ymid, find_minimal = p.lo_minimal;
		}
	}
}

/*
 * The edit cost at which a sub-problem of a problem with n diagonals stops
 * searching: sqrt(n) plus a floor so that ordinary answers (a few hundred
 * edits) always get a minimal diff.  Unrelated texts pay about the cap per
 * token (each capped search costs its square and gets about as far as it),
 * so the cap is no higher than that promise needs.  Integer square root,
 * so no libm.
 */
static ptrdiff_t cost_bound(size_t n)
{
	size_t r = 1;

	while (r * r < n)
		r++;
	return (ptrdiff_t)r + 128;
}

/*
 * Collect the tokens q[lo..hi) whose id has the bit other in seen, that
 * is, that also occur in the other text; mark the rest changed right away.
 * A token unique to one text cannot be in any common subsequence, so
 * leaving it out keeps the diff minimal, and it shrinks the search a lot
 * when the texts are unrelated.
 */
static int squeeze(struct side *s, struct seq *q, size_t lo, size_t hi,
		   const unsigned char *seen, unsigned char other)
{
	size_t i;

	s->n = 0;
	s->id = malloc((hi - lo + 1) * sizeof(*s->id));
	s->map = malloc((hi - lo + 1) * sizeof(*s->map));
	if (!s->id || !s->map)
		return -1;
	for (i = lo; i < hi; i++) {
		if (seen[q->id[i]] & other) {
			s->id[s->n] = q->id[i];
			s->map[s->n++] = i;
		} else {
			q->chg[i] = 1;
		}
	}
	return 0;
}

/* Run the linear-space search on the squeezed middles of a and b. */
static int search(struct seq *a, struct seq *b, const struct side *xs, const struct side *ys)
{
	/* Diagonals run from -ys->n - 1 to xs->n + 1. */
	size_t ndiags = xs->n + ys->n + 3;
	struct ctx cx = { xs->id, ys->id, xs->map, ys->map, a->chg, b->chg, NULL, NULL, 0 };
	ptrdiff_t *buf;

	if (ndiags > PTRDIFF_MAX / 2 / sizeof(*buf))
		return -1;
	buf = malloc(2 * ndiags * sizeof(*buf));
	if (!buf)
		return -1;
	cx.fd = buf + ys->n + 1;
	cx.bd = cx.fd + ndiags;
	cx.too_expensive = cost_bound(ndiags);
	compareseq(&cx, 0, (ptrdiff_t)xs->n, 0, (ptrdiff_t)ys->n, false);
	free(buf);
	return 0;
}

/*
 * Mark the changed tokens of a and b (nuniq distinct ids between them):
 * strip the common ends, drop the tokens the other side lacks, search.
 */
static int compare(struct seq *a, struct seq *b, size_t nuniq)
{
	size_t xoff = 0, xlim = a->n, yoff = 0, ylim = b->n, i;
	struct side xs = { 0 }, ys = { 0 };
	unsigned char *seen;
	int rc = -1;

	while (xoff < xlim && yoff < ylim && a->id[xoff] == b->id[yoff])
		xoff++, yoff++;
	while (xoff < xlim && yoff < ylim && a->id[xlim - 1] == b->id[ylim - 1])
		xlim--, ylim--;
	seen = calloc(nuniq ? nuniq : 1, 1);
	if (!seen)
		return -1;
	for (i = xoff; i < xlim; i++)
		seen[a->id[i]] |= 1;
	for (i = yoff; i < ylim; i++)
		seen[b->id[i]] |= 2;
	if (squeeze(&xs, a, xoff, xlim, seen, 2) == 0 && squeeze(&ys, b, yoff, ylim, seen, 1) == 0)
		rc = search(a, b, &xs, &ys);
	free(seen);
	free(xs.id);
	free(xs.map);
	free(ys.id);
	free(ys.map);
	return rc;
}

/* Store op k if d has room for it (the first pass only counts). */
static void emit(struct mlb_diff *d, size_t k, enum mlb_diff_opkind op,
		 const struct seq *q, size_t from, size_t to)
{
	size_t len = q->off[to] - q->off[from];

	if (!d->ops)
		return;
	d->ops[k] = (struct mlb_diff_op){ op, q->text + q->off[from], len };
	if (op == MLB_DIFF_EQUAL)
		d->equal_bytes += len;
	else if (op == MLB_DIFF_DELETE)
		d->deleted_bytes += len;
	else
		d->inserted_bytes += len;
}

/*
 * Walk both marked sequences together: a run of deleted tokens, then a run
 * of inserted ones, then a run of unchanged ones that pair up one to one.
 * Returns the number of ops.
 */
static size_t build_ops(const struct seq *a, const struct seq *b, struct mlb_diff *d)
{
	size_t i = 0, j = 0, i0, j0, k = 0;

	while (i < a->n || j < b->n) {
		i0 = i, j0 = j;
		if (i < a->n && a->chg[i]) {
			while (i < a->n && a->chg[i])
				i++;
			emit(d, k++, MLB_DIFF_DELETE, a, i0, i);
		} else if (j < b->n && b->chg[j]) {
			while (j < b->n && b->chg[j])
				j++;
			emit(d, k++, MLB_DIFF_INSERT, b, j0, j);
		} else {
			while (i < a->n && j < b->n && !a->chg[i] && !b->chg[j])
				i++, j++;
			if (i == i0)
				break;	/* cannot happen: unchanged tokens pair up */
			emit(d, k++, MLB_DIFF_EQUAL, a, i0, i);
		}
	}
	return k;
}

static void seq_free(struct seq *q)
{
	free(q->off);
	free(q->id);
	free(q->chg);
}

/* Tokenise and intern both texts; the table is freed before the search. */
static int prepare(struct seq *a, struct seq *b, const char *as, size_t alen,
		   const char *bs, size_t blen, enum mlb_diff_unit unit, size_t *nuniq)
{
	struct intern t;
	int rc = -1;

	if (intern_init(&t) == 0 && tokenise(&t, a, as, alen, unit) == 0 &&
	    tokenise(&t, b, bs, blen, unit) == 0) {
		*nuniq = t.nu;
		rc = 0;
	}
	intern_free(&t);
	return rc;
}

int mlb_diff(const char *a, size_t alen, const char *b, size_t blen,
	     enum mlb_diff_unit unit, struct mlb_diff *out)
{
	struct seq sa = { 0 }, sb = { 0 };
	size_t n, nuniq = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (prepare(&sa, &sb, a, alen, b, blen, unit, &nuniq) < 0 || compare(&sa, &sb, nuniq) < 0)
		goto done;
	n = build_ops(&sa, &sb, out);
	out->ops = malloc((n ? n : 1) * sizeof(*out->ops));
	if (!out->ops)
		goto done;
	out->nops = build_ops(&sa, &sb, out);
	out->similarity = 1.0;
	if (alen + blen)
		out->similarity = 2.0 * (double)out->equal_bytes / ((double)alen + (double)blen);
	rc = 0;
done:
	seq_free(&sa);
	seq_free(&sb);
	if (rc < 0)
		errno = ENOMEM;	/* every failure above is an allocation failure */
	return rc;
}

void mlb_diff_free(struct mlb_diff *d)
{
	free(d->ops);
	memset(d, 0, sizeof(*d));
}

const char *mlb_diff_opname(enum mlb_diff_opkind op)
{
	switch (op) {
	case MLB_DIFF_EQUAL:
		return "equal";
	case MLB_DIFF_DELETE:
		return "delete";
	case MLB_DIFF_INSERT:
		return "insert";
	}
	return "unknown";
}
