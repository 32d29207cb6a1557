/*
 * store-read.c - reading a session: everything comes from the commit main
 * points at (or its history), never from the work tree, so that nothing a
 * person does there changes what mlb sends or reports.
 */
#include "store-internal.h"
#include "buf.h"
#include "msg.h"

#include <stdlib.h>
#include <string.h>

/* Tree loads that `show` may spend finding which commit added each message. */
#define ADDED_BY_BUDGET 2000

/* The commit main points at: 1 with *id, 0 when main does not exist yet, -1 after an error. */
int store_read_main(struct mlb_session *s, git_oid *id)
{
	int rc = git_reference_name_to_id(id, s->repo, MAIN_REF);

	if (rc == 0)
		return 1;
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	return store_git_err(s->id, "cannot read %s", MAIN_REF);
}

/* main's commit and tree (both NULL when main does not exist yet). */
int store_main_commit(struct mlb_session *s, git_commit **commit, git_tree **tree)
{
	git_oid id;
	int have = store_read_main(s, &id);

	*commit = NULL;
	if (tree)
		*tree = NULL;
	if (have <= 0)
		return have;
	if (git_commit_lookup(commit, s->repo, &id) < 0)
		return store_git_err(s->id, "cannot read commit %s", git_oid_tostr_s(&id));
	if (tree && git_commit_tree(tree, *commit) < 0) {
		git_commit_free(*commit);
		*commit = NULL;
		return store_git_err(s->id, "cannot read the tree of %s", git_oid_tostr_s(&id));
	}
	return 1;
}

static int main_tree(struct mlb_session *s, git_tree **tree)
{
	git_commit *c;
	int rc = store_main_commit(s, &c, tree);

	git_commit_free(c);
	return rc < 0 ? -1 : 0;
}

/* The subtree called name of tree, or NULL when there is none; -1 after an error. */
int store_subtree(struct mlb_session *s, git_tree *tree, const char *name, git_tree **out)
{
	const git_tree_entry *e;

	*out = NULL;
	if (!tree || !(e = git_tree_entry_byname(tree, name)) || git_tree_entry_type(e) != GIT_OBJECT_TREE)
		return 0;
	if (git_tree_lookup(out, s->repo, git_tree_entry_id(e)) < 0)
		return store_git_err(s->id, "cannot read tree '%s'", name);
	return 0;
}

/* The tree of panes/<pane> in main, or NULL. */
static int pane_tree(struct mlb_session *s, const char *pane, git_tree **out)
{
	git_tree *root = NULL, *panes = NULL;
	int ret;

	*out = NULL;
	if (!mlb_pane_name_valid(pane))
		return store_err(s->id, "invalid pane name '%s'", pane);
	if (main_tree(s, &root) < 0)
		return -1;
	ret = store_subtree(s, root, "panes", &panes);
	if (ret == 0)
		ret = store_subtree(s, panes, pane, out);
	git_tree_free(panes);
	git_tree_free(root);
	return ret;
}

/* Parse the JSON object in blob entry name of tree; NULL when absent or not an object. */
json_object *store_json_in_tree(struct mlb_session *s, git_tree *tree, const char *name)
{
	const git_tree_entry *e = tree ? git_tree_entry_byname(tree, name) : NULL;
	json_tokener *tok;
	json_object *o = NULL;
	git_blob *blob;

	if (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return NULL;
	if (git_blob_lookup(&blob, s->repo, git_tree_entry_id(e)) < 0) {
		store_git_err(s->id, "cannot read '%s'", name);
		return NULL;
	}
	tok = json_tokener_new();
	if (tok) {
		o = json_tokener_parse_ex(tok, git_blob_rawcontent(blob), (int)git_blob_rawsize(blob));
		if (o && !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
		}
		json_tokener_free(tok);
	}
	git_blob_free(blob);
	return o;
}

/* Resolve a revision (hex id, "main~2", ...) to a commit. */
int store_resolve(struct mlb_session *s, const char *rev, git_commit **out)
{
	git_object *obj = NULL, *peeled = NULL;
	int ret = 0;

	*out = NULL;
	if (git_revparse_single(&obj, s->repo, rev) < 0) {
		char shown[96];

		git_error_clear();
		return store_err(s->id, "no commit '%s'; 'mlb-session log %s' lists them", store_printable(rev, shown), s->id);
	}
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0)
		ret = store_git_err(s->id, "'%s' is not a commit", rev);
	else
		*out = (git_commit *)peeled;
	git_object_free(obj);
	return ret;
}

