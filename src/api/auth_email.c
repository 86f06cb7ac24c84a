/* auth_email.c: POST /v1/email (ask to change the address: full session,
 * fresh second factor) and POST /v1/email/confirm (the code mailed to the
 * new address: full session of the same customer).
 *
 * The request answers 202 as soon as the session, the freshness and the
 * address's form have been checked, and does its work (a pending change,
 * a code to the new address if it is free, a notice to the old one) on an
 * authentication worker afterwards: done before the answer, the extra mail
 * for a free address would show in the response time and tell whether the
 * address has an account (jobs.h).  Both are rate-limited per client
 * address: the confirmation takes a 6-digit code. */
#include <stdio.h>
#include <stdlib.h>

#include "api/auth_common.h"
#include "api/auth_handlers.h"
#include "api/authn.h"
#include "api/jobs.h"
#include "auth/email_change.h"
#include "http/reply.h"
#include "http/request.h"
#include "store/pool.h"

/* Everything is copied: the work runs after the reply. */
struct email_change_job {
    struct api_bg_job base;
    struct auth_session session;
    int64_t asked_ms; /* the request's clock: freshness was judged then */
    char new_email[EMAIL_MAX + 1];
};

static void run_request(struct api_bg_job *job, const struct auth_ctx *a)
{
    struct email_change_job *j = (struct email_change_job *)job;
    struct auth_ctx at = *a;
    at.now = j->asked_ms;
    /* the outcome is deliberately not reported */
    (void)email_change_request(&at, &j->session, j->new_email, a->now);
}

enum http_verdict api_email_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    if (!api_rate_limit(req, ctx))
        return HTTP_REPLIED;
    struct email_change_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    const char *new_email = NULL;
    struct json_field spec[] = {
        {.name = "new_email", .type = JF_STRING, .target = &new_email, .min_len = 1, .max_len = EMAIL_MAX},
    };
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    enum err e = api_authenticate(req, &a, SESSION_NEED_SIGNED_IN, &j->session);
    if (e == ERR_OK && !api_parse(req, http_request_json(req), spec, 1, NULL)) {
        store_pool_release(ctx->pool, st);
        free(j);
        return HTTP_REPLIED;
    }
    if (e == ERR_OK)
        e = email_change_check(&a, &j->session, new_email, j->new_email);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK) {
        free(j);
        return http_reply_error(req, e, e == ERR_INVALID_PARAM ? "new_email" : NULL);
    }
    j->asked_ms = a.now;
    e = api_background_submit(ctx, req, &j->base, run_request);
    if (e != ERR_OK) {
        if (e == ERR_BUSY)
            http_reply_retry_after(req, 1);
        return http_reply_error(req, e, NULL);
    }
    return http_reply_json(req, 202, json_pack("{s:s}", "status", "verification_sent"));
}

enum http_verdict api_email_confirm_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    if (!api_rate_limit(req, ctx))
        return HTTP_REPLIED;
    const char *code = NULL;
    struct json_field spec[] = {
        {.name = "code", .type = JF_STRING, .target = &code, .min_len = 1, .max_len = 32},
    };
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    struct auth_session s;
    struct customer_profile p;
    enum err e = api_authenticate(req, &a, SESSION_NEED_FULL, &s);
    if (e == ERR_OK && !api_parse(req, http_request_json(req), spec, 1, NULL)) {
        store_pool_release(ctx->pool, st);
        return HTTP_REPLIED;
    }
    if (e == ERR_OK)
        e = email_change_confirm(&a, &s, code, &p);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK)
        return http_reply_error(req, e, e == ERR_INVALID_CODE ? "code" : NULL);
    json_t *body = api_profile_json(&p);
    if (body == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    return http_reply_json(req, 200, body);
}
