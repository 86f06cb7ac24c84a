/* test_history.c: the customer's history and balance (wallet/history.h).
 *
 * Domain level, on a real store with an injected clock: money is moved
 * through the real group-commit ledger writer with transfers shaped like
 * the ones top-ups and payments make (kinds topup_card, topup_cash,
 * payment, refund, void, p2p; metadata of wallet/payment.h), and the
 * history is read the way GET /v1/transactions reads it.
 *
 * What a customer would notice: every movement is there exactly once,
 * newest first, with the right sign, kind, store or person and payment;
 * the balance after each entry adds up (each entry's balance is the next
 * older one's plus its amount, the newest is today's balance, and an
 * entry's balance never changes however many payments come later, even
 * when they commit between two pages or while a page is read).  From the
 * attacker's side: another customer's entry is not found, by id or as a
 * cursor, and nonsense cursors and limits are refused.
 *
 * Over HTTP, against a real kessaid: the three endpoints, their JSON, the
 * 404 for another customer's entry and the 400s for bad queries; and a cash
 * top-up, a charge by code and a partial refund made at a signed register,
 * read back as the customer sees them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#include "api_client.h"
#include "auth_fixture.h"
#include "wallet_fixture.h"
#include "ledger/ledger.h"
#include "pos/sign.h"
#include "ledger/writer.h"
#include "merchant/merchant.h"
#include "wallet/history.h"
#include "wallet/topup.h"
#include "wallet/topup_internal.h"

/* ---- the fixture ------------------------------------------------------------ */

struct cust {
    char email[64];
    struct af_phone phone;
    struct auth_grant g;
    struct auth_session s;
    int64_t wallet; /* ledger account */
};

struct th {
    struct af *f;
    struct ledger_writer *writer;
    struct wallet_ctx w;
    struct merchant m;
    struct merchant_store store;
    int64_t store_cash;
    int64_t card_receivable;
    int next_key;
};

static int setup(void **state)
{
    struct th *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->f = af_new();
    wf_ledger_start(t->f, &t->writer);
    assert_int_equal(merchant_create(t->f->st, "Kessai Mart", &t->m), ERR_OK);
    /* A Japanese name: shown whole, never cut inside a character. */
    assert_int_equal(merchant_store_create(t->f->st, t->m.id, "ケッサイマート 東京駅店", "1-9-1 Marunouchi, Tokyo",
                                           35681236, 139767125, "convenience", &t->store),
                     ERR_OK);
    assert_int_equal(topup_store_cash_account(t->f->st, t->store.id, &t->store_cash), ERR_OK);
    assert_int_equal(ledger_system_account(t->f->st, "card_receivable", &t->card_receivable), ERR_OK);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct th *t = *state;
    wf_ledger_stop(t->f, t->writer);
    af_free(t->f);
    free(t);
    return 0;
}

static const struct wallet_ctx *W(struct th *t)
{
    return wf_ctx(&t->w, t->f, t->writer, NULL);
}

static void customer(struct th *t, struct cust *c, const char *email)
{
    memset(c, 0, sizeof *c);
    af_customer_signed_in(t->f, email, c->email, sizeof c->email, &c->phone, &c->g, &c->s);
    assert_int_equal(wallet_account(t->f->st, c->s.customer_id, &c->wallet), ERR_OK);
}

/* One transfer through the writer, committed durably; its id. */
static int64_t move(struct th *t, int64_t from, int64_t to, int64_t amount, const char *kind, uint32_t flags,
                    int64_t ref_id, const char *metadata)
{
    struct ledger_transfer x;
    memset(&x, 0, sizeof x);
    snprintf(x.key, sizeof x.key, "test:%d", ++t->next_key);
    x.debit_account = from;
    x.credit_account = to;
    x.amount = amount;
    snprintf(x.kind, sizeof x.kind, "%s", kind);
    x.flags = flags;
    x.ref_id = ref_id;
    snprintf(x.metadata, sizeof x.metadata, "%s", metadata ? metadata : "");
    assert_int_equal(ledger_writer_submit_wait(t->writer, &x, 1, NULL, NULL), ERR_OK);
    return x.id;
}

static int64_t topup_card_x(struct th *t, struct cust *c, int64_t amount)
{
    return move(t, t->card_receivable, c->wallet, amount, "topup_card", 0, 0, NULL);
}

