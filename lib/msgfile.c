#include "msgfile.h"
#include "secret.h"
#include "buf.h"
#include "msg.h"
#include "sha256.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The content of an empty message: shared, so that init and free never allocate. */
static char no_content[1];

void mlb_msgfile_init(struct mlb_msgfile *m)
{
	m->headers = NULL;
	m->nheaders = 0;
	m->content = no_content;
	m->content_len = 0;
}

static void drop_content(struct mlb_msgfile *m)
{
	if (m->content != no_content)
		free(m->content);
	m->content = no_content;
	m->content_len = 0;
}

/* A copy of s that fits on one header line: line breaks become spaces, and leading blanks go,
 * since a reader takes them as part of the separator (so format and parse agree). */
static char *one_line(const char *s)
{
	char *t, *p;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	/* an Error header may quote a provider that echoed the key */
	t = mlb_redact(s);
	for (p = t; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return t;
}

/* A header name that cannot break the format: no ':', space or control characters. */
static char *clean_name(const char *s)
{
	char *t = mlb_xstrdup(*s ? s : "X"), *p;

	for (p = t; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == ':' || (unsigned char)*p >= 127)
			*p = '-';
	return t;
}

static struct mlb_header *find(const struct mlb_msgfile *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		if (strcasecmp(m->headers[i].name, name) == 0)
			return &m->headers[i];
	return NULL;
}

void mlb_msgfile_set(struct mlb_msgfile *m, const char *name, const char *value)
{
	struct mlb_header *h = find(m, name);

	if (!value) {
		if (h) {
			free(h->name);
			free(h->value);
			memmove(h, h + 1, (size_t)(m->headers + m->nheaders - (h + 1)) * sizeof(*h));
			m->nheaders--;
		}
		return;
	}
	if (h) {
		free(h->value);
		h->value = one_line(value);
		return;
	}
	m->headers = mlb_xrealloc(m->headers, (m->nheaders + 1) * sizeof(*m->headers));
	m->headers[m->nheaders].name = clean_name(name);
	m->headers[m->nheaders].value = one_line(value);
	m->nheaders++;
}

const char *mlb_msgfile_get(const struct mlb_msgfile *m, const char *name)
{
	const struct mlb_header *h = find(m, name);

	return h ? h->value : NULL;
}

void mlb_msgfile_set_content(struct mlb_msgfile *m, const char *content, size_t len)
{
	char hash[72];

	drop_content(m);
	m->content = mlb_xmalloc(len + 1);
	if (len)
		memcpy(m->content, content, len);
	m->content[len] = '\0';
	m->content_len = len;
	mlb_content_hash(m->content, len, hash);
	mlb_msgfile_set(m, "Content-Hash", hash);
}

void mlb_msgfile_order(struct mlb_msgfile *m, const char *const *names)
{
	struct mlb_header *v = mlb_xcalloc(m->nheaders, sizeof(*v));
	char *taken = mlb_xcalloc(m->nheaders, 1);
	size_t i, k = 0;

	for (; *names; names++)
		for (i = 0; i < m->nheaders; i++)
			if (!taken[i] && strcasecmp(m->headers[i].name, *names) == 0) {
				v[k++] = m->headers[i];
				taken[i] = 1;
				break;
			}
	for (i = 0; i < m->nheaders; i++)
		if (!taken[i])
			v[k++] = m->headers[i];
	if (m->nheaders)
		memcpy(m->headers, v, m->nheaders * sizeof(*v));
	free(taken);
	free(v);
}

int mlb_msgfile_verify(const struct mlb_msgfile *m)
{
	const char *have = mlb_msgfile_get(m, "Content-Hash");
	char want[72];

	if (!have)
		return 0;
	mlb_content_hash(m->content, m->content_len, want);
	return strcasecmp(have, want) == 0;
}

char *mlb_msgfile_format(const struct mlb_msgfile *m, size_t *len)
{
	struct mlb_buf b = MLB_BUF_INIT;
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		mlb_buf_addf(&b, "%s: %s\n", m->headers[i].name, m->headers[i].value);
	mlb_buf_addc(&b, '\n');
	mlb_buf_add(&b, m->content, m->content_len);
	*len = b.len;
	return mlb_buf_detach(&b);
}

/* A value as set() would make it: a stray CR (beyond the one of a CRLF) becomes a space, and
 * leading blanks go, so that formatting a parsed message and parsing it again gives it back. */
static char *tidy(char *v)
{
	char *p;

	for (p = v; *p; p++)
		if (*p == '\r')
			*p = ' ';
	for (p = v; *p == ' ' || *p == '\t'; p++)
		;
	memmove(v, p, strlen(p) + 1);
	return v;
}

/* Whether [p, p+n) is a header name: printable ASCII without ':' (RFC 5322 ftext). */
static int valid_name(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 127 || p[i] == ':')
			return 0;
	return 1;
}

int mlb_msgfile_parse(const char *data, size_t len, struct mlb_msgfile *m)
{
	const char *p = data, *end = data + len;

	mlb_msgfile_init(m);
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le, *colon, *v;
		char *name, *value;

		if (!nl)
			goto bad;	/* no blank line before the end */
		le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (le == p) {
			/* The blank line: the content follows, exactly. */
			if (m->nheaders == 0)
				goto bad;
			p = nl + 1;
			break;
		}
		if (*p == ' ' || *p == '\t') {
			/* A folded line continues the previous value, as in mail. */
			struct mlb_header *h;
			char *joined;

			if (m->nheaders == 0)
				goto bad;
			h = &m->headers[m->nheaders - 1];
			while (p < le && (*p == ' ' || *p == '\t'))
				p++;
			/* As for a header line: "%.*s" would silently cut the value at a NUL. */
			if (memchr(p, '\0', (size_t)(le - p)))
				goto bad;
			joined = mlb_xasprintf("%s%s%.*s", h->value, *h->value ? " " : "", (int)(le - p), p);
			free(h->value);
			h->value = tidy(joined);
			p = nl + 1;
			continue;
		}
		colon = memchr(p, ':', (size_t)(le - p));
		if (!colon || !valid_name(p, (size_t)(colon - p)))
			goto bad;
		for (v = colon + 1; v < le && (*v == ' ' || *v == '\t'); v++)
			;
		if (memchr(p, '\0', (size_t)(le - p)))
			goto bad;
		name = mlb_xstrndup(p, (size_t)(colon - p));
		value = tidy(mlb_xstrndup(v, (size_t)(le - v)));
		m->headers = mlb_xrealloc(m->headers, (m->nheaders + 1) * sizeof(*m->headers));
		m->headers[m->nheaders].name = name;
		m->headers[m->nheaders].value = value;
		m->nheaders++;
		p = nl + 1;
	}
	drop_content(m);
	m->content_len = (size_t)(end - p);
	m->content = mlb_xmalloc(m->content_len + 1);
	if (m->content_len)
		memcpy(m->content, p, m->content_len);
	m->content[m->content_len] = '\0';
	return 0;
bad:
	mlb_msgfile_free(m);
	return -1;
}

void mlb_msgfile_free(struct mlb_msgfile *m)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	drop_content(m);
	mlb_msgfile_init(m);
}
