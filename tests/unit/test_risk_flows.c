/* test_risk_flows.c: the risk engine wired into the money flows (issue 6,
 * docs/risk.md "Wired into the flows"), at the domain level: real store,
 * the real group-commit ledger writer, a real engine on the fixture's
 * clock.
 *
 * What the attacker meets: a payment in Osaka minutes after one in Tokyo
 * wants a fresh second factor (and moves nothing without it); at the
 * register it waits for the customer's answer in the app (nothing moves),
 * and is refused once its score reaches hold or deny; refunds turning into cash at one store are
 * held; new accounts fanning money into one recipient are held; a scam's
 * large first transfer to a new account, and a mule passing money on, are
 * held.  What the
 * customer next to them meets: payments at nearby stores go through with
 * no decision stored.  Every refusal moves nothing, and leaves a decision
 * row and an audit entry.  The ledger verifies clean after every test
 * (wf_ledger_stop).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <unistd.h>

#include "auth_fixture.h"
#include "wallet_fixture.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "merchant/merchant.h"
#include "merchant/terminal.h"
#include "pos/sign.h"
#include "risk/risk.h"
#include "risk/risk_internal.h"
#include "wallet/card.h"
#include "wallet/mpm.h"
#include "wallet/p2p.h"
#include "wallet/paycode.h"
#include "wallet/payment.h"
#include "wallet/pending_charge.h"
#include "wallet/review.h"
#include "wallet/topup.h"
#include "wallet/topup_internal.h"

#define MIN_MS (60 * INT64_C(1000))
#define EXP_YEAR 2030

struct cust {
    char email[64];
    struct af_phone phone;
    struct auth_grant g;
    struct auth_session s;
    int64_t wallet;
};

struct rf {
    struct af *f;
    struct ledger_writer *writer;
    struct risk *risk;
    struct gateway *gw;
    struct wallet_ctx w;
    struct merchant m;
    /* Tokyo Station, Ginza and Akihabara within 2 km; Umeda in Osaka,
     * ~400 km away; a tobacco shop next to Tokyo Station. */
    struct merchant_store tokyo, ginza, akiba, umeda, tobacco;
    struct merchant_terminal t_tokyo, t_umeda;
    char *qr_tokyo, *qr_ginza, *qr_akiba, *qr_umeda, *qr_tobacco;
    int64_t card_receivable;
    int next;
    struct pending_op waits; /* the last charge's, when it waits for its customer */
};

static void engine(struct rf *t)
{
    risk_free(t->risk);
    t->risk = NULL;
    assert_int_equal(risk_new(&t->f->cfg.risk, &t->risk), ERR_OK);
}

static void store(struct rf *t, const char *name, int64_t lat, int64_t lon, const char *category,
                  struct merchant_store *s, char **qr)
{
    assert_int_equal(merchant_store_create(t->f->st, t->m.id, name, "1-1-1 Somewhere, Tokyo", lat, lon, category, s),
                     ERR_OK);
    assert_int_equal(mpm_store_payload(t->f->st, s->id, qr), ERR_OK);
}

static int setup(void **state)
{
    struct rf *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->f = af_new();
    t->f->cfg.new_device_cooldown_s = 0; /* a fresh phone would add new_device to every score */
    t->f->cfg.card_new_s = 0;              /* nor the first days' limits of a new card */
    t->f->cfg.risk.max_keys = 8192;
    wf_ledger_start(t->f, &t->writer);
    wf_gateway_open(t->f, &t->gw);
    engine(t);
    assert_int_equal(merchant_create(t->f->st, "Kessai Mart", &t->m), ERR_OK);
    store(t, "Kessai Mart Tokyo Station", 35681236, 139767125, "convenience", &t->tokyo, &t->qr_tokyo);
    store(t, "Kessai Mart Ginza", 35671989, 139764936, "supermarket", &t->ginza, &t->qr_ginza);
    store(t, "Kessai Mart Akihabara", 35698353, 139773114, "convenience", &t->akiba, &t->qr_akiba);
    store(t, "Kessai Mart Umeda", 34702485, 135495951, "convenience", &t->umeda, &t->qr_umeda);
    store(t, "Marunouchi Tobacco", 35682000, 139768000, "tobacco", &t->tobacco, &t->qr_tobacco);
    char secret[TERMINAL_SECRET_HEX_BUF];
    assert_int_equal(terminal_create(t->f->st, t->f->mk, t->tokyo.id, &t->t_tokyo, secret), ERR_OK);
    assert_int_equal(terminal_create(t->f->st, t->f->mk, t->umeda.id, &t->t_umeda, secret), ERR_OK);
    assert_int_equal(ledger_system_account(t->f->st, "card_receivable", &t->card_receivable), ERR_OK);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct rf *t = *state;
    wf_ledger_stop(t->f, t->writer); /* ledger verify: clean */
    risk_free(t->risk);
    gateway_close(t->gw);
    free(t->qr_tokyo);
    free(t->qr_ginza);
    free(t->qr_akiba);
    free(t->qr_umeda);
    free(t->qr_tobacco);
    af_free(t->f);
    free(t);
    return 0;
}

/* The context of the next call: the fixture's, with the engine. */
static const struct wallet_ctx *W(struct rf *t)
{
    wf_ctx(&t->w, t->f, t->writer, t->gw);
    t->w.a.wake = NULL;
    t->w.risk = t->risk;
    return &t->w;
}

/* A card credit under key, straight to the ledger: the engine sees nothing. */
static void credit(struct rf *t, struct cust *c, const char *key, int64_t amount)
{
    struct ledger_transfer x;
    memset(&x, 0, sizeof x);
    snprintf(x.key, sizeof x.key, "%s", key);
    x.debit_account = t->card_receivable;
    x.credit_account = c->wallet;
    x.amount = amount;
    snprintf(x.kind, sizeof x.kind, "topup_card");
    assert_int_equal(ledger_writer_submit_wait(t->writer, &x, 1, NULL, NULL), ERR_OK);
}

static void fund(struct rf *t, struct cust *c, int64_t amount)
{
    char key[32];
    snprintf(key, sizeof key, "test-fund:%d", ++t->next);
    credit(t, c, key, amount);
}

/* A customer with a full, fresh session and `funds` yen. */
static void customer(struct rf *t, struct cust *c, const char *email, int64_t funds)
{
    memset(c, 0, sizeof *c);
    af_customer_signed_in(t->f, email, c->email, sizeof c->email, &c->phone, &c->g, &c->s);
    assert_int_equal(wallet_account(t->f->st, c->s.customer_id, &c->wallet), ERR_OK);
    if (funds > 0)
        fund(t, c, funds);
}

/* Time passes (the session stays signed in, its second factor goes stale). */
static void later(struct rf *t, struct cust *c, int64_t ms)
{
    t->f->now += ms;
    af_auth(t->f, &c->g, &c->s);
}

/* Sign in again: a fresh second factor. */
static void refresh(struct rf *t, struct cust *c)
{
    assert_int_equal(af_login(t->f, c->email, &c->phone, &c->g), ERR_OK);
    af_auth(t->f, &c->g, &c->s);
}

static int64_t balance(struct rf *t, struct cust *c)
{
    struct ledger_account a;
    assert_int_equal(t->f->st->ops->account_get(t->f->st, c->wallet, &a), ERR_OK);
    return a.credits_posted - a.debits_posted;
}

static size_t store_payments(struct rf *t, int64_t store_id)
{
    struct payment p[16];
    size_t n = 0;
    assert_int_equal(t->f->st->ops->payment_list_store(t->f->st, store_id, 0, 16, p, &n), ERR_OK);
    return n;
}

/* Store QR. */
static enum err scan(struct rf *t, struct cust *c, const char *qr, int64_t amount)
{
    char key[32];
    snprintf(key, sizeof key, "scan-%d", ++t->next);
    struct payment_receipt r;
    const char *bad = NULL;
    struct killswitch sw;
    return mpm_pay(W(t), &c->s, qr, amount, key, &r, &bad, &sw);
}

static enum err send_to(struct rf *t, struct cust *c, const char *to, int64_t amount)
{
    char key[32];
    snprintf(key, sizeof key, "p2p-%d", ++t->next);
    struct payment_receipt r;
    const char *bad = NULL;
    struct killswitch sw;
    return p2p_send(W(t), &c->s, to, amount, "", key, &r, &bad, &sw);
}

/* ---- the register, synchronously ----------------------------------------- */

struct wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    enum err e;
    struct payment_receipt r;
};

