/* payment.h: money leaving a wallet — charges at the register (CPM), store-QR
 * payments (MPM), transfers to another customer (P2P) — and refunds and
 * voids.
 *
 * Money: one ledger transfer per payment, wallet -> the store's
 * "merchant_payable" account (CPM, MPM) or -> the recipient's wallet (P2P);
 * a refund or void is a REVERSAL transfer referencing it, so the ledger
 * itself bounds refunds by what remains of the original.  The payment's id
 * is its transfer's id ("pay_…").  Transfer metadata carries what the
 * customer's history shows: {"store":"str_…","store_name":"…"} or
 * {"from":"usr_…","to":"usr_…"}.
 *
 * Exactly once, and fast: everything a payment writes commits in the ledger
 * writer's group commit, in the same transaction as its transfer (writer.h,
 * ledger_writer_submit_hooked): the POS nonce, the consumption of the code
 * (paycode_consume), the spending counters (limits), the payments row and
 * the customer's notice in the outbox.  If any of them refuses, nothing of
 * the payment happened.  Idempotency: the transfer key is
 *   "cpm:trm_…:<Idempotency-Key>", "mpm:usr_…:<key>", "p2p:usr_…:<key>",
 *   "refund:trm_…:<key>", "void:trm_…:<key>"
 * so a retry returns the first receipt (replayed) and a different request
 * under the same key is ERR_IDEMPOTENCY_CONFLICT.
 *
 * Checks before submitting (reads; cheap): the customer is not frozen
 * (ERR_ACCOUNT_FROZEN), the kill switch "payments" (or "p2p") is off
 * globally, for the merchant and for the store (ERR_SUSPENDED with the
 * reason), the store is active, amount 1..pay_max (offline_pay_max,
 * p2p_max) else ERR_LIMIT_EXCEEDED "amount".  In the transaction: calendar
 * day and month totals (JST) against pay_daily_max / pay_monthly_max,
 * pay_new_device_daily_max while the device or account cools down,
 * offline_daily_max, p2p_daily_max (ERR_LIMIT_EXCEEDED naming the limit);
 * the wallet never goes negative (ERR_INSUFFICIENT_FUNDS).  Every payment,
 * refund and void is mailed to the customer (P2P: to both) at once.
 *
 * Callbacks: the async calls answer through done() on the ledger writer's
 * completer thread (short; may complete an HTTP request).
 */
#ifndef KESSAI_WALLET_PAYMENT_H
#define KESSAI_WALLET_PAYMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merchant/types.h"
#include "wallet/paycode.h"
#include "wallet/wallet_ctx.h"

#define PAYMENT_FEED_MAX 100

struct payment_receipt {
    struct payment p;
    int64_t balance_after; /* the payer's wallet after it (a replay: now) */
    bool replayed;
    char store_name[MERCHANT_NAME_MAX + 1];
};

typedef void (*payment_done_fn)(void *ctx, enum err e, const char *bad, const struct payment_receipt *r);

/* A register's charge: POST /pos/v1/charges {code, amount, items}.  term is
 * the verified terminal; nonce the POS request's nonce (recorded in the
 * payment's transaction, so a replayed request cannot pay twice even when
 * the signature check raced it).  Resolves the code (paycode_resolve) and
 * checks as above, then submits: ERR_OK means done() will be called;
 * anything else is the answer now (done() is not called).  items_json is
 * the validated compact items array ("" if none). */
enum err payment_charge(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *nonce,
                        const char *code, int64_t amount, const char *items_json, const char *idem_key,
                        payment_done_fn done, void *ctx, const char **bad, struct killswitch *sw);

/* POST /pos/v1/charges/{id}/refunds {amount} and POST /pos/v1/charges/{id}/void:
 * only a terminal of the payment's merchant (else ERR_NOT_FOUND: it is not
 * theirs to see); a refund is 1..what remains (ERR_REVERSAL_EXCEEDS_ORIGINAL);
 * a void reverses all that remains and only within void_window_s of the
 * charge (ERR_CONFLICT "void_window").  Async like payment_charge. */
enum err payment_refund(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *nonce,
                        int64_t payment_id, int64_t amount, bool is_void, const char *idem_key, payment_done_fn done,
                        void *ctx, const char **bad);

/* GET /pos/v1/charges/{id}: only the payment's merchant (ERR_NOT_FOUND). */
enum err payment_get_for_terminal(const struct wallet_ctx *w, const struct merchant_terminal *term, int64_t id,
                                  struct payment *out);
/* GET /pos/v1/payments?since=pay_…: the terminal's store's payments after since_id, oldest first. */
enum err payment_feed(const struct wallet_ctx *w, const struct merchant_terminal *term, int64_t since_id,
                      struct payment *out, size_t max, size_t *n);

/* The generic core the flows above and MPM (mpm.h) and P2P (p2p.h) share:
 * everything decided, submit the transfer with its hook.  Internal to
 * src/wallet; see payment_internal.h. */

#endif
