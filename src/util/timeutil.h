/* timeutil.h: wall-clock and monotonic time.  Stored times are int64
 * milliseconds since the Unix epoch (UTC); the API shows ISO 8601. */
#ifndef KESSAI_UTIL_TIMEUTIL_H
#define KESSAI_UTIL_TIMEUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/err.h"

#define TIME_ISO_BUF 64

/* Durations in ms, for windows such as "the last 24 hours". */
#define TIME_HOUR_MS (3600 * INT64_C(1000))
#define TIME_DAY_MS (24 * TIME_HOUR_MS)

/* The wall clock: CLOCK_REALTIME, or the clock file's time once
 * time_clock_file_use() succeeded. */
int64_t time_now_ms(void);
/* Monotonic nanoseconds, for latencies and time-outs only. */
int64_t time_mono_ns(void);
/* The monotonic time ms from now, as the deadline of a
 * pthread_cond_timedwait on a CLOCK_MONOTONIC condition variable. */
struct timespec time_mono_after_ms(int64_t ms);
/* A condition variable whose timed waits read the monotonic clock (so a
 * change of the wall clock neither stalls nor hurries them), for deadlines
 * from time_mono_after_ms. */
void time_mono_cond_init(pthread_cond_t *cv);
/* For windows that decide an outcome (the per-address rate limit): the
 * monotonic clock in ms, or the clock file's time once one is in use. */
int64_t time_window_ms(void);

/* A clock file, for the simulator and tests only (KESSAI_CLOCK_FILE): 8
 * bytes, a little-endian int64 of Unix milliseconds, which another process
 * (`kessai simulate`) moves.  Mapped read-only, read with an atomic load by
 * every time_now_ms() from then on; this process's only time that is not
 * its own.  Call once, before any thread.  Refused (ERR_INVALID_PARAM,
 * the reason in why) when the file is missing, not a regular file, not 8
 * bytes, not owned by this process's user, or writable by group or others:
 * a clock someone else can move would replay one-time codes. */
enum err time_clock_file_use(const char *path, char *why, size_t why_n);
/* "2026-11-26T23:03:00.123Z".  Returns buf. */
char *time_iso8601(char buf[TIME_ISO_BUF], int64_t ms);
/* The inverse, strictly, for times people type (UTC only):
 * "2026-11-26" (midnight), "2026-11-26T23:03:00Z", "2026-11-26T23:03:00.123Z".
 * ERR_INVALID_PARAM for anything else, a day the month lacks included. */
enum err time_parse_iso8601(const char *s, int64_t *ms);

#endif
