/* log.h: structured log lines.
 *
 * One JSON object per line on stderr: {"ts":"…","level":"info","event":"…",…}.
 * Fields are a jansson object the call takes ownership of.  As a last line of
 * defence, any field whose name suggests a secret (password, secret, token,
 * pan, cvv, otp, key) is written as "[redacted]": callers must not log secrets,
 * and this makes a slip harmless.
 *
 * The level threshold is set once at start-up (log_set_level) by the process
 * that owns it; writes are whole lines, safe from any thread.
 */
#ifndef KESSAI_UTIL_LOG_H
#define KESSAI_UTIL_LOG_H

#include <stdbool.h>

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level min);
/* Parse "debug" | "info" | "warn" | "error"; -1 if unknown. */
int log_level_parse(const char *s);
/* Whether a line of this level would be written: for a caller whose fields
 * cost something to build (the access log, once per request). */
bool log_enabled(enum log_level level);
/* Write one line.  fields may be NULL; it is consumed (decref'd) either way. */
void log_event(enum log_level level, const char *event, json_t *fields);

#endif
