#include "circuit.h"
#include "buf.h"
#include "clock.h"
#include "file.h"
#include "input.h"
#include "lock.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A model's line: the failures in a row and until when it is open (0: closed). */
struct entry {
	char *model;
	long failures;
	int64_t until_ms;
};

struct table {
	struct entry *v;
	size_t n;
};

int mlb_circuit_configure(const struct mlb_config *cfg, struct mlb_circuit_conf *c)
{
	double failures, cooldown;

	if (mlb_config_double(cfg, "circuit.failures", 3, &failures) < 0 ||
	    mlb_config_double(cfg, "circuit.cooldown", 60, &cooldown) < 0)
		return -1;
	if (failures < 0 || failures > 1000000 || failures != floor(failures))
		return mlb_error("configuration circuit.failures is %g; it is a whole number of failures, 0 for none", failures);
	if (!(cooldown >= 0) || cooldown > 86400 * 365)
		return mlb_error("configuration circuit.cooldown is %g; it is a number of seconds", cooldown);
	c->failures = (int)failures;
	c->cooldown_s = cooldown;
	return 0;
}

/* The state directory: $XDG_STATE_HOME/mlb, else ~/.local/state/mlb (caller frees). */
static char *state_dir(void)
{
	const char *base = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (base && *base == '/')
		return mlb_xasprintf("%s/mlb", base);
	return mlb_xasprintf("%s/.local/state/mlb", home && *home ? home : ".");
}

static void table_read(const char *path, struct table *t)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len;
	char *data, *line, *save = NULL;

	t->v = NULL;
	t->n = 0;
	if (fd < 0)
		return;
	data = mlb_read_upto(fd, 1 << 20, &len);
	close(fd);
	if (!data)
		return;
	/* a line that does not parse is dropped: this is advice, not a record */
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL, *end;
		long failures;
		long long until;

		if (!tab1 || !tab2 || tab1 == line)
			continue;
		failures = strtol(tab1 + 1, &end, 10);
		if (end != tab2 || failures < 0)
			continue;
		until = strtoll(tab2 + 1, &end, 10);
		if (*end || until < 0)
			continue;
		t->v = mlb_xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
		t->v[t->n++] = (struct entry){ mlb_xstrndup(line, (size_t)(tab1 - line)), failures, until };
	}
	free(data);
}

static void table_write(const char *path, const struct table *t, int64_t now)
{
	struct mlb_buf b = MLB_BUF_INIT;

	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].failures > 0 || t->v[i].until_ms > now)
			mlb_buf_addf(&b, "%s\t%ld\t%lld\n", t->v[i].model, t->v[i].failures, (long long)t->v[i].until_ms);
	if (mlb_file_replace(path, b.len ? b.s : "", b.len, 0600, 0, NULL) < 0)
		mlb_warn("cannot write the circuit breaker's state '%s': %s", path, strerror(errno));
	mlb_buf_free(&b);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].model);
	free(t->v);
}

static struct entry *table_find(struct table *t, const char *model, int add)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].model, model))
			return &t->v[i];
	if (!add)
		return NULL;
	t->v = mlb_xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	t->v[t->n] = (struct entry){ mlb_xstrdup(model), 0, 0 };
	return &t->v[t->n++];
}

/* Lock the state; -1 (and the breaker stays out of the way) when it cannot be. */
static int state_lock(char **path)
{
	char *dir = state_dir(), *lock = mlb_xasprintf("%s/circuit.lock", dir);
	int fd = -1;

	*path = mlb_xasprintf("%s/circuit", dir);
	if (mlb_mkdirs(dir, 0700) < 0 || mlb_lock_acquire(lock, 5, &fd) < 0) {
		mlb_warn("cannot use the circuit breaker's state in '%s': %s; going on without it", dir, strerror(errno));
		fd = -1;
	}
	free(lock);
	free(dir);
	return fd;
}

int mlb_circuit_is_open(const struct mlb_circuit_conf *c, const char *model, int64_t *until_ms)
{
	struct table t;
	struct entry *e;
	char *path = NULL;
	int fd, open_now = 0;

	if (!c->failures)
		return 0;
	/* reading takes the lock too: a file being replaced is never read half-written anyway, but
	 * a count read between another process's read and write would be stale */
	fd = state_lock(&path);
	if (fd >= 0) {
		table_read(path, &t);
		e = table_find(&t, model, 0);
		if (e && e->until_ms > mlb_wall_ms()) {
			*until_ms = e->until_ms;
			open_now = 1;
		}
		table_free(&t);
		mlb_lock_release(fd);
	}
	free(path);
	return open_now;
}

int mlb_circuit_record(const struct mlb_circuit_conf *c, const char *model, int ok, int64_t *until_ms)
{
	struct table t;
	struct entry *e;
	char *path = NULL;
	int fd, opened = 0;
	int64_t now = mlb_wall_ms();

	if (!c->failures)
		return 0;
	fd = state_lock(&path);
	if (fd >= 0) {
		table_read(path, &t);
		e = table_find(&t, model, !ok);
		if (e && ok) {
			e->failures = 0;
			e->until_ms = 0;
		} else if (e && ++e->failures >= c->failures && e->until_ms <= now) {
			e->until_ms = now + (int64_t)llround(c->cooldown_s * 1000);
			e->failures = 0;	/* after the cooldown, it has its full count again */
			*until_ms = e->until_ms;
			opened = 1;
		}
		if (e)
			table_write(path, &t, now);
		table_free(&t);
		mlb_lock_release(fd);
	}
	free(path);
	return opened;
}
