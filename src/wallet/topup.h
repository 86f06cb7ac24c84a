/* topup.h: putting money into a wallet, from a linked card or with cash at
 * a store's register.
 *
 * Money: a card top-up moves amount from the system account
 * "card_receivable" to the customer's wallet account (owner "usr_…", kind
 * "wallet", never negative), a cash top-up from the store's "cash" account
 * (owner "str_…"), each as one ledger transfer with the key "topup:tpu_…",
 * through the group-commit writer (durable before any "ok").
 *
 * Exactly once.  The top-up row is written (CREATED) before the gateway is
 * called, the gateway authorizes with the idempotency key "tpu_…", and the
 * ledger transfer is keyed by the top-up too.  So every step can be run
 * again and lands once: a client retry with the same Idempotency-Key, or
 * topup_reconcile at start-up after a crash between any two steps, drives
 * the same row forward (topup_resume) and never credits twice.  State
 * machine in wallet_types.h.
 *
 * Idempotency-Key: scope "usr_…" for a customer's card top-ups, "trm_…" for
 * a terminal's cash top-ups.  The same key with the same request (amount,
 * card or code) returns that top-up as it stands now (*replayed set); with a
 * different request ERR_IDEMPOTENCY_CONFLICT.
 *
 * Checks before a new top-up, in one write transaction with the insert (so
 * concurrent requests cannot together pass a limit):
 *   1. kill switches "topups" (and "card_topups" for cards): ERR_SUSPENDED,
 *      *switch_out gets the reason.  They are checked again before a card
 *      is charged: a card top-up not yet authorized (CREATED: a retry with
 *      its key, the reconciler; REQUIRES_ACTION: its 3-D Secure code) while
 *      a switch is on ends FAILED (decline_code "service_suspended") and
 *      the caller gets ERR_SUSPENDED with the reason.  AUTHORIZED top-ups
 *      (the card is charged) and cash top-ups (the clerk holds the cash)
 *      always finish;
 *   2. amount 1..topup_max (ERR_AMOUNT_INVALID / ERR_LIMIT_EXCEEDED "amount");
 *   3. card: the customer's and ACTIVE (ERR_CARD_NOT_FOUND / ERR_CARD_NOT_ACTIVE);
 *      the account is not frozen (ERR_ACCOUNT_FROZEN, ops/freeze.h; cash too);
 *   4. wallet balance + unsettled top-ups + amount <= topup_balance_cap,
 *      24 h total <= topup_daily_max, 30-day total <= topup_monthly_max,
 *      and while the device is new or the account cools down after a
 *      reset, 24 h total <= topup_new_device_daily_max; a card linked less
 *      than card_new_s ago: its 24 h total <= topup_new_card_daily_max —
 *      each ERR_LIMIT_EXCEEDED with *bad naming the limit ("balance_cap",
 *      "daily", "monthly", "new_device", "new_card", "amount");
 *   5. card top-ups: amount > topup_mfa_threshold, or any amount from a new
 *      device or during the reset cool-down, needs a second factor in the
 *      last 300 s (ERR_FRESH_MFA_REQUIRED).
 * A decline is stored (FAILED, decline_code) and returned as the gateway's
 * error.  Every top-up that succeeds is mailed to the customer at once (in
 * the transaction that credits it and marks it SUCCEEDED).
 *
 * Card top-ups and codes re-read the session before they move anything
 * (ERR_UNAUTHENTICATED once it was revoked, e.g. "sign out everywhere"
 * while the request waited for a worker).  Once a top-up is AUTHORIZED the
 * answer is ERR_OK even if the credit fails for now: out->t.status is then
 * AUTHORIZED, out->balance the balance before, and a retry with the key or
 * the reconciler finishes it.
 */
#ifndef KESSAI_WALLET_TOPUP_H
#define KESSAI_WALLET_TOPUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/session.h"
#include "merchant/types.h"
#include "wallet/wallet_ctx.h"

#define TOPUP_CODE_TTL_MS (5 * 60 * 1000)
#define TOPUP_LIST_MAX 50
/* A CREATED top-up the processor has not answered for this long after it
 * was created (it keeps failing, e.g. test card 4000000000000119) is
 * failed by topup_reconcile (decline_code "gateway_error"), so that it
 * stops holding room under the balance cap. */
#define TOPUP_CREATED_MAX_MS (24 * 3600 * INT64_C(1000))

