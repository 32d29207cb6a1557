/*
 * circuit.h - a circuit breaker shared by every mlb process of the user.
 *
 * After circuit.failures (3) failures of one model in a row, each before
 * its first token, the model's circuit opens for circuit.cooldown (60)
 * seconds: a pane that has a fallback asks the fallback at once instead of
 * waiting through the model's retries again.  A success closes it.  The
 * state is one small file, ${XDG_STATE_HOME:-~/.local/state}/mlb/circuit,
 * "provider:model<TAB>failures<TAB>open-until-ms" a line, read and
 * rewritten (atomically) under an flock(2) of circuit.lock beside it, so
 * that processes running at once count every failure.  The breaker only
 * advises: when the file cannot be used, every model counts as closed.
 */
#ifndef MLB_CIRCUIT_H
#define MLB_CIRCUIT_H

#include <stdint.h>

#include "config.h"

struct mlb_circuit_conf {
	int failures;		/* in a row, to open; 0 turns the breaker off */
	double cooldown_s;	/* how long it stays open */
};

/* circuit.failures and circuit.cooldown from the configuration; -1 after an error. */
int mlb_circuit_configure(const struct mlb_config *cfg, struct mlb_circuit_conf *c);

/* Whether model's circuit is open now: 1 with *until_ms (wall clock, ms) set, else 0. */
int mlb_circuit_is_open(const struct mlb_circuit_conf *c, const char *model, int64_t *until_ms);

/* Count a success (closes the circuit) or a failure; 1 when this failure opened it, with *until_ms set. */
int mlb_circuit_record(const struct mlb_circuit_conf *c, const char *model, int ok, int64_t *until_ms);

#endif
