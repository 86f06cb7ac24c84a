/* population.c: the chain's legitimate customers (sim.h).
 *
 * Before the clock starts every customer signs up (e-mail verification,
 * TOTP), links a test card with 3-D Secure and tops up.  Then, over the
 * simulated minutes, each does a few of the everyday things: pay near home,
 * at a store open at that time of day, with a one-time code at the register
 * (CPM; for a share of the customers sometimes an offline code their phone
 * derives without signal, offline.c) or by scanning the store's QR (MPM),
 * send money to a friend, ask a store for a refund, top up again,
 * move to a new phone, forget the password and reset it.  The app behaves
 * as docs/customer-auth.md asks of a client: it confirms the second factor
 * before moving money from a phone in its new-device cool-down, checks the
 * balance before paying, and answers a challenge (403 fresh_mfa_required)
 * with a TOTP code and the same request again.  Such a challenge is
 * friction: counted in legit_challenged.  Any other refusal of a legitimate
 * operation is a false decline: legit_refused.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

enum act { ACT_CPM, ACT_MPM, ACT_P2P, ACT_REFUND, ACT_TOPUP, ACT_NEW_PHONE, ACT_RESET, ACT_N };
/* Percent of everyday actions of each kind. */
static const int act_weight[ACT_N] = {40, 26, 10, 8, 10, 4, 2};
#define ACTS_PER_CUSTOMER_MINUTE 0.35
#define ACTS_MAX 8 /* stays under the risk engine's per-customer velocity (10 in 1 h) */

/* A refusal the app answers with an extra step (the second factor), or a
 * 202 pending answer: friction, not a decline. */
static bool is_challenge(const struct sim_resp *r)
{
    return r->status == 202 || strcmp(r->code, "fresh_mfa_required") == 0 || strcmp(r->code, "mfa_required") == 0;
}

void sim_legit_outcome(struct sim_world *w, const struct sim_resp *r, int ok_status)
{
    pthread_mutex_lock(&w->lock);
    w->legit.legit_ops++;
    if (r->status == ok_status) {
    } else if (is_challenge(r)) {
        w->legit.legit_challenged++;
    } else {
        w->legit.legit_refused++;
        char check[96];
        sim_check_name(r, check, sizeof check);
        sim_count(w->legit.legit_refusals, check, 1);
    }
    pthread_mutex_unlock(&w->lock);
}

static void moved(struct sim_world *w, int64_t yen)
{
    pthread_mutex_lock(&w->lock);
    w->legit.legit_moved += yen;
    pthread_mutex_unlock(&w->lock);
}

/* A Luhn-valid 16-digit Visa-like number no test card behaviour claims
 * ("49…"), distinct per customer. */
