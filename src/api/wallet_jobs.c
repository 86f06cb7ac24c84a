/* wallet_jobs.c: see wallet_jobs.h. */
#include "api/wallet_jobs.h"

#include <stdlib.h>

#include "api/auth_common.h"
#include "api/authn.h"
#include "api/workers.h"
#include "http/reply.h"
#include "http/suspend.h"
#include "store/pool.h"
#include "util/wipe.h"

void api_wallet_ctx(struct wallet_ctx *w, struct api_ctx *ctx, struct store *st, const struct http_request *req)
{
    api_auth_ctx(&w->a, ctx, st, req);
    w->gw = ctx->gateway;
    w->writer = ctx->writer;
    w->risk = ctx->risk;
    w->guesses = ctx->guesses;
    w->crash_point = ctx->crash_point;
}

void api_wallet_acquire(struct wallet_ctx *w, struct api_ctx *ctx, const struct http_request *req)
{
    api_wallet_ctx(w, ctx, store_pool_acquire(ctx->pool), req);
}

void api_wallet_release(struct wallet_ctx *w, struct api_ctx *ctx)
{
    store_pool_release(ctx->pool, w->a.st);
}

bool api_wallet_session_acquire(struct http_request *req, struct api_ctx *ctx, enum session_need need,
                                struct auth_session *out, struct wallet_ctx *w)
{
    api_wallet_acquire(w, ctx, req);
    (void)w->a.st->ops->snapshot_begin(w->a.st); /* one read transaction (store.h); release ends it */
    enum err e = api_authenticate(req, &w->a, need, out);
    if (e == ERR_OK)
        return true;
    api_wallet_release(w, ctx);
    http_reply_error(req, e, NULL);
    return false;
}

bool api_wallet_session(struct http_request *req, struct api_ctx *ctx, enum session_need need,
                        struct auth_session *out)
{
    struct wallet_ctx w;
    if (!api_wallet_session_acquire(req, ctx, need, out, &w))
        return false;
    api_wallet_release(&w, ctx);
    return true;
}

static void trampoline(void *arg, struct store *st)
{
    struct api_wallet_job *job = arg;
    if (st == NULL) {
        http_complete_error(job->req, ERR_SHUTTING_DOWN, NULL);
    } else {
        struct wallet_ctx w;
        api_wallet_ctx(&w, job->ctx, st, job->req);
        job->run(job, &w);
    }
    /* Jobs carry card numbers, CVCs, cash codes and keys: a job that never
     * ran (shutting down, queue full) was not wiped by its run(). */
    wipe_free(job);
}

enum err api_wallet_job_queue(struct http_request *req, struct api_ctx *ctx, struct api_wallet_job *job,
                              api_wallet_run_fn run)
{
    job->ctx = ctx;
    job->req = req;
    job->run = run;
    return auth_workers_submit(ctx->wallet_workers, trampoline, job);
}

enum http_verdict api_wallet_job_submit(struct http_request *req, struct api_ctx *ctx, struct api_wallet_job *job,
                                        api_wallet_run_fn run)
{
    enum err e = api_wallet_job_queue(req, ctx, job, run);
    if (e == ERR_OK)
        return HTTP_SUSPENDED;
    wipe_free(job);
    if (e == ERR_BUSY)
        http_reply_retry_after(req, 1);
    return http_reply_error(req, e, NULL);
}
