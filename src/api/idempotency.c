/* idempotency.c: the Idempotency-Key header (see idempotency.h). */
#include "api/idempotency.h"

#include "http/request.h"

enum err api_idempotency_key(struct http_request *req, const char **key)
{
    *key = NULL;
    const char *v = http_request_header(req, IDEMPOTENCY_HEADER);
    if (v == NULL)
        return ERR_MISSING_PARAM;
    if (!idem_key_valid(v))
        return ERR_INVALID_PARAM;
    *key = v;
    return ERR_OK;
}
