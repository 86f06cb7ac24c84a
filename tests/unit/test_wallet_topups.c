/* test_wallet_topups.c: top-ups (wallet/topup.h) at the domain level, on a
 * real store, a real group-commit ledger writer, the built-in test
 * processor (on the same injected clock) and the mail spool as the customers'
 * mailbox.
 *
 * What a customer would notice: money arrives once, whatever the retries,
 * crashes and races; each limit of topup.h bites, from the thief's side
 * too, and the refusal is on file; a declined card credits nothing; a card
 * that wants 3-D Secure on every payment works with its code and only with
 * it; a cash code works once.  Reconciliation is shown by putting a top-up
 * in each half-way state of its machine with the step functions of
 * topup_internal.h (what a crash between two steps leaves), then letting
 * topup_reconcile finish it: credited exactly once, and a second run
 * changes nothing.  After every test the ledger verifies clean and no card
 * number or cash code is in the database.
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
#include "gateway_wrap.h"
#include "auth/events.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "merchant/merchant.h"
#include "merchant/terminal.h"
#include "ops/freeze.h"
#include "ops/killswitch.h"
#include "util/luhn.h"
#include "util/timeutil.h"
#include "wallet/card.h"
#include "wallet/gateway_test.h"
#include "wallet/payment.h"
#include "wallet/topup.h"
#include "wallet/topup_internal.h"

/* docs/test-cards.md */
#define VISA_OK "4242424242424242"
#define MC_OK "5555555555554444"
#define VISA_NO_FUNDS "4000000000009995"
#define VISA_3DS_EVERY "4000002760003184"
#define CVC_OK "123"
#define EXP_YEAR 2030


/* ---- the fixture ------------------------------------------------------------ */

#define MAX_POINTS 16

struct tw {
    struct af *f;
    struct gateway *real;
    struct gw_wrap gw; /* down: the processor unreachable */
    struct ledger_writer *writer;
    struct wallet_ctx w;
    char *typed[32]; /* card numbers and cash codes, searched for at the end */
    int ntyped;
};

struct cust {
    char email[64];
    struct af_phone phone;
    struct auth_grant g;
    struct auth_session s;
    struct card card;
};

/* Crash points passed, in order (the hook cannot stop the call: it records). */
static const char *points[MAX_POINTS];
static size_t npoints;
static void record_point(const char *p)
{
    if (npoints < MAX_POINTS)
        points[npoints++] = p;
}

static int setup(void **state)
{
    struct tw *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->f = af_new();
    /* Most tests run on a device past its cool-down and a card past its
     * first days; the tests of those limits set them back. */
    t->f->cfg.new_device_cooldown_s = 0;
    t->f->cfg.card_new_s = 0;
    wf_gateway_open(t->f, &t->real);
    gw_wrap_init(&t->gw, t->real);
    wf_ledger_start(t->f, &t->writer);
    npoints = 0;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tw *t = *state;
    wf_ledger_stop(t->f, t->writer); /* the books balance after every scenario */
    /* No card number, no cash code at rest (the processor's vault too). */
    wf_assert_nothing_typed_at_rest(t->f, t->typed, t->ntyped);
    for (int i = 0; i < t->ntyped; i++)
        free(t->typed[i]);
    gateway_close(t->real);
    af_free(t->f);
    free(t);
    return 0;
}

static void typed(struct tw *t, const char *s)
{
    for (int i = 0; i < t->ntyped; i++)
        if (strcmp(t->typed[i], s) == 0)
            return;
    assert_true(t->ntyped < 32);
    t->typed[t->ntyped++] = strdup(s);
}

static const struct wallet_ctx *W(struct tw *t)
{
    wf_ctx(&t->w, t->f, t->writer, &t->gw.base);
    t->w.crash_point = record_point;
    return &t->w;
}

/* A customer with a full, fresh session on their own phone. */
static void customer(struct tw *t, struct cust *c, const char *email)
{
    memset(c, 0, sizeof *c);
    af_customer_signed_in(t->f, email, c->email, sizeof c->email, &c->phone, &c->g, &c->s);
}

/* Sign in again: a fresh second factor. */
static void refresh(struct tw *t, struct cust *c)
{
    assert_int_equal(af_login(t->f, c->email, &c->phone, &c->g), ERR_OK);
    af_auth(t->f, &c->g, &c->s);
}

/* Link pan with its 3-D Secure code from the mailbox: c->card is active. */
static void link_card(struct tw *t, struct cust *c, const char *pan)
{
    typed(t, pan);
    struct card pending;
    const char *bad = NULL;
    int64_t retry = 0;
    struct card_link_input in = {pan, 12, EXP_YEAR, CVC_OK};
    assert_int_equal(card_link_start(W(t), &c->s, &in, &pending, &bad, &retry), ERR_OK);
    char otp[16];
    af_mail_word(t->f, c->email, "card verification code", "is: ", otp, sizeof otp);
    assert_int_equal(card_link_confirm(W(t), &c->s, pending.id, otp, &c->card), ERR_OK);
    assert_int_equal(c->card.status, CARD_ACTIVE);
}

/* Aiko, signed in, with the card pan linked and active. */
static void aiko_with_card(struct tw *t, struct cust *c, const char *pan)
{
    customer(t, c, "aiko@example.com");
    link_card(t, c, pan);
}

/* Commit the card credit of top-up topup_id for amount straight to the
 * ledger, as step_credit would without its hook: a credit whose row a
 * crash left behind, or, with another amount, a key that makes the real
 * credit fail.  The transfer's id. */
static int64_t ledger_credit(struct tw *t, struct cust *c, int64_t topup_id, int64_t amount)
{
    struct ledger_transfer x;
    memset(&x, 0, sizeof x);
    topup_transfer_key(x.key, sizeof x.key, topup_id);
    assert_int_equal(wallet_account(t->f->st, c->s.customer_id, &x.credit_account), ERR_OK);
    assert_int_equal(ledger_system_account(t->f->st, "card_receivable", &x.debit_account), ERR_OK);
    x.amount = amount;
    snprintf(x.kind, sizeof x.kind, "%s", TOPUP_XFER_CARD);
    assert_int_equal(ledger_writer_submit_wait(t->writer, &x, 1, NULL, NULL), ERR_OK);
    return x.id;
}

static enum err topup(struct tw *t, struct cust *c, int64_t amount, const char *key, struct topup_result *r,
                      const char **bad)
{
    struct topup_result local;
    const char *b = NULL;
    struct killswitch sw;
    return topup_card(W(t), &c->s, c->card.id, amount, key, r ? r : &local, bad ? bad : &b, &sw);
}

static int64_t balance(struct tw *t, struct cust *c)
{
    int64_t b = -1;
    assert_int_equal(topup_wallet_balance(t->f->st, c->s.customer_id, &b), ERR_OK);
    return b;
}

/* The ledger transfer of a top-up, by its key; ERR_TRANSFER_NOT_FOUND if none. */
static enum err transfer_of(struct tw *t, int64_t topup_id, struct ledger_transfer *x)
{
    char key[LEDGER_KEY_MAX + 1];
    topup_transfer_key(key, sizeof key, topup_id);
    return t->f->st->ops->transfer_get_by_key(t->f->st, key, x);
}

static int64_t account_of(struct tw *t, const char *owner, const char *kind)
{
    struct ledger_account a;
    assert_int_equal(t->f->st->ops->account_find(t->f->st, owner, kind, &a), ERR_OK);
    return a.id;
}

static size_t topups_of(struct tw *t, struct cust *c)
{
    struct topup list[TOPUP_LIST_MAX];
    size_t n = 0;
    assert_int_equal(topup_list(W(t), &c->s, 0, list, TOPUP_LIST_MAX, &n), ERR_OK);
    return n;
}

static int refusals(struct tw *t, struct cust *c, const char *reason)
{
    char want[64];
    snprintf(want, sizeof want, "\"%s\"", reason);
    return af_events_with(t->f, c->s.customer_id, "topup_refused", want);
}

/* ---- the customer's side ------------------------------------------------------ */

