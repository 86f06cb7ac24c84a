/* test_wallet_cards.c: linking cards (wallet/card.h) at the domain level,
 * from the customer's side and from the card tester's, on a real store,
 * the built-in test processor (on the same injected clock) and the mail spool
 * as the customers' mailbox.
 *
 * Each limit of card.h is shown to bite: the attack fails, the refusal is
 * a security event, and what should keep working still works.  At the end
 * of every test the database files (kessai's and the test processor's) and
 * the mailbox are searched for every card number and every distinctive CVC
 * the test typed: none may be there.
 */
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
#include "auth/secret_hash.h"
#include "wallet/card.h"
#include "wallet/gateway_test.h"

/* docs/test-cards.md */
#define VISA_OK "4242424242424242"
#define MC_OK "5555555555554444"
#define JCB_OK "3566002020360505"
#define AMEX_OK "378282246310005"
#define VISA_STOLEN "4000000000009979"
#define VISA_EXPIRED "4000000000000069"
#define VISA_3DS_FAILS "4000008400001629"
#define CVC_OK "123" /* what the test issuer expects (amex: 1234) */
#define EXP_YEAR 2030 /* AF_T0 is January 2027 */

struct tw {
    struct af *f;
    struct gateway *gw;
    struct wallet_ctx w;
    char *typed[64]; /* card numbers and CVCs typed, searched for at the end */
    int ntyped;
};

struct cust {
    char email[64];
    struct af_phone phone;
    struct auth_grant g;
    struct auth_session s;
};

static int setup(void **state)
{
    struct tw *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->f = af_new();
    wf_gateway_open(t->f, &t->gw);
    *state = t;
    return 0;
}

static void assert_absent(struct tw *t, const char *path)
{
    wf_assert_absent(path, path, t->typed, t->ntyped, 1);
}

/* Invariant of the whole feature: no PAN or CVC in the database (nor in
 * its WAL; the test processor's vault too: it keeps tokens, never numbers)
 * nor in any mail. */
static void assert_no_card_data(struct tw *t)
{
    char path[4600], dir[4200];
    wf_assert_nothing_typed_at_rest(t->f, t->typed, t->ntyped);
    snprintf(dir, sizeof dir, "%s/new", t->f->md.dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        assert_absent(t, path);
    }
    closedir(d);
}

static int teardown(void **state)
{
    struct tw *t = *state;
    assert_no_card_data(t);
    for (int i = 0; i < t->ntyped; i++)
        free(t->typed[i]);
    gateway_close(t->gw);
    af_free(t->f);
    free(t);
    return 0;
}

static const struct wallet_ctx *W(struct tw *t)
{
    return wf_ctx(&t->w, t->f, NULL, t->gw);
}

/* Remember what was typed; a 3-digit CVC is too short to search a
 * database for without false alarms, so tests type 4-digit wrong ones. */
static void typed(struct tw *t, const char *s)
{
    for (int i = 0; i < t->ntyped; i++)
        if (strcmp(t->typed[i], s) == 0)
            return;
    if (t->ntyped < 64 && strlen(s) >= 4)
        t->typed[t->ntyped++] = strdup(s);
}

/* A Luhn-valid visa number for n (distinct cards for distinct n). */
static void pan_for(int n, char out[17])
{
    tu_visa_pan(n, out);
}

/* A customer with a full, fresh session on their own phone. */
static void customer(struct tw *t, struct cust *c, const char *email)
{
    memset(c, 0, sizeof *c);
    af_customer_signed_in(t->f, email, c->email, sizeof c->email, &c->phone, &c->g, &c->s);
}

/* The same, signed in from a phone another account already uses. */
static void customer_on(struct tw *t, struct cust *c, const char *email, const struct af_phone *phone)
{
    memset(c, 0, sizeof *c);
    snprintf(c->email, sizeof c->email, "%s", email);
    c->phone = *phone;
    af_customer(t->f, c->email, &c->phone, &c->g, NULL);
    af_auth(t->f, &c->g, &c->s);
}

/* Sign in again: a fresh second factor (card linking needs one in 300 s). */
static void refresh(struct tw *t, struct cust *c)
{
    assert_int_equal(af_login(t->f, c->email, &c->phone, &c->g), ERR_OK);
    af_auth(t->f, &c->g, &c->s);
}

static enum err link_ex(struct tw *t, struct cust *c, const char *pan, int month, int year, const char *cvc,
                        struct card *out, const char **bad, int64_t *retry)
{
    struct card local;
    const char *b = NULL;
    int64_t r = 0;
    typed(t, pan);
    typed(t, cvc);
    struct card_link_input in = {pan, month, year, cvc};
    return card_link_start(W(t), &c->s, &in, out ? out : &local, bad ? bad : &b, retry ? retry : &r);
}

