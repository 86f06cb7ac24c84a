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

/* Work whose answer must not depend on its outcome (a password-reset
 * request, a verification-code resend: the reply is the same 202 whether or
 * not the address has an account).  Done on the request thread, the extra
 * commit and mail for a real account would show in the response time; so
 * the handler replies at once and the work runs on a worker afterwards,
 * with no request attached.  A job is malloc'd with struct api_bg_job first;
 * it copies whatever it needs (the body is gone once the reply is sent). */
struct api_bg_job;
typedef void (*api_bg_run_fn)(struct api_bg_job *job, const struct auth_ctx *a);
struct api_bg_job {
    struct api_ctx *ctx;
    char client_addr[64];
    api_bg_run_fn run;
};

/* Takes job.  ERR_OK: run will be called once (not at all if the server
 * stops first: it is work nobody waits for).  ERR_BUSY or ERR_SHUTTING_DOWN:
 * job freed; the handler answers with that error. */
enum err api_background_submit(struct api_ctx *ctx, const struct http_request *req, struct api_bg_job *job,
                               api_bg_run_fn run);

#endif
