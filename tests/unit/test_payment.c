/* test_payment.c: paying at the register (wallet/payment.h) at the domain
 * level: a real store, a real group-commit ledger writer, the mail spool as
 * the customers' mailbox and an injected clock.
 *
 * What a customer (or a thief, or a dishonest register) would notice: a
 * code pays once, whatever the retries and races; a retry gets the first
 * receipt; every limit bites, also when registers race at it; a frozen
 * account and a switched-off store cannot take money; refunds never give
 * back more than was paid and only to the merchant's own registers; a
 * register guessing codes is stopped and flagged.  After every test the
 * ledger verifies clean and no payment code is in the database.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "auth_fixture.h"
#include "wallet_fixture.h"
#include "auth/events.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "merchant/merchant.h"
#include "merchant/terminal.h"
#include "ops/freeze.h"
#include "ops/killswitch.h"
#include "ops/reversal.h"
#include "util/luhn.h"
#include "wallet/paycode.h"
#include "wallet/payment.h"
#include "wallet/payment_internal.h"
#include "wallet/topup.h"
#include "wallet/topup_internal.h"

#define DAY_MS (24 * 3600 * INT64_C(1000))

struct tp {
    struct af *f;
    struct ledger_writer *writer;
    struct wallet_ctx w;
    struct merchant mer, other_mer;
    struct merchant_store shop, shop2, far; /* shop and shop2: one merchant; far: another */
    struct merchant_terminal term, term2, far_term;
};

struct cust {
    char email[64];
    struct af_phone phone;
    struct auth_grant g;
    struct auth_session s;
};

static int setup(void **state)
{
    struct tp *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->f = af_new();
    t->f->cfg.new_device_cooldown_s = 0; /* the new-device test sets it back */
    wf_ledger_start(t->f, &t->writer);

    char secret[TERMINAL_SECRET_HEX_BUF];
    struct store *st = t->f->st;
    assert_int_equal(merchant_create(st, "Kessai Mart", &t->mer), ERR_OK);
    assert_int_equal(merchant_store_create(st, t->mer.id, "Kessai Mart Tokyo Station", "1-9-1 Marunouchi, Tokyo",
                                           35681236, 139767125, "convenience", &t->shop),
                     ERR_OK);
    assert_int_equal(merchant_store_create(st, t->mer.id, "Kessai Mart Umeda", "3-1-1 Umeda, Osaka", 34702485,
                                           135495951, "convenience", &t->shop2),
                     ERR_OK);
    assert_int_equal(terminal_create(st, t->f->mk, t->shop.id, &t->term, secret), ERR_OK);
    assert_int_equal(terminal_create(st, t->f->mk, t->shop2.id, &t->term2, secret), ERR_OK);
    assert_int_equal(merchant_create(st, "Other Books", &t->other_mer), ERR_OK);
    assert_int_equal(merchant_store_create(st, t->other_mer.id, "Other Books Sapporo", "Kita 5, Sapporo", 43068661,
                                           141350755, "other", &t->far),
                     ERR_OK);
    assert_int_equal(terminal_create(st, t->f->mk, t->far.id, &t->far_term, secret), ERR_OK);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tp *t = *state;
    wf_ledger_stop(t->f, t->writer);
    af_assert_no_secrets_at_rest(t->f);
    af_free(t->f);
    free(t);
    return 0;
}

/* The context of the next call, at f->now.  Mail is delivered by the test
 * (deliver()), never from the writer's completer thread. */
static const struct wallet_ctx *W(struct tp *t)
{
    wf_ctx(&t->w, t->f, t->writer, NULL);
    t->w.a.wake = NULL;
    return &t->w;
}

static void deliver(struct tp *t) { af_deliver(t->f); }

static void customer(struct tp *t, struct cust *c, const char *email)
{
    memset(c, 0, sizeof *c);
    af_customer_signed_in(t->f, email, c->email, sizeof c->email, &c->phone, &c->g, &c->s);
}

static int64_t wallet_of(struct tp *t, struct cust *c)
{
    int64_t id = 0;
    assert_int_equal(wallet_account(t->f->st, c->s.customer_id, &id), ERR_OK);
    return id;
}

static int64_t balance(struct tp *t, struct cust *c)
{
    int64_t b = -1;
    assert_int_equal(topup_wallet_balance(t->f->st, c->s.customer_id, &b), ERR_OK);
    return b;
}

/* Money into c's wallet, straight through the ledger (top-ups are tested
 * elsewhere). */
static void fund(struct tp *t, struct cust *c, int64_t amount)
{
    static int n;
    struct ledger_transfer x;
    memset(&x, 0, sizeof x);
    x.credit_account = wallet_of(t, c);
    assert_int_equal(ledger_system_account(t->f->st, "card_receivable", &x.debit_account), ERR_OK);
    snprintf(x.key, sizeof x.key, "test-fund-%d", ++n);
    x.amount = amount;
    snprintf(x.kind, sizeof x.kind, "topup_card");
    assert_int_equal(ledger_writer_submit_wait(t->writer, &x, 1, NULL, NULL), ERR_OK);
}

static void new_code(struct tp *t, struct cust *c, char code[PAYCODE_DIGITS + 1])
{
    int64_t exp = 0;
    /* The session as of now; after a jump of the clock past its idle
     * time-out, a new login on the same phone. */
    char did[IDS_BUF];
    if (session_authenticate(af_ctx(t->f), c->g.session_token, ids_format(did, DEVICE_ID_PREFIX, c->g.device_id),
                             &c->s) != ERR_OK) {
        assert_int_equal(af_login(t->f, c->email, &c->phone, &c->g), ERR_OK);
        af_auth(t->f, &c->g, &c->s);
    }
    assert_int_equal(paycode_new(W(t), &c->s, code, &exp), ERR_OK);
    af_secret(t->f, code);
}

/* ---- charging, synchronously ---------------------------------------------- */

struct wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    enum err e;
    const char *bad;
    struct payment_receipt r;
};

static void on_done(void *ctx, enum err e, const char *bad, const struct payment_receipt *r)
{
    struct wait *wt = ctx;
    pthread_mutex_lock(&wt->mu);
    wt->e = e;
    wt->bad = bad;
    if (r)
        wt->r = *r;
    wt->done = true;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

static enum err await(struct wait *wt, enum err e, const char **bad, struct payment_receipt *r)
{
    if (e == ERR_OK) {
        pthread_mutex_lock(&wt->mu);
        while (!wt->done)
            pthread_cond_wait(&wt->cv, &wt->mu);
        pthread_mutex_unlock(&wt->mu);
        e = wt->e;
        if (bad)
            *bad = wt->bad;
        if (r && e == ERR_OK)
            *r = wt->r;
    }
    pthread_mutex_destroy(&wt->mu);
    pthread_cond_destroy(&wt->cv);
    return e;
}

static void fresh_nonce(char out[POS_NONCE_MAX + 1])
{
    uint8_t b[12];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, POS_NONCE_MAX + 1, b, sizeof b);
}

static enum err charge_nonce(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *nonce,
                             const char *code, int64_t amount, const char *items, const char *key,
                             struct payment_receipt *r, const char **bad, struct killswitch *sw)
{
    struct wait wt = {.done = false};
    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cv, NULL);
    const char *b = NULL;
    struct killswitch k;
    struct pending_op waits;
    struct payment_guess guess;
    enum err e = payment_charge(w, term, nonce, code, amount, items, key, on_done, &wt, bad ? bad : &b,
                                sw ? sw : &k, &waits, &guess);
    assert_int_equal(waits.id, 0); /* no engine here: nothing waits */
    assert_false(guess.set); /* no w->guesses here: a bad code is counted at once */
    return await(&wt, e, bad, r);
}

static enum err charge(struct tp *t, const struct merchant_terminal *term, const char *code, int64_t amount,
                       const char *key, struct payment_receipt *r, const char **bad)
{
    char nonce[POS_NONCE_MAX + 1];
    fresh_nonce(nonce);
    return charge_nonce(W(t), term, nonce, code, amount, "", key, r, bad, NULL);
}

static enum err refund(struct tp *t, const struct merchant_terminal *term, int64_t payment_id, int64_t amount,
                       bool is_void, const char *key, struct payment_receipt *r, const char **bad)
{
    char nonce[POS_NONCE_MAX + 1];
    fresh_nonce(nonce);
    struct wait wt = {.done = false};
    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cv, NULL);
    const char *b = NULL;
    enum err e = payment_refund(W(t), term, nonce, payment_id, amount, is_void, key, on_done, &wt, bad ? bad : &b);
    return await(&wt, e, bad, r);
}

/* A customer with money and a code. */
static void ready(struct tp *t, struct cust *c, const char *email, int64_t funds, char code[PAYCODE_DIGITS + 1])
{
    customer(t, c, email);
    if (funds)
        fund(t, c, funds);
    new_code(t, c, code);
}

static int64_t spent(struct tp *t, struct cust *c, const char *prefix, char unit)
{
    char period[PAYMENT_PERIOD_MAX + 1];
    payment_period(period, prefix, unit, t->f->now);
    int64_t total = -1;
    assert_int_equal(t->f->st->ops->spend_get(t->f->st, c->s.customer_id, period, &total), ERR_OK);
    return total;
}

