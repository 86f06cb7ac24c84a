/* scn_mules.c: stolen funds moved P2P through chains of fresh accounts
 * (sim.h).
 *
 * The money comes from authorised-push-payment scams, a source no login
 * defence can refuse: a customer is talked into sending it ("your account
 * is compromised, move your money to this safe account"; a fake seller)
 * and does so with their own phone, session and TOTP, topping up from
 * their own card first if the wallet holds too little.  Two shapes:
 *   single    one victim sends 10,000-50,000 yen to a fresh mule account;
 *   smurfing  3-5 victims each send 7,000-9,900 yen (just under the
 *             amount that looks large) to one mule.
 * The ring is 2-3 accounts made through the API; each mule forwards
 * everything it holds to the next, and the last tries to cash out at once:
 * resellable goods at a store far away with a one-time code (CPM), then by
 * scanning the store's QR (MPM), then the rest by P2P to an exit account.
 *
 * Gain is what the ring spent at stores or moved to the exit account;
 * money sitting in a mule's wallet (the platform can freeze it) and
 * transfers held for review are not.  Every request of the ring is an
 * attempt: it ends in a stage reached (victim_sent, forwarded, or a
 * cash-out) or a check.  A risk verdict is named by the rules the staff
 * see in the audit log (`kessai audit search`): "held_for_review:RULES"
 * for a 202, "risk_held:RULES" (409), "risk_denied:RULES" (403).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

#define VICTIMS_MAX 5
#define MULES_MAX 3

struct ring {
    bool smurf;
    size_t nvictims, nmules;
    uint32_t victim[VICTIMS_MAX];
    int64_t amount[VICTIMS_MAX];
    size_t mule[MULES_MAX];
    size_t exit;
    bool ok; /* every account of the ring signed up */
};

struct mules {
    struct ring *r;
    size_t n;
    bool *victim; /* customers picked as victims (nlegit + 1) */
    size_t mail_from;
};

/* Event arg: stage (0: the victims send, 1..nmules: mule stage-1 acts)
 * times 16, plus the victim's index at stage 0. */
#define ARG(stage, sub) ((uint32_t)(stage) * 16u + (uint32_t)(sub))

static bool new_account(struct sim_world *w, size_t *idx)
{
    return sim_make_account(w, true, idx);
}

static void plan(struct sim_world *w, struct sim_attack *a)
{
    struct mules *s = calloc(1, sizeof *s);
    a->state = s;
    if (s == NULL)
        return;
    size_t want = w->nlegit / 200 > 2 ? w->nlegit / 200 : 2;
    s->r = calloc(want, sizeof *s->r);
    s->victim = calloc(w->nlegit + 1, sizeof *s->victim);
    if (s->r == NULL || s->victim == NULL)
        return;
    for (size_t k = 0; k < want; k++) {
        struct ring *g = &s->r[s->n];
        g->smurf = k % 2 == 1;
        size_t nv = g->smurf ? (size_t)sim_rng_range(&w->rng, 3, VICTIMS_MAX) : 1;
        for (size_t tries = 0; tries < nv * 8 && g->nvictims < nv; tries++) {
            uint32_t i = (uint32_t)sim_rng_below(&w->rng, w->nlegit);
            if (!w->c[i].onboarded || s->victim[i])
                continue;
            s->victim[i] = true;
            g->victim[g->nvictims] = i;
            g->amount[g->nvictims++] =
                g->smurf ? sim_rng_range(&w->rng, 70, 99) * 100 : sim_rng_range(&w->rng, 10, 50) * 1000;
        }
        g->nmules = (size_t)sim_rng_range(&w->rng, 2, MULES_MAX);
        double t0 = (double)sim_rng_below(&w->rng, (uint64_t)(w->horizon * 400)) / 1000.0;
        if (g->nvictims == 0) {
            memset(g, 0, sizeof *g); /* nobody to scam: the slot is the next ring's */
            continue;
        }
        uint32_t id = (uint32_t)s->n++;
        for (size_t v = 0; v < g->nvictims; v++)
            sim_push(w, t0 + w->horizon * 0.02 * (double)v, SIM_EV_ATTACK, a->index, id, ARG(0, v));
        for (size_t m = 1; m <= g->nmules; m++)
            sim_push(w, t0 + w->horizon * (0.1 + 0.1 * (double)m), SIM_EV_ATTACK, a->index, id, ARG(m, 0));
    }
    /* The ring's accounts, made after every choice above (sign-ups may
     * realloc the customer table: indices only). */
    for (size_t k = 0; k < s->n; k++) {
        struct ring *g = &s->r[k];
        g->ok = true;
        for (size_t m = 0; m < g->nmules; m++)
            g->ok = g->ok && new_account(w, &g->mule[m]);
        g->ok = g->ok && new_account(w, &g->exit);
    }
    s->mail_from = w->mail.n;
}

