/* risk_gate.h: how the money flows ask the risk engine (risk/risk.h) and act
 * on its answer (docs/risk.md, "Wired into the flows").  Internal to
 * src/wallet and the tests.
 *
 *   risk_gate_customer / _store / _items   fill the event from what the flow knows
 *   risk_gate_check                        evaluate and act: go, or the refusal
 *   ... the flow moves the money (or a card is declined) ...
 *   risk_gate_observe                      the windows learn the outcome
 *
 * The verdict, acted on by risk_gate_check:
 *   allow      ERR_OK;
 *   challenge  customer-initiated flows (can_challenge): ERR_OK when the
 *              session's second factor is fresh, else ERR_FRESH_MFA_REQUIRED;
 *              register-initiated flows: ERR_OK, and the flow decides — a POS
 *              charge then waits for the customer's answer in the app
 *              (payment_charge sees g->d.verdict == RISK_CHALLENGE and hands
 *              the order to pending_charge.h, which writes the decision with
 *              the waiting charge); cash top-ups and refunds go on with the
 *              decision recorded;
 *   hold       ERR_RISK_HELD; store-QR payments and transfers then keep the
 *              operation for staff review (review.h, review_hold), every
 *              other flow refuses;
 *   deny       ERR_RISK_DENIED.
 * Every verdict but allow is stored (risk_record) with an audit entry
 * ("risk_challenged", "risk_held", "risk_denied"; actor the customer), in
 * one transaction of its own on w->a.st (none may be open), so that a
 * refusal is on file although nothing of the operation commits (payments
 * that go on: with the payment, risk_gate_check_payment).  Allows
 * are not stored: the engine's author measured ~9 µs of writer time per
 * row, and the payments themselves are the record of what was allowed.
 * A refused operation is observed as RISK_FAILED at once (the attempt
 * counts towards "accounts per device").
 *
 * The evaluation is an admission (risk_admit): the operation counts in the
 * engine's count and amount windows from that moment, so that requests
 * scored together see each other.  Whoever holds the gate afterwards must
 * observe it (any outcome but RISK_DONE takes the counts out) or release
 * it (risk_gate_release: it did not happen now, or will be observed from
 * another gate); a gate forgotten stays counted until its windows pass it.
 *
 * w->risk NULL: no scoring at all (every call is a no-op returning ERR_OK),
 * which is what the unit-test fixtures of the flows get.
 *
 * The gate owns copies of the strings its event points to, so it may be
 * copied (into a payment order that outlives the request) and observed
 * later from another thread: the pointers are set again on every call.
 */
#ifndef KESSAI_WALLET_RISK_GATE_H
#define KESSAI_WALLET_RISK_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/customer_types.h"
#include "merchant/types.h"
#include "risk/risk.h"
#include "wallet/wallet_ctx.h"

#define RISK_GATE_ITEMS_MAX 16

struct risk_gate {
    bool on; /* an engine was there when the gate was filled */
    struct risk_event ev;
    char client_addr[CLIENT_ADDR_MAX + 1];
    char category[MERCHANT_CATEGORY_MAX + 1];
    char items[RISK_GATE_ITEMS_MAX][MERCHANT_CATEGORY_MAX + 1];
    const char *item_ptrs[RISK_GATE_ITEMS_MAX];
    struct risk_decision d; /* risk_gate_check's */
    bool pending;           /* risk_gate_check_payment: d is to be written with the payment */
};

/* Start an event of kind about customer_id (0: none) on device_id (0:
 * none) at w->a.now from w->a.client_addr: the device key (the device's
 * public key), and the flags RISK_F_DEVICE_NEW (the device's cool-down),
 * RISK_F_PASSWORD_RESET (the customer's post-reset cool-down) and
 * RISK_F_ACCOUNT_NEW (risk_account_is_new).  Two reads; none without an
 * engine.  ERR_STORE on a failed read (a customer or device gone is no
 * error: nothing is known of it). */
enum err risk_gate_customer(const struct wallet_ctx *w, struct risk_gate *g, enum risk_kind kind,
                            int64_t customer_id, int64_t device_id);

/* The recipient of a transfer: counterparty_id, RISK_F_PAYEE_NEW (its
 * account is new) and, for a new one, RISK_F_PAYEE_FIRST (the sender
 * never sent it as much as risk_new_payee_amount in one transfer: one
 * indexed read).  A no-op without an engine.
 * ERR_STORE on a failed read. */
enum err risk_gate_payee(const struct wallet_ctx *w, struct risk_gate *g, int64_t payee_id, int64_t payee_created_ms);

/* The store of a payment, refund or cash top-up: id, category, place. */
void risk_gate_store(struct risk_gate *g, const struct merchant_store *s);

/* The categories of a register's items ("[{…,"category":"e_cigarette"},…]";
 * "" none): up to RISK_GATE_ITEMS_MAX, others ignored.  Never fails: items
 * the register sent malformed were refused before. */
void risk_gate_items(struct risk_gate *g, const char *items_json);

/* Evaluate and act, as above.  fresh: the session's second factor is
 * fresh (customer flows; ignored when !can_challenge).  ref names the
 * operation in the stored decision (an idempotency key, "crd_…", …).
 * Returns ERR_OK (go on), ERR_FRESH_MFA_REQUIRED, ERR_RISK_HELD,
 * ERR_RISK_DENIED, or the store's error when a non-allow decision could
 * not be recorded (then nothing moves either). */
enum err risk_gate_check(const struct wallet_ctx *w, struct risk_gate *g, bool can_challenge, bool fresh,
                         const char *ref);

/* The same for a payment, transfer or refund (payment_core.c): a decision
 * other than allow that lets it go on (a challenge answered, or at the
 * register) is not written now but left for the payment's own transaction
 * (g->pending: the hook writes it with the transfer, in the writer's group
 * commit), so that no second writer contends for the database and the row
 * exists exactly when the payment does.  Refusals are written at once, as
 * by risk_gate_check. */
enum err risk_gate_check_payment(const struct wallet_ctx *w, struct risk_gate *g, bool can_challenge, bool fresh,
                                 const char *ref);

/* The two halves of risk_gate_check, for a flow that decides inside a
 * transaction of its own (top-ups: the decision commits with the top-up
 * row, or with the refusal's event).  decide: evaluate and map the verdict
 * as above (g->d holds the decision); record: when the verdict is not
 * allow, the decision row and its audit entry in the caller's open
 * transaction on st at now (ERR_OK and nothing written for an allow). */
enum err risk_gate_decide(const struct wallet_ctx *w, struct risk_gate *g, bool can_challenge, bool fresh);
enum err risk_gate_record(struct store *st, int64_t now, struct risk_gate *g, const char *ref);

/* An admitted gate's counts taken out of the windows, nothing observed
 * (risk_release); a no-op without an engine or admission. */
void risk_gate_release(struct risk *r, struct risk_gate *g);

/* Feed the outcome to the engine (risk_observe); a no-op without one.  Safe
 * on any thread; a few µs, so it may run in the ledger writer's completer.
 * r: the engine (w->risk, or what an order carried). */
void risk_gate_observe(struct risk *r, struct risk_gate *g, enum risk_outcome outcome);

#endif
