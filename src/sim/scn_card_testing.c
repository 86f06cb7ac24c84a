/* scn_card_testing.c: the 2018 incident (sim.h): stolen card numbers
 * (with their expiry; most without the CVC, one in three with it, from a
 * phishing page) tried on fresh accounts the attackers sign up themselves,
 * guessing the CVC, the same card on several accounts, each account on a
 * phone and address of its own (a phone farm), plus one careless tester
 * running every card from one phone.  Where the CVC is right, the issuer
 * sends its 3-D Secure code to its cardholder, the victim, not to the
 * attacker's account (docs/test-cards.md): the attacker guesses it.  Had a
 * card linked, the attacker would top up from it and buy resellable goods:
 * yen that left the cardholder's control.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

#define GUESSES_PER_TRY 4 /* one more than the 3 CVC mismatches an account may have */
#define ACCOUNTS_PER_CARD 2

struct ct {
    uint32_t *card_of;  /* victim customer index per stolen card */
    size_t ncards;
    size_t *account;    /* attacker accounts, ACCOUNTS_PER_CARD per card, then the careless one */
    size_t naccounts;
    uint16_t *cvc;      /* guesses, drawn in advance */
    size_t mail_from;   /* the mailbox index when the attack was planned */
};

static void plan(struct sim_world *w, struct sim_attack *a)
{
    struct ct *s = calloc(1, sizeof *s);
    a->state = s;
    if (s == NULL)
        return;
    sim_mailbox_poll(&w->mail);
    s->mail_from = w->mail.n;
    size_t want = w->nlegit / 100 > 3 ? w->nlegit / 100 : 3;
    s->card_of = calloc(want, sizeof *s->card_of);
    s->account = calloc(want * ACCOUNTS_PER_CARD + 1, sizeof *s->account);
    s->cvc = calloc((want * ACCOUNTS_PER_CARD + 1) * want * GUESSES_PER_TRY, sizeof *s->cvc);
    if (s->card_of == NULL || s->account == NULL || s->cvc == NULL)
        return;
    for (size_t k = 0; k < want * 4 && s->ncards < want; k++) {
        uint32_t i = (uint32_t)sim_rng_below(&w->rng, w->nlegit);
        if (w->c[i].onboarded && w->c[i].card_id[0])
            s->card_of[s->ncards++] = i;
    }
    for (size_t k = 0; k < s->ncards * ACCOUNTS_PER_CARD + 1; k++) {
        size_t idx;
        if (sim_make_account(w, true, &idx))
            s->account[s->naccounts++] = idx;
    }
    for (size_t k = 0; k < s->naccounts * s->ncards * GUESSES_PER_TRY; k++)
        s->cvc[k] = (uint16_t)sim_rng_below(&w->rng, 1000);
    /* Phished cards come with their CVC (the population's cards take 123):
     * the attacker types it first. */
    for (size_t acct = 0; acct < s->naccounts; acct++)
        for (size_t k = 0; k < s->ncards; k += 3)
            s->cvc[(acct * s->ncards + k) * GUESSES_PER_TRY] = 123;
    /* Account k tries card k / ACCOUNTS_PER_CARD; the last (careless) one
     * tries every card. */
    for (size_t k = 0; k < s->naccounts; k++)
        sim_push(w, w->horizon * 0.9 * (double)k / (double)s->naccounts, SIM_EV_ATTACK, a->index, (uint32_t)k, 0);
}

/* Link card number on the attacker's account x, guessing the CVC: true
 * once a card is active. */
