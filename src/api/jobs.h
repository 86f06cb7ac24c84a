/* jobs.h: running a handler's slow part on the authentication workers.
 *
 * A slow handler (one whose domain call is marked SLOW: Argon2id) parses and
 * validates on its HTTP thread, then fills a job — a struct whose first
 * member is struct api_job, allocated with malloc — and submits it:
 *
 *     struct login_job { struct api_job base; struct login_input in; };
 *     ...
 *     return api_job_submit(req, ctx, &job->base, run_login);
 *
 * run(job, a) is then called once on a worker, with a domain context on
 * that worker's own store connection; it makes the domain call and answers
 * with exactly one http_complete_*() on job->req.  The job is freed after
 * run returns.  Strings in the job may point into the request's JSON body,
 * which lives until the request is completed (suspend.h).
 *
 * Refusals happen at once, on the HTTP thread: a full queue is 503
 * server_busy with Retry-After: 1, a stopping pool 503 shutting_down (the
 * job is freed, run never called).  A job still queued when the pool stops
 * is answered 503 shutting_down without running.
 */
#ifndef KESSAI_API_JOBS_H
#define KESSAI_API_JOBS_H

#include "api/api.h"
#include "auth/auth_ctx.h"
#include "http/router.h"

struct http_request;
struct api_job;

typedef void (*api_job_run_fn)(struct api_job *job, const struct auth_ctx *a);

struct api_job {
    struct api_ctx *ctx;
    struct http_request *req;
    api_job_run_fn run;
};

/* Takes job (freed here or after run).  HTTP_SUSPENDED, or HTTP_REPLIED
 * with the refusal stored. */
enum http_verdict api_job_submit(struct http_request *req, struct api_ctx *ctx, struct api_job *job,
                                 api_job_run_fn run);

#endif