static int64_t topup_cash_x(struct th *t, struct cust *c, int64_t amount)
{
    return move(t, t->store_cash, c->wallet, amount, "topup_cash", 0, 0, NULL);
}

static void store_meta(struct th *t, char *buf, size_t n)
{
    char sid[IDS_BUF];
    snprintf(buf, n, "{\"store\":\"%s\",\"store_name\":\"%s\"}", ids_format(sid, MERCHANT_STORE_ID_PREFIX, t->store.id),
             t->store.name);
}

static int64_t pay(struct th *t, struct cust *c, int64_t amount)
{
    char meta[LEDGER_META_MAX + 1];
    store_meta(t, meta, sizeof meta);
    return move(t, c->wallet, t->store.payable_account, amount, "payment", 0, 0, meta);
}

static int64_t give_back(struct th *t, struct cust *c, int64_t payment, int64_t amount, const char *kind)
{
    char meta[LEDGER_META_MAX + 1];
    store_meta(t, meta, sizeof meta);
    return move(t, t->store.payable_account, c->wallet, amount, kind, LEDGER_XFER_REVERSAL, payment, meta);
}

static int64_t p2p(struct th *t, struct cust *from, struct cust *to, int64_t amount)
{
    char meta[LEDGER_META_MAX + 1], a[IDS_BUF], b[IDS_BUF];
    snprintf(meta, sizeof meta, "{\"from\":\"%s\",\"to\":\"%s\"}", ids_format(a, CUSTOMER_ID_PREFIX, from->s.customer_id),
             ids_format(b, CUSTOMER_ID_PREFIX, to->s.customer_id));
    return move(t, from->wallet, to->wallet, amount, "p2p", 0, 0, meta);
}

static int64_t balance(struct th *t, struct cust *c)
{
    int64_t b = -1;
    assert_int_equal(history_balance(W(t), &c->s, &b), ERR_OK);
    return b;
}

/* Every entry, page by page (limit each), checking each page on its own:
 * newest first, balances chained inside the page.  Returns how many. */
static size_t read_all(struct th *t, struct cust *c, size_t limit, struct history_entry *all, size_t max)
{
    size_t total = 0, n = 0;
    int64_t before = 0, next = 0;
    struct history_entry *page = calloc(limit, sizeof *page);
    assert_non_null(page);
    do {
        assert_int_equal(history_page(W(t), &c->s, before, limit, page, &n, &next), ERR_OK);
        assert_true(n <= limit);
        if (next != 0) {
            assert_int_equal(n, limit); /* a cursor only after a full page */
            assert_int_equal(next, page[n - 1].id);
        }
        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                assert_true(page[i].id < page[i - 1].id);
                assert_int_equal(page[i - 1].balance_after - page[i - 1].amount, page[i].balance_after);
            }
            assert_true(total < max);
            all[total++] = page[i];
        }
        before = next;
    } while (next != 0);
    free(page);
    return total;
}

/* The whole history's arithmetic: strictly newest first, each balance the
 * next older one's plus the amount, the oldest starting from zero. */
static void assert_chained(const struct history_entry *all, size_t n, int64_t now_balance)
{
    if (n == 0) {
        assert_int_equal(now_balance, 0);
        return;
    }
    assert_int_equal(all[0].balance_after, now_balance);
    for (size_t i = 1; i < n; i++) {
        assert_true(all[i].id < all[i - 1].id);
        assert_int_equal(all[i - 1].balance_after - all[i - 1].amount, all[i].balance_after);
    }
    assert_int_equal(all[n - 1].balance_after, all[n - 1].amount);
}

/* ---- the tests ---------------------------------------------------------- */

