/* topup_limits.c: check 4 of topup.h, the amount limits of a new top-up,
 * and what a customer may still top up (GET /v1/wallet).
 *
 * Invariants:
 *  1. Read inside the write transaction that inserts the top-up (store.h:
 *     begin() takes the write lock), so two concurrent top-ups see each
 *     other: their sum never passes a limit.
 *  2. Money on its way in is counted exactly once at every moment: a row
 *     is unsettled (CREATED, REQUIRES_ACTION, AUTHORIZED) until the
 *     transaction that commits its ledger credit makes it SUCCEEDED
 *     (topup_step_credit), so it is in the unsettled sum or in the balance,
 *     never both and never neither.
 *  3. Totals over a window count every top-up that is not FAILED, settled
 *     or not, card or cash.
 * Sums stay far below int64: each amount is at most topup_max (<= 1e9)
 * and the balance at most MONEY_MAX.
 */
#include "wallet/topup_internal.h"

#include "auth/customer_types.h"
#include "ledger/ledger.h"
#include "util/timeutil.h"

#define MONTH_MS (30 * TIME_DAY_MS)

enum err topup_wallet_balance(struct store *st, int64_t customer_id, int64_t *balance)
{
    char owner[IDS_BUF];
    struct ledger_account a;
    enum err e = st->ops->account_find(st, ids_format(owner, CUSTOMER_ID_PREFIX, customer_id), TOPUP_WALLET_KIND, &a);
    if (e == ERR_ACCOUNT_NOT_FOUND) {
        *balance = 0;
        return ERR_OK;
    }
    if (e == ERR_OK)
        *balance = ledger_balance(&a);
    return e;
}

/* The account-wide figures every limit is computed from. */
struct topup_totals {
    int64_t balance, unsettled, day, month;
};

static enum err totals(const struct wallet_ctx *w, int64_t customer_id, struct topup_totals *t)
{
    struct store *st = w->a.st;
    enum err e = topup_wallet_balance(st, customer_id, &t->balance);
    if (e == ERR_OK)
        e = st->ops->topup_sum_unsettled(st, customer_id, &t->unsettled);
    if (e == ERR_OK)
        e = st->ops->topup_sum(st, customer_id, 0, 0, w->a.now - TIME_DAY_MS, &t->day);
    if (e == ERR_OK)
        e = st->ops->topup_sum(st, customer_id, 0, 0, w->a.now - MONTH_MS, &t->month);
    return e;
}

enum err topup_check_limits(const struct wallet_ctx *w, const struct topup_ask *ask, const char **bad)
{
    const struct config *cfg = w->a.cfg;
    struct topup_totals t;
    enum err e = totals(w, ask->customer_id, &t);
    if (e != ERR_OK)
        return e;
    const char *limit = NULL;
    if (t.balance + t.unsettled + ask->amount > cfg->topup_balance_cap)
        limit = "balance_cap";
    else if (t.day + ask->amount > cfg->topup_daily_max)
        limit = "daily";
    else if (t.month + ask->amount > cfg->topup_monthly_max)
        limit = "monthly";
    else if (ask->device_new && t.day + ask->amount > cfg->topup_new_device_daily_max)
        limit = "new_device";
    if (limit == NULL && ask->card != NULL && ask->card->linked_ms > w->a.now - cfg->card_new_s * 1000) {
        /* A card linked a moment ago may be a stolen one: its own 24 h
         * total is capped lower until it has been on file for a while.
         * "Its own": every row of the account with its number, so that
         * linking it again (after removing it, or twice) gives it no second
         * allowance (and makes it new again). */
        int64_t card_day = 0;
        e = w->a.st->ops->topup_sum(w->a.st, ask->customer_id, 0, ask->card->id, w->a.now - TIME_DAY_MS, &card_day);
        if (e != ERR_OK)
            return e;
        if (card_day + ask->amount > cfg->topup_new_card_daily_max)
            limit = "new_card";
    }
    if (limit == NULL)
        return ERR_OK;
    *bad = limit;
    return ERR_LIMIT_EXCEEDED;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

enum err topup_remaining(const struct wallet_ctx *w, int64_t customer_id, bool device_new, int64_t *balance,
                         int64_t *remaining)
{
    const struct config *cfg = w->a.cfg;
    struct topup_totals t;
    enum err e = totals(w, customer_id, &t);
    if (e != ERR_OK)
        return e;
    int64_t r = cfg->topup_balance_cap - t.balance - t.unsettled;
    r = min64(r, cfg->topup_daily_max - t.day);
    r = min64(r, cfg->topup_monthly_max - t.month);
    if (device_new)
        r = min64(r, cfg->topup_new_device_daily_max - t.day);
    *balance = t.balance;
    *remaining = r > 0 ? r : 0;
    return ERR_OK;
}