/* The rules of customer c's newest decision of `action` ("risk_held",
 * "risk_denied"), as staff read them in the audit log: "r1+r2", or "". */
static void rules_of(struct sim_world *w, const struct sim_customer *c, const char *action, char *out, size_t n)
{
    out[0] = '\0';
    json_t *j = sim_admin(w, (const char *[]){"audit", "search", "--customer", c->email, "--action", action,
                                              "--limit", "1", NULL});
    json_t *reasons = json_object_get(json_object_get(json_array_get(json_object_get(j, "entries"), 0), "detail"),
                                      "reasons");
    size_t i, len = 0;
    json_t *x;
    json_array_foreach(reasons, i, x) {
        const char *rule = json_string_value(json_object_get(x, "rule"));
        if (rule && len < n)
            len += (size_t)snprintf(out + len, n - len, "%s%s", len ? "+" : "", rule);
    }
    json_decref(j);
}

/* Count r, a request of the ring from c, as stage `stage` (status ok) or
 * against the check that stopped it. */
static bool outcome(struct sim_world *w, struct sim_attack *a, const struct sim_customer *c, const struct sim_resp *r,
                    int ok, const char *stage)
{
    if (r->status == ok) {
        sim_attack_reached(a, stage);
        return true;
    }
    const char *action = r->status == 202 || strcmp(r->code, "risk_held") == 0 ? "risk_held"
                         : strcmp(r->code, "risk_denied") == 0               ? "risk_denied"
                                                                              : NULL;
    if (action == NULL) {
        sim_attack_stopped(a, r, NULL);
        return false;
    }
    char rules[160], check[64 + sizeof rules];
    rules_of(w, c, action, rules, sizeof rules);
    snprintf(check, sizeof check, "%s%s%s", r->status == 202 ? "held_for_review" : r->code, rules[0] ? ":" : "",
             rules);
    sim_count(a->st.stopped_by, check, 1);
    return false;
}

/* P2P from c to d, from c's own phone (the second factor first when the
 * app would ask for it). */
static void send_p2p(struct sim_world *w, struct sim_customer *c, struct sim_customer *d, int64_t amount,
                 struct sim_resp *r)
{
    sim_mfa_if_stale(w, c);
    sim_call_as(w, "mules_p2p", c, &c->phone, "POST", "/v1/transfers",
                json_pack("{s:s, s:I}", "to", d->email, "amount", (json_int_t)amount), true, r);
    if (r->status == 201) {
        c->expected -= amount;
        d->expected += amount;
    }
}

/* The victim, talked into it: tops up what is missing, then sends. */
static void victim_sends(struct sim_world *w, struct sim_attack *a, struct ring *g, size_t v)
{
    struct sim_customer *c = &w->c[g->victim[v]];
    struct sim_resp r;
    if (c->signed_out) {
        sim_login(w, c, &c->phone, &r); /* the app signs in again; the victim knows the password */
        sim_resp_free(&r);
        c->signed_out = c->reset_signed_out = false;
    }
    /* What the victim can raise: the balance and what the card may still
     * top up today (a new card's limit). */
    sim_call_as(w, "wallet", c, &c->phone, "GET", "/v1/wallet", NULL, false, &r);
    int64_t room = c->card_id[0] ? (int64_t)json_integer_value(json_object_get(r.j, "topup_remaining_today")) : 0;
    sim_resp_free(&r);
    room -= room % 1000;
    /* The scammer of a single large transfer asks for all of it, up to the
     * planned sum; a smurf's piece is fixed.  A victim who cannot raise a
     * sum of the variant's shape is of no use to this ring (smaller sums:
     * docs/simulate.md, the residual limits). */
    int64_t amount = g->amount[v];
    if (!g->smurf && amount > c->expected + room)
        amount = (c->expected + room) / 1000 * 1000;
    if (amount > c->expected + room || amount < (g->smurf ? 7000 : 10000)) {
        sim_attack_reached(a, "victim_could_not_pay");
        return;
    }
    int64_t missing = amount - c->expected;
    if (missing > 0) {
        missing = (missing + 999) / 1000 * 1000;
        sim_mfa_if_stale(w, c);
        sim_call_as(w, "mules_victim_topup", c, &c->phone, "POST", "/v1/topups",
                    json_pack("{s:s, s:I}", "card_id", c->card_id, "amount", (json_int_t)missing), true, &r);
        if (r.status == 201) {
            c->expected += missing;
            a->st.attack_moved += missing;
            sim_attack_reached(a, "victim_topped_up");
        }
        sim_resp_free(&r);
    }
    if (amount > c->expected) {
        sim_attack_reached(a, "victim_could_not_pay");
        return;
    }
    a->st.attempts++;
    send_p2p(w, c, &w->c[g->mule[0]], amount, &r);
    if (outcome(w, a, c, &r, 201, "victim_sent"))
        a->st.attack_moved += amount;
    sim_resp_free(&r);
}

