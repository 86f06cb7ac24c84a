/* feed.h: customers' live feed (GET /v1/events, docs/notifications.md).
 *
 * An event (a payment debited, a refund credited, money received…) is
 * written to customer_events in the transaction of what it announces
 * (feed_queue), so the store is the source of truth and any node can serve
 * it.  A hub per kessaid (one thread, its own store connection) keeps the
 * open feeds: each has a customer and the last event id it was given, and
 * a small buffer of server-sent-events text.  The thread fills the buffers
 *  - at once when woken (a commit on this node queued events), but rounds
 *    at least NOTIFY_ROUND_GAP_MS apart (deliverer.h),
 *  - every poll_ms when the store's newest event id moved (another node),
 *  - with a comment line every keepalive_ms (so proxies and clients see the
 *    connection alive),
 * and calls each feed's wake function so its HTTP connection, suspended
 * while there is nothing to send, resumes.  No HTTP thread waits.
 *
 *   feed_hub_subscribe --> OPEN (backlog after after_id sent first)
 *   OPEN --events / keep-alive--> text buffered, wake()
 *   OPEN --alive() false (asked before new text and at each keep-alive),
 *          or FEED_PER_CUSTOMER_MAX newer feeds of its customer--> ENDED
 *          (unsent text dropped, wake(); reads as closed)
 *   OPEN, ENDED --feed_hub_unsubscribe (connection gone) or hub stop--> CLOSED
 *
 * Why alive(): a feed outlives the request that opened it, and the session
 * that request showed may be revoked (the owner signing a thief out); the
 * thief's feed must not go on telling where the owner pays.  Why the cap:
 * one customer opening feeds must not take every slot of the node.
 *
 * Text of one event: "id: <cev_…>\nevent: <type>\ndata: <json>\n\n"; the id
 * is what a reconnecting client sends back as Last-Event-ID.
 */
#ifndef KESSAI_NOTIFY_FEED_H
#define KESSAI_NOTIFY_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"

#define FEED_EVENT_ID_PREFIX "cev"

/* Write an event for customer_id in the caller's transaction; data is its
 * JSON object, taken over (type and created_at are added to it; NULL, as
 * a failed json_pack returns: ERR_NOMEM).  ERR_INVALID_PARAM if it is too
 * large (FEED_BODY_MAX). */
enum err feed_queue(struct store *st, int64_t now, int64_t customer_id, const char *type, json_t *data);

struct feed_hub;
struct feed_sub;

/* Called with the hub's lock held, from the hub's thread or a subscriber:
 * new text is waiting.  Must not block nor call back into the hub. */
typedef void (*feed_wake_fn)(void *ctx);
/* Called with the hub's lock held, on the hub's thread with its store
 * connection: may the feed still be served?  Must not call back into the
 * hub. */
typedef bool (*feed_alive_fn)(void *ctx, struct store *st);

/* Open feeds a customer may have at once (phones and tabs); a new one
 * ends the customer's oldest. */
#define FEED_PER_CUSTOMER_MAX 4

/* Start the hub's thread; it takes ownership of st (closed at stop).
 * max_feeds bounds the open feeds. */
enum err feed_hub_start(struct store *st, size_t max_feeds, int64_t poll_ms, int64_t keepalive_ms,
                        struct feed_hub **out);
/* Stop and join; every feed reads as closed from then on.  The caller makes
 * sure no subscriber is left (the HTTP server is stopped first). NULL-safe. */
void feed_hub_stop(struct feed_hub *h);
/* A commit queued events: a round now (thread-safe, never blocks on the store). */
void feed_hub_wake(struct feed_hub *h);
/* Open a feed of customer_id sending the events after after_id; ctx goes
 * to wake and alive (NULL: always alive).  ERR_BUSY when max_feeds are
 * open, ERR_SHUTTING_DOWN after stop began. */
enum err feed_hub_subscribe(struct feed_hub *h, int64_t customer_id, int64_t after_id, feed_wake_fn wake,
                            feed_alive_fn alive, void *ctx, struct feed_sub **out);
/* Move up to max bytes of waiting text into buf; returns how many (0:
 * nothing now).  *closed is set when the feed will never have more (ended,
 * or the hub stopping). */
size_t feed_sub_read(struct feed_hub *h, struct feed_sub *s, char *buf, size_t max, bool *closed);
/* Close s (its connection is gone); s is freed. */
void feed_hub_unsubscribe(struct feed_hub *h, struct feed_sub *s);

#endif
