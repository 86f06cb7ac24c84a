#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/timeutil.h"

/* Set once at start-up, before threads; read-only afterwards. */
static enum log_level threshold = LOG_INFO;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level min) { threshold = min; }

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcasecmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

static int looks_secret(const char *key)
{
    static const char *words[] = {"password", "secret", "token", "pan", "cvv", "otp", "key"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasestr(key, words[i]))
            return 1;
    return 0;
}

bool log_enabled(enum log_level level) { return level >= threshold; }

void log_event(enum log_level level, const char *event, json_t *fields)
{
    if (!log_enabled(level)) {
        json_decref(fields);
        return;
    }
    char ts[TIME_ISO_BUF];
    json_t *line = json_object();
    if (line == NULL) {
        json_decref(fields);
        return;
    }
    json_object_set_new(line, "ts", json_string(time_iso8601(ts, time_now_ms())));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "event", json_string(event));
    if (json_is_object(fields)) {
        const char *k;
        json_t *v;
        json_object_foreach(fields, k, v) {
            /* A field named like the line's own keys must not replace them
             * (the event name is what operators alert on): kept aside. */
            char aside[64];
            const char *name = k;
            if (strcmp(k, "ts") == 0 || strcmp(k, "level") == 0 || strcmp(k, "event") == 0) {
                snprintf(aside, sizeof aside, "field_%s", k);
                name = aside;
            }
            if (looks_secret(name))
                json_object_set_new(line, name, json_string("[redacted]"));
            else
                json_object_set(line, name, v);
        }
    }
    json_decref(fields);
    char *s = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(line);
    if (s) {
        /* One fprintf per line: stdio locks the stream, so lines never interleave. */
        fprintf(stderr, "%s\n", s);
        free(s);
    }
}
