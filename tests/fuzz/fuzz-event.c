/*
 * fuzz-event.c - the NDJSON event reader (lib/event.c) on arbitrary bytes.
 *
 * The first bytes choose the reader's limits (a line length and a JSON
 * depth, small so that the limits are hit often); the rest goes into a
 * memory file that mlb_reader_next() reads as stdin.  Every event it yields
 * must be a JSON object with a "type" string, on one line no longer than
 * the limit, with line numbers that only grow; the reader must reach the
 * end of the input without a read error, having reported every other
 * non-blank line once.  Read again with mlb_reader_want(), where a quick
 * scan stands in for json-c on the types not asked for, it must give the
 * same lines with the same types and report the same ones.
 */
#include "fuzz.h"
#include "event.h"

#include <sys/mman.h>
#include <unistd.h>

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Error events and passed-through lines go nowhere; a memory file would grow. */
	sink = fopen("/dev/null", "w");
	if (!sink)
		abort();
	mlb_event_output(sink);
	return 0;
}

/* Lines that must give an event or a report: over-long ones, and the non-blank rest. */
static long expected_reports(const uint8_t *s, size_t size, size_t max)
{
	long want = 0;
	size_t i = 0;

	if (!max)
		max = MLB_READER_MAX_LINE;
	while (i < size) {
		const uint8_t *nl = memchr(s + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - (s + i)) : size - i, k;

		for (k = 0; k < len && (s[i + k] == ' ' || s[i + k] == '\t' || s[i + k] == '\r'); k++)
			;
		want += len > max || k < len;
		i += len + 1;
	}
	return want;
}

/* What one reading gave: every event's line number, type and line, and the count of reports. */
struct reading {
	char *s;
	size_t len, cap;
	long events, errors;
};

static void add(struct reading *g, const void *p, size_t n)
{
	if (!n)
		return;
	if (g->len + n > g->cap) {
		while (g->len + n > g->cap)
			g->cap = g->cap ? g->cap * 2 : 1024;
		g->s = realloc(g->s, g->cap);
		if (!g->s)
			abort();
	}
	memcpy(g->s + g->len, p, n);
	g->len += n;
}

static void read_all(int fd, const struct mlb_reader_limits *lim, const char *const *want, struct reading *g)
{
	struct mlb_reader *r;
	struct mlb_event_in ev;
	size_t max = lim->max_line ? lim->max_line : MLB_READER_MAX_LINE;
	long last = 0;
	int n;

	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	r = mlb_reader_new(fd, lim);
	if (want)
		mlb_reader_want(r, want);
	while ((n = mlb_reader_next(r, &ev)) > 0) {
		FUZZ_CHECK(ev.type);
		if (ev.obj) {
			FUZZ_CHECK(json_object_is_type(ev.obj, json_type_object));
			FUZZ_CHECK(ev.type == mlb_json_str(ev.obj, "type"));
		} else {
			/* Only a type the caller did not ask for may skip the parser. */
			FUZZ_CHECK(want);
			for (const char *const *w = want; *w; w++)
				FUZZ_CHECK(strcmp(*w, ev.type) != 0);
		}
		FUZZ_CHECK(ev.len <= max);
		FUZZ_CHECK(!memchr(ev.line, '\n', ev.len));
		FUZZ_CHECK(ev.lineno > last);
		last = ev.lineno;
		add(g, &ev.lineno, sizeof(ev.lineno));
		add(g, ev.type, strlen(ev.type) + 1);
		add(g, &ev.len, sizeof(ev.len));
		add(g, ev.line, ev.len);
		g->events++;
		FUZZ_CHECK(mlb_reader_pass(r, &ev) == 0);
	}
	FUZZ_CHECK(n == 0);
	g->errors = mlb_reader_errors(r);
	mlb_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t lines[] = { 0, 1, 2, 16, 100, 4096, 65535, 65536, 65537 };
	static const char *const want[] = { "final", "message", NULL };
	uint32_t pick = fuzz_take(&data, &size, 1);
	uint32_t depth = fuzz_take(&data, &size, 1);
	struct mlb_reader_limits lim;
	struct reading all = { 0 }, some = { 0 };
	int fd;

	if (!sink)
		LLVMFuzzerInitialize(NULL, NULL);
	/* Mostly small lines; sometimes around the 64 KiB buffer the reader starts with. */
	lim.max_line = pick < 128 ? (size_t)pick * 3 : lines[pick % (sizeof(lines) / sizeof(*lines))];
	lim.max_depth = (int)(depth % 40);
	fd = memfd_create("fuzz-event", 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);

	read_all(fd, &lim, NULL, &all);
	/* Nothing is lost silently: every line is an event, blank, or reported once. */
	FUZZ_CHECK(all.events + all.errors == expected_reports(data, size, lim.max_line));
	/*
	 * With mlb_reader_want() the types not asked for are only checked by a
	 * quick scan: the same lines must come out, and the same be reported.
	 */
	read_all(fd, &lim, want, &some);
	FUZZ_CHECK(some.events == all.events && some.errors == all.errors);
	FUZZ_CHECK(some.len == all.len && (!all.len || !memcmp(some.s, all.s, all.len)));
	free(all.s);
	free(some.s);
	close(fd);
	return 0;
}