/* A customer who never had money: nothing to show, nothing to page through. */
static void test_empty(void **state)
{
    struct th *t = *state;
    struct cust a;
    memset(&a, 0, sizeof a);
    snprintf(a.email, sizeof a.email, "empty@example.com");
    af_phone_new(&a.phone, "phone");
    af_customer(t->f, a.email, &a.phone, &a.g, NULL);
    af_auth(t->f, &a.g, &a.s); /* no wallet account yet: reading must not create one */
    struct history_entry page[5];
    size_t n = 9;
    int64_t next = 9;
    assert_int_equal(history_page(W(t), &a.s, 0, 5, page, &n, &next), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(next, 0);
    assert_int_equal(balance(t, &a), 0);
    struct history_entry h;
    assert_int_equal(history_get(W(t), &a.s, 1, &h), ERR_NOT_FOUND);
    assert_int_equal(history_page(W(t), &a.s, 1, 5, page, &n, &next), ERR_INVALID_PARAM);
    char owner[IDS_BUF];
    struct ledger_account acct;
    assert_int_equal(t->f->st->ops->account_find(t->f->st, ids_format(owner, CUSTOMER_ID_PREFIX, a.s.customer_id),
                                                 TOPUP_WALLET_KIND, &acct),
                     ERR_ACCOUNT_NOT_FOUND);
}

/* Every kind of movement, as the customer reads it. */
static void test_every_kind(void **state)
{
    struct th *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com");
    customer(t, &b, "bunta@example.com");
    int64_t card = topup_card_x(t, &a, 10000);       /* 10000 */
    int64_t cash = topup_cash_x(t, &a, 5000);        /* 15000 */
    int64_t p1 = pay(t, &a, 3000);                   /* 12000 */
    int64_t r1 = give_back(t, &a, p1, 1000, "refund"); /* 13000 */
    int64_t p2 = pay(t, &a, 700);                    /* 12300 */
    int64_t v2 = give_back(t, &a, p2, 700, "void");  /* 13000 */
    int64_t out = p2p(t, &a, &b, 2500);              /* 10500 */
    int64_t in = p2p(t, &b, &a, 500);                /* 11000 */
    assert_int_equal(balance(t, &a), 11000);
    assert_int_equal(balance(t, &b), 2000);

    struct history_entry e[HISTORY_PAGE_MAX];
    size_t n = 0;
    int64_t next = -1;
    assert_int_equal(history_page(W(t), &a.s, 0, HISTORY_PAGE_MAX, e, &n, &next), ERR_OK);
    assert_int_equal(n, 8);
    assert_int_equal(next, 0);
    const struct {
        int64_t id;
        const char *kind;
        int64_t amount, after, payment;
        const char *who;
    } want[] = {
        /* the other customer's address masked, however the sender named them */
        {in, "p2p_in", 500, 11000, in, "b***@example.com"},
        {out, "p2p_out", -2500, 10500, out, "b***@example.com"},
        {v2, "void", 700, 13000, p2, t->store.name},
        {p2, "payment", -700, 12300, p2, t->store.name},
        {r1, "refund", 1000, 13000, p1, t->store.name},
        {p1, "payment", -3000, 12000, p1, t->store.name},
        {cash, "topup_cash", 5000, 15000, 0, t->store.name}, /* the store that took the cash */
        {card, "topup_card", 10000, 10000, 0, ""},
    };
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(e[i].id, want[i].id);
        assert_string_equal(e[i].kind, want[i].kind);
        assert_int_equal(e[i].amount, want[i].amount);
        assert_int_equal(e[i].balance_after, want[i].after);
        assert_int_equal(e[i].payment_id, want[i].payment);
        assert_string_equal(e[i].counterparty, want[i].who);
        assert_true(e[i].created_ms > 0);
    }
    assert_chained(e, n, 11000);

    /* One entry by id: the same as in the page. */
    struct history_entry h;
    assert_int_equal(history_get(W(t), &a.s, r1, &h), ERR_OK);
    assert_memory_equal(&h, &e[4], sizeof h);

    /* The other side of the transfers: the same entries, opposite signs. */
    assert_int_equal(history_page(W(t), &b.s, 0, HISTORY_PAGE_MAX, e, &n, &next), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].id, in);
    assert_string_equal(e[0].kind, "p2p_out");
    assert_int_equal(e[0].amount, -500);
    assert_int_equal(e[0].balance_after, 2000);
    assert_string_equal(e[0].counterparty, "a***@example.com");
    assert_int_equal(e[1].id, out);
    assert_string_equal(e[1].kind, "p2p_in");
    assert_int_equal(e[1].amount, 2500);
    assert_int_equal(e[1].balance_after, 2500);
    assert_string_equal(e[1].counterparty, "a***@example.com");
}

/* Any page size: every entry exactly once, newest first, balances chained
 * across pages. */
