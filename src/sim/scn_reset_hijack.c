/* scn_reset_hijack.c: taking an account over through "forgot password"
 * (sim.h), the way the 2019 wallet fell: a reset sent to an address the
 * requester chose.  The attacker knows the victim's address and tries to
 * have the reset mailed elsewhere (an extra field, a second address), then
 * guesses reset tokens, then, holding the victim's mailbox as well (a
 * breached mail provider: the worst case), completes the reset with the
 * real token but without the victim's second factor.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

#define TOKEN_GUESSES 5

struct rh {
    struct sim_victims v;
};

static void plan(struct sim_world *w, struct sim_attack *a)
{
    struct rh *s = calloc(1, sizeof *s);
    a->state = s;
    (void)sim_victims_pick(w, a, &s->v); /* none on failure: nothing happens */
}

/* One request of the attack: true if the server did what was asked. */
static bool attempt(struct sim_world *w, struct sim_attack *a, const char *src, const char *path, json_t *body,
                    int ok_status, const char *how)
{
    a->st.attempts++;
    struct sim_resp r;
    sim_call(w, "attack_reset", src, "POST", path, NULL, body, &r);
    bool ok = r.status == ok_status;
    if (!ok)
        sim_attack_stopped(a, &r, how);
    sim_resp_free(&r);
    return ok;
}

static void step(struct sim_world *w, struct sim_attack *a, const struct sim_event *ev)
{
    struct rh *s = a->state;
    if (s == NULL || ev->actor >= s->v.n)
        return;
    struct sim_customer *c = &w->c[s->v.idx[ev->actor]];
    char src[SIM_SRC_MAX], evil[96], pw[48];
    sim_new_src(w, src);
    snprintf(evil, sizeof evil, "thief%u.%s@example.net", ev->actor, w->tag);
    sim_password(w, pw, sizeof pw);
    /* 1. The reset mailed to the attacker: an extra field, a list. */
    if (attempt(w, a, src, "/v1/password-reset", json_pack("{s:s, s:s}", "email", c->email, "send_to", evil), 202,
                ":redirect_field"))
        sim_attack_reached(a, "reset_request_with_extra_field_accepted");
    if (attempt(w, a, src, "/v1/password-reset", json_pack("{s:[s, s]}", "email", c->email, evil), 202,
                ":second_address"))
        sim_attack_reached(a, "reset_request_with_two_addresses_accepted");
    /* 2. Guessed tokens. */
    for (int g = 0; g < TOKEN_GUESSES; g++) {
        uint8_t raw[32];
        char token[64], totp[8];
        sim_rng_bytes(&w->rng, raw, sizeof raw);
        sodium_bin2base64(token, sizeof token, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        snprintf(totp, sizeof totp, "%06u", (unsigned)sim_rng_below(&w->rng, 1000000));
        if (attempt(w, a, src, "/v1/password-reset/complete",
                    json_pack("{s:s, s:s, s:s}", "token", token, "new_password", pw, "totp_code", totp), 204,
                    ":guessed_token"))
            sim_attack_reached(a, "password_reset_by_attacker");
    }
    /* 3. The real token, read from the victim's breached mailbox; no second
     * factor.  (Asking for the reset is not the attempt: it mails the
     * victim, as it should.) */
    char totp[8], rec[16];
    snprintf(totp, sizeof totp, "%06u", (unsigned)sim_rng_below(&w->rng, 1000000));
    snprintf(rec, sizeof rec, "%05u-%05u", (unsigned)sim_rng_below(&w->rng, 100000),
             (unsigned)sim_rng_below(&w->rng, 100000));
    struct sim_resp r;
    sim_call(w, "attack_reset", src, "POST", "/v1/password-reset", NULL, json_pack("{s:s}", "email", c->email), &r);
    sim_resp_free(&r);
    const struct sim_mail *m = sim_mailbox_take(&w->mail, c->email, "Reset your kessai password");
    char token[80];
    if (m == NULL || !sim_mail_after(m, "Reset token: ", token, sizeof token)) {
        sim_count(a->st.stopped_by, "no_reset_mail", 1);
        return;
    }
    sim_attack_reached(a, "reset_token_stolen_from_mailbox");
    bool done = attempt(w, a, src, "/v1/password-reset/complete",
                        json_pack("{s:s, s:s}", "token", token, "new_password", pw), 204, ":no_second_factor") ||
                attempt(w, a, src, "/v1/password-reset/complete",
                        json_pack("{s:s, s:s, s:s}", "token", token, "new_password", pw, "totp_code", totp), 204,
                        ":second_factor") ||
                attempt(w, a, src, "/v1/password-reset/complete",
                        json_pack("{s:s, s:s, s:s}", "token", token, "new_password", pw, "recovery_code", rec), 204,
                        ":recovery_code");
    if (done) {
        /* The account is the attacker's now: the victim's password is gone. */
        sim_attack_reached(a, "password_reset_by_attacker");
        snprintf(c->password, sizeof c->password, "%s", pw);
    }
    sodium_memzero(token, sizeof token);
    sodium_memzero(pw, sizeof pw);
}

static void finish(struct sim_world *w, struct sim_attack *a)
{
    struct rh *s = a->state;
    if (s == NULL)
        return;
    sim_victims_done(w, a, &s->v);
    free(s);
    a->state = NULL;
}

const struct sim_scenario_ops sim_scn_reset_hijack = {
    .name = "reset-hijack",
    .summary = "password reset sent to the attacker's address or with extra fields, guessed tokens, "
               "the real token (from a breached mailbox) without the second factor",
    .plan = plan,
    .step = step,
    .finish = finish,
};
