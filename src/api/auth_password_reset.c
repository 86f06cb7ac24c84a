/* auth_password_reset.c: POST /v1/password-reset and
 * POST /v1/password-reset/complete.
 *
 * The request takes the address and nothing else: any other field (a
 * "send_to", a second address) is 400 unknown_param before anything
 * happens, and the domain mails only the verified address on file.  The
 * answer is the same 202 whether or not an account exists.  Completing
 * needs the mailed token, a new password and the second factor; it hashes
 * (Argon2id), so it runs on the workers. */
#include <stdio.h>
#include <stdlib.h>

#include "api/auth_common.h"
#include "api/auth_handlers.h"
#include "api/jobs.h"
#include "auth/reset.h"
#include "auth/session.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"

#define PASSWORD_MAX_BYTES (AUTH_PASSWORD_MAX_CHARS * 4)

enum http_verdict api_password_reset_post(struct http_request *req, void *app)
{
    return api_email_then_work(req, app, reset_request, "reset_sent_if_account_exists");
}

struct reset_job {
    struct api_job base;
    const char *token, *new_password, *totp, *recovery; /* borrowed from the request body */
};

static void run_complete(struct api_job *job, const struct auth_ctx *a)
{
    struct reset_job *j = (struct reset_job *)job;
    char reason[256] = "";
    enum err e = reset_complete(a, j->token, j->new_password, j->totp, j->recovery, reason, sizeof reason);
    if (e == ERR_OK)
        http_complete_no_content(job->req);
    else if (e == ERR_WEAK_PASSWORD)
        http_complete_json(job->req, 400, api_weak_password_json(reason));
    else
        http_complete_error(job->req, e,
                            e == ERR_INVALID_TOKEN  ? "token"
                            : e == ERR_INVALID_CODE ? (j->totp ? "totp_code" : "recovery_code")
                                                    : NULL);
}

enum http_verdict api_password_reset_complete_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    if (!api_rate_limit(req, ctx))
        return HTTP_REPLIED;
    struct reset_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct json_field spec[] = {
        {.name = "token", .type = JF_STRING, .target = &j->token, .min_len = 1, .max_len = 128},
        {.name = "new_password", .type = JF_STRING, .target = &j->new_password, .min_len = 1,
         .max_len = PASSWORD_MAX_BYTES},
        {.name = "totp_code", .type = JF_STRING, .target = &j->totp, .optional = true, .min_len = 1, .max_len = 32},
        {.name = "recovery_code", .type = JF_STRING, .target = &j->recovery, .optional = true, .min_len = 1,
         .max_len = 64},
    };
    if (!api_parse(req, http_request_json(req), spec, 4, NULL) || !api_one_factor(req, j->totp, j->recovery)) {
        free(j);
        return HTTP_REPLIED;
    }
    return api_job_submit(req, ctx, &j->base, run_complete);
}