static void card_number(struct sim_world *w, size_t i, char out[20])
{
    snprintf(out, 17, "49%07zu%06" PRIu64, i % 10000000, sim_rng_below(&w->rng, 1000000));
    int sum = 0;
    for (int k = 0; k < 15; k++) {
        int d = out[14 - k] - '0';
        if (k % 2 == 0) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    out[15] = (char)('0' + (10 - sum % 10) % 10);
    out[16] = '\0';
}

static bool link_card(struct sim_world *w, struct sim_customer *c)
{
    struct sim_resp r;
    sim_call_as(w, "card_link", c, &c->phone, "POST", "/v1/cards",
                json_pack("{s:s, s:i, s:i, s:s}", "number", c->card, "exp_month", 12, "exp_year", 2032, "cvc", "123"),
                false, &r);
    sim_legit_outcome(w, &r, 202);
    json_t *id = sim_resp_get(&r, "card.id");
    bool ok = r.status == 202 && json_is_string(id);
    if (ok)
        snprintf(c->card_id, sizeof c->card_id, "%s", json_string_value(id));
    sim_resp_free(&r);
    if (!ok)
        return false;
    const struct sim_mail *m = sim_mailbox_take(&w->mail, c->email, "card verification code");
    char code[8], path[96];
    if (m == NULL || !sim_mail_digits(m, 6, code))
        return false;
    snprintf(path, sizeof path, "/v1/cards/%s/3ds", c->card_id);
    sim_call_as(w, "card_3ds", c, &c->phone, "POST", path, json_pack("{s:s}", "code", code), false, &r);
    sim_legit_outcome(w, &r, 200);
    ok = r.status == 200;
    sim_resp_free(&r);
    if (!ok)
        c->card_id[0] = '\0';
    return ok;
}

/* A money-moving request from the customer's app: a challenge is answered
 * with the second factor and the request sent again with the same key. */
static void app_money(struct sim_world *w, struct sim_customer *c, const char *op, const char *path, json_t *body,
                      int ok_status, struct sim_resp *r)
{
    uint64_t key = c->idem;
    sim_call_as(w, op, c, &c->phone, "POST", path, json_incref(body), true, r);
    sim_legit_outcome(w, r, ok_status);
    if (strcmp(r->code, "fresh_mfa_required") == 0 && sim_mfa(w, c)) {
        sim_resp_free(r);
        c->idem = key; /* the same Idempotency-Key again */
        sim_call_as(w, op, c, &c->phone, "POST", path, json_incref(body), true, r);
        if (r->status != ok_status) {
            /* The retry is the same operation: its refusal is the one to count. */
            w->legit.legit_challenged--;
            w->legit.legit_ops--;
            sim_legit_outcome(w, r, ok_status);
        }
    }
    json_decref(body);
}

static void topup(struct sim_world *w, struct sim_customer *c, int64_t want)
{
    if (c->card_id[0] == '\0')
        return;
    struct sim_resp r;
    sim_call_as(w, "wallet", c, &c->phone, "GET", "/v1/wallet", NULL, false, &r);
    int64_t room = (int64_t)json_integer_value(json_object_get(r.j, "topup_remaining_today"));
    sim_resp_free(&r);
    int64_t amount = want < room ? want : room;
    amount -= amount % 1000;
    if (amount < 1000)
        return; /* the app shows that nothing more may be topped up today */
    if (c->phone.new_device)
        sim_mfa_if_stale(w, c);
    app_money(w, c, "topup", "/v1/topups", json_pack("{s:s, s:I}", "card_id", c->card_id, "amount", (json_int_t)amount),
              201, &r);
    if (r.status == 201) {
        c->expected += amount;
        moved(w, amount);
    }
    sim_resp_free(&r);
}

/* Everything about a new account the PRNG decides, drawn in order before
 * any request: sign-ups may then run on several threads. */
static size_t prepare_account(struct sim_world *w, bool attacker)
{
    if (w->nc == w->cap_c) {
        size_t cap = w->cap_c ? w->cap_c * 2 : 256;
        struct sim_customer *p = realloc(w->c, cap * sizeof *p);
        if (p == NULL)
            return SIZE_MAX;
        w->c = p;
        w->cap_c = cap;
    }
    size_t i = w->nc++;
    struct sim_customer *c = &w->c[i];
    memset(c, 0, sizeof *c);
    c->attacker = attacker;
    snprintf(c->email, sizeof c->email, "%s%zu.%s@example.jp", attacker ? "x" : "c", i, w->tag);
    sim_password(w, c->password, sizeof c->password);
    sim_new_src(w, c->src);
    sim_phone_new(w, &c->phone);
    /* Customers live where the chain has stores. */
    c->city = w->ns ? w->s[sim_rng_below(&w->rng, w->ns)].city : 0;
    for (int k = 0; k < 3; k++)
        c->friends[k] = -1;
    card_number(w, i, c->card);
    c->first_topup = sim_rng_range(&w->rng, 3, 10) * 1000;
    c->reuses_password = !attacker && sim_rng_chance(&w->rng, 0.1);
    c->offline = !attacker && sim_rng_below(&w->rng, 100) < (uint64_t)w->o->offline_share;
    return i;
}

static bool sign_up(struct sim_world *w, size_t i)
{
    struct sim_customer *c = &w->c[i];
    char why[128];
    struct sim_resp r = {.status = 201};
    if (!sim_register(w, c, why, sizeof why)) {
        r.status = 400;
        snprintf(r.code, sizeof r.code, "signup_failed:%.40s", why);
        if (w->o->progress)
            fprintf(stderr, "\nkessai: simulate: %s could not sign up: %s\n", c->email, why);
    }
    if (!c->attacker)
        sim_legit_outcome(w, &r, 201); /* signing up is a legitimate operation too */
    c->onboarded = r.status == 201;
    return c->onboarded;
}

bool sim_make_account(struct sim_world *w, bool attacker, size_t *idx)
{
    *idx = prepare_account(w, attacker);
    return *idx != SIZE_MAX && sign_up(w, *idx);
}

#define SIGNUP_THREADS 8

struct signup_pool {
    struct sim_world *w;
    size_t next, end, done;
};

static void *signup_worker(void *arg)
{
    struct signup_pool *p = arg;
    struct sim_world *w = p->w;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        size_t i = p->next < p->end ? p->next++ : SIZE_MAX;
        pthread_mutex_unlock(&w->lock);
        if (i == SIZE_MAX)
            return NULL;
        struct sim_customer *c = &w->c[i];
        if (sign_up(w, i)) {
            if (link_card(w, c))
                topup(w, c, c->first_topup);
            /* The app of a customer who pays without signal keeps an offline key. */
            if (c->offline)
                sim_offline_key(w, c);
        }
        pthread_mutex_lock(&w->lock);
        size_t done = ++p->done;
        if (w->o->progress && (done % 10 == 0 || done == p->end))
            fprintf(stderr, "\rcustomers signed up: %zu/%zu   ", done, p->end);
        pthread_mutex_unlock(&w->lock);
    }
}

