/*
 * store-bundle.c - copies of a session: fork (a new session sharing history
 * up to a commit), export as a git bundle, import from one.
 */
#include "store-internal.h"
#include "clock.h"
#include "event.h"
#include "file.h"
#include "msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- fork, export, import ---- */

/* Write the objects reachable from tip (in s) as a pack into the repository dst. */
static int copy_objects(struct mlb_session *s, const git_oid *tip, git_repository *dst, const char *dst_id)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	char *packdir = mlb_xasprintf("%s/objects/pack", git_repository_path(dst));
	int ret = -1;

	if (git_packbuilder_new(&pb, s->repo) < 0 || git_revwalk_new(&walk, s->repo) < 0 ||
	    git_revwalk_push(walk, tip) < 0 || git_packbuilder_insert_walk(pb, walk) < 0) {
		store_git_err(s->id, "cannot collect the history");
		goto out;
	}
	if (git_packbuilder_write(pb, packdir, 0, NULL, NULL) < 0) {
		store_git_err(dst_id, "cannot write the objects");
		goto out;
	}
	ret = 0;
out:
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	free(packdir);
	return ret;
}

struct fork_edit {
	const char *id, *from, *commit;
};

static void edit_fork(json_object *info, void *arg)
{
	struct fork_edit *f = arg;
	json_object *from = json_object_new_object();
	char now[32];

	mlb_now_rfc3339(now);
	mlb_json_set_str(info, "id", f->id);
	mlb_json_set_str(info, "created", now);
	mlb_json_set_str(from, "session", f->from);
	mlb_json_set_str(from, "commit", f->commit);
	json_object_object_add(info, "forked_from", from);
}

static void edit_id(json_object *info, void *arg)
{
	mlb_json_set_str(info, "id", arg);
}

/* Finish a session built in tmp whose objects are in place: point main at tip, commit the edit of
 * session.json, write the work tree, and make it appear as id. */
static int finish_copy(const char *id, const char *tmp, git_repository *repo, const git_oid *tip,
		       struct store_info_job *job, const char *message, struct mlb_session **out)
{
	struct mlb_session *s = store_session_new(id, tmp, repo);
	git_reference *ref = NULL;
	int ret = -1, rc;

	s->unpublished = 1;
	if (git_reference_create(&ref, repo, MAIN_REF, tip, 1, "mlb: copied history") < 0) {
		store_git_err(id, "cannot set %s", MAIN_REF);
		store_session_free(s);
		return -1;
	}
	git_reference_free(ref);
	if (job && store_commit(s, store_build_info, job, message, NULL) < 0)
		goto out;
	if (store_worktree_fresh(s) < 0)
		goto out;
	store_session_free(s);
	s = NULL;
	rc = store_publish(id, tmp);
	if (rc == 1)
		mlb_error("session '%s' already exists", id);
	if (rc != 0 || mlb_session_open(id, 0, out) < 0)
		goto out;
	ret = 0;
out:
	store_session_free(s);
	return ret;
}

int mlb_session_fork(struct mlb_session *s, const char *new_id, const char *rev, struct mlb_session **out)
{
	git_repository *repo = NULL;
	git_commit *c = NULL;
	char hex[GIT_OID_HEXSZ + 1], *tmp = NULL, *msg = NULL;
	struct fork_edit edit = { new_id, s->id, hex };
	struct store_info_job job = { edit_fork, &edit, NULL };
	int ret = -1;

	*out = NULL;
	if (mlb_session_id_check(new_id) < 0)
		return -1;
	if (mlb_session_exists(new_id))
		return mlb_error("session '%s' already exists", new_id);
	if (store_resolve(s, rev ? rev : MAIN_REF, &c) < 0)
		return -1;
	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	tmp = store_temp_dir("fork", new_id);
	if (store_init_repo(new_id, tmp, &repo) < 0)
		goto out;
	if (copy_objects(s, git_commit_id(c), repo, new_id) < 0) {
		git_repository_free(repo);
		goto out;
	}
	msg = mlb_xasprintf("mlb: fork of %s at %.12s\n\nForked-From: %s %s\n", s->id, hex, s->id, hex);
	ret = finish_copy(new_id, tmp, repo, git_commit_id(c), &job, msg, out);
out:
	store_remove_tree(tmp);
	free(msg);
	free(tmp);
	git_commit_free(c);
	return ret;
}