static void test_card_topup(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);

    struct topup_result r;
    assert_int_equal(topup(t, &a, 5000, "key-1", &r, NULL), ERR_OK);
    assert_false(r.replayed);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(r.t.amount, 5000);
    assert_int_equal(r.t.source, TOPUP_CARD);
    assert_int_equal(r.t.card_id, a.card.id);
    assert_true(r.t.captured);
    assert_int_equal(r.balance, 5000);
    assert_int_equal(balance(t, &a), 5000);
    /* the hook saw each point once, in order */
    assert_int_equal(npoints, 3);
    assert_string_equal(points[0], TOPUP_CRASH_CREATED);
    assert_string_equal(points[1], TOPUP_CRASH_AUTHORIZED);
    assert_string_equal(points[2], TOPUP_CRASH_CREDITED);

    /* the ledger: one transfer card_receivable -> the customer's wallet */
    struct ledger_transfer x;
    assert_int_equal(transfer_of(t, r.t.id, &x), ERR_OK);
    assert_int_equal(x.id, r.t.transfer_id);
    assert_int_equal(x.amount, 5000);
    assert_string_equal(x.kind, "topup_card");
    char owner[IDS_BUF];
    ids_format(owner, CUSTOMER_ID_PREFIX, a.s.customer_id);
    assert_int_equal(x.credit_account, account_of(t, owner, "wallet"));
    assert_int_equal(x.debit_account, account_of(t, "system", "card_receivable"));

    /* the customer is told at once */
    char body[4096];
    assert_int_equal(af_mail(t->f, a.email, "topped up", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "5,000 yen"));
    assert_non_null(strstr(body, "4242"));

    /* and can read it back */
    struct topup_result got;
    assert_int_equal(topup_get(W(t), &a.s, r.t.id, &got), ERR_OK);
    assert_int_equal(got.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(got.balance, 5000);
    assert_int_equal(topups_of(t, &a), 1);
    struct wallet_summary sum;
    assert_int_equal(wallet_summary(W(t), &a.s, &sum), ERR_OK);
    assert_int_equal(sum.balance, 5000);
    assert_int_equal(sum.balance_cap, 100000);
    assert_int_equal(sum.topup_remaining_today, 95000); /* cap and daily max both 100,000 */

    /* another customer sees none of it */
    struct cust b;
    customer(t, &b, "bo@example.com");
    assert_int_equal(topup_get(W(t), &b.s, r.t.id, &got), ERR_TOPUP_NOT_FOUND);
    assert_int_equal(topups_of(t, &b), 0);
    /* nor can top up from a's card */
    struct topup_result br;
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(topup_card(W(t), &b.s, a.card.id, 1000, "b-1", &br, &bad, &sw), ERR_CARD_NOT_FOUND);
    assert_int_equal(balance(t, &b), 0);
}

/* (b) A card top-up's transfer raised from 9,000 to 90,000 yen and both
 * accounts' totals fixed: the ledger agrees with itself, but the transfer
 * no longer matches its request hash, and the top-up row still says 9,000.
 * With the (unkeyed) hash recomputed too, the top-up row still shows it.
 * A succeeded top-up that names no transfer is caught as well. */
static void test_verify_holds_topups_to_their_transfers(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    struct topup_result r;
    assert_int_equal(topup(t, &a, 9000, "key-1", &r, NULL), ERR_OK);
    struct ledger_transfer x;
    assert_int_equal(transfer_of(t, r.t.id, &x), ERR_OK);
    const char *move = "UPDATE transfers SET amount = amount + %d WHERE id = %" PRId64 ";"
                       "UPDATE accounts SET debits_posted = debits_posted + %d WHERE id = %" PRId64 ";"
                       "UPDATE accounts SET credits_posted = credits_posted + %d WHERE id = %" PRId64 ";";
    tu_sql(t->f->dir, move, 81000, x.id, 81000, x.debit_account, 81000, x.credit_account);
    assert_int_equal(balance(t, &a), 90000);
    struct ledger_verify_report rep;
    char *out = tu_ledger_verify(t->f->st, &rep);
    assert_int_equal(rep.violations, 2);
    assert_non_null(strstr(out, "no longer match its request hash"));
    char says[128];
    snprintf(says, sizeof says, "topups %" PRId64 ": amount 9000 but its transfer %" PRId64 " moved 90000", r.t.id,
             x.id);
    assert_non_null(strstr(out, says));
    free(out);
    tu_rehash_transfer(t->f->dir, x.id);
    out = tu_ledger_verify(t->f->st, &rep);
    assert_int_equal(rep.violations, 1);
    assert_non_null(strstr(out, says));
    free(out);
    /* put back as it was (the original hash is the recomputed one) */
    tu_sql(t->f->dir, move, -81000, x.id, -81000, x.debit_account, -81000, x.credit_account);
    tu_rehash_transfer(t->f->dir, x.id);

    char tamper[256], undo[256];
    snprintf(tamper, sizeof tamper, "UPDATE topups SET transfer_id = 0 WHERE id = %" PRId64, r.t.id);
    snprintf(undo, sizeof undo, "UPDATE topups SET transfer_id = %" PRId64 " WHERE id = %" PRId64, x.id, r.t.id);
    snprintf(says, sizeof says, "topups %" PRId64 ": says 9000 moved but names no transfer", r.t.id);
    wf_verify_catches(t->f, tamper, undo, 1, says);
}

static void test_retry_credits_once(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    struct topup_result r1, r2;
    assert_int_equal(topup(t, &a, 3000, "same-key", &r1, NULL), ERR_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(topup(t, &a, 3000, "same-key", &r2, NULL), ERR_OK);
        assert_true(r2.replayed);
        assert_int_equal(r2.t.id, r1.t.id);
        assert_int_equal(r2.t.status, TOPUP_SUCCEEDED);
        assert_int_equal(r2.balance, 3000);
    }
    assert_int_equal(balance(t, &a), 3000);
    assert_int_equal(topups_of(t, &a), 1);
    assert_int_equal(af_mail_count(t->f, a.email, "topped up"), 1);

    /* the same key for another request is refused, and changes nothing */
    const char *bad = NULL;
    assert_int_equal(topup(t, &a, 4000, "same-key", &r2, &bad), ERR_IDEMPOTENCY_CONFLICT);
    assert_string_equal(bad, "Idempotency-Key");
    assert_int_equal(balance(t, &a), 3000);
    /* a key the client never sent well-formed is refused before anything */
    assert_int_equal(topup(t, &a, 4000, "has space", &r2, &bad), ERR_INVALID_PARAM);
    assert_int_equal(topup(t, &a, 4000, "", &r2, &bad), ERR_INVALID_PARAM);
    char longkey[80];
    memset(longkey, 'k', 65);
    longkey[65] = '\0';
    assert_int_equal(topup(t, &a, 4000, longkey, &r2, &bad), ERR_INVALID_PARAM);
    /* a new key is a new top-up */
    assert_int_equal(topup(t, &a, 4000, "other-key", &r2, NULL), ERR_OK);
    assert_false(r2.replayed);
    assert_int_equal(balance(t, &a), 7000);
    assert_int_equal(topups_of(t, &a), 2);
}

static void test_declined_card_credits_nothing(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_NO_FUNDS);
    struct topup_result r;
    assert_int_equal(topup(t, &a, 5000, "k", &r, NULL), ERR_CARD_INSUFFICIENT_FUNDS);
    assert_int_equal(r.t.status, TOPUP_FAILED);
    assert_string_equal(r.t.decline_code, "card_insufficient_funds");
    assert_int_equal(balance(t, &a), 0);
    assert_int_equal(transfer_of(t, r.t.id, &(struct ledger_transfer){0}), ERR_TRANSFER_NOT_FOUND);
    assert_int_equal(af_mail_count(t->f, a.email, "topped up"), 0);
    /* a retry gets the same answer, and nothing moves */
    struct topup_result again;
    assert_int_equal(topup(t, &a, 5000, "k", &again, NULL), ERR_CARD_INSUFFICIENT_FUNDS);
    assert_true(again.replayed);
    assert_int_equal(again.t.id, r.t.id);
    /* a failed top-up does not count against the limits */
    struct wallet_summary sum;
    assert_int_equal(wallet_summary(W(t), &a.s, &sum), ERR_OK);
    assert_int_equal(sum.topup_remaining_today, 100000);
    /* and the reconciler leaves it alone */
    size_t finished = 99;
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 0);
    assert_int_equal(balance(t, &a), 0);
}

