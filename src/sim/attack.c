/* attack.c: what every attack scenario shares (sim.h): the scenario table,
 * counting a refusal against the check that made it, the thief's cash-out
 * once an account is in hand (top up from the victim's linked card, buy
 * resellable goods far from the victim's home, send the rest to a mule),
 * and the security alerts the victims received. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

const struct sim_scenario_ops *const sim_scenarios[] = {
    &sim_scn_credential_stuffing, &sim_scn_session_theft, &sim_scn_paycode_theft, &sim_scn_reset_hijack, &sim_scn_card_testing,
    &sim_scn_mules,
    &sim_scn_insider_refunds,
};
const size_t sim_nscenarios = sizeof sim_scenarios / sizeof sim_scenarios[0];

void sim_attack_stopped(struct sim_attack *a, const struct sim_resp *r, const char *suffix)
{
    char check[128];
    sim_check_name(r, check, sizeof check);
    if (suffix) {
        size_t n = strlen(check);
        snprintf(check + n, sizeof check - n, "%s", suffix);
    }
    sim_count(a->st.stopped_by, check, 1);
}

void sim_attack_reached(struct sim_attack *a, const char *stage) { sim_count(a->st.reached, stage, 1); }

static const char *const resale[] = {"electronics", "tobacco", "giftcards", NULL};

void sim_attack_cash_out(struct sim_world *w, struct sim_attack *a, struct sim_customer *victim,
                         struct sim_phone *thief)
{
    struct sim_resp r;
    /* 1. Top up from the victim's linked card, as in 2019. */
    if (victim->card_id[0]) {
        a->st.attempts++;
        sim_call_as(w, "attack_topup", victim, thief, "POST", "/v1/topups",
                    json_pack("{s:s, s:i}", "card_id", victim->card_id, "amount", 10000), true, &r);
        if (r.status == 201) {
            sim_attack_reached(a, "topped_up_from_victim_card");
            victim->expected += 10000;
        } else {
            sim_attack_stopped(a, &r, NULL);
        }
        sim_resp_free(&r);
    }
    /* 2. Resellable goods at a store far from the victim's home, with a
     * one-time code from the thief's phone. */
    int store = sim_store_pick(w, victim->city, true, resale);
    if (store < 0)
        store = sim_store_pick(w, victim->city, true, NULL);
    if (store >= 0) {
        int64_t amount = victim->expected > 9000 ? 9000 : victim->expected;
        if (amount > 0) {
            a->st.attempts++;
            sim_pay_cpm(w, victim, thief, store, amount, "attack_paycode", "attack_charge", &r);
            if (r.status == 201) {
                sim_attack_reached(a, "bought_resale_goods");
                a->st.gain += amount;
            } else {
                sim_attack_stopped(a, &r, NULL);
            }
            sim_resp_free(&r);
        }
    }
    /* 3. The rest to a mule. */
    if (victim->expected > 0) {
        a->st.attempts++;
        int64_t amount = victim->expected > 20000 ? 20000 : victim->expected;
        char mule[64];
        snprintf(mule, sizeof mule, "mule.%s@example.net", w->tag);
        sim_call_as(w, "attack_p2p", victim, thief, "POST", "/v1/transfers",
                    json_pack("{s:s, s:I}", "to", mule, "amount", (json_int_t)amount), true, &r);
        if (r.status == 201) {
            sim_attack_reached(a, "sent_to_mule");
            victim->expected -= amount;
            a->st.gain += amount;
        } else {
            sim_attack_stopped(a, &r, NULL);
        }
        sim_resp_free(&r);
    }
}

static const char *const alerts[] = {"locked", "New sign-in", "Reset your", "password was", "e-mail address was",
                                     "change of your", "Someone tried", "is being added", NULL};

uint64_t sim_attack_alerts(struct sim_world *w, size_t from_mail, const bool *victim)
{
    sim_mailbox_poll(&w->mail);
    uint64_t n = 0;
    for (size_t i = from_mail; i < w->mail.n; i++) {
        const struct sim_mail *m = w->mail.m[i];
        bool alert = false;
        for (const char *const *s = alerts; *s && !alert; s++)
            alert = strstr(m->subject, *s) != NULL;
        if (!alert)
            continue;
        for (size_t c = 0; c < w->nlegit; c++)
            if (victim[c] && strcmp(w->c[c].email, m->to) == 0) {
                n++;
                break;
            }
    }
    return n;
}

bool sim_victims_pick(struct sim_world *w, struct sim_attack *a, struct sim_victims *v)
{
    size_t want = w->nlegit / 50 > 3 ? w->nlegit / 50 : 3;
    *v = (struct sim_victims){.idx = calloc(want, sizeof *v->idx), .flag = calloc(w->nlegit + 1, sizeof *v->flag)};
    if (v->idx == NULL || v->flag == NULL)
        return false;
    for (size_t k = 0; k < want * 4 && v->n < want; k++) {
        uint32_t i = (uint32_t)sim_rng_below(&w->rng, w->nlegit);
        if (!w->c[i].onboarded || v->flag[i])
            continue;
        v->flag[i] = true;
        v->idx[v->n] = i;
        sim_push(w, (double)sim_rng_below(&w->rng, (uint64_t)(w->horizon * 1000)) / 1000.0, SIM_EV_ATTACK, a->index,
                 (uint32_t)v->n++, 0);
    }
    v->mail_from = w->mail.n;
    return true;
}

void sim_victims_done(struct sim_world *w, struct sim_attack *a, struct sim_victims *v)
{
    if (v->flag)
        a->st.notifications = sim_attack_alerts(w, v->mail_from, v->flag);
    free(v->idx);
    free(v->flag);
    *v = (struct sim_victims){0};
}