/* ---- reading ---- */

json_object *mlb_session_info(struct mlb_session *s)
{
	git_tree *root = NULL;
	json_object *o;

	if (main_tree(s, &root) < 0)
		return NULL;
	o = store_json_in_tree(s, root, "session.json");
	git_tree_free(root);
	if (!o)
		store_err(s->id, "session.json is missing or not a JSON object");
	return o;
}

int mlb_session_stats(struct mlb_session *s, struct mlb_session_stats *st)
{
	git_revwalk *walk = NULL;
	git_commit *head = NULL;
	git_oid id;
	int ret = -1, rc;

	memset(st, 0, sizeof(*st));
	rc = store_main_commit(s, &head, NULL);
	if (rc <= 0)
		return rc;
	st->last_ms = (int64_t)git_commit_time(head) * 1000;
	git_oid_tostr(st->head, sizeof(st->head), git_commit_id(head));
	if (git_revwalk_new(&walk, s->repo) < 0 || git_revwalk_push(walk, git_commit_id(head)) < 0) {
		store_git_err(s->id, "cannot walk the history");
		goto out;
	}
	while ((rc = git_revwalk_next(&id, walk)) == 0)
		st->commits++;
	if (rc != GIT_ITEROVER) {
		store_git_err(s->id, "cannot walk the history");
		goto out;
	}
	git_error_clear();
	ret = 0;
out:
	git_revwalk_free(walk);
	git_commit_free(head);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mlb_session_panes(struct mlb_session *s, char ***panes, size_t *n)
{
	git_tree *root = NULL, *pt = NULL;
	size_t i, count;

	*panes = mlb_xcalloc(1, sizeof(char *));
	*n = 0;
	if (main_tree(s, &root) < 0 || store_subtree(s, root, "panes", &pt) < 0) {
		git_tree_free(root);
		return -1;
	}
	count = pt ? git_tree_entrycount(pt) : 0;
	*panes = mlb_xrealloc(*panes, (count + 1) * sizeof(char *));
	for (i = 0; i < count; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(pt, i);

		if (git_tree_entry_type(e) == GIT_OBJECT_TREE && mlb_pane_name_valid(git_tree_entry_name(e)))
			(*panes)[(*n)++] = mlb_xstrdup(git_tree_entry_name(e));
	}
	(*panes)[*n] = NULL;
	qsort(*panes, *n, sizeof(char *), cmp_str);
	git_tree_free(pt);
	git_tree_free(root);
	return 0;
}

json_object *mlb_session_pane_info(struct mlb_session *s, const char *pane)
{
	git_tree *pt;
	json_object *o;

	if (pane_tree(s, pane, &pt) < 0)
		return NULL;
	o = store_json_in_tree(s, pt, "pane.json");
	git_tree_free(pt);
	return o;
}

/* The number of an old message file name "000123.msg", or 0 for any other name. */
static unsigned long msg_number(const char *name)
{
	unsigned long n = 0;
	const char *p;

	for (p = name; *p >= '0' && *p <= '9'; p++) {
		if (p - name >= 9)
			return 0;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	return p > name && strcmp(p, ".msg") == 0 ? n : 0;
}

int store_is_message_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".msg") == 0;
}

