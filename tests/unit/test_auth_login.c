/* test_auth_login.c: the login decision from the customer's and the
 * attacker's side: second factor, device proof, lock-out, stuffing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "auth/throttle.h"
#include "util/timeutil.h"
#include "auth_fixture.h"

static void login_needs_password_second_factor_and_device(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g, g2;
    struct auth_session s;
    char totp[TOTP_DIGITS + 1], wrong[8];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);

    /* The password alone never yields a session. */
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &p, NULL, NULL, true, NULL),
                     ERR_INVALID_CREDENTIALS);
    af_totp(f, &p, totp);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(totp) + 1) % 1000000);
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &p, wrong, NULL, true, NULL),
                     ERR_INVALID_CREDENTIALS);
    /* Both factors at once is not "one of them". */
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &p, totp, "0000-0000-0000", true, NULL),
                     ERR_INVALID_CREDENTIALS);
    /* A wrong password with the right code: refused, and the code survives. */
    assert_int_equal(af_login_ex(f, "a@example.jp", "wrong password entirely", &p, totp, NULL, true, NULL),
                     ERR_INVALID_CREDENTIALS);
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &p, totp, NULL, true, &g2), ERR_OK);
    assert_int_equal(g2.scope, SESSION_SCOPE_FULL);
    assert_false(g2.new_device);
    assert_int_equal(g2.device_id, g.device_id);
    /* The same code again (a replay): refused. */
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &p, totp, NULL, true, NULL),
                     ERR_INVALID_CREDENTIALS);
    af_auth(f, &g2, &s);
    assert_int_equal(session_require(&s, SESSION_NEED_FRESH, f->now), ERR_OK);
    assert_int_equal(af_events(f, g.customer_id, "login_succeeded"), 1);
    assert_int_equal(af_events(f, g.customer_id, "login_failed"), 5);

    /* Verified but without TOTP: the right password still fails. */
    char code[8];
    struct af_phone q;
    af_phone_new(&q, "other");
    af_register(f, "b@example.jp", AF_PASSWORD, code);
    assert_int_equal(af_verify(f, "b@example.jp", code, &q, &g), ERR_OK);
    assert_int_equal(af_login_ex(f, "b@example.jp", AF_PASSWORD, &q, "123456", NULL, true, NULL),
                     ERR_INVALID_CREDENTIALS);
    af_free(f);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void unknown_address_gets_the_same_answer_and_the_same_work(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    double known = 0, unknown = 0;
    for (int i = 0; i < 3; i++) {
        double t0 = seconds();
        assert_int_equal(af_login_ex(f, "a@example.jp", "not the password at all", &p, "123456", NULL, true, NULL),
                         ERR_INVALID_CREDENTIALS);
        double t1 = seconds();
        assert_int_equal(af_login_ex(f, "nobody@example.jp", "not the password at all", &p, "123456", NULL, true,
                                     NULL),
                         ERR_INVALID_CREDENTIALS);
        double t2 = seconds();
        assert_int_equal(af_login_ex(f, "not an address", "x", &p, NULL, NULL, true, NULL), ERR_INVALID_CREDENTIALS);
        known += t1 - t0;
        unknown += t2 - t1;
    }
    /* Argon2id dominates both; without the dummy hash the unknown address
     * would take a small fraction of the time. */
    assert_true(unknown > known * 0.5);
    assert_true(known > unknown * 0.5);
    af_free(f);
}

