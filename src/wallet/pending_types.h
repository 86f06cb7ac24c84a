/* pending_types.h: an operation that waits before it moves money, as stored
 * (table pending_ops; wallet/pending_charge.h, ops/review.h, store.h):
 *
 *   a register's charge the risk engine challenged, waiting for the
 *   customer to confirm it in the app (kind PAYMENT_CPM):
 *     pending_confirmation -> succeeded | declined | expired
 *   a customer's store-QR payment or transfer it held for review (kind
 *   PAYMENT_MPM or PAYMENT_P2P):
 *     held -> approved (executed) | rejected | expired
 *
 * The row carries everything the payment needs to be made later, once:
 * its ledger key (the one the payment would have had at once, so a retry
 * of the original request finds the payment), the payer, the store or the
 * recipient, the amount and items.  p.id is the payment's id once it is
 * made, else 0. */
#ifndef KESSAI_WALLET_PENDING_TYPES_H
#define KESSAI_WALLET_PENDING_TYPES_H

#include <stdint.h>

#include "ledger/types.h"
#include "wallet/wallet_types.h"

#define PENDING_CHARGE_ID_PREFIX "pch" /* a challenged charge at the register */
#define PENDING_REVIEW_ID_PREFIX "rvw" /* a held payment or transfer */
#define PENDING_STATUS_MAX 23
#define PENDING_MESSAGE_MAX 400 /* as a P2P message (payment_internal.h) */
#define PENDING_REASON_MAX 200

#define PENDING_AWAITING "pending_confirmation"
#define PENDING_SUCCEEDED "succeeded"
#define PENDING_DECLINED "declined"
#define PENDING_EXPIRED "expired"
#define PENDING_HELD "held"
#define PENDING_APPROVED "approved"
#define PENDING_REJECTED "rejected"

struct pending_op {
    int64_t id;
    char status[PENDING_STATUS_MAX + 1];
    char xfer_key[LEDGER_KEY_MAX + 1];
    /* The payment as it will be: kind, customer_id, device_id, merchant_id,
     * store_id, terminal_id, counterparty_id, amount, offline, items,
     * created_ms (when it was asked).  id: the payment once made. */
    struct payment p;
    int device_new;   /* the payer's device (or account) cooled down when asked: the lower limits */
    int64_t expires_ms; /* no approval at or after this (charges and held ones alike) */
    int64_t decided_ms;
    int64_t decided_by; /* held ones: the staff member; else 0 */
    char message[PENDING_MESSAGE_MAX + 1];  /* P2P */
    char reason[PENDING_REASON_MAX + 1];    /* why declined or rejected ("" none) */
};

#endif