int store_message_name_cmp(const char *a, const char *b)
{
	unsigned long x = msg_number(a), y = msg_number(b);

	/* Sessions from before names carried the time: their numbered files come first, by number. */
	if (x && y)
		return x < y ? -1 : x > y;
	if (x || y)
		return x ? -1 : 1;
	return strcmp(a, b);
}

/* A message file of a pane tree. */
struct msgent {
	const git_tree_entry *e;	/* lives as long as the pane tree */
};

static int cmp_msgent(const void *a, const void *b)
{
	const struct msgent *x = a, *y = b;

	return store_message_name_cmp(git_tree_entry_name(x->e), git_tree_entry_name(y->e));
}

/* The message files of a pane tree, in order. */
static struct msgent *list_messages(git_tree *pt, size_t *n)
{
	size_t i, count = pt ? git_tree_entrycount(pt) : 0;
	struct msgent *v = mlb_xcalloc(count + 1, sizeof(*v));

	*n = 0;
	for (i = 0; i < count; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(pt, i);

		if (store_is_message_name(git_tree_entry_name(e)) && git_tree_entry_type(e) == GIT_OBJECT_BLOB)
			v[(*n)++].e = e;
	}
	qsort(v, *n, sizeof(*v), cmp_msgent);
	return v;
}

int mlb_session_each_file(struct mlb_session *s, const char *pane,
			  int (*fn)(const char *path, const char *data, size_t len, void *ctx), void *ctx)
{
	struct mlb_buf path = MLB_BUF_INIT;
	git_tree *pt;
	struct msgent *v;
	size_t i, n, dir;
	int ret = 0;

	if (pane_tree(s, pane, &pt) < 0)
		return -1;
	v = list_messages(pt, &n);
	/* One buffer for every path: a pane may hold thousands of messages. */
	mlb_buf_addf(&path, "panes/%s/", pane);
	dir = path.len;
	for (i = 0; i < n && ret == 0; i++) {
		git_blob *blob;

		path.len = dir;
		mlb_buf_adds(&path, git_tree_entry_name(v[i].e));
		if (git_blob_lookup(&blob, s->repo, git_tree_entry_id(v[i].e)) < 0) {
			ret = store_git_err(s->id, "cannot read '%s'", path.s);
		} else {
			ret = fn(path.s, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), ctx);
			git_blob_free(blob);
		}
	}
	mlb_buf_free(&path);
	free(v);
	git_tree_free(pt);
	return ret;
}

struct collect {
	struct mlb_session *s;
	struct mlb_msgfile *v;
	size_t n, cap;
};

static int collect_one(const char *path, const char *data, size_t len, void *ctx)
{
	struct collect *c = ctx;
	struct mlb_msgfile *m;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = mlb_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	m = &c->v[c->n++];
	if (mlb_msgfile_parse(data, len, m) < 0) {
		/* Keep its place, so that messages and paths still line up. */
		mlb_warn("session '%s': %s is not a message file", c->s->id, path);
		m->content = mlb_xmalloc(len + 1);
		memcpy(m->content, data, len);
		m->content[len] = '\0';
		m->content_len = len;
	}
	return 0;
}

int mlb_session_messages(struct mlb_session *s, const char *pane, struct mlb_msgfile **msgs, size_t *n)
{
	struct collect c = { s, NULL, 0, 0 };

	*msgs = NULL;
	*n = 0;
	if (mlb_session_each_file(s, pane, collect_one, &c) < 0) {
		mlb_msgfiles_free(c.v, c.n);
		return -1;
	}
	*msgs = c.v;
	*n = c.n;
	return 0;
}

void mlb_msgfiles_free(struct mlb_msgfile *msgs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mlb_msgfile_free(&msgs[i]);
	free(msgs);
}