static void ten_failures_lock_the_account_for_30_minutes_and_mail_the_owner(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    char totp[TOTP_DIGITS + 1];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    /* Failures from many addresses: the lock is per account, not per source. */
    char addr[32];
    for (int i = 0; i < THROTTLE_LOCK_AFTER; i++) {
        snprintf(addr, sizeof addr, "203.0.113.%d", i + 1);
        f->addr = addr;
        assert_int_equal(af_login_ex(f, "a@example.jp", "guessed password number", &p, "000000", NULL, true, NULL),
                         ERR_INVALID_CREDENTIALS);
        assert_int_equal(af_mail_count(f, "a@example.jp", "locked"), i + 1 == THROTTLE_LOCK_AFTER);
    }
    f->addr = "198.51.100.7";
    /* The 11th attempt, with everything right, is refused. */
    assert_int_equal(af_login(f, "a@example.jp", &p, NULL), ERR_INVALID_CREDENTIALS);
    assert_int_equal(af_events(f, g.customer_id, "account_locked"), 1);
    assert_int_equal(af_mail_count(f, "a@example.jp", "locked"), 1);
    /* Still locked a minute before the end, open after 30 minutes (each
     * af_login moves the clock on 30 s for a new TOTP step). */
    f->now += THROTTLE_LOCK_MS - 120000;
    assert_int_equal(af_login(f, "a@example.jp", &p, NULL), ERR_INVALID_CREDENTIALS);
    f->now += 120000;
    assert_int_equal(af_login(f, "a@example.jp", &p, NULL), ERR_OK);
    /* Success cleared the counter: 9 more failures do not lock. */
    for (int i = 0; i < THROTTLE_LOCK_AFTER - 1; i++)
        assert_int_equal(af_login_ex(f, "a@example.jp", "guess again and again", &p, "000000", NULL, true, NULL),
                         ERR_INVALID_CREDENTIALS);
    af_totp(f, &p, totp);
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &p, totp, NULL, true, NULL), ERR_OK);
    af_free(f);
}

/* A leaked password: every try gets past it to the authenticator, three
 * codes a guess.  The lock-out alone would allow ten every 30 minutes for
 * ever; the day's wrong second factors at login are capped instead: past
 * the cap the code is not checked from any phone but the owner's own, the
 * owner hears at the first that the password is known, and the owner's
 * sign-in and password reset still work. */
static void a_leaked_password_buys_25_guesses_a_day(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, thief;
    struct auth_grant g;
    char totp[TOTP_DIGITS + 1], wrong[8];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    af_phone_new(&thief, "thief's phone");
    for (int i = 0; i < MFA_GUESSES_PER_DAY; i++) {
        if (i > 0 && i % THROTTLE_LOCK_AFTER == 0)
            f->now += THROTTLE_LOCK_MS + 1000; /* sits out each lock */
        af_totp(f, &p, totp);
        snprintf(wrong, sizeof wrong, "%06d", (atoi(totp) + 500 + i) % 1000000);
        assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &thief, wrong, NULL, true, NULL),
                         ERR_INVALID_CREDENTIALS);
    }
    assert_int_equal(af_events(f, g.customer_id, "login_mfa_failed"), MFA_GUESSES_PER_DAY);
    assert_int_equal(af_mail_count(f, "a@example.jp", "password was used with a wrong code"), 1);
    /* Out of guesses: from the thief's phone even the right code is not
     * looked at (nor spent)... */
    f->now += THROTTLE_LOCK_MS + 1000;
    af_totp(f, &p, totp);
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &thief, totp, NULL, true, NULL),
                     ERR_INVALID_CREDENTIALS);
    assert_int_equal(af_events_with(f, g.customer_id, "login_failed", "second_factor_guesses"), 1);
    assert_int_equal(af_events(f, g.customer_id, "login_mfa_failed"), MFA_GUESSES_PER_DAY);
    /* ...while the owner's own phone signs in, and the owner's reset (a
     * budget of its own) is untouched. */
    f->now += TOTP_STEP_SECONDS * 1000;
    assert_int_equal(af_login(f, "a@example.jp", &p, NULL), ERR_OK);
    assert_int_equal(af_events(f, g.customer_id, "mfa_failed"), 0);
    /* A day after the first guess, any phone may try again. */
    f->now += TIME_DAY_MS;
    af_totp(f, &p, totp);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(totp) + 7) % 1000000);
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &thief, wrong, NULL, true, NULL),
                     ERR_INVALID_CREDENTIALS);
    assert_int_equal(af_events_with(f, g.customer_id, "login_failed", "second_factor_guesses"), 1);
    af_free(f);
}

