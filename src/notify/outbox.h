/* outbox.h: outgoing mail, queued in the database.
 *
 * A message is queued in the caller's transaction (so mail exists exactly
 * when the change it announces was committed), sealed with the master key
 * (XChaCha20-Poly1305, associated data "outbox:<ref>"): the database never
 * holds a code, token or address of a message in the clear.  Delivery runs
 * after the commit and marks each message sent.
 *
 *   notify_enqueue --> QUEUED --notify_deliver_pending, send ok--> SENT
 *                        ^ |
 *                        | +-- send failed --> WAITING its back-off (retry.h)
 *                        +--- next_ms reached ---+  (the messages after it
 *                                                    are not held back)
 *   a failure after max_attempts or max_age --> DEAD (failed_ms set, kept,
 *                                                logged by ref, never resent)
 */
#ifndef KESSAI_NOTIFY_OUTBOX_H
#define KESSAI_NOTIFY_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "notify/retry.h"
#include "notify/sender.h"
#include "notify/types.h"
#include "store/store.h"
#include "util/masterkey.h"

/* Queue a message in the caller's transaction.  ERR_INVALID_PARAM if a part
 * is too long (NOTIFY_*_MAX) or to/subject contain a control character (no
 * header injection). */
enum err notify_enqueue(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], int64_t now, const char *to,
                        const char *subject, const char *body);

/* Deliver every queued message that is due at now through sender, oldest
 * first, in its own transactions (the caller must not have one open).
 * *delivered (may be NULL) counts the messages sent.  A message that fails
 * (the sender's error, or ERR_INTERNAL when it does not open) is logged with
 * its ref, attempts and age, and waits out its back-off (NOTIFY_RETRY_DEFAULT)
 * or is given up (retry.h); the ones after it still go out: one
 * undeliverable message never blocks the queue.  Returns ERR_OK when every
 * message went, else the first failure; a store error stops the round and
 * is returned (what was sent before it is kept).  Messages are sent with no
 * transaction open (the write lock is taken only to mark a batch sent,
 * after the sender made the round durable), so delivery never stalls the ledger writer; two
 * concurrent deliverers may send a message twice (at least once). */
enum err notify_deliver_pending(struct store *st, const uint8_t master_key[MASTERKEY_BYTES],
                                const struct notify_sender *sender, int64_t now, size_t *delivered);
/* The same with the back-off schedule retry (the mail thread's, from the
 * config). */
enum err notify_deliver_pending_retry(struct store *st, const uint8_t master_key[MASTERKEY_BYTES],
                                      const struct notify_sender *sender, const struct notify_retry *retry,
                                      int64_t now, size_t *delivered);

#endif
