#include "util/json.h"

#include <string.h>

#include "util/ids.h"
#include "util/money.h"
#include "util/timeutil.h"

#define MAX_DEPTH 32
#define DEFAULT_MAX_STRING 1024

static int depth_ok(const json_t *v, int depth)
{
    if (depth > MAX_DEPTH)
        return 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c) {
            if (!depth_ok(c, depth + 1))
                return 0;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) {
            if (!depth_ok(c, depth + 1))
                return 0;
        }
    }
    return 1;
}

enum err json_parse_object(const char *buf, size_t len, json_t **out)
{
    json_error_t jerr;
    if (buf == NULL || len == 0)
        return ERR_MALFORMED_JSON;
    /* jansson itself bounds nesting (2048) so parsing cannot blow the stack;
     * we then enforce our much smaller limit. */
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL) /* an integer past 64 bits is valid JSON, but no value we take */
        return json_error_code(&jerr) == json_error_numeric_overflow ? ERR_INVALID_PARAM : ERR_MALFORMED_JSON;
    if (!json_is_object(v) || !depth_ok(v, 0)) {
        json_decref(v);
        return ERR_MALFORMED_JSON;
    }
    *out = v;
    return ERR_OK;
}

static const struct json_field *find_field(const struct json_field *spec, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(spec[i].name, name) == 0)
            return &spec[i];
    return NULL;
}

static enum err parse_one(const struct json_field *f, json_t *v)
{
    switch (f->type) {
    case JF_STRING: {
        if (!json_is_string(v))
            return ERR_INVALID_PARAM;
        size_t len = json_string_length(v);
        const char *s = json_string_value(v);
        size_t max = f->max_len ? f->max_len : DEFAULT_MAX_STRING;
        if (strlen(s) != len || len < f->min_len || len > max)
            return ERR_INVALID_PARAM;
        *(const char **)f->target = s;
        return ERR_OK;
    }
    case JF_INT64:
        if (!json_is_integer(v))
            return ERR_INVALID_PARAM;
        *(int64_t *)f->target = (int64_t)json_integer_value(v);
        return ERR_OK;
    case JF_AMOUNT: {
        if (!json_is_integer(v))
            return ERR_AMOUNT_INVALID;
        int64_t a = (int64_t)json_integer_value(v);
        if (money_check_amount(a) != ERR_OK)
            return ERR_AMOUNT_INVALID;
        *(int64_t *)f->target = a;
        return ERR_OK;
    }
    case JF_BOOL:
        if (!json_is_boolean(v))
            return ERR_INVALID_PARAM;
        *(bool *)f->target = json_is_true(v);
        return ERR_OK;
    case JF_ID: {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return ERR_INVALID_PARAM;
        return ids_parse(json_string_value(v), f->id_prefix ? f->id_prefix : "", (int64_t *)f->target);
    }
    case JF_OBJECT:
        if (!json_is_object(v))
            return ERR_INVALID_PARAM;
        *(json_t **)f->target = v;
        return ERR_OK;
    case JF_ARRAY:
        if (!json_is_array(v))
            return ERR_INVALID_PARAM;
        *(json_t **)f->target = v;
        return ERR_OK;
    }
    return ERR_INTERNAL;
}

enum err json_parse_fields(json_t *obj, const struct json_field *spec, size_t n, bool reject_unknown,
                           const char **bad_param)
{
    if (!json_is_object(obj))
        return ERR_MALFORMED_JSON;
    if (reject_unknown) {
        const char *k;
        json_t *v;
        json_object_foreach(obj, k, v) {
            if (find_field(spec, n, k) == NULL) {
                *bad_param = k;
                return ERR_UNKNOWN_PARAM;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(obj, spec[i].name);
        if (v == NULL || json_is_null(v)) {
            if (spec[i].optional)
                continue;
            *bad_param = spec[i].name;
            return ERR_MISSING_PARAM;
        }
        enum err e = parse_one(&spec[i], v);
        if (e != ERR_OK) {
            *bad_param = spec[i].name;
            return e;
        }
    }
    return ERR_OK;
}

char *json_dump_compact(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

json_t *json_id_or_null(const char *prefix, int64_t id)
{
    char buf[IDS_BUF];
    return id > 0 ? json_string(ids_format(buf, prefix, id)) : json_null();
}

json_t *json_time_or_null(int64_t ms)
{
    char buf[TIME_ISO_BUF];
    return ms ? json_string(time_iso8601(buf, ms)) : json_null();
}
