/* rule_mule.c: a new account passing on what it received by P2P.
 *
 * A money mule's wallet is a pipe: scam victims (or the previous mule)
 * send to it, and within hours it sends the money on or spends it on
 * goods that resell, before anyone reports the scam.  An ordinary new
 * customer's money comes mostly from their own card; what friends send
 * them is a few thousand yen.  Two rings per new account
 * (RISK_F_ACCOUNT_NEW / RISK_F_PAYEE_NEW), over mule_window_s:
 *   in   P2P received;
 *   out  P2P sent and payments at stores, less the account's own top-ups
 *        (spending one's own money is no pass-through; the top-ups are a
 *        third ring, as rings only add).
 * A P2P transfer or a payment (any category: a ring buys whatever it can)
 * of a new account fires when in is at least mule_min_inflow and out, this
 * one included, would exceed mule_share percent of in.  Reason value: out
 * as a percentage of in; threshold: mule_share.
 */
#include "risk/risk_internal.h"

static bool outflow(const struct risk_event *ev)
{
    return (ev->kind == RISK_P2P || ev->kind == RISK_PAYMENT) && ev->customer_id != 0 &&
           (ev->flags & RISK_F_ACCOUNT_NEW);
}

static void eval(struct risk_call *c)
{
    const struct risk_event *ev = c->ev;
    const struct risk_config *cfg = &c->r->cfg;
    if (!outflow(ev) || cfg->mule_score == 0)
        return;
    int64_t n, in, out, own;
    risk_ring_read(c->r, DIM_MULE_IN, ev->customer_id, ev->at_ms, &n, &in);
    if (in < cfg->mule_min_inflow || in <= 0)
        return;
    risk_ring_read(c->r, DIM_MULE_OUT, ev->customer_id, ev->at_ms, &n, &out);
    risk_ring_read(c->r, DIM_MULE_OWN, ev->customer_id, ev->at_ms, &n, &own);
    int64_t after = risk_add_sat(out, ev->amount) - own; /* both >= 0: no overflow */
    if (after <= 0)
        return;
    /* in * mule_share (<= 100) and after * 100 stay far from overflow below
     * PASS_MAX; beyond it (amounts no wallet limit allows) it fires. */
    const int64_t PASS_MAX = INT64_MAX / 128;
    bool over = after >= PASS_MAX || in >= PASS_MAX ? after > in : after * 100 > cfg->mule_share * in;
    if (over) {
        int64_t pct = after >= PASS_MAX || in >= PASS_MAX ? 100 : after * 100 / in;
        risk_fire(c, "mule_pass_through", pct, cfg->mule_share, cfg->mule_score, false);
    }
}

static void tally(struct risk_call *c, int sign)
{
    const struct risk_event *ev = c->ev;
    if (ev->customer_id == 0 || ev->amount <= 0)
        return;
    if (ev->kind == RISK_P2P && ev->counterparty_id != 0 && (ev->flags & RISK_F_PAYEE_NEW))
        risk_ring_tally(c->r, DIM_MULE_IN, ev->counterparty_id, ev->at_ms, ev->amount, sign);
    if (outflow(ev))
        risk_ring_tally(c->r, DIM_MULE_OUT, ev->customer_id, ev->at_ms, ev->amount, sign);
    else if (ev->kind == RISK_TOPUP && (ev->flags & RISK_F_ACCOUNT_NEW))
        risk_ring_tally(c->r, DIM_MULE_OWN, ev->customer_id, ev->at_ms, ev->amount, sign);
}

const struct risk_rule risk_rule_mule = {eval, NULL, tally};
