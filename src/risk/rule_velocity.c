/* rule_velocity.c: how many and how much, per key, over a sliding window.
 *
 *   key        counts                              window, count, amount (defaults)
 *   customer   top-ups, payments, transfers sent   1 h, 10, 150,000
 *   device     the same, the phone across accounts 1 h, 15, 200,000
 *   card       top-ups from the card               24 h, 5, 100,000
 *   store      payments and cash top-ups           10 min, 1,000, 5,000,000
 *   terminal   the same at one register            10 min, 200, 1,000,000
 *
 * Evaluation counts the event itself: "may have 10 in the window" fires on
 * the 11th.  Only completed operations (RISK_DONE) are counted, and
 * admitted ones (risk_admit) until they turn out otherwise.  Each key
 * whose count or amount (or both: two reasons, one score) crosses its
 * threshold adds velocity_score.
 */
#include "risk/risk_internal.h"

#define MONEY (RISK_BIT(RISK_TOPUP) | RISK_BIT(RISK_PAYMENT) | RISK_BIT(RISK_P2P))
#define AT_STORE (RISK_BIT(RISK_TOPUP) | RISK_BIT(RISK_PAYMENT))

struct velocity_dim {
    enum risk_dim dim;
    unsigned kinds;
    const char *count_rule, *amount_rule;
};

static const struct velocity_dim dims[] = {
    {DIM_VEL_CUSTOMER, MONEY, "velocity_customer_count", "velocity_customer_amount"},
    {DIM_VEL_DEVICE, MONEY, "velocity_device_count", "velocity_device_amount"},
    {DIM_VEL_CARD, RISK_BIT(RISK_TOPUP), "velocity_card_count", "velocity_card_amount"},
    {DIM_VEL_STORE, AT_STORE, "velocity_store_count", "velocity_store_amount"},
    {DIM_VEL_TERMINAL, AT_STORE, "velocity_terminal_count", "velocity_terminal_amount"},
};

static int64_t key_of(enum risk_dim dim, const struct risk_event *ev)
{
    switch (dim) {
    case DIM_VEL_CUSTOMER: return ev->customer_id;
    case DIM_VEL_DEVICE: return ev->device_key;
    case DIM_VEL_CARD: return ev->card_fp;
    case DIM_VEL_STORE: return ev->store_id;
    case DIM_VEL_TERMINAL: return ev->terminal_id;
    default: return 0;
    }
}

static void limits_of(const struct risk_config *cfg, enum risk_dim dim, int64_t *count, int64_t *amount)
{
    switch (dim) {
    case DIM_VEL_CUSTOMER: *count = cfg->velocity_customer_count, *amount = cfg->velocity_customer_amount; break;
    case DIM_VEL_DEVICE: *count = cfg->velocity_device_count, *amount = cfg->velocity_device_amount; break;
    case DIM_VEL_CARD: *count = cfg->velocity_card_count, *amount = cfg->velocity_card_amount; break;
    case DIM_VEL_STORE: *count = cfg->velocity_store_count, *amount = cfg->velocity_store_amount; break;
    default: *count = cfg->velocity_terminal_count, *amount = cfg->velocity_terminal_amount; break;
    }
}

static void eval(struct risk_call *c)
{
    const struct risk_event *ev = c->ev;
    const struct risk_config *cfg = &c->r->cfg;
    if (cfg->velocity_score == 0)
        return;
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        int64_t id = key_of(dims[i].dim, ev);
        if (!risk_kind_in(ev, dims[i].kinds) || id == 0)
            continue;
        int64_t n, sum, max_n, max_sum;
        risk_ring_read(c->r, dims[i].dim, id, ev->at_ms, &n, &sum);
        limits_of(cfg, dims[i].dim, &max_n, &max_sum);
        n += 1;
        bool fired = n > max_n;
        if (fired)
            risk_fire(c, dims[i].count_rule, n, max_n, cfg->velocity_score, false);
        if (ev->amount > 0 && (sum = risk_add_sat(sum, ev->amount)) > max_sum)
            risk_fire(c, dims[i].amount_rule, sum, max_sum, fired ? 0 : cfg->velocity_score, false);
    }
}

static void tally(struct risk_call *c, int sign)
{
    const struct risk_event *ev = c->ev;
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        int64_t id = key_of(dims[i].dim, ev);
        if (risk_kind_in(ev, dims[i].kinds) && id != 0)
            risk_ring_tally(c->r, dims[i].dim, id, ev->at_ms, ev->amount, sign);
    }
}

const struct risk_rule risk_rule_velocity = {eval, NULL, tally};