static void count_wake(void *ctx) { (*(int *)ctx)++; }

/* The 10th failed login locks the account and mails the owner.  Delivered
 * inside the login, that mail would make the 10th answer slower than the
 * others and tell the guesser that the lock has started (so: that the
 * address has an account).  Login, and every other call that answers
 * someone not signed in, leaves its mail queued and wakes the mail thread
 * (here a counter; af_deliver plays the thread's round). */
static void calls_answering_strangers_leave_their_mail_to_the_mail_thread(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, q;
    struct auth_grant g;
    char totp[TOTP_DIGITS + 1], why[256];
    const char *bad = NULL;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    int wakes = 0;
    f->wake = (struct notify_wake){count_wake, &wakes};
    for (int i = 0; i < THROTTLE_LOCK_AFTER; i++) {
        af_totp(f, &p, totp);
        assert_int_equal(af_login_ex(f, "a@example.jp", "not the password at all", &p, totp, NULL, true, NULL),
                         ERR_INVALID_CREDENTIALS);
    }
    assert_int_equal(wakes, THROTTLE_LOCK_AFTER);
    assert_int_equal(af_events(f, g.customer_id, "account_locked"), 1);
    assert_int_equal(af_mail_count(f, "a@example.jp", "locked"), 0); /* queued, not delivered */
    af_deliver(f);
    assert_int_equal(af_mail_count(f, "a@example.jp", "locked"), 1);

    /* A new device's notice. */
    f->now += THROTTLE_LOCK_MS;
    af_phone_new(&q, "tablet");
    memcpy(q.seed, p.seed, sizeof q.seed);
    assert_int_equal(af_login(f, "a@example.jp", &q, NULL), ERR_OK);
    assert_int_equal(af_mail_count(f, "a@example.jp", "New sign-in"), 0);
    af_deliver(f);
    assert_int_equal(af_mail_count(f, "a@example.jp", "New sign-in"), 1);

    /* A reset token, a registration's code, a code resent. */
    wakes = 0;
    assert_int_equal(reset_request(af_ctx(f), "a@example.jp"), ERR_OK);
    af_secret(f, "another fine passphrase");
    assert_int_equal(customer_register(af_ctx(f), "b@example.jp", "another fine passphrase", &bad, why, sizeof why),
                     ERR_OK);
    assert_int_equal(customer_resend(af_ctx(f), "b@example.jp"), ERR_OK);
    assert_int_equal(wakes, 3);
    assert_int_equal(af_mail_total(f), 2); /* only the lock-out and new-device notices */
    af_deliver(f);
    assert_int_equal(af_mail_count(f, "a@example.jp", "Reset your"), 1);
    assert_int_equal(af_mail_count(f, "b@example.jp", "verification code"), 2);
    af_free(f);
}

/* The longest address there can be, of characters that each take 3 bytes
 * in the otpauth URI: registration, TOTP enrolment (the URI) and login all
 * work (enrolment used to fail: the URI did not fit its buffer). */
static void the_longest_address_of_special_characters_enrols_and_logs_in(void **state)
{
    (void)state;
    static const char special[] = "!#$%&'*+/=?^`{|}";
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    char addr[EMAIL_MAX + 1];
    size_t local = EMAIL_MAX - strlen("@x.jp");
    for (size_t i = 0; i < local; i++)
        addr[i] = special[i % (sizeof special - 1)];
    snprintf(addr + local, sizeof addr - local, "@x.jp");
    af_phone_new(&p, "phone");
    af_customer(f, addr, &p, &g, NULL); /* enrols TOTP from the URI */
    assert_int_equal(af_login(f, addr, &p, &g), ERR_OK);
    af_free(f);
}