static void test_pagination(void **state)
{
    struct th *t = *state;
    struct cust a;
    customer(t, &a, "chie@example.com");
    enum { N = 53 };
    int64_t ids[N];
    int64_t last_payment = 0;
    for (int i = 0; i < N; i++) {
        if (i % 5 == 0)
            ids[i] = topup_card_x(t, &a, 5000 + i);
        else if (i % 5 == 4)
            ids[i] = give_back(t, &a, last_payment, 10, "refund");
        else
            ids[i] = last_payment = pay(t, &a, 100 + i);
    }
    int64_t now = balance(t, &a);
    struct history_entry all[N + 1];
    const size_t limits[] = {1, 2, 7, 52, 53, 54, HISTORY_PAGE_MAX};
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        memset(all, 0, sizeof all);
        size_t n = read_all(t, &a, limits[l], all, N + 1);
        assert_int_equal(n, N);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(all[i].id, ids[N - 1 - i]); /* each once, newest first */
        assert_chained(all, n, now);
    }
}

/* Payments made between two pages: the pages already read stay true, the
 * next page goes on where the last stopped (nothing skipped, nothing
 * twice), and every entry's balance is what it was. */
static void test_payments_between_pages(void **state)
{
    struct th *t = *state;
    struct cust a;
    customer(t, &a, "daichi@example.com");
    topup_card_x(t, &a, 50000);
    for (int i = 0; i < 20; i++)
        pay(t, &a, 100 + i);
    struct history_entry before_all[64], page[6], seen[64];
    size_t nb = read_all(t, &a, HISTORY_PAGE_MAX, before_all, 64);
    assert_int_equal(nb, 21);

    size_t nseen = 0, n = 0;
    int64_t cursor = 0, next = 0;
    int round = 0;
    do {
        assert_int_equal(history_page(W(t), &a.s, cursor, 6, page, &n, &next), ERR_OK);
        for (size_t i = 0; i < n; i++)
            seen[nseen++] = page[i];
        /* The customer keeps shopping (and topping up) while scrolling. */
        pay(t, &a, 1000 + round);
        topup_cash_x(t, &a, 300);
        round++;
        cursor = next;
    } while (next != 0);
    assert_int_equal(nseen, nb);
    for (size_t i = 0; i < nb; i++)
        assert_memory_equal(&seen[i], &before_all[i], sizeof seen[i]);

    /* And the whole history, read afresh, still adds up. */
    struct history_entry all[128];
    size_t total = read_all(t, &a, 10, all, 128);
    assert_int_equal(total, nb + 2 * (size_t)round);
    assert_chained(all, total, balance(t, &a));
    for (size_t i = 0; i < nb; i++)
        assert_memory_equal(&all[total - nb + i], &before_all[i], sizeof all[i]);
}

/* ---- payments committing while pages are read ---------------------------- */

struct shopper {
    struct th *t;
    struct cust *c;
    int rounds;
};

static void *shop(void *arg)
{
    struct shopper *s = arg;
    for (int i = 0; i < s->rounds; i++) {
        struct ledger_transfer x[2];
        memset(x, 0, sizeof x);
        /* Both through the writer from this thread; pay() would use the
         * test's own connection, which the reader holds. */
        snprintf(x[0].key, sizeof x[0].key, "shop:%d:in", i);
        x[0].debit_account = s->t->card_receivable;
        x[0].credit_account = s->c->wallet;
        x[0].amount = 1000;
        snprintf(x[0].kind, sizeof x[0].kind, "topup_card");
        snprintf(x[1].key, sizeof x[1].key, "shop:%d:out", i);
        x[1].debit_account = s->c->wallet;
        x[1].credit_account = s->t->store.payable_account;
        x[1].amount = 300 + i % 7;
        snprintf(x[1].kind, sizeof x[1].kind, "payment");
        if (ledger_writer_submit_wait(s->t->writer, &x[0], 1, NULL, NULL) != ERR_OK ||
            ledger_writer_submit_wait(s->t->writer, &x[1], 1, NULL, NULL) != ERR_OK)
            return (void *)1;
    }
    return NULL;
}

static void test_pages_while_payments_commit(void **state)
{
    struct th *t = *state;
    struct cust a;
    customer(t, &a, "emi@example.com");
    topup_card_x(t, &a, 2000);
    struct shopper s = {t, &a, 150};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, shop, &s), 0);
    /* Read while the shopper commits: every page on its own must add up
     * (read_all checks each), whatever moment it was taken at. */
    struct history_entry *all = calloc(512, sizeof *all);
    assert_non_null(all);
    for (int i = 0; i < 20; i++)
        read_all(t, &a, 1 + (size_t)i % 9, all, 512);
    void *rv = NULL;
    assert_int_equal(pthread_join(th, &rv), 0);
    assert_null(rv);
    size_t n = read_all(t, &a, 17, all, 512);
    assert_int_equal(n, 1 + 2 * 150);
    assert_chained(all, n, balance(t, &a));
    free(all);
}

