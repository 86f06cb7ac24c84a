/* router.h: the route table and how a request finds its route.
 *
 * A server has ONE static table of routes (src/api/routes.c for kessaid):
 * method, path pattern, handler, flags.  A pattern is literal segments and
 * `{name}` segments, e.g. "/v1/payments/{id}"; a `{name}` segment matches one
 * non-empty path segment, which the handler reads with http_request_param().
 * Matching is exact (no trailing-slash folding, no prefixes), first match in
 * table order wins, and HEAD is served by the GET route (libmicrohttpd drops
 * the body).
 *
 * Outcomes: a route matches -> its handler runs; the path matches some route
 * but not the method -> 405 method_not_allowed with an Allow header; nothing
 * matches -> 404 not_found.  For routes flagged HTTP_ROUTE_JSON_BODY the
 * framework checks Content-Type (415) and parses the body with
 * json_parse_object (400 malformed_json) before the handler, so a handler
 * never sees a malformed body.
 */
#ifndef KESSAI_HTTP_ROUTER_H
#define KESSAI_HTTP_ROUTER_H

#include <stddef.h>

#include "util/err.h"

struct http_request;

/* What a handler did with its request. */
enum http_verdict {
    /* A reply was stored with http_reply_*(); the framework sends it. */
    HTTP_REPLIED = 0,
    /* The handler handed the request to someone (another thread, a callback)
     * that will call http_complete_*() on it exactly once; see suspend.h. */
    HTTP_SUSPENDED = 1,
};

/* app is the opaque context given to http_server_start. */
typedef enum http_verdict (*http_handler_fn)(struct http_request *req, void *app);

enum {
    HTTP_ROUTE_JSON_BODY = 1u << 0, /* body must be a JSON object (application/json) */
    /* A GET whose reply is a stream (stream.h): HEAD is 405, not served by
     * it (the handler would open a stream, and a HEAD reply has no body). */
    HTTP_ROUTE_NO_HEAD = 1u << 1,
};

struct http_route {
    const char *method;  /* "GET", "POST", … */
    const char *pattern; /* "/v1/things/{id}" */
    http_handler_fn handler;
    unsigned flags;
};

#define HTTP_PARAMS_MAX 4
#define HTTP_ALLOW_MAX 96

/* A path parameter: slices of the pattern and of the request path. */
struct http_param {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct http_match {
    size_t index; /* into the route table */
    size_t nparams;
    struct http_param params[HTTP_PARAMS_MAX];
};

/* Find the route for method and path.  ERR_OK fills m (slices point into
 * routes[] and path, so path must outlive m); ERR_METHOD_NOT_ALLOWED fills
 * allow with the methods the path accepts ("GET, DELETE"); ERR_NOT_FOUND. */
enum err http_route_match(const struct http_route *routes, size_t n, const char *method, const char *path,
                          struct http_match *m, char allow[HTTP_ALLOW_MAX]);

/* Check a table once at start-up: every pattern starts with '/', has balanced
 * `{name}` segments and at most HTTP_PARAMS_MAX of them, and every route has
 * a method and a handler.  ERR_INVALID_PARAM and *bad = the offending index. */
enum err http_routes_check(const struct http_route *routes, size_t n, size_t *bad);

#endif