static void device_proof_bad_signature_reused_or_expired_challenge(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, thief;
    struct auth_grant g;
    char totp[TOTP_DIGITS + 1], ch[LOGIN_CHALLENGE_BUF], sig[100];
    int64_t exp = 0, retry = 0;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    af_totp(f, &p, totp);
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &p, totp, NULL, false, NULL),
                     ERR_INVALID_CREDENTIALS);
    /* A signature by another key over the right challenge. */
    af_phone_new(&thief, "thief");
    assert_int_equal(device_challenge_new(af_ctx(f), ch, &exp), ERR_OK);
    assert_int_equal(exp, f->now + LOGIN_CHALLENGE_TTL_MS);
    af_sign(&thief, ch, sig);
    af_totp(f, &p, totp);
    struct login_input in = {"a@example.jp", AF_PASSWORD, totp, NULL, p.pub, p.name, ch, sig};
    assert_int_equal(login_attempt(af_ctx(f), &in, &g, &retry), ERR_INVALID_CREDENTIALS);
    /* The right signature, but the challenge was consumed by that attempt. */
    af_sign(&p, ch, sig);
    assert_int_equal(login_attempt(af_ctx(f), &in, &g, &retry), ERR_INVALID_CREDENTIALS);
    /* A fresh challenge used after 2 minutes. */
    assert_int_equal(device_challenge_new(af_ctx(f), ch, &exp), ERR_OK);
    af_sign(&p, ch, sig);
    f->now += LOGIN_CHALLENGE_TTL_MS;
    af_totp(f, &p, totp);
    assert_int_equal(login_attempt(af_ctx(f), &in, &g, &retry), ERR_INVALID_CREDENTIALS);
    /* A challenge that was never issued. */
    char forged[LOGIN_CHALLENGE_BUF];
    secret_new_token(forged);
    af_sign(&p, forged, sig);
    in.challenge = forged;
    af_totp(f, &p, totp);
    assert_int_equal(login_attempt(af_ctx(f), &in, &g, &retry), ERR_INVALID_CREDENTIALS);
    /* NULLs everywhere: refused, no crash. */
    struct login_input empty = {0};
    assert_int_equal(login_attempt(af_ctx(f), &empty, &g, &retry), ERR_INVALID_CREDENTIALS);
    af_free(f);
}

static void new_device_is_notified_and_starts_its_cool_down(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, q;
    struct auth_grant g, g2;
    struct auth_session s;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    af_phone_new(&q, "Taro's new iPhone");
    memcpy(q.seed, p.seed, sizeof q.seed);
    f->addr = "192.0.2.44";
    assert_int_equal(af_login(f, "a@example.jp", &q, &g2), ERR_OK);
    assert_true(g2.new_device);
    assert_int_not_equal(g2.device_id, g.device_id);
    char body[4096];
    assert_int_equal(af_mail(f, "a@example.jp", "New sign-in", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "Taro's new iPhone"));
    assert_non_null(strstr(body, "192.0.2.44"));
    af_auth(f, &g2, &s);
    assert_int_equal(s.device_new_until_ms, f->now + f->cfg.new_device_cooldown_s * 1000);
    assert_int_equal(af_events(f, g.customer_id, "new_device"), 1);
    /* The second time it is known: no mail. */
    assert_int_equal(af_login(f, "a@example.jp", &q, &g2), ERR_OK);
    assert_false(g2.new_device);
    assert_int_equal(af_mail_count(f, "a@example.jp", "New sign-in"), 0);
    af_free(f);
}

/* A thief who has the password and a code names the phone so that the
 * owner's "new sign-in" mail seems to be about the owner's own phone: a
 * right-to-left override turns "enohPi s'neB" into "Ben's iPhone".  The
 * name is not shown (the device is "unnamed device"). */