/* ---- from the attacker's side ---------------------------------------------- */

static void test_other_customers_entries(void **state)
{
    struct th *t = *state;
    struct cust a, b;
    customer(t, &a, "fumi@example.com");
    customer(t, &b, "goro@example.com");
    topup_card_x(t, &a, 1000);
    int64_t bs = topup_card_x(t, &b, 7000);
    int64_t bpay = pay(t, &b, 1234);
    /* Money between two system-side accounts: no customer's entry. */
    int64_t store_only = move(t, t->store_cash, t->store.payable_account, 50, "settlement", 0, 0, NULL);
    struct history_entry h;
    assert_int_equal(history_get(W(t), &a.s, bs, &h), ERR_NOT_FOUND);
    assert_int_equal(history_get(W(t), &a.s, bpay, &h), ERR_NOT_FOUND);
    assert_int_equal(history_get(W(t), &a.s, store_only, &h), ERR_NOT_FOUND);
    assert_int_equal(history_get(W(t), &a.s, store_only + 1000, &h), ERR_NOT_FOUND);
    assert_int_equal(history_get(W(t), &a.s, 0, &h), ERR_NOT_FOUND);
    assert_int_equal(history_get(W(t), &a.s, -5, &h), ERR_NOT_FOUND);
    assert_int_equal(h.id, 0); /* nothing of B's leaked into the answer */
    assert_int_equal(h.amount, 0);
    /* B's entry as a cursor is no window into anything. */
    struct history_entry page[10];
    size_t n = 0;
    int64_t next = 0;
    assert_int_equal(history_page(W(t), &a.s, bpay, 10, page, &n, &next), ERR_INVALID_PARAM);
    assert_int_equal(n, 0);
    /* B still sees it. */
    assert_int_equal(history_get(W(t), &b.s, bpay, &h), ERR_OK);
    assert_int_equal(h.amount, -1234);
    assert_int_equal(h.balance_after, 7000 - 1234);
    /* Only A's own in A's history. */
    assert_int_equal(history_page(W(t), &a.s, 0, 10, page, &n, &next), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(page[0].amount, 1000);
}

static void test_bad_cursor_and_limit(void **state)
{
    struct th *t = *state;
    struct cust a;
    customer(t, &a, "hana@example.com");
    int64_t first = topup_card_x(t, &a, 1000);
    pay(t, &a, 10);
    struct history_entry page[HISTORY_PAGE_MAX + 1];
    size_t n = 0;
    int64_t next = 0;
    assert_int_equal(history_page(W(t), &a.s, 0, 0, page, &n, &next), ERR_INVALID_PARAM);
    assert_int_equal(history_page(W(t), &a.s, 0, HISTORY_PAGE_MAX + 1, page, &n, &next), ERR_INVALID_PARAM);
    assert_int_equal(history_page(W(t), &a.s, -1, 10, page, &n, &next), ERR_INVALID_PARAM);
    assert_int_equal(history_page(W(t), &a.s, INT64_MAX, 10, page, &n, &next), ERR_INVALID_PARAM);
    /* The oldest entry as a cursor: an empty last page, not an error. */
    assert_int_equal(history_page(W(t), &a.s, first, 10, page, &n, &next), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(next, 0);
}

/* An enrolment session (no second factor yet) reads nothing. */
static void test_needs_full_session(void **state)
{
    struct th *t = *state;
    struct cust a;
    customer(t, &a, "isamu@example.com");
    topup_card_x(t, &a, 1000);
    struct auth_session enrol = a.s;
    enrol.scope = SESSION_SCOPE_ENROL;
    struct history_entry page[2];
    size_t n = 0;
    int64_t next = 0, b = 0;
    assert_int_equal(history_page(W(t), &enrol, 0, 2, page, &n, &next), ERR_MFA_REQUIRED);
    assert_int_equal(history_balance(W(t), &enrol, &b), ERR_MFA_REQUIRED);
    assert_int_equal(history_get(W(t), &enrol, 1, &page[0]), ERR_MFA_REQUIRED);
}

/* ---- over HTTP ------------------------------------------------------------------ */

/* A transfer into (or out of) u's wallet, committed by a writer of the
 * test's own on kessaid's database (kessaid's writer sees that another
 * connection wrote and rereads its accounts). */
struct http_money {
    struct store *st;
    struct ledger_writer *writer;
    int64_t card_receivable;
    int next;
};

static int64_t http_move(struct http_money *m, int64_t from, int64_t to, int64_t amount, const char *kind)
{
    struct ledger_transfer x;
    memset(&x, 0, sizeof x);
    snprintf(x.key, sizeof x.key, "http:%d", ++m->next);
    x.debit_account = from;
    x.credit_account = to;
    x.amount = amount;
    snprintf(x.kind, sizeof x.kind, "%s", kind);
    assert_int_equal(ledger_writer_submit_wait(m->writer, &x, 1, NULL, NULL), ERR_OK);
    return x.id;
}

static int64_t wallet_of_user(struct http_money *m, const struct ac_user *u)
{
    int64_t cid = 0, acct = 0;
    assert_int_equal(ids_parse(u->customer_id, CUSTOMER_ID_PREFIX, &cid), ERR_OK);
    assert_int_equal(wallet_account(m->st, cid, &acct), ERR_OK);
    return acct;
}

static struct ac_resp get(struct ac_server *s, const struct ac_user *u, const char *path)
{
    return ac_call(s, &u->who, "GET", path, NULL);
}

static void test_http(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    ac_server_start(&s, NULL);
    struct ac_user a, b;
    ac_user_enrolled(&s, &a, "hist-a");
    ac_user_enrolled(&s, &b, "hist-b");

    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", s.data);
    struct http_money m = {0};
    assert_int_equal(store_open_sqlite(path, &m.st), ERR_OK);
    assert_int_equal(ledger_system_account(m.st, "card_receivable", &m.card_receivable), ERR_OK);
    struct store *ws = NULL;
    assert_int_equal(store_open_sqlite(path, &ws), ERR_OK);
    struct ledger_writer_opts o = {.batch_max = 16};
    assert_int_equal(ledger_writer_start(ws, &o, &m.writer), ERR_OK);
    int64_t wa = wallet_of_user(&m, &a), wb = wallet_of_user(&m, &b);
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = http_move(&m, m.card_receivable, wa, 1000 * (i + 1), "topup_card");
    int64_t b_entry = http_move(&m, m.card_receivable, wb, 777, "topup_card");
    ledger_writer_stop(m.writer);

    struct ac_resp r = get(&s, &a, "/v1/balance");
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.j, "balance")), 15000);
    assert_string_equal(ac_str(&r, "currency"), "JPY");
    ac_resp_free(&r);

    /* Two pages of 3 and 2, then the cursor runs out. */
    r = get(&s, &a, "/v1/transactions?limit=3");
    AC_EXPECT_STATUS(r, 200);
    json_t *list = json_object_get(r.j, "transactions");
    assert_int_equal(json_array_size(list), 3);
    char want[IDS_BUF];
    json_t *e0 = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(e0, "id")), ids_format(want, HISTORY_ID_PREFIX, ids[4]));
    assert_string_equal(json_string_value(json_object_get(e0, "kind")), "topup_card");
    assert_int_equal(json_integer_value(json_object_get(e0, "amount")), 5000);
    assert_int_equal(json_integer_value(json_object_get(e0, "balance_after")), 15000);
    assert_true(json_is_null(json_object_get(e0, "payment_id")));
    assert_true(json_is_null(json_object_get(e0, "counterparty")));
    assert_non_null(json_string_value(json_object_get(e0, "created_at")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 2), "balance_after")), 6000);
    char cursor[IDS_BUF];
    snprintf(cursor, sizeof cursor, "%s", ac_str(&r, "next_before"));
    assert_string_equal(cursor, ids_format(want, HISTORY_ID_PREFIX, ids[2]));
    ac_resp_free(&r);
    snprintf(path, sizeof path, "/v1/transactions?limit=3&before=%s", cursor);
    r = get(&s, &a, path);
    AC_EXPECT_STATUS(r, 200);
    list = json_object_get(r.j, "transactions");
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "balance_after")), 1000);
    assert_true(json_is_null(json_object_get(r.j, "next_before")));
    ac_resp_free(&r);

    /* One entry; B's is not A's to see, whatever the spelling. */
    snprintf(path, sizeof path, "/v1/transactions/%s", ids_format(want, HISTORY_ID_PREFIX, ids[1]));
    r = get(&s, &a, path);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.j, "balance_after")), 3000);
    ac_resp_free(&r);
    snprintf(path, sizeof path, "/v1/transactions/%s", ids_format(want, HISTORY_ID_PREFIX, b_entry));
    r = get(&s, &a, path);
    AC_EXPECT_ERROR(r, 404, "not_found");
    ac_resp_free(&r);
    r = get(&s, &b, path);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.j, "amount")), 777);
    ac_resp_free(&r);
    const char *nf[] = {"/v1/transactions/txf_0000000000001", "/v1/transactions/txn_", "/v1/transactions/1",
                        "/v1/transactions/txn_zzzzzzzzzzzzz"};
    for (size_t i = 0; i < sizeof nf / sizeof nf[0]; i++) {
        r = get(&s, &a, nf[i]);
        AC_EXPECT_ERROR(r, 404, "not_found");
        ac_resp_free(&r);
    }
    /* B's entry as A's cursor, and every malformed query: 400 naming it. */
    snprintf(path, sizeof path, "/v1/transactions?before=%s", ids_format(want, HISTORY_ID_PREFIX, b_entry));
    const struct {
        const char *path, *param;
    } bad[] = {
        {path, "before"},
        {"/v1/transactions?before=pay_0000000000001", "before"},
        {"/v1/transactions?before=", "before"},
        {"/v1/transactions?before=txn_0000000000000", "before"},
        {"/v1/transactions?limit=0", "limit"},
        {"/v1/transactions?limit=101", "limit"},
        {"/v1/transactions?limit=-1", "limit"},
        {"/v1/transactions?limit=01", "limit"},
        {"/v1/transactions?limit=1e2", "limit"},
        {"/v1/transactions?limit=", "limit"},
        {"/v1/transactions?limit=99999999999999999999", "limit"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = get(&s, &a, bad[i].path);
        AC_EXPECT_ERROR(r, 400, "invalid_param");
        assert_string_equal(ac_err_param(&r), bad[i].param);
        ac_resp_free(&r);
    }
    /* No session, no history. */
    struct ac_who anon = ac_new_source(&s);
    r = ac_call(&s, &anon, "GET", "/v1/transactions", NULL);
    AC_EXPECT_ERROR(r, 401, "unauthenticated");
    ac_resp_free(&r);
    r = ac_call(&s, &anon, "GET", "/v1/balance", NULL);
    AC_EXPECT_ERROR(r, 401, "unauthenticated");
    ac_resp_free(&r);

    store_close(m.st);
    assert_int_equal(ac_server_stop(&s), 0);
    ac_server_cleanup(&s);
}

