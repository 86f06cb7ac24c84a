/* fuzz_json.c: hostile request bodies through the strict JSON parser and the
 * declarative field spec, with every field type.  Must never crash, leak or
 * hit undefined behaviour; accepted values must respect their bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *o = NULL;
    if (json_parse_object((const char *)data, size, &o) != ERR_OK)
        return 0;
    const char *name = NULL, *bad = NULL;
    int64_t amount = 0, n = 0, id = 0;
    bool flag = false;
    json_t *obj = NULL, *arr = NULL;
    struct json_field spec[] = {
        {"name", JF_STRING, &name, .optional = true, .min_len = 1, .max_len = 64},
        {"amount", JF_AMOUNT, &amount, .optional = true},
        {"n", JF_INT64, &n, .optional = true},
        {"flag", JF_BOOL, &flag, .optional = true},
        {"store", JF_ID, &id, .optional = true, .id_prefix = "str"},
        {"meta", JF_OBJECT, &obj, .optional = true},
        {"items", JF_ARRAY, &arr, .optional = true},
    };
    for (int strict = 0; strict < 2; strict++) {
        if (json_parse_fields(o, spec, sizeof spec / sizeof spec[0], strict, &bad) == ERR_OK) {
            if (amount != 0 && money_check_amount(amount) != ERR_OK)
                abort();
            if (name && (strlen(name) < 1 || strlen(name) > 64))
                abort();
            if (id < 0)
                abort();
        }
    }
    char *s = json_dump_compact(o);
    free(s);
    json_decref(o);
    return 0;
}
