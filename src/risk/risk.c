/* risk.c: the engine object and the rule table (risk.h).
 *
 * risk_evaluate runs every rule's eval over the event: each reads the
 * windows it needs (one shard lock at a time) and calls risk_fire when its
 * threshold is crossed.  The verdict is then a function of the total score
 * and of whether a hard rule fired:
 *
 *   hard rule fired or score >= deny_score  -> deny
 *   score >= hold_score                     -> hold
 *   score >= challenge_score                -> challenge (a refund: hold;
 *                                              no customer is there to confirm)
 *   otherwise                               -> allow
 *
 * risk_observe runs every rule's observe with the outcome, and its tally
 * when the event is done (or, admitted, when it is not): the only writes.
 * risk_admit is an evaluation and a tally(+1) under r->admit, so that no
 * other admission runs between the two: the only lock held across shards'
 * (one at a time, as ever), taken by nothing inside them, so no deadlock.
 */
#include "risk/risk_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* In the order their reasons appear. */
static const struct risk_rule *const rules[] = {
    &risk_rule_card_testing, &risk_rule_identity, &risk_rule_velocity, &risk_rule_resale,
    &risk_rule_travel,       &risk_rule_shared,   &risk_rule_fan_in,   &risk_rule_refunds,
    &risk_rule_new_payee,    &risk_rule_mule,
    &risk_rule_refund_fast,  &risk_rule_refund_payer,
};

static void parse_categories(struct risk *r)
{
    const char *p = r->cfg.resale_categories;
    while (*p && r->n_resale < RISK_CATEGORIES_MAX) {
        size_t len = strcspn(p, ",");
        if (len > RISK_CATEGORY_MAX)
            len = RISK_CATEGORY_MAX; /* risk_config_check refused this already */
        memcpy(r->resale[r->n_resale], p, len);
        r->resale[r->n_resale++][len] = '\0';
        p += len;
        if (*p == ',')
            p++;
    }
}

enum err risk_new(const struct risk_config *cfg, struct risk **out)
{
    char why[256];
    *out = NULL;
    if (risk_config_check(cfg, why, sizeof why) != ERR_OK) {
        log_event(LOG_ERROR, "risk_config_invalid", json_pack("{s:s}", "detail", why));
        return ERR_INVALID_PARAM;
    }
    struct risk *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ERR_NOMEM;
    r->cfg = *cfg;
    if (pthread_mutex_init(&r->admit, NULL) != 0) {
        free(r);
        return ERR_NOMEM;
    }
    enum err e = risk_state_init(&r->state, (uint64_t)cfg->max_keys);
    if (e != ERR_OK) {
        pthread_mutex_destroy(&r->admit);
        free(r);
        return e;
    }
    r->width_ms[DIM_VEL_CUSTOMER] = risk_ring_width(cfg->velocity_customer_window_s);
    r->width_ms[DIM_VEL_DEVICE] = risk_ring_width(cfg->velocity_device_window_s);
    r->width_ms[DIM_VEL_CARD] = risk_ring_width(cfg->velocity_card_window_s);
    r->width_ms[DIM_VEL_STORE] = risk_ring_width(cfg->velocity_store_window_s);
    r->width_ms[DIM_VEL_TERMINAL] = risk_ring_width(cfg->velocity_terminal_window_s);
    r->width_ms[DIM_DECL_CUSTOMER] = risk_ring_width(cfg->card_window_s);
    r->width_ms[DIM_DECL_DEVICE] = risk_ring_width(cfg->card_window_s);
    r->width_ms[DIM_DECL_ADDR] = risk_ring_width(cfg->card_window_s);
    r->width_ms[DIM_REFUND_STORE] = risk_ring_width(cfg->refund_window_s);
    r->width_ms[DIM_MULE_IN] = risk_ring_width(cfg->mule_window_s);
    r->width_ms[DIM_MULE_OUT] = risk_ring_width(cfg->mule_window_s);
    r->width_ms[DIM_MULE_OWN] = risk_ring_width(cfg->mule_window_s);
    parse_categories(r);
    *out = r;
    return ERR_OK;
}

void risk_free(struct risk *r)
{
    if (r == NULL)
        return;
    risk_state_free(&r->state);
    pthread_mutex_destroy(&r->admit);
    free(r);
}

void risk_fire(struct risk_call *c, const char *rule, int64_t value, int64_t threshold, int64_t score, bool hard)
{
    struct risk_decision *d = c->d;
    if (d == NULL)
        return;
    if (hard)
        c->hard_deny = true;
    int s = hard ? 0 : (int)score; /* scores are bounded by the settings table */
    d->score += s;
    if (d->n_reasons < RISK_REASONS_MAX)
        d->reasons[d->n_reasons++] = (struct risk_reason){rule, value, threshold, s};
}

static bool kind_known(enum risk_kind k)
{
    return k >= RISK_LOGIN && k < RISK_KINDS;
}

enum err risk_evaluate(struct risk *r, const struct risk_event *ev, struct risk_decision *out)
{
    memset(out, 0, sizeof *out);
    out->verdict = RISK_ALLOW;
    if (!kind_known(ev->kind))
        return ERR_INVALID_PARAM;
    struct risk_call c = {.r = r, .ev = ev, .addr_key = risk_addr_key(ev->client_addr), .d = out};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        rules[i]->eval(&c);
    const struct risk_config *cfg = &r->cfg;
    if (c.hard_deny || out->score >= cfg->deny_score)
        out->verdict = RISK_DENY;
    else if (out->score >= cfg->hold_score)
        out->verdict = RISK_HOLD;
    else if (out->score >= cfg->challenge_score)
        out->verdict = ev->kind == RISK_REFUND ? RISK_HOLD : RISK_CHALLENGE;
    return ERR_OK;
}