static const char *const resale[] = {"giftcards", "electronics", NULL};

/* The last mule empties its wallet: goods at the register, goods by QR,
 * the rest to the exit account. */
static void cash_out(struct sim_world *w, struct sim_attack *a, struct ring *g, struct sim_customer *m)
{
    struct sim_resp r;
    int store = sim_store_pick(w, m->city, true, resale);
    if (store < 0)
        store = sim_store_pick(w, m->city, true, NULL);
    if (store >= 0 && m->expected > 0) {
        int64_t amount = m->expected;
        a->st.attempts++;
        sim_mfa_if_stale(w, m);
        sim_pay_cpm(w, m, &m->phone, store, amount, "mules_paycode", "mules_charge", &r);
        if (outcome(w, a, m, &r, 201, "bought_resale_goods_cpm")) {
            a->st.gain += amount;
            a->st.attack_moved += amount;
        }
        sim_resp_free(&r);
    }
    if (store >= 0 && m->expected > 0) {
        int64_t amount = m->expected;
        a->st.attempts++;
        sim_mfa_if_stale(w, m);
        sim_call_as(w, "mules_mpm", m, &m->phone, "POST", "/v1/payments",
                    json_pack("{s:s, s:I}", "qr_payload", w->s[store].qr, "amount", (json_int_t)amount), true, &r);
        if (outcome(w, a, m, &r, 201, "bought_resale_goods_mpm")) {
            m->expected -= amount;
            a->st.gain += amount;
            a->st.attack_moved += amount;
        }
        sim_resp_free(&r);
    }
    if (m->expected > 0) {
        int64_t amount = m->expected;
        a->st.attempts++;
        send_p2p(w, m, &w->c[g->exit], amount, &r);
        if (outcome(w, a, m, &r, 201, "cashed_out_p2p")) {
            a->st.gain += amount;
            a->st.attack_moved += amount;
        }
        sim_resp_free(&r);
    }
}

static void step(struct sim_world *w, struct sim_attack *a, const struct sim_event *ev)
{
    struct mules *s = a->state;
    if (s == NULL || s->r == NULL || ev->actor >= s->n)
        return;
    struct ring *g = &s->r[ev->actor];
    if (!g->ok)
        return;
    size_t stage = ev->arg / 16, sub = ev->arg % 16;
    if (stage == 0) {
        if (sub < g->nvictims)
            victim_sends(w, a, g, sub);
        return;
    }
    if (stage > g->nmules)
        return;
    struct sim_customer *m = &w->c[g->mule[stage - 1]];
    if (stage == g->nmules) {
        cash_out(w, a, g, m);
        return;
    }
    if (m->expected <= 0)
        return; /* nothing reached this mule */
    int64_t amount = m->expected;
    struct sim_resp r;
    a->st.attempts++;
    send_p2p(w, m, &w->c[g->mule[stage]], amount, &r);
    if (outcome(w, a, m, &r, 201, "forwarded"))
        a->st.attack_moved += amount;
    sim_resp_free(&r);
}

static void finish(struct sim_world *w, struct sim_attack *a)
{
    struct mules *s = a->state;
    if (s == NULL)
        return;
    /* The victims' mail about their held transfers. */
    if (s->victim) {
        sim_mailbox_poll(&w->mail);
        for (size_t i = s->mail_from; i < w->mail.n; i++) {
            const struct sim_mail *m = w->mail.m[i];
            if (strstr(m->subject, "held for a check") == NULL)
                continue;
            for (size_t c = 0; c < w->nlegit; c++)
                if (s->victim[c] && strcmp(w->c[c].email, m->to) == 0) {
                    a->st.notifications++;
                    break;
                }
        }
    }
    free(s->r);
    free(s->victim);
    free(s);
    a->state = NULL;
}

const struct sim_scenario_ops sim_scn_mules = {
    .name = "mules",
    .summary = "authorised-push-payment scams (one large transfer, or several victims each under 10,000 yen) "
               "into fresh accounts that forward the money along a chain and cash it out far away",
    .plan = plan,
    .step = step,
    .finish = finish,
};
