/* idempotency.c: the Idempotency-Key header (see idempotency.h). */
#include "api/idempotency.h"

#include <stddef.h>

#include "http/request.h"

int api_idempotency_key_valid(const char *key)
{
    if (key == NULL)
        return 0;
    size_t n = 0;
    for (const char *p = key; *p != '\0'; p++, n++) {
        unsigned char c = (unsigned char)*p;
        /* Printable ASCII without space: what every client library sends
         * and what a log line or a database column carries unchanged. */
        if (c < 0x21 || c > 0x7e || n >= IDEMPOTENCY_KEY_MAX)
            return 0;
    }
    return n >= 1;
}

enum err api_idempotency_key(struct http_request *req, const char **key)
{
    *key = NULL;
    const char *v = http_request_header(req, IDEMPOTENCY_HEADER);
    if (v == NULL)
        return ERR_MISSING_PARAM;
    if (!api_idempotency_key_valid(v))
        return ERR_INVALID_PARAM;
    *key = v;
    return ERR_OK;
}
