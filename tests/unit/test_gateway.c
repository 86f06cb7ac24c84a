/* test_gateway.c: the card number checks and the built-in test processor
 * (wallet/gateway.h, docs/test-cards.md): every test card does what the
 * document promises, money operations are idempotent, 3-D Secure challenges
 * run out of tries and time, the vault survives a restart and never holds a
 * card number. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "testutil.h"
#include "util/money.h"
#include "wallet/gateway.h"
#include "wallet/gateway_test.h"

#define VISA "4242424242424242"
#define MASTERCARD "5555555555554444"
#define JCB "3530111333300000"
#define AMEX "378282246310005"
#define STOLEN "4000000000009979"
#define EXPIRED "4000000000000069"
#define CVC_FAIL "4000000000000127"
#define NO_FUNDS "4000000000009995"
#define TDS_EVERY "4000002760003184"
#define TDS_FAILS "4000008400001629"
#define PROC_ERROR "4000000000000119"
#define UNLISTED "4111111111111111" /* works like VISA, but is somebody's own card */

/* The processor's clock: 2030-06-15T00:00:00Z unless a test moves it. */
struct clock {
    int64_t now;
};

static int64_t clock_now(void *ctx)
{
    return ((struct clock *)ctx)->now;
}

static int64_t utc_ms(int y, int mon, int d)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d};
    return (int64_t)timegm(&tm) * 1000;
}

struct fx {
    char *dir;
    char path[600];
    struct clock clock;
    struct gateway *g;
};

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_tempdir();
    tu_path(f->path, sizeof f->path, f->dir, "test-acquirer.db");
    f->clock.now = utc_ms(2030, 6, 15);
    assert_int_equal(gateway_test_open_clock(f->path, clock_now, &f->clock, &f->g), ERR_OK);
    return f;
}

static void fx_reopen(struct fx *f)
{
    gateway_close(f->g);
    f->g = NULL;
    assert_int_equal(gateway_test_open_clock(f->path, clock_now, &f->clock, &f->g), ERR_OK);
}

static void fx_free(struct fx *f)
{
    gateway_close(f->g);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
}

static enum err tokenize_exp(struct fx *f, const char *pan, const char *cvc, int month, int year,
                             struct gateway_card *out)
{
    struct gateway_card_input in = {.pan = pan, .exp_month = month, .exp_year = year, .cvc = cvc};
    return f->g->ops->tokenize(f->g, &in, out);
}

static enum err tokenize(struct fx *f, const char *pan, const char *cvc, struct gateway_card *out)
{
    return tokenize_exp(f, pan, cvc, 12, 2032, out);
}

/* Tokenize with the right CVC, or fail the test. */
static void token_of(struct fx *f, const char *pan, struct gateway_card *out)
{
    assert_int_equal(tokenize(f, pan, strlen(pan) == 15 ? "1234" : "123", out), ERR_OK);
}

static enum err authorize(struct fx *f, const char *token, int64_t amount, const char *key, struct gateway_auth *out)
{
    return f->g->ops->authorize(f->g, token, amount, key, out);
}

/* A wrong code for a challenge whose code is otp. */
static const char *wrong_code(const char *otp)
{
    return strcmp(otp, "000000") == 0 ? "999999" : "000000";
}

/* ---- card numbers ---- */