static enum err link_card(struct tw *t, struct cust *c, const char *pan, const char *cvc, struct card *out)
{
    return link_ex(t, c, pan, 12, EXP_YEAR, cvc, out, NULL, NULL);
}

/* The issuer's code for the card ending in last4, from the mailbox. */
static void issuer_code(struct tw *t, struct cust *c, char otp[16])
{
    af_mail_word(t->f, c->email, "card verification code", "is: ", otp, 16);
}

/* Link and confirm: an active card. */
static void link_active(struct tw *t, struct cust *c, const char *pan, const char *cvc, struct card *out)
{
    char otp[16];
    struct card pending;
    assert_int_equal(link_card(t, c, pan, cvc, &pending), ERR_OK);
    issuer_code(t, c, otp);
    assert_int_equal(card_link_confirm(W(t), &c->s, pending.id, otp, out), ERR_OK);
    assert_int_equal(out->status, CARD_ACTIVE);
}

/* Events of kind for the customer whose detail contains needle. */
static int events_with(struct tw *t, int64_t customer_id, const char *kind, const char *needle)
{
    return af_events_with(t->f, customer_id, kind, needle);
}

static int attempts(struct tw *t, struct cust *c)
{
    int n = -1;
    assert_int_equal(t->f->st->ops->card_attempt_count(t->f->st, c->s.customer_id, 0, NULL, 0, 0, &n), ERR_OK);
    return n;
}

static size_t listed(struct tw *t, struct cust *c)
{
    struct card list[CARD_LIST_MAX];
    size_t n = 0;
    assert_int_equal(card_list(W(t), &c->s, list, CARD_LIST_MAX, &n), ERR_OK);
    return n;
}

/* ---- the customer's side --------------------------------------------------- */

static void test_link_and_confirm(void **state)
{
    struct tw *t = *state;
    struct cust a;
    struct card c, active, list[CARD_LIST_MAX];
    char otp[16], body[4096];
    size_t n = 0;
    customer(t, &a, "aiko@example.com");

    assert_int_equal(link_card(t, &a, VISA_OK, CVC_OK, &c), ERR_OK);
    assert_true(c.id > 0);
    assert_int_equal(c.status, CARD_PENDING);
    assert_string_equal(c.brand, "visa");
    assert_string_equal(c.last4, "4242");
    assert_int_equal(c.exp_month, 12);
    assert_int_equal(c.exp_year, EXP_YEAR);
    assert_int_equal(events_with(t, a.s.customer_id, "card_link_started", "4242"), 1);

    /* Pending: listed, but not yet usable. */
    assert_int_equal(card_list(W(t), &a.s, list, CARD_LIST_MAX, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].status, CARD_PENDING);

    issuer_code(t, &a, otp);
    assert_int_equal(strlen(otp), 6);
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, otp, &active), ERR_OK);
    assert_int_equal(active.status, CARD_ACTIVE);
    assert_int_equal(active.linked_ms, t->f->now);
    assert_int_equal(events_with(t, a.s.customer_id, "card_linked", "4242"), 1);

    assert_int_equal(af_mail(t->f, a.email, "card was linked", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "visa card ending in 4242"));
    assert_null(strstr(body, otp));

    /* The code is spent: a second confirm finds no pending card. */
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, otp, &active), ERR_CARD_NOT_FOUND);
    assert_int_equal(card_list(W(t), &a.s, list, CARD_LIST_MAX, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].status, CARD_ACTIVE);
    assert_int_equal(list[0].id, c.id);
    /* What the store keeps: the processor's token, never the number. */
    assert_int_equal(strncmp(list[0].token, "tok_", 4), 0);
}

static void test_wrong_code_then_right(void **state)
{
    struct tw *t = *state;
    struct cust a;
    struct card c, out;
    char otp[16], wrong[16];
    customer(t, &a, "aiko@example.com");
    assert_int_equal(link_card(t, &a, MC_OK, CVC_OK, &c), ERR_OK);
    issuer_code(t, &a, otp);
    snprintf(wrong, sizeof wrong, "%s", otp);
    wrong[0] = wrong[0] == '9' ? '0' : (char)(wrong[0] + 1);

    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, wrong, &out), ERR_INVALID_CODE);
    assert_int_equal(events_with(t, a.s.customer_id, "card_link_failed", "invalid_code"), 1);
    /* Not a code at all: refused without costing the cardholder a try. */
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, "12ab56", &out), ERR_INVALID_CODE);
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, "", &out), ERR_INVALID_CODE);
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, NULL, &out), ERR_INVALID_CODE);
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, wrong, &out), ERR_INVALID_CODE);

    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, otp, &out), ERR_OK);
    assert_int_equal(out.status, CARD_ACTIVE);
    assert_string_equal(out.brand, "mastercard");
    assert_int_equal(af_mail_count(t->f, a.email, "card was linked"), 1);
}

