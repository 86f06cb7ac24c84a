/* admin_sessions.c: staff sign-in and sign-out (ops/staff_session.h):
 *
 *   POST   /admin/v1/sessions {email, password, totp_code}
 *            -> 201 {token, staff: {id, email, role}, expires_at}   (SLOW: auth workers)
 *   DELETE /admin/v1/sessions/current                  -> 204
 *   GET    /admin/v1/me                                -> 200 {id, email, role, expires_at}
 *
 * Sign-in is rate limited per address like the customers' unauthenticated
 * endpoints, and every refusal is the same 401 invalid_credentials.
 */
#include <stdlib.h>

#include <sodium.h>

#include "api/admin_authn.h"
#include "api/admin_handlers.h"
#include "api/auth_common.h"
#include "api/jobs.h"
#include "api/list_params.h"
#include "auth/password.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "ops/staff.h"
#include "store/pool.h"

#define PASSWORD_MAX_BYTES (AUTH_PASSWORD_MAX_CHARS * 4)

static json_t *staff_json(const struct staff_session *s)
{
    return json_pack("{s:o, s:s, s:s}", "id", api_id_json(STAFF_ID_PREFIX, s->staff_id), "email", s->email, "role",
                     s->role);
}

struct login_job {
    struct api_job base;
    const char *email, *password, *totp; /* borrowed from the request body */
};

static void run_login(struct api_job *job, const struct auth_ctx *a)
{
    struct login_job *j = (struct login_job *)job;
    char token[SECRET_TOKEN_BUF];
    struct staff_session s;
    enum err e = staff_login(a, j->email, j->password, j->totp, token, &s);
    if (e != ERR_OK) {
        http_complete_error(job->req, e, NULL); /* never a param: which part was wrong must not show */
        return;
    }
    json_t *body = json_pack("{s:s, s:o, s:o}", "token", token, "staff", staff_json(&s), "expires_at",
                             api_time_json(s.expires_ms));
    sodium_memzero(token, sizeof token);
    if (body == NULL)
        http_complete_error(job->req, ERR_NOMEM, NULL);
    else
        http_complete_json(job->req, 201, body);
}

enum http_verdict api_admin_sessions_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    if (!api_rate_limit(req, ctx))
        return HTTP_REPLIED;
    struct login_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct json_field spec[] = {
        {.name = "email", .type = JF_STRING, .target = &j->email, .min_len = 1, .max_len = EMAIL_MAX},
        {.name = "password", .type = JF_STRING, .target = &j->password, .min_len = 1, .max_len = PASSWORD_MAX_BYTES},
        {.name = "totp_code", .type = JF_STRING, .target = &j->totp, .min_len = 1, .max_len = 32},
    };
    if (!api_parse(req, http_request_json(req), spec, sizeof spec / sizeof spec[0], NULL)) {
        free(j);
        return HTTP_REPLIED;
    }
    return api_job_submit(req, ctx, &j->base, run_login);
}

enum http_verdict api_admin_session_delete(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    struct staff_session s;
    enum err e = api_admin_authenticate(req, &a, STAFF_READ, "sign_out", &s);
    if (e == ERR_OK)
        e = staff_logout(&a, &s);
    store_pool_release(ctx->pool, st);
    return e == ERR_OK ? http_reply_no_content(req) : http_reply_error(req, e, NULL);
}

enum http_verdict api_admin_me_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    struct staff_session s;
    enum err e = api_admin_authenticate(req, &a, STAFF_READ, "me", &s);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    json_t *body = staff_json(&s);
    if (body)
        json_object_set_new(body, "expires_at", api_time_json(s.expires_ms));
    return api_reply_body(req, 200, body);
}
