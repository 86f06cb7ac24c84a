/* payment_webhook.h: the merchant's webhook events of a payment at one of
 * its stores (notify/webhook.h), queued in the payment's hook (or a
 * fraud reversal's, ops/reversal.c) — the ledger writer's transaction —
 * so an event exists exactly when its money movement committed.  P2P
 * transfers have no merchant and no event.
 *
 * Event ids are stable (invariant 1 of webhook.h): "evt_" + the id of the
 * ledger transfer the event announces (the payment's, or the ledger
 * reversal of a refund, void or fraud reversal).  The data is what the
 * register's receipt shows: the charge (id, kind, amount, refunded,
 * status, store id and name, created_at, items) and, for refund.succeeded
 * and charge.voided, the refund (id, kind, amount, created_at; a fraud
 * reversal's also names the reversal); never the customer.
 * Each returns webhook_queue's result. */
#ifndef KESSAI_WALLET_PAYMENT_WEBHOOK_H
#define KESSAI_WALLET_PAYMENT_WEBHOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "wallet/wallet_types.h"

/* payment.succeeded for p (as inserted). */
enum err payment_webhook_paid(struct store *st, int64_t now, const struct payment *p, const char *store_name);
/* refund.succeeded (or charge.voided when is_void) for the reversal
 * refund_id of amount at created_ms; p is the payment after it. */
enum err payment_webhook_reversed(struct store *st, int64_t now, const struct payment *p, const char *store_name,
                                  int64_t refund_id, int64_t amount, int64_t created_ms, bool is_void);
/* refund.succeeded, refund kind "reversal" naming reversal_id ("rev_…"),
 * for a fraud reversal staff charged to the store (ops/reversal.h): the
 * ledger reversal refund_id of amount at created_ms; p is the payment
 * after it.  The merchant's payable gave the money back as for a refund,
 * so its systems hear of it the same way. */
enum err payment_webhook_fraud_reversed(struct store *st, int64_t now, const struct payment *p,
                                        const char *store_name, int64_t refund_id, int64_t amount,
                                        int64_t created_ms, int64_t reversal_id);

#endif
