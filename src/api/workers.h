/* workers.h: the bounded pool that runs slow authentication work.
 *
 * Argon2id is slow on purpose (tens of milliseconds, 19 MiB each).  Run on
 * the HTTP threads, a flood of logins would occupy every one of them and
 * starve payments.  So a handler only parses and validates, submits a job
 * here and returns HTTP_SUSPENDED; a worker runs the job — the domain call
 * that hashes, then the reply via http_complete_*() — on its own thread with
 * its own store connection.  The HTTP threads stay free for everything else.
 *
 * Bounds: n threads and a queue of at most queue_max jobs.  When the queue
 * is full, submit fails at once with ERR_BUSY (the handler answers 503
 * server_busy with Retry-After): under overload, refusing quickly is better
 * than a queue whose wait exceeds every client's time-out.
 *
 * Job contract: fn(arg, st) runs exactly once per accepted job, on a worker
 * with st = the worker's store connection (st is used by that thread alone
 * during the call), or — for jobs still queued when the pool stops — on the
 * stopping thread with st = NULL, meaning "cancelled: complete the request
 * with ERR_SHUTTING_DOWN and free arg".  fn owns arg in both cases.
 *
 * Shutdown: auth_workers_stop lets each worker finish the job it is running,
 * cancels the queued ones, joins the threads and closes the connections.
 * kessaid stops the pool after the HTTP server, whose stop has already
 * answered every suspended request, so late completions are harmless.
 */
#ifndef KESSAI_API_WORKERS_H
#define KESSAI_API_WORKERS_H

#include <stddef.h>

#include "store/store.h"
#include "util/err.h"

#define AUTH_WORKERS_QUEUE_MAX 1024

struct auth_workers;

typedef void (*auth_job_fn)(void *arg, struct store *st);

/* Start n (>= 1) workers, each with its own SQLite connection to db_path
 * given audit_key (NULL: none; store.h audit_key_set) and sharing mem
 * (the nonces and codes kept in memory; NULL: each its own; store.h
 * store_memory_new).  ERR_INVALID_PARAM,
 * ERR_STORE (a connection failed), ERR_NOMEM, ERR_INTERNAL (a thread
 * failed); on failure nothing is left running. */
enum err auth_workers_start(const char *db_path, const uint8_t *audit_key, struct store_memory *mem,
                            unsigned n, size_t queue_max, struct auth_workers **out);

/* Queue fn(arg).  ERR_OK: fn will run exactly once.  ERR_BUSY (queue full)
 * or ERR_SHUTTING_DOWN (stopping): fn will not run; arg stays the caller's. */
enum err auth_workers_submit(struct auth_workers *w, auth_job_fn fn, void *arg);

/* Jobs queued and not yet started (for metrics and tests). */
size_t auth_workers_queued(struct auth_workers *w);

/* See "Shutdown" above.  NULL-safe. */
void auth_workers_stop(struct auth_workers *w);

#endif
