/* periodic.c: see periodic.h. */
#include "wallet/periodic.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/timeutil.h"

struct periodic {
    struct store *st;
    struct wallet_ctx tmpl;
    char name[16];
    int64_t interval_ms;
    periodic_round_fn round;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC, so clock changes don't stall it */
    bool stopping;
};

static void *periodic_main(void *arg)
{
    struct periodic *p = arg;
    pthread_setname_np(pthread_self(), p->name);
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        struct timespec until = time_mono_after_ms(p->interval_ms);
        while (!p->stopping && pthread_cond_timedwait(&p->cv, &p->mu, &until) == 0)
            ;
        if (p->stopping)
            break;
        pthread_mutex_unlock(&p->mu);
        struct wallet_ctx w = p->tmpl;
        w.a.st = p->st;
        w.a.now = time_now_ms();
        p->round(p->ctx, &w);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

enum err periodic_start(struct store *st, const struct wallet_ctx *tmpl, const char *name, int64_t interval_ms,
                        periodic_round_fn round, void *ctx, struct periodic **out)
{
    struct periodic *p = calloc(1, sizeof *p);
    if (p == NULL)
        return ERR_NOMEM;
    *p = (struct periodic){.st = st, .tmpl = *tmpl, .interval_ms = interval_ms > 0 ? interval_ms : 1000,
                           .round = round, .ctx = ctx};
    snprintf(p->name, sizeof p->name, "%s", name);
    p->tmpl.a.client_addr = "";
    time_mono_cond_init(&p->cv);
    pthread_mutex_init(&p->mu, NULL);
    if (pthread_create(&p->thread, NULL, periodic_main, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return ERR_INTERNAL;
    }
    *out = p;
    return ERR_OK;
}

void periodic_stop(struct periodic *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    store_close(p->st);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