/* ---- the happy path ------------------------------------------------------- */

static void charge_pays_and_mails_a_receipt(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 10000, code);

    struct payment_receipt r;
    const char *bad = NULL;
    const char *items = "[{\"category\":\"food\",\"amount\":800},{\"category\":\"drinks\",\"amount\":400}]";
    char nonce[POS_NONCE_MAX + 1];
    fresh_nonce(nonce);
    assert_int_equal(charge_nonce(W(t), &t->term, nonce, code, 1200, items, "till-1", &r, &bad, NULL), ERR_OK);
    assert_false(r.replayed);
    assert_true(r.p.id > 0);
    assert_int_equal(r.p.kind, PAYMENT_CPM);
    assert_int_equal(r.p.amount, 1200);
    assert_int_equal(r.p.refunded, 0);
    assert_int_equal(r.p.customer_id, a.s.customer_id);
    assert_int_equal(r.p.device_id, a.s.device_id);
    assert_int_equal(r.p.store_id, t->shop.id);
    assert_int_equal(r.p.merchant_id, t->mer.id);
    assert_int_equal(r.p.terminal_id, t->term.id);
    assert_int_equal(r.p.created_ms, t->f->now);
    assert_string_equal(r.p.items, items);
    assert_string_equal(r.store_name, "Kessai Mart Tokyo Station");
    assert_int_equal(r.balance_after, 8800);
    assert_int_equal(balance(t, &a), 8800);

    /* The ledger: one transfer, wallet -> the store's payable; its id is the payment's. */
    struct ledger_transfer x;
    assert_int_equal(t->f->st->ops->transfer_get(t->f->st, r.p.id, &x), ERR_OK);
    assert_string_equal(x.kind, "payment");
    assert_int_equal(x.amount, 1200);
    assert_int_equal(x.debit_account, wallet_of(t, &a));
    assert_int_equal(x.credit_account, t->shop.payable_account);
    assert_non_null(strstr(x.metadata, "\"store_name\":\"Kessai Mart Tokyo Station\""));
    struct payment p;
    assert_int_equal(t->f->st->ops->payment_get(t->f->st, r.p.id, &p), ERR_OK);
    assert_int_equal(p.amount, 1200);
    assert_string_equal(p.items, items);

    /* The customer hears of it at once, with the store and the balance. */
    deliver(t);
    char body[2048];
    assert_int_equal(af_mail(t->f, a.email, "You paid with your kessai wallet", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "1,200 yen"));
    assert_non_null(strstr(body, "Kessai Mart Tokyo Station"));
    assert_non_null(strstr(body, "8,800 yen"));
    assert_null(strstr(body, code));

    /* Counted against the day and the month. */
    assert_int_equal(spent(t, &a, "pay", 'd'), 1200);
    assert_int_equal(spent(t, &a, "pay", 'm'), 1200);

    /* Spent: the same code pays no more, under any key. */
    assert_int_equal(charge(t, &t->term, code, 100, "till-2", &r, &bad), ERR_INVALID_CODE);
    assert_string_equal(bad, "code");
    /* The register's nonce was recorded with the payment: replaying the
     * signed request is refused. */
    assert_int_equal(t->f->st->ops->pos_nonce_insert(t->f->st, t->term.key_id, nonce, t->f->now, 0), ERR_CONFLICT);
    assert_int_equal(balance(t, &a), 8800);
}

static void periods_are_japanese_calendar_days(void **state)
{
    (void)state;
    char p[PAYMENT_PERIOD_MAX + 1];
    /* 2026-11-27 14:59:59.999 UTC is 23:59:59.999 in Tokyo; a millisecond later, the 28th. */
    payment_period(p, "pay", 'd', INT64_C(1795791599999));
    assert_string_equal(p, "pay:d:20261127");
    payment_period(p, "pay", 'd', INT64_C(1795791600000));
    assert_string_equal(p, "pay:d:20261128");
    payment_period(p, "pay", 'm', INT64_C(1795791600000));
    assert_string_equal(p, "pay:m:202611");
    /* New Year in Tokyo is 15:00 UTC on 31 December. */
    payment_period(p, "off", 'm', INT64_C(1798729200000));
    assert_string_equal(p, "off:m:202701");
    payment_period(p, "p2p", 'd', INT64_C(1798729199999));
    assert_string_equal(p, "p2p:d:20261231");
}

/* ---- exactly once --------------------------------------------------------- */

static void retry_returns_the_first_receipt(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 5000, code);
    struct payment_receipt r1, r2;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 1000, "till-1", &r1, &bad), ERR_OK);
    deliver(t);
    assert_int_equal(af_mail_count(t->f, a.email, "You paid with your kessai wallet"), 1);

    /* The register lost the answer and sends the same request again (a new
     * nonce, the same key): the first receipt, nothing moves, no new mail. */
    t->f->now += 5000;
    assert_int_equal(charge(t, &t->term, code, 1000, "till-1", &r2, &bad), ERR_OK);
    assert_true(r2.replayed);
    assert_int_equal(r2.p.id, r1.p.id);
    assert_int_equal(r2.p.amount, 1000);
    assert_int_equal(r2.p.created_ms, r1.p.created_ms);
    assert_string_equal(r2.store_name, "Kessai Mart Tokyo Station"); /* the receipt names the store again */
    assert_int_equal(r2.balance_after, 4000);
    assert_int_equal(balance(t, &a), 4000);
    deliver(t);
    assert_int_equal(af_mail_count(t->f, a.email, "You paid with your kessai wallet"), 1);
    assert_int_equal(spent(t, &a, "pay", 'd'), 1000);

    /* The same key with another request is a conflict, and changes nothing. */
    assert_int_equal(charge(t, &t->term, code, 1001, "till-1", &r2, &bad), ERR_IDEMPOTENCY_CONFLICT);
    assert_string_equal(bad, "Idempotency-Key");
    char items_nonce[POS_NONCE_MAX + 1];
    fresh_nonce(items_nonce);
    assert_int_equal(charge_nonce(W(t), &t->term, items_nonce, code, 1000, "[{\"category\":\"x\",\"amount\":1000}]",
                                  "till-1", &r2, &bad, NULL),
                     ERR_IDEMPOTENCY_CONFLICT);
    /* Another terminal's key space is its own: its "till-1" is a new charge
     * (and this code is spent). */
    assert_int_equal(charge(t, &t->term2, code, 1000, "till-1", &r2, &bad), ERR_INVALID_CODE);
    /* A fresh code from the same customer under the old key is the same
     * request: replayed, the new code stays unused. */
    char code2[PAYCODE_DIGITS + 1];
    new_code(t, &a, code2);
    assert_int_equal(charge(t, &t->term, code2, 1000, "till-1", &r2, &bad), ERR_OK);
    assert_true(r2.replayed);
    assert_int_equal(charge(t, &t->term, code2, 500, "till-9", &r2, &bad), ERR_OK);
    assert_false(r2.replayed);
    assert_int_equal(balance(t, &a), 3500);
    /* A retry answers the first receipt's balance, never today's: the
     * register cannot read the customer's wallet by retrying. */
    fund(t, &a, 123456);
    new_code(t, &a, code2);
    assert_int_equal(charge(t, &t->term, code2, 1000, "till-1", &r2, &bad), ERR_OK);
    assert_true(r2.replayed);
    assert_int_equal(r2.balance_after, 4000);
    assert_int_equal(charge(t, &t->term, "812345678901234567", 1000, "till-1", &r2, &bad), ERR_OK);
    assert_true(r2.replayed);
    assert_int_equal(r2.balance_after, 4000);
    assert_int_equal(balance(t, &a), 3500 + 123456);
    /* Another customer's code under that key (a register that reused it)
     * is not that request: a conflict, not the first customer's receipt
     * for nothing; the code stays usable. */
    struct cust b;
    char codeb[PAYCODE_DIGITS + 1];
    ready(t, &b, "bunta@example.com", 2000, codeb);
    assert_int_equal(charge(t, &t->term, codeb, 1000, "till-1", &r2, &bad), ERR_IDEMPOTENCY_CONFLICT);
    assert_string_equal(bad, "Idempotency-Key");
    assert_int_equal(balance(t, &b), 2000);
    assert_int_equal(charge(t, &t->term, codeb, 1000, "till-b", &r2, &bad), ERR_OK);
    assert_false(r2.replayed);
    assert_int_equal(r2.p.customer_id, b.s.customer_id);
    assert_int_equal(balance(t, &b), 1000);

    /* Two keys of the longest kind that differ only at the end are two
     * charges, not a retry of one. */
    char k1[IDEM_KEY_MAX + 1], k2[IDEM_KEY_MAX + 1];
    memset(k1, 'k', IDEM_KEY_MAX);
    k1[IDEM_KEY_MAX] = '\0';
    memcpy(k2, k1, sizeof k1);
    k2[IDEM_KEY_MAX - 1] = 'j';
    new_code(t, &a, code2);
    assert_int_equal(charge(t, &t->term, code2, 100, k1, &r1, &bad), ERR_OK);
    new_code(t, &a, code2);
    assert_int_equal(charge(t, &t->term, code2, 100, k2, &r2, &bad), ERR_OK);
    assert_false(r2.replayed);
    assert_true(r2.p.id != r1.p.id);
    assert_int_equal(charge(t, &t->term, code2, 100, k2, &r2, &bad), ERR_OK);
    assert_true(r2.replayed);
    assert_int_equal(balance(t, &a), 3300 + 123456);
}