static void test_three_wrong_codes_fail_the_card(void **state)
{
    struct tw *t = *state;
    struct cust a;
    struct card c, out, got;
    char otp[16], wrong[16];
    customer(t, &a, "aiko@example.com");
    assert_int_equal(link_card(t, &a, VISA_OK, CVC_OK, &c), ERR_OK);
    issuer_code(t, &a, otp);
    snprintf(wrong, sizeof wrong, "%s", otp);
    wrong[5] = wrong[5] == '9' ? '0' : (char)(wrong[5] + 1);

    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, wrong, &out), ERR_INVALID_CODE);
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, wrong, &out), ERR_INVALID_CODE);
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, wrong, &out), ERR_AUTHENTICATION_FAILED);
    assert_int_equal(events_with(t, a.s.customer_id, "card_link_failed", "authentication_failed"), 1);

    /* Final: even the right code cannot revive it, and it is not listed. */
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, otp, &out), ERR_CARD_NOT_FOUND);
    assert_int_equal(card_get(W(t), a.s.customer_id, c.id, &got), ERR_OK);
    assert_int_equal(got.status, CARD_FAILED);
    assert_int_equal(listed(t, &a), 0);
    assert_int_equal(af_mail_count(t->f, a.email, "card was linked"), 0);
}

static void test_issuer_refuses_3ds(void **state)
{
    struct tw *t = *state;
    struct cust a;
    struct card c, out;
    char otp[16];
    customer(t, &a, "aiko@example.com");
    assert_int_equal(link_card(t, &a, VISA_3DS_FAILS, CVC_OK, &c), ERR_OK);
    issuer_code(t, &a, otp);
    for (int i = 1; i < GATEWAY_CHALLENGE_TRIES; i++)
        assert_int_equal(card_link_confirm(W(t), &a.s, c.id, otp, &out), ERR_INVALID_CODE);
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, otp, &out), ERR_AUTHENTICATION_FAILED);
    assert_int_equal(listed(t, &a), 0);
}

static void test_challenge_expires(void **state)
{
    struct tw *t = *state;
    struct cust a;
    struct card c, out, got;
    char otp[16];
    customer(t, &a, "aiko@example.com");
    assert_int_equal(link_card(t, &a, VISA_OK, CVC_OK, &c), ERR_OK);
    issuer_code(t, &a, otp);
    t->f->now += GATEWAY_CHALLENGE_TTL_MS;
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, otp, &out), ERR_AUTHENTICATION_FAILED);
    assert_int_equal(card_get(W(t), a.s.customer_id, c.id, &got), ERR_OK);
    assert_int_equal(got.status, CARD_FAILED);
    assert_int_equal(events_with(t, a.s.customer_id, "card_link_failed", "challenge_expired"), 1);

    /* A pending card left alone stops holding a place once its challenge is over. */
    refresh(t, &a);
    for (int i = 0; i < CARD_MAX_ACTIVE; i++) {
        char pan[17];
        pan_for(i, pan);
        assert_int_equal(link_card(t, &a, pan, CVC_OK, NULL), ERR_OK);
    }
    assert_int_equal(listed(t, &a), CARD_MAX_ACTIVE);
    t->f->now += GATEWAY_CHALLENGE_TTL_MS;
    assert_int_equal(listed(t, &a), 0);
}

static void test_remove_card(void **state)
{
    struct tw *t = *state;
    struct cust a;
    struct card c, out, got;
    char body[4096];
    customer(t, &a, "aiko@example.com");
    link_active(t, &a, JCB_OK, CVC_OK, &c);
    assert_string_equal(c.brand, "jcb");

    assert_int_equal(card_remove(W(t), &a.s, c.id), ERR_OK);
    assert_int_equal(af_mail(t->f, a.email, "card was removed", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "jcb card ending in 0505"));
    assert_int_equal(events_with(t, a.s.customer_id, "card_removed", "0505"), 1);
    assert_int_equal(listed(t, &a), 0);
    assert_int_equal(card_get(W(t), a.s.customer_id, c.id, &got), ERR_OK);
    assert_int_equal(got.status, CARD_REMOVED);
    assert_int_equal(got.removed_ms, t->f->now);

    /* Gone is gone. */
    assert_int_equal(card_remove(W(t), &a.s, c.id), ERR_CARD_NOT_FOUND);
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, "123456", &out), ERR_CARD_NOT_FOUND);
    assert_int_equal(af_mail_count(t->f, a.email, "card was removed"), 0);

    /* A pending card can be removed too; an unknown id is not found. */
    assert_int_equal(link_card(t, &a, AMEX_OK, "1234", &c), ERR_OK);
    assert_string_equal(c.brand, "amex");
    assert_int_equal(card_remove(W(t), &a.s, c.id), ERR_OK);
    assert_int_equal(card_remove(W(t), &a.s, 999999), ERR_CARD_NOT_FOUND);
}

