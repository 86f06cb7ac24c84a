/* scn_paycode_theft.c: payment codes and register requests in the wrong
 * hands (sim.h).
 *
 * A shoulder-surfer photographs the code on a customer's screen while the
 * customer pays at a store near home, and shows it at a store far away
 * (resellable goods) moments later; a man in the middle captures the
 * register's signed charge request and sends it again; a stolen register
 * guesses well-formed codes; a forger sends charges without the
 * terminal's secret.  Out of scope: the thief who pays with the
 * photographed code before its owner does (the pending-charge challenge of
 * issue 6 is the defence; today a charge in the challenge band at the
 * register is allowed, docs/risk.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

#define GUESSES 14 /* more than the 10 bad codes that block a register */

struct pt {
    struct sim_victims v;
    struct sim_store stolen; /* a register stolen from store 0 */
    bool have_stolen;
};

static void plan(struct sim_world *w, struct sim_attack *a)
{
    struct pt *s = calloc(1, sizeof *s);
    a->state = s;
    if (!sim_victims_pick(w, a, &s->v))
        return;
    s->have_stolen = w->ns > 0 && sim_terminal_create(w, &w->s[0], &s->stolen);
    if (s->have_stolen) {
        sim_push(w, w->horizon * 0.3, SIM_EV_ATTACK, a->index, 0, 1); /* the guessing register */
        sim_push(w, w->horizon * 0.6, SIM_EV_ATTACK, a->index, 0, 2); /* the forger */
    }
    s->v.mail_from = w->mail.n;
}

static void luhn_close(char *d, size_t n)
{
    int sum = 0;
    for (size_t k = 0; k < n - 1; k++) {
        int x = d[n - 2 - k] - '0';
        if (k % 2 == 0) {
            x *= 2;
            if (x > 9)
                x -= 9;
        }
        sum += x;
    }
    d[n - 1] = (char)('0' + (10 - sum % 10) % 10);
    d[n] = '\0';
}

static void shoulder_surf(struct sim_world *w, struct sim_attack *a, struct sim_customer *c)
{
    int home = sim_store_pick(w, c->city, false, NULL);
    int far = sim_store_pick(w, c->city, true, (const char *const[]){"electronics", "tobacco", "giftcards", NULL});
    if (far < 0)
        far = sim_store_pick(w, c->city, true, NULL);
    if (home < 0 || c->expected < 500 || c->signed_out)
        return;
    /* The customer pays 500 yen near home; the register's request is
     * captured on its way. */
    struct sim_resp r;
    sim_call_as(w, "paycode", c, &c->phone, "POST", "/v1/paycodes", json_object(), false, &r);
    sim_legit_outcome(w, &r, 201);
    if (r.status != 201) {
        sim_resp_free(&r);
        return;
    }
    char code[32], idem[64], headers[512];
    snprintf(code, sizeof code, "%s", sim_resp_str(&r, "code"));
    sim_resp_free(&r);
    sim_attack_reached(a, "code_photographed");
    snprintf(idem, sizeof idem, "chg-%s-%" PRIu64, w->tag, ++w->nonce);
    json_t *b = json_pack("{s:s, s:i}", "code", code, "amount", 500);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    sim_pos_headers(w, &w->s[home], "POST", "/pos/v1/charges", body, idem, headers, sizeof headers);
    sim_call_raw(w, "pos_charge", w->s[home].src, "POST", "/pos/v1/charges", headers, body, &r);
    sim_legit_outcome(w, &r, 201);
    if (r.status == 201) {
        c->expected -= 500;
        w->legit.legit_moved += 500;
    }
    sim_resp_free(&r);
    /* The captured request, again, from the man in the middle. */
    char mitm[SIM_SRC_MAX];
    sim_new_src(w, mitm);
    a->st.attempts++;
    sim_call_raw(w, "attack_replay", mitm, "POST", "/pos/v1/charges", headers, body, &r);
    if (r.status >= 200 && r.status < 300)
        sim_attack_reached(a, "replay_answered_without_moving_money"); /* the reconciliation would see a second payment */
    else
        sim_attack_stopped(a, &r, ":replayed_request");
    sim_resp_free(&r);
    free(body);
    /* The photographed code at a far store, moments later. */
    if (far >= 0) {
        a->st.attempts++;
        char idem2[64];
        snprintf(idem2, sizeof idem2, "thief-%s-%" PRIu64, w->tag, ++w->nonce);
        sim_pos_call(w, "attack_charge", &w->s[far], "POST", "/pos/v1/charges",
                     json_pack("{s:s, s:i}", "code", code, "amount", 9000), idem2, &r);
        if (r.status == 201) {
            sim_attack_reached(a, "paid_with_photographed_code");
            a->st.gain += 9000;
            c->expected -= 9000;
        } else {
            sim_attack_stopped(a, &r, ":photographed_code");
        }
        sim_resp_free(&r);
    }
    sodium_memzero(code, sizeof code);
}

