/* history.h: what a customer sees of their money.
 *
 * GET /v1/transactions?before=txn_…&limit=N: the wallet's ledger transfers,
 * newest first (cursor = the last id of the page), each with kind
 * (topup_card, topup_cash, payment (CPM/MPM), refund, void, p2p_in,
 * p2p_out), signed amount (+ in, - out), the balance after it, the store's
 * name or the other customer, the payment id it belongs to, and its time.
 * The balance after each entry is computed from the current balance and
 * the transfers after it, read in one snapshot (begin_read), so a page is
 * consistent even while payments commit.  GET /v1/transactions/{id}: one
 * entry, only if it moved this customer's wallet (else ERR_NOT_FOUND).
 * GET /v1/balance: {balance, currency}.
 */
#ifndef KESSAI_WALLET_HISTORY_H
#define KESSAI_WALLET_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "auth/session.h"
#include "wallet/wallet_ctx.h"

#define HISTORY_PAGE_MAX 100
#define HISTORY_ID_PREFIX "txn" /* an entry's id is its ledger transfer's id */

struct history_entry {
    int64_t id;
    char kind[16];
    int64_t amount; /* signed, from the customer's point of view */
    int64_t balance_after;
    int64_t payment_id; /* the payment it is or refunds, 0 for top-ups */
    char counterparty[128]; /* store name, or the other customer's masked e-mail, or "" */
    int64_t created_ms;
};

enum err history_page(const struct wallet_ctx *w, const struct auth_session *cur, int64_t before_id, size_t limit,
                      struct history_entry *out, size_t *n, int64_t *next_before);
enum err history_get(const struct wallet_ctx *w, const struct auth_session *cur, int64_t id,
                     struct history_entry *out);
enum err history_balance(const struct wallet_ctx *w, const struct auth_session *cur, int64_t *balance);

#endif
