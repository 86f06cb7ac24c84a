/* request.h: what a handler can read from its request.
 *
 * Strings returned here are owned by the request.  Method, path, params,
 * body, JSON, id and client address stay valid until the request is
 * completed, and may be read from any thread (a completer's too); header() and
 * query() read libmicrohttpd's connection and may only be called from the
 * handler itself (not from a completer on another thread).
 */
#ifndef KESSAI_HTTP_REQUEST_H
#define KESSAI_HTTP_REQUEST_H

#include <stddef.h>

#include <jansson.h>

struct http_request;

/* Longest numeric address, IPv6 with scope included, plus NUL. */
#define HTTP_ADDR_MAX 64

/* "req_…": also sent as the Request-Id header and logged. */
const char *http_request_id(const struct http_request *req);
const char *http_request_method(const struct http_request *req);
/* The decoded path without the query string, e.g. "/v1/payments/pay_…". */
const char *http_request_path(const struct http_request *req);
/* The peer's numeric address: "203.0.113.7" or "2001:db8::1" (an
 * IPv4-mapped IPv6 peer is shown as IPv4), "unknown" if MHD could not say.
 * It is the TCP peer: behind a proxy, the proxy.  Any thread. */
const char *http_request_client_addr(const struct http_request *req);
/* The value of a `{name}` segment of the route's pattern; NULL if none. */
const char *http_request_param(const struct http_request *req, const char *name);
/* A request header (case-insensitive name) or NULL.  Handler thread only. */
const char *http_request_header(const struct http_request *req, const char *name);
/* A query-string argument or NULL.  Handler thread only. */
const char *http_request_query(const struct http_request *req, const char *name);
/* The raw body (NUL-terminated for convenience; len excludes it); "" if none. */
const char *http_request_body(const struct http_request *req, size_t *len);
/* The parsed body of an HTTP_ROUTE_JSON_BODY route (borrowed), else NULL. */
json_t *http_request_json(const struct http_request *req);

#endif
