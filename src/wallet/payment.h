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
 *
 * Decided beyond the first draft of this contract (docs/payments.md):
 *  - A payment or refund that is not the caller's to see is
 *    ERR_PAYMENT_NOT_FOUND (404 payment_not_found), the same as an unknown
 *    id.  A terminal of a store that is not active: ERR_STORE_NOT_FOUND (as
 *    cash top-ups).  A terminal blocked for guessing codes: ERR_RATE_LIMITED
 *    (payment_terminal_throttle below).
 *  - A charge whose code no longer resolves, or that a switch, a closed
 *    store, a guessing block, a freeze, a limit or the balance refuses
 *    before submitting, is first looked up by its transfer key: if the key
 *    already paid with the same amount and items, the stored receipt is
 *    answered (replayed).  A register that lost the answer never has to
 *    charge again — also with an offline code, which still resolves after
 *    it paid, from a wallet the first charge left short.
 *  - The ledger key is the "kind:scope:key" above while it fits in
 *    LEDGER_KEY_MAX; a longer one ends in "~" + a hash of the key
 *    (payment_transfer_key), never cut short.
 *  - Refunds and voids give their amount back to the spending counters of
 *    the day and month of the original payment.
 *  - struct payment_receipt carries the refund's or void's own id, amount
 *    and time (refund_*), for the register's answer.
 */
#ifndef KESSAI_WALLET_PAYMENT_H
#define KESSAI_WALLET_PAYMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/customer_types.h"
#include "ledger/types.h"
#include "merchant/types.h"
#include "wallet/paycode.h"
#include "wallet/pending_types.h"
#include "wallet/wallet_ctx.h"

#define PAYMENT_FEED_MAX 100

#define PAYMENT_REFUND_ID_PREFIX "rfd" /* a refund's or void's id is its reversal transfer's id */

struct payment_receipt {
    struct payment p;
    int64_t balance_after; /* the payer's wallet right after it (a replay: the same; for a payment
                              made before migration 21, the wallet now) */
    bool replayed;
    char store_name[MERCHANT_NAME_MAX + 1];
    /* Refunds and voids: the reversal itself (p is the payment after it). */
    int64_t refund_id;
    int64_t refund_amount;
    int64_t refund_created_ms;
    /* A store-QR payment or transfer the risk engine held (ERR_RISK_HELD):
     * the review it waits in (review.h, "rvw_…"); 0 when refused outright. */
    int64_t held_id;
};

typedef void (*payment_done_fn)(void *ctx, enum err e, const char *bad, const struct payment_receipt *r);

/* One bad code a terminal presented (a payment code, or a cash top-up
 * code: wallet/topup.h), to count toward the guessing block below: its
 * keyed hash, not the code. */
struct payment_guess {
    bool set;
    char key_id[TERMINAL_KEY_ID_MAX + 1];
    int64_t store_id;
    uint8_t hash[AUTH_HASH_BYTES];
    char client_addr[CLIENT_ADDR_MAX + 1];
    bool flagged; /* set by payment_guess_record: this one crossed the line */
    int distinct; /* set by payment_guess_record: the distinct bad codes in the window */
};

/* A register's charge: POST /pos/v1/charges {code, amount, items}.  term is
 * the verified terminal; nonce the POS request's nonce (recorded in the
 * payment's transaction, so a replayed request cannot pay twice even when
 * the signature check raced it).  Resolves the code (paycode_resolve) and
 * checks as above, then submits: ERR_OK means done() will be called;
 * anything else is the answer now (done() is not called).  items_json is
 * the validated compact items array ("" if none).
 * A charge the risk engine challenges waits for the customer instead
 * (pending_charge.h): ERR_OK with pending->id != 0 means it waits (or a
 * retry of one that waits or waited: *pending as it is now), the code is
 * spent, nothing moved, and done() is not called.  pending->id 0 with
 * ERR_OK: done() will be called.
 * A code that does not resolve is ERR_INVALID_CODE.  With w->guesses
 * (kessaid) it comes back in *guess (guess->set) for the caller to count
 * (payment_guess_record) in the transaction that spends the request's
 * nonce, holding it in w->guesses until then (guess_pending.h: the block
 * check adds those); without, it is counted at once, in a transaction of
 * its own.  guess->set is false otherwise. */
enum err payment_charge(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *nonce,
                        const char *code, int64_t amount, const char *items_json, const char *idem_key,
                        payment_done_fn done, void *ctx, const char **bad, struct killswitch *sw,
                        struct pending_op *pending, struct payment_guess *guess);