struct bundle_out {
	FILE *f;
	int failed;
};

static int write_pack_chunk(void *buf, size_t size, void *payload)
{
	struct bundle_out *b = payload;

	if (fwrite(buf, 1, size, b->f) != size) {
		b->failed = 1;
		return -1;
	}
	return 0;
}

int mlb_session_export(struct mlb_session *s, FILE *out)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	struct bundle_out b = { out, 0 };
	char hex[GIT_OID_HEXSZ + 1];
	git_oid id;
	int have = store_read_main(s, &id), ret = -1;

	if (have <= 0)
		return have < 0 ? -1 : store_err(s->id, "nothing to export: %s does not exist", MAIN_REF);
	git_oid_tostr(hex, sizeof(hex), &id);
	if (git_packbuilder_new(&pb, s->repo) < 0 || git_revwalk_new(&walk, s->repo) < 0 ||
	    git_revwalk_push(walk, &id) < 0 || git_packbuilder_insert_walk(pb, walk) < 0) {
		store_git_err(s->id, "cannot collect the history");
		goto out;
	}
	/* HEAD is listed too, so that `git clone` of the bundle checks out main. */
	if (fprintf(out, "# v2 git bundle\n%s " MAIN_REF "\n%s HEAD\n\n", hex, hex) < 0) {
		b.failed = 1;
		goto out;
	}
	if (git_packbuilder_foreach(pb, write_pack_chunk, &b) < 0 && !b.failed) {
		store_git_err(s->id, "cannot write the pack");
		goto out;
	}
	if (!b.failed && fflush(out) == EOF)
		b.failed = 1;
	if (!b.failed)
		ret = 0;
out:
	if (b.failed)
		store_err(s->id, "cannot write the bundle: %s", strerror(errno));
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	return ret;
}

/* How much a bundle's ref is wanted: main, else HEAD, else any. */
static int ref_rank(const char *name)
{
	return strcmp(name, MAIN_REF) == 0 ? 3 : strcmp(name, "HEAD") == 0 ? 2 : 1;
}

/* Read a bundle's header up to its blank line: *tip is the commit to import. */
static int bundle_header(FILE *in, git_oid *tip)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rank = 0, ended = 0, ret = -1;

	while (!ended && (len = getline(&line, &cap, in)) > 0) {
		lineno++;
		if (line[len - 1] != '\n') {
			mlb_error("import: the bundle ends inside its header");
			goto out;
		}
		line[--len] = '\0';
		if (lineno == 1) {
			if (strcmp(line, "# v2 git bundle") != 0 && strcmp(line, "# v3 git bundle") != 0) {
				mlb_error("import: not a git bundle");
				goto out;
			}
		} else if (len == 0) {
			ended = 1;
		} else if (line[0] == '@') {
			if (strcmp(line, "@object-format=sha1") != 0) {
				mlb_error("import: unsupported bundle capability '%s'", line + 1);
				goto out;
			}
		} else if (line[0] == '-') {
			mlb_error("import: the bundle needs commits it does not hold; export the whole session");
			goto out;
		} else if (len < GIT_OID_HEXSZ + 2 || line[GIT_OID_HEXSZ] != ' ' ||
			   git_oid_fromstrn(&(git_oid){ { 0 } }, line, GIT_OID_HEXSZ) < 0) {
			git_error_clear();
			mlb_error("import: line %d: malformed bundle header", lineno);
			goto out;
		} else if (ref_rank(line + GIT_OID_HEXSZ + 1) > rank) {
			rank = ref_rank(line + GIT_OID_HEXSZ + 1);
			git_oid_fromstrn(tip, line, GIT_OID_HEXSZ);
		}
	}
	if (lineno == 0)
		mlb_error("import: empty input, not a git bundle");
	else if (!ended)
		mlb_error("import: the bundle ends inside its header");
	else if (!rank)
		mlb_error("import: the bundle names no branch");
	else
		ret = 0;