static void on_done(void *ctx, enum err e, const char *bad, const struct payment_receipt *r)
{
    (void)bad;
    struct wait *wt = ctx;
    pthread_mutex_lock(&wt->mu);
    wt->e = e;
    if (r)
        wt->r = *r;
    wt->done = true;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

static enum err await(struct wait *wt, enum err e, struct payment_receipt *r)
{
    if (e == ERR_OK) {
        pthread_mutex_lock(&wt->mu);
        while (!wt->done)
            pthread_cond_wait(&wt->cv, &wt->mu);
        pthread_mutex_unlock(&wt->mu);
        e = wt->e;
        if (r && e == ERR_OK)
            *r = wt->r;
    }
    pthread_mutex_destroy(&wt->mu);
    pthread_cond_destroy(&wt->cv);
    return e;
}

static void nonce(char out[POS_NONCE_MAX + 1])
{
    uint8_t b[12];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, POS_NONCE_MAX + 1, b, sizeof b);
}

/* The register term charges code for amount under key. */
static enum err charge_code(struct rf *t, const struct merchant_terminal *term, const char *code, int64_t amount,
                            const char *items, const char *key, struct payment_receipt *r)
{
    char n[POS_NONCE_MAX + 1];
    nonce(n);
    struct wait wt = {.done = false};
    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cv, NULL);
    const char *bad = NULL;
    struct killswitch sw;
    struct payment_guess guess; /* no w->guesses here: a bad code is counted at once */
    enum err e = payment_charge(W(t), term, n, code, amount, items, key, on_done, &wt, &bad, &sw, &t->waits, &guess);
    if (e == ERR_OK && t->waits.id != 0) {
        /* It waits for the customer (pending_charge.h): done() never comes.
         * The tests read that as ERR_IN_PROGRESS. */
        pthread_mutex_destroy(&wt.mu);
        pthread_cond_destroy(&wt.cv);
        return ERR_IN_PROGRESS;
    }
    return await(&wt, e, r);
}

/* c shows a new code at the register term; it charges amount under key. */
static enum err charge_key(struct rf *t, struct cust *c, const struct merchant_terminal *term, int64_t amount,
                           const char *items, const char *key, struct payment_receipt *r)
{
    char code[PAYCODE_DIGITS + 1];
    int64_t exp = 0;
    af_auth(t->f, &c->g, &c->s);
    assert_int_equal(paycode_new(W(t), &c->s, code, &exp), ERR_OK);
    return charge_code(t, term, code, amount, items, key, r);
}

/* The same under a key of its own. */
static enum err charge(struct rf *t, struct cust *c, const struct merchant_terminal *term, int64_t amount,
                       const char *items, struct payment_receipt *r)
{
    char key[32];
    snprintf(key, sizeof key, "cpm-%d", ++t->next);
    return charge_key(t, c, term, amount, items, key, r);
}

static enum err reverse(struct rf *t, const struct merchant_terminal *term, int64_t payment_id, int64_t amount,
                        bool is_void)
{
    char n[POS_NONCE_MAX + 1], key[32];
    nonce(n);
    snprintf(key, sizeof key, "rfd-%d", ++t->next);
    struct wait wt = {.done = false};
    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cv, NULL);
    const char *bad = NULL;
    enum err e = payment_refund(W(t), term, n, payment_id, amount, is_void, key, on_done, &wt, &bad);
    return await(&wt, e, NULL);
}

static enum err refund(struct rf *t, const struct merchant_terminal *term, int64_t payment_id, int64_t amount)
{
    return reverse(t, term, payment_id, amount, false);
}

/* ---- what is on file ------------------------------------------------------ */

/* c's stored decisions, newest first. */
static size_t decisions(struct rf *t, int64_t customer_id, struct risk_decision_row *out, size_t max)
{
    size_t n = 0;
    assert_int_equal(t->f->st->ops->risk_decision_list(t->f->st, customer_id, 0, max, out, &n), ERR_OK);
    return n;
}

/* The newest decision of customer_id is `decision` of `kind` with rule
 * among its reasons, and an audit entry `action` names that rule. */
static void on_file(struct rf *t, int64_t customer_id, const char *kind, const char *decision, const char *rule,
                    const char *action)
{
    struct risk_decision_row d[4];
    assert_true(decisions(t, customer_id, d, 4) >= 1);
    assert_string_equal(d[0].kind, kind);
    assert_string_equal(d[0].decision, decision);
    assert_non_null(strstr(d[0].reasons, rule));
    char want[80];
    snprintf(want, sizeof want, "\"rule\":\"%s\"", rule);
    assert_true(af_events_with(t->f, customer_id, action, want) >= 1);
}

/* ---- payments -------------------------------------------------------------- */

static void ordinary_payments_at_nearby_stores_are_allowed(void **state)
{
    struct rf *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com", 50000);
    /* A day in Tokyo: the register, the store QR with a stale session,
     * stores 1-2 km apart minutes from each other. */
    assert_int_equal(charge(t, &a, &t->t_tokyo, 480, "", NULL), ERR_OK);
    later(t, &a, 10 * MIN_MS);
    assert_int_equal(scan(t, &a, t->qr_ginza, 1200), ERR_OK);
    later(t, &a, 10 * MIN_MS);
    assert_int_equal(scan(t, &a, t->qr_akiba, 3400), ERR_OK);
    later(t, &a, 10 * MIN_MS);
    assert_int_equal(scan(t, &a, t->qr_tokyo, 700), ERR_OK);
    assert_int_equal(charge(t, &a, &t->t_tokyo, 300, "", NULL), ERR_OK);
    assert_int_equal(balance(t, &a), 50000 - 480 - 1200 - 3400 - 700 - 300);
    /* allows are not stored, and nobody was bothered */
    struct risk_decision_row d[1];
    assert_int_equal(decisions(t, a.s.customer_id, d, 1), 0);
    assert_int_equal(af_events(t->f, a.s.customer_id, "risk_challenged"), 0);
    /* the engine saw them: risk_observe ran for each */
    struct risk_stats rs;
    risk_stats(t->risk, &rs);
    assert_true(rs.keys > 0);
}

