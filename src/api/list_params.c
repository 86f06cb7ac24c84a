#include "api/list_params.h"

#include <stdlib.h>
#include <string.h>

#include "http/reply.h"
#include "http/request.h"
#include "util/ids.h"

bool api_path_id(struct http_request *req, const char *prefix, enum err not_found, int64_t *id)
{
    if (ids_parse(http_request_param(req, "id"), prefix, id) == ERR_OK)
        return true;
    http_reply_error(req, not_found, NULL);
    return false;
}

bool api_before_cursor(struct http_request *req, const char *prefix, int64_t *before)
{
    const char *q = http_request_query(req, "before");
    if (q == NULL || ids_parse(q, prefix, before) == ERR_OK)
        return true;
    http_reply_error(req, ERR_INVALID_PARAM, "before");
    return false;
}

bool api_limit(struct http_request *req, size_t def, size_t max, size_t *limit)
{
    const char *l = http_request_query(req, "limit");
    *limit = def;
    if (l == NULL)
        return true;
    /* Plain decimal digits, no leading zero: strtoull alone would take a
     * sign and leading blanks.  Twenty digits overflow before max does. */
    size_t digits = strspn(l, "0123456789");
    unsigned long long v = 0;
    if (digits > 0 && digits < 20 && l[digits] == '\0' && l[0] != '0')
        v = strtoull(l, NULL, 10);
    if (v < 1 || v > max) {
        http_reply_error(req, ERR_INVALID_PARAM, "limit");
        return false;
    }
    *limit = (size_t)v;
    return true;
}

bool api_list_query(struct http_request *req, const char *const *statuses, const char *prefix, size_t max,
                    struct api_list_query *q)
{
    *q = (struct api_list_query){.status = http_request_query(req, "status"), .limit = 50};
    if (q->status == NULL)
        q->status = "";
    bool known = statuses == NULL || q->status[0] == '\0';
    for (const char *const *st = statuses; !known && *st; st++)
        known = strcmp(*st, q->status) == 0;
    if (!known) {
        http_reply_error(req, ERR_INVALID_PARAM, "status");
        return false;
    }
    return api_limit(req, q->limit, max, &q->limit) && api_before_cursor(req, prefix, &q->before);
}

enum http_verdict api_reply_body(struct http_request *req, int status, json_t *body)
{
    return body ? http_reply_json(req, status, body) : http_reply_error(req, ERR_NOMEM, NULL);
}
