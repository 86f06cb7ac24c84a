/* topup_internal.h: what the top-up files share (topup.c, topup_steps.c,
 * topup_limits.c, topup_code.c, topup_reconcile.c, wallet_account.c), and
 * the step functions the tests drive one by one to put a top-up in any
 * state of its machine (wallet_types.h) before a reconciliation.
 * Not for use outside src/wallet/ and tests. */
#ifndef KESSAI_WALLET_TOPUP_INTERNAL_H
#define KESSAI_WALLET_TOPUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/session.h"
#include "ledger/ledger.h"
#include "util/ids.h"
#include "wallet/topup.h"

/* Ledger kinds and the accounts money comes from. */
#define TOPUP_WALLET_KIND LEDGER_KIND_WALLET /* never negative: ledger_kind_flags */
#define TOPUP_CASH_ACCOUNT_KIND "cash"
#define TOPUP_XFER_CARD "topup_card"
#define TOPUP_XFER_CASH "topup_cash"

/* Crash points (wallet_ctx.h), in the order a card top-up passes them. */
#define TOPUP_CRASH_CREATED "topup_created"       /* row CREATED, gateway not asked */
#define TOPUP_CRASH_AUTHORIZED "topup_authorized" /* row AUTHORIZED, nothing credited */
#define TOPUP_CRASH_CREDITED "topup_credited"     /* credit and row SUCCEEDED committed, not captured */

/* "tpu_…": the gateway's idempotency key for the top-up. */
char *topup_public_id(char buf[IDS_BUF], int64_t id);
/* "topup:tpu_…": the ledger transfer's key. */
void topup_transfer_key(char *buf, size_t n, int64_t id);

/* A store's cash account (owner "str_…", kind "cash"), created on first
 * use in its own transaction (call with none open). */
enum err topup_store_cash_account(struct store *st, int64_t store_id, int64_t *account_id);

/* Call w->crash_point(point) when set. */
void topup_crash(const struct wallet_ctx *w, const char *point);
/* A warning log line {topup: "tpu_…", error: err symbol} named event. */
void topup_log(const char *event, const struct topup *t, enum err e);

/* Check 1 of topup.h: the kill switches that stop a top-up of this source
 * (enum topup_source): "topups", and "card_topups" for cards.  ERR_OK, or
 * ERR_SUSPENDED with the switch in *out (may be NULL).  Checked when a
 * top-up is admitted, and again before a card is charged (authorize, a
 * 3-D Secure code): see topup_step_authorize. */
enum err topup_switches(const struct wallet_ctx *w, int source, struct killswitch *out);

/* ---- limits (topup_limits.c), inside the caller's write transaction ---- */

/* Who a new top-up is for and how it asks. */
struct topup_ask {
    int64_t customer_id;
    int64_t device_id;
    int64_t amount;
    const struct card *card;   /* card top-ups, else NULL */
    bool device_new;           /* the device (or, after a reset, the account) cools down */
};
/* Check 4 of topup.h: ERR_OK, or ERR_LIMIT_EXCEEDED with *bad naming the
 * limit, or ERR_STORE. */
enum err topup_check_limits(const struct wallet_ctx *w, const struct topup_ask *ask, const char **bad);
/* What may still be topped up now (>= 0), over the account-wide limits. */
enum err topup_remaining(const struct wallet_ctx *w, int64_t customer_id, bool device_new, int64_t *balance,
                         int64_t *remaining);
/* The wallet's balance, 0 while it has no account yet (read only). */
enum err topup_wallet_balance(struct store *st, int64_t customer_id, int64_t *balance);

/* ---- steps (topup_steps.c): each runs its own transactions --------------- */

/* CREATED -> AUTHORIZED (gateway yes), REQUIRES_ACTION (3-D Secure: code
 * mailed), or FAILED (decline: returned as the gateway's error; a card
 * no longer ACTIVE: ERR_CARD_NOT_FOUND; a kill switch on: ERR_SUSPENDED,
 * the switch in *switch_out (may be NULL) — in both the gateway is not
 * asked).  ERR_GATEWAY leaves the row CREATED for a retry.  Other states:
 * no-op. */
enum err topup_step_authorize(const struct wallet_ctx *w, struct topup *t, struct killswitch *switch_out);
/* AUTHORIZED -> SUCCEEDED: the ledger transfer (idempotent by its key)
 * with a hook that, in the same transaction, marks the row SUCCEEDED
 * (transfer_id) and queues the customer's mail, if the row is still
 * AUTHORIZED (a replayed transfer too: a credit whose row a crash left
 * AUTHORIZED).  So the row is SUCCEEDED exactly when the money is in.
 * Other states: no-op.  *balance (may be NULL) receives the wallet balance
 * after. */
enum err topup_step_credit(const struct wallet_ctx *w, struct topup *t, int64_t *balance);
/* SUCCEEDED card top-up not yet captured: capture at the gateway, mark it.
 * Other states: no-op. */
enum err topup_step_capture(const struct wallet_ctx *w, struct topup *t);
/* Run the steps from wherever t stands to where it can get without the
 * customer (SUCCEEDED and captured, REQUIRES_ACTION, or FAILED); t is
 * updated.  A capture failure is not an error (the wallet is credited;
 * reconciliation captures later).  switch_out as for topup_step_authorize. */
enum err topup_drive(const struct wallet_ctx *w, struct topup *t, int64_t *balance, struct killswitch *switch_out);
/* Mark t FAILED with reason e (its err_symbol), if it is still in state
 * `from`.  Own transaction. */
enum err topup_fail(const struct wallet_ctx *w, struct topup *t, int from, enum err e);

/* The error a FAILED top-up's decline_code names (ERR_CARD_DECLINED if unknown). */
enum err topup_decline_err(const struct topup *t);

/* ---- codes (topup_code.c) ------------------------------------------------ */

/* 18 digits with a Luhn check digit? */
bool topup_code_valid(const char *code);
/* The keyed hash the store keeps. */
void topup_code_hash(const struct wallet_ctx *w, const char *code, uint8_t out[32]);

#endif