static void replayed_nonce_is_refused(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 5000, code);
    char nonce[POS_NONCE_MAX + 1];
    fresh_nonce(nonce);
    struct payment_receipt r;
    const char *bad = NULL;
    assert_int_equal(charge_nonce(W(t), &t->term, nonce, code, 1000, "", "till-1", &r, &bad, NULL), ERR_OK);
    /* The very same signed request again (same nonce): refused as a replay,
     * even though the key would have been replayed harmlessly; the writer
     * finds it, and its log line says which request and from where. */
    struct wallet_ctx w = *W(t);
    w.a.request_id = "req_replay-under-test";
    struct tu_capture cap;
    tu_capture_start(&cap, t->f->dir);
    assert_int_equal(charge_nonce(&w, &t->term, nonce, code, 1000, "", "till-1", &r, &bad, NULL),
                     ERR_INVALID_SIGNATURE);
    char *log = tu_capture_stop(&cap);
    const char *line = strstr(log, "\"pos_auth_refused\"");
    assert_non_null(line);
    assert_non_null(strstr(line, "\"reason\":\"replayed_nonce\""));
    assert_non_null(strstr(line, "\"request_id\":\"req_replay-under-test\""));
    char client[96];
    snprintf(client, sizeof client, "\"client\":\"%s\"", w.a.client_addr);
    assert_true(w.a.client_addr[0] != '\0' && strstr(line, client) != NULL);
    free(log);
    /* A captured request with a fresh code cannot be replayed into a new
     * charge either. */
    char code2[PAYCODE_DIGITS + 1];
    new_code(t, &a, code2);
    assert_int_equal(charge_nonce(W(t), &t->term, nonce, code2, 1000, "", "till-2", &r, &bad, NULL),
                     ERR_INVALID_SIGNATURE);
    assert_int_equal(balance(t, &a), 4000);
    /* The refused charge changed nothing: the code still pays. */
    assert_int_equal(charge(t, &t->term, code2, 1000, "till-2", &r, &bad), ERR_OK);
    assert_int_equal(balance(t, &a), 3000);
}

struct racer {
    struct tp *t;
    const struct merchant_terminal *term;
    const char *code;
    int64_t amount;
    char key[32];
    pthread_barrier_t *go;
    enum err e;
    const char *bad;
    struct payment_receipt r;
};

/* One register on its own connection, like an HTTP thread. */
static void *race(void *arg)
{
    struct racer *r = arg;
    struct store *st = tu_open_store(r->t->f->dir);
    struct wallet_ctx w = {
        .a = {.st = st, .master_key = r->t->f->mk, .cfg = &r->t->f->cfg, .now = r->t->f->now, .client_addr = "198.51.100.9"},
        .writer = r->t->writer};
    char nonce[POS_NONCE_MAX + 1];
    fresh_nonce(nonce);
    pthread_barrier_wait(r->go);
    r->e = charge_nonce(&w, r->term, nonce, r->code, r->amount, "", r->key, &r->r, &r->bad, NULL);
    store_close(st);
    return NULL;
}

static int run_race(struct tp *t, struct racer *rs, size_t n)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)n);
    pthread_t th[16];
    for (size_t i = 0; i < n; i++) {
        rs[i].t = t;
        rs[i].go = &go;
        assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
    }
    int ok = 0;
    for (size_t i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        ok += rs[i].e == ERR_OK;
    }
    pthread_barrier_destroy(&go);
    return ok;
}

static void a_code_pays_once_even_when_registers_race(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 50000, code);
    /* Eight registers of two merchants scan the same code at once. */
    struct racer rs[8];
    memset(rs, 0, sizeof rs);
    for (size_t i = 0; i < 8; i++) {
        rs[i].term = i % 3 == 0 ? &t->far_term : i % 2 ? &t->term : &t->term2;
        rs[i].code = code;
        rs[i].amount = 1000;
        snprintf(rs[i].key, sizeof rs[i].key, "race-%zu", i);
    }
    assert_int_equal(run_race(t, rs, 8), 1);
    for (size_t i = 0; i < 8; i++)
        if (rs[i].e != ERR_OK)
            assert_int_equal(rs[i].e, ERR_INVALID_CODE);
    assert_int_equal(balance(t, &a), 49000);
    assert_int_equal(spent(t, &a, "pay", 'd'), 1000);
}

/* ---- refusals before any money moves -------------------------------------- */

static void insufficient_funds_changes_nothing(void **state)
{
    struct tp *t = *state;
    struct cust a, b;
    char code[PAYCODE_DIGITS + 1], code_b[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 500, code);
    struct payment_receipt r;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 501, "till-1", &r, &bad), ERR_INSUFFICIENT_FUNDS);
    assert_string_equal(bad, "amount");
    /* A wallet that never held money has no account yet: the same answer. */
    ready(t, &b, "bo@example.com", 0, code_b);
    assert_int_equal(charge(t, &t->term, code_b, 1, "till-2", &r, &bad), ERR_INSUFFICIENT_FUNDS);
    /* Nothing was spent: the code, the counters, the balance. */
    assert_int_equal(spent(t, &a, "pay", 'd'), 0);
    assert_int_equal(charge(t, &t->term, code, 500, "till-1", &r, &bad), ERR_OK);
    assert_int_equal(balance(t, &a), 0);
    /* An empty wallet pays nothing; the refused key may be used again. */
    new_code(t, &a, code);
    assert_int_equal(charge(t, &t->term, code, 1, "till-3", &r, &bad), ERR_INSUFFICIENT_FUNDS);
    deliver(t);
    assert_int_equal(af_mail_count(t->f, a.email, "You paid with your kessai wallet"), 1);
}

static void bad_input_is_refused(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 5000, code);
    struct payment_receipt r;
    const char *bad = NULL;
    char nonce[POS_NONCE_MAX + 1];
    fresh_nonce(nonce);
    assert_int_equal(charge(t, &t->term, code, 0, "k", &r, &bad), ERR_AMOUNT_INVALID);
    assert_int_equal(charge(t, &t->term, code, -5, "k", &r, &bad), ERR_AMOUNT_INVALID);
    assert_int_equal(charge(t, &t->term, code, t->f->cfg.pay_max + 1, "k", &r, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "amount");
    assert_int_equal(charge(t, &t->term, code, 100, "", &r, &bad), ERR_INVALID_PARAM);
    assert_int_equal(charge(t, &t->term, NULL, 100, "k", &r, &bad), ERR_INVALID_CODE);
    assert_int_equal(charge(t, &t->term, "8' OR 1=1 --", 100, "k", &r, &bad), ERR_INVALID_CODE);
    char long_items[PAY_ITEMS_MAX + 2];
    memset(long_items, 'x', sizeof long_items - 1);
    long_items[sizeof long_items - 1] = '\0';
    assert_int_equal(charge_nonce(W(t), &t->term, nonce, code, 100, long_items, "k", &r, &bad, NULL),
                     ERR_INVALID_PARAM);
    assert_string_equal(bad, "items");
    /* A closed store's registers take nothing. */
    assert_int_equal(t->f->st->ops->mstore_set_active(t->f->st, t->shop.id, 0), ERR_OK);
    assert_int_equal(charge(t, &t->term, code, 100, "k", &r, &bad), ERR_STORE_NOT_FOUND);
    assert_int_equal(t->f->st->ops->mstore_set_active(t->f->st, t->shop.id, 1), ERR_OK);
    /* An expired code. */
    t->f->now += PAYCODE_TTL_MS;
    assert_int_equal(charge(t, &t->term, code, 100, "k", &r, &bad), ERR_INVALID_CODE);
    assert_int_equal(balance(t, &a), 5000);
}

/* ---- limits --------------------------------------------------------------- */

