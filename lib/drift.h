/*
 * drift.h - has a model's answer drifted from a recording?  Compares each
 * pane's last answer in two sessions with the same panes (a run replayed
 * from a recording, --replay, and the same run live), answer by answer,
 * with mlb-diff's word similarity.  Each pair is an assert event (check
 * "drift"); one below the least similarity allowed fails the check.
 */
#ifndef MLB_DRIFT_H
#define MLB_DRIFT_H

/* Compare every pane of session recorded with the pane of that name in live; 0, 1, 3 (a pane is
 * missing from live) or 5 (a pair is less similar than min). */
int mlb_drift(const char *recorded, const char *live, double min);

#endif
