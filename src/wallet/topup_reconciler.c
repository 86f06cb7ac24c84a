/* topup_reconciler.c: see topup_reconciler.h. */
#include "wallet/topup_reconciler.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "util/timeutil.h"
#include "wallet/topup.h"

struct topup_reconciler {
    struct store *st;
    struct wallet_ctx tmpl;
    int64_t interval_ms, min_age_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC, so clock changes don't stall it */
    bool stopping;
};

static void *reconciler_main(void *arg)
{
    struct topup_reconciler *r = arg;
    pthread_setname_np(pthread_self(), "topup-reconcile");
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        struct timespec until = time_mono_after_ms(r->interval_ms);
        while (!r->stopping && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
            ;
        if (r->stopping)
            break;
        pthread_mutex_unlock(&r->mu);
        struct wallet_ctx w = r->tmpl;
        w.a.st = r->st;
        w.a.now = time_now_ms();
        (void)topup_reconcile(&w, w.a.now - r->min_age_ms, NULL); /* logs its own failures */
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

enum err topup_reconciler_start(struct store *st, const struct wallet_ctx *tmpl, int64_t interval_ms,
                                int64_t min_age_ms, struct topup_reconciler **out)
{
    struct topup_reconciler *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ERR_NOMEM;
    *r = (struct topup_reconciler){.st = st, .tmpl = *tmpl, .interval_ms = interval_ms > 0 ? interval_ms : 1000,
                                   .min_age_ms = min_age_ms};
    r->tmpl.a.client_addr = "";
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->mu, NULL);
    if (pthread_create(&r->thread, NULL, reconciler_main, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return ERR_INTERNAL;
    }
    *out = r;
    return ERR_OK;
}

void topup_reconciler_stop(struct topup_reconciler *r)
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
