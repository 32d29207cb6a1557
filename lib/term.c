#include "term.h"
#include "utf8.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

void mlb_term_size(int fd, int *cols, int *rows)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS"), *r = getenv("LINES");

	*cols = c && atoi(c) > 0 ? atoi(c) : 80;
	*rows = r && atoi(r) > 0 ? atoi(r) : 24;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		*cols = ws.ws_col;
		if (ws.ws_row > 0)
			*rows = ws.ws_row;
	}
}

int mlb_term_color(int fd)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(fd) && !(nc && *nc);
}

/* Widths when no UTF-8 locale is installed: the wide and the zero-width blocks that matter most. */
static int fallback_width(uint32_t cp)
{
	static const uint32_t zero[][2] = {
		{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd }, { 0x0610, 0x061a },
		{ 0x064b, 0x065f }, { 0x200b, 0x200f }, { 0x20d0, 0x20ff }, { 0xfe00, 0xfe0f },
		{ 0xfe20, 0xfe2f },
	};
	static const uint32_t wide[][2] = {
		{ 0x1100, 0x115f }, { 0x2e80, 0x303e }, { 0x3041, 0x33ff }, { 0x3400, 0x4dbf },
		{ 0x4e00, 0x9fff }, { 0xa000, 0xa4cf }, { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff },
		{ 0xfe30, 0xfe4f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x1f300, 0x1f64f },
		{ 0x1f900, 0x1f9ff }, { 0x20000, 0x3fffd },
	};

	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		if (cp >= zero[i][0] && cp <= zero[i][1])
			return 0;
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		if (cp >= wide[i][0] && cp <= wide[i][1])
			return 2;
	return 1;
}

/* wcwidth(3) in a UTF-8 locale, whatever LC_CTYPE the process runs under (tests run with LC_ALL=C). */
static int char_width(uint32_t cp)
{
	static locale_t utf8 = (locale_t)0;
	static int tried;
	locale_t old;
	int w;

	if (!tried) {
		tried = 1;
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
		if (!utf8)
			utf8 = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
	}
	if (!utf8)
		return fallback_width(cp);
	old = uselocale(utf8);
	w = wcwidth((wchar_t)cp);
	uselocale(old);
	return w;
}

size_t mlb_term_char(const char *s, size_t len, uint32_t *cp, int *width)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;

	if (u[0] < 0x80) {
		*cp = u[0];
		*width = u[0] < 0x20 || u[0] == 0x7f ? -1 : 1;
		return 1;
	}
	n = mlb_utf8_seq(u, u + len);
	if (!n) {
		*cp = 0xfffd;
		*width = -1;
		return 1;
	}
	*cp = u[0] & (0x7fu >> n);
	for (size_t i = 1; i < n; i++)
		*cp = *cp << 6 | (u[i] & 0x3fu);
	/* C1 controls (U+0080..U+009F include CSI and OSC) and what the locale calls unprintable. */
	*width = *cp < 0xa0 ? -1 : char_width(*cp);
	return n;
}

/* The visible stand-in for a control character or a broken byte (UTF-8, width 1). */
static void symbol(struct mlb_buf *out, const char *s, size_t n, uint32_t cp)
{
	char pic[4] = { (char)0xe2, (char)0x90, 0, 0 };	/* U+2400 + c: the Control Pictures block */

	if (n == 1 && cp < 0x20) {
		pic[2] = (char)(0x80 + cp);
		mlb_buf_add(out, pic, 3);
	} else if (n == 1 && cp == 0x7f) {
		mlb_buf_adds(out, "\xe2\x90\xa1");	/* U+2421 ␡ */
	} else {
		(void)s;
		mlb_buf_adds(out, "\xef\xbf\xbd");	/* U+FFFD */
	}
}

void mlb_term_safe(struct mlb_buf *out, const char *s, size_t len, int flags)
{
	size_t i = 0;

	while (i < len) {
		size_t start = i;
		uint32_t cp;
		int w;

		/* Printable ASCII runs: the common case, copied whole. */
		while (i < len && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f)
			i++;
		if (i > start)
			mlb_buf_add(out, s + start, i - start);
		if (i >= len)
			break;
		size_t n = mlb_term_char(s + i, len - i, &cp, &w);

		if (w >= 0)
			mlb_buf_add(out, s + i, n);
		else if (cp == '\n' && (flags & MLB_TERM_NEWLINES))
			mlb_buf_addc(out, '\n');
		else if (cp == '\t')
			mlb_buf_adds(out, flags & MLB_TERM_TABS ? "\t" : "    ");
		else
			symbol(out, s + i, n, cp);
		i += n;
	}
}

int mlb_term_width(const char *s, size_t len)
{
	int width = 0;

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		int w;

		i += mlb_term_char(s + i, len - i, &cp, &w);
		width += w < 0 ? 1 : w;
	}
	return width;
}

void mlb_term_write(FILE *f, const char *s, size_t len)
{
	struct mlb_buf out = MLB_BUF_INIT;

	mlb_term_safe(&out, s, len, MLB_TERM_NEWLINES | MLB_TERM_TABS);
	if (out.len)
		fwrite(out.s, 1, out.len, f);
	mlb_buf_free(&out);
}

