/* wallet_jobs.h: running card and top-up work on the wallet workers.
 *
 * Card linking and top-ups call the card gateway and wait for the ledger
 * writer's durable commit (wallet_ctx.h: SLOW).  Neither may block an HTTP
 * thread, and neither should queue behind Argon2id logins, so they run on
 * their own bounded pool (api_ctx.wallet_workers, an instance of
 * workers.h).  Same pattern as jobs.h: the handler authenticates, parses
 * and validates on its thread, fills a malloc'd job whose first member is
 * struct api_wallet_job, and returns api_wallet_job_submit(); run() is
 * called once on a worker with a wallet_ctx on that worker's connection and
 * answers with exactly one http_complete_*() on job->req.  The job is freed
 * after run returns.  Strings in the job may point into the request's body.
 * A full queue is 503 server_busy with Retry-After: 1; a stopping pool 503
 * shutting_down.
 */
#ifndef KESSAI_API_WALLET_JOBS_H
#define KESSAI_API_WALLET_JOBS_H

#include <stdbool.h>

#include "api/api.h"
#include "auth/session.h"
#include "http/router.h"
#include "wallet/wallet_ctx.h"

struct http_request;
struct api_wallet_job;

typedef void (*api_wallet_run_fn)(struct api_wallet_job *job, const struct wallet_ctx *w);

struct api_wallet_job {
    struct api_ctx *ctx;
    struct http_request *req;
    api_wallet_run_fn run;
    struct auth_session session; /* the caller's, when the handler authenticated one */
};

/* AUTH of every wallet endpoint, on the handler thread: the request's
 * session (authn.h) must meet need; it is copied into *out.  false: the
 * error reply is stored (return HTTP_REPLIED). */
bool api_wallet_session(struct http_request *req, struct api_ctx *ctx, enum session_need need,
                        struct auth_session *out);

/* Fill w for a call on connection st (the clock read now). */
void api_wallet_ctx(struct wallet_ctx *w, struct api_ctx *ctx, struct store *st, const struct http_request *req);

/* A fast endpoint's ACT on the HTTP thread: a pool connection and w for it;
 * api_wallet_release gives the connection (w->a.st) back. */
void api_wallet_acquire(struct wallet_ctx *w, struct api_ctx *ctx, const struct http_request *req);
void api_wallet_release(struct wallet_ctx *w, struct api_ctx *ctx);

/* api_wallet_session and api_wallet_acquire in one: the session's reads and
 * the handler's that follow share one snapshot (store.h snapshot_begin).
 * true: w holds the connection (api_wallet_release); false: the error reply
 * is stored and nothing is held. */
bool api_wallet_session_acquire(struct http_request *req, struct api_ctx *ctx, enum session_need need,
                                struct auth_session *out, struct wallet_ctx *w);

/* Takes job.  HTTP_SUSPENDED, or HTTP_REPLIED with the refusal stored. */
enum http_verdict api_wallet_job_submit(struct http_request *req, struct api_ctx *ctx, struct api_wallet_job *job,
                                        api_wallet_run_fn run);
/* The same for a caller with its own refusal: ERR_OK (job taken), else
 * ERR_BUSY or ERR_SHUTTING_DOWN with job still the caller's and nothing
 * replied. */
enum err api_wallet_job_queue(struct http_request *req, struct api_ctx *ctx, struct api_wallet_job *job,
                              api_wallet_run_fn run);

#endif
