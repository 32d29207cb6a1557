/*
 * diff.h - compare two texts and describe the difference as a list of ops.
 *
 * This is the engine behind mlb-diff, which compares two models' answers.
 * The texts are cut into tokens (words, lines or UTF-8 characters), the
 * token sequences are compared with Myers' O(ND) algorithm in linear space,
 * and the result is a run of equal/delete/insert spans that point into the
 * two texts.  Concatenating the equal and delete spans gives the first text
 * back byte for byte; the equal and insert spans give the second.
 *
 * The diff is minimal unless the texts are very different: then the search
 * is cut short (as GNU diff does) and the result is valid but may be longer
 * than necessary.
 */
#ifndef MLB_DIFF_H
#define MLB_DIFF_H

#include <stddef.h>

/* How the texts are cut into tokens. */
enum mlb_diff_unit {
	MLB_DIFF_WORDS,	/* runs of non-space, and runs of space, are tokens */
	MLB_DIFF_LINES,	/* each line with its '\n' (the last may lack it) */
	MLB_DIFF_CHARS	/* UTF-8 code points; an invalid byte is one token */
};

enum mlb_diff_opkind {
	MLB_DIFF_EQUAL,
	MLB_DIFF_DELETE,
	MLB_DIFF_INSERT
};

struct mlb_diff_op {
	enum mlb_diff_opkind op;
	const char *text;	/* into a (equal, delete) or b (insert); not NUL-terminated */
	size_t len;
};

struct mlb_diff {
	struct mlb_diff_op *ops;	/* no two neighbours share a kind; delete before insert */
	size_t nops;
	double similarity;	/* 2 * equal_bytes / (alen + blen); 1.0 when both are empty */
	size_t equal_bytes, deleted_bytes, inserted_bytes;
};

/* Diff a against b by unit into out; 0, or -1 on allocation failure (errno set). */
int mlb_diff(const char *a, size_t alen, const char *b, size_t blen,
	     enum mlb_diff_unit unit, struct mlb_diff *out);
/* Free the ops of d and zero it; safe on a zeroed or already freed d. */
void mlb_diff_free(struct mlb_diff *d);
/* The event name of op: "equal", "delete" or "insert" ("unknown" otherwise). */
const char *mlb_diff_opname(enum mlb_diff_opkind op);

#endif
