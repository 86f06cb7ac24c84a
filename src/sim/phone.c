/* phone.c: the wallet app on a simulated phone (sim.h): its device key,
 * the customer's TOTP authenticator, and the sign-up, sign-in, second
 * factor and password-reset conversations, exactly as docs/customer-auth.md
 * has a client hold them.  The customer's mail is read from the customer's
 * own mailbox (mailbox.c); the TOTP code is computed from the secret the
 * server showed at enrolment, as an authenticator app does. */
#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/sim.h"

/* The server keeps a second factor fresh for 300 s; the app counts a
 * little less, for the time requests travel. */
#define FRESH_S 280

/* The clock the server keeps the second factor fresh by, in seconds. */
static double clock_s(const struct sim_world *w) { return (double)sim_clock_ms(w) / 1000.0; }

void sim_phone_new(struct sim_world *w, struct sim_phone *p)
{
    memset(p, 0, sizeof *p);
    uint8_t seed[crypto_sign_SEEDBYTES];
    sim_rng_bytes(&w->rng, seed, sizeof seed);
    crypto_sign_seed_keypair(p->pk, p->sk, seed);
    sodium_memzero(seed, sizeof seed);
    sodium_bin2base64(p->pk_b64, sizeof p->pk_b64, p->pk, sizeof p->pk, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void sim_phone_wipe(struct sim_phone *p) { sodium_memzero(p, sizeof *p); }

static const char *const words[] = {"violet", "harbour", "teapot",  "lantern", "meadow", "copper",  "walnut",
                                    "glacier", "saffron", "pebble", "thistle", "marble", "juniper", "cobalt",
                                    "orchid", "falcon",  "willow",  "ember",   "tundra", "quartz"};

void sim_password(struct sim_world *w, char *out, size_t n)
{
    /* Three different words: a word twice is "a common word with repeats"
     * to the policy (auth/password.h), and the sign-up would be refused. */
    size_t nw = sizeof words / sizeof words[0];
    size_t a = (size_t)sim_rng_below(&w->rng, nw), b = (a + 1 + (size_t)sim_rng_below(&w->rng, nw - 1)) % nw, c;
    do
        c = (size_t)sim_rng_below(&w->rng, nw);
    while (c == a || c == b);
    snprintf(out, n, "%s-%s-%s-%02d", words[a], words[b], words[c], (int)sim_rng_below(&w->rng, 100));
}

void sim_totp_next(struct sim_world *w, struct sim_customer *c, char out[TOTP_DIGITS + 1])
{
    /* The server takes the current step +-1 and each step once: the
     * smallest usable step after the last one.  On the real clock (--url)
     * clear of a boundary that could pass while the request travels, and
     * waiting when all are used; the simulated clock stands still while a
     * request travels, and the run gives the customer's action a time
     * when its codes are there (sim_phone_ready). */
    bool real = w->clock == NULL;
    for (;;) {
        int64_t now = sim_clock_ms(w) / 1000;
        int64_t cur = now / TOTP_STEP_SECONDS, into = now % TOTP_STEP_SECONDS;
        int64_t lo = real && into >= TOTP_STEP_SECONDS - 3 ? cur : cur - 1;
        int64_t step = c->last_step + 1 > lo ? c->last_step + 1 : lo;
        bool usable = step <= cur + 1 && !(real && step == cur + 1 && into < 1);
        if (usable || !real) {
            if (!usable)
                step = c->last_step; /* every usable step is spent: the used one, refused as it would be */
            if (totp_code(c->seed, step * TOTP_STEP_SECONDS, out) != ERR_OK)
                out[0] = '\0';
            c->last_step = step;
            return;
        }
        nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
    }
}

double sim_phone_ready(const struct sim_world *w, const struct sim_customer *c)
{
    /* Two TOTP steps free (a sign-in and a challenge) once the current
     * step is past the last one used; an offline step free once the step
     * after the current one is past the last shown. */
    int64_t at = c->last_step + 1;
    if (c->phone.has_offline && c->phone.offline_step > at)
        at = c->phone.offline_step;
    double t = (double)(at * TOTP_STEP_SECONDS * 1000 - w->clock_epoch_ms) / 1000.0;
    return t > w->now ? t : w->now;
}

bool sim_device_proof(struct sim_world *w, const char *src, const struct sim_phone *p, char challenge[128],
                      char sig[128])
{
    struct sim_resp r;
    sim_call(w, "login_challenge", src, "POST", "/v1/login/challenge", NULL, json_object(), &r);
    bool ok = r.status == 200 && strlen(sim_resp_str(&r, "challenge")) < 100;
    if (ok) {
        snprintf(challenge, 128, "%s", sim_resp_str(&r, "challenge"));
        char msg[160];
        snprintf(msg, sizeof msg, "kessai-login-v1:%s", challenge);
        uint8_t s[crypto_sign_BYTES];
        crypto_sign_detached(s, NULL, (const uint8_t *)msg, strlen(msg), p->sk);
        sodium_bin2base64(sig, 128, s, sizeof s, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    sim_resp_free(&r);
    return ok;
}

static void take_session(struct sim_phone *p, const struct sim_resp *r)
{
    snprintf(p->token, sizeof p->token, "%s", sim_resp_str(r, "session_token"));
    snprintf(p->device_id, sizeof p->device_id, "%s", sim_resp_str(r, "device_id"));
    p->new_device = json_is_true(json_object_get(r->j, "new_device"));
    p->fresh_until = 0; /* a new session: no second-factor check yet */
}

static json_t *device_json(const struct sim_phone *p)
{
    return json_pack("{s:s, s:s}", "public_key", p->pk_b64, "name", "phone");
}

static bool seed_from_uri(struct sim_customer *c, const char *uri)
{
    const char *p = strstr(uri, "secret=");
    if (p == NULL)
        return false;
    p += 7;
    size_t len = strcspn(p, "&");
    char *raw = NULL;
    size_t rawlen = 0;
    bool ok = oath_base32_decode(p, len, &raw, &rawlen) == OATH_OK && rawlen == TOTP_SEED_BYTES;
    if (ok)
        memcpy(c->seed, raw, TOTP_SEED_BYTES);
    if (raw) {
        sodium_memzero(raw, rawlen);
        free(raw);
    }
    c->last_step = 0;
    return ok;
}

#define FAIL(...)                                   \
    do {                                            \
        snprintf(why, why_n, __VA_ARGS__);          \
        sim_resp_free(&r);                          \
        return false;                               \
    } while (0)

bool sim_register(struct sim_world *w, struct sim_customer *c, char *why, size_t why_n)
{
    struct sim_resp r;
    sim_call(w, "register", c->src, "POST", "/v1/registrations", NULL,
             json_pack("{s:s, s:s}", "email", c->email, "password", c->password), &r);
    if (r.status != 202)
        FAIL("register:%s", r.code[0] ? r.code : "http");
    sim_resp_free(&r);
    const struct sim_mail *m = sim_mailbox_take(&w->mail, c->email, "verification code");
    char code[8], challenge[128], sig[128];
    if (m == NULL || !sim_mail_digits(m, 6, code))
        FAIL("no_verification_mail");
    if (!sim_device_proof(w, c->src, &c->phone, challenge, sig))
        FAIL("login_challenge_refused");
    sim_call(w, "register_verify", c->src, "POST", "/v1/registrations/verify", NULL,
             json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "email", c->email, "password", c->password, "code", code,
                       "device", device_json(&c->phone), "challenge", challenge, "signature", sig),
             &r);
    if (r.status != 201)
        FAIL("verify:%s", r.code[0] ? r.code : "http");
    take_session(&c->phone, &r);
    c->phone.new_device = true; /* the first phone starts its cool-down too */
    sim_resp_free(&r);
    sim_call_as(w, "totp_enrol", c, &c->phone, "POST", "/v1/mfa/totp", json_object(), false, &r);
    if (r.status != 200 || !seed_from_uri(c, sim_resp_str(&r, "otpauth_uri")))
        FAIL("totp_enrol:%s", r.code[0] ? r.code : "http");
    sim_resp_free(&r);
    char totp[8];
    sim_totp_next(w, c, totp);
    sim_call_as(w, "totp_confirm", c, &c->phone, "POST", "/v1/mfa/totp/confirm", json_pack("{s:s}", "code", totp),
                false, &r);
    if (r.status != 200)
        FAIL("totp_confirm:%s", r.code[0] ? r.code : "http");
    const char *rc = json_string_value(json_array_get(json_object_get(r.j, "recovery_codes"), 0));
    snprintf(c->recovery, sizeof c->recovery, "%s", rc ? rc : "");
    if (*sim_resp_str(&r, "session_token"))
        take_session(&c->phone, &r);
    c->phone.fresh_until = clock_s(w) + FRESH_S;
    sim_resp_free(&r);
    sim_call_as(w, "me", c, &c->phone, "GET", "/v1/me", NULL, false, &r);
    if (r.status != 200)
        FAIL("me:%s", r.code[0] ? r.code : "http");
    snprintf(c->user_id, sizeof c->user_id, "%s", sim_resp_str(&r, "id"));
    sim_resp_free(&r);
    return true;
}

bool sim_login(struct sim_world *w, struct sim_customer *c, struct sim_phone *p, struct sim_resp *r)
{
    char challenge[128], sig[128], code[8];
    memset(r, 0, sizeof *r);
    if (!sim_device_proof(w, c->src, p, challenge, sig))
        return false;
    sim_totp_next(w, c, code);
    sim_call(w, "login", c->src, "POST", "/v1/login", NULL,
             json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "email", c->email, "password", c->password, "device",
                       device_json(p), "challenge", challenge, "signature", sig, "totp_code", code),
             r);
    if (r->status != 200)
        return false;
    take_session(p, r);
    return true;
}

bool sim_login_recovery(struct sim_world *w, struct sim_customer *c, struct sim_phone *p, struct sim_resp *r)
{
    char challenge[128], sig[128];
    memset(r, 0, sizeof *r);
    if (c->recovery[0] == '\0' || !sim_device_proof(w, c->src, p, challenge, sig))
        return false;
    sim_call(w, "login", c->src, "POST", "/v1/login", NULL,
             json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "email", c->email, "password", c->password, "device",
                       device_json(p), "challenge", challenge, "signature", sig, "recovery_code", c->recovery),
             r);
    sodium_memzero(c->recovery, sizeof c->recovery); /* used */
    if (r->status != 200)
        return false;
    take_session(p, r);
    return true;
}

bool sim_mfa(struct sim_world *w, struct sim_customer *c)
{
    char code[8];
    sim_totp_next(w, c, code);
    struct sim_resp r;
    sim_call_as(w, "mfa_verify", c, &c->phone, "POST", "/v1/mfa/verify", json_pack("{s:s}", "totp_code", code), false,
                &r);
    bool ok = r.status == 200;
    sim_resp_free(&r);
    if (ok)
        c->phone.fresh_until = clock_s(w) + FRESH_S;
    return ok;
}

bool sim_mfa_if_stale(struct sim_world *w, struct sim_customer *c)
{
    return clock_s(w) < c->phone.fresh_until || sim_mfa(w, c);
}

bool sim_reset_password(struct sim_world *w, struct sim_customer *c, struct sim_resp *r)
{
    sim_call(w, "reset_request", c->src, "POST", "/v1/password-reset", NULL, json_pack("{s:s}", "email", c->email), r);
    if (r->status != 202)
        return false;
    sim_resp_free(r);
    const struct sim_mail *m = sim_mailbox_take(&w->mail, c->email, "Reset your kessai password");
    char token[80], code[8];
    if (m == NULL || !sim_mail_after(m, "Reset token: ", token, sizeof token)) {
        snprintf(r->code, sizeof r->code, "no_reset_mail");
        return false;
    }
    char pw[48];
    sim_password(w, pw, sizeof pw);
    sim_totp_next(w, c, code);
    sim_call(w, "reset_complete", c->src, "POST", "/v1/password-reset/complete", NULL,
             json_pack("{s:s, s:s, s:s}", "token", token, "new_password", pw, "totp_code", code), r);
    sodium_memzero(token, sizeof token);
    if (r->status != 204) {
        sodium_memzero(pw, sizeof pw);
        return false;
    }
    snprintf(c->password, sizeof c->password, "%s", pw);
    sodium_memzero(pw, sizeof pw);
    /* Every session ended: the app signs in again when next opened.  The
     * reset revoked the offline key too: the phone forgets it. */
    c->phone.has_offline = false;
    sodium_memzero(c->phone.offline_key, sizeof c->phone.offline_key);
    c->signed_out = c->reset_signed_out = true;
    return true;
}
