/* scn_insider_refunds.c: a store issuing refunds to accomplices (sim.h).
 *
 * A clerk with a register of their own at one store of the chain (a
 * gift-card or electronics shop, round the clock if there is one) and a
 * ring of accomplices with fresh accounts, funded from their own cards.
 *
 *   redirect      the clerk refunds a real customer's charge and names an
 *                 accomplice's wallet in the request (extra fields): a
 *                 refund goes to the payer only; a plain one reaches the
 *                 payer, never the ring (no gain; the payer's balance
 *                 follows);
 *   over-refund   more than the charge, and the whole charge twice at the
 *                 same instant under two Idempotency-Keys: bounded by what
 *                 remains;
 *   foreign       a charge of another merchant's store: not the clerk's
 *                 merchant's to see or refund;
 *   cycling       the scheme: an accomplice buys gift cards at the clerk's
 *                 register (a one-time code; or the store's QR) and keeps
 *                 them; minutes later the clerk gives the money back, in
 *                 full, as a void, or in two halves; the money, back in the
 *                 wallet, buys again.  One accomplice first makes a genuine
 *                 return of ordinary goods to look like any customer.
 *                 Every refund that pays out is gain (goods kept, money back
 *                 and spendable).
 *
 * A held refund is looked up in the audit log (`kessai audit search
 * --action risk_held`, as an investigator would) and counted under the
 * rules that held it (both rules together reach deny: risk_denied).  Out of scope (docs/simulate.md): a first refund of
 * goods the risk engine cannot see as resellable (cheap ones, or items the
 * clerk's own register mislabels) to an accomplice never refunded before:
 * it looks like any genuine return; the repeat-payer rule and the store's
 * hourly refund limits bound it.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

#define CYCLES 3          /* purchases an accomplice plans, while the money lasts */
#define PRICE 5000        /* risk_resale_min_amount: below it gift cards are any purchase */
#define COVER_PRICE 2000  /* the cover: ordinary goods, genuinely returned */
#define FUNDS 10000       /* what a new phone may top up in a day */

enum mode { M_REFUND, M_VOID, M_HALVES, M_COVER };

struct bought {
    char id[32]; /* pay_… */
    size_t acc;  /* customer index */
    int64_t amount;
    enum mode mode;
};

struct ir {
    int home;                /* the clerk's store (index in w->s) */
    struct sim_store till;   /* the clerk's own register there */
    bool have_till;
    bool items;              /* the store's category is not high-resale: the till names the gift cards as items */
    struct sim_store foreign; /* another merchant's store and register */
    bool have_foreign;
    size_t *acc;
    size_t nacc;
    struct bought *b;
    size_t nb, cap_b;
    int victim;              /* the real customer whose charge the clerk refunded, -1 none */
    size_t victim_mail;      /* that customer's mail before */
};

static const char *const resale_cats[] = {"giftcards", "electronics", "tobacco", NULL};

