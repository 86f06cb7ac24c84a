/* deliverer.h: the background retry of queued mail.
 *
 * In kessaid this thread is the one deliverer of its node: requests only
 * queue mail in their transaction and wake it (auth_ctx.h with ctx->mail
 * NULL), and it delivers the queue when woken and every interval (for
 * what a failure or a crash left queued), on its own store connection.
 * One deliverer, because sending happens outside any transaction
 * (outbox.c): two deliverers reading the queue at once would both send
 * what they both read, and an SMTP relay cannot take a message twice
 * without the customer seeing it twice.  (Several nodes on one database
 * are each one deliverer: the rare message both read goes out twice, with
 * one Message-ID.)  Requests also no longer wait for a slow relay.
 *
 *   WAITING --wake, or interval over--> DELIVERING (one notify_deliver_pending)
 *      ^                                    |   (wakes meanwhile: one more round)
 *      +------------------------------------+
 *   WAITING/DELIVERING --notify_deliverer_stop--> STOPPED (after the round)
 *
 * Rounds start at least NOTIFY_ROUND_GAP_MS apart: under load every commit
 * wakes the thread, and one round then serves all the commits of a gap.
 */
#ifndef KESSAI_NOTIFY_DELIVERER_H
#define KESSAI_NOTIFY_DELIVERER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "notify/retry.h"
#include "notify/sender.h"
#include "store/store.h"
#include "util/masterkey.h"

struct notify_deliverer;

/* The least time between the starts of two rounds: the most a
 * notification waits longer for it. */
#define NOTIFY_ROUND_GAP_MS 10

/* For the threads that run rounds when woken (these deliverers, the live
 * feed: feed.h).  notify_round_wait, with mu held: wait until *woken or
 * interval_ms passed, then until NOTIFY_ROUND_GAP_MS after *last_round_ns
 * (0 at first); true with *woken cleared and *last_round_ns set: run a
 * round; false once *stopping.  notify_round_ask, from any thread without
 * mu: ask for a round (cheap once one is asked for). */
bool notify_round_wait(pthread_cond_t *cv, pthread_mutex_t *mu, const bool *stopping, atomic_bool *woken,
                       int64_t interval_ms, int64_t *last_round_ns);
void notify_round_ask(pthread_cond_t *cv, pthread_mutex_t *mu, atomic_bool *woken);

/* Asking for a delivery round soon, for code that must not deliver itself
 * (auth_ctx.h).  wake(ctx) is cheap, never blocks on delivery and may be
 * called from any thread. */
struct notify_wake {
    void (*wake)(void *ctx);
    void *ctx;
};

/* Start the thread; it takes ownership of st.  master_key and sender must
 * outlive it; retry (copied; NULL: NOTIFY_RETRY_DEFAULT) is the back-off of
 * failed messages.  ERR_INTERNAL if the thread cannot start (st stays the
 * caller's). */
enum err notify_deliverer_start(struct store *st, const uint8_t master_key[MASTERKEY_BYTES],
                                const struct notify_sender *sender, const struct notify_retry *retry,
                                int64_t interval_ms, struct notify_deliverer **out);
/* A thread of the same kind running round(ctx, st, now) instead (the
 * webhook deliverer: webhook.h); name is the thread's name (15 characters
 * shown).  round logs its own failures. */
typedef void (*notify_round_fn)(void *ctx, struct store *st, int64_t now);
enum err notify_deliverer_start_round(struct store *st, notify_round_fn round, void *ctx, const char *name,
                                      int64_t interval_ms, struct notify_deliverer **out);
/* Ask d for a round now (NULL-safe, thread-safe).  Wakes that come while a
 * round runs cause one more round, not one each. */
void notify_deliverer_wake(struct notify_deliverer *d);
/* A notify_wake that wakes d (which must outlive its use). */
struct notify_wake notify_deliverer_waker(struct notify_deliverer *d);
/* Stop promptly (no final pass: the next start delivers what is left), join,
 * close the store.  NULL-safe. */
void notify_deliverer_stop(struct notify_deliverer *d);

#endif
