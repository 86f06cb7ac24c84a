/* server.c: libmicrohttpd glue: start/stop, the access callback that reads
 * the body and routes, and the completion callback that counts and logs.
 *
 * MHD calls on_access several times per request: once with the headers
 * (*con_cls == NULL), once per piece of body, once more when the body is
 * complete, and once more after a suspended connection is resumed.  What is
 * decided from the headers alone (404, 405, 413 by Content-Length, 415,
 * shutting down) is remembered in req->early; only 413 by Content-Length
 * and 400 for a body framed twice are answered at once, so the body is
 * never read, and MHD closes the connection after the reply.  The others are answered once the (small)
 * body is in, so the connection can be reused.
 */
#include "http/server.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http/access_log.h"
#include "http/internal.h"
#include "http/listen.h"
#include "http/reply.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/wipe.h"

/* After the limit, keep reading (and dropping) at most this much more, so a
 * client that streams a slightly-too-large chunked body still gets its 413;
 * an endless stream is cut off by closing the connection. */
#define DISCARD_SLACK (1024 * 1024)

static bool is_json_content_type(const char *ct)
{
    static const char want[] = "application/json";
    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    ct += sizeof want - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* Content-Length as a number; -1 when absent (chunked or no body).  MHD has
 * already refused malformed values with 400. */
static long long content_length(struct MHD_Connection *conn)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (v == NULL)
        return -1;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || n < 0)
        return LLONG_MAX;
    return n;
}

struct framing {
    int lengths, encodings;
    bool bad_encoding; /* a Transfer-Encoding other than "chunked" */
    bool bad_header;   /* white space in a name */
};

static enum MHD_Result count_framing(void *ctx, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct framing *f = ctx;
    /* "Content-Length : 2" is no Content-Length to MHD, but may be one to
     * a lenient proxy in front. */
    if (strpbrk(key, " \t"))
        f->bad_header = true;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->lengths++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->encodings++;
        /* Anything else MHD would read to the connection's end, answering
         * nothing (RFC 9112, 6.1: only chunked is understood here). */
        if (value == NULL || strcasecmp(value, "chunked") != 0)
            f->bad_encoding = true;
    }
    return MHD_YES;
}

/* Headers that frame the body ambiguously: two framings of one body
 * (Content-Length or Transfer-Encoding twice, or both: MHD reads the first,
 * and a proxy in front may have read the other, so what is left of the
 * body would run as a request of its own, request smuggling; RFC 9112,
 * 6.3), a transfer coding other than chunked, or a header name with white
 * space.  The parameter to name in the 400, or NULL when all is well. */
static const char *ambiguous_framing(struct MHD_Connection *conn)
{
    struct framing f = {0, 0, false, false};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.bad_header)
        return "headers";
    if (f.bad_encoding || f.encodings > 1)
        return MHD_HTTP_HEADER_TRANSFER_ENCODING;
    return f.lengths > 1 || (f.lengths > 0 && f.encodings > 0) ? MHD_HTTP_HEADER_CONTENT_LENGTH : NULL;
}

static enum err keep_params(struct http_request *req, const struct http_match *m)
{
    for (size_t i = 0; i < m->nparams; i++) {
        req->param_names[i] = strndup(m->params[i].name, m->params[i].name_len);
        req->param_values[i] = strndup(m->params[i].value, m->params[i].value_len);
        req->nparams = i + 1;
        if (req->param_names[i] == NULL || req->param_values[i] == NULL)
            return ERR_NOMEM;
    }
    return ERR_OK;
}

