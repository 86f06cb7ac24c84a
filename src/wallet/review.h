/* review.h: the review queue (issue 6: "held payments and transfers,
 * approve or reject"; docs/admin-api.md "Review queue").
 *
 * A customer's store-QR payment (mpm_pay) or transfer (p2p_send) whose risk
 * verdict is hold is not refused but kept for staff (review_hold, called by
 * the flows): the customer hears 202 "held" and is mailed; nothing moves.
 * A register's charge is never held (nobody can wait at the till for a
 * review): it stays 409 risk_held.
 *
 *   mpm_pay / p2p_send, verdict hold --review_hold--> HELD (expires_ms =
 *        now + review_hold_expiry_s)
 *   HELD --review_approve (staff, before expires_ms; the money moves)--> APPROVED
 *   HELD --review_reject (staff, a reason, before expires_ms)--> REJECTED
 *   HELD --now >= expires_ms, seen by any read or by review_sweep--> EXPIRED
 *
 * A held payment must be decided within a known time or lapse: a store
 * payment approved days later pays for goods the customer never took
 * home, a transfer approved weeks later surprises both sides.
 *
 * Invariants:
 *  1. Nothing moves until APPROVED, and APPROVED is written in the
 *     transaction of the payment's transfer (payment_internal.h step 5b:
 *     "AND status = 'held' AND expires_ms > now" is the guard): two
 *     approvals racing, an approval racing a rejection or the expiry, pay
 *     at most once, and never at or after expires_ms, even if nobody has
 *     recorded the expiry yet.
 *  2. The payment is made as the customer's request would have been: its
 *     own ledger key ("mpm:usr_…:<key>", "p2p:usr_…:<key>", so the
 *     customer's retry finds it), the freeze, the kill switch ("payments"
 *     for the store, "p2p"), the limits and the balance checked again at
 *     approval.  A refusal leaves it HELD (staff may reject it).
 *  3. Audit entries, customer the payer: risk_held (the decision) and
 *     review_held (actor the customer) when it is kept; review_approved
 *     and review_rejected, actor the staff member "stf_…"; review_expired
 *     (actor "system", outcome failure).  The customer is mailed when it
 *     is held (with the deadline), and told the outcome (the payment's
 *     mail, the rejection's, or the lapse's).
 *  4. Expiry needs no one to look, and whoever looks first decides it:
 *     every read here (review_get, review_list, the customer's retry)
 *     records a lapsed one as EXPIRED, and review_sweep (kessaid's
 *     periodic thread, periodic.h) does so for those nobody reads.  Either way
 *     once ("AND status = 'held'"), with its audit entry and the
 *     customer's one mail in the same transaction.
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
#define REVIEW_SWEEP_BATCH 100 /* lapsed ones one review_sweep expires at most (the next round does the rest) */

struct killswitch;

/* GET /admin/v1/reviews?status=held|approved|rejected|expired ("" all;
 * "pending" is read as "held"), newest first, ids below before_id (0: from
 * the newest).  The status is the one as of w->a.now: "held" lists only
 * live ones, "expired" also those lapsed but not yet recorded (recorded
 * now).  ERR_INVALID_PARAM for another status. */
enum err review_list(const struct wallet_ctx *w, const char *status, int64_t before_id, size_t max,
                     struct pending_op *out, size_t *n);

/* One held operation: ERR_NOT_FOUND unless it is one; a lapsed one is
 * recorded expired first. */
enum err review_get(const struct wallet_ctx *w, int64_t id, struct pending_op *out);

/* Make held operation id now, by staff_id.  ERR_OK: *out APPROVED, *r the
 * receipt.  ERR_NOT_FOUND, ERR_CONFLICT ("status": not held any more, or
 * lapsed: nothing moves, *out EXPIRED), and
 * the refusals of the money (ERR_ACCOUNT_FROZEN, ERR_SUSPENDED with *sw,
 * ERR_LIMIT_EXCEEDED, ERR_INSUFFICIENT_FUNDS "amount", ERR_STORE_NOT_FOUND,
 * ERR_RECIPIENT_NOT_FOUND): it stays held. */
enum err review_approve(const struct wallet_ctx *w, int64_t staff_id, int64_t id, struct pending_op *out,
                        struct payment_receipt *r, const char **bad, struct killswitch *sw);

/* Reject held operation id (reason: 1..PENDING_REASON_MAX bytes of text,
 * else ERR_INVALID_PARAM "reason"); the customer is mailed.  ERR_NOT_FOUND,
 * ERR_CONFLICT ("status": not held any more, or lapsed). */
enum err review_reject(const struct wallet_ctx *w, int64_t staff_id, int64_t id, const char *reason,
                       struct pending_op *out, const char **bad);

/* Expire every held operation past its expires_ms (up to
 * REVIEW_SWEEP_BATCH, soonest lapsed first), as a read would: once each,
 * with review_expired and the customer's mail.  *expired (may be NULL):
 * how many this call expired. */
enum err review_sweep(const struct wallet_ctx *w, size_t *expired);

/* {"id":"rvw_…","kind":"mpm"|"p2p","status":…,"customer":"usr_…",
 *  "amount":N,"store":"str_…"|null,"to":"usr_…"|null,"message":…,
 *  "created_at":…,"expires_at":…|null,"decided_at":…|null,"decided_by":"stf_…"|null,
 *  "payment":"pay_…"|null,"reason":…|null} */
json_t *review_json(const struct pending_op *p);

#endif
