/*
 * summary.h - the prompt that asks a model to summarize several answers.
 *
 * The instruction for each format (executive, technical, bullet) comes from
 * share/mlb/prompts/<format>.txt, or from the user's copy in
 * $XDG_CONFIG_HOME/mlb/prompts/<format>.txt.  Each answer follows, headed by
 * its pane and model.  Answers past MLB_SUMMARY_SOURCE_BYTES each (and past
 * MLB_SUMMARY_TOTAL_BYTES together) are shortened, and the prompt says so.
 */
#ifndef MLB_SUMMARY_H
#define MLB_SUMMARY_H

#include <stddef.h>

#define MLB_SUMMARY_SOURCE_BYTES 16000
#define MLB_SUMMARY_TOTAL_BYTES 64000

struct mlb_summary_source {
	char *session, *pane, *model;
	char *content;
	char hash[72];		/* "sha256:<hex>" of the whole content */
};

/* Whether format names a known format. */
int mlb_summary_format_valid(const char *format);

/* The summarizing prompt for the sources (caller frees); NULL after an error (unreadable template). */
char *mlb_summary_prompt(const char *format, const char *question,
			 const struct mlb_summary_source *src, size_t n);

/* "Source-N: <session>/<pane> <model> <hash>" header lines for the stored prompt (caller frees). */
char *mlb_summary_headers(const struct mlb_summary_source *src, size_t n);

/* Fill src->hash from src->content. */
void mlb_summary_hash(struct mlb_summary_source *src);
void mlb_summary_sources_free(struct mlb_summary_source *src, size_t n);

#endif