static enum MHD_Result on_headers(struct http_request *req, const char *method)
{
    struct http_server *srv = req->srv;
    pthread_mutex_lock(&srv->mu);
    bool stopping = srv->stopping;
    pthread_mutex_unlock(&srv->mu);
    if (stopping) {
        req->early = ERR_SHUTTING_DOWN;
        return MHD_YES;
    }
    const char *framing = ambiguous_framing(req->conn);
    if (framing) { /* answered at once: MHD closes the connection */
        http_reply_error(req, ERR_INVALID_PARAM, framing);
        return http_reply_queue(req);
    }
    long long cl = content_length(req->conn);
    if (cl > (long long)srv->cfg.max_body_bytes) {
        http_reply_error(req, ERR_PAYLOAD_TOO_LARGE, NULL);
        return http_reply_queue(req);
    }
    struct http_match m;
    enum err e = http_route_match(srv->routes, srv->nroutes, method, req->path, &m, req->allow);
    if (e != ERR_OK) {
        req->early = e;
        return MHD_YES;
    }
    req->route = &srv->routes[m.index];
    req->route_index = (long)m.index;
    req->early = keep_params(req, &m);
    if (req->early == ERR_OK && (req->route->flags & HTTP_ROUTE_JSON_BODY) &&
        !is_json_content_type(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Type")))
        req->early = ERR_UNSUPPORTED_MEDIA_TYPE;
    if (req->early == ERR_OK && cl > 0) {
        req->body = malloc((size_t)cl + 1);
        req->body_cap = (size_t)cl;
        if (req->body == NULL)
            req->early = ERR_NOMEM;
    }
    return MHD_YES;
}

static enum MHD_Result on_body_chunk(struct http_request *req, const char *data, size_t n)
{
    size_t max = req->srv->cfg.max_body_bytes;
    if (req->early == ERR_OK && req->body_len + n > max) {
        req->early = ERR_PAYLOAD_TOO_LARGE;
        wipe_free(req->body); /* bodies hold passwords and codes (util/wipe.h) */
        req->body = NULL;
        req->discarded = req->body_len;
        req->body_len = req->body_cap = 0;
    }
    if (req->early != ERR_OK) {
        req->discarded += n;
        if (req->discarded > max) /* a 404 with a huge body is still too large */
            req->early = ERR_PAYLOAD_TOO_LARGE;
        return req->discarded > max + DISCARD_SLACK ? MHD_NO : MHD_YES;
    }
    if (req->body_len + n > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 1024;
        while (cap < req->body_len + n)
            cap *= 2;
        if (cap > max)
            cap = max;
        /* Not realloc: it would leave the old copy of the body behind, unwiped. */
        char *grown = malloc(cap + 1);
        if (grown == NULL) {
            req->early = ERR_NOMEM;
            return MHD_YES;
        }
        if (req->body_len > 0)
            memcpy(grown, req->body, req->body_len);
        wipe_free(req->body);
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, n);
    req->body_len += n;
    req->body[req->body_len] = '\0';
    return MHD_YES;
}

static enum MHD_Result on_body_done(struct http_request *req)
{
    pthread_mutex_lock(&req->mu);
    enum req_state state = req->state;
    pthread_mutex_unlock(&req->mu);
    if (state == REQ_RESUMING)
        return http_reply_queue(req);
    if (state != REQ_READING)
        return MHD_YES; /* cannot happen: MHD does not call a suspended connection */
    if (req->early == ERR_METHOD_NOT_ALLOWED)
        http_reply_header(req, "Allow", req->allow);
    if (req->early != ERR_OK) {
        http_reply_error(req, req->early, NULL);
        return http_reply_queue(req);
    }
    if (req->route->flags & HTTP_ROUTE_JSON_BODY) {
        enum err e = json_parse_object(req->body, req->body_len, &req->json);
        if (e != ERR_OK) {
            http_reply_error(req, e, NULL);
            return http_reply_queue(req);
        }
    }
    return http_suspend_run_handler(req);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    if (req == NULL) {
        req = http_request_new(srv, conn, method, url);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        pthread_mutex_lock(&srv->mu);
        srv->inflight++;
        pthread_mutex_unlock(&srv->mu);
        http_metrics_inflight_add(srv->metrics, 1);
        return on_headers(req, method);
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return on_body_chunk(req, upload_data, n);
    }
    return on_body_done(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    if (req == NULL)
        return;
    *con_cls = NULL;
    int64_t duration = time_mono_ns() - req->start_ns;
    pthread_mutex_lock(&req->mu);
    int status = req->sent_status;
    pthread_mutex_unlock(&req->mu);
    if (status != 0)
        http_metrics_observe_request(srv->metrics, req->route_index, status, duration);
    http_access_log(req, duration, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
    http_metrics_inflight_add(srv->metrics, -1);
    pthread_mutex_lock(&srv->mu);
    if (--srv->inflight == 0)
        pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->mu);
    http_request_unref(req);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        msg[--len] = '\0';
    log_event(LOG_WARN, "http_server_message", json_pack("{s:s}", "message", msg));
}

/* MHD decodes %XX in the path and the query.  A decoded NUL would silently
 * cut a string short ("/v1/a%00/b" read as "/v1/a"), so such strings are
 * left encoded: they then match no route and fail any validation, instead
 * of meaning something shorter. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    if (strstr(s, "%00") != NULL)
        return strlen(s);
    return MHD_http_unescape(s);
}

static void server_free(struct http_server *srv)
{
    pthread_cond_destroy(&srv->idle);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}

enum err http_server_start(const struct http_server_config *cfg, const struct http_route *routes, size_t nroutes,
                           void *app, struct http_metrics *metrics, struct http_server **out,
                           char errbuf[HTTP_ERRBUF])
{
    size_t bad = 0;
    if (http_routes_check(routes, nroutes, &bad) != ERR_OK) {
        snprintf(errbuf, HTTP_ERRBUF, "route %zu (%s) is malformed", bad,
                 routes[bad].pattern ? routes[bad].pattern : "no pattern");
        return ERR_INVALID_PARAM;
    }
    if (cfg->max_body_bytes == 0 || cfg->max_connections == 0 || cfg->max_connections_per_ip == 0 ||
        cfg->header_memory_bytes == 0) {
        snprintf(errbuf, HTTP_ERRBUF, "HTTP limits must be positive");
        return ERR_INVALID_PARAM;
    }
    struct http_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        snprintf(errbuf, HTTP_ERRBUF, "out of memory");
        return ERR_NOMEM;
    }
    srv->cfg = *cfg;
    srv->routes = routes;
    srv->nroutes = nroutes;
    srv->app = app;
    srv->metrics = metrics;
    srv->listen_fd = -1;
    pthread_mutex_init(&srv->mu, NULL);
    time_mono_cond_init(&srv->idle);

    int family = 0;
    enum err e = http_listen(cfg->host, cfg->port, &srv->listen_fd, &srv->port, &family, errbuf, HTTP_ERRBUF);
    if (e != ERR_OK)
        goto fail;

    unsigned threads = cfg->threads;
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (unsigned)cores : 1;
    }
    /* poll, not epoll: libmicrohttpd 0.9.75 (Debian 12) stalls a thread in
     * its epoll loop.  When one epoll_wait returns its maximum of 128
     * events, it waits again with the whole connection timeout, although
     * the connections it has just seen are ready: a burst of 128 requests on
     * one thread then waits up to connection_timeout_s for its answers
     * (bench/README.md, fourteenth session).  Its poll loop waits once per
     * round and measured as fast. */
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger goes first so MHD's own start-up messages use it too.  MHD
     * warns about a pool of 0 or 1, so with one thread the option is left out. */
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, srv},
        {MHD_OPTION_LISTEN_SOCKET, srv->listen_fd, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->max_connections, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)cfg->max_connections_per_ip, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->connection_timeout_s, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)cfg->header_memory_bytes, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, NULL},
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(errbuf, HTTP_ERRBUF, "the HTTP server on %s:%u failed to start (details in the log)", cfg->host,
                 (unsigned)srv->port);
        e = ERR_INTERNAL;
        goto fail;
    }
    *out = srv;
    return ERR_OK;