static const char *str_of(json_t *j, const char *k)
{
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

/* The clerk's store: a gift-card shop open round the clock if the chain
 * has one, else any high-resale shop, else store 0 (then the gift cards are
 * the charge's items). */
static int pick_home(struct sim_world *w, bool *items)
{
    int best = -1, score = -1;
    for (size_t i = 0; i < w->ns; i++) {
        int s = 0;
        for (int k = 0; resale_cats[k]; k++)
            if (strcmp(w->s[i].category, resale_cats[k]) == 0)
                s = 4 - k;
        if (s > 0 && w->s[i].open_min == 0 && w->s[i].close_min == 24 * 60)
            s += 10;
        if (s > score) {
            score = s;
            best = (int)i;
        }
    }
    *items = score <= 0;
    return best;
}

/* Another merchant with one store and a register, as the operator makes them. */
static bool make_foreign(struct sim_world *w, const struct sim_store *near, struct sim_store *out)
{
    char lat[32], lon[32];
    snprintf(lat, sizeof lat, "%.6f", near->lat + 0.001); /* across the street */
    snprintf(lon, sizeof lon, "%.6f", near->lon);
    char name[64];
    snprintf(name, sizeof name, "Other Books %s", w->tag);
    json_t *j = sim_admin(w, (const char *[]){"admin", "merchant", "create", "--name", name, NULL});
    if (j == NULL)
        return false;
    char mer[32];
    snprintf(mer, sizeof mer, "%s", str_of(j, "id"));
    json_decref(j);
    j = sim_admin(w, (const char *[]){"admin", "store", "create", "--merchant", mer, "--name", name, "--address",
                                      "2-1 Chuo", "--lat", lat, "--lon", lon, "--category",
                                      "convenience", NULL});
    if (j == NULL)
        return false;
    struct sim_store at = {0};
    snprintf(at.id, sizeof at.id, "%s", str_of(j, "id"));
    snprintf(at.category, sizeof at.category, "convenience");
    json_decref(j);
    return sim_terminal_create(w, &at, out);
}

/* Money moved for c by the attack: c's expected balance follows. */
static void moved(struct sim_attack *a, struct sim_customer *c, int64_t yen)
{
    c->expected += yen;
    a->st.attack_moved += yen < 0 ? -yen : yen;
}

/* A fresh account's card (3-D Secure by the code mailed) and a top-up. */
static bool fund(struct sim_world *w, struct sim_attack *a, struct sim_customer *c, int64_t amount)
{
    struct sim_resp r;
    sim_mfa_if_stale(w, c);
    sim_call_as(w, "attack_card_link", c, &c->phone, "POST", "/v1/cards",
                json_pack("{s:s, s:i, s:i, s:s}", "number", c->card, "exp_month", 12, "exp_year", 2032, "cvc", "123"),
                false, &r);
    json_t *id = sim_resp_get(&r, "card.id");
    bool ok = r.status == 202 && json_is_string(id);
    if (ok)
        snprintf(c->card_id, sizeof c->card_id, "%s", json_string_value(id));
    sim_resp_free(&r);
    const struct sim_mail *m = ok ? sim_mailbox_take(&w->mail, c->email, "card verification code") : NULL;
    char code[8], path[96];
    if (m == NULL || !sim_mail_digits(m, 6, code))
        return false;
    snprintf(path, sizeof path, "/v1/cards/%s/3ds", c->card_id);
    sim_call_as(w, "attack_card_3ds", c, &c->phone, "POST", path, json_pack("{s:s}", "code", code), false, &r);
    ok = r.status == 200;
    sim_resp_free(&r);
    if (!ok)
        return false;
    json_t *body = json_pack("{s:s, s:I}", "card_id", c->card_id, "amount", (json_int_t)amount);
    uint64_t key = c->idem;
    sim_call_as(w, "attack_topup", c, &c->phone, "POST", "/v1/topups", json_incref(body), true, &r);
    if (strcmp(r.code, "fresh_mfa_required") == 0 && sim_mfa(w, c)) {
        sim_resp_free(&r);
        c->idem = key;
        sim_call_as(w, "attack_topup", c, &c->phone, "POST", "/v1/topups", json_incref(body), true, &r);
    }
    json_decref(body);
    ok = r.status == 201;
    if (ok)
        moved(a, c, amount);
    sim_resp_free(&r);
    return ok;
}

static void plan(struct sim_world *w, struct sim_attack *a)
{
    struct ir *s = calloc(1, sizeof *s);
    a->state = s;
    if (s == NULL)
        return;
    s->victim = -1;
    if (w->ns == 0)
        return;
    s->home = pick_home(w, &s->items);
    s->have_till = sim_terminal_create(w, &w->s[s->home], &s->till);
    s->have_foreign = make_foreign(w, &w->s[s->home], &s->foreign);
    size_t want = w->nlegit / 250 > 3 ? w->nlegit / 250 : 3;
    s->acc = calloc(want, sizeof *s->acc);
    if (s->acc == NULL || !s->have_till)
        return;
    for (size_t k = 0; k < want; k++) {
        size_t idx;
        if (sim_make_account(w, true, &idx) && fund(w, a, &w->c[idx], FUNDS))
            s->acc[s->nacc++] = idx;
    }
    /* Purchases through the run (arg 3, actor = accomplice * CYCLES + cycle);
     * the refunds are scheduled when a purchase goes through (arg 4). */
    for (size_t k = 0; k < s->nacc; k++)
        for (uint32_t j = 0; j < CYCLES; j++) {
            /* The cover first, given back before the accomplice's next purchase. */
            double t = k == 0 && j == 0 ? w->horizon * 0.02
                                        : w->horizon * (0.05 + 0.3 * j) +
                                              (double)sim_rng_below(&w->rng, (uint64_t)(w->horizon * 0.05 * 1000)) / 1000.0;
            sim_push(w, t, SIM_EV_ATTACK, a->index, (uint32_t)(k * CYCLES + j), 3);
        }
    sim_push(w, w->horizon * 0.4, SIM_EV_ATTACK, a->index, 0, 2); /* foreign */
    sim_push(w, w->horizon * 0.6, SIM_EV_ATTACK, a->index, 0, 1); /* redirect, over-refund */
}

/* ---- the clerk's requests ---- */

static void till_reverse(struct sim_world *w, const struct sim_store *till, const char *charge, json_t *body,
                         bool is_void, struct sim_resp *r)
{
    char path[96], idem[64];
    snprintf(path, sizeof path, "/pos/v1/charges/%s/%s", charge, is_void ? "void" : "refunds");
    snprintf(idem, sizeof idem, "clerk-%s-%" PRIu64, w->tag, ++w->nonce);
    sim_pos_call(w, is_void ? "attack_void" : "attack_refund", till, "POST", path, body, idem, r);
}

/* Count a held (or denied) refund under the rules the audit log names
 * (the payer's newest risk_held or risk_denied), else under the answer's
 * code. */
static void stopped_by_rules(struct sim_world *w, struct sim_attack *a, const struct sim_customer *payer,
                             const struct sim_resp *r, const char *stage)
{
    char suffix[160];
    snprintf(suffix, sizeof suffix, ":%s", stage);
    if (strcmp(r->code, "risk_held") == 0 || strcmp(r->code, "risk_denied") == 0) {
        json_t *j = sim_admin(w, (const char *[]){"audit", "search", "--customer", payer->email, "--action", r->code,
                                                  "--limit", "1", NULL});
        json_t *e = json_array_get(json_object_get(j, "entries"), 0);
        json_t *detail = json_object_get(e, "detail");
        json_t *parsed = json_is_string(detail) ? json_loads(json_string_value(detail), 0, NULL) : json_incref(detail);
        json_t *reasons = json_object_get(parsed, "reasons");
        size_t n = 0;
        for (size_t i = 0; i < json_array_size(reasons); i++) {
            const char *rule = str_of(json_array_get(reasons, i), "rule");
            size_t len = strlen(suffix);
            if (rule[0] && len + strlen(rule) + 2 < sizeof suffix)
                snprintf(suffix + len, sizeof suffix - len, "%s%s", n++ ? "+" : ":", rule);
        }
        json_decref(parsed);
        json_decref(j);
    }
    sim_attack_stopped(a, r, suffix);
}

/* ---- stage: redirect and over-refund, on a real customer's charge ---- */

static struct sim_paid *legit_charge(struct sim_world *w, struct ir *s, int *who)
{
    struct sim_paid *any = NULL;
    for (size_t i = 0; i < w->nlegit; i++) {
        struct sim_customer *c = &w->c[i];
        for (size_t k = 0; k < c->npaid; k++) {
            struct sim_paid *p = &c->paid[k];
            if (p->refunded || !c->onboarded)
                continue;
            if (p->store == s->home) {
                *who = (int)i;
                return p;
            }
            if (any == NULL) {
                any = p;
                *who = (int)i;
            }
        }
    }
    return any; /* the clerk's register refunds any store's charge of the merchant */
}

/* One of two register requests sent at once. */
struct twin {
    struct sim_world *w;
    const char *src, *path, *body;
    char headers[512];
    struct sim_resp r;
};

static void *twin_run(void *arg)
{
    struct twin *t = arg;
    sim_call_raw(t->w, "attack_refund", t->src, "POST", t->path, t->headers, t->body, &t->r);
    return NULL;
}

static char *amount_body(int64_t amount)
{
    json_t *j = json_pack("{s:I}", "amount", (json_int_t)amount);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

static void redirect(struct sim_world *w, struct sim_attack *a, struct ir *s)
{
    int who = -1;
    struct sim_paid *p = legit_charge(w, s, &who);
    if (p == NULL || s->nacc == 0)
        return;
    struct sim_customer *c = &w->c[who], *x = &w->c[s->acc[0]];
    s->victim = who;
    sim_mailbox_poll(&w->mail);
    s->victim_mail = sim_mailbox_count(&w->mail, c->email);
    struct sim_resp r;
    /* The accomplice's wallet named in the request, three ways. */
    const char *fields[] = {"to", "customer", "wallet", NULL};
    const char *values[] = {x->email, x->user_id, x->user_id};
    for (int k = 0; fields[k]; k++) {
        a->st.attempts++;
        till_reverse(w, &s->till, p->id, json_pack("{s:I, s:s}", "amount", (json_int_t)p->amount, fields[k], values[k]),
                     false, &r);
        if (r.status == 201) {
            /* A refund all the same: to the payer (the receipt names no one else). */
            sim_attack_reached(a, "refund_with_extra_field_answered");
            moved(a, c, p->amount);
            p->refunded = true;
        } else {
            sim_attack_stopped(a, &r, ":redirect");
        }
        sim_resp_free(&r);
        if (p->refunded)
            return;
    }
    /* More than the charge. */
    a->st.attempts++;
    till_reverse(w, &s->till, p->id, json_pack("{s:I}", "amount", (json_int_t)(p->amount + 1)), false, &r);
    if (r.status == 201) {
        sim_attack_reached(a, "over_refund_paid");
        moved(a, c, p->amount + 1);
        p->refunded = true;
        sim_resp_free(&r);
        return;
    }
    sim_attack_stopped(a, &r, ":over_refund");
    sim_resp_free(&r);
    /* A plain refund of the whole charge, sent twice at the same instant
     * under two keys from two connections: one reaches the payer (never
     * the ring), the other finds nothing left. */
    struct twin t[2];
    char path[96], *body = amount_body(p->amount);
    snprintf(path, sizeof path, "/pos/v1/charges/%s/refunds", p->id);
    for (int k = 0; k < 2; k++) {
        char idem[64];
        snprintf(idem, sizeof idem, "clerk-%s-%" PRIu64, w->tag, ++w->nonce);
        t[k] = (struct twin){.w = w, .src = s->till.src, .path = path, .body = body};
        sim_pos_headers(w, &s->till, "POST", path, body, idem, t[k].headers, sizeof t[k].headers);
    }
    pthread_t th[2];
    bool threaded[2];
    for (int k = 0; k < 2; k++)
        threaded[k] = pthread_create(&th[k], NULL, twin_run, &t[k]) == 0;
    for (int k = 0; k < 2; k++) {
        if (threaded[k])
            pthread_join(th[k], NULL);
        else
            twin_run(&t[k]); /* no thread: one after the other, still two keys */
    }
    free(body);
    int paid = 0;
    for (int k = 0; k < 2; k++) {
        a->st.attempts++;
        if (t[k].r.status == 201 && paid++ == 0) {
            sim_count(a->st.stopped_by, "refund_to_payer_only", 1);
            moved(a, c, p->amount);
            p->refunded = true;
        } else if (t[k].r.status == 201) {
            sim_attack_reached(a, "refunded_twice");
            moved(a, c, p->amount);
        }
    }
    /* Named after both answers, so that the order they came in changes nothing. */
    for (int k = 0; k < 2; k++) {
        if (t[k].r.status != 201)
            stopped_by_rules(w, a, c, &t[k].r, paid ? "second_key_at_once" : "plain_refund");
        sim_resp_free(&t[k].r);
    }
}

/* ---- stage: cycling ---- */

/* A one-time code from c's phone, charged at till (items: one line of
 * items_cat, or none).  A charge the risk engine makes wait for the
 * customer is approved in the app (the accomplice is in on it).  true with
 * the payment's id. */
static bool pay_cpm_at(struct sim_world *w, struct sim_customer *c, const struct sim_store *till, int64_t amount,
                       const char *items_cat, char id[32])
{
    struct sim_resp r;
    sim_call_as(w, "attack_paycode", c, &c->phone, "POST", "/v1/paycodes", json_object(), false, &r);
    if (r.status != 201) {
        sim_resp_free(&r);
        return false;
    }
    char code[32], idem[64];
    snprintf(code, sizeof code, "%s", sim_resp_str(&r, "code"));
    sim_resp_free(&r);
    snprintf(idem, sizeof idem, "ring-%s-%" PRIu64, w->tag, ++w->nonce);
    json_t *body = json_pack("{s:s, s:I}", "code", code, "amount", (json_int_t)amount);
    if (items_cat)
        json_object_set_new(body, "items",
                            json_pack("[{s:s, s:I}]", "category", items_cat, "amount", (json_int_t)amount));
    sim_pos_call(w, "attack_charge", till, "POST", "/pos/v1/charges", body, idem, &r);
    sodium_memzero(code, sizeof code);
    bool ok = false;
    if (r.status == 201) {
        snprintf(id, 32, "%s", str_of(json_object_get(r.j, "charge"), "id"));
        ok = true;
    } else if (r.status == 202) {
        char pch[32], path[96], totp[TOTP_DIGITS + 1];
        snprintf(pch, sizeof pch, "%s", str_of(json_object_get(r.j, "charge"), "id"));
        sim_resp_free(&r);
        snprintf(path, sizeof path, "/v1/pending-charges/%s/approve", pch);
        sim_totp_next(w, c, totp);
        sim_call_as(w, "attack_approve", c, &c->phone, "POST", path, json_pack("{s:s}", "totp_code", totp), false,
                    &r);
        sodium_memzero(totp, sizeof totp);
        if (r.status >= 200 && r.status < 300) {
            sim_resp_free(&r);
            snprintf(path, sizeof path, "/pos/v1/charges/%s", pch);
            sim_pos_call(w, "attack_charge_read", till, "GET", path, NULL, NULL, &r);
            const char *pay = str_of(json_object_get(r.j, "charge"), "payment");
            ok = r.status == 200 && strncmp(pay, "pay_", 4) == 0;
            if (ok)
                snprintf(id, 32, "%s", pay);
        }
    }
    sim_resp_free(&r);
    return ok;
}

/* The store's QR from c's app (a challenge answered with the second factor). */
static bool pay_mpm_at(struct sim_world *w, struct sim_customer *c, const struct sim_store *store, int64_t amount,
                       char id[32])
{
    json_t *body = json_pack("{s:s, s:I}", "qr_payload", store->qr, "amount", (json_int_t)amount);
    uint64_t key = c->idem;
    struct sim_resp r;
    sim_call_as(w, "attack_mpm", c, &c->phone, "POST", "/v1/payments", json_incref(body), true, &r);
    if (strcmp(r.code, "fresh_mfa_required") == 0 && sim_mfa(w, c)) {
        sim_resp_free(&r);
        c->idem = key;
        sim_call_as(w, "attack_mpm", c, &c->phone, "POST", "/v1/payments", json_incref(body), true, &r);
    }
    json_decref(body);
    json_t *pid = sim_resp_get(&r, "payment.id");
    bool ok = r.status == 201 && json_is_string(pid);
    if (ok)
        snprintf(id, 32, "%s", json_string_value(pid));
    sim_resp_free(&r);
    return ok;
}

/* ---- stage: another merchant's charge ---- */

static void foreign(struct sim_world *w, struct sim_attack *a, struct ir *s)
{
    if (!s->have_foreign || s->nacc == 0)
        return;
    struct sim_customer *x = &w->c[s->acc[0]];
    if (x->expected < 1000)
        return;
    char id[32];
    if (!pay_cpm_at(w, x, &s->foreign, 1000, NULL, id))
        return;
    moved(a, x, -1000); /* a book, kept: the accomplice's own purchase */
    struct sim_resp r;
    a->st.attempts++;
    till_reverse(w, &s->till, id, json_pack("{s:i}", "amount", 1000), false, &r);
    if (r.status == 201) {
        sim_attack_reached(a, "foreign_charge_refunded");
        a->st.gain += 1000;
        moved(a, x, 1000);
    } else {
        sim_attack_stopped(a, &r, ":foreign_charge");
    }
    sim_resp_free(&r);
    a->st.attempts++;
    till_reverse(w, &s->till, id, json_object(), true, &r);
    if (r.status == 201) {
        sim_attack_reached(a, "foreign_charge_voided");
        a->st.gain += 1000;
        moved(a, x, 1000);
    } else {
        sim_attack_stopped(a, &r, ":foreign_void");
    }
    sim_resp_free(&r);
}

static void buy(struct sim_world *w, struct sim_attack *a, struct ir *s, uint32_t actor)
{
    size_t k = actor / CYCLES, j = actor % CYCLES;
    if (k >= s->nacc)
        return;
    struct sim_customer *x = &w->c[s->acc[k]];
    enum mode mode = k == 0 && j == 0 ? M_COVER : (enum mode)((k + j) % 3);
    int64_t amount = mode == M_COVER ? COVER_PRICE : PRICE;
    if (x->expected < amount)
        return; /* the money did not come back: nothing left to cycle */
    char id[32];
    const char *cat = mode == M_COVER ? (s->items ? "household" : NULL) : (s->items ? "giftcards" : NULL);
    /* The store's QR carries no items: paid that way only where the store
     * itself sells gift cards (elsewhere the engine could not tell them
     * from groceries: docs/simulate.md, what it cannot stop). */
    bool ok = mode == M_HALVES && !s->items && w->s[s->home].qr ? pay_mpm_at(w, x, &w->s[s->home], amount, id)
                                                                 : pay_cpm_at(w, x, &s->till, amount, cat, id);
    if (!ok)
        return; /* the accomplice's own purchase did not go through: nothing to give back */
    moved(a, x, -amount);
    sim_attack_reached(a, mode == M_COVER ? "cover_purchase" : "resale_goods_bought");
    if (s->nb == s->cap_b) {
        size_t cap = s->cap_b ? s->cap_b * 2 : 16;
        struct bought *p = realloc(s->b, cap * sizeof *p);
        if (p == NULL)
            return;
        s->b = p;
        s->cap_b = cap;
    }
    struct bought *b = &s->b[s->nb];
    snprintf(b->id, sizeof b->id, "%s", id);
    b->acc = s->acc[k];
    b->amount = amount;
    b->mode = mode;
    /* A while later, on the run's scale (at full size half a minute to
     * two and a half; a void well within the void window). */
    double later = w->horizon / 20 + (double)sim_rng_below(&w->rng, (uint64_t)(w->horizon / 5 * 1000)) / 1000.0;
    sim_push(w, w->now + later, SIM_EV_ATTACK, a->index, (uint32_t)s->nb++, 4);
}

static void give_back(struct sim_world *w, struct sim_attack *a, struct ir *s, uint32_t actor)
{
    if (actor >= s->nb)
        return;
    struct bought *b = &s->b[actor];
    struct sim_customer *x = &w->c[b->acc];
    struct sim_resp r;
    if (b->mode == M_COVER) {
        /* The goods go back on the shelf: money back, nothing kept. */
        till_reverse(w, &s->till, b->id, json_pack("{s:I}", "amount", (json_int_t)b->amount), false, &r);
        if (r.status == 201) {
            sim_attack_reached(a, "cover_returned");
            moved(a, x, b->amount);
        }
        sim_resp_free(&r);
        return;
    }
    int64_t parts[2] = {b->amount, 0};
    if (b->mode == M_HALVES) {
        parts[0] = b->amount / 2;
        parts[1] = b->amount - parts[0];
    }
    static const char *const stage[] = {"cycle_refund", "cycle_void", "cycle_half_refund"};
    for (int k = 0; k < 2 && parts[k] > 0; k++) {
        a->st.attempts++;
        if (b->mode == M_VOID)
            till_reverse(w, &s->till, b->id, json_object(), true, &r);
        else
            till_reverse(w, &s->till, b->id, json_pack("{s:I}", "amount", (json_int_t)parts[k]), false, &r);
        if (r.status == 201) {
            sim_attack_reached(a, "refund_paid_out");
            a->st.gain += parts[k];
            moved(a, x, parts[k]);
        } else {
            stopped_by_rules(w, a, x, &r, stage[b->mode]);
        }
        sim_resp_free(&r);
    }
}

static void step(struct sim_world *w, struct sim_attack *a, const struct sim_event *ev)
{
    struct ir *s = a->state;
    if (s == NULL || !s->have_till)
        return;
    if (ev->arg == 1)
        redirect(w, a, s);
    else if (ev->arg == 2)
        foreign(w, a, s);
    else if (ev->arg == 3)
        buy(w, a, s, ev->actor);
    else if (ev->arg == 4)
        give_back(w, a, s, ev->actor);
}

static void finish(struct sim_world *w, struct sim_attack *a)
{
    struct ir *s = a->state;
    if (s == NULL)
        return;
    /* The customer whose charge the clerk refunded heard of it. */
    if (s->victim >= 0) {
        sim_mailbox_poll(&w->mail);
        a->st.notifications = sim_mailbox_count(&w->mail, w->c[s->victim].email) - s->victim_mail;
    }
    sodium_memzero(&s->till, sizeof s->till);
    sodium_memzero(&s->foreign, sizeof s->foreign);
    free(s->acc);
    free(s->b);
    free(s);
    a->state = NULL;
}

const struct sim_scenario_ops sim_scn_insider_refunds = {
    .name = "insider-refunds",
    .summary = "a clerk's refunds to accomplices: refunds redirected to another wallet, over-refunds and second "
               "keys, another merchant's charge, and gift cards bought and given back again and again",
    .plan = plan,
    .step = step,
    .finish = finish,
};