static void impossible_travel_by_qr_wants_a_fresh_second_factor(void **state)
{
    struct rf *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com", 50000);
    assert_int_equal(scan(t, &a, t->qr_tokyo, 1000), ERR_OK);
    /* Osaka, ten minutes later, with the session alone (a copied session):
     * 400 km in 10 min is 2,400 km/h. */
    later(t, &a, 10 * MIN_MS);
    assert_int_equal(scan(t, &a, t->qr_umeda, 1000), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(balance(t, &a), 49000);
    assert_int_equal(store_payments(t, t->umeda.id), 0);
    on_file(t, a.s.customer_id, "payment", "challenge", "impossible_travel", "risk_challenged");
    assert_int_equal(af_events_with(t->f, a.s.customer_id, "payment_refused", "fresh_mfa_required"), 1);
    /* The owner, who really is in Osaka (a flight), confirms: it goes through. */
    refresh(t, &a);
    assert_int_equal(scan(t, &a, t->qr_umeda, 1000), ERR_OK);
    assert_int_equal(balance(t, &a), 48000);
    assert_int_equal(store_payments(t, t->umeda.id), 1);
}

static void impossible_travel_at_the_register(void **state)
{
    struct rf *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com", 50000);
    customer(t, &b, "ben@example.com", 50000);

    /* In the challenge band a register's charge waits for the customer's
     * answer in the app (pending_charge.h): nothing moves yet, and the
     * decision is on file. */
    assert_int_equal(charge(t, &a, &t->t_tokyo, 1000, "", NULL), ERR_OK);
    later(t, &a, 10 * MIN_MS);
    assert_int_equal(charge(t, &a, &t->t_umeda, 1000, "", NULL), ERR_IN_PROGRESS);
    assert_string_equal(t->waits.status, PENDING_AWAITING);
    assert_int_equal(t->waits.p.amount, 1000);
    assert_int_equal(balance(t, &a), 49000);
    assert_int_equal(store_payments(t, t->umeda.id), 0);
    on_file(t, a.s.customer_id, "payment", "challenge", "impossible_travel", "risk_challenged");
    /* The engine's windows hold the Tokyo charge only: the waiting one
     * counts if and when it is approved. */
    int64_t n, sum;
    risk_ring_read(t->risk, DIM_VEL_CUSTOMER, a.s.customer_id, t->f->now, &n, &sum);
    assert_int_equal(n, 1);
    assert_int_equal(sum, 1000);
    /* The guard the approval's transaction writes under: never at or after
     * expires_at, even when nobody has read the charge since it expired. */
    struct store *st = t->f->st;
    assert_int_equal(st->ops->pending_op_decide(st, t->waits.id, PENDING_AWAITING, PENDING_SUCCEEDED,
                                                t->waits.expires_ms, 0, 1, "", t->waits.expires_ms),
                     ERR_CONFLICT);
    struct pending_op still;
    assert_int_equal(st->ops->pending_op_get(st, t->waits.id, &still), ERR_OK);
    assert_string_equal(still.status, PENDING_AWAITING);
    assert_int_equal(still.p.id, 0);

    /* Tuned so that impossible travel alone is a deny: refused, nothing moves. */
    t->f->cfg.risk.travel_score = t->f->cfg.risk.deny_score;
    engine(t);
    assert_int_equal(charge(t, &b, &t->t_tokyo, 1000, "", NULL), ERR_OK);
    later(t, &b, 10 * MIN_MS);
    assert_int_equal(charge(t, &b, &t->t_umeda, 1000, "", NULL), ERR_RISK_DENIED);
    assert_int_equal(balance(t, &b), 49000);
    assert_int_equal(store_payments(t, t->umeda.id), 0);
    on_file(t, b.s.customer_id, "payment", "deny", "impossible_travel", "risk_denied");
}

/* The register's retry of a charge that waited is answered with that
 * charge, whatever code it shows and whatever the engine says now: a
 * charge the customer declined does not pay when the register sends it
 * again with a fresh code once the engine would let it through. */
static void a_declined_charge_stays_declined_when_the_register_retries(void **state)
{
    struct rf *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com", 50000);
    assert_int_equal(charge(t, &a, &t->t_tokyo, 1000, "", NULL), ERR_OK);
    later(t, &a, 10 * MIN_MS);
    assert_int_equal(charge_key(t, &a, &t->t_umeda, 1000, "", "till-umeda", NULL), ERR_IN_PROGRESS);
    int64_t id = t->waits.id;
    struct pending_op p;
    assert_int_equal(pending_charge_decline(W(t), &a.s, id, &p, NULL), ERR_OK);
    assert_string_equal(p.status, PENDING_DECLINED);
    /* a day later nothing is impossible about Osaka */
    t->f->now += 24 * 60 * MIN_MS;
    refresh(t, &a);
    assert_int_equal(charge_key(t, &a, &t->t_umeda, 1000, "", "till-umeda", NULL), ERR_IN_PROGRESS);
    assert_int_equal(t->waits.id, id);
    assert_string_equal(t->waits.status, PENDING_DECLINED);
    assert_int_equal(balance(t, &a), 49000);
    assert_int_equal(store_payments(t, t->umeda.id), 0);
    /* a new request (a new key) is a new charge */
    assert_int_equal(charge(t, &a, &t->t_umeda, 1000, "", NULL), ERR_OK);
    assert_int_equal(balance(t, &a), 48000);
}

static void refunds_turned_into_cash_are_held(void **state)
{
    struct rf *t = *state;
    t->f->cfg.risk.refund_count = 2; /* a small store: a third refund within the hour is odd */
    engine(t);
    struct cust a;
    customer(t, &a, "aiko@example.com", 50000);
    struct payment_receipt r;
    assert_int_equal(charge(t, &a, &t->t_tokyo, 9000, "", &r), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, r.p.id, 1000), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, r.p.id, 1000), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, r.p.id, 1000), ERR_RISK_HELD);
    assert_int_equal(balance(t, &a), 50000 - 9000 + 2000);
    on_file(t, a.s.customer_id, "refund", "hold", "refunds_store_count", "risk_held");
}

/* insider-refunds: the clerk's accomplice buys gift cards, keeps them, and
 * the clerk gives the money back minutes later, as a refund or a void. */
static void resale_goods_given_back_at_once_are_held(void **state)
{
    struct rf *t = *state;
    struct cust x, a;
    customer(t, &x, "accomplice@example.com", 30000);
    customer(t, &a, "aiko@example.com", 30000);
    const char *gift = "[{\"category\":\"giftcards\",\"amount\":9000}]";
    struct payment_receipt r;
    assert_int_equal(charge(t, &x, &t->t_tokyo, 9000, gift, &r), ERR_OK);
    later(t, &x, 5 * MIN_MS);
    assert_int_equal(refund(t, &t->t_tokyo, r.p.id, 9000), ERR_RISK_HELD);
    assert_int_equal(reverse(t, &t->t_tokyo, r.p.id, 0, true), ERR_RISK_HELD);
    assert_int_equal(refund(t, &t->t_tokyo, r.p.id, 4500), ERR_RISK_HELD); /* in parts: the same goods */
    /* nothing moved; the decision and the audit entry name the rule */
    assert_int_equal(balance(t, &x), 21000);
    struct payment p;
    assert_int_equal(t->f->st->ops->payment_get(t->f->st, r.p.id, &p), ERR_OK);
    assert_int_equal(p.refunded, 0);
    on_file(t, x.s.customer_id, "refund", "hold", "refund_resale_fast", "risk_held");
    /* the customer next to them returns a drink */
    const char *drink = "[{\"category\":\"drinks\",\"amount\":300}]";
    assert_int_equal(charge(t, &a, &t->t_tokyo, 300, drink, &r), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, r.p.id, 300), ERR_OK);
    assert_int_equal(balance(t, &a), 30000);
}

/* The ring's cycles with goods the resale rule does not see: the first
 * refund is any genuine return, the second to the same payer at the store
 * is held; another payment's second partial refund is not a second payer
 * refund. */
static void the_same_payer_refunded_again_is_held(void **state)
{
    struct rf *t = *state;
    struct cust x;
    customer(t, &x, "accomplice@example.com", 30000);
    struct payment_receipt r1, r2;
    assert_int_equal(charge(t, &x, &t->t_tokyo, 3000, "", &r1), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, r1.p.id, 1000), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, r1.p.id, 2000), ERR_OK); /* the rest of the same payment */
    assert_int_equal(charge(t, &x, &t->t_tokyo, 3000, "", &r2), ERR_OK);
    assert_int_equal(reverse(t, &t->t_tokyo, r2.p.id, 0, true), ERR_RISK_HELD);
    assert_int_equal(refund(t, &t->t_tokyo, r2.p.id, 3000), ERR_RISK_HELD);
    assert_int_equal(balance(t, &x), 27000);
    on_file(t, x.s.customer_id, "refund", "hold", "refund_repeat_payer", "risk_held");
    /* a month and a day later it is a customer returning things now and then */
    t->f->now += 31 * 24 * 60 * MIN_MS;
    assert_int_equal(refund(t, &t->t_tokyo, r2.p.id, 3000), ERR_OK);
    assert_int_equal(balance(t, &x), 30000);
}

/* A register of the merchant at store s (any register may refund any of
 * the merchant's payments). */
static void register_at(struct rf *t, const struct merchant_store *s, struct merchant_terminal *term)
{
    char secret[TERMINAL_SECRET_HEX_BUF];
    assert_int_equal(terminal_create(t->f->st, t->f->mk, s->id, term, secret), ERR_OK);
}

/* When store_id's registers last gave customer_id money back (0: never). */
static int64_t last_refund_by(struct rf *t, int64_t customer_id, int64_t store_id)
{
    int64_t at = -1;
    assert_int_equal(t->f->st->ops->payment_last_refund(t->f->st, customer_id, store_id, 0, 0, &at), ERR_OK);
    return at;
}

/* The insider scheme spread over the chain: the accomplices pay at other
 * branches (a store's QR pays from anywhere), and the clerk refunds every
 * one from their own register.  Counted by the refunding register's store,
 * the third refund within the hour is held exactly as when the payments
 * were that store's own; by the payment's store (before) all passed. */