static void guess_codes(struct sim_world *w, struct sim_attack *a, struct pt *s)
{
    for (int g = 0; g < GUESSES; g++) {
        char code[20] = "8";
        for (int k = 1; k < 17; k++)
            code[k] = (char)('0' + sim_rng_below(&w->rng, 10));
        luhn_close(code, 18);
        char idem[64];
        snprintf(idem, sizeof idem, "guess-%s-%" PRIu64, w->tag, ++w->nonce);
        a->st.attempts++;
        struct sim_resp r;
        sim_pos_call(w, "attack_guess", &s->stolen, "POST", "/pos/v1/charges",
                     json_pack("{s:s, s:i}", "code", code, "amount", 5000), idem, &r);
        if (r.status == 201) {
            sim_attack_reached(a, "guessed_code_paid");
            a->st.gain += 5000; /* whose wallet: unknown to the thief, and to us */
        } else {
            sim_attack_stopped(a, &r, ":guessed_code");
        }
        sim_resp_free(&r);
    }
}

static void forge(struct sim_world *w, struct sim_attack *a, struct pt *s)
{
    /* The register's key id is printed on its receipts; its secret is not. */
    struct sim_store fake = s->stolen;
    sim_rng_bytes(&w->rng, fake.secret, sizeof fake.secret);
    sim_new_src(w, fake.src);
    char code[20] = "8";
    for (int k = 1; k < 17; k++)
        code[k] = (char)('0' + sim_rng_below(&w->rng, 10));
    luhn_close(code, 18);
    for (int k = 0; k < 3; k++) {
        a->st.attempts++;
        struct sim_resp r;
        char idem[64];
        snprintf(idem, sizeof idem, "forge-%s-%" PRIu64, w->tag, ++w->nonce);
        sim_pos_call(w, "attack_forged", &fake, "POST", "/pos/v1/charges",
                     json_pack("{s:s, s:i}", "code", code, "amount", 3000), idem, &r);
        if (r.status == 201)
            sim_attack_reached(a, "forged_request_accepted");
        else
            sim_attack_stopped(a, &r, ":forged_signature");
        sim_resp_free(&r);
    }
    sodium_memzero(&fake, sizeof fake);
}

static void step(struct sim_world *w, struct sim_attack *a, const struct sim_event *ev)
{
    struct pt *s = a->state;
    if (s == NULL)
        return;
    if (ev->arg == 1)
        guess_codes(w, a, s);
    else if (ev->arg == 2)
        forge(w, a, s);
    else if (ev->actor < s->v.n)
        shoulder_surf(w, a, &w->c[s->v.idx[ev->actor]]);
}

static void finish(struct sim_world *w, struct sim_attack *a)
{
    struct pt *s = a->state;
    if (s == NULL)
        return;
    sim_victims_done(w, a, &s->v);
    sodium_memzero(&s->stolen, sizeof s->stolen);
    free(s);
    a->state = NULL;
}

const struct sim_scenario_ops sim_scn_paycode_theft = {
    .name = "paycode-theft",
    .summary = "codes photographed over a shoulder and shown far away, captured register requests replayed, "
               "codes guessed by a stolen register, register requests forged",
    .plan = plan,
    .step = step,
    .finish = finish,
};
