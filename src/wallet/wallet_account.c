/* wallet_account.c: the customer's wallet account in the ledger, and the
 * summary GET /v1/wallet shows.
 *
 * The account (owner "usr_…", kind "wallet", DEBITS_LE_CREDITS: never
 * negative) is created on first credit, not at registration, so accounts
 * that never hold money cost nothing.  Two first credits racing each create
 * it; the loser's insert fails on the (owner, kind) key and it reads the
 * winner's. */
#include "wallet/topup_internal.h"

#include "auth/customer_types.h"
#include "ledger/ledger.h"
#include "merchant/merchant.h"

/* The account (owner, kind), created with flags on first use. */
static enum err account_get_or_create(struct store *st, const char *owner, const char *kind, uint32_t flags,
                                      int64_t *id)
{
    struct ledger_account a;
    enum err e = st->ops->account_find(st, owner, kind, &a);
    if (e == ERR_OK) {
        *id = a.id;
        return ERR_OK;
    }
    if (e != ERR_ACCOUNT_NOT_FOUND)
        return e;
    e = st->ops->begin(st);
    if (e != ERR_OK)
        return e;
    e = ledger_account_create(st, owner, kind, flags, id);
    if (e == ERR_OK)
        e = st->ops->commit(st);
    if (e != ERR_OK)
        st->ops->rollback(st);
    if (e == ERR_CONFLICT) {
        e = st->ops->account_find(st, owner, kind, &a);
        if (e == ERR_OK)
            *id = a.id;
    }
    return e;
}

enum err wallet_account(struct store *st, int64_t customer_id, int64_t *account_id)
{
    char owner[IDS_BUF];
    return account_get_or_create(st, ids_format(owner, CUSTOMER_ID_PREFIX, customer_id), TOPUP_WALLET_KIND,
                                 LEDGER_ACCT_DEBITS_LE_CREDITS, account_id);
}

/* No flag on a store's cash account: it goes negative as the registers take
 * cash in (the store owes the chain that cash), by design. */
enum err topup_store_cash_account(struct store *st, int64_t store_id, int64_t *account_id)
{
    char owner[IDS_BUF];
    return account_get_or_create(st, ids_format(owner, MERCHANT_STORE_ID_PREFIX, store_id),
                                 TOPUP_CASH_ACCOUNT_KIND, 0, account_id);
}

enum err wallet_summary(const struct wallet_ctx *w, const struct auth_session *cur, struct wallet_summary *out)
{
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e != ERR_OK)
        return e;
    struct store *st = w->a.st;
    bool device_new = cur->device_new_until_ms > w->a.now || cur->cooldown_until_ms > w->a.now;
    /* One read snapshot: balance and sums from the same moment. */
    e = st->ops->begin_read(st);
    if (e != ERR_OK)
        return e;
    e = topup_remaining(w, cur->customer_id, device_new, &out->balance, &out->topup_remaining_today);
    st->ops->rollback(st);
    out->balance_cap = w->a.cfg->topup_balance_cap;
    return e;
}
