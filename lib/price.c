#include "price.h"
#include "msg.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/*
 * Open addressing with linear probing, kept at most three quarters full:
 * every tool loads the whole table at start-up and then asks for a handful
 * of names, so loading (fewer, smaller tables to fill) matters more than the
 * odd extra probe of a miss.
 */
struct slot {
	char *key;		/* "provider:model"; NULL when the slot is free */
	uint64_t hash;		/* of key, kept so that growing need not rehash */
	struct mlb_price price;
};

struct mlb_prices {
	struct slot *slot;
	size_t cap;		/* a power of two, or 0 before the first entry */
	size_t count;
};

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL
#define MIN_CAP 512

/*
 * Names are hashed and compared as two pieces, provider and model, so that
 * the fallbacks can try `openai` + a prefix of the model without building
 * a string for each guess.
 */
static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	while (n--) {
		h ^= (unsigned char)*s++;
		h *= FNV_PRIME;
	}
	return h;
}

static uint64_t hash_name(const char *prov, size_t plen, const char *model, size_t mlen)
{
	return fnv(fnv(fnv(FNV_OFFSET, prov, plen), ":", 1), model, mlen);
}

static int key_is(const char *key, const char *prov, size_t plen, const char *model, size_t mlen)
{
	return !strncmp(key, prov, plen) && key[plen] == ':' &&
	       !strncmp(key + plen + 1, model, mlen) && key[plen + 1 + mlen] == '\0';
}

/* The slot holding the name, or the free slot where it belongs. */
static struct slot *probe(const struct mlb_prices *t, uint64_t h, const char *prov, size_t plen,
			  const char *model, size_t mlen)
{
	size_t mask = t->cap - 1, i = (size_t)h & mask;

	for (;; i = (i + 1) & mask) {
		struct slot *s = &t->slot[i];

		if (!s->key || (s->hash == h && key_is(s->key, prov, plen, model, mlen)))
			return s;
	}
}

static const struct slot *find(const struct mlb_prices *t, const char *prov, size_t plen,
			       const char *model, size_t mlen)
{
	const struct slot *s;

	if (!t || !t->cap)
		return NULL;
	s = probe(t, hash_name(prov, plen, model, mlen), prov, plen, model, mlen);
	return s->key ? s : NULL;
}

static void grow(struct mlb_prices *t)
{
	size_t cap = t->cap ? t->cap * 2 : MIN_CAP, i, mask = cap - 1;
	struct slot *slot = mlb_xcalloc(cap, sizeof(*slot));

	for (i = 0; i < t->cap; i++) {
		struct slot *old = &t->slot[i];
		size_t j = (size_t)old->hash & mask;

		if (!old->key)
			continue;
		while (slot[j].key)
			j = (j + 1) & mask;
		slot[j] = *old;
	}
	free(t->slot);
	t->slot = slot;
	t->cap = cap;
}

struct mlb_prices *mlb_prices_new(void)
{
	return mlb_xcalloc(1, sizeof(struct mlb_prices));
}

void mlb_prices_free(struct mlb_prices *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->cap; i++)
		free(t->slot[i].key);
	free(t->slot);
	free(t);
}

static int valid_price(double v)
{
	return isfinite(v) && v >= 0;
}

int mlb_prices_set(struct mlb_prices *t, const char *model, double input, double output)
{
	const char *colon = model ? strchr(model, ':') : NULL;
	size_t plen, mlen;
	struct slot *s;
	uint64_t h;

	if (!colon || colon == model || !colon[1] || !valid_price(input) || !valid_price(output)) {
		errno = EINVAL;
		return -1;
	}
	plen = (size_t)(colon - model);
	mlen = strlen(colon + 1);
	if ((t->count + 1) * 4 > t->cap * 3)
		grow(t);
	h = hash_name(model, plen, colon + 1, mlen);
	s = probe(t, h, model, plen, colon + 1, mlen);
	if (!s->key) {
		s->key = mlb_xstrdup(model);
		s->hash = h;
		t->count++;
	}
	s->price.input = input;
	s->price.output = output;
	s->price.cached = -1;
	return 0;
}

/* The cached input price of an entry just set. */
static void set_cached(struct mlb_prices *t, const char *model, double cached)
{
	const char *colon = strchr(model, ':');
	size_t plen = (size_t)(colon - model), mlen = strlen(colon + 1);
	struct slot *s = probe(t, hash_name(model, plen, colon + 1, mlen), model, plen, colon + 1, mlen);

	if (s->key)
		s->price.cached = cached;
}

/* Exactly n decimal digits, as a number. */
static int digits(const char *s, int n)
{
	int v = 0;

	while (n--) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	return v;
}

