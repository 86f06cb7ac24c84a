/* workers.c: a fixed set of threads over a bounded ring of jobs.
 *
 * Invariants (all under w->mu):
 *  1. 0 <= tail - head <= cap; jobs[head % cap .. tail % cap) are queued.
 *  2. Once stopping is set no job is accepted, and each job already queued
 *     is run by a worker or cancelled by auth_workers_stop, never both: a
 *     worker only takes jobs while !stopping, and stop empties the ring
 *     after the workers have been joined.
 */
#include "api/workers.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/log.h"

struct job {
    auth_job_fn fn;
    void *arg;
};

struct worker {
    struct auth_workers *pool;
    struct store *st;
    pthread_t thread;
    bool started;
};

struct auth_workers {
    pthread_mutex_t mu;
    pthread_cond_t work;
    bool stopping;
    struct job *jobs;
    size_t cap, head, tail;
    unsigned n;
    struct worker *workers;
};

static void *worker_main(void *p)
{
    struct worker *self = p;
    struct auth_workers *w = self->pool;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == w->tail && !w->stopping)
            pthread_cond_wait(&w->work, &w->mu);
        if (w->stopping)
            break;
        struct job j = w->jobs[w->head++ % w->cap];
        pthread_mutex_unlock(&w->mu);
        j.fn(j.arg, self->st);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Join started threads, cancel what is queued, close connections, free. */
static void teardown(struct auth_workers *w)
{
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->n; i++)
        if (w->workers[i].started)
            pthread_join(w->workers[i].thread, NULL);
    /* No worker is left: the ring is ours alone (invariant 2). */
    size_t cancelled = w->tail - w->head;
    while (w->head != w->tail) {
        struct job j = w->jobs[w->head++ % w->cap];
        j.fn(j.arg, NULL);
    }
    if (cancelled > 0)
        log_event(LOG_INFO, "auth_workers_cancelled", json_pack("{s:I}", "jobs", (json_int_t)cancelled));
    for (unsigned i = 0; i < w->n; i++)
        store_close(w->workers[i].st);
    free(w->workers);
    free(w->jobs);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

enum err auth_workers_start(const char *db_path, const uint8_t *audit_key, struct store_memory *mem,
                            unsigned n, size_t queue_max, struct auth_workers **out)
{
    if (n == 0 || queue_max == 0)
        return ERR_INVALID_PARAM;
    struct auth_workers *w = calloc(1, sizeof *w);
    if (w == NULL)
        return ERR_NOMEM;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    w->cap = queue_max;
    w->jobs = calloc(queue_max, sizeof *w->jobs);
    w->workers = calloc(n, sizeof *w->workers);
    enum err e = w->jobs && w->workers ? ERR_OK : ERR_NOMEM;
    if (w->workers)
        w->n = n;
    for (unsigned i = 0; e == ERR_OK && i < n; i++) {
        w->workers[i].pool = w;
        e = store_open_sqlite_audited(db_path, audit_key, mem, &w->workers[i].st);
    }
    for (unsigned i = 0; e == ERR_OK && i < n; i++) {
        if (pthread_create(&w->workers[i].thread, NULL, worker_main, &w->workers[i]) != 0)
            e = ERR_INTERNAL;
        else
            w->workers[i].started = true;
    }
    if (e != ERR_OK) {
        teardown(w);
        return e;
    }
    *out = w;
    return ERR_OK;
}

enum err auth_workers_submit(struct auth_workers *w, auth_job_fn fn, void *arg)
{
    enum err e = ERR_OK;
    pthread_mutex_lock(&w->mu);
    if (w->stopping)
        e = ERR_SHUTTING_DOWN;
    else if (w->tail - w->head == w->cap)
        e = ERR_BUSY;
    else {
        w->jobs[w->tail++ % w->cap] = (struct job){fn, arg};
        pthread_cond_signal(&w->work);
    }
    pthread_mutex_unlock(&w->mu);
    return e;
}

size_t auth_workers_queued(struct auth_workers *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->tail - w->head;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void auth_workers_stop(struct auth_workers *w)
{
    if (w != NULL)
        teardown(w);
}
