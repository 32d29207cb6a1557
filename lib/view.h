/*
 * view.h - what a person sees of replies: the live panes while they stream,
 * and every answer in full when they end.
 *
 * On a terminal the live view takes the screen (the terminal's alternate
 * screen, left as it was at the end): panes side by side when each gets at
 * least MLB_VIEW_MIN_COLUMN columns, stacked otherwise; text wrapped at word
 * boundaries; per pane its state, tokens so far, cost so far (estimated
 * from the price table until the reply's meter comes), elapsed time, on a
 * retry the attempt, the reason and a countdown, on a failure the reason.
 * A resize (SIGWINCH) redraws at the new size.  When the run ends every
 * answer is printed in full on the normal screen, so scrollback holds it,
 * then the summary line.  Diagnostics that come while the view owns the
 * screen are held and printed after it.  In a pipe (--text) there is no
 * live drawing: the panes one after another, each under its model.
 * Every byte of a model's text goes through term.h's safe filter.
 */
#ifndef MLB_VIEW_H
#define MLB_VIEW_H

#include "price.h"
#include "run.h"

#define MLB_VIEW_MIN_COLUMN 24

struct mlb_view;

/* A view of n panes named by panes[i] (models[i] label them; n may be 0:
 * panes are added as their events come); color enables escapes. */
struct mlb_view *mlb_view_new(size_t n, const char *const *panes, const char *const *models, int color);
/* Estimate the cost of replies still streaming from this table (kept, not copied). */
void mlb_view_prices(struct mlb_view *v, const struct mlb_prices *prices);
/* Leave the answers' markdown as sent (--raw); else it is drawn lightly at the end. */
void mlb_view_raw(struct mlb_view *v);
/* Label each pane "pane (model)": a pipeline asks one model in several steps. */
void mlb_view_label_panes(struct mlb_view *v);
/* The emit hook for a turn: feed it every event (ctx is the view); takes ev. */
void mlb_view_event(void *ctx, struct mlb_job *job, json_object *ev);
/* The clock: redraw what changed, a countdown, a resize (ctx is the view). */
void mlb_view_tick(void *ctx);
/* Leave the live screen, print every answer in full and the summary line; free the view.
 * 1 when it printed answers, 0 when there were none (a meter's table alone). */
int mlb_view_finish(struct mlb_view *v, const char *summary);

#endif