static int plausible_date(int y, int m, int d)
{
	return y >= 1990 && y <= 2099 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/*
 * The length of the model name without a trailing snapshot date, or mlen
 * when there is none.  The date must look like one, so that a size or a
 * build number (`-16k`, `-0613`, `-12345678`) is not taken for it.
 */
static size_t undated_len(const char *m, size_t mlen)
{
	const char *d;

	if (mlen > 11) {
		d = m + mlen - 11;
		if (d[0] == '-' && d[5] == '-' && d[8] == '-' &&
		    plausible_date(digits(d + 1, 4), digits(d + 6, 2), digits(d + 9, 2)))
			return mlen - 11;
	}
	if (mlen > 9) {
		d = m + mlen - 9;
		if (d[0] == '-' &&
		    plausible_date(digits(d + 1, 4), digits(d + 5, 2), digits(d + 7, 2)))
			return mlen - 9;
	}
	return mlen;
}

/* The name as given, then rule 1 of price.h for `litellm:`. */
static const struct slot *find_alias(const struct mlb_prices *t, const char *prov, size_t plen,
				     const char *model, size_t mlen)
{
	static const char *const upstream[] = { "openai", "anthropic", "gemini" };
	const struct slot *s = find(t, prov, plen, model, mlen);
	const char *slash;
	size_t i;

	if (s || plen != 7 || strncmp(prov, "litellm", 7))
		return s;
	slash = memchr(model, '/', mlen);
	if (slash && slash > model && (size_t)(slash - model) + 1 < mlen) {
		size_t n = (size_t)(slash - model);

		s = find(t, model, n, slash + 1, mlen - n - 1);
		if (s)
			return s;
	}
	for (i = 0; i < sizeof(upstream) / sizeof(upstream[0]) && !s; i++)
		s = find(t, upstream[i], strlen(upstream[i]), model, mlen);
	return s;
}

int mlb_prices_lookup(const struct mlb_prices *t, const char *model, struct mlb_price *out)
{
	const char *colon = model ? strchr(model, ':') : NULL;
	const struct slot *s;
	size_t plen, mlen, ulen;

	if (!colon)
		return 0;
	plen = (size_t)(colon - model);
	mlen = strlen(colon + 1);
	s = find_alias(t, model, plen, colon + 1, mlen);
	ulen = undated_len(colon + 1, mlen);
	if (!s && ulen < mlen)
		s = find_alias(t, model, plen, colon + 1, ulen);
	if (!s)
		return 0;
	if (out)
		*out = s->price;
	return 1;
}

int mlb_prices_cost_cached(const struct mlb_prices *t, const char *model, long prompt_tokens, long cached,
			   long completion_tokens, double *cost)
{
	struct mlb_price p;

	if (prompt_tokens < 0 || completion_tokens < 0 || !mlb_prices_lookup(t, model, &p))
		return 0;
	if (cached < 0 || p.cached < 0)
		cached = 0;
	if (cached > prompt_tokens)
		cached = prompt_tokens;
	*cost = (double)(prompt_tokens - cached) * p.input + (double)cached * p.cached +
		(double)completion_tokens * p.output;
	return 1;
}

int mlb_prices_cost(const struct mlb_prices *t, const char *model, long prompt_tokens,
		    long completion_tokens, double *cost)
{
	return mlb_prices_cost_cached(t, model, prompt_tokens, 0, completion_tokens, cost);
}

/* A price field: a whole, finite, non-negative number. */
static int parse_price(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return end != s && !*end && errno != ERANGE && valid_price(*v) ? 0 : -1;
}

/*
 * Add the entry on one line, if it is one; comments and blank lines
 * are fine as they are.  The line is cut up in place.  Returns a complaint,
 * or NULL when the line was good.
 */
static const char *add_line(struct mlb_prices *t, char *line, size_t len, char **bad)
{
	char *name = line, *in, *out, *cached;
	double vin, vout, vcached = -1;

	*bad = NULL;
	if (strlen(line) != len)
		return "contains a NUL byte";
	if (len && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len && line[len - 1] == '\r')	/* a table edited on Windows */
		line[--len] = '\0';
	if (line[0] == '#' || strspn(line, " \t") == len)
		return NULL;
	in = strchr(name, '\t');
	out = in ? strchr(in + 1, '\t') : NULL;
	cached = out ? strchr(out + 1, '\t') : NULL;
	if (!out || (cached && strchr(cached + 1, '\t')))
		return "expected 3 or 4 tab-separated fields: provider:model, input, output and cached input price";
	*in++ = '\0';
	*out++ = '\0';
	if (cached) {
		*cached++ = '\0';
		if (parse_price(cached, &vcached) < 0) {
			*bad = cached;
			return "bad cached input price";
		}
	}
	if (parse_price(in, &vin) < 0) {
		*bad = in;
		return "bad input price";
	}
	if (parse_price(out, &vout) < 0) {
		*bad = out;
		return "bad output price";
	}
	if (mlb_prices_set(t, name, vin, vout) < 0) {
		*bad = name;
		return "model name is not provider:model";
	}
	if (cached)
		set_cached(t, name, vcached);
	return NULL;
}

/* Add every good line of f; 0, or the errno of a failed read. */
static int load_lines(struct mlb_prices *t, FILE *f, const char *path)
{
	char *line = NULL, *bad;
	size_t cap = 0;
	unsigned long lineno = 0;
	ssize_t n;
	const char *why;
	int err;

	for (;;) {
		/* getline says -1 for both the end and an error; errno tells. */
		errno = 0;
		n = getline(&line, &cap, f);
		if (n == -1)
			break;
		lineno++;
		why = add_line(t, line, (size_t)n, &bad);
		if (why && bad)
			mlb_warn("%s:%lu: %s '%s'", path, lineno, why, bad);
		else if (why)
			mlb_warn("%s:%lu: %s", path, lineno, why);
	}
	err = ferror(f) || !feof(f) ? (errno ? errno : EIO) : 0;
	free(line);
	return err;
}

int mlb_prices_load(struct mlb_prices *t, const char *path)
{
	FILE *f = fopen(path, "r");
	locale_t c, old = (locale_t)0;
	int err;

	if (!f)
		return -1;
	/*
	 * A tool that called setlocale() for its terminal may have a decimal
	 * comma, and strtod would then stop at the '.' of "1.5e-07" and every
	 * line would be rejected: parse in "C".
	 */
	c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c)
		old = uselocale(c);
	err = load_lines(t, f, path);
	if (c) {
		uselocale(old);
		freelocale(c);
	}
	fclose(f);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