/* ---- over HTTP, with real payments ---------------------------------------- */

struct reg {
    char key_id[40];
    uint8_t secret[TERMINAL_SECRET_BYTES];
};

/* A signed POST from the register with a fresh nonce and Idempotency-Key. */
static struct ac_resp pos_post(struct ac_server *s, const struct ac_who *w, const struct reg *t, const char *path,
                               const char *body)
{
    char nonce[33], key[33], sig[POS_SIG_HEX_LEN + 1], auth[300], idem[64];
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(nonce, sizeof nonce, b, sizeof b);
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(key, sizeof key, b, sizeof b);
    int64_t ts = (int64_t)time(NULL);
    pos_sign(t->secret, "POST", path, ts, nonce, body, strlen(body), sig);
    snprintf(auth, sizeof auth, "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=%s,sig=%s", t->key_id,
             (long long)ts, nonce, sig);
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", key);
    const char *headers[] = {auth, idem, NULL};
    return ac_call_raw(s, w, "POST", path, headers, body, false);
}

/* A one-time code from u's phone (POST /v1/paycodes or /v1/topup-codes). */
static void code_of(struct ac_server *s, struct ac_user *u, const char *path, char out[32])
{
    struct ac_resp r = ac_call(s, &u->who, "POST", path, json_object());
    AC_EXPECT_STATUS(r, 201);
    snprintf(out, 32, "%s", ac_str(&r, "code"));
    ac_remember(s, out);
    ac_resp_free(&r);
}