static void daily_and_monthly_limits_bite(void **state)
{
    struct tp *t = *state;
    t->f->cfg.pay_max = 10000;
    t->f->cfg.pay_daily_max = 15000;
    t->f->cfg.pay_monthly_max = 22000;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 100000, code);
    struct payment_receipt r;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 10000, "d1", &r, &bad), ERR_OK);
    new_code(t, &a, code);
    assert_int_equal(charge(t, &t->term, code, 5001, "d2", &r, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "daily");
    /* Refused in the transaction: the code is still good for what fits. */
    assert_int_equal(charge(t, &t->term, code, 5000, "d2b", &r, &bad), ERR_OK);
    assert_int_equal(balance(t, &a), 85000);
    /* The next day (in Tokyo) the day starts again, the month does not. */
    t->f->now += DAY_MS;
    new_code(t, &a, code);
    assert_int_equal(charge(t, &t->term, code, 10000, "d3", &r, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "monthly");
    assert_int_equal(charge(t, &t->term, code, 7000, "d4", &r, &bad), ERR_OK);
    assert_int_equal(balance(t, &a), 78000);
    assert_int_equal(spent(t, &a, "pay", 'm'), 22000);
    assert_int_equal(spent(t, &a, "pay", 'd'), 7000);
    new_code(t, &a, code);
    assert_int_equal(charge(t, &t->term, code, 1, "d5", &r, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "monthly");
}

/* A refusal decided in the writer's transaction (here a limit) spends the
 * register's nonce all the same: the captured request, replayed byte for
 * byte once the reason is gone (a refund gave the day's room back), is a
 * replay.  Signed again with a new nonce it pays. */
static void a_refused_charge_spends_its_nonce(void **state)
{
    struct tp *t = *state;
    t->f->cfg.pay_max = 10000;
    t->f->cfg.pay_daily_max = 15000;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 100000, code);
    struct payment_receipt r, first;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 10000, "d1", &first, &bad), ERR_OK);
    new_code(t, &a, code);
    char nonce[POS_NONCE_MAX + 1];
    fresh_nonce(nonce);
    assert_int_equal(charge_nonce(W(t), &t->term, nonce, code, 6000, "", "d2", &r, &bad, NULL), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "daily");
    /* recorded before the refusal was answered */
    assert_int_equal(t->f->st->ops->pos_nonce_insert(t->f->st, t->term.key_id, nonce, t->f->now, 0), ERR_CONFLICT);
    /* the reason goes: the first payment is refunded, within the window (and
     * within the code's 60 seconds) */
    t->f->now += 10 * 1000;
    assert_int_equal(refund(t, &t->term, first.p.id, 10000, false, "r1", &r, &bad), ERR_OK);
    assert_int_equal(spent(t, &a, "pay", 'd'), 0);
    assert_int_equal(charge_nonce(W(t), &t->term, nonce, code, 6000, "", "d2", &r, &bad, NULL),
                     ERR_INVALID_SIGNATURE);
    assert_int_equal(balance(t, &a), 100000);
    /* the register's own retry, signed again, is served */
    fresh_nonce(nonce);
    assert_int_equal(charge_nonce(W(t), &t->term, nonce, code, 6000, "", "d2", &r, &bad, NULL), ERR_OK);
    assert_int_equal(balance(t, &a), 94000);
}

/* A closed store's terminals give nothing back either: refund and void are
 * refused as charges are, and work again once the store reopens. */
static void a_closed_store_neither_refunds_nor_voids(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 5000, code);
    struct payment_receipt r, p;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 3000, "c1", &p, &bad), ERR_OK);
    assert_int_equal(t->f->st->ops->mstore_set_active(t->f->st, t->shop.id, 0), ERR_OK);
    assert_int_equal(refund(t, &t->term, p.p.id, 1000, false, "r1", &r, &bad), ERR_STORE_NOT_FOUND);
    assert_int_equal(refund(t, &t->term, p.p.id, 0, true, "v1", &r, &bad), ERR_STORE_NOT_FOUND);
    assert_int_equal(balance(t, &a), 2000);
    assert_int_equal(t->f->st->ops->mstore_set_active(t->f->st, t->shop.id, 1), ERR_OK);
    assert_int_equal(refund(t, &t->term, p.p.id, 1000, false, "r1", &r, &bad), ERR_OK);
    assert_int_equal(balance(t, &a), 3000);
    int64_t refund_id = r.refund_id;

    /* The store closes while the register waits for that answer: its retry
     * gets the refund it already made, and nothing moves twice; a new
     * refund is still refused. */
    assert_int_equal(t->f->st->ops->mstore_set_active(t->f->st, t->shop.id, 0), ERR_OK);
    memset(&r, 0, sizeof r);
    assert_int_equal(refund(t, &t->term, p.p.id, 1000, false, "r1", &r, &bad), ERR_OK);
    assert_true(r.replayed);
    assert_int_equal(r.refund_id, refund_id);
    assert_int_equal(r.refund_amount, 1000);
    assert_int_equal(refund(t, &t->term, p.p.id, 500, false, "r2", &r, &bad), ERR_STORE_NOT_FOUND);
    assert_int_equal(balance(t, &a), 3000);
    assert_int_equal(t->f->st->ops->mstore_set_active(t->f->st, t->shop.id, 1), ERR_OK);
}

static void daily_limit_holds_when_registers_race(void **state)
{
    struct tp *t = *state;
    t->f->cfg.pay_daily_max = 5000;
    struct cust a;
    char codes[8][PAYCODE_DIGITS + 1];
    customer(t, &a, "aiko@example.com");
    fund(t, &a, 100000);
    for (int i = 0; i < 8; i++)
        new_code(t, &a, codes[i]);
    /* Eight codes, eight registers, 1,000 yen each, at the same instant:
     * exactly five fit in the day. */
    struct racer rs[8];
    memset(rs, 0, sizeof rs);
    for (size_t i = 0; i < 8; i++) {
        rs[i].term = i % 2 ? &t->term : &t->term2;
        rs[i].code = codes[i];
        rs[i].amount = 1000;
        snprintf(rs[i].key, sizeof rs[i].key, "race-%zu", i);
    }
    assert_int_equal(run_race(t, rs, 8), 5);
    for (size_t i = 0; i < 8; i++)
        if (rs[i].e != ERR_OK) {
            assert_int_equal(rs[i].e, ERR_LIMIT_EXCEEDED);
            assert_string_equal(rs[i].bad, "daily");
        }
    assert_int_equal(balance(t, &a), 95000);
    assert_int_equal(spent(t, &a, "pay", 'd'), 5000);
}

static void a_new_device_pays_less(void **state)
{
    struct tp *t = *state;
    t->f->cfg.new_device_cooldown_s = 3 * 86400;
    t->f->cfg.pay_new_device_daily_max = 3000;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 100000, code); /* its first device: in its cool-down */
    struct payment_receipt r;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 3001, "n1", &r, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "new_device");
    assert_int_equal(charge(t, &t->term, code, 2000, "n2", &r, &bad), ERR_OK);
    new_code(t, &a, code);
    assert_int_equal(charge(t, &t->term, code, 1001, "n3", &r, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "new_device");
    /* After the cool-down, the ordinary day limit. */
    t->f->now += 3 * DAY_MS + 1000;
    new_code(t, &a, code);
    assert_int_equal(charge(t, &t->term, code, 20000, "n4", &r, &bad), ERR_OK);
    assert_int_equal(balance(t, &a), 78000);
}