/* The id of panes/<pane> in a commit's tree (zero when absent). */
static int pane_tree_id(struct mlb_session *s, git_commit *c, const char *pane, git_oid *out)
{
	git_tree_entry *e;
	char *path = mlb_xasprintf("panes/%s", pane);
	git_tree *root;
	int rc;

	memset(out, 0, sizeof(*out));
	if (git_commit_tree(&root, c) < 0) {
		free(path);
		return store_git_err(s->id, "cannot read a tree");
	}
	rc = git_tree_entry_bypath(&e, root, path);
	if (rc == 0) {
		git_oid_cpy(out, git_tree_entry_id(e));
		git_tree_entry_free(e);
	} else {
		git_error_clear();
	}
	git_tree_free(root);
	free(path);
	return 0;
}

/* For each message (sorted, as in v), the commit that added it: walk main's first parents from the
 * newest; where the pane's tree changed, the newest messages the parent lacks were added there.
 * Messages are appended in name order, so the walk stops looking at the first one the parent has
 * (after a merge it may stop early: those messages are then said to be main's). */
static void added_by(struct mlb_session *s, const char *pane, struct msgent *v, size_t n,
		     git_commit *head, char **commits)
{
	git_commit *cur = head, *parent;
	size_t hi = n, budget = ADDED_BY_BUDGET;
	char hex[GIT_OID_HEXSZ + 1];
	git_oid cur_id, parent_id;

	git_commit_dup(&cur, head);
	if (pane_tree_id(s, cur, pane, &cur_id) < 0)
		goto out;
	while (hi > 0 && budget > 0) {
		git_tree *pt = NULL;

		if (git_commit_parentcount(cur) == 0 || git_commit_parent(&parent, cur, 0) < 0)
			break;
		git_error_clear();
		if (pane_tree_id(s, parent, pane, &parent_id) < 0) {
			git_commit_free(parent);
			break;
		}
		if (!git_oid_equal(&cur_id, &parent_id)) {
			budget--;
			if (!git_oid_is_zero(&parent_id) && git_tree_lookup(&pt, s->repo, &parent_id) < 0) {
				git_commit_free(parent);
				break;
			}
			git_oid_tostr(hex, sizeof(hex), git_commit_id(cur));
			while (hi > 0) {
				const git_tree_entry *e = pt ? git_tree_entry_byname(pt, git_tree_entry_name(v[hi - 1].e)) : NULL;

				if (e && git_oid_equal(git_tree_entry_id(e), git_tree_entry_id(v[hi - 1].e)))
					break;
				commits[--hi] = mlb_xstrdup(hex);
			}
			git_tree_free(pt);
		}
		git_commit_free(cur);
		cur = parent;
		cur_id = parent_id;
	}
	/* The root commit added what is left, or, past the budget, say main: it holds them. */
	git_oid_tostr(hex, sizeof(hex), git_commit_id(budget > 0 ? cur : head));
	while (hi > 0)
		commits[--hi] = mlb_xstrdup(hex);
out:
	git_commit_free(cur);
	for (; hi > 0; hi--)
		commits[hi - 1] = mlb_xstrdup("");
}

int mlb_session_message_paths(struct mlb_session *s, const char *pane, char ***paths, char ***commits, size_t *n)
{
	git_commit *head = NULL;
	git_tree *pt = NULL;
	struct msgent *v;
	size_t i;

	*paths = mlb_xcalloc(1, sizeof(char *));
	*n = 0;
	if (commits)
		*commits = mlb_xcalloc(1, sizeof(char *));
	if (pane_tree(s, pane, &pt) < 0)
		return -1;
	v = list_messages(pt, n);
	*paths = mlb_xrealloc(*paths, (*n + 1) * sizeof(char *));
	for (i = 0; i < *n; i++)
		(*paths)[i] = mlb_xasprintf("panes/%s/%s", pane, git_tree_entry_name(v[i].e));
	(*paths)[*n] = NULL;
	if (commits) {
		*commits = mlb_xrealloc(*commits, (*n + 1) * sizeof(char *));
		(*commits)[*n] = NULL;
		if (*n && store_main_commit(s, &head, NULL) > 0)
			added_by(s, pane, v, *n, head, *commits);
		else
			for (i = 0; i < *n; i++)
				(*commits)[i] = mlb_xstrdup("");
		git_commit_free(head);
	}
	free(v);
	git_tree_free(pt);
	return 0;
}

