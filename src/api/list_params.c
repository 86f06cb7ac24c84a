#include "api/list_params.h"

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

enum http_verdict api_reply_body(struct http_request *req, int status, json_t *body)
{
    return body ? http_reply_json(req, status, body) : http_reply_error(req, ERR_NOMEM, NULL);
}
