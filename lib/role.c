#include "role.h"
#include "buf.h"
#include "chat.h"
#include "config.h"
#include "event.h"
#include "input.h"
#include "msg.h"
#include "utf8.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ROLE_BYTES (1 << 20)

int mlb_role_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 64 || *name == '.' || *name == '-')
		return 0;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-')
			return 0;
	return 1;
}

/* The two places roles live, the person's first. */
static void role_dirs(char *dirs[2])
{
	char *conf = mlb_config_dir();

	dirs[0] = mlb_xasprintf("%s/prompts", conf);
	dirs[1] = mlb_xasprintf("%s/prompts", mlb_share_dir());
	free(conf);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **mlb_role_names(size_t *n)
{
	char *dirs[2], **v = mlb_xcalloc(1, sizeof(*v));
	size_t k = 0;

	role_dirs(dirs);
	for (int i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;

		while (d && (e = readdir(d))) {
			size_t len = strlen(e->d_name);
			char *name;

			if (len <= 3 || strcmp(e->d_name + len - 3, ".md"))
				continue;
			name = mlb_xstrndup(e->d_name, len - 3);
			if (!mlb_role_name_valid(name)) {
				free(name);
				continue;
			}
			v = mlb_xrealloc(v, (k + 2) * sizeof(*v));
			v[k++] = name;
			v[k] = NULL;
		}
		if (d)
			closedir(d);
		free(dirs[i]);
	}
	qsort(v, k, sizeof(*v), cmp_str);
	/* one name once: the person's file hides the shipped one */
	for (size_t i = 1; i < k; i++)
		if (!strcmp(v[i], v[i - 1])) {
			free(v[i]);
			memmove(v + i, v + i + 1, (k - i) * sizeof(*v));
			k--;
			i--;
		}
	*n = k;
	return v;
}

/* Whether line (len bytes) is "Name: value". */
static int header_line(const char *line, size_t len)
{
	size_t i = 0;

	if (!len || !isalpha((unsigned char)line[0]))
		return 0;
	while (i < len && (isalnum((unsigned char)line[i]) || line[i] == '-' || line[i] == '_'))
		i++;
	return i < len && line[i] == ':';
}

/* The header block's length (through the blank line), or 0 when the file has none. */
static size_t header_block(const char *s)
{
	const char *p = s;

	for (;;) {
		size_t len = strcspn(p, "\n");

		if (len == 0 || (len == 1 && p[0] == '\r'))
			return p == s || !p[len] ? 0 : (size_t)(p + len + 1 - s);
		if (!header_line(p, len) || !p[len])
			return 0;
		p += len + 1;
	}
}

/* One header of a role file; -1 after an error. */
static int role_header(struct mlb_role *r, const char *name, const char *value, int line)
{
	char *kv, *k;
	int ret;

	if (!strcasecmp(name, "description")) {
		free(r->description);
		r->description = mlb_xstrdup(value);
		return 0;
	}
	if (!strcasecmp(name, "model")) {
		free(r->model);
		r->model = mlb_xstrdup(value);
		return 0;
	}
	if (!strcasecmp(name, "option")) {
		kv = mlb_xstrdup(value);
	} else {
		/* Max-Tokens: 100 is max_tokens=100 */
		k = mlb_xstrdup(name);
		for (char *c = k; *c; c++)
			*c = *c == '-' ? '_' : (char)tolower((unsigned char)*c);
		kv = mlb_xasprintf("%s=%s", k, value);
		free(k);
	}
	ret = mlb_option_parse(r->options, kv);
	free(kv);
	if (ret < 0)
		return mlb_error("%s:%d: header '%s' is not a request option", r->path, line, name);
	return 0;
}

static int parse_role(struct mlb_role *r, const char *data)
{
	size_t hlen = header_block(data);
	const char *p = data, *end = data + hlen;
	int line = 1;
	size_t tlen;

	while (hlen && p < end) {
		size_t len = strcspn(p, "\n");
		const char *colon = memchr(p, ':', len);
		char *name, *value;
		const char *v = colon + 1;
		size_t vlen;
		int ret;

		if (!len || (len == 1 && *p == '\r'))
			break;
		while (v < p + len && (*v == ' ' || *v == '\t'))
			v++;
		vlen = (size_t)(p + len - v);
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		name = mlb_xstrndup(p, (size_t)(colon - p));
		value = mlb_xstrndup(v, vlen);
		ret = role_header(r, name, value, line);
		free(name);
		free(value);
		if (ret < 0)
			return -1;
		p += len + 1;
		line++;
	}
	p = data + hlen;
	tlen = strlen(p);
	while (tlen && (p[tlen - 1] == '\n' || p[tlen - 1] == '\r' || p[tlen - 1] == ' ' || p[tlen - 1] == '\t'))
		tlen--;
	r->text = tlen ? mlb_xstrndup(p, tlen) : NULL;
	return 0;
}

/* The roles there are, for a message: "a, b, c" or "none yet". */
static char *role_list(void)
{
	size_t n;
	char **v = mlb_role_names(&n);
	struct mlb_buf b = MLB_BUF_INIT;

	for (size_t i = 0; i < n; i++)
		mlb_buf_addf(&b, "%s%s", i ? ", " : "", v[i]);
	if (!n)
		mlb_buf_adds(&b, "none yet");
	mlb_strv_free(v);
	return mlb_buf_detach(&b);
}

static int load(const char *name, struct mlb_role *r)
{
	char *dirs[2], *data = NULL;
	int fd = -1;
	size_t len;

	memset(r, 0, sizeof(*r));
	r->options = json_object_new_object();
	if (!mlb_role_name_valid(name)) {
		char *list = role_list();

		mlb_error("unknown role '@%s'; the roles are: %s", name, list);
		free(list);
		return -1;
	}
	role_dirs(dirs);
	for (int i = 0; i < 2 && fd < 0; i++) {
		char *path = mlb_xasprintf("%s/%s.md", dirs[i], name);

		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			r->path = path;
			r->shipped = i == 1;
		}
		else if (errno != ENOENT)
			mlb_warn("cannot read the role '%s': %s", path, strerror(errno));
		if (fd < 0)
			free(path);
	}
	free(dirs[0]);
	free(dirs[1]);
	if (fd < 0) {
		char *list = role_list();

		mlb_error("unknown role '@%s'; the roles are: %s (add your own in ~/.config/mlb/prompts/%s.md)",
			  name, list, name);
		free(list);
		return -1;
	}
	data = mlb_read_upto(fd, MAX_ROLE_BYTES, &len);
	close(fd);
	if (!data || len > MAX_ROLE_BYTES || memchr(data, '\0', len) || mlb_utf8_check(data, len) != len) {
		mlb_error("cannot read the role '%s': %s", r->path,
			  !data ? strerror(errno) : len > MAX_ROLE_BYTES ? "larger than 1 MiB" :
			  memchr(data, '\0', len) ? "it holds a NUL byte" : "it is not UTF-8 text");
		free(data);
		return -1;
	}
	r->name = mlb_xstrdup(name);
	if (parse_role(r, data) < 0) {
		free(data);
		return -1;
	}
	free(data);
	if (!r->text)
		return mlb_error("the role '%s' has no text after its headers; write the system prompt below them", r->path);
	return 0;
}