static void test_session_requirements(void **state)
{
    struct tw *t = *state;
    struct cust a;
    struct card c;
    customer(t, &a, "aiko@example.com");

    /* A second factor older than 300 s: no card linking on that alone. */
    t->f->now += AUTH_FRESH_MFA_MS + 1000;
    af_auth(t->f, &a.g, &a.s);
    assert_int_equal(link_card(t, &a, VISA_OK, CVC_OK, &c), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(attempts(t, &a), 0);
    refresh(t, &a);
    assert_int_equal(link_card(t, &a, VISA_OK, CVC_OK, &c), ERR_OK);

    /* An enrol session (verified address, no second factor yet) cannot. */
    struct cust b;
    char code[8];
    snprintf(b.email, sizeof b.email, "ben@example.com");
    af_phone_new(&b.phone, "phone");
    af_register(t->f, b.email, AF_PASSWORD, code);
    assert_int_equal(af_verify(t->f, b.email, code, &b.phone, &b.g), ERR_OK);
    af_auth(t->f, &b.g, &b.s);
    assert_int_equal(link_card(t, &b, MC_OK, CVC_OK, &c), ERR_MFA_REQUIRED);
    struct card list[CARD_LIST_MAX];
    size_t n = 0;
    assert_int_equal(card_list(W(t), &b.s, list, CARD_LIST_MAX, &n), ERR_MFA_REQUIRED);
}

/* ---- input and the issuer's answers --------------------------------------- */

static void test_invalid_input_costs_no_attempt(void **state)
{
    struct tw *t = *state;
    struct cust a;
    const char *bad = NULL;
    customer(t, &a, "aiko@example.com");
    struct {
        const char *pan;
        int month, year;
        const char *cvc;
        const char *bad;
    } cases[] = {
        {"4242424242424241", 12, EXP_YEAR, CVC_OK, "number"}, /* Luhn */
        {"42424242424", 12, EXP_YEAR, CVC_OK, "number"},      /* too short */
        {"42424242424242424242", 12, EXP_YEAR, CVC_OK, "number"},
        {"4242 4242 4242 4242", 12, EXP_YEAR, CVC_OK, "number"}, /* digits only in the domain */
        {"", 12, EXP_YEAR, CVC_OK, "number"},
        {VISA_OK, 0, EXP_YEAR, CVC_OK, "exp_month"},
        {VISA_OK, 13, EXP_YEAR, CVC_OK, "exp_month"},
        {VISA_OK, 12, 2026, CVC_OK, "exp_year"},  /* last year */
        {VISA_OK, 12, 99999, CVC_OK, "exp_year"}, /* no card lives that long */
        {VISA_OK, 12, 26, CVC_OK, "exp_year"},    /* two digits */
        {VISA_OK, 12, EXP_YEAR, "12", "cvc"},
        {VISA_OK, 12, EXP_YEAR, "12345", "cvc"},
        {VISA_OK, 12, EXP_YEAR, "12a", "cvc"},
        {VISA_OK, 12, EXP_YEAR, "", "cvc"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bad = NULL;
        assert_int_equal(link_ex(t, &a, cases[i].pan, cases[i].month, cases[i].year, cases[i].cvc, NULL, &bad, NULL),
                         ERR_INVALID_PARAM);
        assert_string_equal(bad, cases[i].bad);
    }
    assert_int_equal(events_with(t, a.s.customer_id, "card_link_failed", "\"param\":\"number\""), 5);
    assert_int_equal(attempts(t, &a), 0);

    /* The issuer was never asked, so the day's attempts are all there (a
     * card expiring this month, January 2027, is still good). */
    for (int i = 0; i < CARD_ATTEMPTS_PER_DAY; i++) {
        char pan[17];
        struct card c;
        pan_for(100 + i, pan);
        assert_int_equal(link_ex(t, &a, pan, i == 0 ? 1 : 12, i == 0 ? 2027 : EXP_YEAR, CVC_OK, &c, NULL, NULL),
                         ERR_OK);
        assert_int_equal(card_remove(W(t), &a.s, c.id), ERR_OK);
    }
    assert_int_equal(link_card(t, &a, VISA_OK, CVC_OK, NULL), ERR_RATE_LIMITED);
}

static void test_issuer_declines(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    assert_int_equal(link_card(t, &a, VISA_STOLEN, CVC_OK, NULL), ERR_CARD_DECLINED);
    assert_int_equal(link_card(t, &a, VISA_EXPIRED, CVC_OK, NULL), ERR_CARD_EXPIRED);
    assert_int_equal(events_with(t, a.s.customer_id, "card_link_failed", "card_declined"), 1);
    assert_int_equal(events_with(t, a.s.customer_id, "card_link_failed", "expired_card"), 1);
    assert_int_equal(events_with(t, a.s.customer_id, "card_link_failed", "9979"), 1);
    assert_int_equal(attempts(t, &a), 2);
    assert_int_equal(listed(t, &a), 0);
    assert_int_equal(af_mail_count(t->f, a.email, "card verification code"), 0);
    /* A good card still links. */
    assert_int_equal(link_card(t, &a, VISA_OK, CVC_OK, NULL), ERR_OK);
}

/* ---- the card tester's side -------------------------------------------------- */

static void test_cvc_guessing_blocks_the_customer(void **state)
{
    struct tw *t = *state;
    struct cust a, b;
    int64_t retry = 0;
    const char *guesses[] = {"1111", "2222", "3333"};
    customer(t, &a, "mallory@example.com");
    for (int i = 0; i < CARD_CVC_MISMATCH_MAX; i++)
        assert_int_equal(link_card(t, &a, VISA_OK, guesses[i], NULL), ERR_INCORRECT_CVC);
    assert_int_equal(events_with(t, a.s.customer_id, "card_testing_blocked", "\"source\":\"customer\""), 1);

    /* The right CVC now gets the same refusal as a wrong one: the block
     * answers, not the issuer. */
    assert_int_equal(link_ex(t, &a, VISA_OK, 12, EXP_YEAR, CVC_OK, NULL, NULL, &retry), ERR_RATE_LIMITED);
    assert_true(retry > CARD_BLOCK_S - 60 && retry <= CARD_BLOCK_S);
    assert_int_equal(link_card(t, &a, MC_OK, CVC_OK, NULL), ERR_RATE_LIMITED);
    assert_int_equal(events_with(t, a.s.customer_id, "card_link_failed", "rate_limited"), 2);
    assert_int_equal(attempts(t, &a), CARD_CVC_MISMATCH_MAX);
    assert_int_equal(listed(t, &a), 0);
    assert_int_equal(af_mail_count(t->f, a.email, "card verification code"), 0);

    /* Only this account: another one from the same phone's address links. */
    customer(t, &b, "bea@example.com");
    assert_int_equal(link_card(t, &b, VISA_OK, CVC_OK, NULL), ERR_OK);

    /* A day later the block is over. */
    t->f->now += (int64_t)CARD_BLOCK_S * 1000;
    refresh(t, &a);
    assert_int_equal(link_card(t, &a, MC_OK, CVC_OK, NULL), ERR_OK);
}

static void test_declines_from_one_address_block_it(void **state)
{
    struct tw *t = *state;
    struct cust c[CARD_SOURCE_DECLINES_MAX + 2];
    char email[64];
    int64_t retry = 0;
    t->f->addr = "203.0.113.50";
    for (int i = 0; i < CARD_SOURCE_DECLINES_MAX + 1; i++) {
        snprintf(email, sizeof email, "mule%d@example.com", i);
        customer(t, &c[i], email);
    }
    /* A tester with many accounts, one decline each, within the hour. */
    for (int i = 0; i < CARD_SOURCE_DECLINES_MAX; i++) {
        refresh(t, &c[i]);
        char pan[17];
        pan_for(i, pan);
        assert_int_equal(link_card(t, &c[i], i % 2 ? pan : VISA_STOLEN, i % 2 ? "9071" : CVC_OK, NULL),
                         i % 2 ? ERR_INCORRECT_CVC : ERR_CARD_DECLINED);
    }
    assert_int_equal(events_with(t, c[CARD_SOURCE_DECLINES_MAX - 1].s.customer_id, "card_testing_blocked",
                                 "\"source\":\"address\""),
                     1);
    /* The next account from that address is refused with a good card. */
    struct cust *next = &c[CARD_SOURCE_DECLINES_MAX];
    refresh(t, next);
    assert_int_equal(link_ex(t, next, VISA_OK, 12, EXP_YEAR, CVC_OK, NULL, NULL, &retry), ERR_RATE_LIMITED);
    assert_true(retry > 0 && retry <= CARD_BLOCK_S);
    assert_int_equal(attempts(t, next), 0);
    /* The address of an IPv6 client is its /64: the next address in it is
     * the same source. */
    t->f->addr = "2001:db8:5:6::1";
    struct cust v6;
    customer(t, &v6, "v6@example.com");
    for (int i = 0; i < CARD_SOURCE_DECLINES_MAX; i++)
        assert_int_equal(link_card(t, &v6, VISA_STOLEN, CVC_OK, NULL), ERR_CARD_DECLINED);
    struct cust w6;
    t->f->addr = "2001:db8:5:6:ffff::9";
    customer(t, &w6, "w6@example.com");
    assert_int_equal(link_card(t, &w6, VISA_OK, CVC_OK, NULL), ERR_RATE_LIMITED);

    /* Everyone else, elsewhere, is unaffected. */
    t->f->addr = "198.51.100.99";
    refresh(t, next);
    assert_int_equal(link_card(t, next, VISA_OK, CVC_OK, NULL), ERR_OK);
}

static void test_declines_from_one_phone_block_it(void **state)
{
    struct tw *t = *state;
    struct af_phone phone;
    struct cust c[CARD_SOURCE_DECLINES_MAX + 1], other;
    char email[64], addr[CARD_SOURCE_DECLINES_MAX + 1][32];
    af_phone_new(&phone, "burner");
    /* One phone signed in to many accounts, hopping addresses. */
    for (int i = 0; i < CARD_SOURCE_DECLINES_MAX + 1; i++) {
        snprintf(addr[i], sizeof addr[i], "192.0.2.%d", 10 + i);
        t->f->addr = addr[i];
        snprintf(email, sizeof email, "burner%d@example.com", i);
        customer_on(t, &c[i], email, &phone);
        if (i < CARD_SOURCE_DECLINES_MAX)
            assert_int_equal(link_card(t, &c[i], VISA_STOLEN, CVC_OK, NULL), ERR_CARD_DECLINED);
        else
            assert_int_equal(link_card(t, &c[i], VISA_OK, CVC_OK, NULL), ERR_RATE_LIMITED);
    }
    assert_int_equal(events_with(t, c[CARD_SOURCE_DECLINES_MAX - 1].s.customer_id, "card_testing_blocked",
                                 "\"source\":\"device\""),
                     1);
    /* The same account on another phone is not that phone. */
    t->f->addr = "192.0.2.200";
    struct cust *last = &c[CARD_SOURCE_DECLINES_MAX];
    uint8_t seed[TOTP_SEED_BYTES]; /* the authenticator app stays */
    memcpy(seed, last->phone.seed, sizeof seed);
    af_phone_new(&last->phone, "own phone");
    memcpy(last->phone.seed, seed, sizeof seed);
    refresh(t, last);
    assert_int_equal(link_card(t, last, VISA_OK, CVC_OK, NULL), ERR_OK);
    customer(t, &other, "other@example.com");
    assert_int_equal(link_card(t, &other, MC_OK, CVC_OK, NULL), ERR_OK);
}

/* ---- card testers in parallel ------------------------------------------------- */

#define GUESSERS 8

struct guesser {
    struct tw *t;
    struct gw_wrap *gw;
    const struct auth_session *s;
    const char *cvc;
    enum err e;
};

/* One CVC guess on its own connection, as a wallet worker runs it. */
static void *guess(void *arg)
{
    struct guesser *g = arg;
    struct store *st = tu_open_store(g->t->f->dir);
    struct wallet_ctx w = {.a = {.st = st, .master_key = g->t->f->mk, .cfg = &g->t->f->cfg, .now = g->t->f->now,
                                 .client_addr = g->t->f->addr},
                           .gw = &g->gw->base};
    struct card_link_input in = {VISA_OK, 12, EXP_YEAR, g->cvc};
    struct card c;
    const char *bad = NULL;
    int64_t retry = 0;
    g->e = card_link_start(&w, g->s, &in, &c, &bad, &retry);
    store_close(st);
    return NULL;
}

/* A tester with many workers fires CVC guesses for one card at once: the
 * guesses still waiting for the issuer count as mismatches, so no more
 * than CARD_CVC_MISMATCH_MAX reach it, and the rest are refused. */
static void test_concurrent_cvc_guesses_are_rationed(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "mallory@example.com");
    /* A slow issuer: every guess is admitted before any is answered. */
    struct gw_wrap gw;
    gw_wrap_init(&gw, t->gw);
    gw.tokenize_delay_ms = 300;
    struct guesser g[GUESSERS];
    pthread_t th[GUESSERS];
    char cvcs[GUESSERS][5];
    for (int i = 0; i < GUESSERS; i++) {
        /* 3 digits: too short to search the database for (typed), and a
         * 4-digit guess can show up in its bytes by chance */
        snprintf(cvcs[i], sizeof cvcs[i], "%d", 900 + 11 * i);
        g[i] = (struct guesser){.t = t, .gw = &gw, .s = &a.s, .cvc = cvcs[i]};
    }
    typed(t, VISA_OK);
    for (int i = 0; i < GUESSERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, guess, &g[i]), 0);
    int cvc = 0, limited = 0;
    for (int i = 0; i < GUESSERS; i++) {
        pthread_join(th[i], NULL);
        cvc += g[i].e == ERR_INCORRECT_CVC;
        limited += g[i].e == ERR_RATE_LIMITED;
    }
    pthread_mutex_destroy(&gw.mu);
    assert_true(gw.tokenized <= CARD_CVC_MISMATCH_MAX);
    assert_int_equal(cvc, gw.tokenized);
    assert_int_equal(cvc + limited, GUESSERS);
    assert_true(attempts(t, &a) <= CARD_CVC_MISMATCH_MAX);
    /* and once they were answered, the customer is blocked for the day */
    if (cvc == CARD_CVC_MISMATCH_MAX)
        assert_int_equal(events_with(t, a.s.customer_id, "card_testing_blocked", "\"source\":\"customer\""), 1);
}