static void pan_validity_and_brand_follow_luhn_and_iin_ranges(void **state)
{
    (void)state;
    static const struct {
        const char *pan;
        bool valid;
        const char *brand;
    } cases[] = {
        /* every documented test card is a valid number of its brand */
        {VISA, true, "visa"},
        {MASTERCARD, true, "mastercard"},
        {JCB, true, "jcb"},
        {AMEX, true, "amex"},
        {STOLEN, true, "visa"},
        {EXPIRED, true, "visa"},
        {CVC_FAIL, true, "visa"},
        {NO_FUNDS, true, "visa"},
        {TDS_EVERY, true, "visa"},
        {TDS_FAILS, true, "visa"},
        {PROC_ERROR, true, "visa"},
        {"2223003122003222", true, "mastercard"},
        {"36227206271667", true, "diners"},
        {"6011111111111117", true, "discover"},
        {"6200000000000005", true, "unionpay"},
        {"4222222222222", true, "visa"},       /* 13 digits */
        {"4000000000000000006", true, "visa"}, /* 19 digits */
        {"9000000000001", true, "unknown"},
        /* Luhn failures: one digit off, two digits swapped */
        {"4242424242424241", false, "visa"},
        {"4242424242424224", false, "visa"},
        /* malformed: never valid, never a brand */
        {"", false, "unknown"},
        {"4242 4242 4242 4242", false, "unknown"},
        {"4242-4242-4242-4242", false, "unknown"},
        {"424242424242424a", false, "unknown"},
        {"abcdefghijklmnop", false, "unknown"},
        {" 4242424242424242", false, "unknown"},
        {"4242424242424242 ", false, "unknown"},
        {"+4242424242424242", false, "unknown"},
        {"00000000000", false, "unknown"},          /* 11 digits (Luhn-valid) */
        {"42424242424", false, "unknown"},          /* 11 digits */
        {"00000000000000000000", false, "unknown"}, /* 20 digits (Luhn-valid) */
        {"42424242424242424242", false, "unknown"}, /* 20 digits */
        {"4242424242424242\n", false, "unknown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (card_pan_valid(cases[i].pan) != cases[i].valid || strcmp(card_brand(cases[i].pan), cases[i].brand) != 0)
            fail_msg("case %zu (%s): valid %d brand %s", i, cases[i].pan, card_pan_valid(cases[i].pan),
                     card_brand(cases[i].pan));
    }
    assert_false(card_pan_valid(NULL));
    assert_string_equal(card_brand(NULL), "unknown");
    /* A 12-digit Luhn-valid number is the shortest accepted. */
    assert_true(card_pan_valid("000000000000"));
    /* A long hostile string is refused without reading past its limit. */
    char big[4096];
    memset(big, '4', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_false(card_pan_valid(big));
    assert_string_equal(card_brand(big), "unknown");
}

/* ---- tokenize ---- */

static void success_cards_tokenize_authorize_and_capture(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    static const struct {
        const char *pan, *brand, *last4;
    } ok[] = {
        {VISA, "visa", "4242"},
        {MASTERCARD, "mastercard", "4444"},
        {JCB, "jcb", "0000"},
        {AMEX, "amex", "0005"},
        {"6011111111111117", "discover", "1117"}, /* any other valid number succeeds like 4242 */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct gateway_card c;
        token_of(f, ok[i].pan, &c);
        assert_memory_equal(c.token, "tok_", 4);
        assert_string_equal(c.brand, ok[i].brand);
        assert_string_equal(c.last4, ok[i].last4);
        assert_int_equal(c.exp_month, 12);
        assert_int_equal(c.exp_year, 2032);
        struct gateway_challenge ch;
        assert_int_equal(f->g->ops->challenge_start(f->g, c.token, "a@example.com", &ch), ERR_OK);
        assert_memory_equal(ch.ref, "tds_", 4);
        assert_int_equal(strlen(ch.otp), 6);
        assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK);

        char key[32];
        snprintf(key, sizeof key, "tpu_ok_%zu", i);
        struct gateway_auth a;
        assert_int_equal(authorize(f, c.token, 5000, key, &a), ERR_OK);
        assert_int_equal(a.status, GATEWAY_AUTHORIZED);
        assert_memory_equal(a.ref, "auth_", 5);
        assert_int_equal(f->g->ops->capture(f->g, a.ref, 5000), ERR_OK);
    }
    /* Two tokenizations of one card are two tokens. */
    struct gateway_card c1, c2;
    token_of(f, VISA, &c1);
    token_of(f, VISA, &c2);
    assert_string_not_equal(c1.token, c2.token);
    fx_free(f);
}

static void declining_cards_and_wrong_details_fail_at_tokenize(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct gateway_card c;
    /* the documented declines, with the right CVC */
    assert_int_equal(tokenize(f, STOLEN, "123", &c), ERR_CARD_DECLINED);
    assert_string_equal(c.token, "");
    assert_int_equal(tokenize(f, EXPIRED, "123", &c), ERR_CARD_EXPIRED);
    assert_int_equal(tokenize(f, CVC_FAIL, "123", &c), ERR_INCORRECT_CVC);
    assert_int_equal(tokenize(f, CVC_FAIL, "1234", &c), ERR_INCORRECT_CVC);
    /* a good card with the wrong CVC: every guess but "123" fails */
    static const char *const bad_cvc[] = {"124", "000", "999", "1234", "12", "12345", "", "abc", "12a", " 123"};
    for (size_t i = 0; i < sizeof bad_cvc / sizeof bad_cvc[0]; i++)
        if (tokenize(f, VISA, bad_cvc[i], &c) != ERR_INCORRECT_CVC)
            fail_msg("CVC '%s' accepted", bad_cvc[i]);
    /* Amex takes four digits */
    assert_int_equal(tokenize(f, AMEX, "123", &c), ERR_INCORRECT_CVC);
    assert_int_equal(tokenize(f, AMEX, "1234", &c), ERR_OK);
    /* expiry: good through the last day of its month, not a day longer */
    assert_int_equal(tokenize_exp(f, VISA, "123", 6, 2030, &c), ERR_OK);
    assert_int_equal(tokenize_exp(f, VISA, "123", 5, 2030, &c), ERR_CARD_EXPIRED);
    assert_int_equal(tokenize_exp(f, VISA, "123", 12, 2029, &c), ERR_CARD_EXPIRED);
    assert_int_equal(tokenize_exp(f, VISA, "123", 13, 2031, &c), ERR_CARD_EXPIRED);
    assert_int_equal(tokenize_exp(f, VISA, "123", 0, 2031, &c), ERR_CARD_EXPIRED);
    assert_int_equal(tokenize_exp(f, VISA, "123", 1, 31, &c), ERR_CARD_EXPIRED);
    /* hostile input the caller should have refused */
    assert_int_equal(tokenize(f, "4242424242424241", "123", &c), ERR_CARD_DECLINED);
    assert_int_equal(tokenize(f, "4242 4242 4242 4242", "123", &c), ERR_CARD_DECLINED);
    assert_int_equal(tokenize(f, "", "123", &c), ERR_CARD_DECLINED);
    assert_int_equal(tokenize(f, NULL, "123", &c), ERR_INVALID_PARAM);
    assert_int_equal(tokenize(f, VISA, NULL, &c), ERR_INVALID_PARAM);
    assert_int_equal(f->g->ops->tokenize(f->g, NULL, &c), ERR_INVALID_PARAM);
    fx_free(f);
}

/* ---- authorize, capture, refund ---- */

static void insufficient_funds_and_processor_error_cards_fail_at_authorize(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct gateway_card c;
    struct gateway_challenge ch;
    struct gateway_auth a;
    /* insufficient funds: links fine, every payment is declined, and the
     * decline is what the same key answers again */
    token_of(f, NO_FUNDS, &c);
    assert_int_equal(f->g->ops->challenge_start(f->g, c.token, "a@example.com", &ch), ERR_OK);
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK);
    assert_int_equal(authorize(f, c.token, 1000, "k-funds", &a), ERR_CARD_INSUFFICIENT_FUNDS);
    assert_int_equal(authorize(f, c.token, 1000, "k-funds", &a), ERR_CARD_INSUFFICIENT_FUNDS);
    assert_int_equal(authorize(f, c.token, 1, "k-funds-2", &a), ERR_CARD_INSUFFICIENT_FUNDS);
    assert_int_equal(authorize(f, c.token, 2000, "k-funds", &a), ERR_IDEMPOTENCY_CONFLICT);

    /* processor error: links fine, authorize always fails and records
     * nothing (so even a different amount under the key is no conflict) */
    token_of(f, PROC_ERROR, &c);
    assert_int_equal(f->g->ops->challenge_start(f->g, c.token, "a@example.com", &ch), ERR_OK);
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK);
    assert_int_equal(authorize(f, c.token, 1000, "k-err", &a), ERR_GATEWAY);
    assert_int_equal(authorize(f, c.token, 1000, "k-err", &a), ERR_GATEWAY);
    assert_int_equal(authorize(f, c.token, 3000, "k-err", &a), ERR_GATEWAY);
    assert_int_equal(a.status, 0);
    fx_free(f);
}

