/* deliverer.h: the background retry of queued mail.
 *
 * Requests deliver their own mail right after their commit; a message stays
 * queued only when that failed (disk full, a crash between commit and
 * delivery).  This thread retries the queue every interval, on its own store
 * connection, so such mail still goes out without waiting for the next
 * request or restart.  Delivery is serialised by the store's write lock
 * (outbox.h), so it never sends a message twice alongside a request.
 */
#ifndef KESSAI_NOTIFY_DELIVERER_H
#define KESSAI_NOTIFY_DELIVERER_H

#include <stdint.h>

#include "notify/sender.h"
#include "store/store.h"
#include "util/masterkey.h"

struct notify_deliverer;

/* Start the thread; it takes ownership of st.  master_key and sender must
 * outlive it.  ERR_INTERNAL if the thread cannot start (st stays the
 * caller's). */
enum err notify_deliverer_start(struct store *st, const uint8_t master_key[MASTERKEY_BYTES],
                                const struct notify_sender *sender, int64_t interval_ms,
                                struct notify_deliverer **out);
/* Stop promptly (no final pass: the next start delivers what is left), join,
 * close the store.  NULL-safe. */
void notify_deliverer_stop(struct notify_deliverer *d);

#endif
