#include "notify/deliverer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "notify/outbox.h"
#include "util/timeutil.h"

struct notify_deliverer {
    struct store *st;
    const uint8_t *master_key;
    const struct notify_sender *sender;
    struct notify_retry retry;
    notify_round_fn round; /* NULL: deliver the mail outbox */
    void *round_ctx;
    char name[16];
    int64_t interval_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC, so clock changes don't stall it */
    bool stopping;
    atomic_bool woken; /* a round was asked for since the last one began */
};

bool notify_round_wait(pthread_cond_t *cv, pthread_mutex_t *mu, const bool *stopping, atomic_bool *woken,
                       int64_t interval_ms, int64_t *last_round_ns)
{
    struct timespec until = time_mono_after_ms(interval_ms);
    while (!*stopping && !atomic_load(woken) && pthread_cond_timedwait(cv, mu, &until) == 0)
        ;
    /* Wakes within the gap are kept (woken stays set). */
    int64_t since_ms = (time_mono_ns() - *last_round_ns) / 1000000;
    if (since_ms < NOTIFY_ROUND_GAP_MS) {
        until = time_mono_after_ms(NOTIFY_ROUND_GAP_MS - since_ms);
        while (!*stopping && pthread_cond_timedwait(cv, mu, &until) == 0)
            ;
    }
    if (*stopping)
        return false;
    atomic_store(woken, false); /* wakes from now on ask for the next round */
    *last_round_ns = time_mono_ns();
    return true;
}

void notify_round_ask(pthread_cond_t *cv, pthread_mutex_t *mu, atomic_bool *woken)
{
    /* Once asked, a round is coming: later wakes (one per commit) need
     * neither the lock, which the live feed holds through its rounds, nor
     * a signal. */
    if (atomic_exchange(woken, true))
        return;
    pthread_mutex_lock(mu);
    pthread_cond_signal(cv);
    pthread_mutex_unlock(mu);
}

static void *deliverer_main(void *arg)
{
    struct notify_deliverer *d = arg;
    pthread_setname_np(pthread_self(), d->name);
    int64_t last_round_ns = 0;
    pthread_mutex_lock(&d->mu);
    while (!d->stopping) {
        if (!notify_round_wait(&d->cv, &d->mu, &d->stopping, &d->woken, d->interval_ms, &last_round_ns))
            break;
        pthread_mutex_unlock(&d->mu);
        /* Failures are logged by the outbox; the next round retries. */
        if (d->round)
            d->round(d->round_ctx, d->st, time_now_ms());
        else
            notify_deliver_pending_retry(d->st, d->master_key, d->sender, &d->retry, time_now_ms(), NULL);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static enum err start(struct notify_deliverer *d, struct notify_deliverer **out)
{
    time_mono_cond_init(&d->cv);
    pthread_mutex_init(&d->mu, NULL);
    if (pthread_create(&d->thread, NULL, deliverer_main, d) != 0) {
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        free(d);
        return ERR_INTERNAL;
    }
    *out = d;
    return ERR_OK;
}

enum err notify_deliverer_start(struct store *st, const uint8_t master_key[MASTERKEY_BYTES],
                                const struct notify_sender *sender, const struct notify_retry *retry,
                                int64_t interval_ms, struct notify_deliverer **out)
{
    struct notify_deliverer *d = calloc(1, sizeof *d);
    if (d == NULL)
        return ERR_NOMEM;
    *d = (struct notify_deliverer){.st = st, .master_key = master_key, .sender = sender,
                                   .retry = retry ? *retry : NOTIFY_RETRY_DEFAULT,
                                   .interval_ms = interval_ms > 0 ? interval_ms : 1000};
    snprintf(d->name, sizeof d->name, "mail-retry");
    return start(d, out);
}

enum err notify_deliverer_start_round(struct store *st, notify_round_fn round, void *ctx, const char *name,
                                      int64_t interval_ms, struct notify_deliverer **out)
{
    struct notify_deliverer *d = calloc(1, sizeof *d);
    if (d == NULL)
        return ERR_NOMEM;
    *d = (struct notify_deliverer){.st = st, .round = round, .round_ctx = ctx,
                                   .interval_ms = interval_ms > 0 ? interval_ms : 1000};
    snprintf(d->name, sizeof d->name, "%s", name); /* the kernel keeps 15 characters */
    return start(d, out);
}

void notify_deliverer_wake(struct notify_deliverer *d)
{
    if (d == NULL)
        return;
    notify_round_ask(&d->cv, &d->mu, &d->woken);
}

static void wake_fn(void *ctx) { notify_deliverer_wake(ctx); }

struct notify_wake notify_deliverer_waker(struct notify_deliverer *d)
{
    return (struct notify_wake){.wake = wake_fn, .ctx = d};
}

void notify_deliverer_stop(struct notify_deliverer *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    store_close(d->st);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
