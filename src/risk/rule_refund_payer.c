/* rule_refund_payer.c: the store gives the same payer money back again.
 *
 * A clerk cycling money through an accomplice refunds that accomplice's
 * charges again and again; goods the resale rule does not see (ordinary
 * goods, or items the clerk's own register mislabels) pass a first time
 * like any genuine return, but not a second.  The rule fires on a refund
 * or void when the refunding store's registers already refunded or voided
 * another payment of the same payer within refund_payer_window_s, wherever
 * the payer paid (the accomplice may pay at other branches: a store QR
 * pays from anywhere).  Per refunding store, not per merchant: the
 * insider is a clerk at one store, while a chain's customers return
 * things at several of its branches (per merchant, a genuine second
 * return anywhere in the chain within a month would be held).  A second
 * partial refund of the same payment does not fire: it is bounded by what
 * that payment left.  The caller reads the last refund from the store
 * (payer_refunded_ms, table payment_refunds), so a restart forgets
 * nothing.
 * Reason value: seconds since that refund; threshold: the window (fires
 * WITHIN it).
 */
#include "risk/risk_internal.h"

static void eval(struct risk_call *c)
{
    const struct risk_event *ev = c->ev;
    const struct risk_config *cfg = &c->r->cfg;
    if (ev->kind != RISK_REFUND || cfg->refund_payer_score == 0 || ev->payer_refunded_ms == 0)
        return;
    int64_t since = ev->at_ms - ev->payer_refunded_ms;
    if (since < 0)
        since = 0;
    if (since < cfg->refund_payer_window_s * 1000)
        risk_fire(c, "refund_repeat_payer", since / 1000, cfg->refund_payer_window_s, cfg->refund_payer_score,
                  false);
}

const struct risk_rule risk_rule_refund_payer = {eval, NULL, NULL};
