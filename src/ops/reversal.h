/* reversal.h: fraud reversals with four eyes (issue 6).
 *
 * Staff give a defrauded customer their money back for a payment they made
 * (a store charge, a store-QR payment or a P2P transfer), for 1..what
 * remains of it (its amount less refunds, voids and earlier reversals):
 *
 *   charge_store = true:  a ledger REVERSAL of the original transfer (like a
 *                         refund: the store's payable, or the P2P recipient's
 *                         wallet, gives it back; payment.refunded grows)
 *   charge_store = false: a plain transfer "fraud_losses" -> the customer's
 *                         wallet, whose metadata names the original payment
 *                         and the reversal; the store keeps its money
 *
 * States:
 *
 *   request, amount + what went back of the payment at once before
 *            <= cfg->reversal_approval_threshold, and
 *            amount + what the requester gave back at once in the last
 *            24 h, over all payments,
 *            <= cfg->reversal_staff_unapproved_daily      --> EXECUTED (at once)
 *   request, above either (split or not)                  --> PENDING
 *            (the audit entry says which: approval_because
 *            "payment_threshold" or "staff_daily")
 *   PENDING --approve (another staff member)--> EXECUTED
 *   PENDING --reject (another staff member, or the requester)--> REJECTED
 *   request again under its Idempotency-Key (same request) --> that row,
 *            in whichever state, unchanged (invariant 6)
 *
 * Invariants:
 *  1. Money moves exactly when a row becomes EXECUTED: the row's change
 *     (insert or pending -> executed), the audit entries, the customer's
 *     mail (and a transfer's recipient's, when charge_store takes it back
 *     from them) and the amount given back to the customer's spending
 *     counters are written by the ledger writer's hook in the transaction of the
 *     transfer (ledger_writer_submit_hooked_wait).  Two approvals racing:
 *     the second finds the row no longer pending and its group is undone
 *     (ERR_CONFLICT), or replays the first's transfer key and is refused.
 *  2. The requester never approves their own (ERR_FORBIDDEN, "approver").
 *  3. What remains is checked again inside that transaction: reversals and
 *     refunds together never exceed the payment.
 *  4. No staff member gives back more than reversal_staff_unapproved_daily
 *     alone in 24 hours, however the requests are spread over payments:
 *     checked again in the transfer's transaction, like 3.
 *  5. Every step is an audit entry, actor "stf_…", customer the victim:
 *     reversal_requested, reversal_approved / reversal_rejected,
 *     reversal_executed (and dispute_resolved for the report it names).
 *  6. A request carries its Idempotency-Key (DESIGN.md): one row per
 *     (requester, key), kept with the row (unique in the store).  The same
 *     key with the same request (payment, amount, charge_store, reason,
 *     dispute) answers that row as it stands now and moves nothing; with
 *     another it is ERR_IDEMPOTENCY_CONFLICT.  One executed at once moves
 *     its money under the ledger key "reversal:stf_…:<key>", so a retry
 *     racing its first replays the transfer and answers the first's row;
 *     two racing ones that would wait write one pending row.
 *  7. Taken back from a store (charge_store, not a P2P transfer), the
 *     merchant's webhook event refund.succeeded (refund kind "reversal",
 *     naming the reversal; wallet/payment_webhook.h) is queued in the
 *     transaction that moves the money, like a refund's.
 *
 * Knows nothing of HTTP; runs on the caller's thread (waits for the group
 * commit: not for the completer thread).
 */
#ifndef KESSAI_OPS_REVERSAL_H
#define KESSAI_OPS_REVERSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/auth_ctx.h"
#include "ops/reversal_types.h"
#include "util/ids.h"

struct ledger_writer;

#define REVERSAL_LIST_MAX 100
#define REVERSAL_STATUS_PENDING "pending"
#define REVERSAL_STATUS_EXECUTED "executed"
#define REVERSAL_STATUS_REJECTED "rejected"

/* Request a reversal of payment_id by staff_id under idem_key (the
 * request's Idempotency-Key, util/idem.h).  ERR_OK and *out (status
 * executed or pending), *replayed false; or, when staff_id asked the same
 * under idem_key before (invariant 6), that reversal as it stands now
 * (also rejected, or executed since), *replayed true, nothing moved.
 * Refusals: ERR_PAYMENT_NOT_FOUND, ERR_AMOUNT_INVALID
 * and ERR_REVERSAL_EXCEEDS_ORIGINAL ("amount"), ERR_INVALID_PARAM
 * ("reason": 1..REVERSAL_REASON_MAX bytes of text; "Idempotency-Key"),
 * ERR_IDEMPOTENCY_CONFLICT ("Idempotency-Key": used for another request),
 * ERR_INSUFFICIENT_FUNDS
 * (charge_store and the store or recipient no longer holds it); *bad names
 * the parameter (may be NULL).  dispute_id (0: none) names the customer's
 * report the reversal answers (ops/dispute.h): it must be open and of this
 * payment (ERR_NOT_FOUND, ERR_INVALID_PARAM, ERR_CONFLICT: "dispute_id"),
 * and becomes resolved when the money moves; if it was rejected meanwhile,
 * approving is ERR_CONFLICT ("dispute_id") and moves nothing. */
enum err reversal_request(const struct auth_ctx *a, struct ledger_writer *w, int64_t staff_id, int64_t payment_id,
                          int64_t amount, const char *reason, bool charge_store, int64_t dispute_id,
                          const char *idem_key, struct reversal *out, bool *replayed, const char **bad);

/* The second pair of eyes: execute pending reversal id.  ERR_NOT_FOUND,
 * ERR_CONFLICT (not pending), ERR_FORBIDDEN ("approver": the requester),
 * and the refusals of the money as above. */
enum err reversal_approve(const struct auth_ctx *a, struct ledger_writer *w, int64_t staff_id, int64_t id,
                          struct reversal *out, const char **bad);

/* Reject pending reversal id (reason 1..REVERSAL_REASON_MAX).  ERR_NOT_FOUND,
 * ERR_CONFLICT (not pending), ERR_INVALID_PARAM ("reason"). */
enum err reversal_reject(const struct auth_ctx *a, int64_t staff_id, int64_t id, const char *reason,
                         struct reversal *out, const char **bad);

/* {"id":"rev_…","payment":"pay_…","customer":"usr_…","amount":N,
 *  "charge_store":b,"reason":…,"status":…,"requested_by":"stf_…",
 *  "decided_by":"stf_…"|null,"created_at":ms,"decided_at":ms|null,
 *  "transfer":"txn_…"|null,"dispute":"dsp_…"|null} */
json_t *reversal_json(const struct reversal *r);

#endif