static void refunds_of_other_branches_payments_count_at_the_refunding_store(void **state)
{
    struct rf *t = *state;
    t->f->cfg.risk.refund_count = 2;
    struct cust c[6];
    char email[64];
    for (int i = 0; i < 6; i++) {
        snprintf(email, sizeof email, "acc%d@example.com", i); /* one payer each: not refund_repeat_payer */
        customer(t, &c[i], email, 10000);
    }
    struct payment_receipt r;
    /* the store's own payments, at its register */
    engine(t);
    int64_t own[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(charge(t, &c[i], &t->t_tokyo, 1000, "", &r), ERR_OK);
        own[i] = r.p.id;
    }
    assert_int_equal(refund(t, &t->t_tokyo, own[0], 1000), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, own[1], 1000), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, own[2], 1000), ERR_RISK_HELD);
    on_file(t, c[2].s.customer_id, "refund", "hold", "refunds_store_count", "risk_held");
    /* the same with payments made at three other branches */
    engine(t);
    const char *qr[3] = {t->qr_ginza, t->qr_akiba, t->qr_tobacco};
    int64_t away[3];
    for (int i = 0; i < 3; i++) {
        struct payment_receipt q;
        const char *bad = NULL;
        struct killswitch sw;
        char key[32];
        snprintf(key, sizeof key, "scan-%d", ++t->next);
        assert_int_equal(mpm_pay(W(t), &c[3 + i].s, qr[i], 1000, key, &q, &bad, &sw), ERR_OK);
        away[i] = q.p.id;
    }
    assert_int_equal(refund(t, &t->t_tokyo, away[0], 1000), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, away[1], 1000), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, away[2], 1000), ERR_RISK_HELD);
    on_file(t, c[5].s.customer_id, "refund", "hold", "refunds_store_count", "risk_held");
    struct risk_decision_row d[1];
    assert_int_equal(decisions(t, c[5].s.customer_id, d, 1), 1);
    assert_int_equal(d[0].store_id, t->tokyo.id); /* the refunding store's decision */
    for (int i = 0; i < 6; i++)
        assert_int_equal(balance(t, &c[i]), i % 3 == 2 ? 9000 : 10000);
}

/* n customers acc<i>@example.com with 10,000 yen, each of whom paid 1,000
 * at Tokyo Station's register: payment id[i]. */
static void payers(struct rf *t, struct cust *c, int64_t *id, int n)
{
    char email[64];
    for (int i = 0; i < n; i++) {
        snprintf(email, sizeof email, "acc%d@example.com", i);
        customer(t, &c[i], email, 10000);
        struct payment_receipt r;
        assert_int_equal(charge(t, &c[i], &t->t_tokyo, 1000, "", &r), ERR_OK);
        id[i] = r.p.id;
    }
}

/* One register's refund on a thread (and a connection) of its own, as
 * kessaid's HTTP threads give them. */
struct burst {
    struct wallet_ctx w;
    const struct merchant_terminal *term;
    int64_t payment_id;
    char key[32];
    enum err e;
};

static void *refund_thread(void *arg)
{
    struct burst *b = arg;
    char n[POS_NONCE_MAX + 1];
    nonce(n);
    struct wait wt = {.done = false};
    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cv, NULL);
    const char *bad = NULL;
    b->e = await(&wt, payment_refund(&b->w, b->term, n, b->payment_id, 1000, false, b->key, on_done, &wt, &bad),
                 NULL);
    return NULL;
}

/* The refunds b[0..n) sent all at once while the ledger writer is busy
 * (another connection holds the write lock), so that none has committed
 * when the next is scored; each on a connection of its own. */
static void send_at_once(struct rf *t, struct burst *b, int n)
{
    pthread_t th[4];
    assert_true(n <= 4);
    for (int i = 0; i < n; i++) {
        b[i].w = *W(t);
        b[i].w.a.st = tu_open_store(t->f->dir);
        b[i].term = &t->t_tokyo;
    }
    struct store *busy = tu_open_store(t->f->dir);
    assert_int_equal(busy->ops->begin(busy), ERR_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, refund_thread, &b[i]), 0);
    usleep(300 * 1000); /* they reach the writer (or the held one's record) and wait */
    busy->ops->rollback(busy);
    store_close(busy);
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        store_close(b[i].w.a.st);
    }
}

/* Each is scored against the others (risk_admit): the third within the
 * hour is held as when they come one after another; the first two pay
 * once the writer is free. */
static void refunds_sent_at_once_are_scored_together(void **state)
{
    struct rf *t = *state;
    t->f->cfg.risk.refund_count = 2;
    engine(t);
    struct cust c[3];
    int64_t id[3];
    struct burst b[3];
    payers(t, c, id, 3);
    for (int i = 0; i < 3; i++) {
        b[i] = (struct burst){.payment_id = id[i]};
        snprintf(b[i].key, sizeof b[i].key, "burst-%d", i);
    }
    send_at_once(t, b, 3);
    int ok = 0, held = 0;
    for (int i = 0; i < 3; i++) {
        ok += b[i].e == ERR_OK;
        held += b[i].e == ERR_RISK_HELD;
    }
    assert_int_equal(ok, 2);
    assert_int_equal(held, 1);
    int64_t total = 0;
    for (int i = 0; i < 3; i++)
        total += balance(t, &c[i]);
    assert_int_equal(total, 3 * 10000 - 1000); /* two refunded, one not */
}

/* The same refund sent twice at once (a register retrying before its first
 * answer): both are scored, one pays, the other is its replay, and the
 * store's count holds one refund, not two. */
static void a_refund_sent_twice_at_once_counts_once(void **state)
{
    struct rf *t = *state;
    t->f->cfg.risk.refund_count = 2;
    engine(t);
    struct cust c[2];
    int64_t id[2];
    payers(t, c, id, 2);
    struct burst b[2] = {{.payment_id = id[0], .key = "twice"}, {.payment_id = id[0], .key = "twice"}};
    send_at_once(t, b, 2);
    assert_int_equal(b[0].e, ERR_OK);
    assert_int_equal(b[1].e, ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, id[1], 1000), ERR_OK); /* the second refund, not the third */
    assert_int_equal(balance(t, &c[0]) + balance(t, &c[1]), 20000);
}

/* And a refund by another store of the merchant is that store's, not the
 * payment's store's: two refunds at Ginza's register of payments made at
 * Tokyo Station leave Tokyo Station's hour as it was. */
static void another_stores_refunds_do_not_count_against_this_store(void **state)
{
    struct rf *t = *state;
    t->f->cfg.risk.refund_count = 2;
    engine(t);
    struct merchant_terminal t_ginza;
    register_at(t, &t->ginza, &t_ginza);
    struct cust c[3];
    int64_t id[3];
    payers(t, c, id, 3);
    assert_int_equal(refund(t, &t_ginza, id[0], 1000), ERR_OK);
    assert_int_equal(refund(t, &t_ginza, id[1], 1000), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, id[2], 1000), ERR_OK); /* Tokyo Station's first */
    for (int i = 0; i < 3; i++)
        assert_int_equal(balance(t, &c[i]), 10000);
    struct risk_decision_row d[1];
    assert_int_equal(decisions(t, c[2].s.customer_id, d, 1), 0);
}

/* The same payer, refunded by one store for payments made at two other
 * branches: the second refund is held, as for the store's own payments
 * (the_same_payer_refunded_again_is_held); what another store of the
 * merchant refunded that payer is not this store's. */
static void the_same_payer_refunded_again_counts_by_the_refunding_store(void **state)
{
    struct rf *t = *state;
    struct merchant_terminal t_ginza;
    register_at(t, &t->ginza, &t_ginza);
    struct cust x;
    customer(t, &x, "accomplice@example.com", 30000);
    struct payment_receipt g, a, k1, k2;
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(mpm_pay(W(t), &x.s, t->qr_akiba, 3000, "scan-akiba", &g, &bad, &sw), ERR_OK);
    assert_int_equal(mpm_pay(W(t), &x.s, t->qr_tobacco, 3000, "scan-tobacco", &a, &bad, &sw), ERR_OK);
    assert_int_equal(refund(t, &t->t_tokyo, g.p.id, 3000), ERR_OK); /* any genuine return */
    assert_int_equal(last_refund_by(t, x.s.customer_id, t->tokyo.id), t->f->now);
    assert_int_equal(last_refund_by(t, x.s.customer_id, t->akiba.id), 0);
    assert_int_equal(reverse(t, &t->t_tokyo, a.p.id, 0, true), ERR_RISK_HELD);
    assert_int_equal(refund(t, &t->t_tokyo, a.p.id, 3000), ERR_RISK_HELD);
    on_file(t, x.s.customer_id, "refund", "hold", "refund_repeat_payer", "risk_held");
    assert_int_equal(balance(t, &x), 27000);

    /* Payments at Tokyo Station, the first refunded by Ginza's register:
     * Tokyo Station's own first refund to this payer is no repeat. */
    struct cust y;
    customer(t, &y, "yuki@example.com", 30000);
    assert_int_equal(charge(t, &y, &t->t_tokyo, 3000, "", &k1), ERR_OK);
    assert_int_equal(charge(t, &y, &t->t_tokyo, 3000, "", &k2), ERR_OK);
    assert_int_equal(refund(t, &t_ginza, k1.p.id, 3000), ERR_OK);
    assert_int_equal(last_refund_by(t, y.s.customer_id, t->tokyo.id), 0);
    assert_int_equal(refund(t, &t->t_tokyo, k2.p.id, 3000), ERR_OK);
    assert_int_equal(balance(t, &y), 30000);
    struct risk_decision_row d[1];
    assert_int_equal(decisions(t, y.s.customer_id, d, 1), 0);
}