static void offline_codes_pay_less(void **state)
{
    struct tp *t = *state;
    t->f->cfg.offline_pay_max = 3000;
    t->f->cfg.offline_daily_max = 5000;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    fund(t, &a, 100000);
    /* The phone's offline key (needs a fresh second factor: the login just made one). */
    assert_int_equal(af_login(t->f, a.email, &a.phone, &a.g), ERR_OK);
    af_auth(t->f, &a.g, &a.s);
    char key_b64[OFFLINE_KEY_B64_LEN + 1];
    int64_t offline_id = 0;
    assert_int_equal(paycode_offline_key(W(t), &a.s, key_b64, &offline_id), ERR_OK);
    af_secret(t->f, key_b64);
    uint8_t key[32];
    size_t klen = 0;
    assert_int_equal(sodium_base642bin(key, sizeof key, key_b64, strlen(key_b64), NULL, &klen, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    assert_int_equal(klen, 32);
    int64_t step = t->f->now / 1000 / OFFLINE_STEP_S;
    char code[PAYCODE_DIGITS + 1];
    paycode_offline_derive(key, offline_id, step, code);
    af_secret(t->f, code);

    struct payment_receipt r;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 3001, "o1", &r, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "amount");
    assert_int_equal(af_events(t->f, a.s.customer_id, "payment_refused"), 1); /* a stolen phone's try, on file */
    assert_int_equal(charge(t, &t->term, code, 3000, "o2", &r, &bad), ERR_OK);
    assert_true(r.p.offline);
    /* Each code (step) pays once. */
    assert_int_equal(charge(t, &t->term2, code, 100, "o3", &r, &bad), ERR_INVALID_CODE);
    /* The offline day: 3,000 + 2,001 > 5,000. */
    paycode_offline_derive(key, offline_id, step + 1, code);
    af_secret(t->f, code);
    assert_int_equal(charge(t, &t->term, code, 2001, "o4", &r, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "offline_daily");
    assert_int_equal(charge(t, &t->term, code, 2000, "o5", &r, &bad), ERR_OK);
    /* Online codes are not held to the offline day. */
    char online[PAYCODE_DIGITS + 1];
    new_code(t, &a, online);
    assert_int_equal(charge(t, &t->term, online, 10000, "o6", &r, &bad), ERR_OK);
    assert_int_equal(balance(t, &a), 85000);
    assert_int_equal(spent(t, &a, "off", 'd'), 5000);
    assert_int_equal(spent(t, &a, "pay", 'd'), 15000);
}

/* An offline code still resolves after it paid (its use is seen only in
 * the ledger's transaction), so a register's retry went through the
 * checks before submitting: a wallet the first charge left short, or a
 * freeze since, answered 422 / 403 — and the clerk charged again. */
static void an_offline_retry_gets_its_receipt(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    fund(t, &a, 5000);
    assert_int_equal(af_login(t->f, a.email, &a.phone, &a.g), ERR_OK);
    af_auth(t->f, &a.g, &a.s);
    char key_b64[OFFLINE_KEY_B64_LEN + 1];
    int64_t offline_id = 0;
    assert_int_equal(paycode_offline_key(W(t), &a.s, key_b64, &offline_id), ERR_OK);
    af_secret(t->f, key_b64);
    uint8_t key[32];
    size_t klen = 0;
    assert_int_equal(sodium_base642bin(key, sizeof key, key_b64, strlen(key_b64), NULL, &klen, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    char code[PAYCODE_DIGITS + 1];
    paycode_offline_derive(key, offline_id, t->f->now / 1000 / OFFLINE_STEP_S, code);
    af_secret(t->f, code);

    struct payment_receipt r1, r2;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 3000, "off-1", &r1, &bad), ERR_OK);
    assert_int_equal(balance(t, &a), 2000);
    /* The answer was lost: the same request again.  2,000 left < 3,000. */
    t->f->now += 2000;
    assert_int_equal(charge(t, &t->term, code, 3000, "off-1", &r2, &bad), ERR_OK);
    assert_true(r2.replayed);
    assert_int_equal(r2.p.id, r1.p.id);
    /* Frozen since: still the receipt of what was paid before. */
    assert_int_equal(freeze_self(af_ctx(t->f), &a.s, "lost my phone"), ERR_OK);
    assert_int_equal(charge(t, &t->term, code, 3000, "off-1", &r2, &bad), ERR_OK);
    assert_true(r2.replayed);
    assert_int_equal(r2.p.id, r1.p.id);
    /* A new key is refused: the freeze revoked the phone's offline key
     * (a thief's phone would pay again after the unfreeze otherwise), and
     * no key is issued while frozen. */
    assert_int_equal(charge(t, &t->term, code, 3000, "off-2", &r2, &bad), ERR_INVALID_CODE);
    assert_int_equal(af_login(t->f, a.email, &a.phone, &a.g), ERR_OK);
    af_auth(t->f, &a.g, &a.s);
    assert_int_equal(paycode_offline_key(W(t), &a.s, key_b64, &offline_id), ERR_ACCOUNT_FROZEN);
    assert_string_equal(key_b64, "");
    assert_int_equal(balance(t, &a), 2000);
    assert_int_equal(spent(t, &a, "off", 'd'), 3000);
}

/* ---- freezes and switches ------------------------------------------------- */

static void a_frozen_account_cannot_pay(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 10000, code);
    struct payment_receipt r;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 1000, "f0", &r, &bad), ERR_OK);
    int64_t paid = r.p.id;
    new_code(t, &a, code);

    /* The owner, seeing a thief's login, freezes from the app: the thief's
     * other sessions end, the owner's stays. */
    struct auth_grant thief;
    assert_int_equal(af_login(t->f, a.email, &a.phone, &thief), ERR_OK);
    assert_int_equal(freeze_self(af_ctx(t->f), &a.s, "my phone number was ported"), ERR_OK);
    struct auth_session s;
    char did[IDS_BUF];
    assert_int_equal(session_authenticate(af_ctx(t->f), thief.session_token,
                                          ids_format(did, DEVICE_ID_PREFIX, thief.device_id), &s),
                     ERR_UNAUTHENTICATED);
    af_auth(t->f, &a.g, &a.s);
    assert_int_equal(freeze_check(t->f->st, a.s.customer_id), ERR_ACCOUNT_FROZEN);
    assert_int_equal(af_events(t->f, a.s.customer_id, "account_frozen"), 1);
    assert_int_equal(af_mail_count(t->f, a.email, "Your kessai account is frozen"), 1);

    /* The codes shown before the freeze are gone with the sessions; one
     * made since is refused for the freeze. */
    assert_int_equal(charge(t, &t->term, code, 1000, "f1", &r, &bad), ERR_INVALID_CODE);
    new_code(t, &a, code);
    assert_int_equal(charge(t, &t->term, code, 1000, "f1", &r, &bad), ERR_ACCOUNT_FROZEN);
    assert_int_equal(balance(t, &a), 9000);
    /* the thief's try at the register is on the owner's file */
    assert_int_equal(af_events(t->f, a.s.customer_id, "payment_refused"), 1);
    /* No money in either: a cash top-up at the register is refused, its
     * code left unused. */
    char tcode[TOPUP_CODE_DIGITS + 1];
    int64_t texp = 0;
    assert_int_equal(topup_code_new(W(t), &a.s, tcode, &texp), ERR_OK);
    af_secret(t->f, tcode);
    struct topup_result tr;
    const char *tb = NULL;
    struct killswitch tsw;
    assert_int_equal(topup_cash(W(t), &t->term, tcode, 1000, "cash-1", &tr, &tb, &tsw), ERR_ACCOUNT_FROZEN);
    assert_int_equal(af_events(t->f, a.s.customer_id, "topup_refused"), 1);
    /* A refund still reaches a frozen account. */
    assert_int_equal(refund(t, &t->term, paid, 1000, false, "rf1", &r, &bad), ERR_OK);
    assert_int_equal(balance(t, &a), 10000);
    /* The customer cannot unfreeze; staff can (and the code still works). */
    assert_int_equal(freeze_set_by_staff(af_ctx(t->f), "admin-cli", "nobody@example.com", false, "x", "cli:ana"),
                     ERR_NOT_FOUND);
    assert_int_equal(freeze_set_by_staff(af_ctx(t->f), "admin-cli", a.email, false, "", "cli:ana"), ERR_INVALID_PARAM);
    assert_int_equal(freeze_set_by_staff(af_ctx(t->f), "admin-cli", a.email, false, "owner called, id checked", "cli:ana"),
                     ERR_OK);
    assert_int_equal(af_events(t->f, a.s.customer_id, "account_unfrozen"), 1);
    assert_int_equal(charge(t, &t->term, code, 1000, "f2", &r, &bad), ERR_OK);
    /* Staff freeze ends every session. */
    assert_int_equal(freeze_set_by_staff(af_ctx(t->f), "admin-cli", "AIKO@example.com", true, "fraud case 17", "cli:ana"),
                     ERR_OK);
    assert_int_equal(session_authenticate(af_ctx(t->f), a.g.session_token, a.phone.device_id, &s),
                     ERR_UNAUTHENTICATED);
    assert_int_equal(charge(t, &t->term, code, 1000, "f3", &r, &bad), ERR_INVALID_CODE); /* spent by f2 */
}

static void payments_switch_global_merchant_store(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 10000, code);
    struct payment_receipt r;
    const char *bad = NULL;
    struct killswitch sw;
    char nonce[POS_NONCE_MAX + 1];
    char name[KILLSWITCH_NAME_MAX + 1], id[IDS_BUF];

    /* One store off: that store refuses, its sister store takes the code. */
    snprintf(name, sizeof name, "payments@%s", ids_format(id, MERCHANT_STORE_ID_PREFIX, t->shop.id));
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", name, true, "till maintenance", "cli:ana", t->f->now), ERR_OK);
    fresh_nonce(nonce);
    memset(&sw, 0, sizeof sw);
    assert_int_equal(charge_nonce(W(t), &t->term, nonce, code, 100, "", "s1", &r, &bad, &sw), ERR_SUSPENDED);
    assert_string_equal(sw.reason, "till maintenance");
    assert_int_equal(charge(t, &t->term2, code, 100, "s2", &r, &bad), ERR_OK);
    new_code(t, &a, code);
    /* The merchant off: both its stores refuse; another merchant's works. */
    snprintf(name, sizeof name, "payments@%s", ids_format(id, MERCHANT_ID_PREFIX, t->mer.id));
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", name, true, "merchant audit", "cli:ana", t->f->now), ERR_OK);
    fresh_nonce(nonce);
    assert_int_equal(charge_nonce(W(t), &t->term2, nonce, code, 100, "", "s3", &r, &bad, &sw), ERR_SUSPENDED);
    assert_string_equal(sw.reason, "merchant audit");
    assert_int_equal(charge(t, &t->far_term, code, 100, "s4", &r, &bad), ERR_OK);
    new_code(t, &a, code);
    /* Everything off. */
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_PAYMENTS, true, "fraud wave", "cli:ana", t->f->now),
                     ERR_OK);
    fresh_nonce(nonce);
    assert_int_equal(charge_nonce(W(t), &t->far_term, nonce, code, 100, "", "s5", &r, &bad, &sw), ERR_SUSPENDED);
    assert_string_equal(sw.reason, "fraud wave");
    /* A register that lost the answer to a charge made before the switch
     * still gets its receipt (it must not charge again). */
    assert_int_equal(charge(t, &t->far_term, code, 100, "s4", &r, &bad), ERR_OK);
    assert_true(r.replayed);
    /* ... but not with another customer's code under that key. */
    struct cust b;
    char codeb[PAYCODE_DIGITS + 1];
    ready(t, &b, "bunta@example.com", 1000, codeb);
    assert_int_equal(charge(t, &t->far_term, codeb, 100, "s4", &r, &bad), ERR_IDEMPOTENCY_CONFLICT);
    assert_int_equal(balance(t, &b), 1000);
    /* Nothing moved, and the code was not spent by the refusals. */
    assert_int_equal(balance(t, &a), 9800);
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_PAYMENTS, false, NULL, "cli:ana", t->f->now), ERR_OK);
    assert_int_equal(charge(t, &t->far_term, code, 100, "s5", &r, &bad), ERR_OK);
    /* A switched-off store does not count as guessing. */
    int64_t retry = 0;
    assert_int_equal(payment_terminal_throttle(W(t), &t->term, &retry), ERR_OK);
}

