/*
 * view.h - the live terminal view of several panes streaming at once.
 *
 * Columns side by side when the terminal is wide enough, stacked otherwise;
 * each pane shows the tail of its text under a header saying whether it is
 * still streaming, and, once it ends, a footer with tokens, cost, latency and
 * status.  Only ever used when stdout is a terminal.  mlb_view_text() is the
 * pipe form (--text): the panes one after another, each under its model.
 */
#ifndef MLB_VIEW_H
#define MLB_VIEW_H

#include "run.h"

struct mlb_view;

/* A view of n panes named by panes[i] (the models label them); color enables escapes. */
struct mlb_view *mlb_view_new(size_t n, const char *const *panes, const char *const *models, int color);
/* The emit hook for a turn: feed it every event (ctx is the view). */
void mlb_view_event(void *ctx, struct mlb_job *job, json_object *ev);
/* Draw the last frame and the summary line; free the view. */
void mlb_view_finish(struct mlb_view *v, const char *summary);

#endif