static void authorize_is_idempotent_by_key_and_refuses_bad_input(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct gateway_card c, other;
    struct gateway_auth a, b;
    token_of(f, VISA, &c);
    token_of(f, MASTERCARD, &other);
    assert_int_equal(authorize(f, c.token, 1000, "tpu_1", &a), ERR_OK);
    assert_int_equal(authorize(f, c.token, 1000, "tpu_1", &b), ERR_OK);
    assert_int_equal(b.status, GATEWAY_AUTHORIZED);
    assert_string_equal(a.ref, b.ref);
    /* the same key for another request is refused, and changes nothing */
    assert_int_equal(authorize(f, c.token, 1001, "tpu_1", &b), ERR_IDEMPOTENCY_CONFLICT);
    assert_int_equal(authorize(f, other.token, 1000, "tpu_1", &b), ERR_IDEMPOTENCY_CONFLICT);
    assert_int_equal(authorize(f, c.token, 1000, "tpu_1", &b), ERR_OK);
    assert_string_equal(a.ref, b.ref);
    /* a new key is a new authorization */
    assert_int_equal(authorize(f, c.token, 1000, "tpu_2", &b), ERR_OK);
    assert_string_not_equal(a.ref, b.ref);

    /* hostile input */
    char long_key[IDEM_KEY_MAX + 2];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    assert_int_equal(authorize(f, c.token, 1000, long_key, &b), ERR_INVALID_PARAM);
    long_key[IDEM_KEY_MAX] = '\0'; /* exactly the maximum is fine */
    assert_int_equal(authorize(f, c.token, 1000, long_key, &b), ERR_OK);
    assert_int_equal(authorize(f, c.token, 1000, "", &b), ERR_INVALID_PARAM);
    assert_int_equal(authorize(f, c.token, 1000, NULL, &b), ERR_INVALID_PARAM);
    assert_int_equal(authorize(f, c.token, 1000, "bad\nkey", &b), ERR_INVALID_PARAM);
    assert_int_equal(authorize(f, c.token, 0, "tpu_3", &b), ERR_AMOUNT_INVALID);
    assert_int_equal(authorize(f, c.token, -500, "tpu_3", &b), ERR_AMOUNT_INVALID);
    assert_int_equal(authorize(f, c.token, MONEY_MAX + 1, "tpu_3", &b), ERR_AMOUNT_INVALID);
    assert_int_equal(authorize(f, "tok_nosuchtoken", 1000, "tpu_3", &b), ERR_NOT_FOUND);
    assert_int_equal(authorize(f, NULL, 1000, "tpu_3", &b), ERR_NOT_FOUND);
    /* none of the refusals used the key */
    assert_int_equal(authorize(f, other.token, 700, "tpu_3", &b), ERR_OK);
    assert_int_equal(b.status, GATEWAY_AUTHORIZED);
    fx_free(f);
}

