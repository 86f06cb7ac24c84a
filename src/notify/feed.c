/* feed.c: customers' live feed (feed.h). */
#include "notify/feed.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify/deliverer.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/timeutil.h"

/* Text waiting for one feed; events that do not fit wait in the store for
 * the next round (the feed's last id stays before them). */
#define SUB_BUF 16384
/* Events read per query. */
#define READ_MAX 64
static const char keepalive_text[] = ": keep-alive\n\n";

struct feed_sub {
    int64_t customer_id;
    int64_t last_id; /* the newest event put in buf */
    bool backlog;    /* behind the hub's reads: catches up with its own reads first */
    bool ended;      /* no more text, ever (feed.h) */
    feed_wake_fn wake;
    feed_alive_fn alive;
    void *ctx; /* wake's and alive's */
    char buf[SUB_BUF];
    size_t len;
    struct feed_sub *prev, *next;
};

struct feed_hub {
    struct store *st;
    size_t max_feeds, nfeeds;
    int64_t poll_ms, keepalive_ms;
    pthread_t thread;
    pthread_mutex_t mu; /* the list and every feed's buffer */
    pthread_cond_t cv;  /* CLOCK_MONOTONIC */
    bool stopping;
    atomic_bool woken;
    struct feed_sub *subs;
    int64_t seen_last; /* every event up to this id was handed to the open feeds */
    struct feed_event *events; /* READ_MAX, the thread's */
};

enum err feed_queue(struct store *st, int64_t now, int64_t customer_id, const char *type, json_t *data)
{
    struct feed_event *e = calloc(1, sizeof *e);
    char at[TIME_ISO_BUF];
    enum err r = ERR_NOMEM;
    if (e == NULL || data == NULL || json_object_set_new(data, "type", json_string(type)) != 0 ||
        json_object_set_new(data, "created_at", json_string(time_iso8601(at, now))) != 0)
        goto cleanup;
    char *body = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (body == NULL)
        goto cleanup;
    if (strlen(body) > FEED_BODY_MAX || strlen(type) > FEED_TYPE_MAX) {
        free(body);
        r = ERR_INVALID_PARAM;
        goto cleanup;
    }
    e->customer_id = customer_id;
    snprintf(e->type, sizeof e->type, "%s", type);
    snprintf(e->body, sizeof e->body, "%s", body);
    e->created_ms = now;
    free(body);
    r = st->ops->feed_event_insert(st, e);
cleanup:
    json_decref(data);
    free(e);
    return r;
}

/* Append e to s if it is s's and new to it; false if it does not fit. */
static bool append(struct feed_sub *s, const struct feed_event *e)
{
    if (e->customer_id != s->customer_id || e->id <= s->last_id)
        return true;
    char id[IDS_BUF], text[FEED_BODY_MAX + 128];
    int w = snprintf(text, sizeof text, "id: %s\nevent: %s\ndata: %s\n\n", ids_format(id, FEED_EVENT_ID_PREFIX, e->id),
                     e->type, e->body);
    if (w < 0 || (size_t)w >= sizeof text || s->len + (size_t)w > SUB_BUF)
        return false;
    memcpy(s->buf + s->len, text, (size_t)w);
    s->len += (size_t)w;
    s->last_id = e->id;
    return true;
}

/* End s: what it did not send is dropped, and its reader sees it closed.
 * Caller holds h->mu. */
static void end(struct feed_sub *s, const char *reason)
{
    s->ended = true;
    s->len = 0;
    s->backlog = false;
    log_event(LOG_INFO, "live_feed_ended",
              json_pack("{s:I, s:s}", "customer_id", (json_int_t)s->customer_id, "reason", reason));
    s->wake(s->ctx);
}

/* Whether s may have more text: not ended, and alive() agrees (else it
 * ends here).  Caller holds h->mu. */
