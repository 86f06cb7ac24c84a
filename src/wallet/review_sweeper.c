/* review_sweeper.c: see review_sweeper.h. */
#include "wallet/review_sweeper.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "util/log.h"
#include "util/timeutil.h"
#include "wallet/review.h"

struct review_sweeper {
    struct store *st;
    struct wallet_ctx tmpl;
    int64_t interval_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC, so clock changes don't stall it */
    bool stopping;
};

/* Batches until a round finds fewer than a batch (or fails). */
static void sweep(struct review_sweeper *r)
{
    struct wallet_ctx w = r->tmpl;
    w.a.st = r->st;
    w.a.now = time_now_ms();
    size_t n = REVIEW_SWEEP_BATCH;
    enum err e = ERR_OK;
    while (e == ERR_OK && n == REVIEW_SWEEP_BATCH)
        e = review_sweep(&w, &n);
    if (e != ERR_OK)
        log_event(LOG_WARN, "review_sweep_failed", json_pack("{s:s}", "error", err_symbol(e)));
}

static void *sweeper_main(void *arg)
{
    struct review_sweeper *r = arg;
    pthread_setname_np(pthread_self(), "review-sweep");
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        struct timespec until = time_mono_after_ms(r->interval_ms);
        while (!r->stopping && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
            ;
        if (r->stopping)
            break;
        pthread_mutex_unlock(&r->mu);
        sweep(r);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

enum err review_sweeper_start(struct store *st, const struct wallet_ctx *tmpl, int64_t interval_ms,
                              struct review_sweeper **out)
{
    struct review_sweeper *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ERR_NOMEM;
    *r = (struct review_sweeper){.st = st, .tmpl = *tmpl, .interval_ms = interval_ms > 0 ? interval_ms : 1000};
    r->tmpl.a.client_addr = "";
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->mu, NULL);
    if (pthread_create(&r->thread, NULL, sweeper_main, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return ERR_INTERNAL;
    }
    *out = r;
    return ERR_OK;
}

void review_sweeper_stop(struct review_sweeper *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    store_close(r->st);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