static void capture_and_refund_are_idempotent_and_bounded(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct gateway_card c;
    struct gateway_auth a;
    token_of(f, VISA, &c);
    assert_int_equal(authorize(f, c.token, 1000, "tpu_cap", &a), ERR_OK);
    const struct gateway_ops *o = f->g->ops;
    /* nothing to give back before the money is taken */
    assert_int_equal(o->refund(f->g, a.ref, 100, "ref_0"), ERR_CONFLICT);
    /* never more than authorized; the refusal changes nothing */
    assert_int_equal(o->capture(f->g, a.ref, 1001), ERR_AMOUNT_INVALID);
    assert_int_equal(o->capture(f->g, a.ref, 0), ERR_AMOUNT_INVALID);
    assert_int_equal(o->capture(f->g, "auth_nosuch", 1000), ERR_NOT_FOUND);
    assert_int_equal(o->capture(f->g, NULL, 1000), ERR_NOT_FOUND);
    assert_int_equal(o->capture(f->g, a.ref, 800), ERR_OK);
    assert_int_equal(o->capture(f->g, a.ref, 800), ERR_OK); /* retried */
    assert_int_equal(o->capture(f->g, a.ref, 900), ERR_IDEMPOTENCY_CONFLICT);
    /* refunds: idempotent by key, never above the 800 captured */
    assert_int_equal(o->refund(f->g, a.ref, 300, "ref_1"), ERR_OK);
    assert_int_equal(o->refund(f->g, a.ref, 300, "ref_1"), ERR_OK); /* retried: still 300 in all */
    assert_int_equal(o->refund(f->g, a.ref, 400, "ref_1"), ERR_IDEMPOTENCY_CONFLICT);
    assert_int_equal(o->refund(f->g, a.ref, 501, "ref_2"), ERR_AMOUNT_INVALID);
    assert_int_equal(o->refund(f->g, a.ref, 500, "ref_2"), ERR_OK);
    assert_int_equal(o->refund(f->g, a.ref, 1, "ref_3"), ERR_AMOUNT_INVALID);
    assert_int_equal(o->refund(f->g, a.ref, 300, "ref_1"), ERR_OK); /* an old retry is still fine */
    /* hostile input */
    assert_int_equal(o->refund(f->g, a.ref, 1, ""), ERR_INVALID_PARAM);
    assert_int_equal(o->refund(f->g, a.ref, 1, NULL), ERR_INVALID_PARAM);
    assert_int_equal(o->refund(f->g, a.ref, -1, "ref_4"), ERR_AMOUNT_INVALID);
    assert_int_equal(o->refund(f->g, "auth_nosuch", 1, "ref_4"), ERR_NOT_FOUND);
    /* a declined authorization has nothing to capture */
    struct gateway_card poor;
    token_of(f, NO_FUNDS, &poor);
    assert_int_equal(authorize(f, poor.token, 1000, "tpu_poor", &a), ERR_CARD_INSUFFICIENT_FUNDS);
    assert_int_equal(o->capture(f->g, a.ref, 1000), ERR_CONFLICT);
    fx_free(f);
}

/* ---- 3-D Secure ---- */

static void three_d_secure_card_needs_a_challenge_on_every_payment(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    const struct gateway_ops *o = f->g->ops;
    struct gateway_card c;
    struct gateway_auth a, again;
    token_of(f, TDS_EVERY, &c);
    assert_int_equal(authorize(f, c.token, 2000, "tpu_3ds", &a), ERR_OK);
    assert_int_equal(a.status, GATEWAY_REQUIRES_ACTION);
    assert_memory_equal(a.challenge.ref, "tds_", 4);
    assert_int_equal(strlen(a.challenge.otp), 6);
    /* asked again: the same challenge, and the code is not handed out twice */
    assert_int_equal(authorize(f, c.token, 2000, "tpu_3ds", &again), ERR_OK);
    assert_int_equal(again.status, GATEWAY_REQUIRES_ACTION);
    assert_string_equal(again.ref, a.ref);
    assert_string_equal(again.challenge.ref, a.challenge.ref);
    assert_string_equal(again.challenge.otp, "");
    /* no money can be taken yet */
    assert_int_equal(o->capture(f->g, a.ref, 2000), ERR_CONFLICT);
    assert_int_equal(o->challenge_verify(f->g, a.challenge.ref, wrong_code(a.challenge.otp)), ERR_INVALID_CODE);
    assert_int_equal(o->challenge_verify(f->g, a.challenge.ref, a.challenge.otp), ERR_OK);
    assert_int_equal(authorize(f, c.token, 2000, "tpu_3ds", &again), ERR_OK);
    assert_int_equal(again.status, GATEWAY_AUTHORIZED);
    assert_string_equal(again.ref, a.ref);
    assert_int_equal(o->capture(f->g, a.ref, 2000), ERR_OK);
    /* the code was for one use */
    assert_int_equal(o->challenge_verify(f->g, a.challenge.ref, a.challenge.otp), ERR_AUTHENTICATION_FAILED);
    /* the next payment needs its own challenge */
    assert_int_equal(authorize(f, c.token, 500, "tpu_3ds_2", &again), ERR_OK);
    assert_int_equal(again.status, GATEWAY_REQUIRES_ACTION);
    assert_string_not_equal(again.challenge.ref, a.challenge.ref);
    /* the first challenge's code does not open the second */
    if (strcmp(a.challenge.otp, again.challenge.otp) != 0)
        assert_int_equal(o->challenge_verify(f->g, again.challenge.ref, a.challenge.otp), ERR_INVALID_CODE);
    fx_free(f);
}