/* POST /pos/v1/charges/{id}/refunds {amount} and POST /pos/v1/charges/{id}/void:
 * only a terminal of the payment's merchant (else ERR_PAYMENT_NOT_FOUND: it is not
 * theirs to see); a refund is 1..what remains (ERR_REVERSAL_EXCEEDS_ORIGINAL);
 * a void reverses all that remains and only within void_window_s of the
 * charge (ERR_CONFLICT "void_window").  Async like payment_charge. */
enum err payment_refund(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *nonce,
                        int64_t payment_id, int64_t amount, bool is_void, const char *idem_key, payment_done_fn done,
                        void *ctx, const char **bad);

/* Code guessing at the register: PAYMENT_GUESS_CODES distinct bad codes
 * from one terminal within PAYMENT_GUESS_WINDOW_MS block its charges and
 * cash top-ups for PAYMENT_GUESS_BLOCK_MS (ERR_RATE_LIMITED), with a warn
 * log line "terminal_flagged" and a security event.  This tells whether
 * the terminal is blocked now, or the distinct bad codes counted and the
 * bad codes still in flight to be counted (w->guesses) reach the block:
 * ERR_OK, or ERR_RATE_LIMITED and *retry_after_s (>= 1; may be NULL).
 * With codes in flight it ends the request's snapshot to read the counts
 * as they are now. */
#define PAYMENT_GUESS_CODES 10
#define PAYMENT_GUESS_WINDOW_MS (10 * 60 * 1000)
#define PAYMENT_GUESS_BLOCK_MS (15 * 60 * 1000)
enum err payment_terminal_throttle(const struct wallet_ctx *w, const struct merchant_terminal *term,
                                   int64_t *retry_after_s);
/* g for code presented by term, at w's client address. */
void payment_guess_of(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *code,
                      struct payment_guess *g);
/* Count g in the caller's transaction: crossing the line blocks the
 * terminal and records a security event (g->flagged).  The store's error. */
enum err payment_guess_record(struct store *st, struct payment_guess *g, int64_t now);
/* Once that transaction committed: the warn line "terminal_flagged" if g
 * crossed the line. */
void payment_guess_log(const struct payment_guess *g);
/* Count code, presented by term, in a transaction of its own
 * (payment_guess_of, payment_guess_record, payment_guess_log).  Errors are
 * logged, not returned: the register's answer does not change. */
void payment_terminal_guessed(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *code);

/* A terminal refused a payment (prefix "pay") or waiting charge ("pch")
 * that is not its merchant's, or no such id: a warn log line
 * pos_payment_not_found naming the terminal, action ("read", "refund",
 * "void") and the id; exists: it is another merchant's (or a transfer). */
void payment_not_theirs_log(const struct merchant_terminal *term, const char *action, const char *prefix, int64_t id,
                            bool exists);

/* GET /pos/v1/charges/{id}: only the payment's merchant (ERR_PAYMENT_NOT_FOUND). */
enum err payment_get_for_terminal(const struct wallet_ctx *w, const struct merchant_terminal *term, int64_t id,
                                  struct payment *out);
/* GET /pos/v1/payments?since=pay_…: the terminal's store's payments after
 * since_id, oldest first; ERR_STORE_NOT_FOUND once the store is closed. */
enum err payment_feed(const struct wallet_ctx *w, const struct merchant_terminal *term, int64_t since_id,
                      struct payment *out, size_t max, size_t *n);

/* Give amount of p back to the spending counters p was counted in (limits
 * of its day and month): what came back to the payer, by a refund, a void
 * or a fraud reversal (ops/reversal.h), may be spent again.  Inside the
 * caller's write transaction; a counter never goes below zero. */
enum err payment_limits_give_back(struct store *st, const struct payment *p, int64_t amount);

/* The ledger key of a payment, refund or void: "<kind>:<scope>:<idem_key>"
 * (kind "cpm", "mpm", "p2p", "refund", "void"; scope "trm_…" or "usr_…";
 * a staff member's fraud reversal, ops/reversal.h: "reversal", "stf_…"),
 * so the Idempotency-Key of one terminal, customer or staff member never
 * meets another's.  When that is longer than LEDGER_KEY_MAX (a 64-character
 * Idempotency-Key), the key's part is "~" + base64url(BLAKE2b-192(key))
 * instead: never truncated, so two long keys with a common beginning stay
 * two payments. */
void payment_transfer_key(char out[LEDGER_KEY_MAX + 1], const char *kind, const char *scope, const char *idem_key);

/* The generic core the flows above and MPM (mpm.h) and P2P (p2p.h) share:
 * everything decided, submit the transfer with its hook.  Internal to
 * src/wallet; see payment_internal.h. */

#endif