/* How many bytes at the end of s[0..len) begin a UTF-8 sequence that the next piece may complete. */
static size_t cut_tail(const char *s, size_t len)
{
	for (size_t back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = (unsigned char)s[len - back];
		size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;

		if ((c & 0xc0) == 0x80)
			continue;
		return need > back && c <= 0xf4 ? back : 0;
	}
	return 0;
}

void mlb_term_stream_write(struct mlb_term_stream *st, FILE *f, const char *s, size_t len)
{
	struct mlb_buf in = MLB_BUF_INIT;
	size_t keep;

	mlb_buf_add(&in, st->held, st->nheld);
	mlb_buf_add(&in, s, len);
	st->nheld = 0;
	keep = len ? cut_tail(in.s ? in.s : "", in.len) : 0;
	mlb_term_write(f, in.s ? in.s : "", in.len - keep);
	if (keep)
		memcpy(st->held, in.s + in.len - keep, keep);
	st->nheld = keep;
	mlb_buf_free(&in);
}

/* The length of a colour escape (ESC [ digits ; m) at s, or 0.  Safe text has no ESC of
 * its own: these are only the colours a renderer added, and they take no room. */
static size_t sgr_len(const char *s, size_t len)
{
	size_t j = 2;

	if (len < 3 || s[0] != '\033' || s[1] != '[')
		return 0;
	while (j < len && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';'))
		j++;
	return j < len && s[j] == 'm' ? j + 1 : 0;
}

size_t mlb_term_wrap(const char *s, size_t len, int width, struct mlb_term_row **rows, size_t *cap)
{
	size_t n = 0, i = 0, start = 0, brk = 0;
	int col = 0, brk_col = 0, have_brk = 0;

	if (width < 1)
		width = 1;
#define PUSH(st, ln, wd) do { \
		if (n == *cap) { \
			*cap = *cap ? *cap * 2 : 64; \
			*rows = realloc(*rows, *cap * sizeof(**rows)); \
			if (!*rows) \
				abort(); \
		} \
		(*rows)[n].start = (st); \
		(*rows)[n].len = (ln); \
		(*rows)[n].width = (wd); \
		n++; \
	} while (0)
	while (i < len) {
		uint32_t cp;
		int w;
		size_t k;

		if (s[i] == '\n') {
			PUSH(start, i - start, col);
			start = ++i;
			col = 0;
			have_brk = 0;
			continue;
		}
		if ((k = sgr_len(s + i, len - i))) {
			i += k;
			continue;
		}
		k = mlb_term_char(s + i, len - i, &cp, &w);
		if (w < 0)
			w = 1;
		if (col + w > width && col > 0) {
			if (cp == ' ') {
				/* The row is full just where a word ends: break at this space. */
				PUSH(start, i - start, col);
				start = ++i;
				col = 0;
				have_brk = 0;
				continue;
			}
			if (have_brk) {
				/* End the row at the last space; the space itself is the break. */
				PUSH(start, brk - start, brk_col);
				start = brk + 1;
				col -= brk_col + 1;
				have_brk = 0;
				continue;
			}
			PUSH(start, i - start, col);
			start = i;
			col = 0;
			continue;
		}
		if (cp == ' ' && col > 0) {
			brk = i;
			brk_col = col;
			have_brk = 1;
		}
		col += w;
		i += k;
	}
	if (start < len || n == 0)
		PUSH(start, len - start, col);
#undef PUSH
	return n;
}

/* The bytes of s[0..len) that fit in width columns, and the columns they take. */
static size_t fit(const char *s, size_t len, int width, int *used)
{
	size_t i = 0;
	int col = 0;

	while (i < len) {
		uint32_t cp;
		int w;
		size_t k = sgr_len(s + i, len - i);

		if (k) {
			i += k;
			continue;
		}
		k = mlb_term_char(s + i, len - i, &cp, &w);
		if (w < 0)
			w = 1;
		if (col + w > width)
			break;
		col += w;
		i += k;
	}
	*used = col;
	return i;
}

void mlb_term_cell(struct mlb_buf *out, const char *s, size_t len, int width)
{
	int used;
	size_t n = fit(s, len, width, &used);

	mlb_buf_add(out, s, n);
	for (; used < width; used++)
		mlb_buf_addc(out, ' ');
}

void mlb_term_cut(struct mlb_buf *out, const char *s, int width)
{
	struct mlb_buf safe = MLB_BUF_INIT;
	int used;

	mlb_term_safe(&safe, s, strlen(s), 0);
	if (mlb_term_width(safe.s ? safe.s : "", safe.len) <= width) {
		mlb_buf_add(out, safe.s, safe.len);
	} else if (width > 0) {
		mlb_buf_add(out, safe.s, fit(safe.s, safe.len, width - 1, &used));
		mlb_buf_adds(out, "\xe2\x80\xa6");
	}
	mlb_buf_free(&safe);
}
