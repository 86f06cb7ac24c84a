/* json.h: strict JSON input and a declarative field spec (on jansson).
 *
 * Every request body goes through json_parse_object() and then
 * json_parse_fields() with a spec array naming each field, its type, where it
 * goes and whether it may be absent.  So every handler validates the same way
 * and a bad field always yields the same kind of error, naming the field.
 *
 * Strings are borrowed: a JF_STRING target receives a pointer into the json_t,
 * valid while the caller holds the object.  Strings containing NUL bytes are
 * refused (C code must never see a truncated string).
 */
#ifndef KESSAI_UTIL_JSON_H
#define KESSAI_UTIL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum json_ftype {
    JF_STRING, /* target: const char **; min_len/max_len in bytes (max 0 = 1024) */
    JF_INT64,  /* target: int64_t *; JSON integer only */
    JF_AMOUNT, /* target: int64_t *; JSON integer in 1..MONEY_MAX */
    JF_BOOL,   /* target: bool * */
    JF_ID,     /* target: int64_t *; string "<id_prefix>_..." (see ids.h) */
    JF_OBJECT, /* target: json_t ** (borrowed) */
    JF_ARRAY,  /* target: json_t ** (borrowed) */
};

struct json_field {
    const char *name;
    enum json_ftype type;
    void *target;
    bool optional;     /* absent (or null) leaves *target untouched */
    size_t min_len;    /* JF_STRING only */
    size_t max_len;    /* JF_STRING only; 0 means 1024 */
    const char *id_prefix; /* JF_ID only */
};

/* Parse buf as a JSON object.  Duplicate keys, trailing garbage, non-objects
 * and nesting deeper than 32 are refused with ERR_MALFORMED_JSON; a number
 * too large for 64 bits (valid JSON, but not a value any field takes) with
 * ERR_INVALID_PARAM.  On success *out is a new reference. */
enum err json_parse_object(const char *buf, size_t len, json_t **out);

/* Fill targets from obj following spec[0..n).  On error returns
 * ERR_MISSING_PARAM, ERR_INVALID_PARAM, ERR_AMOUNT_INVALID or (when
 * reject_unknown and obj has a key not in spec) ERR_UNKNOWN_PARAM, and sets
 * *bad_param to the offending name (borrowed from spec or obj). */
enum err json_parse_fields(json_t *obj, const struct json_field *spec, size_t n, bool reject_unknown,
                           const char **bad_param);

/* "<prefix>_…" for id, or JSON null for 0 (not there yet: a decision, a
 * transfer).  New references. */
json_t *json_id_or_null(const char *prefix, int64_t id);
/* ms as ISO 8601 (util/timeutil.h), or JSON null for 0. */
json_t *json_time_or_null(int64_t ms);

/* Compact serialisation (malloc'd, caller frees), NULL on failure. */
char *json_dump_compact(const json_t *v);

#endif