out:
	free(line);
	return ret;
}

int mlb_session_import(FILE *in, const char *id, struct mlb_session **out)
{
	git_repository *repo = NULL;
	git_indexer *idx = NULL;
	git_indexer_options opts;
	git_indexer_progress stats;
	git_odb *odb = NULL;
	git_commit *tip_commit = NULL;
	git_tree *tree = NULL;
	json_object *info = NULL;
	struct mlb_session *probe = NULL;
	struct store_info_job job = { edit_id, NULL, NULL };
	char *tmp = NULL, *packdir = NULL, *msg = NULL, buf[65536];
	const char *what = id ? id : "import", *bundle_id;
	git_oid tip;
	size_t n;
	int ret = -1, rc;

	*out = NULL;
	if (id && mlb_session_id_check(id) < 0)
		return -1;
	if (id && mlb_session_exists(id))
		return mlb_error("session '%s' already exists", id);
	if (bundle_header(in, &tip) < 0)
		return -1;
	store_git_start();
	packdir = mlb_sessions_dir();
	rc = store_make_dirs(packdir);
	free(packdir);
	packdir = NULL;
	if (rc < 0)
		goto out;
	tmp = store_temp_dir("import", id ? id : "bundle");
	if (store_init_repo(what, tmp, &repo) < 0)
		goto out;
	packdir = mlb_xasprintf("%s/objects/pack", git_repository_path(repo));
	if (git_repository_odb(&odb, repo) < 0) {
		store_git_err(what, "cannot open the object database");
		goto out;
	}
	git_indexer_options_init(&opts, GIT_INDEXER_OPTIONS_VERSION);
	opts.verify = 1;
	if (git_indexer_new(&idx, packdir, 0, odb, &opts) < 0) {
		store_git_err(what, "cannot start reading the pack");
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (git_indexer_append(idx, buf, n, &stats) < 0) {
			store_git_err(what, "the bundle's pack is damaged");
			goto out;
		}
	if (ferror(in)) {
		mlb_error("import: cannot read the bundle: %s", strerror(errno));
		goto out;
	}
	if (git_indexer_commit(idx, &stats) < 0) {
		store_git_err(what, "the bundle's pack is damaged or incomplete");
		goto out;
	}
	if (git_commit_lookup(&tip_commit, repo, &tip) < 0 || git_commit_tree(&tree, tip_commit) < 0) {
		store_git_err(what, "the bundle does not hold its own commit %s", git_oid_tostr_s(&tip));
		goto out;
	}
	probe = store_session_new(what, tmp, NULL);
	probe->repo = repo;
	info = store_json_in_tree(probe, tree, "session.json");
	probe->repo = NULL;
	bundle_id = info ? mlb_json_str(info, "id") : NULL;
	if (!bundle_id) {
		mlb_error("import: the bundle is not an mlb session (no session.json with an id)");
		goto out;
	}
	if (!id) {
		if (mlb_session_id_check(bundle_id) < 0)
			goto out;
		if (mlb_session_exists(bundle_id)) {
			mlb_error("session '%s' already exists; give the import another id", bundle_id);
			goto out;
		}
		id = bundle_id;
	}
	job.arg = (void *)id;
	msg = mlb_xasprintf("mlb: import %s as %s", bundle_id, id);
	ret = finish_copy(id, tmp, repo, &tip, strcmp(id, bundle_id) != 0 ? &job : NULL, msg, out);
	repo = NULL;	/* finish_copy owns it now */
out:
	store_session_free(probe);
	json_object_put(info);
	git_tree_free(tree);
	git_commit_free(tip_commit);
	git_indexer_free(idx);
	git_odb_free(odb);
	git_repository_free(repo);
	if (tmp)
		store_remove_tree(tmp);
	free(msg);
	free(packdir);
	free(tmp);
	store_git_stop();
	return ret;
}

