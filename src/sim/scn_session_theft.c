/* scn_session_theft.c: stolen session tokens (sim.h).
 *
 * A thief gets hold of customers' session tokens (a leaked debug log, a
 * malicious browser extension, a shared screenshot of a request) and uses
 * them from another phone: without the Kessai-Device header, with a guessed
 * device id, then, having learnt it, with the victim's real device id.
 * kessai binds a session to its device: the first wrong use revokes the
 * session on the spot (docs/customer-auth.md), so the last try finds it
 * dead too.  The victim's app is signed out and signs in again.
 *
 * Out of scope: a thief holding the whole phone's state (token, device id
 * and key, unlocked): that is the phone itself, and the owner's defence is
 * to sign out everywhere from another device.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

struct st {
    struct sim_victims v;
};

static void plan(struct sim_world *w, struct sim_attack *a)
{
    struct st *s = calloc(1, sizeof *s);
    a->state = s;
    (void)sim_victims_pick(w, a, &s->v); /* none on failure: nothing happens */
}

/* One use of the stolen token: 2xx means the thief is in. */
static bool try_token(struct sim_world *w, struct sim_attack *a, const char *src, const char *token,
                      const char *device, const char *how)
{
    char headers[300];
    int n = snprintf(headers, sizeof headers, "Authorization: Bearer %s\r\n", token);
    if (device)
        snprintf(headers + n, sizeof headers - (size_t)n, "Kessai-Device: %s\r\n", device);
    a->st.attempts++;
    struct sim_resp r;
    sim_call_raw(w, "attack_stolen_session", src, "POST", "/v1/paycodes", headers, "{}", &r);
    sodium_memzero(headers, sizeof headers);
    bool in = r.status >= 200 && r.status < 300;
    if (in)
        sim_attack_reached(a, "used_stolen_session");
    else
        sim_attack_stopped(a, &r, how);
    sim_resp_free(&r);
    return in;
}

static void step(struct sim_world *w, struct sim_attack *a, const struct sim_event *ev)
{
    struct st *s = a->state;
    if (s == NULL || ev->actor >= s->v.n)
        return;
    struct sim_customer *c = &w->c[s->v.idx[ev->actor]];
    if (c->phone.token[0] == '\0' || c->signed_out)
        return;
    struct sim_phone thief;
    sim_phone_new(w, &thief);
    sim_new_src(w, thief.src);
    char token[64], guess[40];
    snprintf(token, sizeof token, "%s", c->phone.token);
    snprintf(guess, sizeof guess, "dev_%013" PRIu64, sim_rng_below(&w->rng, 10000000000000ULL));
    sim_attack_reached(a, "token_stolen");
    bool in = try_token(w, a, thief.src, token, NULL, ":no_device") ||
              try_token(w, a, thief.src, token, guess, ":guessed_device") ||
              try_token(w, a, thief.src, token, c->phone.device_id, ":revoked_session");
    if (in) {
        snprintf(thief.token, sizeof thief.token, "%s", token);
        snprintf(thief.device_id, sizeof thief.device_id, "%s", c->phone.device_id);
        sim_attack_cash_out(w, a, c, &thief);
    }
    /* The victim's app finds itself signed out at its next call. */
    c->signed_out = true;
    sodium_memzero(token, sizeof token);
    sim_phone_wipe(&thief);
}

static void finish(struct sim_world *w, struct sim_attack *a)
{
    struct st *s = a->state;
    if (s == NULL)
        return;
    sim_victims_done(w, a, &s->v);
    free(s);
    a->state = NULL;
}

const struct sim_scenario_ops sim_scn_session_theft = {
    .name = "session-theft",
    .summary = "stolen session tokens used from another phone: no device id, a guessed one, the victim's own",
    .plan = plan,
    .step = step,
    .finish = finish,
};
