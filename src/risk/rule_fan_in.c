/* rule_fan_in.c: P2P fan-in to one account from many new accounts.
 *
 * A money mule collects what many freshly opened (or freshly stolen and
 * re-registered) accounts send.  A transfer from a new account
 * (RISK_F_ACCOUNT_NEW) fires when its recipient would then have received
 * from more than fan_in_senders distinct new accounts in fan_in_window_s.
 * Transfers from established accounts neither count nor fire: friends
 * settling a dinner bill are not mules.  Reason value: distinct new
 * senders, this one included.
 */
#include "risk/risk_internal.h"

static bool applies(const struct risk_event *ev)
{
    return ev->kind == RISK_P2P && ev->counterparty_id != 0 && ev->customer_id != 0 &&
           (ev->flags & RISK_F_ACCOUNT_NEW);
}

static void eval(struct risk_call *c)
{
    const struct risk_event *ev = c->ev;
    const struct risk_config *cfg = &c->r->cfg;
    if (!applies(ev) || cfg->fan_in_score == 0)
        return;
    int n = risk_set_read(c->r, DIM_FAN_IN, ev->counterparty_id, cfg->fan_in_window_s * 1000, ev->at_ms,
                          ev->customer_id);
    if (n > cfg->fan_in_senders)
        risk_fire(c, "p2p_fan_in", n, cfg->fan_in_senders, cfg->fan_in_score, false);
}

/* A set cannot take a sender out again (it may have sent before): an
 * admitted sender whose transfer then fails stays counted (risk.h). */
static void tally(struct risk_call *c, int sign)
{
    if (sign > 0 && applies(c->ev))
        risk_set_write(c->r, DIM_FAN_IN, c->ev->counterparty_id, c->ev->customer_id, c->ev->at_ms);
}

const struct risk_rule risk_rule_fan_in = {eval, NULL, tally};
