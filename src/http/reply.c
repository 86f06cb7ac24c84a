/* reply.c: storing replies and handing them to libmicrohttpd.
 *
 * Replies are stored on the request and queued by the framework, not queued
 * by handlers: MHD only accepts a response from its own callback, and a
 * suspended request's reply is produced on another thread.  Storing first
 * gives both paths one way out (http_reply_queue).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "http/reply.h"
#include "util/log.h"
#include "util/wipe.h"

#define CT_JSON "application/json"

/* Used when even serialising an error fails: it must still be valid JSON. */
static const char fallback_error[] =
    "{\"error\":{\"code\":\"internal_error\",\"message\":\"An internal error occurred.\"}}";

bool http_reply_store_locked(struct http_request *req, int status, const char *content_type, char *body,
                             size_t len)
{
    if (req->reply.set) {
        wipe_free(body);
        return false;
    }
    req->reply.set = true;
    req->reply.status = status;
    req->reply.content_type = content_type;
    req->reply.body = body;
    req->reply.len = len;
    return true;
}

json_t *http_error_json(enum err e, const char *param)
{
    json_t *inner = json_pack("{s:s, s:s}", "code", err_symbol(e), "message", err_message(e));
    /* json_string refuses invalid UTF-8 (a client's key, cut short to fit
     * the param): then the reply goes without it, never as a 500. */
    json_t *p = inner && param ? json_string(param) : NULL;
    if (p && json_object_set_new(inner, "param", p) != 0) {
        json_decref(inner);
        return NULL;
    }
    return inner ? json_pack("{s:o}", "error", inner) : NULL;
}

json_t *http_error_json_reason(enum err e, const char *param, const char *reason)
{
    json_t *j = http_error_json(e, param);
    if (j == NULL || reason == NULL || reason[0] == '\0')
        return j;
    /* json_string refuses invalid UTF-8: then the reply goes without it. */
    json_t *r = json_string(reason);
    if (r != NULL && json_object_set_new(json_object_get(j, "error"), "reason", r) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

void http_reply_error_body(enum err e, const char *param, char **body, size_t *len)
{
    json_t *j = http_error_json(e, param);
    *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (*body == NULL)
        *body = strdup(fallback_error);
    *len = *body ? strlen(*body) : 0;
}

static enum http_verdict store(struct http_request *req, int status, const char *ct, char *body, size_t len)
{
    pthread_mutex_lock(&req->mu);
    http_reply_store_locked(req, status, ct, body, len);
    pthread_mutex_unlock(&req->mu);
    return HTTP_REPLIED;
}

enum http_verdict http_reply_json(struct http_request *req, int status, json_t *body)
{
    if (body == NULL)
        body = json_object();
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    return store(req, status, CT_JSON, text, strlen(text));
}

enum http_verdict http_reply_no_content(struct http_request *req) { return store(req, 204, NULL, NULL, 0); }

enum http_verdict http_reply_error(struct http_request *req, enum err e, const char *param)
{
    char *text;
    size_t len;
    http_reply_error_body(e, param, &text, &len);
    return store(req, text ? err_http_status(e) : 500, CT_JSON, text, len);
}

enum http_verdict http_reply_error_reason(struct http_request *req, enum err e, const char *param,
                                          const char *reason)
{
    json_t *j = http_error_json_reason(e, param, reason);
    if (j == NULL)
        return http_reply_error(req, e, param);
    return http_reply_json(req, err_http_status(e), j);
}

enum http_verdict http_reply_text(struct http_request *req, int status, const char *content_type, const char *text,
                                  size_t len)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    memcpy(copy, text, len);
    copy[len] = '\0';
    return store(req, status, content_type, copy, len);
}

static bool header_safe(const char *s) { return s && s[0] && strpbrk(s, "\r\n") == NULL; }

enum err http_reply_header(struct http_request *req, const char *name, const char *value)
{
    if (!header_safe(name) || !header_safe(value))
        return ERR_INVALID_PARAM;
    enum err e = ERR_OK;
    pthread_mutex_lock(&req->mu);
    struct http_reply *r = &req->reply;
    /* Once stored, a reply may be queued at any moment: it is frozen. */
    if (r->set) {
        e = ERR_CONFLICT;
        goto cleanup;
    }
    if (r->nheaders == HTTP_REPLY_HEADERS_MAX) {
        e = ERR_NOMEM;
        goto cleanup;
    }
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        e = ERR_NOMEM;
        goto cleanup;
    }
    r->headers[r->nheaders][0] = n;
    r->headers[r->nheaders][1] = v;
    r->nheaders++;
cleanup:
    pthread_mutex_unlock(&req->mu);
    return e;
}

enum err http_reply_retry_after(struct http_request *req, long long seconds)
{
    /* "Retry-After: 0" would invite an immediate retry storm. */
    char v[24];
    snprintf(v, sizeof v, "%lld", seconds < 1 ? 1LL : seconds);
    return http_reply_header(req, "Retry-After", v);
}

static bool add_headers(struct MHD_Response *resp, struct http_request *req)
{
    const struct http_reply *r = &req->reply;
    bool ok = MHD_add_response_header(resp, "Request-Id", req->id) == MHD_YES &&
              MHD_add_response_header(resp, "Cache-Control", "no-store") == MHD_YES &&
              MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES;
    if (ok && r->content_type)
        ok = MHD_add_response_header(resp, "Content-Type", r->content_type) == MHD_YES;
    for (size_t i = 0; ok && i < r->nheaders; i++)
        ok = MHD_add_response_header(resp, r->headers[i][0], r->headers[i][1]) == MHD_YES;
    return ok;
}

enum MHD_Result http_reply_queue(struct http_request *req)
{
    struct http_reply *r = &req->reply;
    pthread_mutex_lock(&req->mu);
    bool missing = !r->set;
    pthread_mutex_unlock(&req->mu);
    if (missing) {
        /* A handler said HTTP_REPLIED without replying: a bug, but the
         * client still gets an answer and the bug a log line. */
        log_event(LOG_ERROR, "http_no_reply", json_pack("{s:s}", "request_id", req->id));
        char *text;
        size_t len;
        http_reply_error_body(ERR_INTERNAL, NULL, &text, &len);
        pthread_mutex_lock(&req->mu);
        http_reply_store_locked(req, 500, CT_JSON, text, len);
        pthread_mutex_unlock(&req->mu);
    }
    /* From here the reply is frozen (see http_reply_header): no lock needed. */
    /* MHD owns the buffer from here and frees it with wipe_free once sent:
     * a reply may carry a session token or recovery codes. */
    struct MHD_Response *resp =
        r->stream ? http_stream_response(r->stream)
        : r->body ? MHD_create_response_from_buffer_with_free_callback(r->len, r->body, wipe_free)
                  : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
    r->stream = NULL; /* the response owns it now (or it was released) */
    if (resp == NULL)
        return MHD_NO; /* MHD closes the connection; nothing else can be said */
    r->body = NULL;
    if (!add_headers(resp, req)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    pthread_mutex_lock(&req->srv->mu);
    bool stopping = req->srv->stopping;
    pthread_mutex_unlock(&req->srv->mu);
    /* While draining, keep-alive would only invite requests we refuse. */
    if (stopping)
        MHD_add_response_header(resp, "Connection", "close");
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) {
        pthread_mutex_lock(&req->mu);
        req->sent_status = r->status;
        req->state = REQ_ANSWERED;
        pthread_mutex_unlock(&req->mu);
    }
    return ok;
}
