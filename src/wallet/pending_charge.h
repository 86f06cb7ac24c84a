/* pending_charge.h: a register's charge the risk engine challenged waits
 * for the customer (issue 6: "the customer must confirm in the app with the
 * second factor; the POS charge waits as pending and completes or fails
 * when the customer answers or after a timeout"; docs/payments.md).
 *
 *   payment_charge, verdict challenge --pending_charge_create--> PENDING_CONFIRMATION
 *   PENDING_CONFIRMATION --pending_charge_approve (second factor, before
 *        expires_ms; the money moves)--> SUCCEEDED
 *   PENDING_CONFIRMATION --pending_charge_decline, or an approval the
 *        money then refuses (balance, limits, freeze, switch, the risk
 *        engine judging it again)--> DECLINED
 *   PENDING_CONFIRMATION --now >= expires_ms, seen by any read--> EXPIRED
 *
 * Invariants:
 *  1. Nothing moves until SUCCEEDED, and SUCCEEDED is written in the
 *     transaction of the payment's transfer (payment_internal.h step 5b:
 *     "AND status = 'pending_confirmation' AND expires_ms > now" is the
 *     guard), so approvals racing each other, a decline or the expiry pay
 *     at most once, and never after expires_ms.
 *  2. The code the register presented is spent when the charge starts to
 *     wait (with the POS nonce, the row, the challenge's decision and
 *     audit entry and the customer's mail, in one transaction): it cannot
 *     pay twice.
 *  3. The row's key is the charge's ledger key ("cpm:trm_…:<key>"): a
 *     retry of the register's request finds the waiting charge, and after
 *     approval the payment itself (the same 201 receipt).
 *  4. Expiry needs no timer: whoever reads a waiting row at or after
 *     expires_ms moves it to EXPIRED (once, with its audit entry), and no
 *     approval is taken after expires_ms even before anyone has read it.
 *  5. Audit entries, customer the payer: risk_challenged (the decision,
 *     risk_gate.h) and pending_charge_created at the start (actor the
 *     terminal "trm_…"); pending_charge_approved / _declined (actor the
 *     customer), pending_charge_expired (actor "system").  The risk engine
 *     observes the outcome (done, or failed).
 *
 * Knows nothing of HTTP.  Runs on the caller's thread and connection
 * (w->a.st, no transaction open); approve waits for the group commit.
 */
#ifndef KESSAI_WALLET_PENDING_CHARGE_H
#define KESSAI_WALLET_PENDING_CHARGE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/session.h"
#include "merchant/types.h"
#include "wallet/payment.h"
#include "wallet/pending_types.h"
#include "wallet/wallet_ctx.h"

#define PENDING_CHARGE_LIST_MAX 20

struct killswitch;

/* GET /pos/v1/charges/pch_…: only the terminal's merchant (else
 * ERR_PAYMENT_NOT_FOUND, logged, as for payments) and only while its store
 * is active (ERR_STORE_NOT_FOUND); an expired one is settled. */
enum err pending_charge_get_for_terminal(const struct wallet_ctx *w, const struct merchant_terminal *term,
                                         int64_t id, struct pending_op *out);

/* GET /v1/pending-charges: the customer's own, newest first, up to max
 * (<= PENDING_CHARGE_LIST_MAX); expired ones settled. */
enum err pending_charge_list(const struct wallet_ctx *w, const struct auth_session *cur, struct pending_op *out,
                             size_t max, size_t *n);

/* POST /v1/pending-charges/{id}/approve {totp_code}: the second factor is
 * checked as POST /v1/mfa/verify checks it (mfa_verify: a wrong or reused
 * code is ERR_INVALID_CODE, recorded, and the fifth in a row revokes the
 * session), then the payment is made as a charge is (freeze, switches,
 * limits and balance checked again now, and the risk engine: its windows
 * may have changed while the charge waited, e.g. money arrived for a mule
 * to pass on; the second factor answers a challenge).  ERR_OK: *out SUCCEEDED and *r the
 * receipt.  ERR_PAYMENT_NOT_FOUND (not the customer's), ERR_CONFLICT
 * ("status": decided or expired already; *out as it is), ERR_INVALID_CODE
 * ("totp_code"); a refusal of the money (ERR_INSUFFICIENT_FUNDS "amount",
 * ERR_LIMIT_EXCEEDED, ERR_ACCOUNT_FROZEN, ERR_SUSPENDED with *sw,
 * ERR_STORE_NOT_FOUND, ERR_RISK_HELD / ERR_RISK_DENIED with the decision
 * and its audit entry written) also declines the charge: the register learns it
 * failed. */
enum err pending_charge_approve(const struct wallet_ctx *w, const struct auth_session *cur, int64_t id,
                                const char *totp_code, struct pending_op *out, struct payment_receipt *r,
                                const char **bad, struct killswitch *sw);

/* POST /v1/pending-charges/{id}/decline: nothing moves.
 * ERR_PAYMENT_NOT_FOUND, ERR_CONFLICT ("status"). */
enum err pending_charge_decline(const struct wallet_ctx *w, const struct auth_session *cur, int64_t id,
                                struct pending_op *out, const char **bad);

/* {"id":"pch_…","kind":"cpm","amount":N,"status":…,"store":{"id","name"},
 *  "created_at":…,"expires_at":…,"items":[…],"payment":"pay_…"|null,
 *  "decline_reason":…|null}; store_name may be "" (not known: omitted). */
json_t *pending_charge_json(const struct pending_op *p, const char *store_name);

#endif
