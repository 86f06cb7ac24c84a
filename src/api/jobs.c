#include "api/jobs.h"

#include <stdio.h>
#include <stdlib.h>

#include "api/auth_common.h"
#include "api/workers.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "util/timeutil.h"

static void trampoline(void *arg, struct store *st)
{
    struct api_job *job = arg;
    if (st == NULL) {
        http_complete_error(job->req, ERR_SHUTTING_DOWN, NULL);
    } else {
        struct auth_ctx a;
        api_auth_ctx(&a, job->ctx, st, job->req);
        job->run(job, &a);
    }
    free(job);
}

enum http_verdict api_job_submit(struct http_request *req, struct api_ctx *ctx, struct api_job *job,
                                 api_job_run_fn run)
{
    job->ctx = ctx;
    job->req = req;
    job->run = run;
    enum err e = auth_workers_submit(ctx->workers, trampoline, job);
    if (e == ERR_OK)
        return HTTP_SUSPENDED;
    free(job);
    if (e == ERR_BUSY)
        http_reply_retry_after(req, 1);
    return http_reply_error(req, e, NULL);
}

static void background_trampoline(void *arg, struct store *st)
{
    struct api_bg_job *job = arg;
    if (st != NULL) {
        struct auth_ctx a = {
            .st = st,
            .master_key = job->ctx->master_key,
            .cfg = job->ctx->cfg,
            .mail = job->ctx->mail,
            .now = time_now_ms(),
            .client_addr = job->client_addr,
            .wake = job->ctx->wake,
        };
        job->run(job, &a);
    }
    free(job);
}

enum err api_background_submit(struct api_ctx *ctx, const struct http_request *req, struct api_bg_job *job,
                               api_bg_run_fn run)
{
    job->ctx = ctx;
    job->run = run;
    snprintf(job->client_addr, sizeof job->client_addr, "%s", http_request_client_addr(req));
    enum err e = auth_workers_submit(ctx->workers, background_trampoline, job);
    if (e != ERR_OK)
        free(job);
    return e;
}
