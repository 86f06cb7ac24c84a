/* review.h: the review queue (issue 6: "held payments and transfers,
 * approve or reject"; docs/admin-api.md "Review queue").
 *
 * A customer's store-QR payment (mpm_pay) or transfer (p2p_send) whose risk
 * verdict is hold is not refused but kept for staff (review_hold, called by
 * the flows): the customer hears 202 "held" and is mailed; nothing moves.
 * A register's charge is never held (nobody can wait at the till for a
 * review): it stays 409 risk_held.
 *
 *   mpm_pay / p2p_send, verdict hold --review_hold--> HELD
 *   HELD --review_approve (staff; the money moves)--> APPROVED
 *   HELD --review_reject (staff, a reason)--> REJECTED
 *
 * Invariants:
 *  1. Nothing moves until APPROVED, and APPROVED is written in the
 *     transaction of the payment's transfer (payment_internal.h step 5b:
 *     "AND status = 'held'" is the guard): two approvals racing, or an
 *     approval racing a rejection, pay at most once.
 *  2. The payment is made as the customer's request would have been: its
 *     own ledger key ("mpm:usr_…:<key>", "p2p:usr_…:<key>", so the
 *     customer's retry finds it), the freeze, the kill switch ("payments"
 *     for the store, "p2p"), the limits and the balance checked again at
 *     approval.  A refusal leaves it HELD (staff may reject it).
 *  3. Audit entries, customer the payer: risk_held (the decision) and
 *     review_held (actor the customer) when it is kept; review_approved
 *     and review_rejected, actor the staff member "stf_…".  The customer
 *     is mailed when it is held, and told the outcome (the payment's mail,
 *     or the rejection's).
 *
 * Knows nothing of HTTP.  Runs on the caller's thread and connection
 * (w->a.st, no transaction open); approve waits for the group commit.
 */
#ifndef KESSAI_WALLET_REVIEW_H
#define KESSAI_WALLET_REVIEW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "wallet/payment.h"
#include "wallet/pending_types.h"
#include "wallet/wallet_ctx.h"

#define REVIEW_LIST_MAX 100

struct killswitch;

/* GET /admin/v1/reviews?status=held|approved|rejected ("" all; "pending"
 * is read as "held"), newest first, ids below before_id (0: from the
 * newest).  ERR_INVALID_PARAM for another status. */
enum err review_list(const struct wallet_ctx *w, const char *status, int64_t before_id, size_t max,
                     struct pending_op *out, size_t *n);

/* One held operation: ERR_NOT_FOUND unless it is one. */
enum err review_get(const struct wallet_ctx *w, int64_t id, struct pending_op *out);

/* Make held operation id now, by staff_id.  ERR_OK: *out APPROVED, *r the
 * receipt.  ERR_NOT_FOUND, ERR_CONFLICT ("status": not held any more), and
 * the refusals of the money (ERR_ACCOUNT_FROZEN, ERR_SUSPENDED with *sw,
 * ERR_LIMIT_EXCEEDED, ERR_INSUFFICIENT_FUNDS "amount", ERR_STORE_NOT_FOUND,
 * ERR_RECIPIENT_NOT_FOUND): it stays held. */
enum err review_approve(const struct wallet_ctx *w, int64_t staff_id, int64_t id, struct pending_op *out,
                        struct payment_receipt *r, const char **bad, struct killswitch *sw);

/* Reject held operation id (reason: 1..PENDING_REASON_MAX bytes of text,
 * else ERR_INVALID_PARAM "reason"); the customer is mailed.  ERR_NOT_FOUND,
 * ERR_CONFLICT ("status"). */
enum err review_reject(const struct wallet_ctx *w, int64_t staff_id, int64_t id, const char *reason,
                       struct pending_op *out, const char **bad);

/* {"id":"rvw_…","kind":"mpm"|"p2p","status":…,"customer":"usr_…",
 *  "amount":N,"store":"str_…"|null,"to":"usr_…"|null,"message":…,
 *  "created_at":…,"decided_at":…|null,"decided_by":"stf_…"|null,
 *  "payment":"pay_…"|null,"reason":…|null} */
json_t *review_json(const struct pending_op *p);

#endif