static void a_device_name_cannot_disguise_the_new_sign_in(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, thief;
    struct auth_grant g, g2;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    af_phone_new(&thief, "\xe2\x80\xae" "enohPi s'neB");
    memcpy(thief.seed, p.seed, sizeof thief.seed);
    assert_int_equal(af_login(f, "a@example.jp", &thief, &g2), ERR_OK);
    char body[4096];
    assert_int_equal(af_mail(f, "a@example.jp", "New sign-in", true, body, sizeof body), 1);
    assert_null(strstr(body, "enohPi"));
    assert_null(strstr(body, "\xe2\x80\xae"));
    assert_non_null(strstr(body, "unnamed device"));
    af_free(f);
}

static void recovery_code_logs_in_once(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, codes);
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &p, NULL, codes[4], true, NULL), ERR_OK);
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &p, NULL, codes[4], true, NULL),
                     ERR_INVALID_CREDENTIALS);
    /* A wrong password does not burn a recovery code. */
    assert_int_equal(af_login_ex(f, "a@example.jp", "not my password at all", &p, NULL, codes[5], true, NULL),
                     ERR_INVALID_CREDENTIALS);
    assert_int_equal(af_login_ex(f, "a@example.jp", AF_PASSWORD, &p, NULL, codes[5], true, NULL), ERR_OK);
    /* The owner hears of each code used, and of none that was refused. */
    char body[2048];
    assert_int_equal(af_mail_count(f, "a@example.jp", "A recovery code of your kessai account was used"), 2);
    assert_int_equal(af_mail(f, "a@example.jp", "recovery code", true, body, sizeof body), 1);
    assert_true(strstr(body, "9 codes are left") || strstr(body, "8 codes are left"));
    af_free(f);
}

static void credential_stuffing_blocks_the_source_for_an_hour(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, bot;
    struct auth_grant g;
    int64_t retry = 0;
    af_phone_new(&p, "phone");
    af_customer(f, "victim@example.jp", &p, &g, NULL);
    af_phone_new(&bot, "bot");
    f->addr = "203.0.113.200";
    char email[64];
    for (int i = 0; i < THROTTLE_STUFFING_EMAILS; i++) {
        snprintf(email, sizeof email, "leaked%d@example.jp", i);
        assert_int_equal(af_login_ex(f, email, "leaked password one", &bot, "123456", NULL, true, NULL),
                         ERR_INVALID_CREDENTIALS);
    }
    /* Now even the victim's right credentials from that address are refused. */
    assert_int_equal(af_login(f, "victim@example.jp", &p, NULL), ERR_RATE_LIMITED);
    assert_int_equal(throttle_check(af_ctx(f), NULL, &retry), ERR_RATE_LIMITED);
    assert_true(retry > 3500 && retry <= 3600);
    assert_int_equal(af_events(f, 0, "credential_stuffing_blocked"), 2); /* the address and the bot's key */
    /* Another address is unaffected. */
    f->addr = "198.51.100.7";
    assert_int_equal(af_login(f, "victim@example.jp", &p, NULL), ERR_OK);
    /* The bot's key is blocked from any address. */
    f->addr = "192.0.2.1";
    assert_int_equal(af_login_ex(f, "victim@example.jp", AF_PASSWORD, &bot, "123456", NULL, true, NULL),
                     ERR_RATE_LIMITED);
    /* Stored: a new connection (another node) sees it. */
    char path[600];
    struct store *other = NULL;
    tu_path(path, sizeof path, f->dir, "kessai.db");
    assert_int_equal(store_open_sqlite(path, &other), ERR_OK);
    struct auth_ctx c2 = *af_ctx(f);
    c2.st = other;
    c2.client_addr = "203.0.113.200";
    assert_int_equal(throttle_check(&c2, NULL, &retry), ERR_RATE_LIMITED);
    store_close(other);
    /* One hour later the address may try again. */
    f->now += THROTTLE_BLOCK_MS;
    f->addr = "203.0.113.200";
    assert_int_equal(af_login(f, "victim@example.jp", &p, NULL), ERR_OK);
    /* Four distinct addresses (one tried twice) do not block. */
    f->addr = "203.0.113.201";
    for (int i = 0; i < THROTTLE_STUFFING_EMAILS; i++) {
        snprintf(email, sizeof email, "other%d@example.jp", i % (THROTTLE_STUFFING_EMAILS - 1));
        assert_int_equal(af_login_ex(f, email, "leaked password two", &p, "123456", NULL, true, NULL),
                         ERR_INVALID_CREDENTIALS);
    }
    assert_int_equal(throttle_check(af_ctx(f), NULL, &retry), ERR_OK);

    /* A stranger naming the victim's phone key (a public key is no secret)
     * without its private key, from five networks: the addresses count,
     * the key does not, and the owner's phone still signs in. */
    for (int i = 0; i < THROTTLE_STUFFING_EMAILS; i++) {
        snprintf(email, sizeof email, "spoof%d@example.jp", i);
        char addr[32];
        snprintf(addr, sizeof addr, "2001:db8:%d::1", i + 1);
        f->addr = addr;
        assert_int_equal(af_login_ex(f, email, "leaked password three", &p, "123456", NULL, false, NULL),
                         ERR_INVALID_CREDENTIALS);
    }
    f->addr = "198.51.100.8";
    assert_int_equal(throttle_check(af_ctx(f), p.pub, &retry), ERR_OK);
    assert_int_equal(af_login(f, "victim@example.jp", &p, NULL), ERR_OK);
    af_free(f);
}

