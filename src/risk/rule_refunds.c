/* rule_refunds.c: many refunds at one store.
 *
 * A dishonest clerk (or a stolen register) turns refunds into cash: more
 * than refund_count refunds, or more than refund_amount yen of them, at one
 * store within refund_window_s holds the next one for review (either or
 * both: refund_score once).  Counted on completed refunds, and on admitted
 * ones from the moment they are admitted (ten refunds sent at once are each
 * scored against the others); the event counts itself.  The store is the refunding register's (ev->store_id), not the
 * payment's: any register of the merchant may refund any of its payments,
 * and counted by the payment's store a clerk refunding payments made at
 * the chain's other branches would spread them over those branches.
 */
#include "risk/risk_internal.h"

static void eval(struct risk_call *c)
{
    const struct risk_event *ev = c->ev;
    const struct risk_config *cfg = &c->r->cfg;
    if (ev->kind != RISK_REFUND || ev->store_id == 0 || cfg->refund_score == 0)
        return;
    int64_t n, sum;
    risk_ring_read(c->r, DIM_REFUND_STORE, ev->store_id, ev->at_ms, &n, &sum);
    n += 1;
    bool fired = n > cfg->refund_count;
    if (fired)
        risk_fire(c, "refunds_store_count", n, cfg->refund_count, cfg->refund_score, false);
    if (ev->amount > 0 && (sum = risk_add_sat(sum, ev->amount)) > cfg->refund_amount)
        risk_fire(c, "refunds_store_amount", sum, cfg->refund_amount, fired ? 0 : cfg->refund_score, false);
}

static void tally(struct risk_call *c, int sign)
{
    const struct risk_event *ev = c->ev;
    if (ev->kind == RISK_REFUND && ev->store_id != 0)
        risk_ring_tally(c->r, DIM_REFUND_STORE, ev->store_id, ev->at_ms, ev->amount, sign);
}

const struct risk_rule risk_rule_refunds = {eval, NULL, tally};