static void test_three_d_secure_every_payment(void **state)
{
    struct tw *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com");
    customer(t, &b, "bo@example.com");
    link_card(t, &a, VISA_3DS_EVERY);

    struct topup_result r, c;
    assert_int_equal(topup(t, &a, 2000, "k1", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
    assert_int_equal(balance(t, &a), 0);
    char otp[16];
    af_mail_word(t->f, a.email, "top-up verification code", "is: ", otp, sizeof otp);
    /* a replay before the code: still waiting, no second code mailed */
    assert_int_equal(topup(t, &a, 2000, "k1", &c, NULL), ERR_OK);
    assert_true(c.replayed);
    assert_int_equal(c.t.status, TOPUP_REQUIRES_ACTION);
    assert_int_equal(af_mail_count(t->f, a.email, "top-up verification code"), 0);

    /* someone else's session cannot confirm it, even with the code */
    assert_int_equal(topup_confirm(W(t), &b.s, r.t.id, otp, &c, NULL), ERR_TOPUP_NOT_FOUND);
    /* a wrong code leaves it waiting */
    const char *wrong = strcmp(otp, "000000") == 0 ? "111111" : "000000";
    assert_int_equal(topup_confirm(W(t), &a.s, r.t.id, wrong, &c, NULL), ERR_INVALID_CODE);
    assert_int_equal(topup_confirm(W(t), &a.s, r.t.id, "12ab", &c, NULL), ERR_INVALID_CODE);
    assert_int_equal(balance(t, &a), 0);
    /* the right one finishes it */
    assert_int_equal(topup_confirm(W(t), &a.s, r.t.id, otp, &c, NULL), ERR_OK);
    assert_int_equal(c.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(c.balance, 2000);
    assert_int_equal(balance(t, &a), 2000);
    /* once */
    assert_int_equal(topup_confirm(W(t), &a.s, r.t.id, otp, &c, NULL), ERR_TOPUP_NOT_FOUND);
    assert_int_equal(topup(t, &a, 2000, "k1", &c, NULL), ERR_OK);
    assert_true(c.replayed);
    assert_int_equal(c.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(balance(t, &a), 2000);

    /* every payment asks again; three wrong codes and it fails for good */
    assert_int_equal(topup(t, &a, 3000, "k2", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
    af_mail_word(t->f, a.email, "top-up verification code", "is: ", otp, sizeof otp);
    wrong = strcmp(otp, "000000") == 0 ? "111111" : "000000";
    enum err e = ERR_OK;
    for (int i = 0; i <= GATEWAY_CHALLENGE_TRIES && e != ERR_AUTHENTICATION_FAILED; i++)
        e = topup_confirm(W(t), &a.s, r.t.id, wrong, &c, NULL);
    assert_int_equal(e, ERR_AUTHENTICATION_FAILED);
    assert_int_equal(topup_get(W(t), &a.s, r.t.id, &c), ERR_OK);
    assert_int_equal(c.t.status, TOPUP_FAILED);
    assert_int_equal(topup_confirm(W(t), &a.s, r.t.id, otp, &c, NULL), ERR_TOPUP_NOT_FOUND);
    assert_int_equal(balance(t, &a), 2000);

    /* an unanswered challenge stops holding room under the cap once it is dead */
    t->f->cfg.topup_balance_cap = 10000;
    assert_int_equal(topup(t, &a, 8000, "k3", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
    const char *bad = NULL;
    assert_int_equal(topup(t, &a, 8000, "k4", &r, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "balance_cap");
    t->f->now += GATEWAY_CHALLENGE_TTL_MS + 1000;
    refresh(t, &a);
    assert_int_equal(topup(t, &a, 8000, "k4", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
}

/* The issuer accepted the code but kessai died before recording it: the
 * customer's retry of the same code hears "spent" from the challenge, yet
 * the authorization under the top-up's key says yes, so it is credited
 * (once) instead of being failed. */
static void test_three_d_secure_answer_lost(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_3DS_EVERY);
    struct topup_result r, c;
    assert_int_equal(topup(t, &a, 2500, "lost", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
    char otp[16];
    af_mail_word(t->f, a.email, "top-up verification code", "is: ", otp, sizeof otp);
    /* the pass that a crash lost: straight to the processor */
    assert_int_equal(t->real->ops->challenge_verify(t->real, r.t.challenge_ref, otp), ERR_OK);
    assert_int_equal(balance(t, &a), 0);

    assert_int_equal(topup_confirm(W(t), &a.s, r.t.id, otp, &c, NULL), ERR_OK);
    assert_int_equal(c.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(balance(t, &a), 2500);
    assert_int_equal(topup_confirm(W(t), &a.s, r.t.id, otp, &c, NULL), ERR_TOPUP_NOT_FOUND);
    assert_int_equal(balance(t, &a), 2500);
}

/* ---- every limit bites -------------------------------------------------------- */

static void test_amount_and_balance_cap(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    const char *bad = NULL;
    assert_int_equal(topup(t, &a, 0, "z", NULL, &bad), ERR_AMOUNT_INVALID);
    assert_string_equal(bad, "amount");
    assert_int_equal(topup(t, &a, -5, "z", NULL, &bad), ERR_AMOUNT_INVALID);
    assert_int_equal(topup(t, &a, 50001, "z", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "amount");

    t->f->cfg.topup_balance_cap = 10000;
    assert_int_equal(topup(t, &a, 8000, "a", NULL, NULL), ERR_OK);
    assert_int_equal(topup(t, &a, 2001, "b", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "balance_cap");
    assert_int_equal(refusals(t, &a, "balance_cap"), 1);
    assert_int_equal(topup(t, &a, 2000, "b", NULL, NULL), ERR_OK); /* the refused key was not spent */
    assert_int_equal(balance(t, &a), 10000);
    assert_int_equal(topups_of(t, &a), 2);
    struct wallet_summary sum;
    assert_int_equal(wallet_summary(W(t), &a.s, &sum), ERR_OK);
    assert_int_equal(sum.topup_remaining_today, 0);
}

static void test_daily_and_monthly(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    t->f->cfg.topup_daily_max = 10000;
    t->f->cfg.topup_monthly_max = 25000;
    const char *bad = NULL;
    assert_int_equal(topup(t, &a, 6000, "d1", NULL, NULL), ERR_OK);
    assert_int_equal(topup(t, &a, 4001, "d2", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "daily");
    assert_int_equal(topup(t, &a, 4000, "d2", NULL, NULL), ERR_OK);
    /* 24 h later the day is new, the month is not */
    t->f->now += TIME_DAY_MS + 1000;
    refresh(t, &a);
    assert_int_equal(topup(t, &a, 10000, "d3", NULL, NULL), ERR_OK);
    t->f->now += TIME_DAY_MS + 1000;
    refresh(t, &a);
    assert_int_equal(topup(t, &a, 5001, "d4", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "monthly");
    assert_int_equal(refusals(t, &a, "daily"), 1);
    assert_int_equal(refusals(t, &a, "monthly"), 1);
    assert_int_equal(topup(t, &a, 5000, "d4", NULL, NULL), ERR_OK);
    assert_int_equal(balance(t, &a), 25000);
    /* 30 days after the first, it is free again */
    t->f->now += 29 * TIME_DAY_MS;
    refresh(t, &a);
    assert_int_equal(topup(t, &a, 6000, "d5", NULL, NULL), ERR_OK);
}

static void test_new_card(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    t->f->cfg.card_new_s = 3 * 86400;
    t->f->cfg.topup_new_card_daily_max = 5000;
    link_card(t, &a, VISA_OK);
    const char *bad = NULL;
    assert_int_equal(topup(t, &a, 3000, "n1", NULL, NULL), ERR_OK);
    assert_int_equal(topup(t, &a, 2001, "n2", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "new_card");
    assert_int_equal(refusals(t, &a, "new_card"), 1);
    /* another, older card is not held back by the new one's limit */
    t->f->now += 3 * TIME_DAY_MS + 1000;
    refresh(t, &a);
    struct card old = a.card;
    link_card(t, &a, MC_OK);
    assert_int_equal(topup(t, &a, 6000, "n3", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "new_card");
    struct card fresh = a.card;
    a.card = old;
    assert_int_equal(topup(t, &a, 6000, "n3", NULL, NULL), ERR_OK);
    a.card = fresh;
    assert_int_equal(topup(t, &a, 5000, "n4", NULL, NULL), ERR_OK);
    assert_int_equal(balance(t, &a), 14000);
}

/* A thief with the password and a session on a new device (any second
 * factor they got past once): the new-device limit caps the damage, and
 * without a fresh second factor nothing goes at all. */
static void test_new_device_limit(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    assert_int_equal(topup(t, &a, 2000, "owner", NULL, NULL), ERR_OK);

    t->f->cfg.new_device_cooldown_s = 24 * 3600;
    t->f->cfg.topup_new_device_daily_max = 5000;
    struct cust thief = a;
    af_phone_new(&thief.phone, "thief phone");
    memcpy(thief.phone.seed, a.phone.seed, sizeof a.phone.seed);
    assert_int_equal(af_login(t->f, a.email, &thief.phone, &thief.g), ERR_OK);
    af_auth(t->f, &thief.g, &thief.s);
    assert_true(thief.s.device_new_until_ms > t->f->now);

    const char *bad = NULL;
    /* the day's total counts the owner's top-up too */
    assert_int_equal(topup(t, &thief, 3001, "t1", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "new_device");
    assert_int_equal(refusals(t, &a, "new_device"), 1);
    assert_int_equal(topup(t, &thief, 3000, "t1", NULL, NULL), ERR_OK);
    assert_int_equal(topup(t, &thief, 1, "t2", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_int_equal(balance(t, &a), 5000);
    struct wallet_summary sum;
    assert_int_equal(wallet_summary(W(t), &thief.s, &sum), ERR_OK);
    assert_int_equal(sum.topup_remaining_today, 0);

    /* five minutes on, the second factor is stale: even 1 yen needs it */
    t->f->now += AUTH_FRESH_MFA_MS + 1000;
    t->f->cfg.topup_new_device_daily_max = 100000;
    af_auth(t->f, &thief.g, &thief.s);
    assert_int_equal(topup(t, &thief, 1, "t3", NULL, NULL), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(refusals(t, &a, "fresh_mfa_required"), 1);
    assert_int_equal(balance(t, &a), 5000);
    /* the owner's known device tops up small amounts without one */
    af_auth(t->f, &a.g, &a.s);
    assert_int_equal(topup(t, &a, 1000, "o2", NULL, NULL), ERR_OK);
    assert_int_equal(balance(t, &a), 6000);
}

static void test_mfa_threshold(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    t->f->now += AUTH_FRESH_MFA_MS + 1000;
    af_auth(t->f, &a.g, &a.s);
    assert_int_equal(topup(t, &a, 30000, "at", NULL, NULL), ERR_OK); /* at the threshold: fine */
    assert_int_equal(topup(t, &a, 30001, "above", NULL, NULL), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(balance(t, &a), 30000);
    refresh(t, &a);
    assert_int_equal(topup(t, &a, 30001, "above", NULL, NULL), ERR_OK);
    assert_int_equal(balance(t, &a), 60001);
}

static void test_card_must_be_active_and_own(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    typed(t, MC_OK);
    struct card pending;
    const char *bad = NULL;
    int64_t retry = 0;
    struct card_link_input in = {MC_OK, 12, EXP_YEAR, CVC_OK};
    assert_int_equal(card_link_start(W(t), &a.s, &in, &pending, &bad, &retry), ERR_OK);
    char otp[16]; /* taken from the mailbox, left unanswered */
    af_mail_word(t->f, a.email, "card verification code", "is: ", otp, sizeof otp);
    a.card = pending;
    assert_int_equal(topup(t, &a, 1000, "p", NULL, &bad), ERR_CARD_NOT_ACTIVE);
    a.card.id = 999999;
    assert_int_equal(topup(t, &a, 1000, "p", NULL, &bad), ERR_CARD_NOT_FOUND);
    link_card(t, &a, VISA_OK);
    assert_int_equal(card_remove(W(t), &a.s, a.card.id), ERR_OK);
    assert_int_equal(topup(t, &a, 1000, "p", NULL, &bad), ERR_CARD_NOT_FOUND);
    assert_int_equal(balance(t, &a), 0);
    assert_int_equal(topups_of(t, &a), 0);
}

/* A frozen account takes no money in from its card, and the try is on its
 * file (the owner froze it: whoever still holds a session is someone to
 * know about). */
static void test_frozen_account_cannot_top_up(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    assert_int_equal(freeze_self(af_ctx(t->f), &a.s, "lost my phone"), ERR_OK);
    refresh(t, &a);
    const char *bad = NULL;
    assert_int_equal(topup(t, &a, 1000, "fz", NULL, &bad), ERR_ACCOUNT_FROZEN);
    assert_int_equal(af_events(t->f, a.s.customer_id, "topup_refused"), 1);
    assert_int_equal(balance(t, &a), 0);
    assert_int_equal(topups_of(t, &a), 0);
}

/* A top-up admitted while the card was active but driven on after the
 * customer removed it (a retry with its key, the reconciler, a 3-D Secure
 * code) does not reach the card: "it can no longer be used to top up". */
static void test_removed_card_is_not_charged_later(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    t->gw.down = true;
    struct topup_result r;
    assert_int_equal(topup(t, &a, 4000, "late", &r, NULL), ERR_GATEWAY);
    assert_int_equal(r.t.status, TOPUP_CREATED);
    assert_int_equal(card_remove(W(t), &a.s, a.card.id), ERR_OK);
    t->gw.down = false;
    /* the thief's retry with the same key */
    assert_int_equal(topup(t, &a, 4000, "late", &r, NULL), ERR_CARD_NOT_FOUND);
    assert_true(r.replayed);
    assert_int_equal(r.t.status, TOPUP_FAILED);
    size_t finished = 99;
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 0);
    assert_int_equal(balance(t, &a), 0);

    /* the reconciler, for a row the client never came back for */
    link_card(t, &a, MC_OK);
    t->gw.down = true;
    assert_int_equal(topup(t, &a, 3000, "left", &r, NULL), ERR_GATEWAY);
    assert_int_equal(card_remove(W(t), &a.s, a.card.id), ERR_OK);
    t->gw.down = false;
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(topup_get(W(t), &a.s, r.t.id, &r), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_FAILED);
    assert_int_equal(balance(t, &a), 0);

    /* a 3-D Secure code entered after the removal */
    typed(t, VISA_3DS_EVERY);
    link_card(t, &a, VISA_3DS_EVERY);
    assert_int_equal(topup(t, &a, 2000, "3ds", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
    char otp[16];
    af_mail_word(t->f, a.email, "top-up verification code", "is: ", otp, sizeof otp);
    assert_int_equal(card_remove(W(t), &a.s, a.card.id), ERR_OK);
    struct topup_result c;
    assert_int_equal(topup_confirm(W(t), &a.s, r.t.id, otp, &c, NULL), ERR_CARD_NOT_FOUND);
    assert_int_equal(c.t.status, TOPUP_FAILED);
    assert_int_equal(balance(t, &a), 0);
    assert_int_equal(af_mail_count(t->f, a.email, "topped up"), 0);
}

static void test_kill_switch(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_CARD_TOPUPS, true, "card fraud wave, back at 18:00",
                                    "ops@example.com", t->f->now),
                     ERR_OK);
    struct topup_result r;
    const char *bad = NULL;
    struct killswitch sw;
    memset(&sw, 0, sizeof sw);
    assert_int_equal(topup_card(W(t), &a.s, a.card.id, 1000, "s1", &r, &bad, &sw), ERR_SUSPENDED);
    assert_string_equal(sw.reason, "card fraud wave, back at 18:00");
    assert_int_equal(topups_of(t, &a), 0);
    /* everything else keeps working: reading, the wallet, cash codes */
    struct wallet_summary sum;
    assert_int_equal(wallet_summary(W(t), &a.s, &sum), ERR_OK);
    char code[TOPUP_CODE_DIGITS + 1];
    int64_t exp = 0;
    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_CARD_TOPUPS, false, NULL, "ops@example.com", t->f->now),
                     ERR_OK);
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_TOPUPS, true, "maintenance", "ops@example.com", t->f->now),
                     ERR_OK);
    assert_int_equal(topup_card(W(t), &a.s, a.card.id, 1000, "s1", &r, &bad, &sw), ERR_SUSPENDED);
    assert_string_equal(sw.reason, "maintenance");
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_TOPUPS, false, NULL, "ops@example.com", t->f->now),
                     ERR_OK);
    assert_int_equal(topup_card(W(t), &a.s, a.card.id, 1000, "s1", &r, &bad, &sw), ERR_OK);
    assert_int_equal(balance(t, &a), 1000);
}

/* ---- cash at the register ------------------------------------------------------- */

static void store_and_terminal(struct tw *t, struct merchant_store *s, struct merchant_terminal *term)
{
    struct merchant m;
    char secret[TERMINAL_SECRET_HEX_BUF];
    assert_int_equal(merchant_create(t->f->st, "Kessai Mart", &m), ERR_OK);
    assert_int_equal(merchant_store_create(t->f->st, m.id, "Kessai Mart Tokyo Station", "1-9-1 Marunouchi, Tokyo",
                                           35681236, 139767125, "convenience", s),
                     ERR_OK);
    assert_int_equal(terminal_create(t->f->st, t->f->mk, s->id, term, secret), ERR_OK);
}

static void test_cash_topup(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    struct merchant_store shop;
    struct merchant_terminal term;
    store_and_terminal(t, &shop, &term);

    char code[TOPUP_CODE_DIGITS + 1];
    int64_t exp = 0;
    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    assert_int_equal(strlen(code), 18);
    assert_true(topup_code_valid(code));
    assert_int_equal(exp, t->f->now + TOPUP_CODE_TTL_MS);

    struct topup_result r;
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(topup_cash(W(t), &term, code, 3000, "till-1", &r, &bad, &sw), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(r.t.source, TOPUP_CASH);
    assert_int_equal(r.t.store_id, shop.id);
    assert_int_equal(r.balance, 3000);
    struct ledger_transfer x;
    assert_int_equal(transfer_of(t, r.t.id, &x), ERR_OK);
    assert_string_equal(x.kind, "topup_cash");
    char owner[IDS_BUF];
    assert_int_equal(x.debit_account, account_of(t, ids_format(owner, "str", shop.id), "cash"));
    char body[4096];
    assert_int_equal(af_mail(t->f, a.email, "topped up", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "Kessai Mart Tokyo Station"));

    /* the register retries: the same receipt, no second credit */
    struct topup_result again;
    assert_int_equal(topup_cash(W(t), &term, code, 3000, "till-1", &again, &bad, &sw), ERR_OK);
    assert_true(again.replayed);
    assert_int_equal(again.t.id, r.t.id);
    /* the code is spent: another key, or another amount, gets nothing */
    assert_int_equal(topup_cash(W(t), &term, code, 3000, "till-2", &again, &bad, &sw), ERR_INVALID_CODE);
    assert_string_equal(bad, "code");
    assert_int_equal(topup_cash(W(t), &term, code, 5000, "till-1", &again, &bad, &sw), ERR_IDEMPOTENCY_CONFLICT);
    assert_int_equal(balance(t, &a), 3000);

    /* a mistyped code (check digit) and an expired one are refused */
    char wrong[TOPUP_CODE_DIGITS + 1];
    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    memcpy(wrong, code, sizeof wrong);
    wrong[3] = wrong[3] == '9' ? '0' : (char)(wrong[3] + 1);
    assert_int_equal(topup_cash(W(t), &term, wrong, 1000, "till-3", &again, &bad, &sw), ERR_INVALID_CODE);
    assert_int_equal(topup_cash(W(t), &term, "12345", 1000, "till-3", &again, &bad, &sw), ERR_INVALID_CODE);
    t->f->now += TOPUP_CODE_TTL_MS;
    assert_int_equal(topup_cash(W(t), &term, code, 1000, "till-3", &again, &bad, &sw), ERR_INVALID_CODE);
    assert_int_equal(balance(t, &a), 3000);

    /* the same limits hold at the register; a refusal leaves the code usable */
    refresh(t, &a);
    t->f->cfg.topup_balance_cap = 5000;
    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    assert_int_equal(topup_cash(W(t), &term, code, 2001, "till-4", &again, &bad, &sw), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "balance_cap");
    assert_int_equal(refusals(t, &a, "balance_cap"), 1);
    assert_int_equal(topup_cash(W(t), &term, code, 2000, "till-5", &again, &bad, &sw), ERR_OK);
    assert_int_equal(balance(t, &a), 5000);
    /* and the all-top-ups switch stops cash too */
    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    t->f->cfg.topup_balance_cap = 100000;
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_TOPUPS, true, "stop", "ops@example.com", t->f->now),
                     ERR_OK);
    assert_int_equal(topup_cash(W(t), &term, code, 1000, "till-6", &again, &bad, &sw), ERR_SUSPENDED);
    assert_int_equal(balance(t, &a), 5000);
}

/* A register trying top-up codes is a register guessing codes: the bad
 * ones count as a payment code's do, the terminal is blocked and flagged,
 * and while blocked it looks no code up (a real one stays unspent for
 * another register). */
static void test_a_register_guessing_topup_codes_is_stopped(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    struct merchant_store shop;
    struct merchant_terminal term;
    store_and_terminal(t, &shop, &term);
    char code[TOPUP_CODE_DIGITS + 1];
    int64_t exp = 0;
    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    struct topup_result r;
    const char *bad = NULL;
    struct killswitch sw;
    int64_t retry = 0;
    /* the clerk mistypes one code three times, once in groups: one bad
     * code, nothing more */
    char wrong[TOPUP_CODE_DIGITS + 1], grouped[TOPUP_CODE_DIGITS + 3];
    memcpy(wrong, code, sizeof wrong);
    wrong[3] = wrong[3] == '9' ? '0' : (char)(wrong[3] + 1);
    snprintf(grouped, sizeof grouped, "%.6s %.6s %.6s", wrong, wrong + 6, wrong + 12);
    assert_int_equal(topup_cash(W(t), &term, wrong, 1000, "w1", &r, &bad, &sw), ERR_INVALID_CODE);
    assert_int_equal(topup_cash(W(t), &term, wrong, 1000, "w2", &r, &bad, &sw), ERR_INVALID_CODE);
    assert_int_equal(topup_cash(W(t), &term, grouped, 1000, "w3", &r, &bad, &sw), ERR_INVALID_CODE);
    for (int i = 0; i < PAYMENT_GUESS_CODES - 2; i++) {
        assert_int_equal(payment_terminal_throttle(W(t), &term, &retry), ERR_OK);
        /* well-formed (check digit right), unknown */
        char guess[TOPUP_CODE_DIGITS + 1], key[16];
        snprintf(guess, sizeof guess, "%018d", (4242 + i) * 10);
        guess[TOPUP_CODE_DIGITS - 1] = (char)('0' + luhn_check_digit(guess, TOPUP_CODE_DIGITS - 1));
        assert_true(topup_code_valid(guess));
        snprintf(key, sizeof key, "g%d", i);
        assert_int_equal(topup_cash(W(t), &term, guess, 1000, key, &r, &bad, &sw), ERR_INVALID_CODE);
    }
    assert_int_equal(payment_terminal_throttle(W(t), &term, &retry), ERR_OK);
    char last[TOPUP_CODE_DIGITS + 1];
    snprintf(last, sizeof last, "%018d", 99);
    assert_int_equal(topup_cash(W(t), &term, last, 1000, "g-last", &r, &bad, &sw), ERR_INVALID_CODE);
    assert_int_equal(payment_terminal_throttle(W(t), &term, &retry), ERR_RATE_LIMITED);
    assert_int_equal(af_events(t->f, 0, "terminal_flagged"), 1);
    /* blocked: the real code is refused like any other, even a malformed
     * one, and nothing is spent */
    assert_int_equal(topup_cash(W(t), &term, code, 1000, "real", &r, &bad, &sw), ERR_RATE_LIMITED);
    assert_int_equal(topup_cash(W(t), &term, wrong, 1000, "w4", &r, &bad, &sw), ERR_RATE_LIMITED);
    assert_int_equal(balance(t, &a), 0);
    struct merchant_terminal other;
    char secret[TERMINAL_SECRET_HEX_BUF];
    assert_int_equal(terminal_create(t->f->st, t->f->mk, shop.id, &other, secret), ERR_OK);
    assert_int_equal(topup_cash(W(t), &other, code, 1000, "real", &r, &bad, &sw), ERR_OK);
    assert_int_equal(balance(t, &a), 1000);
}

/* The code is consumed and the clerk holds the cash, but the ledger does not
 * take the credit this time: the register is told the top-up stands
 * (AUTHORIZED, to be finished by a retry or the reconciler), not an error
 * that could have the cash handed back while the credit lands later. */
static void test_cash_credit_failure_still_accepted(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    struct merchant_store shop;
    struct merchant_terminal term;
    store_and_terminal(t, &shop, &term);
    char code[TOPUP_CODE_DIGITS + 1];
    int64_t exp = 0;
    struct topup_result r;
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    assert_int_equal(topup_cash(W(t), &term, code, 3000, "till-1", &r, &bad, &sw), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);

    /* the next top-up's ledger key is already taken with another amount:
     * its credit fails, as a ledger that cannot commit would make it */
    int64_t next = r.t.id + 1;
    ledger_credit(t, &a, next, 1);

    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    assert_int_equal(topup_cash(W(t), &term, code, 2000, "till-2", &r, &bad, &sw), ERR_OK);
    assert_int_equal(r.t.id, next);
    assert_int_equal(r.t.status, TOPUP_AUTHORIZED);
    assert_int_equal(r.balance, 3001);
    /* the retry of the register hears the same */
    assert_int_equal(topup_cash(W(t), &term, code, 2000, "till-2", &r, &bad, &sw), ERR_OK);
    assert_true(r.replayed);
    assert_int_equal(r.t.status, TOPUP_AUTHORIZED);
    assert_int_equal(balance(t, &a), 3001);
}

/* ---- review fixes ------------------------------------------------------------------ */

#define VISA_PROCESSOR_ERROR "4000000000000119"

/* A switch turned on after a top-up was admitted, before its card was
 * charged, stops it there: the retry with its key, the reconciler and its
 * 3-D Secure code all end it failed (service_suspended) without asking the
 * processor.  A top-up already charged (AUTHORIZED) still reaches the
 * wallet: the customer paid for it. */
static void test_kill_switch_stops_uncharged_topups(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    struct card visa = a.card;
    struct topup_result r, c;
    struct killswitch sw;
    const char *bad = NULL;

    /* CREATED (the processor was down), then the switch: the client's retry */
    t->gw.down = true;
    assert_int_equal(topup(t, &a, 4000, "before", &r, NULL), ERR_GATEWAY);
    assert_int_equal(r.t.status, TOPUP_CREATED);
    t->gw.down = false;
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_CARD_TOPUPS, true, "card fraud wave", "ops@example.com",
                                    t->f->now),
                     ERR_OK);
    memset(&sw, 0, sizeof sw);
    assert_int_equal(topup_card(W(t), &a.s, a.card.id, 4000, "before", &r, &bad, &sw), ERR_SUSPENDED);
    assert_true(r.replayed);
    assert_string_equal(sw.reason, "card fraud wave");
    assert_int_equal(r.t.status, TOPUP_FAILED);
    assert_string_equal(r.t.decline_code, "service_suspended");
    assert_int_equal(balance(t, &a), 0);

    /* CREATED and left to the reconciler, with the all-top-ups switch on */
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_CARD_TOPUPS, false, NULL, "ops@example.com", t->f->now),
                     ERR_OK);
    t->gw.down = true;
    assert_int_equal(topup(t, &a, 3000, "left", &r, NULL), ERR_GATEWAY);
    t->gw.down = false;
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_TOPUPS, true, "maintenance", "ops@example.com", t->f->now),
                     ERR_OK);
    size_t finished = 0;
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 1);
    assert_int_equal(topup_get(W(t), &a.s, r.t.id, &r), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_FAILED);
    assert_string_equal(r.t.decline_code, "service_suspended");
    assert_int_equal(balance(t, &a), 0);

    /* REQUIRES_ACTION: the code is not even looked at */
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_TOPUPS, false, NULL, "ops@example.com", t->f->now), ERR_OK);
    link_card(t, &a, VISA_3DS_EVERY);
    assert_int_equal(topup(t, &a, 2000, "3ds", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
    char otp[16];
    af_mail_word(t->f, a.email, "top-up verification code", "is: ", otp, sizeof otp);
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_CARD_TOPUPS, true, "card fraud wave", "ops@example.com",
                                    t->f->now),
                     ERR_OK);
    memset(&sw, 0, sizeof sw);
    assert_int_equal(topup_confirm(W(t), &a.s, r.t.id, otp, &c, &sw), ERR_SUSPENDED);
    assert_string_equal(sw.reason, "card fraud wave");
    /* the processor never heard the code: its challenge is still open */
    assert_int_equal(t->real->ops->challenge_verify(t->real, r.t.challenge_ref, otp), ERR_OK);
    assert_int_equal(topup_get(W(t), &a.s, r.t.id, &c), ERR_OK);
    assert_int_equal(c.t.status, TOPUP_FAILED);
    assert_string_equal(c.t.decline_code, "service_suspended");
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_CARD_TOPUPS, false, NULL, "ops@example.com", t->f->now),
                     ERR_OK);
    assert_int_equal(topup_confirm(W(t), &a.s, r.t.id, otp, &c, NULL), ERR_TOPUP_NOT_FOUND);
    assert_int_equal(balance(t, &a), 0);
    assert_int_equal(af_mail_count(t->f, a.email, "topped up"), 0);

    /* AUTHORIZED: the card is charged, so it is credited, switch or not */
    a.card = visa;
    t->gw.down = true;
    assert_int_equal(topup(t, &a, 1500, "charged", &r, NULL), ERR_GATEWAY);
    t->gw.down = false;
    struct topup row = r.t;
    assert_int_equal(topup_step_authorize(W(t), &row, NULL), ERR_OK);
    assert_int_equal(row.status, TOPUP_AUTHORIZED);
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", KILLSWITCH_TOPUPS, true, "maintenance", "ops@example.com", t->f->now),
                     ERR_OK);
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 1);
    assert_int_equal(topup_get(W(t), &a.s, row.id, &r), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(balance(t, &a), 1500);
}

/* What another request saw of the customer's room under the cap at the
 * moment the credit had committed (the crash point "topup_credited"). */
static struct tw *probe_tw;
static struct cust *probe_cust;
static int64_t probe_room;
static int probe_status;

static void probe_point(const char *p)
{
    record_point(p);
    if (strcmp(p, TOPUP_CRASH_CREDITED) != 0)
        return;
    struct tw *t = probe_tw;
    struct store *st = tu_open_store(t->f->dir); /* as a concurrent request's connection */
    struct wallet_ctx w = {.a = {.st = st, .master_key = t->f->mk, .cfg = &t->f->cfg, .now = t->f->now,
                                 .client_addr = ""},
                           .gw = &t->gw.base,
                           .writer = t->writer};
    struct wallet_summary sum;
    struct topup list[1];
    size_t n = 0;
    probe_room = wallet_summary(&w, &probe_cust->s, &sum) == ERR_OK ? sum.topup_remaining_today : -1;
    probe_status = st->ops->topup_list(st, probe_cust->s.customer_id, 0, 1, list, &n) == ERR_OK && n == 1
                       ? list[0].status
                       : -1;
    store_close(st);
}

/* The credit and the row's SUCCEEDED commit together: at no moment is a
 * top-up both in the balance and "on its way in" (which refused top-ups
 * under the cap that fit, when requests raced). */
static void test_credit_and_row_commit_together(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    t->f->cfg.topup_balance_cap = 10000;
    probe_tw = t;
    probe_cust = &a;
    probe_room = -1;
    probe_status = -1;
    struct topup_result r;
    const char *bad = NULL;
    struct killswitch sw;
    W(t);
    t->w.crash_point = probe_point;
    assert_int_equal(topup_card(&t->w, &a.s, a.card.id, 3000, "probe", &r, &bad, &sw), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(probe_status, TOPUP_SUCCEEDED);
    assert_int_equal(probe_room, 7000); /* not 4,000: counted once */
    assert_int_equal(af_mail_count(t->f, a.email, "topped up"), 1);
}

/* The card was authorized but the credit fails this time: the answer is
 * the top-up as it stands (AUTHORIZED, 202 over HTTP), not an error that
 * has the customer try again with another key; a retry or the reconciler
 * finishes it. */
static void test_card_credit_failure_answers_authorized(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    struct topup_result r;
    assert_int_equal(topup(t, &a, 3000, "k1", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);

    /* the next top-up's ledger key is already taken with another amount */
    int64_t next = r.t.id + 1;
    ledger_credit(t, &a, next, 1);

    assert_int_equal(topup(t, &a, 2000, "k2", &r, NULL), ERR_OK);
    assert_int_equal(r.t.id, next);
    assert_int_equal(r.t.status, TOPUP_AUTHORIZED);
    assert_int_equal(r.balance, 3001);
    assert_int_equal(topup(t, &a, 2000, "k2", &r, NULL), ERR_OK);
    assert_true(r.replayed);
    assert_int_equal(r.t.status, TOPUP_AUTHORIZED);
    assert_int_equal(balance(t, &a), 3001);
    assert_int_equal(af_mail_count(t->f, a.email, "topped up"), 1);
}

/* The card was authorized but writing AUTHORIZED failed (a full disk):
 * the customer is not told "authorized" (nothing says so on file); the
 * retry with the same key finishes it, crediting once. */
static const struct store_ops *disk_real_ops;
static enum err update_fails_when_authorized(struct store *st, const struct topup *t)
{
    return t->status == TOPUP_AUTHORIZED ? ERR_STORE : disk_real_ops->topup_update(st, t);
}

static void test_an_unsaved_authorization_is_not_answered_ok(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    struct topup_result r;
    disk_real_ops = t->f->st->ops;
    struct store_ops full = *t->f->st->ops;
    full.topup_update = update_fails_when_authorized;
    t->f->st->ops = &full;
    enum err e = topup(t, &a, 2500, "k1", &r, NULL);
    t->f->st->ops = disk_real_ops;
    assert_int_equal(e, ERR_STORE);
    assert_int_equal(balance(t, &a), 0);
    assert_int_equal(topup(t, &a, 2500, "k1", &r, NULL), ERR_OK);
    assert_true(r.replayed);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(balance(t, &a), 2500);
    assert_int_equal(af_mail_count(t->f, a.email, "topped up"), 1);
}

/* A processor that keeps failing: the top-up is retried, then given up
 * after TOPUP_CREATED_MAX_MS, and stops holding room under the cap. */
static void test_reconciler_gives_up_on_created(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_PROCESSOR_ERROR);
    struct topup_result r;
    assert_int_equal(topup(t, &a, 4000, "p1", &r, NULL), ERR_GATEWAY);
    assert_int_equal(r.t.status, TOPUP_CREATED);
    struct wallet_summary sum;
    assert_int_equal(wallet_summary(W(t), &a.s, &sum), ERR_OK);
    assert_int_equal(sum.topup_remaining_today, 96000);

    /* a minute short of the bound: still tried, still held */
    t->f->now += TOPUP_CREATED_MAX_MS - 60000;
    size_t finished = 99;
    assert_int_equal(topup_reconcile(W(t), t->f->now - 30000, &finished), ERR_OK);
    assert_int_equal(finished, 0);
    assert_int_equal(topup_get(W(t), &a.s, r.t.id, &r), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_CREATED);

    t->f->now += 60000;
    assert_int_equal(topup_reconcile(W(t), t->f->now - 30000, &finished), ERR_OK);
    assert_int_equal(finished, 1);
    assert_int_equal(topup_get(W(t), &a.s, r.t.id, &r), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_FAILED);
    assert_string_equal(r.t.decline_code, "gateway_error");
    assert_int_equal(wallet_summary(W(t), &a.s, &sum), ERR_OK);
    assert_int_equal(sum.topup_remaining_today, 100000);
    /* final: the next round leaves it, the client's retry (signed in
     * again: a day has passed) hears the reason */
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 0);
    refresh(t, &a);
    assert_int_equal(topup(t, &a, 4000, "p1", &r, NULL), ERR_GATEWAY);
    assert_true(r.replayed);
    assert_int_equal(r.t.status, TOPUP_FAILED);
    assert_int_equal(balance(t, &a), 0);
}

/* A customer who signs out everywhere (a stolen session found) stops what
 * the thief's requests still have queued: no new top-up, no 3-D Secure
 * code entered. */
static void test_revoked_session_stops_topups(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_3DS_EVERY);
    struct topup_result r, c;
    assert_int_equal(topup(t, &a, 2000, "r1", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
    char otp[16];
    af_mail_word(t->f, a.email, "top-up verification code", "is: ", otp, sizeof otp);

    /* signed out everywhere after the handler authenticated the requests */
    assert_int_equal(session_revoke_all(af_ctx(t->f), &a.s), ERR_OK);
    assert_int_equal(topup(t, &a, 1000, "r2", &c, NULL), ERR_UNAUTHENTICATED);
    assert_int_equal(topup(t, &a, 2000, "r1", &c, NULL), ERR_UNAUTHENTICATED);
    assert_int_equal(topup_confirm(W(t), &a.s, r.t.id, otp, &c, NULL), ERR_UNAUTHENTICATED);
    struct topup row;
    assert_int_equal(t->f->st->ops->topup_get(t->f->st, r.t.id, &row), ERR_OK);
    assert_int_equal(row.status, TOPUP_REQUIRES_ACTION);
    struct topup list[4];
    size_t n = 0;
    assert_int_equal(t->f->st->ops->topup_list(t->f->st, a.s.customer_id, 0, 4, list, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(balance(t, &a), 0);
}

/* A store that is closed (deactivated) takes no cash; the code stays good. */
static void test_inactive_store_takes_no_cash(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    struct merchant_store shop;
    struct merchant_terminal term;
    store_and_terminal(t, &shop, &term);
    char code[TOPUP_CODE_DIGITS + 1];
    int64_t exp = 0;
    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    struct topup_result r;
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(merchant_store_set_active(t->f->st, shop.id, 0), ERR_OK);
    assert_int_equal(topup_cash(W(t), &term, code, 1000, "till-1", &r, &bad, &sw), ERR_STORE_NOT_FOUND);
    assert_int_equal(balance(t, &a), 0);
    assert_int_equal(merchant_store_set_active(t->f->st, shop.id, 1), ERR_OK);
    assert_int_equal(topup_cash(W(t), &term, code, 1000, "till-1", &r, &bad, &sw), ERR_OK);
    assert_false(r.replayed);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(balance(t, &a), 1000);
}

/* "topups@str_…" stops cash at that store's registers only, with the
 * operator's reason; the code stays good, and the store next door (of the
 * same merchant) takes it.  "topups@mer_…" stops every store of the
 * merchant. */
static void test_topups_switched_off_for_one_store(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    struct merchant_store shop, next_door;
    struct merchant_terminal term, term2;
    store_and_terminal(t, &shop, &term);
    char secret[TERMINAL_SECRET_HEX_BUF];
    assert_int_equal(merchant_store_create(t->f->st, shop.merchant_id, "Kessai Mart Yaesu", "1-1 Yaesu, Tokyo",
                                           35680000, 139770000, "convenience", &next_door),
                     ERR_OK);
    assert_int_equal(terminal_create(t->f->st, t->f->mk, next_door.id, &term2, secret), ERR_OK);
    char code[TOPUP_CODE_DIGITS + 1], name[KILLSWITCH_NAME_MAX + 1], id[IDS_BUF];
    int64_t exp = 0;
    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    struct topup_result r;
    const char *bad = NULL;
    struct killswitch sw;
    snprintf(name, sizeof name, "topups@%s", ids_format(id, MERCHANT_STORE_ID_PREFIX, shop.id));
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", name, true, "till short of change", "ops@example.com",
                                    t->f->now),
                     ERR_OK);
    assert_int_equal(topup_cash(W(t), &term, code, 1000, "till-1", &r, &bad, &sw), ERR_SUSPENDED);
    assert_string_equal(sw.name, name);
    assert_string_equal(sw.reason, "till short of change");
    assert_int_equal(balance(t, &a), 0);
    assert_int_equal(topup_cash(W(t), &term2, code, 1000, "till-2", &r, &bad, &sw), ERR_OK);
    assert_int_equal(balance(t, &a), 1000);

    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    snprintf(name, sizeof name, "topups@%s", ids_format(id, MERCHANT_ID_PREFIX, shop.merchant_id));
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", name, true, "merchant audit", "ops@example.com",
                                    t->f->now),
                     ERR_OK);
    assert_int_equal(topup_cash(W(t), &term2, code, 1000, "till-3", &r, &bad, &sw), ERR_SUSPENDED);
    assert_string_equal(sw.reason, "merchant audit");
    assert_int_equal(balance(t, &a), 1000);
}

/* The clerk types the code in groups: the spaces are dropped.  Anything
 * else that is not a digit is still refused. */
static void test_cash_code_typed_with_spaces(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    struct merchant_store shop;
    struct merchant_terminal term;
    store_and_terminal(t, &shop, &term);
    char code[TOPUP_CODE_DIGITS + 1], spaced[40], dashed[40];
    int64_t exp = 0;
    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    snprintf(spaced, sizeof spaced, " %.6s %.6s  %.6s ", code, code + 6, code + 12);
    snprintf(dashed, sizeof dashed, "%.6s-%.6s-%.6s", code, code + 6, code + 12);
    struct topup_result r;
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(topup_cash(W(t), &term, dashed, 1000, "till-1", &r, &bad, &sw), ERR_INVALID_CODE);
    assert_string_equal(bad, "code");
    char longer[40];
    snprintf(longer, sizeof longer, "%s 0", code);
    assert_int_equal(topup_cash(W(t), &term, longer, 1000, "till-1", &r, &bad, &sw), ERR_INVALID_CODE);
    assert_int_equal(topup_cash(W(t), &term, spaced, 1000, "till-1", &r, &bad, &sw), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    /* the same code unspaced is the same request */
    assert_int_equal(topup_cash(W(t), &term, code, 1000, "till-1", &r, &bad, &sw), ERR_OK);
    assert_true(r.replayed);
    assert_int_equal(balance(t, &a), 1000);
}

/* A 3-D Secure challenge left to expire stops holding room under the cap at
 * the next top-up of the customer, at the register too. */
static void test_expired_challenge_freed_by_cash(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_3DS_EVERY);
    struct merchant_store shop;
    struct merchant_terminal term;
    store_and_terminal(t, &shop, &term);
    t->f->cfg.topup_balance_cap = 10000;
    struct topup_result r;
    assert_int_equal(topup(t, &a, 8000, "left-waiting", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
    int64_t waiting = r.t.id;

    t->f->now += GATEWAY_CHALLENGE_TTL_MS + 1000;
    char code[TOPUP_CODE_DIGITS + 1];
    int64_t exp = 0;
    assert_int_equal(topup_code_new(W(t), &a.s, code, &exp), ERR_OK);
    typed(t, code);
    const char *bad = NULL;
    struct killswitch sw;
    assert_int_equal(topup_cash(W(t), &term, code, 8000, "till-1", &r, &bad, &sw), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(topup_get(W(t), &a.s, waiting, &r), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_FAILED);
    assert_string_equal(r.t.decline_code, "authentication_failed");
    assert_int_equal(balance(t, &a), 8000);
}

/* A dead challenge stops holding room however many top-ups came after it
 * (it was looked for among the newest 50 only). */
static void test_an_old_dead_challenge_is_expired(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_3DS_EVERY);
    t->f->cfg.topup_balance_cap = 10000;
    struct topup_result r;
    assert_int_equal(topup(t, &a, 8000, "left-waiting", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
    int64_t waiting = r.t.id;
    link_card(t, &a, VISA_OK);
    for (int i = 0; i < TOPUP_LIST_MAX; i++) {
        char key[16];
        snprintf(key, sizeof key, "yen-%d", i);
        assert_int_equal(topup(t, &a, 1, key, NULL, NULL), ERR_OK);
    }
    t->f->now += GATEWAY_CHALLENGE_TTL_MS + 1000;
    refresh(t, &a);
    assert_int_equal(topup(t, &a, 10000 - TOPUP_LIST_MAX, "after", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(topup_get(W(t), &a.s, waiting, &r), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_FAILED);
    assert_string_equal(r.t.decline_code, "authentication_failed");
    assert_int_equal(balance(t, &a), 10000);
}

/* ---- races: limits hold under concurrency ---------------------------------------- */

#define RACERS 6

struct racer {
    struct tw *t;
    struct cust *c;
    struct store *st; /* its own connection, as a wallet worker has */
    int64_t amount;
    char key[32];
    int ok, refused;
    int tries;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < r->tries; i++) {
        struct wallet_ctx w = {.a = {.st = r->st, .master_key = r->t->f->mk, .cfg = &r->t->f->cfg, .mail = NULL,
                                     .now = r->t->f->now, .client_addr = "198.51.100.7"},
                               .gw = &r->t->gw.base,
                               .writer = r->t->writer};
        struct topup_result res;
        const char *bad = NULL;
        struct killswitch sw;
        char key[48];
        snprintf(key, sizeof key, "%s-%d", r->key, r->tries > 1 ? i : 0);
        enum err e = topup_card(&w, &r->c->s, r->c->card.id, r->amount, key, &res, &bad, &sw);
        if (e == ERR_OK && res.t.status == TOPUP_SUCCEEDED)
            r->ok++;
        else if (e == ERR_LIMIT_EXCEEDED)
            r->refused++;
    }
    return NULL;
}

/* RACERS threads, `tries` top-ups of amount each; returns the successes. */
static int run_race(struct tw *t, struct cust *c, int64_t amount, int tries, bool same_key)
{
    struct racer r[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){.t = t, .c = c, .st = tu_open_store(t->f->dir), .amount = amount, .tries = tries};
        snprintf(r[i].key, sizeof r[i].key, same_key ? "race" : "race-%d", i);
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        store_close(r[i].st);
        ok += r[i].ok;
    }
    return ok;
}

static void test_race_at_balance_cap(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    t->f->cfg.topup_balance_cap = 10000;
    int ok = run_race(t, &a, 3000, 2, false);
    assert_int_equal(ok, 3);
    assert_int_equal(balance(t, &a), 9000);
    assert_true(balance(t, &a) <= t->f->cfg.topup_balance_cap);
}

static void test_race_at_daily_limit(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    t->f->cfg.topup_daily_max = 7000;
    int ok = run_race(t, &a, 2000, 2, false);
    assert_int_equal(ok, 3);
    assert_int_equal(balance(t, &a), 6000);
}

static void test_race_same_key(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    int ok = run_race(t, &a, 2500, 1, true);
    assert_int_equal(ok, RACERS); /* every racer is told it succeeded … */
    assert_int_equal(balance(t, &a), 2500); /* … and the money came in once */
    assert_int_equal(topups_of(t, &a), 1);
}

/* ---- reconciliation: a top-up left half-way by a crash is finished once ---------- */

static void test_reconcile_created(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    /* the processor is unreachable: the row stays CREATED, money unknown */
    t->gw.down = true;
    struct topup_result r;
    assert_int_equal(topup(t, &a, 4000, "c1", &r, NULL), ERR_GATEWAY);
    assert_int_equal(r.t.status, TOPUP_CREATED);
    assert_int_equal(balance(t, &a), 0);
    /* and it holds its room under the cap meanwhile */
    struct wallet_summary sum;
    assert_int_equal(wallet_summary(W(t), &a.s, &sum), ERR_OK);
    assert_int_equal(sum.topup_remaining_today, 96000);
    size_t finished = 99;
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 0); /* still down: nothing moved, nothing lost */

    t->gw.down = false;
    /* too young for this round */
    assert_int_equal(topup_reconcile(W(t), t->f->now - 30000, &finished), ERR_OK);
    assert_int_equal(finished, 0);
    t->f->now += 31000;
    assert_int_equal(topup_reconcile(W(t), t->f->now - 30000, &finished), ERR_OK);
    assert_int_equal(finished, 1);
    assert_int_equal(balance(t, &a), 4000);
    assert_int_equal(topup_get(W(t), &a.s, r.t.id, &r), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    assert_true(r.t.captured);
    assert_int_equal(af_mail_count(t->f, a.email, "topped up"), 1);
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 0);
    assert_int_equal(balance(t, &a), 4000);
    /* the client's retry finds it done */
    assert_int_equal(topup(t, &a, 4000, "c1", &r, NULL), ERR_OK);
    assert_true(r.replayed);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(balance(t, &a), 4000);
}

static void test_reconcile_authorized(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    /* CREATED (processor down), then the gateway says yes and the process
     * dies before crediting: AUTHORIZED, nothing in the wallet */
    t->gw.down = true;
    struct topup_result r;
    assert_int_equal(topup(t, &a, 7000, "a1", &r, NULL), ERR_GATEWAY);
    t->gw.down = false;
    struct topup row = r.t;
    assert_int_equal(topup_step_authorize(W(t), &row, NULL), ERR_OK);
    assert_int_equal(row.status, TOPUP_AUTHORIZED);
    assert_int_equal(balance(t, &a), 0);

    size_t finished = 0;
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 1);
    assert_int_equal(balance(t, &a), 7000);
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 0);
    assert_int_equal(topup(t, &a, 7000, "a1", &r, NULL), ERR_OK);
    assert_true(r.replayed);
    assert_int_equal(balance(t, &a), 7000);
    assert_int_equal(af_mail_count(t->f, a.email, "topped up"), 1);
}

static void test_reconcile_credited_not_marked(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    t->gw.down = true;
    struct topup_result r;
    assert_int_equal(topup(t, &a, 6000, "m1", &r, NULL), ERR_GATEWAY);
    t->gw.down = false;
    struct topup row = r.t;
    assert_int_equal(topup_step_authorize(W(t), &row, NULL), ERR_OK);
    /* the ledger has the credit but the row still says AUTHORIZED (kessai
     * itself commits the two together; a store restored from a backup
     * between them, or an older version, leaves this): the same transfer
     * step_credit would submit */
    int64_t xid = ledger_credit(t, &a, row.id, 6000);
    assert_int_equal(balance(t, &a), 6000);
    /* meanwhile it counts twice against the cap (safe side), never zero times;
     * the replayed credit's hook then marks the row */
    struct wallet_summary sum;
    assert_int_equal(wallet_summary(W(t), &a.s, &sum), ERR_OK);
    assert_int_equal(sum.topup_remaining_today, 88000);

    size_t finished = 0;
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 1);
    assert_int_equal(balance(t, &a), 6000); /* the ledger replayed: credited once */
    assert_int_equal(topup_get(W(t), &a.s, row.id, &r), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_SUCCEEDED);
    assert_int_equal(r.t.transfer_id, xid);
    assert_true(r.t.captured);
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 0);
    assert_int_equal(balance(t, &a), 6000);
}

static void test_reconcile_uncaptured(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    t->gw.down = true;
    struct topup_result r;
    assert_int_equal(topup(t, &a, 1500, "u1", &r, NULL), ERR_GATEWAY);
    t->gw.down = false;
    struct topup row = r.t;
    assert_int_equal(topup_step_authorize(W(t), &row, NULL), ERR_OK);
    int64_t bal = 0;
    assert_int_equal(topup_step_credit(W(t), &row, &bal), ERR_OK);
    assert_int_equal(row.status, TOPUP_SUCCEEDED);
    assert_false(row.captured);
    assert_int_equal(bal, 1500);
    size_t finished = 0;
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 1);
    assert_int_equal(topup_get(W(t), &a.s, row.id, &r), ERR_OK);
    assert_true(r.t.captured);
    assert_int_equal(balance(t, &a), 1500);
    assert_int_equal(topup_reconcile(W(t), INT64_MAX, &finished), ERR_OK);
    assert_int_equal(finished, 0);
}

/* A card's new-card allowance is the card's, not its row's: the same
 * number linked a second time on the account, or removed and linked again
 * (3-D Secure reaches whoever holds it: the thief, for a card they linked
 * first), starts no new 24 h allowance. */
static void test_a_new_card_stays_new_when_linked_again(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    t->f->cfg.card_new_s = 3 * 86400;
    t->f->cfg.topup_new_card_daily_max = 20000;
    link_card(t, &a, VISA_OK);
    struct card first = a.card;
    const char *bad = NULL;
    assert_int_equal(topup(t, &a, 20000, "n1", NULL, NULL), ERR_OK);
    link_card(t, &a, VISA_OK); /* the same number again */
    assert_true(a.card.id != first.id);
    assert_int_equal(topup(t, &a, 1000, "n2", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "new_card");
    assert_int_equal(card_remove(W(t), &a.s, a.card.id), ERR_OK);
    assert_int_equal(card_remove(W(t), &a.s, first.id), ERR_OK);
    refresh(t, &a);
    link_card(t, &a, VISA_OK); /* and after removing both */
    bad = NULL;
    assert_int_equal(topup(t, &a, 1000, "n3", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "new_card");
    assert_int_equal(balance(t, &a), 20000);
}

/* A frozen account is not topped up later either: not by the reconciler
 * finishing a top-up admitted while the processor was down, nor by a 3-D
 * Secure code typed after a self-freeze.  Nothing was charged yet in
 * either case: the top-up fails account_frozen, the card is never asked. */
static void test_a_frozen_account_is_not_topped_up_later(void **state)
{
    struct tw *t = *state;
    struct cust a;
    aiko_with_card(t, &a, VISA_OK);
    t->gw.down = true;
    struct topup_result r, c;
    assert_int_equal(topup(t, &a, 9000, "fz", &r, NULL), ERR_GATEWAY);
    assert_int_equal(r.t.status, TOPUP_CREATED);
    assert_int_equal(freeze_set_by_staff(af_ctx(t->f), "admin-cli", a.email, true, "fraud case", "cli:ana"), ERR_OK);
    t->gw.down = false;
    t->f->now += 60000;
    size_t finished = 0;
    assert_int_equal(topup_reconcile(W(t), t->f->now - 30000, &finished), ERR_OK);
    assert_int_equal(balance(t, &a), 0);
    struct topup row;
    assert_int_equal(t->f->st->ops->topup_get(t->f->st, r.t.id, &row), ERR_OK);
    assert_int_equal(row.status, TOPUP_FAILED);
    assert_string_equal(row.decline_code, "account_frozen");

    struct cust b;
    customer(t, &b, "bunta@example.com");
    link_card(t, &b, VISA_3DS_EVERY);
    assert_int_equal(topup(t, &b, 2000, "k1", &r, NULL), ERR_OK);
    assert_int_equal(r.t.status, TOPUP_REQUIRES_ACTION);
    char otp[16];
    af_mail_word(t->f, b.email, "top-up verification code", "is: ", otp, sizeof otp);
    assert_int_equal(freeze_self(af_ctx(t->f), &b.s, "worried"), ERR_OK);
    assert_int_equal(topup_confirm(W(t), &b.s, r.t.id, otp, &c, NULL), ERR_ACCOUNT_FROZEN);
    assert_int_equal(c.t.status, TOPUP_FAILED);
    assert_int_equal(balance(t, &b), 0);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_card_topup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_new_card_stays_new_when_linked_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_frozen_account_is_not_topped_up_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_holds_topups_to_their_transfers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_credits_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_declined_card_credits_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_d_secure_every_payment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_d_secure_answer_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amount_and_balance_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_daily_and_monthly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_card, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_device_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mfa_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_card_must_be_active_and_own, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_account_cannot_top_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_card_is_not_charged_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_switch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cash_topup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_register_guessing_topup_codes_is_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cash_credit_failure_still_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_race_at_balance_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_race_at_daily_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_race_same_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_authorized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_credited_not_marked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_uncaptured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_switch_stops_uncharged_topups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credit_and_row_commit_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_card_credit_failure_answers_authorized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_unsaved_authorization_is_not_answered_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconciler_gives_up_on_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_session_stops_topups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inactive_store_takes_no_cash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topups_switched_off_for_one_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cash_code_typed_with_spaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_challenge_freed_by_cash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_old_dead_challenge_is_expired, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("wallet_topups", tests, NULL, NULL);
    oath_done();
    return failed;
}
