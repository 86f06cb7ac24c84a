/* auth_password.c: POST /v1/password: change the password of a full and
 * fresh session.  Two Argon2id (verify the current one, hash the new), so
 * the session is checked here and the change runs on the workers; the
 * domain ends every other session and mails the customer, and counts a
 * wrong current password as a failed login (auth/password_change.h). */
#include <stdlib.h>

#include "api/auth_common.h"
#include "api/auth_handlers.h"
#include "api/authn.h"
#include "api/jobs.h"
#include "auth/password_change.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "store/pool.h"

#define PASSWORD_MAX_BYTES (AUTH_PASSWORD_MAX_CHARS * 4)

struct password_job {
    struct api_job base;
    struct auth_session session;
    const char *current, *new_password; /* borrowed from the request body */
};

static void run_change(struct api_job *job, const struct auth_ctx *a)
{
    struct password_job *j = (struct password_job *)job;
    char reason[256] = "";
    enum err e = password_change(a, &j->session, j->current, j->new_password, reason, sizeof reason);
    if (e == ERR_OK)
        http_complete_no_content(job->req);
    else if (e == ERR_WEAK_PASSWORD)
        http_complete_json(job->req, 400, api_weak_password_json(reason));
    else
        http_complete_error(job->req, e, e == ERR_INVALID_CREDENTIALS ? "current_password" : NULL);
}

enum http_verdict api_password_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct password_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    enum err e = api_authenticate(req, &a, SESSION_NEED_FRESH, &j->session);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK) {
        free(j);
        return http_reply_error(req, e, NULL);
    }
    struct json_field spec[] = {
        {.name = "current_password", .type = JF_STRING, .target = &j->current, .min_len = 1,
         .max_len = PASSWORD_MAX_BYTES},
        {.name = "new_password", .type = JF_STRING, .target = &j->new_password, .min_len = 1,
         .max_len = PASSWORD_MAX_BYTES},
    };
    if (!api_parse(req, http_request_json(req), spec, 2, NULL)) {
        free(j);
        return HTTP_REPLIED;
    }
    return api_job_submit(req, ctx, &j->base, run_change);
}