static void tally(struct risk *r, const struct risk_event *ev, int sign)
{
    struct risk_call c = {.r = r, .ev = ev, .addr_key = risk_addr_key(ev->client_addr)};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i]->tally)
            rules[i]->tally(&c, sign);
}

enum err risk_admit(struct risk *r, struct risk_event *ev, struct risk_decision *out)
{
    ev->admitted = false;
    if (!kind_known(ev->kind))
        return risk_evaluate(r, ev, out);
    pthread_mutex_lock(&r->admit);
    enum err e = risk_evaluate(r, ev, out);
    tally(r, ev, +1);
    pthread_mutex_unlock(&r->admit);
    ev->admitted = true;
    return e;
}

void risk_release(struct risk *r, struct risk_event *ev)
{
    if (!ev->admitted || !kind_known(ev->kind))
        return;
    tally(r, ev, -1);
    ev->admitted = false;
}

enum err risk_observe(struct risk *r, const struct risk_event *ev, enum risk_outcome outcome)
{
    if (!kind_known(ev->kind) || outcome < RISK_DONE || outcome > RISK_FAILED)
        return ERR_INVALID_PARAM;
    if (ev->admitted != (outcome == RISK_DONE))
        tally(r, ev, outcome == RISK_DONE ? +1 : -1);
    struct risk_call c = {.r = r, .ev = ev, .addr_key = risk_addr_key(ev->client_addr)};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i]->observe)
            rules[i]->observe(&c, outcome);
    return ERR_OK;
}

void risk_stats(struct risk *r, struct risk_stats *out)
{
    risk_state_stats(&r->state, out);
}

/* ---- convenience reads and writes of one key ---- */

struct ring_io {
    int64_t width, at, amount;
    int64_t count, sum;
};

static void ring_totals_cb(const union risk_payload *p, void *ctx)
{
    struct ring_io *io = ctx;
    risk_ring_totals(&p->counter.ring, io->width, io->at, &io->count, &io->sum);
}

static void ring_add_cb(union risk_payload *p, void *ctx)
{
    struct ring_io *io = ctx;
    risk_ring_add(&p->counter.ring, io->width, io->at, io->amount);
}

static void ring_sub_cb(union risk_payload *p, void *ctx)
{
    struct ring_io *io = ctx;
    risk_ring_sub(&p->counter.ring, io->width, io->at, io->amount);
}

void risk_ring_read(struct risk *r, enum risk_dim dim, int64_t id, int64_t now, int64_t *count, int64_t *sum)
{
    struct ring_io io = {.width = r->width_ms[dim], .at = now};
    risk_state_read(&r->state, dim, id, ring_totals_cb, &io);
    *count = io.count;
    *sum = io.sum;
}

void risk_ring_write(struct risk *r, enum risk_dim dim, int64_t id, int64_t at, int64_t amount)
{
    struct ring_io io = {.width = r->width_ms[dim], .at = at, .amount = amount};
    risk_state_update(&r->state, dim, id, ring_add_cb, &io);
}

void risk_ring_tally(struct risk *r, enum risk_dim dim, int64_t id, int64_t at, int64_t amount, int sign)
{
    struct ring_io io = {.width = r->width_ms[dim], .at = at, .amount = amount};
    if (sign > 0)
        risk_state_update(&r->state, dim, id, ring_add_cb, &io);
    else
        risk_state_change(&r->state, dim, id, ring_sub_cb, &io);
}

struct set_io {
    int64_t window, at, member;
    int n;
};

static void set_count_cb(const union risk_payload *p, void *ctx)
{
    struct set_io *io = ctx;
    io->n = risk_set_count(&p->set, io->window, io->at, io->member);
}

static void set_add_cb(union risk_payload *p, void *ctx)
{
    struct set_io *io = ctx;
    risk_set_add(&p->set, io->member, io->at);
}

int risk_set_read(struct risk *r, enum risk_dim dim, int64_t id, int64_t window_ms, int64_t now, int64_t also)
{
    struct set_io io = {.window = window_ms, .at = now, .member = also, .n = also != 0};
    risk_state_read(&r->state, dim, id, set_count_cb, &io);
    return io.n;
}

void risk_set_write(struct risk *r, enum risk_dim dim, int64_t id, int64_t member, int64_t at)
{
    struct set_io io = {.at = at, .member = member};
    risk_state_update(&r->state, dim, id, set_add_cb, &io);
}

const char *risk_kind_name(enum risk_kind k)
{
    static const char *const names[RISK_KINDS] = {
        [RISK_LOGIN] = "login",   [RISK_CARD_LINK] = "card_link", [RISK_TOPUP] = "topup",
        [RISK_PAYMENT] = "payment", [RISK_REFUND] = "refund",     [RISK_P2P] = "p2p",
    };
    return kind_known(k) ? names[k] : "unknown";
}

const char *risk_verdict_name(enum risk_verdict v)
{
    static const char *const names[] = {"allow", "challenge", "hold", "deny"};
    return v >= RISK_ALLOW && v <= RISK_DENY ? names[v] : "unknown";
}