static void three_d_secure_always_fails_for_its_card(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    const struct gateway_ops *o = f->g->ops;
    struct gateway_card c;
    struct gateway_challenge ch;
    token_of(f, TDS_FAILS, &c);
    /* linking: a code is sent, but not even that code is accepted */
    assert_int_equal(o->challenge_start(f->g, c.token, "a@example.com", &ch), ERR_OK);
    assert_int_equal(strlen(ch.otp), 6);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, ch.otp), ERR_INVALID_CODE);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, ch.otp), ERR_INVALID_CODE);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, ch.otp), ERR_AUTHENTICATION_FAILED);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, ch.otp), ERR_AUTHENTICATION_FAILED);
    /* paying: the challenge fails, and so does the authorization, for good */
    struct gateway_auth a;
    assert_int_equal(authorize(f, c.token, 1000, "tpu_fail", &a), ERR_OK);
    assert_int_equal(a.status, GATEWAY_REQUIRES_ACTION);
    for (int i = 0; i < GATEWAY_CHALLENGE_TRIES - 1; i++)
        assert_int_equal(o->challenge_verify(f->g, a.challenge.ref, a.challenge.otp), ERR_INVALID_CODE);
    assert_int_equal(o->challenge_verify(f->g, a.challenge.ref, a.challenge.otp), ERR_AUTHENTICATION_FAILED);
    assert_int_equal(authorize(f, c.token, 1000, "tpu_fail", &a), ERR_AUTHENTICATION_FAILED);
    assert_int_equal(o->capture(f->g, a.ref, 1000), ERR_CONFLICT);
    fx_free(f);
}

static void challenges_allow_three_tries_and_expire(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    const struct gateway_ops *o = f->g->ops;
    struct gateway_card c;
    struct gateway_challenge ch;
    token_of(f, VISA, &c);

    /* an attacker guessing: two wrong codes leave one try, the third ends it,
     * and then even the right code is refused */
    assert_int_equal(o->challenge_start(f->g, c.token, "a@example.com", &ch), ERR_OK);
    const char *bad = wrong_code(ch.otp);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, bad), ERR_INVALID_CODE);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, bad), ERR_INVALID_CODE);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, bad), ERR_AUTHENTICATION_FAILED);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, ch.otp), ERR_AUTHENTICATION_FAILED);

    /* malformed codes cost a try like any wrong code */
    assert_int_equal(o->challenge_start(f->g, c.token, "a@example.com", &ch), ERR_OK);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, NULL), ERR_INVALID_CODE);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, "12345a"), ERR_INVALID_CODE);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK); /* the last try is right */

    /* a minute before the time-out the code works; at the time-out it does not */
    assert_int_equal(o->challenge_start(f->g, c.token, "a@example.com", &ch), ERR_OK);
    f->clock.now += GATEWAY_CHALLENGE_TTL_MS - 60000;
    assert_int_equal(o->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK);
    assert_int_equal(o->challenge_start(f->g, c.token, "a@example.com", &ch), ERR_OK);
    f->clock.now += GATEWAY_CHALLENGE_TTL_MS;
    assert_int_equal(o->challenge_verify(f->g, ch.ref, ch.otp), ERR_AUTHENTICATION_FAILED);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, ch.otp), ERR_AUTHENTICATION_FAILED);

    /* unknown or hostile names */
    char long_ref[300];
    memset(long_ref, 'x', sizeof long_ref - 1);
    long_ref[sizeof long_ref - 1] = '\0';
    assert_int_equal(o->challenge_verify(f->g, "tds_nosuch", ch.otp), ERR_NOT_FOUND);
    assert_int_equal(o->challenge_verify(f->g, NULL, ch.otp), ERR_NOT_FOUND);
    assert_int_equal(o->challenge_verify(f->g, long_ref, ch.otp), ERR_NOT_FOUND);
    assert_int_equal(o->challenge_start(f->g, "tok_nosuch", "a@example.com", &ch), ERR_NOT_FOUND);
    assert_int_equal(o->challenge_start(f->g, NULL, "a@example.com", &ch), ERR_NOT_FOUND);
    assert_int_equal(o->challenge_start(f->g, long_ref, "a@example.com", &ch), ERR_NOT_FOUND);

    /* a payment whose challenge expired unanswered is declined */
    struct gateway_card t;
    struct gateway_auth a;
    token_of(f, TDS_EVERY, &t);
    assert_int_equal(authorize(f, t.token, 1000, "tpu_late", &a), ERR_OK);
    assert_int_equal(a.status, GATEWAY_REQUIRES_ACTION);
    ch = a.challenge;
    f->clock.now += GATEWAY_CHALLENGE_TTL_MS;
    assert_int_equal(authorize(f, t.token, 1000, "tpu_late", &a), ERR_AUTHENTICATION_FAILED);
    assert_int_equal(authorize(f, t.token, 1000, "tpu_late", &a), ERR_AUTHENTICATION_FAILED);
    assert_int_equal(o->challenge_verify(f->g, ch.ref, ch.otp), ERR_AUTHENTICATION_FAILED);
    fx_free(f);
}