static bool try_card(struct sim_world *w, struct sim_attack *a, struct sim_customer *x, const char *number,
                     const uint16_t *guess)
{
    for (int g = 0; g < GUESSES_PER_TRY; g++) {
        char cvc[8];
        snprintf(cvc, sizeof cvc, "%03u", (unsigned)guess[g]);
        sim_mfa_if_stale(w, x); /* linking needs a fresh second factor: the attacker has the account's */
        a->st.attempts++;
        struct sim_resp r;
        sim_call_as(w, "attack_card_link", x, &x->phone, "POST", "/v1/cards",
                    json_pack("{s:s, s:i, s:i, s:s}", "number", number, "exp_month", 12, "exp_year", 2032, "cvc", cvc),
                    false, &r);
        json_t *id = sim_resp_get(&r, "card.id");
        if (r.status == 202 && json_is_string(id)) {
            sim_attack_reached(a, "cvc_guessed");
            snprintf(x->card_id, sizeof x->card_id, "%s", json_string_value(id));
            sim_resp_free(&r);
            /* The issuer's code goes to its cardholder, the victim
             * (docs/test-cards.md): the attacker's mailbox stays empty, so
             * the attacker guesses, three tries. */
            const struct sim_mail *m = sim_mailbox_take_within(&w->mail, x->email, "card verification code", 2000);
            char code[8], path[96];
            snprintf(path, sizeof path, "/v1/cards/%s/3ds", x->card_id);
            bool ok = false;
            for (int t = 0; t < 3 && !ok; t++) {
                if (m == NULL || !sim_mail_digits(m, 6, code))
                    snprintf(code, sizeof code, "%06u", (unsigned)sim_rng_below(&w->rng, 1000000));
                else
                    sim_attack_reached(a, "3ds_code_received");
                a->st.attempts += t > 0;
                sim_call_as(w, "attack_card_3ds", x, &x->phone, "POST", path, json_pack("{s:s}", "code", code), false,
                            &r);
                ok = r.status == 200;
                if (ok)
                    sim_attack_reached(a, "stolen_card_linked");
                else
                    sim_attack_stopped(a, &r, ":3ds");
                bool over = r.status != 400; /* invalid_code leaves tries; anything else ends the check */
                sim_resp_free(&r);
                if (over)
                    break;
            }
            return ok;
        }
        sim_attack_stopped(a, &r, NULL);
        bool blocked = r.status == 429 || r.status == 409 || r.status == 403;
        sim_resp_free(&r);
        if (blocked)
            return false; /* this account is done with this card */
    }
    return false;
}

static void step(struct sim_world *w, struct sim_attack *a, const struct sim_event *ev)
{
    struct ct *s = a->state;
    if (s == NULL || ev->actor >= s->naccounts || s->ncards == 0)
        return;
    struct sim_customer *x = &w->c[s->account[ev->actor]];
    bool careless = ev->actor == s->naccounts - 1;
    size_t first = careless ? 0 : ev->actor / ACCOUNTS_PER_CARD, last = careless ? s->ncards : first + 1;
    for (size_t k = first; k < last && k < s->ncards; k++) {
        const uint16_t *guess = &s->cvc[(ev->actor * s->ncards + k) * GUESSES_PER_TRY];
        if (!try_card(w, a, x, w->c[s->card_of[k]].card, guess))
            continue;
        /* A stolen card on the attacker's account: top up and buy far away. */
        sim_mfa_if_stale(w, x);
        a->st.attempts++;
        struct sim_resp r;
        sim_call_as(w, "attack_topup", x, &x->phone, "POST", "/v1/topups",
                    json_pack("{s:s, s:i}", "card_id", x->card_id, "amount", 10000), true, &r);
        if (r.status == 201) {
            sim_attack_reached(a, "topped_up_from_stolen_card");
            x->expected += 10000;
        } else {
            sim_attack_stopped(a, &r, NULL);
        }
        sim_resp_free(&r);
        int store = sim_store_pick(w, x->city, true, (const char *const[]){"electronics", "tobacco", "giftcards", NULL});
        if (store < 0)
            store = sim_store_pick(w, x->city, true, NULL);
        if (store >= 0 && x->expected > 0) {
            int64_t amount = x->expected > 9000 ? 9000 : x->expected;
            a->st.attempts++;
            sim_pay_cpm(w, x, &x->phone, store, amount, "attack_paycode", "attack_charge", &r);
            if (r.status == 201) {
                sim_attack_reached(a, "bought_resale_goods");
                a->st.gain += amount;
            } else {
                sim_attack_stopped(a, &r, NULL);
            }
            sim_resp_free(&r);
        }
        break;
    }
}

static void finish(struct sim_world *w, struct sim_attack *a)
{
    struct ct *s = a->state;
    if (s == NULL)
        return;
    /* The cardholders warned by their issuer (the card's 3-D Secure code). */
    bool *victim = calloc(w->nlegit + 1, sizeof *victim);
    if (victim != NULL) {
        for (size_t k = 0; k < s->ncards; k++)
            victim[s->card_of[k]] = true;
        a->st.notifications = sim_attack_alerts(w, s->mail_from, victim);
        free(victim);
    }
    free(s->card_of);
    free(s->account);
    free(s->cvc);
    free(s);
    a->state = NULL;
}

const struct sim_scenario_ops sim_scn_card_testing = {
    .name = "card-testing",
    .summary = "stolen card numbers tried with guessed CVCs on fresh accounts of the attackers' own, "
               "two accounts per card on a phone farm, and one careless phone trying every card",
    .plan = plan,
    .step = step,
    .finish = finish,
};