fail:
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    server_free(srv);
    return e;
}

uint16_t http_server_port(const struct http_server *srv) { return srv->port; }

size_t http_server_inflight(struct http_server *srv)
{
    pthread_mutex_lock(&srv->mu);
    size_t n = srv->inflight;
    pthread_mutex_unlock(&srv->mu);
    return n;
}

/* Wait until no request is in flight or the deadline passes; returns how
 * many are left.  Caller holds srv->mu. */
static size_t wait_idle_locked(struct http_server *srv, const struct timespec *deadline)
{
    while (srv->inflight > 0)
        if (pthread_cond_timedwait(&srv->idle, &srv->mu, deadline) == ETIMEDOUT)
            break;
    return srv->inflight;
}

static struct timespec deadline_in(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

size_t http_server_stop(struct http_server *srv, int grace_ms)
{
    if (srv == NULL)
        return 0;
    pthread_mutex_lock(&srv->mu);
    srv->stopping = true;
    pthread_mutex_unlock(&srv->mu);
    MHD_socket quiesced = MHD_quiesce_daemon(srv->daemon);
    /* Streams (live feeds) never finish on their own: end them now so they
     * do not hold the drain for its whole grace period. */
    http_streams_end_all(srv);

    struct timespec deadline = deadline_in(grace_ms > 0 ? grace_ms : 0);
    pthread_mutex_lock(&srv->mu);
    size_t left = wait_idle_locked(srv, &deadline);
    pthread_mutex_unlock(&srv->mu);

    /* Whatever still waits for a completer is answered 503 now: MHD must
     * not be stopped with a suspended connection (a stream opened since
     * the stop began starts ended: stream.c).  Give those replies a short
     * moment to go out before the connections are closed. */
    http_suspend_force_all(srv);
    if (left > 0) {
        deadline = deadline_in(grace_ms < 1000 ? grace_ms : 1000);
        pthread_mutex_lock(&srv->mu);
        wait_idle_locked(srv, &deadline);
        pthread_mutex_unlock(&srv->mu);
    }

    MHD_stop_daemon(srv->daemon);
    if (quiesced != MHD_INVALID_SOCKET)
        close(quiesced);
    server_free(srv);
    return left;
}