static json_t *entry_at(const struct ac_resp *r, size_t i)
{
    return json_array_get(json_object_get(r->j, "transactions"), i);
}

static const char *estr(json_t *e, const char *k) { return json_string_value(json_object_get(e, k)); }
static int64_t eint(json_t *e, const char *k) { return json_integer_value(json_object_get(e, k)); }

/* Cash in at the register, a charge by code, part of it refunded: the
 * customer's history tells the story the register's receipts told. */
static void test_http_real_payments(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    json_t *j = ac_cli_json(&s, "admin merchant create --name 'Kessai Mart'");
    char args[400], store[32];
    snprintf(args, sizeof args,
             "admin store create --merchant %s --name 'Tokyo Station' --address '1-9-1 Marunouchi, Chiyoda-ku, "
             "Tokyo' --lat 35.681236 --lon 139.767125 --category convenience",
             estr(j, "id"));
    json_decref(j);
    j = ac_cli_json(&s, args);
    snprintf(store, sizeof store, "%s", estr(j, "id"));
    json_decref(j);
    snprintf(args, sizeof args, "admin terminal create --store %s", store);
    j = ac_cli_json(&s, args);
    struct reg t;
    snprintf(t.key_id, sizeof t.key_id, "%s", estr(j, "key_id"));
    const char *hex = estr(j, "secret");
    ac_remember(&s, hex);
    assert_int_equal(sodium_hex2bin(t.secret, sizeof t.secret, hex, strlen(hex), NULL, NULL, NULL), 0);
    json_decref(j);
    ac_server_start(&s, (const char *const[]){"KESSAI_TOPUP_NEW_DEVICE_DAILY_MAX=100000",
                                              "KESSAI_PAY_NEW_DEVICE_DAILY_MAX=100000", NULL});
    struct ac_user a, b;
    ac_user_enrolled(&s, &a, "hist-pay-a");
    ac_user_enrolled(&s, &b, "hist-pay-b");
    struct ac_who reg = ac_new_source(&s);

    char code[32], body[128], charge_id[40];
    code_of(&s, &a, "/v1/topup-codes", code);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"amount\":5000}", code);
    struct ac_resp r = pos_post(&s, &reg, &t, "/pos/v1/cash-topups", body);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    code_of(&s, &a, "/v1/paycodes", code);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"amount\":1200}", code);
    r = pos_post(&s, &reg, &t, "/pos/v1/charges", body);
    AC_EXPECT_STATUS(r, 201);
    snprintf(charge_id, sizeof charge_id, "%s", estr(json_object_get(r.j, "charge"), "id"));
    ac_resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/pos/v1/charges/%s/refunds", charge_id);
    r = pos_post(&s, &reg, &t, path, "{\"amount\":200}");
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);

    r = get(&s, &a, "/v1/transactions");
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "transactions")), 3);
    const struct {
        const char *kind;
        int64_t amount, after;
        bool payment;
    } want[] = {{"refund", 200, 4000, true}, {"payment", -1200, 3800, true}, {"topup_cash", 5000, 5000, false}};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = entry_at(&r, i);
        assert_string_equal(estr(e, "kind"), want[i].kind);
        assert_int_equal(eint(e, "amount"), want[i].amount);
        assert_int_equal(eint(e, "balance_after"), want[i].after);
        assert_string_equal(estr(e, "counterparty"), "Tokyo Station");
        if (want[i].payment)
            assert_string_equal(estr(e, "payment_id"), charge_id);
        else
            assert_true(json_is_null(json_object_get(e, "payment_id")));
    }
    char entry[IDS_BUF];
    snprintf(entry, sizeof entry, "%s", estr(entry_at(&r, 1), "id"));
    ac_resp_free(&r);
    r = get(&s, &a, "/v1/balance");
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.j, "balance")), 4000);
    ac_resp_free(&r);
    /* The payment is A's: B gets the same 404 as for nothing at all. */
    snprintf(path, sizeof path, "/v1/transactions/%s", entry);
    r = get(&s, &b, path);
    AC_EXPECT_ERROR(r, 404, "not_found");
    ac_resp_free(&r);
    r = get(&s, &b, "/v1/transactions");
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "transactions")), 0);
    ac_resp_free(&r);

    assert_int_equal(ac_server_stop(&s), 0);
    assert_int_equal(ac_cli(&s, "ledger verify >/dev/null"), 0);
    ac_assert_no_secrets(&s);
    ac_server_cleanup(&s);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payments_between_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages_while_payments_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_customers_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_cursor_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_needs_full_session, setup, teardown),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_http_real_payments),
    };
    int failed = cmocka_run_group_tests_name("history", tests, NULL, NULL);
    oath_done();
    curl_global_cleanup();
    return failed;
}
