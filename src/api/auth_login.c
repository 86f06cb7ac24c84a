/* auth_login.c: POST /v1/login/challenge and POST /v1/login.
 *
 * Login runs Argon2id in every case (unknown address included), so it runs
 * on the workers.  Every failure is the same 401 invalid_credentials, down
 * to the byte: the body comes from the err table and carries no param.  A
 * login the risk engine refuses is 403 risk_denied, decided before the
 * password is verified (auth/login_risk.h), so it too is the same answer
 * whatever was typed.  A
 * source blocked for credential stuffing is refused here, on the HTTP
 * thread, before any hashing is queued (the domain checks again). */
#include <stdlib.h>

#include <sodium.h>

#include "api/auth_common.h"
#include "api/auth_handlers.h"
#include "api/jobs.h"
#include "auth/device.h"
#include "auth/login.h"
#include "auth/throttle.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "store/pool.h"

#define PASSWORD_MAX_BYTES (AUTH_PASSWORD_MAX_CHARS * 4)

enum http_verdict api_login_challenge_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    if (!api_rate_limit(req, ctx))
        return HTTP_REPLIED;
    if (!api_parse(req, http_request_json(req), NULL, 0, NULL))
        return HTTP_REPLIED;
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    char challenge[LOGIN_CHALLENGE_BUF];
    int64_t expires_at = 0;
    enum err e = device_challenge_new(&a, challenge, &expires_at);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    json_t *body = json_pack("{s:s, s:o}", "challenge", challenge, "expires_at", api_time_json(expires_at));
    if (body == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    return http_reply_json(req, 200, body);
}

struct login_job {
    struct api_job base;
    struct login_input in; /* strings borrowed from the request body */
    struct risk *risk;     /* the engine (NULL: no scoring) */
};

static void run_login(struct api_job *job, const struct auth_ctx *a)
{
    struct login_job *j = (struct login_job *)job;
    struct auth_grant g;
    int64_t retry_after = 0;
    enum err e = login_attempt_scored(a, j->risk, &j->in, &g, &retry_after);
    if (e == ERR_OK) {
        json_t *body = api_grant_json(&g, true);
        sodium_memzero(g.session_token, sizeof g.session_token);
        if (body == NULL)
            http_complete_error(job->req, ERR_NOMEM, NULL);
        else
            http_complete_json(job->req, 200, body);
        return;
    }
    if (e == ERR_RATE_LIMITED)
        http_reply_retry_after(job->req, retry_after);
    /* Never a param: which field was wrong is exactly what must not show. */
    http_complete_error(job->req, e, NULL);
}

enum http_verdict api_login_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    if (!api_rate_limit(req, ctx))
        return HTTP_REPLIED;
    struct login_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct login_input *in = &j->in;
    j->risk = ctx->risk;
    json_t *device = NULL;
    /* Both second factors are optional here: a login without one is a
     * failed login (401, Argon2id and all), not a malformed request, so
     * that "password alone" looks like any other wrong attempt. */
    struct json_field spec[] = {
        {.name = "email", .type = JF_STRING, .target = &in->email, .min_len = 1, .max_len = EMAIL_MAX},
        {.name = "password", .type = JF_STRING, .target = &in->password, .min_len = 1,
         .max_len = PASSWORD_MAX_BYTES},
        {.name = "totp_code", .type = JF_STRING, .target = &in->totp_code, .optional = true, .max_len = 32},
        {.name = "recovery_code", .type = JF_STRING, .target = &in->recovery_code, .optional = true,
         .max_len = 64},
        {.name = "device", .type = JF_OBJECT, .target = &device},
        {.name = "challenge", .type = JF_STRING, .target = &in->challenge, .min_len = 1, .max_len = 128},
        {.name = "signature", .type = JF_STRING, .target = &in->signature, .min_len = 1, .max_len = 256},
    };
    struct json_field dspec[] = {
        {.name = "public_key", .type = JF_STRING, .target = &in->device_key, .min_len = 1, .max_len = 128},
        {.name = "name", .type = JF_STRING, .target = &in->device_name, .min_len = 1, .max_len = DEVICE_NAME_MAX},
    };
    if (!api_parse(req, http_request_json(req), spec, sizeof spec / sizeof spec[0], NULL) ||
        !api_parse(req, device, dspec, 2, "device")) {
        free(j);
        return HTTP_REPLIED;
    }
    if (in->totp_code && in->recovery_code) {
        free(j);
        return http_reply_error(req, ERR_INVALID_PARAM, "recovery_code");
    }
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    int64_t retry_after = 0;
    enum err e = throttle_check(&a, in->device_key, &retry_after);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK) {
        free(j);
        if (e == ERR_RATE_LIMITED)
            http_reply_retry_after(req, retry_after);
        return http_reply_error(req, e, NULL);
    }
    return api_job_submit(req, ctx, &j->base, run_login);
}
