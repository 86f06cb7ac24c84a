/* reply.h: answering a request from its handler.
 *
 * A handler stores exactly one reply and returns HTTP_REPLIED; each function
 * here returns HTTP_REPLIED so a handler can `return http_reply_json(...)`.
 * Only the first reply counts: a second one is dropped (and its body freed).
 *
 * Every response gets Request-Id, Cache-Control: no-store and
 * X-Content-Type-Options: nosniff; JSON ones get Content-Type:
 * application/json.  Errors are only ever built from the err table:
 *   {"error":{"code":"<err_symbol>","message":"<err_message>","param":"<param>"}}
 * with the status err_http_status(e) and "param" omitted when NULL, so a
 * client never sees internals.
 */
#ifndef KESSAI_HTTP_REPLY_H
#define KESSAI_HTTP_REPLY_H

#include <stddef.h>

#include <jansson.h>

#include "http/router.h"
#include "util/err.h"

struct http_request;

/* Takes the reference to body (may be NULL for an empty object). */
enum http_verdict http_reply_json(struct http_request *req, int status, json_t *body);
/* 204 No Content: no body, no Content-Type. */
enum http_verdict http_reply_no_content(struct http_request *req);
/* The error reply for e; param names the offending field, or NULL. */
enum http_verdict http_reply_error(struct http_request *req, enum err e, const char *param);
/* The same with a "reason" string in the error object (omitted when NULL
 * or ""): an operator's own text for a refusal such as service_suspended,
 *   {"error":{"code":"service_suspended","message":"…","reason":"card fraud wave, back at 18:00"}}
 * The caller passes only text meant for clients, never internals; text
 * that is not valid UTF-8 is left out. */
enum http_verdict http_reply_error_reason(struct http_request *req, enum err e, const char *param,
                                          const char *reason);
/* A non-JSON body (copied), e.g. the Prometheus text. */
enum http_verdict http_reply_text(struct http_request *req, int status, const char *content_type, const char *text,
                                  size_t len);
/* Add a header to the reply-to-be (Retry-After, Location, …), before the
 * reply is stored; a completer may call it before http_complete_*().
 * ERR_INVALID_PARAM if the name or value is empty or contains CR/LF,
 * ERR_NOMEM if there are too many, ERR_CONFLICT once the reply is stored. */
enum err http_reply_header(struct http_request *req, const char *name, const char *value);

/* Retry-After: seconds (at least 1), for 429 and 503 replies; the same
 * rules as http_reply_header, so a completer may call it too:
 *     http_reply_retry_after(req, wait_s);
 *     return http_reply_error(req, ERR_RATE_LIMITED, NULL); */
enum err http_reply_retry_after(struct http_request *req, long long seconds);

/* The error object alone (new reference, NULL on allocation failure), for
 * bodies that embed errors (a batch reply). */
json_t *http_error_json(enum err e, const char *param);
/* The same with a "reason" (see http_reply_error_reason). */
json_t *http_error_json_reason(enum err e, const char *param, const char *reason);

#endif
