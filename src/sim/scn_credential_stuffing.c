/* scn_credential_stuffing.c: the 2019 incident (sim.h).
 *
 * A list of leaked e-mail/password pairs: for one customer in ten their
 * real password (reused from the breached site), for others an old one,
 * and addresses that have no account here.  A botnet tries them from many
 * client addresses, each a new phone (device key) per try, a few pairs
 * per address to stay under per-source blocks, and one careless bot that
 * runs through many pairs from one address.  Nobody has the victims' TOTP
 * secrets: the second factor is a guess.  Where a sign-in got through, the
 * thief would top up from the linked card, buy resellable goods far from
 * the victim's home and send the rest to a mule (attack.c).
 *
 * The answer to a failed login never says which factor failed; the
 * simulator knows whether the pair held the real password and counts the
 * refusal as "invalid_credentials:second_factor" then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

#define PAIRS_PER_SOURCE 4  /* a careful botnet: under 5 distinct addresses per source */
#define CARELESS_PAIRS 30

struct pair {
    int customer;       /* -1: an address with no account here */
    bool real_password; /* the customer's current password */
    char email[96];
    char password[48];
};

struct cs {
    struct pair *p;
    size_t n;
    size_t mail_from;
    bool *victim;
    char src[SIM_SRC_MAX];   /* the current bot address */
    char careless[SIM_SRC_MAX];
};

static void plan(struct sim_world *w, struct sim_attack *a)
{
    struct cs *s = calloc(1, sizeof *s);
    a->state = s;
    s->victim = calloc(w->nlegit + 1, sizeof *s->victim);
    size_t cap = w->nlegit + w->nlegit / 4 + 8;
    s->p = calloc(cap, sizeof *s->p);
    if (s->p == NULL || s->victim == NULL)
        return;
    for (size_t i = 0; i < w->nlegit && s->n < cap; i++) {
        struct sim_customer *c = &w->c[i];
        if (!c->onboarded)
            continue;
        bool reused = c->reuses_password, old = !reused && sim_rng_chance(&w->rng, 0.2);
        if (!reused && !old)
            continue;
        struct pair *p = &s->p[s->n++];
        p->customer = (int)i;
        p->real_password = reused;
        snprintf(p->email, sizeof p->email, "%s", c->email);
        if (reused)
            snprintf(p->password, sizeof p->password, "%s", c->password);
        else
            sim_password(w, p->password, sizeof p->password);
        s->victim[i] = true;
    }
    size_t unknown = w->nlegit / 4 + 5;
    for (size_t k = 0; k < unknown && s->n < cap; k++) {
        struct pair *p = &s->p[s->n++];
        p->customer = -1;
        snprintf(p->email, sizeof p->email, "leaked%zu.%s@example.org", k, w->tag);
        sim_password(w, p->password, sizeof p->password);
    }
    /* Shuffle (Fisher-Yates): the list is in no useful order. */
    for (size_t i = s->n; i > 1; i--) {
        size_t j = (size_t)sim_rng_below(&w->rng, i);
        struct pair t = s->p[i - 1];
        s->p[i - 1] = s->p[j];
        s->p[j] = t;
    }
    s->mail_from = w->mail.n;
    /* The careful botnet over the first 80% of the window, one try per event. */
    for (size_t i = 0; i < s->n; i++)
        sim_push(w, w->horizon * 0.8 * (double)i / (double)(s->n ? s->n : 1), SIM_EV_ATTACK, a->index, (uint32_t)i, 0);
    /* The careless bot: the same list's first pairs, all from one address. */
    for (size_t i = 0; i < CARELESS_PAIRS && i < s->n; i++)
        sim_push(w, w->horizon * 0.5 + (double)i, SIM_EV_ATTACK, a->index, (uint32_t)i, 1);
    sim_new_src(w, s->careless);
}

static void step(struct sim_world *w, struct sim_attack *a, const struct sim_event *ev)
{
    struct cs *s = a->state;
    if (s == NULL || ev->actor >= s->n)
        return;
    const struct pair *p = &s->p[ev->actor];
    if (ev->arg == 0 && ev->actor % PAIRS_PER_SOURCE == 0)
        sim_new_src(w, s->src);
    struct sim_phone thief;
    sim_phone_new(w, &thief);
    snprintf(thief.src, sizeof thief.src, "%s", ev->arg ? s->careless : s->src);
    a->st.attempts++;
    char challenge[128], sig[128], totp[8];
    /* Drawn first: what the PRNG gives must not depend on the server's
     * timing (which request of a blocked bot the bucket refuses). */
    snprintf(totp, sizeof totp, "%06u", (unsigned)sim_rng_below(&w->rng, 1000000));
    if (p->real_password)
        sim_attack_reached(a, "password_right");
    if (!sim_device_proof(w, thief.src, &thief, challenge, sig)) {
        /* The per-address bucket or the stuffing block: either is the
         * source being stopped, counted as one check. */
        struct sim_resp r = {.status = 429};
        snprintf(r.code, sizeof r.code, "rate_limited");
        sim_attack_stopped(a, &r, NULL);
        sim_phone_wipe(&thief);
        return;
    }
    struct sim_resp r;
    sim_call(w, "attack_login", thief.src, "POST", "/v1/login", NULL,
             json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s}", "email", p->email, "password", p->password, "device",
                       "public_key", thief.pk_b64, "name", "phone", "challenge", challenge, "signature", sig,
                       "totp_code", totp),
             &r);
    if (r.status == 200 && p->customer >= 0) {
        sim_attack_reached(a, "signed_in");
        snprintf(thief.token, sizeof thief.token, "%s", sim_resp_str(&r, "session_token"));
        snprintf(thief.device_id, sizeof thief.device_id, "%s", sim_resp_str(&r, "device_id"));
        sim_resp_free(&r);
        sim_attack_cash_out(w, a, &w->c[p->customer], &thief);
    } else {
        bool second = p->real_password && strcmp(r.code, "invalid_credentials") == 0;
        sim_attack_stopped(a, &r, second ? ":second_factor" : NULL);
        sim_resp_free(&r);
    }
    sim_phone_wipe(&thief);
}

static void finish(struct sim_world *w, struct sim_attack *a)
{
    struct cs *s = a->state;
    if (s == NULL)
        return;
    if (s->victim)
        a->st.notifications = sim_attack_alerts(w, s->mail_from, s->victim);
    if (s->p)
        sodium_memzero(s->p, s->n * sizeof *s->p);
    free(s->p);
    free(s->victim);
    free(s);
    a->state = NULL;
}

const struct sim_scenario_ops sim_scn_credential_stuffing = {
    .name = "credential-stuffing",
    .summary = "leaked e-mail/password pairs (some real, reused) tried from many addresses and new phones; "
               "where a sign-in gets through: top-ups from the linked card, resellable goods far from home",
    .plan = plan,
    .step = step,
    .finish = finish,
};
