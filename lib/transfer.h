/*
 * transfer.h - send-to: take a message from another pane, another session,
 * or a final/message event on stdin, with its provenance (source session,
 * pane and model, transfer time, sha256 content hash).
 */
#ifndef MLB_TRANSFER_H
#define MLB_TRANSFER_H

#include "turn.h"

/* Resolve --from: "-" (events on stdin), "<pane>[:<n>]" in current_session,
 * or "<session>/<pane>[:<n>]"; n is the message number, default the pane's
 * last assistant message, or a range "<a>-<b>", or "all" (every message but
 * the system prompts): then a chain of provenances, in the pane's order.  NULL after a one-line error; *usage is set when
 * the spec itself is wrong (exit 2) rather than the data (exit 1). */
struct mlb_provenance *mlb_transfer_resolve(const char *spec, const char *current_session, int *usage);

#endif
