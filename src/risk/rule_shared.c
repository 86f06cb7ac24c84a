/* rule_shared.c: one device or one address used by many accounts.
 *
 * A phone signing in to many accounts in a day is someone working through
 * a list of stolen passwords (each account's own counters stay low); so is
 * an address, more weakly: mobile carriers put many subscribers behind one
 * IPv4 address, hence a higher threshold and a lower score.  Every attempt
 * counts (a failed login is the signal), not only what succeeded.  The
 * device is the phone (risk_device_key), not the per-account device row.
 * Reason value: distinct accounts in the window, this one included.
 */
#include "risk/risk_internal.h"

#define KINDS (RISK_BIT(RISK_LOGIN) | RISK_BIT(RISK_CARD_LINK) | RISK_BIT(RISK_TOPUP) | RISK_BIT(RISK_PAYMENT) | \
               RISK_BIT(RISK_P2P))

static void eval(struct risk_call *c)
{
    const struct risk_event *ev = c->ev;
    const struct risk_config *cfg = &c->r->cfg;
    if (!risk_kind_in(ev, KINDS) || ev->customer_id == 0)
        return;
    if (ev->device_key != 0 && cfg->shared_device_score > 0) {
        int n = risk_set_read(c->r, DIM_ACCTS_DEVICE, ev->device_key, cfg->shared_device_window_s * 1000, ev->at_ms,
                              ev->customer_id);
        if (n > cfg->shared_device_accounts)
            risk_fire(c, "shared_device", n, cfg->shared_device_accounts, cfg->shared_device_score, false);
    }
    if (c->addr_key != 0 && cfg->shared_addr_score > 0) {
        int n = risk_set_read(c->r, DIM_ACCTS_ADDR, c->addr_key, cfg->shared_addr_window_s * 1000, ev->at_ms,
                              ev->customer_id);
        if (n > cfg->shared_addr_accounts)
            risk_fire(c, "shared_address", n, cfg->shared_addr_accounts, cfg->shared_addr_score, false);
    }
}

static void observe(struct risk_call *c, enum risk_outcome outcome)
{
    (void)outcome; /* every attempt */
    const struct risk_event *ev = c->ev;
    if (!risk_kind_in(ev, KINDS) || ev->customer_id == 0)
        return;
    if (ev->device_key != 0)
        risk_set_write(c->r, DIM_ACCTS_DEVICE, ev->device_key, ev->customer_id, ev->at_ms);
    if (c->addr_key != 0)
        risk_set_write(c->r, DIM_ACCTS_ADDR, c->addr_key, ev->customer_id, ev->at_ms);
}

const struct risk_rule risk_rule_shared = {eval, observe};