static void test_fourth_card_refused(void **state)
{
    struct tw *t = *state;
    struct cust a;
    struct card cards[CARD_MAX_ACTIVE], c;
    const char *bad = NULL;
    customer(t, &a, "aiko@example.com");
    link_active(t, &a, VISA_OK, CVC_OK, &cards[0]);
    link_active(t, &a, MC_OK, CVC_OK, &cards[1]);
    assert_int_equal(link_card(t, &a, JCB_OK, CVC_OK, &cards[2]), ERR_OK); /* pending counts too */

    assert_int_equal(link_ex(t, &a, AMEX_OK, 12, EXP_YEAR, "1234", &c, &bad, NULL), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "cards");
    assert_int_equal(events_with(t, a.s.customer_id, "card_link_failed", "limit_exceeded"), 1);
    assert_int_equal(attempts(t, &a), CARD_MAX_ACTIVE); /* refused before the issuer */
    assert_int_equal(listed(t, &a), CARD_MAX_ACTIVE);

    /* Remove one, and there is room again. */
    assert_int_equal(card_remove(W(t), &a.s, cards[0].id), ERR_OK);
    assert_int_equal(link_card(t, &a, AMEX_OK, "1234", &c), ERR_OK);
}

static void test_sixth_attempt_refused(void **state)
{
    struct tw *t = *state;
    struct cust a;
    struct card c;
    int64_t retry = 0;
    customer(t, &a, "aiko@example.com");
    int64_t first = t->f->now;
    for (int i = 0; i < CARD_ATTEMPTS_PER_DAY; i++) {
        char pan[17];
        pan_for(i, pan);
        assert_int_equal(link_card(t, &a, pan, CVC_OK, &c), ERR_OK);
        assert_int_equal(card_remove(W(t), &a.s, c.id), ERR_OK);
        t->f->now += 10 * 1000;
        af_auth(t->f, &a.g, &a.s);
    }
    assert_int_equal(link_ex(t, &a, VISA_OK, 12, EXP_YEAR, CVC_OK, &c, NULL, &retry), ERR_RATE_LIMITED);
    /* Retry-After: when the first attempt leaves the 24-hour window. */
    int64_t due = (first + 24LL * 3600 * 1000 - t->f->now) / 1000;
    assert_true(retry >= due && retry <= due + 2);
    assert_int_equal(events_with(t, a.s.customer_id, "card_link_failed", "\"param\":\"attempts\""), 1);
    assert_int_equal(attempts(t, &a), CARD_ATTEMPTS_PER_DAY);

    /* One more second than the answer said, and it works. */
    t->f->now += (retry + 1) * 1000;
    refresh(t, &a);
    assert_int_equal(link_card(t, &a, VISA_OK, CVC_OK, NULL), ERR_OK);
}