static void a_card_that_expires_after_linking_is_declined(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct gateway_card c;
    struct gateway_auth a;
    assert_int_equal(tokenize_exp(f, VISA, "123", 6, 2030, &c), ERR_OK);
    f->clock.now = utc_ms(2030, 6, 30) + 86399999; /* last millisecond of June */
    assert_int_equal(authorize(f, c.token, 100, "tpu_june", &a), ERR_OK);
    f->clock.now = utc_ms(2030, 7, 1);
    assert_int_equal(authorize(f, c.token, 100, "tpu_july", &a), ERR_CARD_EXPIRED);
    assert_int_equal(authorize(f, c.token, 100, "tpu_july", &a), ERR_CARD_EXPIRED);
    fx_free(f);
}

/* ---- the vault ---- */

static void state_survives_close_and_reopen(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct gateway_card c, t;
    struct gateway_auth a, b, pending;
    token_of(f, VISA, &c);
    token_of(f, TDS_EVERY, &t);
    assert_int_equal(authorize(f, c.token, 1200, "tpu_crash", &a), ERR_OK);
    assert_int_equal(authorize(f, t.token, 800, "tpu_pending", &pending), ERR_OK);
    assert_int_equal(pending.status, GATEWAY_REQUIRES_ACTION);
    fx_reopen(f);
    /* the same key after a restart: the same authorization, nothing new */
    assert_int_equal(authorize(f, c.token, 1200, "tpu_crash", &b), ERR_OK);
    assert_int_equal(b.status, GATEWAY_AUTHORIZED);
    assert_string_equal(a.ref, b.ref);
    assert_int_equal(authorize(f, c.token, 1300, "tpu_crash", &b), ERR_IDEMPOTENCY_CONFLICT);
    assert_int_equal(f->g->ops->capture(f->g, a.ref, 1200), ERR_OK);
    assert_int_equal(f->g->ops->refund(f->g, a.ref, 1000, "r"), ERR_OK);
    /* a challenge opened before the restart still takes its code */
    assert_int_equal(f->g->ops->challenge_verify(f->g, pending.challenge.ref, pending.challenge.otp), ERR_OK);
    fx_reopen(f);
    assert_int_equal(f->g->ops->capture(f->g, a.ref, 1200), ERR_OK);
    assert_int_equal(f->g->ops->refund(f->g, a.ref, 1000, "r"), ERR_OK);
    assert_int_equal(f->g->ops->refund(f->g, a.ref, 201, "r2"), ERR_AMOUNT_INVALID);
    assert_int_equal(authorize(f, t.token, 800, "tpu_pending", &b), ERR_OK);
    assert_int_equal(b.status, GATEWAY_AUTHORIZED);
    assert_string_equal(b.ref, pending.ref);
    /* tokens too */
    assert_int_equal(authorize(f, c.token, 50, "tpu_after", &b), ERR_OK);
    fx_free(f);
}

/* Does the file at path contain needle?  A missing file contains nothing. */
static bool file_contains(const char *path, const char *needle)
{
    size_t n = 0;
    char *buf = tu_slurp(path, &n);
    if (buf == NULL)
        return false;
    bool found = memmem(buf, n, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

static void the_vault_never_holds_a_card_number_or_cvc(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    static const char *const pans[] = {VISA,     MASTERCARD, JCB,       AMEX,      STOLEN,    EXPIRED,
                                       CVC_FAIL, NO_FUNDS,   TDS_EVERY, TDS_FAILS, PROC_ERROR, UNLISTED};
    size_t n = sizeof pans / sizeof pans[0];
    for (size_t i = 0; i < n; i++) {
        struct gateway_card c;
        struct gateway_auth a;
        char key[32];
        snprintf(key, sizeof key, "tpu_v%zu", i);
        tokenize(f, pans[i], "999", &c); /* a CVC guess first */
        if (tokenize(f, pans[i], strlen(pans[i]) == 15 ? "1234" : "123", &c) == ERR_OK)
            authorize(f, c.token, 100, key, &a);
    }
    /* Look while the server runs (WAL not yet checkpointed) and after. */
    char wal[620];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            const char *last12 = pans[i] + strlen(pans[i]) - 12;
            if (file_contains(f->path, pans[i]) || file_contains(wal, pans[i]) || file_contains(f->path, last12) ||
                file_contains(wal, last12))
                fail_msg("card number %zu found in the test processor's files", i);
        }
        fx_reopen(f);
    }
    /* No column could hold one either. */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p"
                                        " WHERE m.type = 'table'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int cols = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *col = (const char *)sqlite3_column_text(st, 1);
        cols++;
        if (strstr(col, "pan") || strstr(col, "number") || strstr(col, "cvc") || strstr(col, "cvv") ||
            strstr(col, "otp") || strcmp(col, "code") == 0)
            fail_msg("column %s.%s", (const char *)sqlite3_column_text(st, 0), col);
    }
    assert_true(cols > 10);
    sqlite3_finalize(st);
    sqlite3_close(db);
    fx_free(f);
}

