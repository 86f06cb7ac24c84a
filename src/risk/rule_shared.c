/* rule_shared.c: one device or one address used by many accounts.
 *
 * A phone signing in to many accounts in a day is someone working through
 * a list of stolen passwords (each account's own counters stay low); so is
 * an address, more weakly: mobile carriers put many subscribers behind one
 * IPv4 address, hence a higher threshold and a lower score.  Every attempt
 * counts (a failed login is the signal), not only what succeeded.  The
 * device is the phone (risk_device_key), not the per-account device row.
 * Reason value: distinct accounts in the window, this one included.
 *
 * Logins have thresholds and scores of their own (risk_login_shared_*,
 * same windows): there the pattern is credential stuffing, and the answer
 * a refusal (docs/risk.md).
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
    bool login = ev->kind == RISK_LOGIN;
    int64_t dev_max = login ? cfg->login_shared_device_accounts : cfg->shared_device_accounts;
    int64_t dev_score = login ? cfg->login_shared_device_score : cfg->shared_device_score;
    int64_t addr_max = login ? cfg->login_shared_addr_accounts : cfg->shared_addr_accounts;
    int64_t addr_score = login ? cfg->login_shared_addr_score : cfg->shared_addr_score;
    if (ev->device_key != 0 && dev_score > 0) {
        int n = risk_set_read(c->r, DIM_ACCTS_DEVICE, ev->device_key, cfg->shared_device_window_s * 1000, ev->at_ms,
                              ev->customer_id);
        if (n > dev_max)
            risk_fire(c, "shared_device", n, dev_max, dev_score, false);
    }
    if (c->addr_key != 0 && addr_score > 0) {
        int n = risk_set_read(c->r, DIM_ACCTS_ADDR, c->addr_key, cfg->shared_addr_window_s * 1000, ev->at_ms,
                              ev->customer_id);
        if (n > addr_max)
            risk_fire(c, "shared_address", n, addr_max, addr_score, false);
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

const struct risk_rule risk_rule_shared = {eval, observe, NULL};
