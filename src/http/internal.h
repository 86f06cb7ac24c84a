/* internal.h: what the files of src/http share.  Not for use outside src/http.
 *
 * Request lifetime.  A struct http_request is created when libmicrohttpd
 * (MHD) has a request's headers and is freed when the last of two references
 * goes:
 *   - MHD's, dropped in the request-completed callback (server.c);
 *   - the completer's, taken just before the handler runs and dropped when
 *     the handler returns HTTP_REPLIED or, for HTTP_SUSPENDED, when someone
 *     calls http_complete_*() (suspend.c).
 * So a suspended request stays valid for its completer even if the client
 * has gone or the server has stopped.
 *
 * Request states (guarded by req->mu):
 *
 *   READING --body complete--> IN_HANDLER --handler replied------------> ANSWERED
 *                                   |      (or completed before it returned)
 *                                   +--HTTP_SUSPENDED--> SUSPENDED --http_complete_*()
 *                                                           |        or server stop
 *                                                           v
 *                                                        RESUMING --MHD calls back--> ANSWERED
 *
 * Early errors (404, 405, 413, 415, 503 while stopping) go READING -> ANSWERED
 * without a handler.
 *
 * Locks, always taken in this order: req->mu, then srv->mu, then MHD's own.
 * Nothing holds srv->mu while taking req->mu.
 */
#ifndef KESSAI_HTTP_INTERNAL_H
#define KESSAI_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "http/metrics.h"
#include "http/request.h"
#include "http/router.h"
#include "http/server.h"
#include "util/err.h"
#include "util/ids.h"

#define HTTP_REPLY_HEADERS_MAX 8
#define HTTP_METHOD_MAX 16

enum req_state { REQ_READING, REQ_IN_HANDLER, REQ_SUSPENDED, REQ_RESUMING, REQ_ANSWERED };

struct http_reply {
    bool set;
    int status;
    char *body; /* malloc'd; handed to MHD when queued */
    size_t len;
    const char *content_type; /* static string */
    size_t nheaders;
    char *headers[HTTP_REPLY_HEADERS_MAX][2]; /* malloc'd name, value */
    struct http_stream *stream;               /* a streamed body (stream.h) instead of body */
};

struct http_request {
    struct http_server *srv;
    struct MHD_Connection *conn;
    pthread_mutex_t mu;
    atomic_int refs;
    enum req_state state;
    bool completer_done; /* the completer's reference was dropped */
    bool forced;         /* answered by http_server_stop; the completer's reply is dropped */
    bool listed;         /* on srv->pending (guarded by srv->mu) */
    struct http_request *prev, *next;

    char id[IDS_BUF];
    char method[HTTP_METHOD_MAX];
    char client_addr[HTTP_ADDR_MAX]; /* numeric, set at creation, never changes */
    const char *path; /* MHD's copy, valid until the request completes */
    int64_t start_ns;
    int sent_status; /* what was queued; 0 if nothing */

    enum err early; /* decided from the headers; answered once the body is in */
    char allow[HTTP_ALLOW_MAX];
    const struct http_route *route;
    long route_index; /* -1 when unmatched */
    size_t nparams;
    char *param_names[HTTP_PARAMS_MAX];
    char *param_values[HTTP_PARAMS_MAX];

    char *body;
    size_t body_len, body_cap;
    size_t discarded; /* bytes dropped after the limit was passed */
    json_t *json;

    struct http_reply reply;
};

struct http_server {
    struct MHD_Daemon *daemon;
    int listen_fd;
    uint16_t port;
    struct http_server_config cfg;
    const struct http_route *routes;
    size_t nroutes;
    void *app;
    struct http_metrics *metrics;

    pthread_mutex_t mu;
    pthread_cond_t idle; /* signalled when inflight reaches 0 */
    size_t inflight;     /* requests between first callback and completion */
    bool stopping; /* draining: requests arriving now get 503 */
    bool forcing;  /* grace over: no handler may start any more */
    struct http_request *pending; /* requests whose completer has not finished */
    struct http_stream *streams;  /* open streamed replies (stream.c) */
};

/* request.c */
struct http_request *http_request_new(struct http_server *srv, struct MHD_Connection *conn, const char *method,
                                      const char *path);
void http_request_unref(struct http_request *req);

/* reply.c: store a reply (takes body, a malloc'd buffer, in all cases).
 * Returns false, freeing body, if the request already has one.  Caller holds req->mu. */
bool http_reply_store_locked(struct http_request *req, int status, const char *content_type, char *body,
                             size_t len);
/* Serialise an error reply for e (never fails: falls back to a static body). */
void http_reply_error_body(enum err e, const char *param, char **body, size_t *len);
/* Hand the stored reply to MHD with the common headers; req->state must make
 * queueing legal.  Returns MHD's verdict. */
enum MHD_Result http_reply_queue(struct http_request *req);

/* stream.c */
struct http_stream;
/* MHD's response for a streamed reply (NULL, the source closed, if out of memory). */
struct MHD_Response *http_stream_response(struct http_stream *s);
/* End every open stream (server stop); caller holds no lock. */
void http_streams_end_all(struct http_server *srv);

/* suspend.c */
/* Run the handler of a routed request whose body is complete. */
enum MHD_Result http_suspend_run_handler(struct http_request *req);
/* Answer every request still waiting for a completer with 503 (server stop). */
void http_suspend_force_all(struct http_server *srv);

#endif