static void test_same_card_on_a_third_account(void **state)
{
    struct tw *t = *state;
    struct cust a, b, c;
    struct card card;
    customer(t, &a, "aiko@example.com");
    customer(t, &b, "ben@example.com");
    customer(t, &c, "chika@example.com");
    link_active(t, &a, VISA_OK, CVC_OK, &card);
    assert_int_equal(link_card(t, &b, VISA_OK, CVC_OK, NULL), ERR_OK); /* pending counts */

    assert_int_equal(link_card(t, &c, VISA_OK, CVC_OK, NULL), ERR_CARD_UNAVAILABLE);
    assert_int_equal(events_with(t, c.s.customer_id, "card_link_failed", "card_unavailable"), 1);
    /* Refused before the issuer is asked: a wrong CVC gets the same answer,
     * so the refusal does not tell a tester which CVC is right; the
     * attempt still counts, as no mismatch. */
    assert_int_equal(link_card(t, &c, VISA_OK, "9071", NULL), ERR_CARD_UNAVAILABLE);
    assert_int_equal(attempts(t, &c), 2);
    int cvc = -1;
    assert_int_equal(t->f->st->ops->card_attempt_count(t->f->st, c.s.customer_id, 0, NULL, CARD_ATTEMPT_CVC, 0, &cvc),
                     ERR_OK);
    assert_int_equal(cvc, 0);
    assert_int_equal(events_with(t, c.s.customer_id, "card_link_failed", "incorrect_cvc"), 0);
    assert_int_equal(listed(t, &c), 0);
    assert_int_equal(af_mail_count(t->f, c.email, "card verification code"), 0);
    /* Removing it from an account does not free the place: the card was
     * on it (a tester cannot cycle a stolen card through accounts). */
    assert_int_equal(card_remove(W(t), &a.s, card.id), ERR_OK);
    assert_int_equal(link_card(t, &c, VISA_OK, CVC_OK, NULL), ERR_CARD_UNAVAILABLE);
    /* Its owners may link it again; the third account any other card. */
    assert_int_equal(link_card(t, &a, VISA_OK, CVC_OK, NULL), ERR_OK);
    assert_int_equal(link_card(t, &c, MC_OK, CVC_OK, NULL), ERR_OK);
}

