/* pay_customer_internal.h: what the two payments a customer starts from
 * the app share — paying a store by its QR (mpm.c) and sending money to
 * another customer (p2p.c): the ledger key of the request, the payer's
 * side, and recording a refusal.  Internal to src/wallet and the tests.
 *
 * Both flows run on a wallet worker with their own connection: reads and
 * checks there, then payment_submit_wait (payment_internal.h), whose hook
 * writes everything of the payment in the ledger writer's transaction.
 */
#ifndef KESSAI_WALLET_PAY_CUSTOMER_INTERNAL_H
#define KESSAI_WALLET_PAY_CUSTOMER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/session.h"
#include "ledger/types.h"
#include "util/email.h"
#include "wallet/wallet_ctx.h"

/* The ledger key of a customer's request: "<flow>:usr_…:<Idempotency-Key>"
 * (payment_transfer_key: hashed when it would not fit), so one customer's
 * retries find their transfer and two customers never share one.
 * ERR_INVALID_PARAM if idem_key is not 1..IDEM_KEY_MAX printable ASCII. */
enum err pay_customer_key(const char *flow, int64_t customer_id, const char *idem_key,
                          char out[LEDGER_KEY_MAX + 1]);

/* The checks both flows start with, before any read: a full session
 * (session_require's error), the ledger key of idem_key into key
 * (ERR_INVALID_PARAM, *bad = "Idempotency-Key") and 1 <= amount <= max
 * (ERR_AMOUNT_INVALID or ERR_LIMIT_EXCEEDED, *bad = "amount"; the second
 * is recorded as payment_refused of kind flow).  ERR_OK leaves *bad as it
 * was. */
enum err pay_customer_start(const struct wallet_ctx *w, const struct auth_session *cur, const char *flow,
                            const char *idem_key, int64_t amount, int64_t max, char key[LEDGER_KEY_MAX + 1],
                            const char **bad);

/* Did this key move money already?  A retry skips the checks of policy (the
 * switches, freezes, the second factor, the store's state): the ledger
 * compares the request with the first and answers with the first receipt,
 * or ERR_IDEMPOTENCY_CONFLICT. */
enum err pay_customer_seen(struct store *st, const char *key, bool *seen);

struct pay_payer {
    int64_t wallet;             /* the payer's wallet account */
    char email[EMAIL_MAX + 1];  /* where the debit is mailed */
    bool device_new;            /* the device (or the account, after a reset) cools down */
};

/* The payer's side: ERR_INSUFFICIENT_FUNDS ("amount") when the customer
 * never had a wallet (nothing to pay with), ERR_UNAUTHENTICATED if the
 * customer is gone. */
enum err pay_customer_payer(const struct wallet_ctx *w, const struct auth_session *cur, struct pay_payer *out);

struct payment_order;

/* The PAY order both flows submit, past their checks: op, now and, from the
 * caller's session, customer_id and device_id; p.kind (enum payment_kind),
 * amount and created_ms; the transfer from the payer's wallet to
 * credit_account of amount, of kind xfer_kind.  The caller adds its
 * counterparty (store or recipient), limits and mail. */
void pay_customer_order(struct payment_order *o, const struct wallet_ctx *w, const struct auth_session *cur,
                        int kind, int64_t amount, const struct pay_payer *payer, int64_t credit_account,
                        const char *xfer_kind);

/* payment_refused_record for the session's customer and phone. */
enum err pay_customer_refused(const struct wallet_ctx *w, const struct auth_session *cur, const char *kind,
                              enum err e, const char *bad, int64_t amount);

/* FRESH second factor needed (ERR_FRESH_MFA_REQUIRED) unless w->a.now is
 * within the session's freshness. */
bool pay_customer_fresh(const struct wallet_ctx *w, const struct auth_session *cur);

/* p2p.c: a transfer's metadata {"from":"usr_…","to":"usr_…"[,"message":"…"]}
 * (compact, keys in that order: part of the ledger's request fingerprint,
 * so a held transfer made later builds the same text as the request). */
enum err p2p_metadata(int64_t from, int64_t to, const char *message, char out[LEDGER_META_MAX + 1]);

#endif