/* ---- refunds and voids ---------------------------------------------------- */

static void refunds_partial_and_full(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 10000, code);
    struct payment_receipt r, rf;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 3000, "c1", &r, &bad), ERR_OK);
    int64_t pay = r.p.id;
    deliver(t);

    assert_int_equal(refund(t, &t->term, pay, 1000, false, "r1", &rf, &bad), ERR_OK);
    assert_false(rf.replayed);
    assert_int_equal(rf.p.id, pay);
    assert_int_equal(rf.p.refunded, 1000);
    assert_int_equal(rf.refund_amount, 1000);
    assert_true(rf.refund_id > pay);
    assert_int_equal(rf.balance_after, 8000);
    assert_int_equal(balance(t, &a), 8000);
    struct ledger_transfer x;
    assert_int_equal(t->f->st->ops->transfer_get(t->f->st, rf.refund_id, &x), ERR_OK);
    assert_string_equal(x.kind, "refund");
    assert_int_equal(x.ref_id, pay);
    assert_int_equal(x.credit_account, wallet_of(t, &a));
    deliver(t);
    char body[2048];
    assert_int_equal(af_mail(t->f, a.email, "You received a refund", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "1,000 yen"));
    /* What came back may be spent again today. */
    assert_int_equal(spent(t, &a, "pay", 'd'), 2000);

    /* Retried: the same refund. */
    struct payment_receipt again;
    assert_int_equal(refund(t, &t->term, pay, 1000, false, "r1", &again, &bad), ERR_OK);
    assert_true(again.replayed);
    assert_int_equal(again.refund_id, rf.refund_id);
    assert_int_equal(again.p.refunded, 1000);
    assert_string_equal(rf.store_name, "Kessai Mart Tokyo Station");
    assert_string_equal(again.store_name, "Kessai Mart Tokyo Station"); /* the retry's receipt too */
    assert_int_equal(refund(t, &t->term, pay, 999, false, "r1", &again, &bad), ERR_IDEMPOTENCY_CONFLICT);
    /* Never above what remains (2,000), from any register of the merchant. */
    assert_int_equal(refund(t, &t->term2, pay, 2001, false, "r2", &again, &bad), ERR_REVERSAL_EXCEEDS_ORIGINAL);
    assert_string_equal(bad, "amount");
    assert_int_equal(refund(t, &t->term2, pay, 0, false, "r2", &again, &bad), ERR_AMOUNT_INVALID);
    /* Another merchant's register cannot refund it, or even see it. */
    assert_int_equal(refund(t, &t->far_term, pay, 100, false, "r3", &again, &bad), ERR_PAYMENT_NOT_FOUND);
    struct payment p;
    assert_int_equal(payment_get_for_terminal(W(t), &t->far_term, pay, &p), ERR_PAYMENT_NOT_FOUND);
    assert_int_equal(payment_get_for_terminal(W(t), &t->far_term, pay + 100000, &p), ERR_PAYMENT_NOT_FOUND);
    assert_int_equal(refund(t, &t->term, pay + 100000, 100, false, "r4", &again, &bad), ERR_PAYMENT_NOT_FOUND);
    /* The rest, from the sister store's register. */
    assert_int_equal(refund(t, &t->term2, pay, 2000, false, "r2", &again, &bad), ERR_OK);
    assert_int_equal(again.p.refunded, 3000);
    assert_int_equal(balance(t, &a), 10000);
    assert_int_equal(payment_get_for_terminal(W(t), &t->term2, pay, &p), ERR_OK);
    assert_int_equal(p.refunded, 3000);
    assert_int_equal(refund(t, &t->term, pay, 1, false, "r5", &again, &bad), ERR_REVERSAL_EXCEEDS_ORIGINAL);
    assert_int_equal(balance(t, &a), 10000);
}

static void refunds_racing_never_exceed_the_payment(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 10000, code);
    struct payment_receipt r;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 3000, "c1", &r, &bad), ERR_OK);
    /* Four refunds of 1,000 read "3,000 remain" before any commits; the
     * ledger lets three through. */
    struct wait wt[4];
    char nonce[4][POS_NONCE_MAX + 1], key[4][16];
    enum err e[4];
    for (int i = 0; i < 4; i++) {
        wt[i] = (struct wait){.done = false};
        pthread_mutex_init(&wt[i].mu, NULL);
        pthread_cond_init(&wt[i].cv, NULL);
        fresh_nonce(nonce[i]);
        snprintf(key[i], sizeof key[i], "rr-%d", i);
        e[i] = payment_refund(W(t), &t->term, nonce[i], r.p.id, 1000, false, key[i], on_done, &wt[i], &bad);
    }
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        e[i] = await(&wt[i], e[i], NULL, NULL);
        ok += e[i] == ERR_OK;
        if (e[i] != ERR_OK)
            assert_int_equal(e[i], ERR_REVERSAL_EXCEEDS_ORIGINAL);
    }
    assert_int_equal(ok, 3);
    struct payment p;
    assert_int_equal(payment_get_for_terminal(W(t), &t->term, r.p.id, &p), ERR_OK);
    assert_int_equal(p.refunded, 3000);
    assert_int_equal(balance(t, &a), 10000);
}

/* A fraud victim the fraud-loss account paid back (a reversal that does not
 * charge the store) is not paid back again by the store's refund: what
 * remains to refund is what nobody gave back yet. */
static void a_refund_never_repays_what_a_reversal_gave_back(void **state)
{
    struct tp *t = *state;
    t->f->cfg.reversal_approval_threshold = 10000;
    t->f->cfg.void_window_s = 600;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 10000, code);
    struct payment_receipt r, rf;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 3000, "c1", &r, &bad), ERR_OK);
    struct reversal rv;
    bool replayed = false;
    assert_int_equal(reversal_request(&W(t)->a, t->writer, 1, r.p.id, 2000, "account taken over", false, 0, "rev-1",
                                      &rv, &replayed, &bad),
                     ERR_OK);
    assert_string_equal(rv.status, REVERSAL_STATUS_EXECUTED);
    assert_int_equal(balance(t, &a), 9000);
    /* what came back may be spent again, as after a refund */
    assert_int_equal(spent(t, &a, "pay", 'd'), 1000);
    assert_int_equal(spent(t, &a, "pay", 'm'), 1000);
    /* 1,000 remains: the store cannot give back more */
    assert_int_equal(refund(t, &t->term, r.p.id, 1001, false, "r1", &rf, &bad), ERR_REVERSAL_EXCEEDS_ORIGINAL);
    assert_string_equal(bad, "amount");
    assert_int_equal(balance(t, &a), 9000);
    /* a void gives back only what remains */
    assert_int_equal(refund(t, &t->term, r.p.id, 0, true, "v1", &rf, &bad), ERR_OK);
    assert_int_equal(rf.refund_amount, 1000);
    assert_int_equal(balance(t, &a), 10000);
    assert_int_equal(spent(t, &a, "pay", 'd'), 0);
    assert_int_equal(refund(t, &t->term, r.p.id, 1, false, "r2", &rf, &bad), ERR_REVERSAL_EXCEEDS_ORIGINAL);
    assert_int_equal(balance(t, &a), 10000);
}

/* ledger verify holds the payments table and fraud reversals to the
 * transfers they name: a payment's amount and what it says was given back
 * (its refunds, voids and reversals charged to the store), a reversal's
 * amount, kind of transfer and state.  Each tampering alone, undone before
 * the next. */
static void verify_holds_payments_and_reversals_to_the_ledger(void **state)
{
    struct tp *t = *state;
    t->f->cfg.reversal_approval_threshold = 10000;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 10000, code);
    struct payment_receipt r, rf;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 3000, "c1", &r, &bad), ERR_OK);
    assert_int_equal(refund(t, &t->term, r.p.id, 1000, false, "r1", &rf, &bad), ERR_OK);
    struct reversal store_rv, loss_rv;
    bool replayed = false;
    assert_int_equal(reversal_request(&W(t)->a, t->writer, 1, r.p.id, 500, "account taken over", true, 0, "rv-store",
                                      &store_rv, &replayed, &bad),
                     ERR_OK);
    assert_int_equal(reversal_request(&W(t)->a, t->writer, 1, r.p.id, 500, "account taken over", false, 0, "rv-loss",
                                      &loss_rv, &replayed, &bad),
                     ERR_OK);
    assert_int_equal(balance(t, &a), 9000);
    struct ledger_verify_report rep;
    char *out = tu_ledger_verify(t->f->st, &rep);
    assert_int_equal(rep.violations, 0);
    free(out);

    char tamper[512], undo[512], says[256];
    int64_t pay = r.p.id;
