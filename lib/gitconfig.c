#include "gitconfig.h"
#include "buf.h"
#include "msg.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct reader {
	const unsigned char *p, *end;
	int line, at, eof;	/* at: the line of the last character read */
	char *err;
	size_t errlen;
};

/* The next character, with CRLF read as LF and the end of the text as a final LF, as git reads it. */
static int next_char(struct reader *r)
{
	int c;

	if (r->p >= r->end) {
		r->at = r->line;
		r->eof = 1;
		return '\n';
	}
	c = *r->p++;
	if (c == '\r' && r->p < r->end && *r->p == '\n')
		c = *r->p++;
	r->at = r->line;
	if (c == '\n')
		r->line++;
	return c;
}

static int problem(struct reader *r, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->errlen, "line %d: %s", r->at, what);
	return -1;
}

static int is_key_char(int c)
{
	return isalnum(c) || c == '-';
}

/* After '[': the section name, lowercased, and the "subsection" as written, then ']'. */
static int section_header(struct reader *r, struct mlb_buf *name)
{
	int c;

	mlb_buf_reset(name);
	for (;;) {
		c = next_char(r);
		if (c == ']')
			break;
		if (c == ' ' || c == '\t')
			break;
		if (!is_key_char(c) && c != '.')
			return problem(r, "a section name holds letters, digits, '-' and '.'; write it as [section] or [section \"name\"]");
		mlb_buf_addc(name, (char)tolower(c));
	}
	if (!name->len)
		return problem(r, "a section header needs a name, as in [provider \"local\"]");
	if (c == ']')
		return 0;
	while ((c = next_char(r)) == ' ' || c == '\t')
		;
	if (c != '"')
		return problem(r, "a subsection is quoted, as in [provider \"local\"]");
	mlb_buf_addc(name, '.');
	for (;;) {
		c = next_char(r);
		if (c == '\n')
			return problem(r, "the subsection's quote is not closed before the end of the line");
		if (c == '"')
			break;
		if (c == '\\') {
			c = next_char(r);
			if (c == '\n')
				return problem(r, "the subsection's quote is not closed before the end of the line");
		}
		mlb_buf_addc(name, (char)c);
	}
	if (next_char(r) != ']')
		return problem(r, "a section header ends with ']' right after the quoted subsection");
	return 0;
}

/*
 * After '=': the value up to the end of the line or a comment, unquoted and
 * unescaped.  Blanks outside quotes are kept as written between words and
 * dropped at both ends, as libgit2 does.
 */
static int value(struct reader *r, struct mlb_buf *v)
{
	int quote = 0, comment = 0, started = 0, c;
	size_t keep = 0;	/* the length without trailing blanks outside quotes */

	mlb_buf_reset(v);
	for (;;) {
		c = next_char(r);
		if (c == '\n') {
			if (quote)
				return problem(r, "a quote is not closed before the end of the line");
			break;
		}
		if (comment)
			continue;
		if (isspace(c) && !quote) {
			if (started)
				mlb_buf_addc(v, (char)c);
			continue;
		}
		if (!quote && (c == ';' || c == '#')) {
			comment = 1;
			continue;
		}
		started = 1;
		if (c == '"') {
			quote = !quote;
		} else if (c == '\\') {
			c = next_char(r);
			switch (c) {
			case '\n':
				if (r->eof)
					return problem(r, "a backslash ends the file; remove it or continue the value");
				continue;
			case 't': c = '\t'; break;
			case 'b': c = '\b'; break;
			case 'n': c = '\n'; break;
			case '\\': case '"': break;
			default:
				return problem(r, "unknown escape '\\%c' in a value; write '\\\\' for a backslash", c);
			}
			mlb_buf_addc(v, (char)c);
		} else {
			mlb_buf_addc(v, (char)c);
		}
		keep = v->len;
	}
	if (v->s) {
		v->len = keep;
		v->s[keep] = '\0';
	}
	return 0;
}

int mlb_gitconfig_parse(const char *text, size_t len, mlb_gitconfig_fn fn, void *ctx, char *err, size_t errlen)
{
	struct reader r = { (const unsigned char *)text, (const unsigned char *)text + len, 1, 1, 0, err, errlen };
	struct mlb_buf section = MLB_BUF_INIT, name = MLB_BUF_INIT, val = MLB_BUF_INIT;
	const char *nul = memchr(text, '\0', len);
	int ret = 0, comment = 0, c;

	if (nul) {
		for (const char *q = text; q < nul; q++)
			r.at += *q == '\n';
		return problem(&r, "a NUL byte; the file is text");
	}
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		r.p += 3;
	while (!ret) {
		c = next_char(&r);
		if (c == '\n') {
			if (r.eof)
				break;
			comment = 0;
			continue;
		}
		if (comment || isspace(c))
			continue;
		if (c == '#' || c == ';') {
			comment = 1;
			continue;
		}
		if (c == '[') {
			ret = section_header(&r, &section);
			continue;
		}
		if (!section.len) {
			ret = problem(&r, "a setting before any [section]; put it under one, as in [core]");
			break;
		}
		if (!isalpha(c) && c != '_') {
			ret = problem(&r, "a setting's name starts with a letter");
			break;
		}
		mlb_buf_reset(&name);
		mlb_buf_add(&name, section.s, section.len);
		mlb_buf_addc(&name, '.');
		size_t key_at = name.len;
		int key_line = r.at;

		for (; is_key_char(c) || c == '_'; c = next_char(&r))
			if (c != '_')
				mlb_buf_addc(&name, (char)tolower(c));
		if (name.len == key_at || !isalpha((unsigned char)name.s[key_at])) {
			ret = problem(&r, "a setting's name starts with a letter");
			break;
		}
		while (c == ' ' || c == '\t')
			c = next_char(&r);
		if (c == '\n') {
			ret = fn(name.s, NULL, key_line, ctx);
			if (r.eof)
				break;
			continue;
		}
		if (c != '=') {
			ret = problem(&r, "'%s' is not followed by '='; write it as %s = <value>", name.s + key_at,
				      name.s + key_at);
			break;
		}
		if ((ret = value(&r, &val)) < 0)
			break;
		ret = fn(name.s, mlb_buf_str(&val), key_line, ctx);
		if (r.eof)
			break;
	}
	mlb_buf_free(&section);
	mlb_buf_free(&name);
	mlb_buf_free(&val);
	return ret;
}

char *mlb_gitconfig_key(const char *key)
{
	char *k = mlb_xstrdup(key);
	char *first = strchr(k, '.'), *last = strrchr(k, '.');

	for (char *p = k; *p; p++)
		if (!first || p < first || p > last)
			*p = (char)tolower((unsigned char)*p);
	return k;
}