void sim_population_onboard(struct sim_world *w)
{
    for (size_t n = 0; n < (size_t)w->o->customers; n++)
        if (prepare_account(w, false) == SIZE_MAX)
            break;
    w->nlegit = w->nc;
    /* Each customer's sign-up is its own conversation with the server (its
     * own address, mailbox and phone): they run side by side, as many
     * people sign up at once, and what each gets does not depend on the
     * order. */
    struct signup_pool pool = {.w = w, .next = 0, .end = w->nlegit};
    pthread_t t[SIGNUP_THREADS];
    size_t nt = 0;
    for (; nt < SIGNUP_THREADS; nt++)
        if (pthread_create(&t[nt], NULL, signup_worker, &pool) != 0)
            break;
    if (nt == 0)
        signup_worker(&pool);
    for (size_t k = 0; k < nt; k++)
        pthread_join(t[k], NULL);
    /* Friends: three others each (possibly not signed up: then skipped). */
    for (size_t i = 0; i < w->nlegit && w->nlegit > 1; i++)
        for (int k = 0; k < 3; k++) {
            size_t f = (size_t)sim_rng_below(&w->rng, w->nlegit);
            w->c[i].friends[k] = f == i ? -1 : (int)f;
        }
    if (w->o->progress)
        fputc('\n', stderr);
}

void sim_population_plan(struct sim_world *w)
{
    double mean = ACTS_PER_CUSTOMER_MINUTE * (double)w->o->minutes;
    for (size_t i = 0; i < w->nlegit; i++) {
        if (!w->c[i].onboarded)
            continue;
        /* A binomial count around the mean, at most ACTS_MAX. */
        int n = 0;
        for (int k = 0; k < 2 * ACTS_MAX; k++)
            n += sim_rng_chance(&w->rng, mean / (2.0 * ACTS_MAX) > 1 ? 1 : mean / (2.0 * ACTS_MAX));
        if (n > ACTS_MAX)
            n = ACTS_MAX;
        for (int k = 0; k < n; k++) {
            int roll = (int)sim_rng_below(&w->rng, 100), a = 0;
            while (a < ACT_N - 1 && roll >= act_weight[a])
                roll -= act_weight[a++];
            double t = (double)sim_rng_below(&w->rng, (uint64_t)(w->horizon * 1000)) / 1000.0;
            sim_push(w, t, SIM_EV_LEGIT, 0, (uint32_t)i, (uint32_t)a);
        }
    }
}

static void remember_payment(struct sim_customer *c, const char *id, int store, int64_t amount)
{
    size_t k = c->npaid < 4 ? c->npaid++ : (size_t)(amount % 4);
    snprintf(c->paid[k].id, sizeof c->paid[k].id, "%s", id);
    c->paid[k].store = store;
    c->paid[k].amount = amount;
    c->paid[k].refunded = false;
}

void sim_pay_cpm(struct sim_world *w, struct sim_customer *c, struct sim_phone *p, int store, int64_t amount,
                 const char *op_code, const char *op_charge, struct sim_resp *r)
{
    sim_call_as(w, op_code, c, p, "POST", "/v1/paycodes", json_object(), false, r);
    if (r->status != 201)
        return;
    char code[32], idem[64];
    snprintf(code, sizeof code, "%s", sim_resp_str(r, "code"));
    sim_resp_free(r);
    snprintf(idem, sizeof idem, "chg-%s-%" PRIu64, w->tag, ++w->nonce);
    sim_pos_call(w, op_charge, &w->s[store], "POST", "/pos/v1/charges",
                 json_pack("{s:s, s:I}", "code", code, "amount", (json_int_t)amount), idem, r);
    sodium_memzero(code, sizeof code);
    if (r->status == 201)
        c->expected -= amount;
}

static int64_t price(struct sim_world *w, int64_t hi)
{
    int64_t a = sim_rng_range(&w->rng, 1, hi / 10) * 10;
    return a;
}

