/* timeutil.h: wall-clock and monotonic time.  Stored times are int64
 * milliseconds since the Unix epoch (UTC); the API shows ISO 8601. */
#ifndef KESSAI_UTIL_TIMEUTIL_H
#define KESSAI_UTIL_TIMEUTIL_H

#include <stdint.h>

#include "util/err.h"

#define TIME_ISO_BUF 64

/* Durations in ms, for windows such as "the last 24 hours". */
#define TIME_HOUR_MS (3600 * INT64_C(1000))
#define TIME_DAY_MS (24 * TIME_HOUR_MS)

int64_t time_now_ms(void);
/* Monotonic nanoseconds, for latencies and time-outs only. */
int64_t time_mono_ns(void);
/* "2026-11-26T23:03:00.123Z".  Returns buf. */
char *time_iso8601(char buf[TIME_ISO_BUF], int64_t ms);
/* The inverse, strictly, for times people type (UTC only):
 * "2026-11-26" (midnight), "2026-11-26T23:03:00Z", "2026-11-26T23:03:00.123Z".
 * ERR_INVALID_PARAM for anything else, a day the month lacks included. */
enum err time_parse_iso8601(const char *s, int64_t *ms);

#endif
