#include "clock.h"

#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <time.h>

int64_t mlb_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mlb_mono_coarse_ms(void)
{
#ifdef CLOCK_MONOTONIC_COARSE
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#else
	return mlb_mono_ms();
#endif
}

int64_t mlb_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mlb_rfc3339(char *out, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);

	snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static int held;
static int64_t held_ms;

void mlb_clock_hold(void)
{
	held_ms = mlb_wall_ms();
	held = 1;
}

void mlb_clock_release(void)
{
	held = 0;
}

void mlb_now_rfc3339(char *out)
{
	/* Events come thousands a second: format each millisecond once. */
	static int64_t last = -1;
	static char cached[32];
	int64_t now = held ? held_ms : mlb_wall_ms();

	if (now != last) {
		mlb_rfc3339(cached, now);
		last = now;
	}
	memcpy(out, cached, sizeof(cached));
}
