/* server.h: start and stop the HTTP server (libmicrohttpd).
 *
 * The server runs a thread pool inside libmicrohttpd, each thread polling
 * its connections (poll, not epoll: server.c says why).  For each
 * request it accumulates the body up to max_body_bytes (a larger body, known
 * from Content-Length or found while it streams, is answered 413
 * payload_too_large and no handler runs), routes it (router.h), and calls the
 * handler on a worker thread.  Handlers answer with reply.h, or suspend and
 * answer later from any thread with suspend.h.  Every answer carries a
 * Request-Id header; every finished request is counted in metrics.h and
 * logged once (access_log.h).
 *
 * Ownership: routes, app and metrics are borrowed and must outlive the
 * server.  http_server_stop frees the server.
 */
#ifndef KESSAI_HTTP_SERVER_H
#define KESSAI_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "http/router.h"
#include "util/err.h"

struct http_server;
struct http_metrics;

#define HTTP_ERRBUF 256

struct http_server_config {
    const char *host;              /* "127.0.0.1", "::", "localhost", "[::1]" */
    uint16_t port;                 /* 0 picks a free port (see http_server_port) */
    unsigned threads;              /* worker threads; 0 = one per online core */
    size_t max_body_bytes;         /* largest request body accepted */
    unsigned max_connections;      /* beyond this, new connections are refused */
    unsigned max_connections_per_ip;
    unsigned connection_timeout_s; /* idle connections are closed after this */
    size_t header_memory_bytes;    /* per connection, for headers and buffers */
};

/* Bind, listen and start serving.  On failure returns ERR_IO (cannot bind:
 * address in use, no such host, permission), ERR_INVALID_PARAM (bad route
 * table or config) or ERR_INTERNAL (MHD refused to start), with a one-line
 * explanation in errbuf, and nothing is left running. */
enum err http_server_start(const struct http_server_config *cfg, const struct http_route *routes, size_t nroutes,
                           void *app, struct http_metrics *metrics, struct http_server **out,
                           char errbuf[HTTP_ERRBUF]);

/* The port actually bound (useful with port 0). */
uint16_t http_server_port(const struct http_server *srv);

/* Requests received and not yet finished (including suspended ones). */
size_t http_server_inflight(struct http_server *srv);

/* Graceful stop: stop accepting connections, answer new requests on open
 * connections with 503 shutting_down, wait up to grace_ms for requests in
 * flight to finish, then answer any request still waiting for its completer
 * with 503 (its completer may still call http_complete_*(), harmlessly),
 * stop the threads, close every connection and free srv.  Returns how many
 * requests had not finished when the grace period ended. */
size_t http_server_stop(struct http_server *srv, int grace_ms);

#endif