void sim_population_step(struct sim_world *w, const struct sim_event *ev)
{
    struct sim_customer *c = &w->c[ev->actor];
    struct sim_resp r;
    memset(&r, 0, sizeof r);
    if (c->signed_out) {
        /* The session ended: after the customer's own reset the app knows
         * and signs in; after a defence ended it (a thief used its token)
         * the app's next call is refused first, friction counted as a
         * challenge. */
        if (c->reset_signed_out) {
            sim_login(w, c, &c->phone, &r);
            sim_legit_outcome(w, &r, 200);
        } else {
            sim_call_as(w, "wallet", c, &c->phone, "GET", "/v1/wallet", NULL, false, &r);
            if (r.status == 401) {
                w->legit.legit_ops++;
                w->legit.legit_challenged++;
                sim_resp_free(&r);
                sim_login(w, c, &c->phone, &r);
                sim_legit_outcome(w, &r, 200);
            }
        }
        sim_resp_free(&r);
        c->signed_out = c->reset_signed_out = false;
    }
    switch ((enum act)ev->arg) {
    case ACT_CPM:
    case ACT_MPM: {
        int store = sim_store_pick(w, c->city, false, NULL);
        int64_t amount = price(w, 3000);
        if (store < 0) {
            w->closed_skips++; /* every store near home is closed: another time */
            return;
        }
        if (c->expected < amount) {
            topup(w, c, 5000);
            return;
        }
        /* Without signal (a basement shop) the phone shows an offline code,
         * within the offline limits the app knows. */
        bool offline = ev->arg == ACT_CPM && c->offline && sim_rng_chance(&w->rng, 0.5) && c->phone.has_offline &&
                       amount <= SIM_OFFLINE_PAY_MAX && c->offline_spent + amount <= SIM_OFFLINE_DAILY_MAX;
        if (ev->arg == ACT_CPM) {
            if (offline)
                sim_pay_offline(w, c, store, amount, &r);
            else
                sim_pay_cpm(w, c, &c->phone, store, amount, "paycode", "pos_charge", &r);
            sim_legit_outcome(w, &r, 201);
            json_t *id = sim_resp_get(&r, "charge.id");
            if (r.status == 201 && json_is_string(id)) {
                remember_payment(c, json_string_value(id), store, amount);
                moved(w, amount);
            }
        } else {
            app_money(w, c, "mpm_pay", "/v1/payments",
                      json_pack("{s:s, s:I}", "qr_payload", w->s[store].qr, "amount", (json_int_t)amount), 201, &r);
            json_t *id = sim_resp_get(&r, "payment.id");
            if (r.status == 201 && json_is_string(id)) {
                c->expected -= amount;
                remember_payment(c, json_string_value(id), store, amount);
                moved(w, amount);
            }
        }
        break;
    }
    case ACT_P2P: {
        int f = c->friends[sim_rng_below(&w->rng, 3)];
        int64_t amount = price(w, 3000);
        if (f < 0 || !w->c[f].onboarded || c->expected < amount)
            return;
        if (c->phone.new_device)
            sim_mfa_if_stale(w, c); /* the app asks for the code before sending from a new phone */
        app_money(w, c, "p2p", "/v1/transfers", json_pack("{s:s, s:I}", "to", w->c[f].email, "amount", (json_int_t)amount),
                  201, &r);
        if (r.status == 201) {
            c->expected -= amount;
            w->c[f].expected += amount;
            moved(w, amount);
        }
        break;
    }
    case ACT_REFUND: {
        struct sim_paid *p = NULL;
        for (size_t k = 0; k < c->npaid && p == NULL; k++)
            if (!c->paid[k].refunded)
                p = &c->paid[k];
        if (p == NULL)
            return;
        if (!sim_store_open(w, &w->s[p->store])) {
            w->closed_skips++; /* a closed store refunds nothing: the customer comes back another time */
            return;
        }
        /* Part of it, or all (a returned item, a wrong price). */
        int64_t amount = sim_rng_chance(&w->rng, 0.5) ? p->amount : (p->amount + 1) / 2;
        char path[96], idem[64];
        snprintf(path, sizeof path, "/pos/v1/charges/%s/refunds", p->id);
        snprintf(idem, sizeof idem, "ref-%s-%" PRIu64, w->tag, ++w->nonce);
        sim_pos_call(w, "pos_refund", &w->s[p->store], "POST", path, json_pack("{s:I}", "amount", (json_int_t)amount),
                     idem, &r);
        sim_legit_outcome(w, &r, 201);
        if (r.status == 201) {
            c->expected += amount;
            moved(w, amount);
        }
        p->refunded = true;
        break;
    }
    case ACT_TOPUP:
        topup(w, c, sim_rng_range(&w->rng, 2, 5) * 1000);
        return;
    case ACT_NEW_PHONE: {
        struct sim_phone p;
        sim_phone_new(w, &p);
        bool ok = sim_login(w, c, &p, &r);
        sim_legit_outcome(w, &r, 200);
        if (ok) {
            sim_phone_wipe(&c->phone);
            c->phone = p;
        } else {
            sim_phone_wipe(&p);
        }
        break;
    }
    case ACT_RESET: {
        sim_reset_password(w, c, &r);
        sim_legit_outcome(w, &r, 204);
        break;
    }
    case ACT_N:
        break;
    }
    sim_resp_free(&r);
}