int mlb_role_from_arg(const char *arg, struct mlb_role *r)
{
	if (arg && arg[0] == '@')
		return mlb_role_load(arg + 1, r);
	memset(r, 0, sizeof(*r));
	r->options = json_object_new_object();
	r->text = arg ? mlb_xstrdup(arg) : NULL;
	return 0;
}

int mlb_role_load(const char *name, struct mlb_role *r)
{
	/* a role that failed to load keeps nothing, whether or not the caller clears it */
	if (load(name, r) < 0) {
		mlb_role_clear(r);
		return -1;
	}
	return 0;
}

void mlb_role_clear(struct mlb_role *r)
{
	free(r->name);
	free(r->path);
	free(r->description);
	free(r->model);
	free(r->text);
	json_object_put(r->options);
	memset(r, 0, sizeof(*r));
}

json_object *mlb_role_event(const struct mlb_role *r, int with_text)
{
	json_object *ev = mlb_event_new("role", NULL);

	mlb_json_set_str(ev, "name", r->name);
	mlb_json_set_str(ev, "path", r->path);
	mlb_json_set_str(ev, "where", r->shipped ? "shipped" : "user");
	mlb_json_set_str(ev, "description", r->description);
	mlb_json_set_str(ev, "model", r->model);
	if (with_text) {
		json_object_object_add(ev, "options", json_object_get(r->options));
		mlb_json_set_str(ev, "text", r->text);
	}
	return ev;
}
