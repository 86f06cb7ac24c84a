/* events.c: GET /v1/events, the customer's live feed as server-sent events
 * (notify/feed.h; docs/notifications.md).
 *
 * The handler checks the session, reads where to start (Last-Event-ID, a
 * "cev_…" id of this customer's feed; absent: only what happens from now
 * on), opens a feed in the hub and answers with a streamed reply
 * (http/stream.h) whose source is that feed.  The feed wakes the
 * connection when it has text; the connection's end closes the feed.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/pay_handlers.h"
#include "api/wallet_jobs.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/stream.h"
#include "notify/feed.h"
#include "store/pool.h"
#include "util/ids.h"
#include "util/timeutil.h"

/* The connection of one feed: the hub wakes it, it pulls from the hub. */
struct feed_conn {
    struct feed_hub *hub;
    struct feed_sub *sub;
    _Atomic(struct http_stream *) stream; /* NULL until the reply exists: wakes before it are not needed */
    int64_t session_id, customer_id, absolute_ms; /* the session that opened it */
};

/* The feed lives as long as the session that opened it: revoked (the
 * owner signing a thief's phone out, a freeze, a reset) or past its
 * absolute end, the hub ends it.  A store error ends nothing: the next
 * check decides (else a busy moment would end every feed at once). */
static bool alive(void *ctx, struct store *st)
{
    struct feed_conn *c = ctx;
    int64_t now = time_now_ms();
    return now < c->absolute_ms && session_still_live(st, c->session_id, c->customer_id, now) != ERR_UNAUTHENTICATED;
}

static void wake(void *ctx)
{
    struct feed_conn *c = ctx;
    struct http_stream *s = atomic_load(&c->stream);
    if (s)
        http_stream_wake(s);
}

static long pull(void *ctx, char *buf, size_t max)
{
    struct feed_conn *c = ctx;
    if (c->sub == NULL)
        return -1;
    bool closed = false;
    size_t n = feed_sub_read(c->hub, c->sub, buf, max, &closed);
    return n > 0 ? (long)n : closed ? -1 : 0;
}

static void close_feed(void *ctx)
{
    struct feed_conn *c = ctx;
    if (c->sub)
        feed_hub_unsubscribe(c->hub, c->sub);
    free(c);
}

enum http_verdict api_events_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_session s;
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &s))
        return HTTP_REPLIED;
    if (ctx->feeds == NULL)
        return http_reply_error(req, ERR_SHUTTING_DOWN, NULL);
    int64_t after = 0;
    const char *last = http_request_header(req, "Last-Event-ID");
    if (last != NULL && last[0] != '\0') {
        if (ids_parse(last, FEED_EVENT_ID_PREFIX, &after) != ERR_OK)
            return http_reply_error(req, ERR_INVALID_PARAM, "Last-Event-ID");
        /* An id of another customer's feed only means "after that point":
         * the feed reads this customer's events alone. */
    } else {
        struct store *st = store_pool_acquire(ctx->pool);
        enum err e = st->ops->feed_event_last(st, s.customer_id, &after);
        store_pool_release(ctx->pool, st);
        if (e != ERR_OK)
            return http_reply_error(req, e, NULL);
    }
    struct feed_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    c->hub = ctx->feeds;
    c->session_id = s.id;
    c->customer_id = s.customer_id;
    c->absolute_ms = s.absolute_ms;
    /* The number of open feeds is bounded: past it, 503 server_busy. */
    enum err e = feed_hub_subscribe(ctx->feeds, s.customer_id, after, wake, alive, c, &c->sub);
    if (e != ERR_OK) {
        free(c);
        return http_reply_error(req, e, NULL);
    }
    http_reply_header(req, "X-Accel-Buffering", "no"); /* proxies must not hold events back */
    struct http_stream_source src = {pull, close_feed, c};
    struct http_stream *stream = NULL;
    enum http_verdict v = http_reply_stream(req, "text/event-stream", &src, &stream);
    /* Text the hub added before this is pulled when the reply first goes
     * out (the reader pulls until there is nothing), so no wake is lost. */
    if (stream)
        atomic_store(&c->stream, stream);
    return v;
}