#define CATCHES(n, ...)                                                                                              \
    do {                                                                                                             \
        snprintf(says, sizeof says, __VA_ARGS__);                                                                    \
        wf_verify_catches(t->f, tamper, undo, n, says);                                                              \
    } while (0)
    snprintf(tamper, sizeof tamper, "UPDATE payments SET amount = 30000 WHERE id = %" PRId64, pay);
    snprintf(undo, sizeof undo, "UPDATE payments SET amount = 3000 WHERE id = %" PRId64, pay);
    CATCHES(1, "payments %" PRId64 ": amount 30000 but its transfer %" PRId64 " moved 3000", pay, pay);
    snprintf(tamper, sizeof tamper, "UPDATE payments SET refunded = 0 WHERE id = %" PRId64, pay);
    snprintf(undo, sizeof undo, "UPDATE payments SET refunded = 1500 WHERE id = %" PRId64, pay);
    CATCHES(1, "says 0 was given back but reversals of transfer %" PRId64 " add up to 1500", pay);
    snprintf(tamper, sizeof tamper, "UPDATE reversals SET amount = 5000 WHERE id = %" PRId64, loss_rv.id);
    snprintf(undo, sizeof undo, "UPDATE reversals SET amount = 500 WHERE id = %" PRId64, loss_rv.id);
    CATCHES(1, "reversals %" PRId64 ": amount 5000 but its transfer %" PRId64 " moved 500", loss_rv.id,
            loss_rv.transfer_id);
    snprintf(tamper, sizeof tamper, "UPDATE reversals SET charge_store = 0 WHERE id = %" PRId64, store_rv.id);
    snprintf(undo, sizeof undo, "UPDATE reversals SET charge_store = 1 WHERE id = %" PRId64, store_rv.id);
    CATCHES(1, "reversals %" PRId64 ": transfer %" PRId64 " has flags 8, not 0", store_rv.id, store_rv.transfer_id);
    snprintf(tamper, sizeof tamper, "UPDATE reversals SET status = 'pending' WHERE id = %" PRId64, loss_rv.id);
    snprintf(undo, sizeof undo, "UPDATE reversals SET status = 'executed' WHERE id = %" PRId64, loss_rv.id);
    CATCHES(1, "but its state says no money moved");
    snprintf(tamper, sizeof tamper, "UPDATE reversals SET transfer_id = 0 WHERE id = %" PRId64, loss_rv.id);
    snprintf(undo, sizeof undo, "UPDATE reversals SET transfer_id = %" PRId64 " WHERE id = %" PRId64,
             loss_rv.transfer_id, loss_rv.id);
    CATCHES(1, "reversals %" PRId64 ": says 500 moved but names no transfer", loss_rv.id);
    snprintf(tamper, sizeof tamper, "UPDATE reversals SET transfer_id = 999999 WHERE id = %" PRId64, loss_rv.id);
    CATCHES(1, "names transfer 999999, which does not exist");
    snprintf(tamper, sizeof tamper, "UPDATE reversals SET transfer_id = %" PRId64 " WHERE id = %" PRId64, pay,
             loss_rv.id);
    CATCHES(2, "transfer %" PRId64 " is named by another row too", pay);
#undef CATCHES

    /* A refund raised from 1,000 to 2,000 yen, both accounts' totals fixed
     * and its request hash recomputed: the payment still says 1,500 came
     * back. */
    struct ledger_transfer x;
    assert_int_equal(t->f->st->ops->transfer_get(t->f->st, rf.refund_id, &x), ERR_OK);
    const char *move = "UPDATE transfers SET amount = amount + %d WHERE id = %" PRId64 ";"
                       "UPDATE accounts SET debits_posted = debits_posted + %d WHERE id = %" PRId64 ";"
                       "UPDATE accounts SET credits_posted = credits_posted + %d WHERE id = %" PRId64 ";";
    tu_sql(t->f->dir, move, 1000, x.id, 1000, x.debit_account, 1000, x.credit_account);
    tu_rehash_transfer(t->f->dir, x.id);
    out = tu_ledger_verify(t->f->st, &rep);
    assert_int_equal(rep.violations, 1);
    assert_non_null(strstr(out, "add up to 2500"));
    free(out);
    tu_sql(t->f->dir, move, -1000, x.id, -1000, x.debit_account, -1000, x.credit_account);
    tu_rehash_transfer(t->f->dir, x.id);
}

/* Four eyes cannot be dodged by splitting: up to the threshold of one
 * payment goes back at once, in one reversal or in several; beyond, each
 * waits for a second staff member. */
static void a_reversal_split_in_small_ones_still_needs_four_eyes(void **state)
{
    struct tp *t = *state;
    t->f->cfg.reversal_approval_threshold = 10000;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 50000, code);
    struct payment_receipt r;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 30000, "c1", &r, &bad), ERR_OK);
    struct reversal rv;
    bool replayed = false;
    const int64_t staff = 1;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(reversal_request(&W(t)->a, t->writer, staff, r.p.id, 5000, "account taken over", i == 1, 0,
                                          i == 0 ? "rev-1" : "rev-2", &rv, &replayed, &bad),
                         ERR_OK);
        assert_string_equal(rv.status, REVERSAL_STATUS_EXECUTED);
    }
    assert_int_equal(balance(t, &a), 30000);
    /* 10,000 went back without a second pair of eyes: the next yen waits */
    assert_int_equal(reversal_request(&W(t)->a, t->writer, staff, r.p.id, 1, "account taken over", false, 0, "rev-3",
                                      &rv, &replayed, &bad),
                     ERR_OK);
    assert_string_equal(rv.status, REVERSAL_STATUS_PENDING);
    assert_int_equal(reversal_request(&W(t)->a, t->writer, staff + 1, r.p.id, 5000, "account taken over", true, 0,
                                      "rev-1", &rv, &replayed, &bad),
                     ERR_OK);
    assert_string_equal(rv.status, REVERSAL_STATUS_PENDING);
    assert_int_equal(balance(t, &a), 30000);
    /* approved by another: it moves */
    assert_int_equal(reversal_approve(&W(t)->a, t->writer, staff, rv.id, &rv, &bad), ERR_OK);
    assert_string_equal(rv.status, REVERSAL_STATUS_EXECUTED);
    assert_int_equal(balance(t, &a), 35000);
}

static void void_within_the_window_only(void **state)
{
    struct tp *t = *state;
    t->f->cfg.void_window_s = 600;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 10000, code);
    struct payment_receipt r, v;
    const char *bad = NULL;
    assert_int_equal(charge(t, &t->term, code, 2500, "c1", &r, &bad), ERR_OK);
    assert_int_equal(refund(t, &t->term, r.p.id, 500, false, "r1", &v, &bad), ERR_OK);
    /* The clerk rang it up wrong: void within ten minutes gives back all
     * that remains. */
    t->f->now += 599 * 1000;
    assert_int_equal(refund(t, &t->term, r.p.id, 0, true, "v1", &v, &bad), ERR_OK);
    assert_int_equal(v.refund_amount, 2000);
    assert_true(v.p.voided);
    assert_int_equal(v.p.refunded, 2500);
    assert_int_equal(balance(t, &a), 10000);
    struct ledger_transfer x;
    assert_int_equal(t->f->st->ops->transfer_get(t->f->st, v.refund_id, &x), ERR_OK);
    assert_string_equal(x.kind, "void");
    deliver(t);
    assert_int_equal(af_mail_count(t->f, a.email, "A payment was cancelled"), 1);
    /* Retried: the same void; a second void has nothing left. */
    assert_int_equal(refund(t, &t->term, r.p.id, 0, true, "v1", &v, &bad), ERR_OK);
    assert_true(v.replayed);
    assert_int_equal(refund(t, &t->term, r.p.id, 0, true, "v2", &v, &bad), ERR_REVERSAL_EXCEEDS_ORIGINAL);

    /* Eleven minutes later it is too late: a refund is the way. */
    new_code(t, &a, code);
    assert_int_equal(charge(t, &t->term, code, 1000, "c2", &r, &bad), ERR_OK);
    t->f->now += 601 * 1000;
    assert_int_equal(refund(t, &t->term, r.p.id, 0, true, "v3", &v, &bad), ERR_CONFLICT);
    assert_string_equal(bad, "void_window");
    assert_int_equal(balance(t, &a), 9000);
    /* Another merchant cannot void it either. */
    t->f->now -= 601 * 1000;
    assert_int_equal(refund(t, &t->far_term, r.p.id, 0, true, "v4", &v, &bad), ERR_PAYMENT_NOT_FOUND);
}

