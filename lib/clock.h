/*
 * clock.h - time as the tools need it: a monotonic clock for latencies and
 * deadlines, and RFC 3339 UTC timestamps with milliseconds for events.
 */
#ifndef MLB_CLOCK_H
#define MLB_CLOCK_H

#include <stdint.h>

/* Milliseconds on a monotonic clock (for intervals only). */
int64_t mlb_mono_ms(void);
/* The same clock as of its last tick, a few ms behind and far cheaper to read: for noting,
 * once per network read, when bytes last came, against timeouts of seconds. */
int64_t mlb_mono_coarse_ms(void);
/* Milliseconds since the Unix epoch. */
int64_t mlb_wall_ms(void);
/* Format ms since the epoch as "2026-11-22T02:22:15.123Z" into out (at least 32 bytes). */
void mlb_rfc3339(char *out, int64_t ms);
/* The current time as an RFC 3339 UTC timestamp into out (at least 32 bytes). */
void mlb_now_rfc3339(char *out);
/*
 * Between mlb_clock_hold() and mlb_clock_release(), mlb_now_rfc3339() gives
 * the time of the hold: the events made from one network read carry the
 * moment it arrived, and the clock is read once a read, not once an event.
 */
void mlb_clock_hold(void);
void mlb_clock_release(void);

#endif
