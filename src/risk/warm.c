/* warm.c: rebuilding the windows from the store after a restart (risk.h).
 *
 * The engine's memory is a cache of the store's recent history: completed
 * payments and transfers (velocity, impossible travel, high-resale after a
 * top-up, fan-in, a mule's inflow and outflow: the recipient's age comes
 * with the row), top-ups (velocity, card testing, the "last top-up", a new
 * account's own money) and
 * card-link attempts (card testing) and the refunds registers gave
 * (payment_refunds: refunds per store).  Replaying them through
 * risk_observe gives the same windows as if the process had never
 * stopped, for every rule whose input the store keeps.  Not replayed:
 * logins (security events): their windows start empty again.
 *
 * Rows come in no particular order; every observe is order-insensitive
 * (rings add into their bucket, sets keep the latest time, "last" keeps
 * the newest), so the result does not depend on the order either.
 */
#include "risk/risk_internal.h"

static int64_t longest_window_s(const struct risk_config *c)
{
    const int64_t w[] = {
        c->velocity_customer_window_s, c->velocity_device_window_s, c->velocity_card_window_s,
        c->velocity_store_window_s,    c->velocity_terminal_window_s, c->resale_window_s,
        c->shared_device_window_s,     c->shared_addr_window_s,     c->card_window_s,
        c->card_cards_window_s,        c->fan_in_window_s,          c->mule_window_s,
        c->refund_window_s,
    };
    int64_t m = 0;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        if (w[i] > m)
            m = w[i];
    return m;
}

struct warm {
    struct risk *r;
    size_t rows;
};

static enum err replay(void *ctx, const struct risk_history_row *h)
{
    struct warm *w = ctx;
    struct risk_event ev = {
        .kind = (enum risk_kind)h->kind,
        .at_ms = h->at_ms,
        .customer_id = h->customer_id,
        .device_id = h->device_id,
        .device_key = risk_device_key(h->device_public_key),
        .client_addr = h->client_addr,
        .card_fp = h->has_card ? risk_card_fp(h->card_fingerprint) : 0,
        .store_id = h->store_id,
        .terminal_id = h->terminal_id,
        .category = h->category[0] ? h->category : NULL,
        .has_location = h->has_location,
        .lat_e6 = h->lat_e6,
        .lon_e6 = h->lon_e6,
        .amount = h->amount,
        .counterparty_id = h->counterparty_id,
    };
    if (h->customer_created_ms > 0 && risk_account_is_new(&w->r->cfg, h->customer_created_ms, h->at_ms))
        ev.flags |= RISK_F_ACCOUNT_NEW;
    if (h->counterparty_created_ms > 0 && risk_account_is_new(&w->r->cfg, h->counterparty_created_ms, h->at_ms))
        ev.flags |= RISK_F_PAYEE_NEW;
    w->rows++;
    /* A row of a kind or outcome the engine does not know is skipped, not
     * an error: the store may know more than this program. */
    (void)risk_observe(w->r, &ev, (enum risk_outcome)h->outcome);
    return ERR_OK;
}

enum err risk_warm(struct risk *r, struct store *st, int64_t now, size_t *rows)
{
    struct warm w = {.r = r};
    int64_t since = now - longest_window_s(&r->cfg) * 1000;
    enum err e = st->ops->begin_read(st);
    if (e != ERR_OK)
        return e;
    e = st->ops->risk_history_scan(st, since, replay, &w);
    enum err e2 = e == ERR_OK ? st->ops->commit(st) : st->ops->rollback(st);
    if (e == ERR_OK)
        e = e2;
    if (rows)
        *rows = w.rows;
    return e;
}