/* Regression: the stuffing counter and block were keyed by the full IPv6
 * address, so a bot rotating through its own /64 (2^64 addresses) was never
 * blocked.  One /64 is one source, and IPv4-mapped is its IPv4 address. */
static void credential_stuffing_counts_an_ipv6_64_as_one_source(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, bot;
    struct auth_grant g;
    int64_t retry = 0;
    char email[64], addr[64];
    af_phone_new(&p, "phone");
    af_customer(f, "victim@example.jp", &p, &g, NULL);
    for (int i = 0; i < THROTTLE_STUFFING_EMAILS; i++) {
        af_phone_new(&bot, "bot"); /* a fresh key each time, as a bot would */
        snprintf(addr, sizeof addr, "2001:db8:1:2:%x::%x", i + 1, 7 * i + 3);
        f->addr = addr;
        snprintf(email, sizeof email, "leaked%d@example.jp", i);
        assert_int_equal(af_login_ex(f, email, "leaked password one", &bot, "123456", NULL, true, NULL),
                         ERR_INVALID_CREDENTIALS);
    }
    /* Any other address of that /64 is blocked, in any spelling. */
    f->addr = "2001:db8:1:2:ffff:ffff:ffff:fffe";
    assert_int_equal(throttle_check(af_ctx(f), NULL, &retry), ERR_RATE_LIMITED);
    f->addr = "2001:0DB8:0001:0002:0:0:0:1";
    assert_int_equal(af_login(f, "victim@example.jp", &p, NULL), ERR_RATE_LIMITED);
    /* The neighbouring /64 is not. */
    f->addr = "2001:db8:1:3::1";
    assert_int_equal(throttle_check(af_ctx(f), NULL, &retry), ERR_OK);
    assert_int_equal(af_login(f, "victim@example.jp", &p, NULL), ERR_OK);
    /* IPv4-mapped and plain IPv4 are one source. */
    for (int i = 0; i < THROTTLE_STUFFING_EMAILS; i++) {
        af_phone_new(&bot, "bot");
        f->addr = i % 2 ? "::ffff:203.0.113.9" : "203.0.113.9";
        snprintf(email, sizeof email, "other%d@example.jp", i);
        assert_int_equal(af_login_ex(f, email, "leaked password two", &bot, "123456", NULL, true, NULL),
                         ERR_INVALID_CREDENTIALS);
    }
    f->addr = "203.0.113.9";
    assert_int_equal(throttle_check(af_ctx(f), NULL, &retry), ERR_RATE_LIMITED);
    f->addr = "::ffff:203.0.113.9";
    assert_int_equal(throttle_check(af_ctx(f), NULL, &retry), ERR_RATE_LIMITED);
    af_free(f);
}

