/* payment_feed.h: the customers' live-feed events of a payment
 * (notify/feed.h), written in the payment's hook — the ledger writer's
 * transaction — next to its mail: the payer's debit ("payment.debited" at a
 * store, "p2p.sent"), the recipient's credit ("p2p.received") and a refund
 * or void back into the wallet ("refund.credited").  Each carries the
 * amount, the balance after, the payment's id and what the customer reads
 * as the other side (the store's name, or the other customer's masked
 * address).  Returns feed_queue's result. */
#ifndef KESSAI_WALLET_PAYMENT_FEED_H
#define KESSAI_WALLET_PAYMENT_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "wallet/wallet_types.h"

/* A new payment p (as inserted); counterparty: the store's name (CPM, MPM)
 * or the recipient's address (P2P; payer_email: the payer's, for the
 * recipient's event). */
enum err payment_feed_paid(struct store *st, int64_t now, const struct payment *p, const char *counterparty,
                           const char *payer_email, int64_t payer_balance, int64_t payee_balance);
/* A refund or void of amount back to p's payer. */
enum err payment_feed_refunded(struct store *st, int64_t now, const struct payment *p, const char *counterparty,
                               int64_t amount, bool is_void, int64_t balance);

#endif