struct topup_result {
    struct topup t;
    bool replayed;   /* an earlier request with this key */
    int64_t balance; /* wallet balance after (SUCCEEDED), else the current balance */
};

/* POST /v1/topups.  SLOW.  ERR_OK with out->t.status SUCCEEDED, or
 * REQUIRES_ACTION (the issuer wants 3-D Secure: its code was mailed; finish
 * with topup_confirm), or AUTHORIZED (charged, credit pending: see above),
 * or an error as listed above. */
enum err topup_card(const struct wallet_ctx *w, const struct auth_session *cur, int64_t card_id, int64_t amount,
                    const char *idem_key, struct topup_result *out, const char **bad, struct killswitch *switch_out);
/* POST /v1/topups/{id}/3ds.  SLOW.  ERR_OK (SUCCEEDED, or AUTHORIZED as
 * above), ERR_INVALID_CODE (tries left), ERR_AUTHENTICATION_FAILED (top-up
 * FAILED), ERR_SUSPENDED (a switch is on: top-up FAILED, the code not
 * checked, *switch_out the switch), ERR_TOPUP_NOT_FOUND unless the
 * customer's and REQUIRES_ACTION. */
enum err topup_confirm(const struct wallet_ctx *w, const struct auth_session *cur, int64_t topup_id,
                       const char *code, struct topup_result *out, struct killswitch *switch_out);

/* POST /v1/topup-codes: a one-time 18-digit code (TOPUP_CODE_DIGITS, Luhn
 * check digit) valid TOPUP_CODE_TTL_MS, bound to the customer and the
 * session's device, stored as a keyed hash.  Needs FULL.  Fast. */
enum err topup_code_new(const struct wallet_ctx *w, const struct auth_session *cur,
                        char code[TOPUP_CODE_DIGITS + 1], int64_t *expires_ms);
/* POST /pos/v1/cash-topups by an authenticated terminal.  SLOW (ledger).
 * code: TOPUP_CODE_DIGITS digits; spaces in it (a clerk types it in
 * groups) are ignored.  The terminal's store must be active, else
 * ERR_STORE_NOT_FOUND (nothing consumed).  The code is consumed in the
 * transaction that creates the top-up: unknown, used or expired
 * ERR_INVALID_CODE (param "code"), counted against the terminal as a
 * payment code's would be; a terminal blocked for guessing codes gets
 * ERR_RATE_LIMITED (wallet/payment.h), nothing consumed, but a retry under
 * a key that already topped up still gets its receipt.  Same limits (but no second factor: the
 * customer is at the register with the phone).  Once the code is consumed
 * the answer is ERR_OK: out->t.status SUCCEEDED, or AUTHORIZED when the
 * credit failed for now (a retry with the key or the reconciler finishes
 * it; *out->balance is then the balance before). */
enum err topup_cash(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *code,
                    int64_t amount, const char *idem_key, struct topup_result *out, const char **bad,
                    struct killswitch *switch_out);

/* The API's name of a status (enum topup_status): "created",
 * "requires_action", "authorized", "succeeded", "failed". */
const char *topup_status_name(int status);

/* GET /v1/topups/{id} and GET /v1/topups (newest first, before before_id). */
enum err topup_get(const struct wallet_ctx *w, const struct auth_session *cur, int64_t topup_id,
                   struct topup_result *out);
enum err topup_list(const struct wallet_ctx *w, const struct auth_session *cur, int64_t before_id,
                    struct topup *out, size_t max, size_t *n);

/* GET /v1/wallet: balance and what may still be topped up today. */
struct wallet_summary {
    int64_t balance;
    int64_t topup_remaining_today; /* min over the limits that apply now */
    int64_t balance_cap;
};
enum err wallet_summary(const struct wallet_ctx *w, const struct auth_session *cur, struct wallet_summary *out);

/* The customer's wallet account id, created on first use (own transaction;
 * call with none open). */
enum err wallet_account(struct store *st, int64_t customer_id, int64_t *account_id);

/* SLOW.  Drive every unfinished top-up last updated before older_than_ms
 * forward (kessaid runs it at start-up and then every minute): CREATED is
 * authorized again with its key (unless a switch is on: FAILED, see check
 * 1; or the processor still fails and it was created TOPUP_CREATED_MAX_MS
 * ago or more: FAILED "gateway_error"), AUTHORIZED credited, SUCCEEDED
 * captured.  *finished (may be NULL) counts the rows moved on. */
enum err topup_reconcile(const struct wallet_ctx *w, int64_t older_than_ms, size_t *finished);

#endif
