/* rule_refund_fast.c: high-resale goods given back soon after they were
 * bought.
 *
 * The insider's scheme (issue 7, insider-refunds): an accomplice buys gift
 * cards or electronics at the clerk's store, keeps them, and the clerk
 * refunds the charge minutes later; the money is spendable again and the
 * goods are sold on.  The rule fires on a refund or void of a payment of at
 * least resale_min_amount whose store category, or one of whose items'
 * categories, is in resale_categories (the goods topup_then_resale calls
 * high-resale), within refund_fast_s of the payment.  A genuine return of
 * such goods the same day is rare (gift cards and tobacco are not returned
 * at all), a cheap one stays under the amount, and a return days later is
 * outside the window.  Reason value: seconds from the payment to the
 * refund; threshold: the window (fires WITHIN it).  The caller gives the
 * payment (ref_at_ms, ref_amount) and its categories; no state.
 */
#include "risk/risk_internal.h"

static void eval(struct risk_call *c)
{
    const struct risk_event *ev = c->ev;
    const struct risk_config *cfg = &c->r->cfg;
    if (ev->kind != RISK_REFUND || cfg->refund_fast_score == 0 || ev->ref_at_ms == 0 ||
        ev->ref_amount < cfg->resale_min_amount || !risk_high_resale(c->r, ev))
        return;
    int64_t since = ev->at_ms - ev->ref_at_ms;
    if (since < 0)
        since = 0; /* clocks of two nodes: a refund cannot precede its payment */
    if (since < cfg->refund_fast_s * 1000)
        risk_fire(c, "refund_resale_fast", since / 1000, cfg->refund_fast_s, cfg->refund_fast_score, false);
}

const struct risk_rule risk_rule_refund_fast = {eval, NULL, NULL};
