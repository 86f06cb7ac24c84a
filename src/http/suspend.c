/* suspend.c: running handlers, suspending, completing from any thread.
 *
 * The completer reference (see internal.h) is taken before the handler
 * runs, because a handler may hand its request to another thread that
 * completes it before the handler has even returned.  While a completer is
 * outstanding the request sits on srv->pending, so that http_server_stop can
 * answer it: libmicrohttpd must not be stopped with a connection suspended.
 *
 * Invariants:
 *  1. MHD_suspend_connection runs only in the handler's MHD callback, and
 *     only if no reply is stored; MHD_resume_connection runs only on a
 *     SUSPENDED request, once.  Both under req->mu, so a completion racing
 *     the handler's return can never resume an unsuspended connection.
 *  2. A forced request (answered by the server at stop) is never touched
 *     through its connection or server again; its completer only drops its
 *     reference.
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "http/reply.h"
#include "http/suspend.h"
#include "util/log.h"
#include "util/wipe.h"

static void unlink_pending_locked(struct http_server *srv, struct http_request *req)
{
    if (!req->listed)
        return;
    if (req->prev)
        req->prev->next = req->next;
    else
        srv->pending = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
    req->listed = false;
}

/* Drop the completer's reference.  Caller holds req->mu; the request stays
 * alive because MHD's reference is held until its completion callback, and
 * that callback cannot run before the reply is queued. */
static void release_completer_locked(struct http_request *req)
{
    req->completer_done = true;
    if (!req->forced) {
        pthread_mutex_lock(&req->srv->mu);
        unlink_pending_locked(req->srv, req);
        pthread_mutex_unlock(&req->srv->mu);
    }
}

/* Store a reply from the completer and wake the connection if it sleeps. */
static void complete(struct http_request *req, int status, const char *ct, char *body, size_t len)
{
    pthread_mutex_lock(&req->mu);
    if (req->completer_done) {
        /* A second completion is a caller bug; the request may already be
         * gone, so this line is best effort and nothing else is touched. */
        pthread_mutex_unlock(&req->mu);
        wipe_free(body);
        log_event(LOG_ERROR, "http_double_complete", NULL);
        return;
    }
    release_completer_locked(req);
    bool stored = http_reply_store_locked(req, status, ct, body, len);
    if (stored && req->state == REQ_SUSPENDED) {
        req->state = REQ_RESUMING;
        MHD_resume_connection(req->conn);
    }
    pthread_mutex_unlock(&req->mu);
    http_request_unref(req);
}

void http_complete_json(struct http_request *req, int status, json_t *body)
{
    if (body == NULL)
        body = json_object();
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    http_complete_json_text(req, status, text);
}

void http_complete_json_text(struct http_request *req, int status, char *text)
{
    size_t len;
    if (text == NULL) {
        status = err_http_status(ERR_NOMEM);
        http_reply_error_body(ERR_NOMEM, NULL, &text, &len);
    } else {
        len = strlen(text);
    }
    complete(req, status, "application/json", text, len);
}

void http_complete_error(struct http_request *req, enum err e, const char *param)
{
    char *text;
    size_t len;
    http_reply_error_body(e, param, &text, &len);
    complete(req, err_http_status(e), "application/json", text, len);
}

void http_complete_error_reason(struct http_request *req, enum err e, const char *param, const char *reason)
{
    json_t *j = http_error_json_reason(e, param, reason);
    if (j == NULL) {
        http_complete_error(req, e, param);
        return;
    }
    http_complete_json(req, err_http_status(e), j);
}

void http_complete_no_content(struct http_request *req) { complete(req, 204, NULL, NULL, 0); }

enum MHD_Result http_suspend_run_handler(struct http_request *req)
{
    struct http_server *srv = req->srv;
    pthread_mutex_lock(&req->mu);
    pthread_mutex_lock(&srv->mu);
    /* A request already in flight when draining began still runs (that is
     * the point of draining); only once the grace period is over is there
     * no one left to answer it. */
    bool too_late = srv->forcing;
    if (!too_late) {
        req->listed = true;
        req->next = srv->pending;
        if (srv->pending)
            srv->pending->prev = req;
        srv->pending = req;
        atomic_fetch_add(&req->refs, 1);
        req->state = REQ_IN_HANDLER;
    }
    pthread_mutex_unlock(&srv->mu);
    pthread_mutex_unlock(&req->mu);
    if (too_late) {
        http_reply_error(req, ERR_SHUTTING_DOWN, NULL);
        return http_reply_queue(req);
    }

    enum http_verdict v = req->route->handler(req, srv->app);

    pthread_mutex_lock(&req->mu);
    if (v != HTTP_SUSPENDED && !req->completer_done) {
        release_completer_locked(req);
        atomic_fetch_sub(&req->refs, 1); /* MHD's reference keeps it alive */
    }
    if (!req->reply.set && v == HTTP_SUSPENDED) {
        req->state = REQ_SUSPENDED;
        MHD_suspend_connection(req->conn);
        pthread_mutex_unlock(&req->mu);
        return MHD_YES;
    }
    pthread_mutex_unlock(&req->mu);
    /* Replied, completed before returning, or forced: send it now.  A
     * handler that returned HTTP_REPLIED without a reply gets a 500 there. */
    return http_reply_queue(req);
}

void http_suspend_force_all(struct http_server *srv)
{
    pthread_mutex_lock(&srv->mu);
    srv->forcing = true;
    pthread_mutex_unlock(&srv->mu);
    for (;;) {
        pthread_mutex_lock(&srv->mu);
        struct http_request *req = srv->pending;
        if (req) {
            unlink_pending_locked(srv, req);
            /* Listed means the completer still holds its reference, so the
             * request is alive; ours keeps it so until we are done. */
            atomic_fetch_add(&req->refs, 1);
        }
        pthread_mutex_unlock(&srv->mu);
        if (req == NULL)
            return;

        pthread_mutex_lock(&req->mu);
        if (!req->completer_done) {
            req->forced = true;
            char *text;
            size_t len;
            http_reply_error_body(ERR_SHUTTING_DOWN, NULL, &text, &len);
            bool stored = http_reply_store_locked(req, err_http_status(ERR_SHUTTING_DOWN), "application/json",
                                                  text, len);
            if (stored && req->state == REQ_SUSPENDED) {
                req->state = REQ_RESUMING;
                MHD_resume_connection(req->conn);
            }
        }
        pthread_mutex_unlock(&req->mu);
        http_request_unref(req);
    }
}