int mlb_session_log(struct mlb_session *s, int (*fn)(const struct mlb_commit_info *c, void *ctx), void *ctx)
{
	git_revwalk *walk = NULL;
	git_oid id;
	int have = store_read_main(s, &id), rc, ret = 0;

	if (have <= 0)
		return have;
	if (git_revwalk_new(&walk, s->repo) < 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME) < 0 ||
	    git_revwalk_push(walk, &id) < 0) {
		git_revwalk_free(walk);
		return store_git_err(s->id, "cannot walk the history");
	}
	while (ret == 0 && (rc = git_revwalk_next(&id, walk)) == 0) {
		struct mlb_commit_info info;
		const git_signature *who;
		git_commit *c;
		char *author;

		if (git_commit_lookup(&c, s->repo, &id) < 0) {
			ret = store_git_err(s->id, "cannot read commit %s", git_oid_tostr_s(&id));
			break;
		}
		who = git_commit_author(c);
		author = mlb_xasprintf("%s <%s>", who->name, who->email);
		git_oid_tostr(info.hex, sizeof(info.hex), &id);
		info.time_ms = (int64_t)git_commit_time(c) * 1000;
		info.author = author;
		info.message = git_commit_message(c);
		ret = fn(&info, ctx);
		free(author);
		git_commit_free(c);
	}
	if (ret == 0 && rc != GIT_ITEROVER)
		ret = store_git_err(s->id, "cannot walk the history");
	git_error_clear();
	git_revwalk_free(walk);
	return ret;
}


/* ---- the whole history ---- */

/* The objects already gone through: a message is counted once however many commits hold it. */
struct oidset {
	git_oid *v;
	size_t n, cap;		/* open addressing; cap is a power of two */
};

static size_t oid_slot(const git_oid *id, size_t cap)
{
	uint32_t h;

	memcpy(&h, id->id, sizeof(h));
	return h & (cap - 1);
}

/* Add id: 1 when it is new, 0 when it was there. */
static int oidset_add(struct oidset *s, const git_oid *id)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct oidset bigger = { NULL, 0, s->cap ? s->cap * 2 : 256 };

		bigger.v = mlb_xcalloc(bigger.cap, sizeof(*bigger.v));
		for (i = 0; i < s->cap; i++)
			if (!git_oid_is_zero(&s->v[i]))
				oidset_add(&bigger, &s->v[i]);
		free(s->v);
		*s = bigger;
	}
	for (i = oid_slot(id, s->cap); !git_oid_is_zero(&s->v[i]); i = (i + 1) & (s->cap - 1))
		if (!git_oid_cmp(&s->v[i], id))
			return 0;
	git_oid_cpy(&s->v[i], id);
	s->n++;
	return 1;
}

struct ever {
	struct mlb_session *s;
	int (*fn)(const char *pane, const char *name, const char *data, size_t len, void *ctx);
	void *ctx;
	struct oidset seen;
	int bad, stop;
};

/* The message files of one pane's tree that no earlier commit had. */
static void ever_pane(struct ever *w, const char *pane, const git_tree *tree)
{
	size_t i;

	for (i = 0; i < git_tree_entrycount(tree) && !w->stop; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_blob *blob;

		if (git_tree_entry_type(e) != GIT_OBJECT_BLOB || !store_is_message_name(name) ||
		    !oidset_add(&w->seen, git_tree_entry_id(e)))
			continue;
		if (git_blob_lookup(&blob, w->s->repo, git_tree_entry_id(e)) < 0) {
			w->bad = store_git_err(w->s->id, "panes/%s/%s: cannot read it", pane, name);
			continue;
		}
		w->stop = w->fn(pane, name, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), w->ctx);
		git_blob_free(blob);
	}
}