static void test_someone_elses_card(void **state)
{
    struct tw *t = *state;
    struct cust a, m;
    struct card c, out, got;
    char otp[16];
    customer(t, &a, "aiko@example.com");
    customer(t, &m, "mallory@example.com");
    assert_int_equal(link_card(t, &a, VISA_OK, CVC_OK, &c), ERR_OK);
    issuer_code(t, &a, otp);

    /* Mallory has the id and even the code: the card is not hers. */
    assert_int_equal(card_link_confirm(W(t), &m.s, c.id, otp, &out), ERR_CARD_NOT_FOUND);
    assert_int_equal(card_remove(W(t), &m.s, c.id), ERR_CARD_NOT_FOUND);
    assert_int_equal(card_get(W(t), m.s.customer_id, c.id, &got), ERR_CARD_NOT_FOUND);
    assert_int_equal(listed(t, &m), 0);

    /* Nothing happened to it. */
    assert_int_equal(card_link_confirm(W(t), &a.s, c.id, otp, &out), ERR_OK);
    assert_int_equal(out.status, CARD_ACTIVE);
}

/* What changes the account's address in the store (for the hook below). */
struct readdress {
    struct store *st;
    int64_t customer_id;
    const char *to;
};

static void readdress(void *ctx)
{
    struct readdress *r = ctx;
    assert_int_equal(r->st->ops->customer_set_email(r->st, r->customer_id, r->to), ERR_OK);
}

