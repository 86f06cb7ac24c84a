/* rule_card_testing.c: declines and many cards (a hard rule: deny).
 *
 * A card tester learns which stolen numbers work from the issuer's
 * answers, so the engine denies card links and card top-ups to a
 * customer, phone or address that has had more than card_declines
 * declines in card_window_s, or that has tried more than card_cards
 * distinct cards in card_cards_window_s (this card included).  This is
 * the in-memory twin of wallet/card_limits.h, which blocks the same
 * sources in the store; here the decision also carries the reason and
 * covers card top-ups.  Card top-ups count only when they name a card.
 */
#include "risk/risk_internal.h"

#define KINDS (RISK_BIT(RISK_CARD_LINK) | RISK_BIT(RISK_TOPUP))

static bool applies(const struct risk_event *ev)
{
    return risk_kind_in(ev, KINDS) && (ev->kind == RISK_CARD_LINK || ev->card_fp != 0);
}

static void eval(struct risk_call *c)
{
    const struct risk_event *ev = c->ev;
    const struct risk_config *cfg = &c->r->cfg;
    if (!applies(ev))
        return;
    const struct {
        enum risk_dim dim;
        int64_t id;
        const char *rule;
    } declines[] = {
        {DIM_DECL_CUSTOMER, ev->customer_id, "card_declines_customer"},
        {DIM_DECL_DEVICE, ev->device_key, "card_declines_device"},
        {DIM_DECL_ADDR, c->addr_key, "card_declines_address"},
    };
    for (size_t i = 0; i < sizeof declines / sizeof declines[0]; i++) {
        if (declines[i].id == 0)
            continue;
        int64_t n, sum;
        risk_ring_read(c->r, declines[i].dim, declines[i].id, ev->at_ms, &n, &sum);
        if (n > cfg->card_declines)
            risk_fire(c, declines[i].rule, n, cfg->card_declines, 0, true);
    }
    if (ev->card_fp == 0)
        return;
    const struct {
        enum risk_dim dim;
        int64_t id;
        const char *rule;
    } cards[] = {
        {DIM_CARDS_CUSTOMER, ev->customer_id, "card_many_cards_customer"},
        {DIM_CARDS_DEVICE, ev->device_key, "card_many_cards_device"},
    };
    for (size_t i = 0; i < sizeof cards / sizeof cards[0]; i++) {
        if (cards[i].id == 0)
            continue;
        int n = risk_set_read(c->r, cards[i].dim, cards[i].id, cfg->card_cards_window_s * 1000, ev->at_ms, ev->card_fp);
        if (n > cfg->card_cards)
            risk_fire(c, cards[i].rule, n, cfg->card_cards, 0, true);
    }
}

static void observe(struct risk_call *c, enum risk_outcome outcome)
{
    const struct risk_event *ev = c->ev;
    if (!applies(ev))
        return;
    if (outcome == RISK_DECLINED) {
        if (ev->customer_id != 0)
            risk_ring_write(c->r, DIM_DECL_CUSTOMER, ev->customer_id, ev->at_ms, 0);
        if (ev->device_key != 0)
            risk_ring_write(c->r, DIM_DECL_DEVICE, ev->device_key, ev->at_ms, 0);
        if (c->addr_key != 0)
            risk_ring_write(c->r, DIM_DECL_ADDR, c->addr_key, ev->at_ms, 0);
    }
    if (ev->card_fp != 0) { /* every card tried, whatever the issuer said */
        if (ev->customer_id != 0)
            risk_set_write(c->r, DIM_CARDS_CUSTOMER, ev->customer_id, ev->card_fp, ev->at_ms);
        if (ev->device_key != 0)
            risk_set_write(c->r, DIM_CARDS_DEVICE, ev->device_key, ev->card_fp, ev->at_ms);
    }
}

const struct risk_rule risk_rule_card_testing = {eval, observe, NULL};
