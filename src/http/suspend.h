/* suspend.h: answering a request later, from any thread.
 *
 * A handler that must wait (for the ledger writer's group commit, for the
 * password-hashing pool) hands its request to whoever will produce the
 * answer and returns HTTP_SUSPENDED.  The framework then suspends the
 * connection, so no worker thread waits.  The holder calls exactly one
 * http_complete_*() on it, from any thread, at any time — even before the
 * handler has returned; the framework resumes the connection and sends the
 * reply.  Until then the holder may read the request's params, body and
 * JSON and add headers (http_reply_header); after that call it must not
 * touch the request again.
 *
 *     static void on_done(void *ctx, const struct ledger_result *res)
 *     {
 *         struct http_request *req = ctx;
 *         if (res->err != ERR_OK)
 *             http_complete_error(req, res->err, NULL);
 *         else
 *             http_complete_json(req, 201, json_pack("{s:s}", "status", "ok"));
 *     }
 *     static enum http_verdict handle_pay(struct http_request *req, void *app)
 *     {
 *         ...
 *         enum err e = ledger_writer_submit(w, x, n, on_done, req);
 *         if (e != ERR_OK)
 *             return http_reply_error(req, e, NULL);  // on_done will not run
 *         return HTTP_SUSPENDED;
 *     }
 *
 * Safety: the request stays allocated until both libmicrohttpd is done with
 * it and its completer has called http_complete_*().  If the client has gone
 * away meanwhile, the reply is simply dropped.  If the server stops first,
 * it answers 503 shutting_down itself and a later http_complete_*() only
 * releases the request.
 */
#ifndef KESSAI_HTTP_SUSPEND_H
#define KESSAI_HTTP_SUSPEND_H

#include <jansson.h>

#include "util/err.h"

struct http_request;

/* Takes the reference to body. */
void http_complete_json(struct http_request *req, int status, json_t *body);
/* A body already written as JSON text (malloc'd, taken: wiped and freed
 * with the reply; NULL: 500 out of memory). */
void http_complete_json_text(struct http_request *req, int status, char *text);
void http_complete_error(struct http_request *req, enum err e, const char *param);
/* The error with the operator's "reason" (reply.h: http_reply_error_reason). */
void http_complete_error_reason(struct http_request *req, enum err e, const char *param, const char *reason);
/* 204 No Content. */
void http_complete_no_content(struct http_request *req);

#endif
