/* offline.c: offline codes on the simulated phone (sim.h).
 *
 * The phone gets its key once, the documented way (POST
 * /v1/paycodes/offline-key with a fresh second factor), and from then on
 * derives its codes itself as docs/paycodes.md describes a phone without
 * signal doing (kessai-offline-v1: HMAC-SHA256 of the 30 s step, the offline
 * id, a Luhn check digit).  The derivation is written here from the
 * document, not borrowed from the server: if the two disagree, the
 * simulated offline payments are refused and the run fails.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sim/sim.h"

#define STEP_S 30
#define MAC_PREFIX "kessai-offline-v1:"

bool sim_offline_key(struct sim_world *w, struct sim_customer *c)
{
    struct sim_phone *p = &c->phone;
    struct sim_resp r;
    sim_mfa_if_stale(w, c);
    sim_call_as(w, "offline_key", c, p, "POST", "/v1/paycodes/offline-key", json_object(), false, &r);
    if (strcmp(r.code, "fresh_mfa_required") == 0 && sim_mfa(w, c)) {
        sim_resp_free(&r);
        sim_call_as(w, "offline_key", c, p, "POST", "/v1/paycodes/offline-key", json_object(), false, &r);
    }
    sim_legit_outcome(w, &r, 201);
    const char *key = sim_resp_str(&r, "key"), *id = sim_resp_str(&r, "offline_id");
    size_t n = 0;
    bool ok = r.status == 201 && strlen(id) == 7 &&
              sodium_base642bin(p->offline_key, sizeof p->offline_key, key, strlen(key), NULL, &n, NULL,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
              n == sizeof p->offline_key;
    if (ok) {
        memcpy(p->offline_id, id, 8);
        p->offline_step = 0;
    } else {
        sodium_memzero(p->offline_key, sizeof p->offline_key);
    }
    p->has_offline = ok;
    sim_resp_free(&r);
    return ok;
}

void sim_offline_derive(const uint8_t key[32], const char offline_id[8], int64_t step, char out[19])
{
    uint8_t msg[sizeof MAC_PREFIX - 1 + 8], mac[crypto_auth_hmacsha256_BYTES];
    memcpy(msg, MAC_PREFIX, sizeof MAC_PREFIX - 1);
    for (int i = 0; i < 8; i++)
        msg[sizeof MAC_PREFIX - 1 + (size_t)i] = (uint8_t)((uint64_t)step >> (56 - 8 * i));
    crypto_auth_hmacsha256(mac, msg, sizeof msg, key);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | mac[i];
    snprintf(out, 19, "9%.7s%09" PRIu64, offline_id, v % UINT64_C(1000000000));
    /* Luhn over the 17-digit payload: double every other digit from the right, the last one first. */
    int sum = 0;
    for (int i = 16, k = 0; i >= 0; i--, k++) {
        int d = out[i] - '0';
        if (k % 2 == 0)
            d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
    }
    out[17] = (char)('0' + (10 - sum % 10) % 10);
    out[18] = '\0';
    sodium_memzero(mac, sizeof mac);
}

bool sim_offline_next(struct sim_phone *p, int64_t now_step, char out[19])
{
    /* A step whose code paid already pays no more, so a second payment
     * within the step shows the next step's code, which the server takes
     * too (it accepts one step either side): only a third within the same
     * step has to wait. */
    int64_t step = p->offline_step + 1 > now_step ? p->offline_step + 1 : now_step;
    if (step > now_step + 1)
        return false;
    sim_offline_derive(p->offline_key, p->offline_id, step, out);
    p->offline_step = step;
    return true;
}

void sim_offline_code(struct sim_world *w, struct sim_phone *p, char out[19])
{
    /* With --url a third code within one step waits for the real clock.
     * On the simulated clock nothing waits: the run holds the customer
     * back until its phone has a step (sim_phone_ready); failing that, the
     * used step's code again, refused as it would be. */
    for (;;) {
        if (sim_offline_next(p, sim_clock_ms(w) / 1000 / STEP_S, out))
            return;
        if (w->clock) {
            sim_offline_derive(p->offline_key, p->offline_id, p->offline_step, out);
            return;
        }
        nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
    }
}

void sim_pay_offline(struct sim_world *w, struct sim_customer *c, int store, int64_t amount, struct sim_resp *r)
{
    char code[19], idem[64];
    sim_offline_code(w, &c->phone, code);
    snprintf(idem, sizeof idem, "off-%s-%" PRIu64, w->tag, ++w->nonce);
    sim_pos_call(w, "offline_charge", &w->s[store], "POST", "/pos/v1/charges",
                 json_pack("{s:s, s:I}", "code", code, "amount", (json_int_t)amount), idem, r);
    sodium_memzero(code, sizeof code);
    w->offline.attempts++;
    if (r->status == 201) {
        c->expected -= amount;
        c->offline_spent += amount;
        w->offline.paid++;
        w->offline.yen += amount;
    } else if (r->status == 202) {
        w->offline.challenged++;
    } else {
        w->offline.refused++;
    }
}
