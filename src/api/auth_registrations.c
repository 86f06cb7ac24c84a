/* auth_registrations.c: POST /v1/registrations, /v1/registrations/resend,
 * /v1/registrations/verify.
 *
 * Registration hashes the password (Argon2id), so it runs on the workers;
 * it answers the same 202 whether or not the address already has an account
 * (the domain mails that account's owner instead).  Verification checks
 * the password too (Argon2id, for unknown addresses as well), so it runs
 * on the workers like login; it opens the enrol session on the device that
 * presented the code and signed the challenge.  Every failure of a valid
 * body is the same 400 invalid_code, without a param. */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "api/auth_common.h"
#include "api/auth_handlers.h"
#include "api/gate.h"
#include "ops/killswitch.h"
#include "api/jobs.h"
#include "auth/customer.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "store/pool.h"

#define PASSWORD_MAX_BYTES (AUTH_PASSWORD_MAX_CHARS * 4) /* UTF-8; the policy counts characters */

struct register_job {
    struct api_job base;
    const char *email, *password; /* borrowed from the request body */
};

static void run_register(struct api_job *job, const struct auth_ctx *a)
{
    struct register_job *j = (struct register_job *)job;
    const char *bad = NULL;
    char reason[256] = "";
    enum err e = customer_register(a, j->email, j->password, &bad, reason, sizeof reason);
    if (e == ERR_OK)
        http_complete_json(job->req, 202, json_pack("{s:s}", "status", "verification_sent"));
    else if (e == ERR_WEAK_PASSWORD)
        http_complete_json(job->req, 400, api_weak_password_json(reason));
    else
        http_complete_error(job->req, e, bad);
}

enum http_verdict api_registrations_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    if (!api_rate_limit(req, ctx) || !api_gate(req, ctx, KILLSWITCH_REGISTRATIONS))
        return HTTP_REPLIED;
    struct register_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct json_field spec[] = {
        {.name = "email", .type = JF_STRING, .target = &j->email, .min_len = 1, .max_len = EMAIL_MAX},
        {.name = "password", .type = JF_STRING, .target = &j->password, .min_len = 1,
         .max_len = PASSWORD_MAX_BYTES},
    };
    if (!api_parse(req, http_request_json(req), spec, 2, NULL)) {
        free(j);
        return HTTP_REPLIED;
    }
    return api_job_submit(req, ctx, &j->base, run_register);
}

enum http_verdict api_registrations_resend_post(struct http_request *req, void *app)
{
    return api_email_then_work(req, app, customer_resend, "verification_sent");
}

struct verify_job {
    struct api_job base;
    struct verify_input in; /* strings borrowed from the request body */
};

static void run_verify(struct api_job *job, const struct auth_ctx *a)
{
    struct verify_job *j = (struct verify_job *)job;
    struct auth_grant g;
    const char *bad = NULL;
    enum err e = customer_verify_email(a, &j->in, &g, &bad);
    if (e != ERR_OK) {
        http_complete_error(job->req, e, bad);
        return;
    }
    json_t *body = api_grant_json(&g, false);
    sodium_memzero(g.session_token, sizeof g.session_token);
    if (body == NULL)
        http_complete_error(job->req, ERR_NOMEM, NULL);
    else
        http_complete_json(job->req, 201, body);
}

enum http_verdict api_registrations_verify_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    if (!api_rate_limit(req, ctx))
        return HTTP_REPLIED;
    struct verify_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct verify_input *in = &j->in;
    json_t *device = NULL;
    struct json_field spec[] = {
        {.name = "email", .type = JF_STRING, .target = &in->email, .min_len = 1, .max_len = EMAIL_MAX},
        {.name = "password", .type = JF_STRING, .target = &in->password, .min_len = 1,
         .max_len = PASSWORD_MAX_BYTES},
        {.name = "code", .type = JF_STRING, .target = &in->code, .min_len = 1, .max_len = 32},
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
    return api_job_submit(req, ctx, &j->base, run_verify);
}
