/* writer.c: the group-commit writer thread (see writer.h for the contract).
 *
 * Queue: a singly linked FIFO under one mutex.  The writer takes groups until
 * batch_max transfers, applies them, flushes account totals, commits, and
 * only then runs the callbacks; while it commits, new submissions pile up and
 * form the next batch, which is what makes grouping automatic under load and
 * free (one group per commit) when idle.
 */
#include "ledger/writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ledger/apply.h"
#include "ledger/ledger.h"
#include "util/log.h"
#include "util/timeutil.h"

struct node {
    struct node *next;
    ledger_done_fn done;
    void *ctx;
    enum err err;
    size_t failed;
    bool replayed;
    bool pre_failed; /* refused by validation; never applied */
    ledger_hook_fn hook;
    void *hook_ctx;
    struct ledger_balances after[LEDGER_CHAIN_MAX];
    size_t n;
    struct ledger_transfer x[];
};

struct ledger_writer {
    struct store *st;
    struct ledger_writer_opts opts;
    struct ledger_batch *batch;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct node *head, *tail;
    bool stopping;
    /* Committed batches waiting for their callbacks, run by the completer
     * thread so the writer starts the next batch at once. */
    pthread_t completer;
    pthread_cond_t done_cv;
    struct node *done_head, *done_tail;
    bool writer_exited;
};

/* Take groups off the queue up to batch_max transfers (at least one group). */
static struct node *take(struct ledger_writer *w, size_t *ngroups, size_t *nxfers)
{
    struct node *first = w->head, *last = NULL, *it = w->head;
    size_t total = 0, groups = 0;
    while (it && (groups == 0 || total + it->n <= w->opts.batch_max)) {
        total += it->n;
        groups++;
        last = it;
        it = it->next;
    }
    if (last) {
        w->head = last->next;
        if (w->head == NULL)
            w->tail = NULL;
        last->next = NULL;
    }
    *ngroups = groups;
    *nxfers = total;
    return last ? first : NULL;
}

static void finish(struct node *list)
{
    while (list) {
        struct node *next = list->next;
        struct ledger_result r = {list->err, list->failed, list->replayed, list->n, list->x, list->after};
        list->done(list->ctx, &r);
        free(list);
        list = next;
    }
}

/* Apply and commit one batch; set every node's outcome. */
static void run_batch(struct ledger_writer *w, struct node *list)
{
    struct store *st = w->st;
    enum err e = st->ops->begin(st);
    if (e == ERR_OK)
        e = ledger_batch_begin(w->batch, st);
    for (struct node *g = list; g && e == ERR_OK; g = g->next) {
        if (g->pre_failed)
            continue;
        g->err = ledger_batch_apply(w->batch, st, g->x, g->n, g->hook, g->hook_ctx, g->after, &g->failed,
                                    &g->replayed);
        if (g->err == ERR_STORE)
            e = ERR_STORE;
    }
    if (e == ERR_OK)
        e = ledger_batch_flush(w->batch, st);
    if (e == ERR_OK)
        e = st->ops->commit(st);
    if (e == ERR_OK)
        return;
    ledger_batch_reset(w->batch);
    /* The transaction is gone: nothing of this batch happened. */
    st->ops->rollback(st);
    log_event(LOG_ERROR, "ledger_batch_failed", json_pack("{s:s}", "error", err_symbol(e)));
    for (struct node *g = list; g; g = g->next) {
        if (!g->pre_failed) {
            g->err = ERR_STORE;
            g->replayed = false;
        }
    }
}

static void *writer_main(void *arg)
{
    struct ledger_writer *w = arg;
    pthread_setname_np(pthread_self(), "ledger-writer");
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->head == NULL && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->head == NULL && w->stopping) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        size_t groups, xfers;
        struct node *list = take(w, &groups, &xfers);
        pthread_mutex_unlock(&w->mu);

        int64_t t0 = time_mono_ns();
        run_batch(w, list);
        if (w->opts.on_commit)
            w->opts.on_commit(w->opts.on_commit_ctx, groups, xfers, time_mono_ns() - t0);
        struct node *last = list;
        while (last->next)
            last = last->next;
        pthread_mutex_lock(&w->mu);
        if (w->done_tail)
            w->done_tail->next = list;
        else
            w->done_head = list;
        w->done_tail = last;
        pthread_cond_signal(&w->done_cv);
        pthread_mutex_unlock(&w->mu);
    }
}

static void *completer_main(void *arg)
{
    struct ledger_writer *w = arg;
    pthread_setname_np(pthread_self(), "ledger-done");
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->done_head == NULL && !w->writer_exited)
            pthread_cond_wait(&w->done_cv, &w->mu);
        if (w->done_head == NULL)
            break;
        struct node *list = w->done_head;
        w->done_head = w->done_tail = NULL;
        pthread_mutex_unlock(&w->mu);
        finish(list);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Tell the completer that no more batches will come, and wait for it. */