static void new_accounts_fanning_into_one_recipient_are_held(void **state)
{
    struct rf *t = *state;
    struct cust mule, s[4];
    customer(t, &mule, "mule@example.com", 0);
    char email[64];
    for (int i = 0; i < 4; i++) {
        snprintf(email, sizeof email, "new%d@example.com", i);
        customer(t, &s[i], email, 5000);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(send_to(t, &s[i], mule.email, 3000), ERR_OK);
    /* The fourth new account to send to the same recipient in a day. */
    assert_int_equal(send_to(t, &s[3], mule.email, 3000), ERR_RISK_HELD);
    assert_int_equal(balance(t, &s[3]), 5000);
    assert_int_equal(balance(t, &mule), 9000);
    on_file(t, s[3].s.customer_id, "p2p", "hold", "p2p_fan_in", "risk_held");
}

/* An authorised-push-payment scam: the victim, with their own phone and a
 * fresh second factor, sends 30,000 yen to an account opened for it.  The
 * transfer waits for staff, nothing moves, and the decision and its audit
 * entry name the rule.  Approved by staff (the victim insists), the money
 * arrives; the mule passing it on is then held too (mule_pass_through): at
 * the register refused, by QR and P2P kept for review. */
static void a_scam_transfer_to_a_new_account_is_held(void **state)
{
    struct rf *t = *state;
    struct cust victim, mule, friend;
    customer(t, &victim, "victim@example.com", 60000);
    customer(t, &mule, "mule@example.com", 0);
    customer(t, &friend, "friend@example.com", 0);
    struct payment_receipt r;
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(p2p_send(W(t), &victim.s, mule.email, 30000, "", "scam-1", &r, &bad, &sw), ERR_RISK_HELD);
    int64_t id = r.held_id;
    assert_true(id > 0);
    assert_int_equal(balance(t, &victim), 60000);
    assert_int_equal(balance(t, &mule), 0);
    on_file(t, victim.s.customer_id, "p2p", "hold", "p2p_new_payee", "risk_held");
    struct pending_op p;
    assert_int_equal(review_get(W(t), id, &p), ERR_OK);
    assert_string_equal(p.status, PENDING_HELD);
    /* A friend's few thousand yen to a new account goes. */
    assert_int_equal(send_to(t, &victim, friend.email, 3000), ERR_OK);

    assert_int_equal(review_approve(W(t), 1, id, &p, &r, &bad, &sw), ERR_OK);
    assert_int_equal(balance(t, &mule), 30000);
    /* The second transfer to a payee paid before is no first transfer. */
    assert_int_equal(send_to(t, &victim, mule.email, 10000), ERR_OK);
    assert_int_equal(balance(t, &mule), 40000);

    /* The mule cashes out: 25,000 is more than half of the 40,000 it got. */
    assert_int_equal(charge(t, &mule, &t->t_tokyo, 25000, "", &r), ERR_RISK_HELD);
    on_file(t, mule.s.customer_id, "payment", "hold", "mule_pass_through", "risk_held");
    assert_int_equal(scan(t, &mule, t->qr_akiba, 25000), ERR_RISK_HELD);
    assert_int_equal(send_to(t, &mule, friend.email, 9000), ERR_OK); /* 22% */
    assert_int_equal(send_to(t, &mule, friend.email, 9000), ERR_OK); /* 45% */
    assert_int_equal(send_to(t, &mule, friend.email, 9000), ERR_RISK_HELD);
    on_file(t, mule.s.customer_id, "p2p", "hold", "mule_pass_through", "risk_held");
    assert_int_equal(balance(t, &mule), 22000);
    assert_int_equal(store_payments(t, t->tokyo.id), 0);
}

/* A retry of a held transfer is answered by its review (the same hold),
 * even once the balance has fallen below it: it moved nothing. */
static void a_held_transfers_retry_is_answered_by_its_review(void **state)
{
    struct rf *t = *state;
    struct cust victim, mule, friend;
    customer(t, &victim, "victim@example.com", 40000);
    customer(t, &mule, "mule@example.com", 0);
    customer(t, &friend, "friend@example.com", 0);
    struct payment_receipt r;
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(p2p_send(W(t), &victim.s, mule.email, 30000, "", "scam-1", &r, &bad, &sw), ERR_RISK_HELD);
    int64_t id = r.held_id;
    assert_int_equal(send_to(t, &victim, friend.email, 3000), ERR_OK);
    assert_int_equal(send_to(t, &victim, friend.email, 9000), ERR_OK);
    assert_int_equal(balance(t, &victim), 28000);
    assert_int_equal(p2p_send(W(t), &victim.s, mule.email, 30000, "", "scam-1", &r, &bad, &sw), ERR_RISK_HELD);
    assert_int_equal(r.held_id, id);
    /* the same key with another message is another request, held or not */
    assert_int_equal(p2p_send(W(t), &victim.s, mule.email, 30000, "rent", "scam-1", &r, &bad, &sw),
                     ERR_IDEMPOTENCY_CONFLICT);
    assert_int_equal(balance(t, &mule), 0);
}

/* The scammer's script: "first send 100 yen to check the account, then
 * the rest".  A small transfer does not make the payee one the victim has
 * paid before: the 30,000 that follows waits for staff all the same, and
 * nothing of it moves. */
static void a_small_first_transfer_does_not_clear_the_scam_one(void **state)
{
    struct rf *t = *state;
    struct cust victim, mule;
    customer(t, &victim, "victim@example.com", 60000);
    customer(t, &mule, "mule@example.com", 0);
    assert_int_equal(send_to(t, &victim, mule.email, 100), ERR_OK);
    assert_int_equal(send_to(t, &victim, mule.email, 30000), ERR_RISK_HELD);
    on_file(t, victim.s.customer_id, "p2p", "hold", "p2p_new_payee", "risk_held");
    assert_int_equal(balance(t, &victim), 59900);
    assert_int_equal(balance(t, &mule), 100);
}

/* Smurfing: three victims each send 8,000 yen (under every per-transfer
 * threshold).  The mule may spend 10,000 of the 24,000 (41%); the next
 * 3,000 by P2P, by QR or at the register is held. */
static void smurfed_money_passed_on_is_held(void **state)
{
    struct rf *t = *state;
    struct cust mule, out, v[3];
    customer(t, &mule, "mule@example.com", 0);
    customer(t, &out, "out@example.com", 0);
    char email[64];
    for (int i = 0; i < 3; i++) {
        snprintf(email, sizeof email, "victim%d@example.com", i);
        customer(t, &v[i], email, 10000);
        assert_int_equal(send_to(t, &v[i], mule.email, 8000), ERR_OK);
    }
    assert_int_equal(scan(t, &mule, t->qr_ginza, 10000), ERR_OK);
    assert_int_equal(send_to(t, &mule, out.email, 3000), ERR_RISK_HELD);
    on_file(t, mule.s.customer_id, "p2p", "hold", "mule_pass_through", "risk_held");
    assert_int_equal(scan(t, &mule, t->qr_akiba, 3000), ERR_RISK_HELD);
    struct payment_receipt r;
    assert_int_equal(charge(t, &mule, &t->t_tokyo, 3000, "", &r), ERR_RISK_HELD);
    assert_int_equal(balance(t, &mule), 14000);
    assert_int_equal(balance(t, &out), 0);
}

/* A mule gets a register charge to wait (in the challenge band: two stores
 * 400 km apart ten minutes apart) before the money arrives, then has it
 * sent (smurfed, 3 x 8,000) and approves the waiting charge in the app.
 * The engine judged the charge before any inflow; at the approval it
 * judges it again: the pass-through on top of the travel is a deny, the
 * charge declined, nothing moves. */
static void a_waiting_charge_approved_after_the_inflow_is_held(void **state)
{
    struct rf *t = *state;
    struct cust mule, v[3];
    char email[64];
    for (int i = 0; i < 3; i++) {
        snprintf(email, sizeof email, "victim%d@example.com", i);
        customer(t, &v[i], email, 10000);
    }
    customer(t, &mule, "mule@example.com", 21000);
    assert_int_equal(charge(t, &mule, &t->t_tokyo, 1000, "", NULL), ERR_OK);
    later(t, &mule, 10 * MIN_MS);
    assert_int_equal(charge(t, &mule, &t->t_umeda, 20000, "", NULL), ERR_IN_PROGRESS);
    int64_t id = t->waits.id;
    for (int i = 0; i < 3; i++) {
        af_auth(t->f, &v[i].g, &v[i].s);
        assert_int_equal(send_to(t, &v[i], mule.email, 8000), ERR_OK);
    }
    assert_int_equal(balance(t, &mule), 20000 + 24000);
    char totp[TOTP_DIGITS + 1];
    af_totp(t->f, &mule.phone, totp);
    struct pending_op p;
    struct payment_receipt r;
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(pending_charge_approve(W(t), &mule.s, id, totp, &p, &r, &bad, &sw), ERR_RISK_DENIED);
    on_file(t, mule.s.customer_id, "payment", "deny", "mule_pass_through", "risk_denied");
    assert_int_equal(balance(t, &mule), 44000);
    assert_int_equal(store_payments(t, t->umeda.id), 0);
    struct pending_op now;
    assert_int_equal(t->f->st->ops->pending_op_get(t->f->st, id, &now), ERR_OK);
    assert_string_equal(now.status, PENDING_DECLINED);
}

static enum err device_get_fails(struct store *st, int64_t id, struct customer_device *out)
{
    (void)st;
    (void)id;
    memset(out, 0, sizeof *out);
    return ERR_STORE;
}

/* The second judgement at the approval reads the phone: a failed read
 * refuses the approval (as the register's charge, a QR payment and a
 * transfer refuse on it), never pays unjudged. */
static void a_waiting_charge_is_not_approved_unjudged_on_a_store_error(void **state)
{
    struct rf *t = *state;
    struct cust a;
    customer(t, &a, "a@example.com", 21000);
    assert_int_equal(charge(t, &a, &t->t_tokyo, 1000, "", NULL), ERR_OK);
    later(t, &a, 10 * MIN_MS);
    assert_int_equal(charge(t, &a, &t->t_umeda, 15000, "", NULL), ERR_IN_PROGRESS);
    int64_t id = t->waits.id;
    char totp[TOTP_DIGITS + 1];
    af_totp(t->f, &a.phone, totp);
    struct pending_op p;
    struct payment_receipt r;
    const char *bad = NULL;
    struct killswitch sw;
    const struct store_ops *real = t->f->st->ops;
    struct store_ops broken = *real;
    broken.device_get = device_get_fails;
    t->f->st->ops = &broken;
    enum err e = pending_charge_approve(W(t), &a.s, id, totp, &p, &r, &bad, &sw);
    t->f->st->ops = real;
    assert_int_equal(e, ERR_STORE);
    assert_int_equal(balance(t, &a), 20000);
    assert_int_equal(store_payments(t, t->umeda.id), 0);
}

/* The customer's retry of a held transfer is answered with its review as
 * it stands: one staff rejected does not go through when sent again under
 * its key once the engine would let it. */
static void a_rejected_review_stays_rejected_when_the_customer_retries(void **state)
{
    struct rf *t = *state;
    struct cust mule, s[4];
    customer(t, &mule, "mule@example.com", 0);
    char email[64];
    for (int i = 0; i < 4; i++) {
        snprintf(email, sizeof email, "new%d@example.com", i);
        customer(t, &s[i], email, 5000);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(send_to(t, &s[i], mule.email, 3000), ERR_OK);
    struct payment_receipt r;
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(p2p_send(W(t), &s[3].s, mule.email, 3000, "", "gift-1", &r, &bad, &sw), ERR_RISK_HELD);
    int64_t id = r.held_id;
    assert_true(id > 0);
    struct pending_op p;
    assert_int_equal(review_reject(W(t), 1, id, "money mule pattern", &p, &bad), ERR_OK);
    assert_string_equal(p.status, PENDING_REJECTED);
    /* days later the fan-in window is over: a new transfer would go */
    t->f->now += 3 * 24 * 60 * MIN_MS;
    refresh(t, &s[3]);
    assert_int_equal(p2p_send(W(t), &s[3].s, mule.email, 3000, "", "gift-1", &r, &bad, &sw), ERR_RISK_HELD);
    assert_int_equal(r.held_id, id);
    assert_int_equal(review_get(W(t), id, &p), ERR_OK);
    assert_string_equal(p.status, PENDING_REJECTED);
    assert_int_equal(balance(t, &s[3]), 5000);
    assert_int_equal(balance(t, &mule), 9000);
    /* the same key for another transfer is a conflict */
    assert_int_equal(p2p_send(W(t), &s[3].s, mule.email, 2000, "", "gift-1", &r, &bad, &sw),
                     ERR_IDEMPOTENCY_CONFLICT);
    assert_int_equal(send_to(t, &s[3], mule.email, 3000), ERR_OK);
    assert_int_equal(balance(t, &s[3]), 2000);
}

/* A held transfer lapses review_hold_expiry_s after it was held (review.h):
 * approved a moment before, it pays once; at the deadline no approval
 * pays, even one racing the expiry before anyone recorded it (the
 * writer's guard); whoever looks first records it expired, once, with one
 * mail and the audit entry; the sweep does it for those nobody reads; the
 * customer's retry gets the lapsed review, not a new transfer. */
static void a_held_transfer_lapses_and_never_pays_late(void **state)
{
    struct rf *t = *state;
    t->f->cfg.review_hold_expiry_s = 3600;
    struct cust victim, mule, other;
    customer(t, &victim, "victim@example.com", 90000);
    customer(t, &mule, "mule@example.com", 0);
    customer(t, &other, "other@example.com", 0);
    struct payment_receipt r;
    const char *bad = NULL;
    struct killswitch sw;
    struct pending_op p;
    struct store *st = t->f->st;

    /* approved one ms before the deadline: pays, once */
    assert_int_equal(p2p_send(W(t), &victim.s, mule.email, 30000, "", "late-0", &r, &bad, &sw), ERR_RISK_HELD);
    int64_t in_time = r.held_id;
    assert_int_equal(review_get(W(t), in_time, &p), ERR_OK);
    assert_int_equal(p.expires_ms, t->f->now + 3600 * 1000);
    int64_t t0 = t->f->now;
    t->f->now = p.expires_ms - 1;
    assert_int_equal(review_approve(W(t), 1, in_time, &p, &r, &bad, &sw), ERR_OK);
    assert_string_equal(p.status, PENDING_APPROVED);
    assert_int_equal(balance(t, &mule), 30000);
    assert_int_equal(review_approve(W(t), 1, in_time, &p, &r, &bad, &sw), ERR_CONFLICT);
    assert_int_equal(balance(t, &mule), 30000);

    /* two more held, an hour apart (within the day's 50,000: a transfer
     * past the day's limit is refused before it could be held) */
    t->f->now = t0 + 10 * MIN_MS;
    refresh(t, &victim);
    assert_int_equal(p2p_send(W(t), &victim.s, other.email, 20000, "", "late-1", &r, &bad, &sw), ERR_RISK_HELD);
    int64_t lapsing = r.held_id;
    assert_true(lapsing > 0);
    struct pending_op held1;
    assert_int_equal(st->ops->pending_op_get(st, lapsing, &held1), ERR_OK);
    assert_int_equal(held1.expires_ms, t->f->now + 3600 * 1000);
    t->f->now += 60 * MIN_MS;
    refresh(t, &victim);
    customer(t, &mule, "mule2@example.com", 0);
    assert_int_equal(p2p_send(W(t), &victim.s, mule.email, 20000, "", "late-2", &r, &bad, &sw), ERR_RISK_HELD);
    int64_t unread = r.held_id;
    assert_true(unread > 0);
    int64_t before = balance(t, &victim);

    /* The race: an approval whose transaction runs at the deadline, before
     * anyone recorded the expiry, is refused by the guard it writes under. */
    assert_int_equal(st->ops->pending_op_decide(st, lapsing, PENDING_HELD, PENDING_APPROVED, held1.expires_ms, 1, 0,
                                                "", held1.expires_ms),
                     ERR_CONFLICT);
    assert_int_equal(st->ops->pending_op_get(st, lapsing, &p), ERR_OK);
    assert_string_equal(p.status, PENDING_HELD);
    /* at the deadline: the approval is refused and records the lapse */
    t->f->now = held1.expires_ms;
    assert_int_equal(review_approve(W(t), 1, lapsing, &p, &r, &bad, &sw), ERR_CONFLICT);
    assert_string_equal(bad, "status");
    assert_string_equal(p.status, PENDING_EXPIRED);
    assert_int_equal(p.p.id, 0);
    assert_int_equal(review_reject(W(t), 1, lapsing, "too late", &p, &bad), ERR_CONFLICT);
    assert_string_equal(p.status, PENDING_EXPIRED);
    assert_int_equal(balance(t, &victim), before);
    assert_int_equal(balance(t, &other), 0);
    af_deliver(t->f);
    assert_int_equal(af_mail_count(t->f, victim.email, "has lapsed"), 1);
    assert_int_equal(af_events(t->f, victim.s.customer_id, "review_expired"), 1);

    /* the lists as of now; the other one is still live */
    struct pending_op ps[8];
    size_t n = 0;
    assert_int_equal(review_list(W(t), PENDING_HELD, 0, 8, ps, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ps[0].id, unread);
    assert_true(ps[0].expires_ms > t->f->now);
    /* the sweep: nothing more to do now */
    size_t swept = 99;
    assert_int_equal(review_sweep(W(t), &swept), ERR_OK);
    assert_int_equal(swept, 0);

    /* past the second deadline, nobody reads: the sweep expires it, once */
    t->f->now = ps[0].expires_ms + 1;
    assert_int_equal(st->ops->pending_op_list(st, false, 0, PENDING_EXPIRED, 0, t->f->now, 8, ps, &n), ERR_OK);
    assert_int_equal(n, 2); /* lapsed counts as expired before it is recorded */
    assert_int_equal(review_sweep(W(t), &swept), ERR_OK);
    assert_int_equal(swept, 1);
    assert_int_equal(review_sweep(W(t), &swept), ERR_OK);
    assert_int_equal(swept, 0);
    assert_int_equal(review_get(W(t), unread, &p), ERR_OK);
    assert_string_equal(p.status, PENDING_EXPIRED);
    assert_int_equal(review_list(W(t), PENDING_EXPIRED, 0, 8, ps, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(review_list(W(t), PENDING_HELD, 0, 8, ps, &n), ERR_OK);
    assert_int_equal(n, 0);
    af_deliver(t->f);
    assert_int_equal(af_mail_count(t->f, victim.email, "has lapsed"), 2);
    assert_int_equal(af_events(t->f, victim.s.customer_id, "review_expired"), 2);

    /* the customer's retry gets the lapsed review, not a new transfer */
    refresh(t, &victim);
    assert_int_equal(p2p_send(W(t), &victim.s, other.email, 20000, "", "late-1", &r, &bad, &sw), ERR_RISK_HELD);
    assert_int_equal(r.held_id, lapsing);
    assert_int_equal(review_get(W(t), lapsing, &p), ERR_OK);
    assert_string_equal(p.status, PENDING_EXPIRED);
    assert_int_equal(balance(t, &victim), before);
    assert_int_equal(balance(t, &other), 0);
    af_deliver(t->f);
    assert_int_equal(af_mail_count(t->f, victim.email, "has lapsed"), 2);
}

/* ---- cards and top-ups ------------------------------------------------------ */

static enum err link_pan(struct rf *t, struct cust *c, const char *pan, struct card *out)
{
    struct card pending;
    const char *bad = NULL;
    int64_t retry = 0;
    struct card_link_input in = {pan, 12, EXP_YEAR, "123"};
    enum err e = card_link_start(W(t), &c->s, &in, &pending, &bad, &retry);
    if (e != ERR_OK || out == NULL)
        return e;
    char otp[16];
    af_mail_word(t->f, c->email, "card verification code", "is: ", otp, sizeof otp);
    e = card_link_confirm(W(t), &c->s, pending.id, otp, out);
    return e;
}

static size_t cards_of(struct rf *t, struct cust *c)
{
    struct card cards[8];
    size_t n = 0;
    assert_int_equal(t->f->st->ops->card_list(t->f->st, c->s.customer_id, 0, 0, 8, cards, &n), ERR_OK);
    return n;
}

static enum err card_topup(struct rf *t, struct cust *c, const struct card *card, int64_t amount)
{
    char key[32];
    snprintf(key, sizeof key, "tpu-%d", ++t->next);
    struct topup_result r;
    const char *bad = NULL;
    struct killswitch sw;
    return topup_card(W(t), &c->s, card->id, amount, key, &r, &bad, &sw);
}

static enum err cash_topup(struct rf *t, struct cust *c, const struct merchant_terminal *term, int64_t amount)
{
    char code[TOPUP_CODE_DIGITS + 1], key[32];
    int64_t exp = 0;
    af_auth(t->f, &c->g, &c->s);
    assert_int_equal(topup_code_new(W(t), &c->s, code, &exp), ERR_OK);
    snprintf(key, sizeof key, "till-%d", ++t->next);
    struct topup_result r;
    const char *bad = NULL;
    struct killswitch sw;
    return topup_cash(W(t), term, code, amount, key, &r, &bad, &sw);
}

static void a_topup_then_resale_wants_a_fresh_second_factor(void **state)
{
    struct rf *t = *state;
    /* The take-over: a thief's own phone (in its new-device cool-down)
     * tops up from the victim's card and buys what sells again. */
    t->f->cfg.new_device_cooldown_s = 24 * 3600;
    struct cust a;
    customer(t, &a, "aiko@example.com", 0);
    struct card card;
    assert_int_equal(link_pan(t, &a, "4242424242424242", &card), ERR_OK);
    assert_int_equal(card_topup(t, &a, &card, 10000), ERR_OK);
    assert_int_equal(balance(t, &a), 10000);
    /* Six minutes later, the session's second factor stale: a convenience
     * store is fine (the new phone alone is 25)... */
    later(t, &a, 6 * MIN_MS);
    assert_int_equal(scan(t, &a, t->qr_tokyo, 1000), ERR_OK);
    /* ...8,000 yen at the tobacco shop next door is challenged (new device
     * 25 + top-up then resale 40), and nothing moves. */
    assert_int_equal(scan(t, &a, t->qr_tobacco, 8000), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(balance(t, &a), 9000);
    assert_int_equal(store_payments(t, t->tobacco.id), 0);
    on_file(t, a.s.customer_id, "payment", "challenge", "topup_then_resale", "risk_challenged");
    assert_int_equal(af_events_with(t->f, a.s.customer_id, "risk_challenged", "\"rule\":\"new_device\""), 1);
    /* The owner confirms with the second factor: it goes through. */
    refresh(t, &a);
    assert_int_equal(scan(t, &a, t->qr_tobacco, 8000), ERR_OK);
    assert_int_equal(balance(t, &a), 1000);
    assert_int_equal(store_payments(t, t->tobacco.id), 1);
}

/* The same take-over with a card whose issuer asks 3-D Secure for every
 * top-up: 10,000 yen topped up and its code typed (credit_later: with the
 * credit's key taken, so that the credit waits for the reconciler).  Six
 * minutes later 8,000 yen at the tobacco shop is challenged and moves
 * nothing: the engine learnt the top-up when its code finished it. */
static void taken_over_with_3ds(struct rf *t, struct cust *a, int64_t funds, bool credit_later)
{
    t->f->cfg.new_device_cooldown_s = 24 * 3600;
    customer(t, a, "aiko@example.com", funds);
    struct card card;
    assert_int_equal(link_pan(t, a, "4000002760003184", &card), ERR_OK);
    struct topup_result r;
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(topup_card(W(t), &a->s, card.id, 10000, "tpu-3ds", &r, &bad, &sw), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
    if (credit_later) {
        char key[LEDGER_KEY_MAX + 1];
        topup_transfer_key(key, sizeof key, r.t.id);
        credit(t, a, key, 1);
    }
    char otp[16];
    af_mail_word(t->f, a->email, "top-up verification code", "is: ", otp, sizeof otp);
    assert_int_equal(topup_confirm(W(t), &a->s, r.t.id, otp, &r, &sw), ERR_OK);
    assert_int_equal(r.t.status, credit_later ? TOPUP_AUTHORIZED : TOPUP_SUCCEEDED);
    int64_t before = balance(t, a);
    later(t, a, 6 * MIN_MS);
    assert_int_equal(scan(t, a, t->qr_tobacco, 8000), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(balance(t, a), before);
    on_file(t, a->s.customer_id, "payment", "challenge", "topup_then_resale", "risk_challenged");
}

static void a_topup_confirmed_by_3ds_counts_too(void **state)
{
    struct rf *t = *state;
    struct cust a;
    taken_over_with_3ds(t, &a, 0, false);
    assert_int_equal(balance(t, &a), 10000);
}

/* Charged but credited later: counted all the same, and a restarted engine
 * reads it back from the row. */
static void a_topup_confirmed_by_3ds_and_credited_later_counts_too(void **state)
{
    struct rf *t = *state;
    struct cust a;
    taken_over_with_3ds(t, &a, 9000, true);
    assert_int_equal(balance(t, &a), 9001);
    engine(t);
    assert_int_equal(risk_warm(t->risk, t->f->st, t->f->now, NULL), ERR_OK);
    assert_int_equal(scan(t, &a, t->qr_tobacco, 8000), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(balance(t, &a), 9001);
}

static void card_testing_from_one_device_is_denied(void **state)
{
    struct rf *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com", 0);
    /* Three stolen numbers, each refused by its issuer... */
    assert_int_equal(link_pan(t, &a, "4000000000009979", NULL), ERR_CARD_DECLINED);
    assert_int_equal(link_pan(t, &a, "4000000000000069", NULL), ERR_CARD_EXPIRED);
    assert_int_equal(link_pan(t, &a, "4000000000000127", NULL), ERR_INCORRECT_CVC);
    /* ...then a fourth card from the same phone: denied before the issuer
     * is asked, although the store's own limits would still let it try. */
    assert_int_equal(link_pan(t, &a, "4242424242424242", NULL), ERR_RISK_DENIED);
    assert_int_equal(cards_of(t, &a), 0);
    on_file(t, a.s.customer_id, "card_link", "deny", "card_many_cards_device", "risk_denied");
    /* the refusal is on file as a card-link failure too, naming the code */
    assert_true(af_events_with(t->f, a.s.customer_id, "card_link_failed", "risk_denied") >= 1);
}

static void cash_far_from_the_last_store_is_recorded_then_refused(void **state)
{
    struct rf *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com", 20000);
    assert_int_equal(scan(t, &a, t->qr_tokyo, 1000), ERR_OK);
    /* Cash at the Umeda register ten minutes after paying in Tokyo: the
     * clerk asked, nobody can confirm, so it is recorded and goes through. */
    later(t, &a, 10 * MIN_MS);
    assert_int_equal(cash_topup(t, &a, &t->t_umeda, 3000), ERR_OK);
    assert_int_equal(balance(t, &a), 22000);
    on_file(t, a.s.customer_id, "topup", "challenge", "impossible_travel", "risk_challenged");
    /* Where impossible travel is tuned to deny, it is refused and the
     * code stays unused. */
    t->f->cfg.risk.travel_score = t->f->cfg.risk.deny_score;
    engine(t);
    assert_int_equal(scan(t, &a, t->qr_tokyo, 1000), ERR_OK);
    later(t, &a, 10 * MIN_MS);
    assert_int_equal(cash_topup(t, &a, &t->t_umeda, 3000), ERR_RISK_DENIED);
    assert_int_equal(balance(t, &a), 21000);
    on_file(t, a.s.customer_id, "topup", "deny", "impossible_travel", "risk_denied");
}

/* The register retries a charge that waited for its customer, long after
 * the code expired, before and after the customer approved: it gets the
 * waiting charge, then the receipt, and is never taken for a register
 * trying codes (the charge keeps a tag of the code that made it). */
static void a_waiting_charges_code_retried_late_is_no_guess(void **state)
{
    struct rf *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com", 50000);
    assert_int_equal(charge(t, &a, &t->t_tokyo, 1000, "", NULL), ERR_OK);
    later(t, &a, 10 * MIN_MS);
    char code[PAYCODE_DIGITS + 1];
    int64_t exp = 0;
    af_auth(t->f, &a.g, &a.s);
    assert_int_equal(paycode_new(W(t), &a.s, code, &exp), ERR_OK);
    af_secret(t->f, code);
    assert_int_equal(charge_code(t, &t->t_umeda, code, 1000, "", "till", NULL), ERR_IN_PROGRESS);
    int64_t id = t->waits.id;
    t->f->now += 61000;
    int64_t retry = 0;
    for (int i = 0; i < 2 * PAYMENT_GUESS_CODES; i++) {
        assert_int_equal(charge_code(t, &t->t_umeda, code, 1000, "", "till", NULL), ERR_IN_PROGRESS);
        assert_int_equal(t->waits.id, id);
    }
    assert_int_equal(payment_terminal_throttle(W(t), &t->t_umeda, &retry), ERR_OK);

    char totp[TOTP_DIGITS + 1];
    af_totp(t->f, &a.phone, totp);
    struct pending_op po;
    struct payment_receipt r;
    const char *bad = NULL;
    struct killswitch sw;
    af_auth(t->f, &a.g, &a.s);
    assert_int_equal(pending_charge_approve(W(t), &a.s, id, totp, &po, &r, &bad, &sw), ERR_OK);
    t->f->now += 10 * MIN_MS;
    memset(&t->waits, 0, sizeof t->waits);
    for (int i = 0; i < 2 * PAYMENT_GUESS_CODES; i++) {
        struct payment_receipt r2;
        assert_int_equal(charge_code(t, &t->t_umeda, code, 1000, "", "till", &r2), ERR_OK);
        assert_true(r2.replayed);
        assert_int_equal(r2.p.id, r.p.id);
    }
    /* Had those retries counted (once: the same code), nine bad codes more
     * would block the register; they do not. */
    for (int i = 0; i < PAYMENT_GUESS_CODES - 1; i++) {
        char guess[PAYCODE_DIGITS + 1], key[16];
        snprintf(guess, sizeof guess, "8%017d", 31337 + i);
        snprintf(key, sizeof key, "g%d", i);
        assert_int_equal(charge_code(t, &t->t_umeda, guess, 1000, "", key, NULL), ERR_INVALID_CODE);
    }
    assert_int_equal(payment_terminal_throttle(W(t), &t->t_umeda, &retry), ERR_OK);
    assert_int_equal(balance(t, &a), 48000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ordinary_payments_at_nearby_stores_are_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(impossible_travel_by_qr_wants_a_fresh_second_factor, setup, teardown),
        cmocka_unit_test_setup_teardown(impossible_travel_at_the_register, setup, teardown),
        cmocka_unit_test_setup_teardown(a_declined_charge_stays_declined_when_the_register_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(a_rejected_review_stays_rejected_when_the_customer_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(a_held_transfer_lapses_and_never_pays_late, setup, teardown),
        cmocka_unit_test_setup_teardown(refunds_turned_into_cash_are_held, setup, teardown),
        cmocka_unit_test_setup_teardown(resale_goods_given_back_at_once_are_held, setup, teardown),
        cmocka_unit_test_setup_teardown(refunds_sent_at_once_are_scored_together, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refund_sent_twice_at_once_counts_once, setup, teardown),
        cmocka_unit_test_setup_teardown(the_same_payer_refunded_again_is_held, setup, teardown),
        cmocka_unit_test_setup_teardown(refunds_of_other_branches_payments_count_at_the_refunding_store, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(another_stores_refunds_do_not_count_against_this_store, setup, teardown),
        cmocka_unit_test_setup_teardown(the_same_payer_refunded_again_counts_by_the_refunding_store, setup, teardown),
        cmocka_unit_test_setup_teardown(new_accounts_fanning_into_one_recipient_are_held, setup, teardown),
        cmocka_unit_test_setup_teardown(a_scam_transfer_to_a_new_account_is_held, setup, teardown),
        cmocka_unit_test_setup_teardown(a_held_transfers_retry_is_answered_by_its_review, setup, teardown),
        cmocka_unit_test_setup_teardown(a_small_first_transfer_does_not_clear_the_scam_one, setup, teardown),
        cmocka_unit_test_setup_teardown(smurfed_money_passed_on_is_held, setup, teardown),
        cmocka_unit_test_setup_teardown(a_waiting_charge_approved_after_the_inflow_is_held, setup, teardown),
        cmocka_unit_test_setup_teardown(a_waiting_charge_is_not_approved_unjudged_on_a_store_error, setup, teardown),
        cmocka_unit_test_setup_teardown(a_topup_then_resale_wants_a_fresh_second_factor, setup, teardown),
        cmocka_unit_test_setup_teardown(a_topup_confirmed_by_3ds_counts_too, setup, teardown),
        cmocka_unit_test_setup_teardown(a_topup_confirmed_by_3ds_and_credited_later_counts_too, setup, teardown),
        cmocka_unit_test_setup_teardown(card_testing_from_one_device_is_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(cash_far_from_the_last_store_is_recorded_then_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_waiting_charges_code_retried_late_is_no_guess, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
