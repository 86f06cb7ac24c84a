/* list_params.h: the PARSE and REPLY steps the read endpoints share
 * (history.c, wallet_topups.c, disputes.c, the admin lists): a resource id
 * from the path, an optional cursor and page size from the query, and a
 * built body or 500 out_of_memory.
 * Each parse helper stores the error reply itself and returns false: the
 * handler then returns HTTP_REPLIED. */
#ifndef KESSAI_API_LIST_PARAMS_H
#define KESSAI_API_LIST_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "http/router.h"
#include "util/err.h"

struct http_request;

/* The path's {id} as "<prefix>_…" into *id.  Malformed: the reply is
 * not_found (the endpoint's 404: an id that does not parse is the same as
 * an unknown one) and false. */
bool api_path_id(struct http_request *req, const char *prefix, enum err not_found, int64_t *id);

/* The optional query parameter "before" as "<prefix>_…" into *before (0
 * when absent).  Malformed: 400 invalid_param "before" and false. */
bool api_before_cursor(struct http_request *req, const char *prefix, int64_t *before);

/* The optional query parameter "limit" into *limit: def when absent,
 * else plain decimal digits, 1..max.  Anything else ("", "0", "01", "-1",
 * "+5", " 5", "5x", "1e2", over max): 400 invalid_param "limit" and
 * false. */
bool api_limit(struct http_request *req, size_t def, size_t max, size_t *limit);

/* The query of a staff list: ?status=…&before=<prefix>_…&limit=N. */
struct api_list_query {
    const char *status; /* "" when absent */
    int64_t before;     /* 0 when absent */
    size_t limit;       /* 50 when absent */
};

/* Parse it into *q: status one of the NULL-terminated statuses (statuses
 * NULL: any, left to the caller), limit as api_limit (default 50), before
 * as api_before_cursor.  Malformed: 400 invalid_param naming the parameter,
 * and false. */
bool api_list_query(struct http_request *req, const char *const *statuses, const char *prefix, size_t max,
                    struct api_list_query *q);

/* 200/201 with body, or 500 out_of_memory when body is NULL (a failed
 * build).  Takes body. */
enum http_verdict api_reply_body(struct http_request *req, int status, json_t *body);

#endif