static void stop_completer(struct ledger_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->writer_exited = true;
    pthread_cond_signal(&w->done_cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->completer, NULL);
}

/* Free w and what it holds, but not the store (the caller's until start
 * succeeds). */
static void destroy(struct ledger_writer *w)
{
    ledger_batch_free(w->batch);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->done_cv);
    free(w);
}

enum err ledger_writer_start(struct store *st, const struct ledger_writer_opts *opts, struct ledger_writer **out)
{
    struct ledger_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return ERR_NOMEM;
    w->st = st;
    w->opts = *opts;
    if (w->opts.batch_max == 0)
        w->opts.batch_max = 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    w->batch = ledger_batch_new();
    if (w->batch == NULL) {
        destroy(w);
        return ERR_NOMEM;
    }
    if (pthread_create(&w->completer, NULL, completer_main, w) != 0) {
        destroy(w);
        return ERR_INTERNAL;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        stop_completer(w);
        destroy(w);
        return ERR_INTERNAL;
    }
    *out = w;
    return ERR_OK;
}

enum err ledger_writer_submit(struct ledger_writer *w, const struct ledger_transfer *xfers, size_t n,
                              ledger_done_fn done, void *ctx)
{
    return ledger_writer_submit_hooked(w, xfers, n, NULL, NULL, done, ctx);
}

enum err ledger_writer_submit_hooked(struct ledger_writer *w, const struct ledger_transfer *xfers, size_t n,
                                     ledger_hook_fn hook, void *hook_ctx, ledger_done_fn done, void *ctx)
{
    size_t bad = 0;
    /* A hook alone (n = 0) is durable work that rides the group commit. */
    enum err v = n == 0 && hook != NULL ? ERR_OK : ledger_validate(xfers, n, &bad);
    size_t copy = v == ERR_OK ? n : 0;
    struct node *g = malloc(sizeof *g + copy * sizeof g->x[0]);
    if (g == NULL)
        return ERR_NOMEM;
    *g = (struct node){.done = done,
                       .ctx = ctx,
                       .err = v,
                       .failed = bad,
                       .pre_failed = v != ERR_OK,
                       .hook = hook,
                       .hook_ctx = hook_ctx,
                       .n = copy};
    memcpy(g->x, xfers, copy * sizeof g->x[0]);
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        free(g);
        return ERR_SHUTTING_DOWN;
    }
    if (w->tail)
        w->tail->next = g;
    else
        w->head = g;
    w->tail = g;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return ERR_OK;
}

enum err ledger_writer_submit_hook(struct ledger_writer *w, ledger_hook_fn hook, void *hook_ctx, ledger_done_fn done,
                                   void *ctx)
{
    static const struct ledger_transfer none; /* not read with n = 0, but copied from: never NULL */
    return ledger_writer_submit_hooked(w, &none, 0, hook, hook_ctx, done, ctx);
}

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    struct ledger_transfer *x;
    struct ledger_result r;
};

static void wake(void *ctx, const struct ledger_result *r)
{
    struct waiter *wt = ctx;
    if (r->err == ERR_OK)
        memcpy(wt->x, r->xfers, r->n * sizeof *wt->x);
    pthread_mutex_lock(&wt->mu);
    wt->r = *r;
    wt->r.xfers = NULL;
    wt->done = true;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

enum err ledger_writer_submit_wait(struct ledger_writer *w, struct ledger_transfer *xfers, size_t n,
                                   size_t *failed_index, bool *replayed)
{
    return ledger_writer_submit_hooked_wait(w, xfers, n, NULL, NULL, failed_index, replayed);
}

enum err ledger_writer_submit_hooked_wait(struct ledger_writer *w, struct ledger_transfer *xfers, size_t n,
                                          ledger_hook_fn hook, void *hook_ctx, size_t *failed_index,
                                          bool *replayed)
{
    struct waiter wt = {.x = xfers};
    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cv, NULL);
    enum err e = ledger_writer_submit_hooked(w, xfers, n, hook, hook_ctx, wake, &wt);
    if (e == ERR_OK) {
        pthread_mutex_lock(&wt.mu);
        while (!wt.done)
            pthread_cond_wait(&wt.cv, &wt.mu);
        pthread_mutex_unlock(&wt.mu);
        e = wt.r.err;
        if (failed_index)
            *failed_index = wt.r.failed_index;
        if (replayed)
            *replayed = wt.r.replayed;
    }
    pthread_mutex_destroy(&wt.mu);
    pthread_cond_destroy(&wt.cv);
    return e;
}

void ledger_writer_stop(struct ledger_writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL); /* it drains the queue before it exits */
    stop_completer(w);
    store_close(w->st);
    destroy(w);
}