/* ---- the feed and guessing ------------------------------------------------ */

static void the_feed_shows_a_stores_payments(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 10000, code);
    struct payment_receipt r;
    const char *bad = NULL;
    int64_t here[3];
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "f%d", i);
        assert_int_equal(charge(t, &t->term, code, 100 + i, key, &r, &bad), ERR_OK);
        here[i] = r.p.id;
        new_code(t, &a, code);
        snprintf(key, sizeof key, "g%d", i);
        assert_int_equal(charge(t, &t->term2, code, 200, key, &r, &bad), ERR_OK); /* the sister store */
        new_code(t, &a, code);
    }
    struct payment ps[PAYMENT_FEED_MAX];
    size_t n = 0;
    assert_int_equal(payment_feed(W(t), &t->term, 0, ps, PAYMENT_FEED_MAX, &n), ERR_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ps[i].id, here[i]);
        assert_int_equal(ps[i].amount, 100 + (int64_t)i);
        assert_int_equal(ps[i].store_id, t->shop.id);
    }
    assert_int_equal(payment_feed(W(t), &t->term, here[0], ps, PAYMENT_FEED_MAX, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ps[0].id, here[1]);
    assert_int_equal(payment_feed(W(t), &t->term, here[2], ps, PAYMENT_FEED_MAX, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(payment_feed(W(t), &t->term, 0, ps, 2, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(payment_feed(W(t), &t->far_term, 0, ps, PAYMENT_FEED_MAX, &n), ERR_OK);
    assert_int_equal(n, 0);
}

static void a_guessing_register_is_stopped_and_flagged(void **state)
{
    struct tp *t = *state;
    struct cust a;
    char code[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 10000, code);
    struct payment_receipt r;
    const char *bad = NULL;
    /* A customer's code expired on the way: one failure, nothing more. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(charge(t, &t->far_term, "812345678901234567", 100, "x", &r, &bad), ERR_INVALID_CODE);
    int64_t retry = 0;
    assert_int_equal(payment_terminal_throttle(W(t), &t->far_term, &retry), ERR_OK);
    /* A register trying codes: ten different ones. */
    for (int i = 0; i < PAYMENT_GUESS_CODES - 1; i++) {
        char guess[PAYCODE_DIGITS + 1];
        snprintf(guess, sizeof guess, "8%016d", 4711 + i);
        guess[17] = '0';
        guess[18] = '\0';
        assert_int_equal(charge(t, &t->far_term, guess, 100, "x", &r, &bad), ERR_INVALID_CODE);
    }
    assert_int_equal(payment_terminal_throttle(W(t), &t->far_term, &retry), ERR_RATE_LIMITED);
    assert_int_equal(retry, PAYMENT_GUESS_BLOCK_MS / 1000);
    assert_int_equal(af_events(t->f, 0, "terminal_flagged"), 1);
    /* Blocked: even a real code is refused there, and not spent. */
    assert_int_equal(charge(t, &t->far_term, code, 100, "y", &r, &bad), ERR_RATE_LIMITED);
    /* Other registers are not affected. */
    assert_int_equal(charge(t, &t->term, code, 100, "y", &r, &bad), ERR_OK);
    /* The block ends. */
    t->f->now += PAYMENT_GUESS_BLOCK_MS;
    new_code(t, &a, code);
    assert_int_equal(charge(t, &t->far_term, code, 100, "z", &r, &bad), ERR_OK);
    assert_int_equal(balance(t, &a), 9800);
}

/* A register that paid once under a key must not use that key to try
 * codes for free: the retries of the code that paid cost nothing, but any
 * other code counts as a guess (another customer's live code is a
 * conflict, a dead one gets the receipt), and once blocked the register
 * gets the same answer whatever code it shows. */
static void a_key_that_paid_is_no_free_guessing_ground(void **state)
{
    struct tp *t = *state;
    struct cust a, b;
    char code[PAYCODE_DIGITS + 1], codeb[PAYCODE_DIGITS + 1];
    ready(t, &a, "aiko@example.com", 5000, code);
    customer(t, &b, "bunta@example.com");
    fund(t, &b, 5000);
    struct payment_receipt r;
    const char *bad = NULL;
    int64_t retry = 0;
    assert_int_equal(charge(t, &t->far_term, code, 100, "k", &r, &bad), ERR_OK);
    /* minutes later (the spent code's row is long gone), b gets a code */
    t->f->now += 5 * 60 * 1000;
    new_code(t, &b, codeb);
    for (int i = 0; i < 2 * PAYMENT_GUESS_CODES; i++) {
        assert_int_equal(charge(t, &t->far_term, code, 100, "k", &r, &bad), ERR_OK);
        assert_true(r.replayed);
    }
    assert_int_equal(payment_terminal_throttle(W(t), &t->far_term, &retry), ERR_OK);

    /* b's live code under a's key: a conflict, and one guess */
    assert_int_equal(charge(t, &t->far_term, codeb, 100, "k", &r, &bad), ERR_IDEMPOTENCY_CONFLICT);
    for (int i = 0; i < PAYMENT_GUESS_CODES - 1; i++) {
        /* (the retries of the code that paid did not count) */
        assert_int_equal(payment_terminal_throttle(W(t), &t->far_term, &retry), ERR_OK);
        char guess[PAYCODE_DIGITS + 1];
        snprintf(guess, sizeof guess, "8%016d", 271828 + i);
        guess[PAYCODE_DIGITS - 1] = (char)('0' + luhn_check_digit(guess, PAYCODE_DIGITS - 1));
        guess[PAYCODE_DIGITS] = '\0';
        assert_int_equal(charge(t, &t->far_term, guess, 100, "k", &r, &bad), ERR_OK);
        assert_true(r.replayed);
        assert_int_equal(r.p.customer_id, a.s.customer_id);
    }
    assert_int_equal(payment_terminal_throttle(W(t), &t->far_term, &retry), ERR_RATE_LIMITED);
    assert_int_equal(af_events(t->f, 0, "terminal_flagged"), 1);

    /* Blocked: b's live code and a made-up one get the same answer, under
     * the key that paid (its receipt) and under a new one (rate_limited). */
    assert_int_equal(charge(t, &t->far_term, codeb, 100, "k", &r, &bad), ERR_OK);
    assert_true(r.replayed);
    assert_int_equal(r.p.customer_id, a.s.customer_id);
    assert_int_equal(charge(t, &t->far_term, "812345678901234567", 100, "k", &r, &bad), ERR_OK);
    assert_true(r.replayed);
    assert_int_equal(charge(t, &t->far_term, codeb, 100, "k2", &r, &bad), ERR_RATE_LIMITED);
    assert_int_equal(charge(t, &t->far_term, "812345678901234567", 100, "k2", &r, &bad), ERR_RATE_LIMITED);
    assert_int_equal(balance(t, &b), 5000);
    assert_int_equal(balance(t, &a), 4900);
    /* b's code was never spent: another register takes it */
    assert_int_equal(charge(t, &t->term, codeb, 100, "b", &r, &bad), ERR_OK);
    assert_int_equal(balance(t, &b), 4900);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(charge_pays_and_mails_a_receipt, setup, teardown),
        cmocka_unit_test(periods_are_japanese_calendar_days),
        cmocka_unit_test_setup_teardown(retry_returns_the_first_receipt, setup, teardown),
        cmocka_unit_test_setup_teardown(replayed_nonce_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refused_charge_spends_its_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(a_closed_store_neither_refunds_nor_voids, setup, teardown),
        cmocka_unit_test_setup_teardown(a_code_pays_once_even_when_registers_race, setup, teardown),
        cmocka_unit_test_setup_teardown(insufficient_funds_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_input_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(daily_and_monthly_limits_bite, setup, teardown),
        cmocka_unit_test_setup_teardown(daily_limit_holds_when_registers_race, setup, teardown),
        cmocka_unit_test_setup_teardown(a_new_device_pays_less, setup, teardown),
        cmocka_unit_test_setup_teardown(offline_codes_pay_less, setup, teardown),
        cmocka_unit_test_setup_teardown(an_offline_retry_gets_its_receipt, setup, teardown),
        cmocka_unit_test_setup_teardown(a_frozen_account_cannot_pay, setup, teardown),
        cmocka_unit_test_setup_teardown(payments_switch_global_merchant_store, setup, teardown),
        cmocka_unit_test_setup_teardown(refunds_partial_and_full, setup, teardown),
        cmocka_unit_test_setup_teardown(refunds_racing_never_exceed_the_payment, setup, teardown),
        cmocka_unit_test_setup_teardown(void_within_the_window_only, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refund_never_repays_what_a_reversal_gave_back, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_holds_payments_and_reversals_to_the_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(a_reversal_split_in_small_ones_still_needs_four_eyes, setup, teardown),
        cmocka_unit_test_setup_teardown(the_feed_shows_a_stores_payments, setup, teardown),
        cmocka_unit_test_setup_teardown(a_guessing_register_is_stopped_and_flagged, setup, teardown),
        cmocka_unit_test_setup_teardown(a_key_that_paid_is_no_free_guessing_ground, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