/* ---- card holders ---- */

/* Open a link challenge for pan from the account at email; *ch answered. */
static void link_from(struct fx *f, const char *pan, const char *email, struct gateway_challenge *ch)
{
    struct gateway_card c;
    token_of(f, pan, &c);
    assert_int_equal(f->g->ops->challenge_start(f->g, c.token, email, ch), ERR_OK);
    assert_int_equal(strlen(ch->otp), 6);
}

static void the_issuer_sends_its_code_to_the_cards_holder(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct gateway_challenge ch;
    /* The first account to pass 3-D Secure with the card is its holder. */
    link_from(f, UNLISTED, "hanako@example.com", &ch);
    assert_string_equal(ch.otp_to, "");
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK);
    /* A thief with the number and the CVC, on an account of their own: the
     * code goes to the holder, and the thief's guesses fail. */
    link_from(f, UNLISTED, "thief@example.net", &ch);
    assert_string_equal(ch.otp_to, "hanako@example.com");
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, wrong_code(ch.otp)), ERR_INVALID_CODE);
    /* The holder herself, linking again (a new phone): to her own address. */
    link_from(f, UNLISTED, "hanako@example.com", &ch);
    assert_string_equal(ch.otp_to, "");
    /* The issuer remembers across a restart. */
    fx_reopen(f);
    link_from(f, UNLISTED, "thief@example.net", &ch);
    assert_string_equal(ch.otp_to, "hanako@example.com");
    /* If the holder gives the code away, the link passes; she stays the holder. */
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK);
    link_from(f, UNLISTED, "other@example.org", &ch);
    assert_string_equal(ch.otp_to, "hanako@example.com");
    fx_free(f);
}

static void only_a_passed_challenge_makes_a_holder(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct gateway_challenge ch;
    /* Three wrong codes: no holder learned. */
    link_from(f, UNLISTED, "first@example.com", &ch);
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, wrong_code(ch.otp)), ERR_INVALID_CODE);
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, wrong_code(ch.otp)), ERR_INVALID_CODE);
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, wrong_code(ch.otp)), ERR_AUTHENTICATION_FAILED);
    link_from(f, UNLISTED, "second@example.com", &ch);
    assert_string_equal(ch.otp_to, "");
    /* A payment's challenge never makes one either (its card was linked). */
    struct gateway_card c;
    struct gateway_auth a;
    token_of(f, TDS_EVERY, &c);
    assert_int_equal(authorize(f, c.token, 1000, "k-3ds", &a), ERR_OK);
    assert_string_equal(a.challenge.otp_to, "");
    fx_free(f);
}

static void published_cards_have_no_holder(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct gateway_challenge ch;
    /* Every developer types 4242 4242 4242 4242: each gets their own code. */
    link_from(f, VISA, "dev1@example.com", &ch);
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK);
    link_from(f, VISA, "dev2@example.com", &ch);
    assert_string_equal(ch.otp_to, "");
    link_from(f, NO_FUNDS, "dev1@example.com", &ch);
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK);
    link_from(f, NO_FUNDS, "dev2@example.com", &ch);
    assert_string_equal(ch.otp_to, "");
    assert_int_equal(f->g->ops->challenge_start(f->g, "tok_x", NULL, &ch), ERR_INVALID_PARAM);
    fx_free(f);
}

/* The schema as user_version 1 wrote it (before card holders), with a
 * linked card, in place of f's file; without its challenges table when
 * broken (an upgrade that must fail half-way). */
#define V1_CHALLENGES                                                                                             \
    "CREATE TABLE challenges (ref TEXT PRIMARY KEY, token TEXT NOT NULL, auth_ref TEXT NOT NULL,"                 \
    " salt BLOB NOT NULL, code_hash BLOB NOT NULL, wrong INTEGER NOT NULL, state INTEGER NOT NULL,"               \
    " expires_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL);"