/* Regression: login verified the password (Argon2id, outside any
 * transaction) against the hash read before, and did not notice that a reset
 * or change had replaced that hash by the time its transaction began: the
 * old password still logged in once.  The racing change is injected at the
 * moment login begins its transaction. */
static const struct store_ops *race_real_ops;
static int64_t race_customer;
static char race_new_hash[AUTH_PASSWORD_HASH_MAX];

static enum err begin_after_a_password_change(struct store *st)
{
    struct customer c;
    st->ops = race_real_ops; /* once */
    assert_int_equal(st->ops->customer_get(st, race_customer, &c), ERR_OK);
    memcpy(c.password_hash, race_new_hash, sizeof c.password_hash);
    assert_int_equal(st->ops->customer_update(st, &c), ERR_OK);
    return st->ops->begin(st);
}

static void a_password_replaced_during_the_verify_does_not_log_in(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g, out;
    char ch[LOGIN_CHALLENGE_BUF], sig[100], totp[TOTP_DIGITS + 1];
    int64_t exp = 0, retry = 0;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    race_customer = g.customer_id;
    af_secret(f, "a brand new passphrase");
    assert_int_equal(auth_password_hash("a brand new passphrase", race_new_hash), ERR_OK);
    assert_int_equal(device_challenge_new(af_ctx(f), ch, &exp), ERR_OK);
    af_sign(&p, ch, sig);
    af_totp(f, &p, totp);
    struct login_input in = {"a@example.jp", AF_PASSWORD, totp, NULL, p.pub, p.name, ch, sig};
    race_real_ops = f->st->ops;
    struct store_ops racing = *f->st->ops;
    racing.begin = begin_after_a_password_change;
    f->st->ops = &racing;
    assert_int_equal(login_attempt(af_ctx(f), &in, &out, &retry), ERR_INVALID_CREDENTIALS);
    assert_ptr_equal(f->st->ops, race_real_ops);
    assert_int_equal(af_events(f, g.customer_id, "login_succeeded"), 0);
    /* The new password works. */
    af_totp(f, &p, totp);
    assert_int_equal(af_login_ex(f, "a@example.jp", "a brand new passphrase", &p, totp, NULL, true, NULL), ERR_OK);
    af_free(f);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(login_needs_password_second_factor_and_device),
        cmocka_unit_test(unknown_address_gets_the_same_answer_and_the_same_work),
        cmocka_unit_test(ten_failures_lock_the_account_for_30_minutes_and_mail_the_owner),
        cmocka_unit_test(a_leaked_password_buys_25_guesses_a_day),
        cmocka_unit_test(calls_answering_strangers_leave_their_mail_to_the_mail_thread),
        cmocka_unit_test(the_longest_address_of_special_characters_enrols_and_logs_in),
        cmocka_unit_test(device_proof_bad_signature_reused_or_expired_challenge),
        cmocka_unit_test(new_device_is_notified_and_starts_its_cool_down),
        cmocka_unit_test(a_device_name_cannot_disguise_the_new_sign_in),
        cmocka_unit_test(recovery_code_logs_in_once),
        cmocka_unit_test(credential_stuffing_blocks_the_source_for_an_hour),
        cmocka_unit_test(credential_stuffing_counts_an_ipv6_64_as_one_source),
        cmocka_unit_test(a_password_replaced_during_the_verify_does_not_log_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
