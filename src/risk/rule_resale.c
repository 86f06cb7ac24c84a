/* rule_resale.c: a top-up, then within minutes a purchase at a high-resale
 * category.
 *
 * What the thieves did with the wallets they took over: top up from the
 * victim's linked card and at once buy what sells again (e-cigarette
 * cartridges, gift cards, tobacco, electronics).  The rule fires on a
 * payment of at least resale_min_amount whose store category, or the
 * category of one of its items, is in resale_categories, within
 * resale_window_s after the customer's last completed top-up.  A pack of
 * cigarettes after a top-up stays under the amount; a top-up alone, or a
 * purchase days later, stays outside the window.  Reason value: seconds
 * from the top-up to the payment; threshold: the window.
 */
#include "risk/risk_internal.h"

#include <string.h>

static bool listed(const struct risk *r, const char *category)
{
    if (category == NULL)
        return false;
    for (size_t i = 0; i < r->n_resale; i++)
        if (strcmp(category, r->resale[i]) == 0)
            return true;
    return false;
}

bool risk_high_resale(const struct risk *r, const struct risk_event *ev)
{
    if (listed(r, ev->category))
        return true;
    for (size_t i = 0; i < ev->n_items && ev->item_categories; i++)
        if (listed(r, ev->item_categories[i]))
            return true;
    return false;
}

static void read_last(const union risk_payload *p, void *ctx)
{
    *(struct risk_last *)ctx = p->counter.last;
}

static void eval(struct risk_call *c)
{
    const struct risk_event *ev = c->ev;
    const struct risk_config *cfg = &c->r->cfg;
    if (ev->kind != RISK_PAYMENT || ev->customer_id == 0 || cfg->resale_score == 0 ||
        ev->amount < cfg->resale_min_amount || !risk_high_resale(c->r, ev))
        return;
    struct risk_last last = {0};
    if (!risk_state_read(&c->r->state, DIM_VEL_CUSTOMER, ev->customer_id, read_last, &last) || last.topup_ms == 0)
        return;
    int64_t since = ev->at_ms - last.topup_ms;
    if (since >= 0 && since < cfg->resale_window_s * 1000)
        risk_fire(c, "topup_then_resale", since / 1000, cfg->resale_window_s, cfg->resale_score, false);
}

struct topup_io {
    int64_t at, amount;
};

static void note_topup(union risk_payload *p, void *ctx)
{
    const struct topup_io *t = ctx;
    if (t->at >= p->counter.last.topup_ms) {
        p->counter.last.topup_ms = t->at;
        p->counter.last.topup_amount = t->amount;
    }
}

static void observe(struct risk_call *c, enum risk_outcome outcome)
{
    const struct risk_event *ev = c->ev;
    if (ev->kind != RISK_TOPUP || outcome != RISK_DONE || ev->customer_id == 0)
        return;
    struct topup_io t = {ev->at_ms, ev->amount};
    risk_state_update(&c->r->state, DIM_VEL_CUSTOMER, ev->customer_id, note_topup, &t);
}

const struct risk_rule risk_rule_resale = {eval, observe, NULL};