static void fx_write_v1(struct fx *f, bool broken)
{
    gateway_close(f->g);
    f->g = NULL;
    unlink(f->path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE tokens (token TEXT PRIMARY KEY, behaviour TEXT NOT NULL,"
                                  " brand TEXT NOT NULL, last4 TEXT NOT NULL, exp_month INTEGER NOT NULL,"
                                  " exp_year INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
                                  "INSERT INTO tokens VALUES ('tok_old', 'ok', 'visa', '1111', 12, 2032, 0);"
                                  "PRAGMA user_version = 1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    if (!broken)
        assert_int_equal(sqlite3_exec(db, V1_CHALLENGES, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void a_file_from_before_holders_is_upgraded(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_write_v1(f, false);
    assert_int_equal(gateway_test_open_clock(f->path, clock_now, &f->clock, &f->g), ERR_OK);
    /* The old token still works (no holder: it was made without a key)... */
    struct gateway_challenge ch;
    assert_int_equal(f->g->ops->challenge_start(f->g, "tok_old", "a@example.com", &ch), ERR_OK);
    assert_string_equal(ch.otp_to, "");
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK);
    /* ...and new links learn holders. */
    link_from(f, UNLISTED, "hanako@example.com", &ch);
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK);
    link_from(f, UNLISTED, "thief@example.net", &ch);
    assert_string_equal(ch.otp_to, "hanako@example.com");
    fx_free(f);
}

/* An upgrade that stops half-way (here: a table missing, as a crash or a
 * full disk would stop it) changes nothing, so that once the cause is
 * gone the next start upgrades the file; a half-upgraded file would stop
 * kessaid from starting for good ("duplicate column"). */
static void a_failed_upgrade_leaves_the_file_as_it_was(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_write_v1(f, true);
    sqlite3 *db = NULL;
    /* The second step fails: no challenges table to alter. */
    assert_int_equal(gateway_test_open_clock(f->path, clock_now, &f->clock, &f->g), ERR_STORE);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info('tokens') WHERE name = 'card_key'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0); /* the first step undone */
    sqlite3_finalize(st);
    /* The cause gone, the next start upgrades. */
    assert_int_equal(sqlite3_exec(db, V1_CHALLENGES, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(gateway_test_open_clock(f->path, clock_now, &f->clock, &f->g), ERR_OK);
    struct gateway_challenge ch;
    assert_int_equal(f->g->ops->challenge_start(f->g, "tok_old", "a@example.com", &ch), ERR_OK);
    assert_int_equal(f->g->ops->challenge_verify(f->g, ch.ref, ch.otp), ERR_OK);
    fx_free(f);
}

/* ---- threads ---- */

#define THREADS 8

struct racer {
    struct gateway *g;
    const char *token;
    int i;
    enum err same_err, own_err;
    struct gateway_auth same, own;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    char key[32];
    snprintf(key, sizeof key, "own-%d", r->i);
    r->same_err = r->g->ops->authorize(r->g, r->token, 4000, "shared", &r->same);
    r->own_err = r->g->ops->authorize(r->g, r->token, 100 + r->i, key, &r->own);
    return NULL;
}

static void concurrent_callers_share_one_authorization_per_key(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct gateway_card c;
    token_of(f, VISA, &c);
    struct racer r[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        r[i] = (struct racer){.g = f->g, .token = c.token, .i = i};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(r[i].same_err, ERR_OK);
        assert_int_equal(r[i].own_err, ERR_OK);
        assert_string_equal(r[i].same.ref, r[0].same.ref);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(r[i].own.ref, r[j].own.ref);
    }
    fx_free(f);
}

static void opening_an_unusable_path_fails_cleanly(void **state)
{
    (void)state;
    struct gateway *g = NULL;
    assert_int_equal(gateway_test_open("/nonexistent-dir/for/sure/test-acquirer.db", &g), ERR_STORE);
    assert_null(g);
    gateway_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pan_validity_and_brand_follow_luhn_and_iin_ranges),
        cmocka_unit_test(success_cards_tokenize_authorize_and_capture),
        cmocka_unit_test(declining_cards_and_wrong_details_fail_at_tokenize),
        cmocka_unit_test(insufficient_funds_and_processor_error_cards_fail_at_authorize),
        cmocka_unit_test(authorize_is_idempotent_by_key_and_refuses_bad_input),
        cmocka_unit_test(capture_and_refund_are_idempotent_and_bounded),
        cmocka_unit_test(three_d_secure_card_needs_a_challenge_on_every_payment),
        cmocka_unit_test(three_d_secure_always_fails_for_its_card),
        cmocka_unit_test(challenges_allow_three_tries_and_expire),
        cmocka_unit_test(a_card_that_expires_after_linking_is_declined),
        cmocka_unit_test(state_survives_close_and_reopen),
        cmocka_unit_test(the_vault_never_holds_a_card_number_or_cvc),
        cmocka_unit_test(the_issuer_sends_its_code_to_the_cards_holder),
        cmocka_unit_test(only_a_passed_challenge_makes_a_holder),
        cmocka_unit_test(published_cards_have_no_holder),
        cmocka_unit_test(a_file_from_before_holders_is_upgraded),
        cmocka_unit_test(a_failed_upgrade_leaves_the_file_as_it_was),
        cmocka_unit_test(concurrent_callers_share_one_authorization_per_key),
        cmocka_unit_test(opening_an_unusable_path_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