/* The message files of a commit's panes; trees seen before are skipped whole. */
static void ever_commit(struct ever *w, const git_oid *id)
{
	git_commit *commit = NULL;
	git_tree *root = NULL, *panes = NULL;
	const git_tree_entry *pe;
	size_t i;

	if (git_commit_lookup(&commit, w->s->repo, id) < 0 || git_commit_tree(&root, commit) < 0) {
		w->bad = store_git_err(w->s->id, "cannot read commit %s", git_oid_tostr_s(id));
		goto out;
	}
	pe = git_tree_entry_byname(root, "panes");
	if (!pe || git_tree_entry_type(pe) != GIT_OBJECT_TREE || !oidset_add(&w->seen, git_tree_entry_id(pe)))
		goto out;	/* no panes yet, or none changed */
	if (git_tree_lookup(&panes, w->s->repo, git_tree_entry_id(pe)) < 0) {
		w->bad = store_git_err(w->s->id, "cannot read the panes of commit %s", git_oid_tostr_s(id));
		goto out;
	}
	for (i = 0; i < git_tree_entrycount(panes) && !w->stop; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(panes, i);
		git_tree *pt;

		if (git_tree_entry_type(e) != GIT_OBJECT_TREE || !oidset_add(&w->seen, git_tree_entry_id(e)))
			continue;
		if (git_tree_lookup(&pt, w->s->repo, git_tree_entry_id(e)) < 0) {
			w->bad = store_git_err(w->s->id, "cannot read pane '%s'", git_tree_entry_name(e));
			continue;
		}
		ever_pane(w, git_tree_entry_name(e), pt);
		git_tree_free(pt);
	}
out:
	git_tree_free(panes);
	git_tree_free(root);
	git_commit_free(commit);
}

/* Whether a commit may have taken message files out: a restore, a merge, or a commit not made by an
 * mlb tool.  Every other commit only adds to what its parent had. */
static int may_remove(const git_commit *c)
{
	const char *msg = git_commit_message(c), *nl = strchr(msg, '\n');
	size_t len = nl ? (size_t)(nl - msg) : strlen(msg);

	return git_commit_parentcount(c) != 1 || strncmp(msg, "mlb", 3) != 0 || memmem(msg, len, "restore", 7);
}

int mlb_session_each_message_ever(struct mlb_session *s,
				  int (*fn)(const char *pane, const char *name, const char *data, size_t len, void *ctx),
				  void *ctx)
{
	struct ever w = { s, fn, ctx, { NULL, 0, 0 }, 0, 0 };
	git_revwalk *walk = NULL;
	git_oid id, tip;
	unsigned i;
	int have = store_read_main(s, &tip), err = 0;

	if (have <= 0)
		return have;
	/* Everything main holds now, then what a commit that may have taken files out had before it:
	 * each pane tree is read once, so the cost grows with the session, not with its square. */
	ever_commit(&w, &tip);
	if (git_revwalk_new(&walk, s->repo) < 0 || git_revwalk_push(walk, &tip) < 0) {
		w.bad = store_git_err(s->id, "cannot walk the history");
		goto out;
	}
	while (!w.stop && !(err = git_revwalk_next(&id, walk))) {
		git_commit *c;

		if (git_commit_lookup(&c, s->repo, &id) < 0) {
			w.bad = store_git_err(s->id, "cannot read commit %s", git_oid_tostr_s(&id));
			continue;
		}
		if (may_remove(c))
			for (i = 0; i < git_commit_parentcount(c) && !w.stop; i++)
				ever_commit(&w, git_commit_parent_id(c, i));
		git_commit_free(c);
	}
	if (!w.stop && err != GIT_ITEROVER)
		w.bad = store_git_err(s->id, "cannot walk the history");
out:
	git_error_clear();
	free(w.seen.v);
	git_revwalk_free(walk);
	return w.stop ? w.stop : w.bad;
}