/* The issuer is told an address when its challenge opens and sends its
 * code there (or to the card's holder).  The account's address changing
 * while the issuer answers (an e-mail change confirmed by whoever holds the
 * session) must not redirect that code to the new address, which the
 * issuer never saw. */
static void test_the_code_goes_where_the_issuer_was_told(void **state)
{
    struct tw *t = *state;
    struct cust a;
    struct card c;
    customer(t, &a, "aiko@example.com");
    struct gw_wrap gw;
    gw_wrap_init(&gw, t->gw);
    struct readdress r = {t->f->st, a.s.customer_id, "mallory@example.net"};
    gw.opened = readdress;
    gw.opened_ctx = &r;
    typed(t, "4111111111111111");
    struct card_link_input in = {"4111111111111111", 12, EXP_YEAR, CVC_OK};
    const char *bad = NULL;
    int64_t retry = 0;
    assert_int_equal(card_link_start(wf_ctx(&t->w, t->f, NULL, &gw.base), &a.s, &in, &c, &bad, &retry), ERR_OK);
    pthread_mutex_destroy(&gw.mu);
    assert_int_equal(af_mail_count(t->f, "mallory@example.net", "card verification code"), 0);
    assert_int_equal(af_mail_count(t->f, a.email, "card verification code"), 1);
}

static void test_revoked_session_cannot_link(void **state)
{
    struct tw *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    /* Signed out everywhere after the handler authenticated the request. */
    assert_int_equal(session_revoke_all(af_ctx(t->f), &a.s), ERR_OK);
    assert_int_equal(link_card(t, &a, VISA_OK, CVC_OK, NULL), ERR_UNAUTHENTICATED);
    assert_int_equal(attempts(t, &a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_link_and_confirm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_code_then_right, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_wrong_codes_fail_the_card, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issuer_refuses_3ds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenge_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_card, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_requirements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_input_costs_no_attempt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issuer_declines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cvc_guessing_blocks_the_customer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_declines_from_one_address_block_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_declines_from_one_phone_block_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_cvc_guesses_are_rationed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fourth_card_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sixth_attempt_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_card_on_a_third_account, setup, teardown),
        cmocka_unit_test_setup_teardown(test_someone_elses_card, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_code_goes_where_the_issuer_was_told, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_session_cannot_link, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