static bool serve(struct feed_hub *h, struct feed_sub *s)
{
    if (s->ended)
        return false;
    if (s->alive && !s->alive(s->ctx, h->st)) {
        end(s, "session_ended");
        return false;
    }
    return true;
}

/* Whether events[0..n) hold one for s it has not had. */
static bool news_for(const struct feed_sub *s, const struct feed_event *events, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (events[i].customer_id == s->customer_id && events[i].id > s->last_id)
            return true;
    return false;
}

/* A feed behind the hub (new, with a Last-Event-ID, or whose buffer was
 * full): its own events after its last id, until it is level with the
 * hub.  Caller holds h->mu.  Whether text was added. */
static bool catch_up(struct feed_hub *h, struct feed_sub *s)
{
    size_t n = 0;
    size_t before = s->len;
    if (h->st->ops->feed_event_list(h->st, s->customer_id, s->last_id, READ_MAX, h->events, &n) != ERR_OK)
        return false; /* logged by the store; the next round tries again */
    if (n > 0 && !serve(h, s))
        return false;
    size_t i = 0;
    while (i < n && append(s, &h->events[i]))
        i++;
    if (i == n && n < READ_MAX)
        s->backlog = false; /* nothing more of its own in the store */
    if (!s->backlog && s->last_id < h->seen_last)
        s->last_id = h->seen_last; /* what the hub hands out from now on is newer */
    return s->len > before;
}

/* One round: the feeds that are behind catch up; then every event newer
 * than the hub's mark is read once (one indexed query, whatever the number
 * of feeds) and handed to the feeds of its customer.  Caller holds h->mu.
 * Each feed that got text is woken. */
static void round_locked(struct feed_hub *h)
{
    for (struct feed_sub *s = h->subs; s; s = s->next)
        if (s->backlog && catch_up(h, s))
            s->wake(s->ctx);
    for (;;) {
        size_t n = 0;
        if (h->st->ops->feed_event_list_all(h->st, h->seen_last, READ_MAX, h->events, &n) != ERR_OK || n == 0)
            return;
        for (struct feed_sub *s = h->subs; s; s = s->next) {
            if (s->backlog || !news_for(s, h->events, n) || !serve(h, s))
                continue;
            size_t before = s->len;
            for (size_t i = 0; i < n && !s->backlog; i++)
                if (!append(s, &h->events[i]))
                    s->backlog = true; /* full: the rest comes from the store once it drained */
            if (s->len > before)
                s->wake(s->ctx);
        }
        h->seen_last = h->events[n - 1].id;
        if (n < READ_MAX)
            return;
    }
}

static void keepalive(struct feed_sub *s)
{
    if (s->len + sizeof keepalive_text - 1 <= SUB_BUF) {
        memcpy(s->buf + s->len, keepalive_text, sizeof keepalive_text - 1);
        s->len += sizeof keepalive_text - 1;
    }
}

static void *hub_main(void *arg)
{
    struct feed_hub *h = arg;
    pthread_setname_np(pthread_self(), "live-feed");
    int64_t next_keepalive = time_mono_ns() / 1000000 + h->keepalive_ms, last_round_ns = 0;
    pthread_mutex_lock(&h->mu);
    while (!h->stopping) {
        if (!notify_round_wait(&h->cv, &h->mu, &h->stopping, &h->woken, h->poll_ms, &last_round_ns))
            break;
        /* A look at the store each time (this node's commits wake the
         * thread; other nodes' show up within poll_ms). */
        round_locked(h);
        int64_t now_ms = time_mono_ns() / 1000000;
        if (now_ms >= next_keepalive) {
            next_keepalive = now_ms + h->keepalive_ms;
            for (struct feed_sub *s = h->subs; s; s = s->next) {
                if (!serve(h, s))
                    continue;
                keepalive(s);
                s->wake(s->ctx);
            }
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

enum err feed_hub_start(struct store *st, size_t max_feeds, int64_t poll_ms, int64_t keepalive_ms,
                        struct feed_hub **out)
{
    struct feed_hub *h = calloc(1, sizeof *h);
    struct feed_event *ev = calloc(READ_MAX, sizeof *ev);
    if (h == NULL || ev == NULL) {
        free(h);
        free(ev);
        return ERR_NOMEM;
    }
    *h = (struct feed_hub){.st = st, .max_feeds = max_feeds, .poll_ms = poll_ms > 0 ? poll_ms : 1000,
                           .keepalive_ms = keepalive_ms > 0 ? keepalive_ms : 15000, .events = ev};
    (void)st->ops->feed_event_last(st, 0, &h->seen_last);
    time_mono_cond_init(&h->cv);
    pthread_mutex_init(&h->mu, NULL);
    if (pthread_create(&h->thread, NULL, hub_main, h) != 0) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        free(ev);
        free(h);
        return ERR_INTERNAL;
    }
    *out = h;
    return ERR_OK;
}

void feed_hub_stop(struct feed_hub *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    while (h->subs) { /* none should be left; do not leak them if some are */
        struct feed_sub *s = h->subs;
        h->subs = s->next;
        free(s);
    }
    store_close(h->st);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h->events);
    free(h);
}

void feed_hub_wake(struct feed_hub *h)
{
    if (h == NULL)
        return;
    notify_round_ask(&h->cv, &h->mu, &h->woken);
}

/* The oldest of the customer's feeds that are not ended, if it has
 * FEED_PER_CUSTOMER_MAX of them (the list is newest first).  Caller holds
 * h->mu. */
static struct feed_sub *oldest_over_cap(struct feed_hub *h, int64_t customer_id)
{
    struct feed_sub *oldest = NULL;
    int open = 0;
    for (struct feed_sub *s = h->subs; s; s = s->next)
        if (s->customer_id == customer_id && !s->ended) {
            open++;
            oldest = s;
        }
    return open >= FEED_PER_CUSTOMER_MAX ? oldest : NULL;
}

enum err feed_hub_subscribe(struct feed_hub *h, int64_t customer_id, int64_t after_id, feed_wake_fn wake,
                            feed_alive_fn alive, void *ctx, struct feed_sub **out)
{
    struct feed_sub *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    *s = (struct feed_sub){.customer_id = customer_id, .last_id = after_id, .backlog = true, .wake = wake,
                           .alive = alive, .ctx = ctx};
    /* A comment first: the client sees the stream open at once, and knows
     * how soon to reconnect. */
    static const char hello[] = "retry: 2000\n: connected\n\n";
    memcpy(s->buf, hello, sizeof hello - 1);
    s->len = sizeof hello - 1;
    pthread_mutex_lock(&h->mu);
    enum err e = h->stopping ? ERR_SHUTTING_DOWN : h->nfeeds >= h->max_feeds ? ERR_BUSY : ERR_OK;
    if (e == ERR_OK) {
        struct feed_sub *oldest = oldest_over_cap(h, customer_id);
        if (oldest)
            end(oldest, "replaced");
        s->next = h->subs;
        if (h->subs)
            h->subs->prev = s;
        h->subs = s;
        h->nfeeds++;
        atomic_store(&h->woken, true); /* the backlog after after_id goes out at once */
        pthread_cond_signal(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    if (e != ERR_OK) {
        free(s);
        return e;
    }
    *out = s;
    return ERR_OK;
}

size_t feed_sub_read(struct feed_hub *h, struct feed_sub *s, char *buf, size_t max, bool *closed)
{
    pthread_mutex_lock(&h->mu);
    size_t n = s->len < max ? s->len : max;
    memcpy(buf, s->buf, n);
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
    *closed = (h->stopping || s->ended) && s->len == 0;
    pthread_mutex_unlock(&h->mu);
    return n;
}

void feed_hub_unsubscribe(struct feed_hub *h, struct feed_sub *s)
{
    pthread_mutex_lock(&h->mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        h->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->nfeeds--;
    pthread_mutex_unlock(&h->mu);
    free(s);
}
