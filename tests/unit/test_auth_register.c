/* test_auth_register.c: registration, e-mail verification (code, password
 * and device proof; the daily code budget; resuming an unfinished
 * enrolment), TOTP enrolment, recovery codes, the outbox, and no secret at
 * rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth_fixture.h"
#include "auth/code_budget.h"
#include "auth/email_change.h"
#include "notify/outbox.h"

static void register_refuses_weak_password_and_bad_address_and_sends_nothing(void **state)
{
    (void)state;
    struct af *f = af_new();
    const char *bad = NULL;
    char why[256] = "";
    assert_int_equal(customer_register(af_ctx(f), "hanako@example.jp", "password1234", &bad, why, sizeof why),
                     ERR_WEAK_PASSWORD);
    assert_string_equal(bad, "password");
    assert_true(strlen(why) > 0);
    assert_int_equal(customer_register(af_ctx(f), "not-an-address", AF_PASSWORD, &bad, why, sizeof why),
                     ERR_INVALID_PARAM);
    assert_string_equal(bad, "email");
    assert_int_equal(af_mail_total(f), 0);
    struct customer c;
    assert_int_equal(f->st->ops->customer_get_by_email(f->st, "hanako@example.jp", &c), ERR_NOT_FOUND);
    af_free(f);
}

static void register_taken_address_answers_the_same_and_mails_only_the_owner(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    af_phone_new(&p, "Hanako's Pixel");
    af_customer(f, "hanako@example.jp", &p, &g, NULL);
    struct customer before, after;
    assert_int_equal(f->st->ops->customer_get_by_email(f->st, "hanako@example.jp", &before), ERR_OK);
    const char *bad = NULL;
    char why[256];
    f->addr = "203.0.113.66";
    assert_int_equal(customer_register(af_ctx(f), "Hanako@Example.JP", "another long passphrase here", &bad, why,
                                       sizeof why),
                     ERR_OK);
    assert_int_equal(af_mail_count(f, "hanako@example.jp", "Someone tried to register"), 1);
    assert_int_equal(af_mail_count(f, "hanako@example.jp", "verification code"), 0);
    assert_int_equal(f->st->ops->customer_get_by_email(f->st, "hanako@example.jp", &after), ERR_OK);
    assert_string_equal(before.password_hash, after.password_hash);
    assert_true(after.email_verified && after.totp_enrolled);
    assert_true(auth_password_verify(after.password_hash, AF_PASSWORD));
    af_free(f);
}

/* A verification attempt with every field given as is (for malformed and
 * forged proofs). */
static enum err verify_raw(struct af *f, const char *email, const char *password, const char *code, const char *key,
                           const char *name, const char *challenge, const char *signature, const char **bad)
{
    struct auth_grant g;
    struct verify_input in = {email, password, code, key, name, challenge, signature};
    return customer_verify_email(af_ctx(f), &in, &g, bad);
}

static void verify_code_wrong_expired_voided_and_single_use(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    const char *bad = NULL;
    char code[8], wrong[8], ch[LOGIN_CHALLENGE_BUF], sig[100];
    int64_t exp = 0;
    af_phone_new(&p, "phone");

    /* A wrong code, then the right one: a typo does not burn the code. */
    af_register(f, "a@example.jp", AF_PASSWORD, code);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
    assert_int_equal(af_verify(f, "a@example.jp", wrong, &p, &g), ERR_INVALID_CODE);
    /* Malformed device: refused before the code is looked at (and before
     * the challenge is spent). */
    assert_int_equal(device_challenge_new(af_ctx(f), ch, &exp), ERR_OK);
    af_sign(&p, ch, sig);
    for (int i = 0; i < 6; i++)
        assert_int_equal(verify_raw(f, "a@example.jp", AF_PASSWORD, code, "bogus", p.name, ch, sig, &bad),
                         ERR_INVALID_PARAM);
    assert_string_equal(bad, "device.public_key");
    assert_int_equal(verify_raw(f, "a@example.jp", AF_PASSWORD, code, p.pub, "", ch, sig, &bad), ERR_INVALID_PARAM);
    assert_string_equal(bad, "device.name");
    assert_int_equal(verify_raw(f, "a@", AF_PASSWORD, code, p.pub, p.name, ch, sig, &bad), ERR_INVALID_PARAM);
    assert_string_equal(bad, "email");
    assert_int_equal(verify_raw(f, "a@example.jp", AF_PASSWORD, code, p.pub, p.name, ch, sig, &bad), ERR_OK);
    assert_int_equal(af_events(f, 1, "email_verify_failed"), 1);
    /* Single use. */
    assert_int_equal(af_verify(f, "a@example.jp", code, &p, &g), ERR_INVALID_CODE);

    /* 5 wrong tries void the code. */
    af_register(f, "b@example.jp", AF_PASSWORD, code);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 7) % 1000000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(af_verify(f, "b@example.jp", wrong, &p, &g), ERR_INVALID_CODE);
    assert_int_equal(af_verify(f, "b@example.jp", code, &p, &g), ERR_INVALID_CODE);

    /* Expired after 15 minutes. */
    af_register(f, "c@example.jp", AF_PASSWORD, code);
    f->now += EMAIL_CODE_TTL_MS;
    assert_int_equal(af_verify(f, "c@example.jp", code, &p, &g), ERR_INVALID_CODE);
    /* Resend: a new code, the old one void. */
    char code2[8];
    assert_int_equal(customer_resend(af_ctx(f), "c@example.jp"), ERR_OK);
    af_mail_word(f, "c@example.jp", "verification code", "code is: ", code2, sizeof code2);
    assert_int_equal(customer_resend(af_ctx(f), "nobody@example.jp"), ERR_OK);
    assert_int_equal(af_mail_count(f, "nobody@example.jp", ""), 0);
    assert_int_equal(af_verify(f, "C@example.jp", code2, &p, &g), ERR_OK);
    assert_int_equal(g.scope, SESSION_SCOPE_ENROL);
    assert_int_equal(strlen(g.session_token), 43);
    af_free(f);
}

static void verify_needs_a_fresh_proof_by_the_enrolled_device(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, thief;
    struct auth_grant g;
    const char *bad = NULL;
    char code[8], wrong[8], ch[LOGIN_CHALLENGE_BUF], sig[100];
    int64_t exp = 0;
    af_phone_new(&p, "phone");
    af_phone_new(&thief, "thief");
    af_register(f, "proof@example.jp", AF_PASSWORD, code);
    struct customer c;
    assert_int_equal(f->st->ops->customer_get_by_email(f->st, "proof@example.jp", &c), ERR_OK);

    /* No proof at all, or a corrupted signature: the same answer as a
     * wrong code. */
    assert_int_equal(device_challenge_new(af_ctx(f), ch, &exp), ERR_OK);
    assert_int_equal(verify_raw(f, "proof@example.jp", AF_PASSWORD, code, p.pub, p.name, NULL, NULL, &bad),
                     ERR_INVALID_CODE);
    assert_int_equal(af_verify_ex(f, "proof@example.jp", AF_PASSWORD, code, &p, false, &g), ERR_INVALID_CODE);
    /* Signed by another key than the one being enrolled. */
    assert_int_equal(device_challenge_new(af_ctx(f), ch, &exp), ERR_OK);
    af_sign(&thief, ch, sig);
    assert_int_equal(verify_raw(f, "proof@example.jp", AF_PASSWORD, code, p.pub, p.name, ch, sig, &bad),
                     ERR_INVALID_CODE);
    /* A proof spent on a failed attempt cannot be replayed with the right
     * code: the challenge is consumed whatever the outcome. */
    assert_int_equal(device_challenge_new(af_ctx(f), ch, &exp), ERR_OK);
    af_sign(&p, ch, sig);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
    assert_int_equal(verify_raw(f, "proof@example.jp", AF_PASSWORD, wrong, p.pub, p.name, ch, sig, &bad),
                     ERR_INVALID_CODE);
    assert_int_equal(verify_raw(f, "proof@example.jp", AF_PASSWORD, code, p.pub, p.name, ch, sig, &bad),
                     ERR_INVALID_CODE);
    assert_int_equal(af_events(f, c.id, "email_verify_failed"), 5);
    assert_int_equal(f->st->ops->customer_get(f->st, c.id, &c), ERR_OK);
    assert_false(c.email_verified);
    /* Every failure counted a try: the code is void now. */
    assert_int_equal(af_verify(f, "proof@example.jp", code, &p, &g), ERR_INVALID_CODE);

    /* With a new code and a fresh proof it works, on that device only. */
    assert_int_equal(customer_resend(af_ctx(f), "proof@example.jp"), ERR_OK);
    af_mail_word(f, "proof@example.jp", "verification code", "code is: ", code, sizeof code);
    assert_int_equal(af_verify(f, "proof@example.jp", code, &p, &g), ERR_OK);
    struct customer_device d;
    assert_int_equal(f->st->ops->device_get(f->st, g.device_id, &d), ERR_OK);
    assert_string_equal(d.public_key, p.pub);
    assert_int_equal(af_mail_count(f, "proof@example.jp", "sign-in"), 0);
    af_free(f);
}

static void squatter_cannot_make_the_owner_verify_the_squatters_password(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone victim, squatter;
    struct auth_grant g;
    const char *bad = NULL;
    char why[256], code1[8], code2[8], code3[8], guess[8];
    const char *theirs = "squatter owns this passphrase";
    af_phone_new(&victim, "victim");
    af_phone_new(&squatter, "squatter");
    af_register(f, "v@example.jp", AF_PASSWORD, code1);
    /* The squatter registers the pending address again with their own
     * password: a new code goes to the victim's mailbox. */
    f->addr = "203.0.113.66";
    af_secret(f, theirs);
    assert_int_equal(customer_register(af_ctx(f), "v@example.jp", theirs, &bad, why, sizeof why), ERR_OK);
    f->addr = "198.51.100.7";
    af_mail_word(f, "v@example.jp", "verification code", "code is: ", code2, sizeof code2);
    /* The victim uses the newest code with the victim's password: refused,
     * exactly like a wrong code, and the account stays unverified. */
    assert_int_equal(af_verify(f, "v@example.jp", code2, &victim, &g), ERR_INVALID_CODE);
    if (strcmp(code1, code2) != 0)
        assert_int_equal(af_verify(f, "v@example.jp", code1, &victim, &g), ERR_INVALID_CODE);
    /* The squatter, without the code, gets nowhere either. */
    snprintf(guess, sizeof guess, "%06d", (atoi(code2) + 3) % 1000000);
    assert_int_equal(af_verify_ex(f, "v@example.jp", theirs, guess, &squatter, true, &g), ERR_INVALID_CODE);
    struct customer c;
    assert_int_equal(f->st->ops->customer_get_by_email(f->st, "v@example.jp", &c), ERR_OK);
    assert_false(c.email_verified);
    /* Right code, wrong password counts as a try like a wrong code: with
     * two left, two more attempts void the code. */
    assert_int_equal(af_verify(f, "v@example.jp", code2, &victim, &g), ERR_INVALID_CODE);
    assert_int_equal(af_verify(f, "v@example.jp", code2, &victim, &g), ERR_INVALID_CODE);
    assert_int_equal(af_verify_ex(f, "v@example.jp", theirs, code2, &squatter, true, &g), ERR_INVALID_CODE);

    /* The victim registers again and verifies: the account has the
     * victim's password, not the squatter's. */
    af_register(f, "v@example.jp", AF_PASSWORD, code3);
    assert_int_equal(af_verify(f, "v@example.jp", code3, &victim, &g), ERR_OK);
    assert_int_equal(f->st->ops->customer_get(f->st, c.id, &c), ERR_OK);
    assert_true(c.email_verified);
    assert_true(auth_password_verify(c.password_hash, AF_PASSWORD));
    assert_false(auth_password_verify(c.password_hash, theirs));
    /* And now the squatter's registration changes nothing. */
    assert_int_equal(customer_register(af_ctx(f), "v@example.jp", theirs, &bad, why, sizeof why), ERR_OK);
    assert_int_equal(f->st->ops->customer_get(f->st, c.id, &c), ERR_OK);
    assert_true(auth_password_verify(c.password_hash, AF_PASSWORD));
    assert_int_equal(af_mail_count(f, "v@example.jp", "Someone tried to register"), 1);
    af_free(f);
}

static void registering_an_unverified_address_again_voids_the_first_code(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    char code1[8], code2[8];
    const char *second = "second passphrase for this one";
    af_phone_new(&p, "phone");
    af_register(f, "d@example.jp", AF_PASSWORD, code1);
    af_register(f, "d@example.jp", second, code2);
    if (strcmp(code1, code2) != 0)
        assert_int_equal(af_verify_ex(f, "d@example.jp", second, code1, &p, true, &g), ERR_INVALID_CODE);
    /* The first password was replaced. */
    assert_int_equal(af_verify_ex(f, "d@example.jp", AF_PASSWORD, code2, &p, true, &g), ERR_INVALID_CODE);
    assert_int_equal(af_verify_ex(f, "d@example.jp", second, code2, &p, true, &g), ERR_OK);
    af_free(f);
}

static void unknown_address_and_enrolled_account_answer_like_a_wrong_code(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    char code[8];
    af_phone_new(&p, "phone");
    assert_int_equal(af_verify(f, "nobody@example.jp", "123456", &p, &g), ERR_INVALID_CODE);
    /* Committed like a failure on a real account (one event), so the work
     * done does not tell the cases apart either. */
    assert_int_equal(af_events(f, 0, "email_verify_failed"), 1);
    assert_int_equal(af_mail_total(f), 0);

    /* An enrolled customer: a code issued before enrolment is void, and
     * resend issues none. */
    af_register(f, "e@example.jp", AF_PASSWORD, code);
    assert_int_equal(af_verify(f, "e@example.jp", code, &p, &g), ERR_OK);
    int64_t id = g.customer_id;
    assert_int_equal(customer_resend(af_ctx(f), "e@example.jp"), ERR_OK);
    af_mail_word(f, "e@example.jp", "verification code", "code is: ", code, sizeof code);
    struct auth_session s;
    char uri[TOTP_URI_MAX], totp[TOTP_DIGITS + 1], codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF];
    af_auth(f, &g, &s);
    assert_int_equal(mfa_totp_begin(af_ctx(f), &s, uri), ERR_OK);
    af_seed_from_uri(uri, p.seed);
    af_totp(f, &p, totp);
    assert_int_equal(mfa_totp_confirm(af_ctx(f), &s, totp, codes), ERR_OK);
    assert_int_equal(af_verify(f, "e@example.jp", code, &p, &g), ERR_INVALID_CODE);
    assert_int_equal(af_events(f, id, "email_verify_failed"), 1);
    assert_int_equal(customer_resend(af_ctx(f), "e@example.jp"), ERR_OK);
    assert_int_equal(af_mail_count(f, "e@example.jp", "verification code"), 0);
    af_free(f);
}

static void verified_without_totp_resumes_enrolment_with_a_new_code(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, q;
    struct auth_grant g1, g2;
    struct auth_session s;
    char code[8], wrong[8];
    af_phone_new(&p, "phone");
    af_phone_new(&q, "new phone");
    af_register(f, "r@example.jp", AF_PASSWORD, code);
    assert_int_equal(af_verify(f, "r@example.jp", code, &p, &g1), ERR_OK);
    /* The enrol session is lost (phone reset) before TOTP: login cannot
     * help, there is no second factor. */
    assert_int_equal(af_login_ex(f, "r@example.jp", AF_PASSWORD, &q, "123456", NULL, true, NULL),
                     ERR_INVALID_CREDENTIALS);
    /* Registering again does not help either: the address is verified. */
    const char *bad = NULL;
    char why[256];
    assert_int_equal(customer_register(af_ctx(f), "r@example.jp", AF_PASSWORD, &bad, why, sizeof why), ERR_OK);
    assert_int_equal(af_mail_count(f, "r@example.jp", "verification code"), 0);
    /* Resend mails a code; password, code and device proof open a new
     * enrol session, and the lost one ends. */
    assert_int_equal(customer_resend(af_ctx(f), "r@example.jp"), ERR_OK);
    af_mail_word(f, "r@example.jp", "verification code", "code is: ", code, sizeof code);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
    assert_int_equal(af_verify(f, "r@example.jp", wrong, &q, &g2), ERR_INVALID_CODE);
    assert_int_equal(af_verify_ex(f, "r@example.jp", "not the password at all", code, &q, true, &g2),
                     ERR_INVALID_CODE);
    assert_int_equal(af_verify(f, "r@example.jp", code, &q, &g2), ERR_OK);
    assert_int_equal(g2.scope, SESSION_SCOPE_ENROL);
    char did[IDS_BUF];
    assert_int_equal(session_authenticate(af_ctx(f), g1.session_token,
                                          ids_format(did, DEVICE_ID_PREFIX, g1.device_id), &s),
                     ERR_UNAUTHENTICATED);
    /* The address on file hears of the new device. */
    assert_int_equal(af_mail_count(f, "r@example.jp", "sign-in"), 1);
    assert_int_equal(af_events(f, g2.customer_id, "email_verified"), 2);
    assert_int_equal(af_events(f, g2.customer_id, "new_device"), 1);

    /* Enrolment finishes on the new session; then login works and no
     * code can be had any more. */
    char uri[TOTP_URI_MAX], totp[TOTP_DIGITS + 1], codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF];
    af_auth(f, &g2, &s);
    assert_int_equal(mfa_totp_begin(af_ctx(f), &s, uri), ERR_OK);
    af_seed_from_uri(uri, q.seed);
    af_totp(f, &q, totp);
    assert_int_equal(mfa_totp_confirm(af_ctx(f), &s, totp, codes), ERR_OK);
    assert_int_equal(af_login(f, "r@example.jp", &q, NULL), ERR_OK);
    assert_int_equal(customer_resend(af_ctx(f), "r@example.jp"), ERR_OK);
    assert_int_equal(af_mail_count(f, "r@example.jp", "verification code"), 0);
    af_assert_no_secrets_at_rest(f);
    af_free(f);
}

/* A new authenticator, set up right after a sign-in: the owner's app and
 * recovery codes stop working, the quietest way to keep an account.  Never
 * silent: the owner is mailed (a first enrolment is not such a change). */
static void a_new_authenticator_is_never_silent(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, thief;
    struct auth_grant g;
    struct auth_session s;
    af_phone_new(&p, "phone");
    af_customer(f, "t@example.jp", &p, &g, NULL);
    assert_int_equal(af_mail_count(f, "t@example.jp", "authenticator was changed"), 0);
    af_auth(f, &g, &s);
    char uri[TOTP_URI_MAX], totp[TOTP_DIGITS + 1], codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF];
    assert_int_equal(mfa_totp_begin(af_ctx(f), &s, uri), ERR_OK);
    af_phone_new(&thief, "thief");
    af_seed_from_uri(uri, thief.seed);
    af_totp(f, &thief, totp);
    assert_int_equal(mfa_totp_confirm(af_ctx(f), &s, totp, codes), ERR_OK);
    for (int i = 0; i < RECOVERY_CODE_COUNT; i++)
        af_secret(f, codes[i]);
    char body[2048];
    assert_int_equal(af_mail(f, "t@example.jp", "authenticator was changed", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "contact support"));
    af_free(f);
}

/* Someone holding the owner's unlocked phone holds its session and its
 * authenticator app, not the password.  A code from that app makes the
 * session fresh enough to pay, but not to hand over the account: a new
 * authenticator, new recovery codes or another e-mail address need a
 * sign-in (password and second factor) of the last 600 s. */
static void the_phone_alone_cannot_hand_over_the_account(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    af_phone_new(&p, "phone");
    af_customer(f, "h@example.jp", &p, &g, NULL);
    assert_int_equal(af_login(f, "h@example.jp", &p, &g), ERR_OK);
    f->now += AUTH_SIGNED_IN_MS - 60 * 1000;
    af_auth(f, &g, &s);
    f->now += 60 * 1000;
    af_auth(f, &g, &s);
    char uri[TOTP_URI_MAX], totp[TOTP_DIGITS + 1], codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF];
    int64_t fresh = 0;
    af_totp(f, &p, totp);
    assert_int_equal(mfa_verify(af_ctx(f), &s, totp, NULL, &fresh), ERR_OK);
    af_auth(f, &g, &s);
    assert_int_equal(session_require(&s, SESSION_NEED_FRESH, f->now), ERR_OK);
    assert_int_equal(mfa_totp_begin(af_ctx(f), &s, uri), ERR_SIGN_IN_REQUIRED);
    assert_int_equal(mfa_totp_confirm(af_ctx(f), &s, totp, codes), ERR_INVALID_CODE); /* nothing begun */
    assert_int_equal(mfa_recovery_regenerate(af_ctx(f), &s, codes), ERR_SIGN_IN_REQUIRED);
    char norm[EMAIL_MAX + 1];
    assert_int_equal(email_change_check(af_ctx(f), &s, "thief@example.jp", norm), ERR_SIGN_IN_REQUIRED);
    assert_int_equal(email_change_request(af_ctx(f), &s, "thief@example.jp", f->now), ERR_SIGN_IN_REQUIRED);
    assert_int_equal(af_mail_count(f, "thief@example.jp", ""), 0);
    assert_int_equal(af_mail_count(f, "h@example.jp", "New recovery codes"), 0);

    /* The owner, with the password: signed in again, it works at once. */
    assert_int_equal(af_login(f, "h@example.jp", &p, &g), ERR_OK);
    af_auth(f, &g, &s);
    assert_int_equal(mfa_recovery_regenerate(af_ctx(f), &s, codes), ERR_OK);
    for (int i = 0; i < RECOVERY_CODE_COUNT; i++)
        af_secret(f, codes[i]);
    /* Begun 570 s after the sign-in, the code typed a minute later still
     * confirms it: the secret just scanned is not void. */
    f->now += AUTH_SIGNED_IN_MS - 60 * 1000; /* af_totp moves on another 30 s */
    af_auth(f, &g, &s);
    af_totp(f, &p, totp);
    assert_int_equal(mfa_verify(af_ctx(f), &s, totp, NULL, &fresh), ERR_OK);
    af_auth(f, &g, &s);
    assert_int_equal(mfa_totp_begin(af_ctx(f), &s, uri), ERR_OK);
    struct af_phone next;
    af_phone_new(&next, "next phone");
    af_seed_from_uri(uri, next.seed);
    f->now += 30 * 1000;
    af_auth(f, &g, &s);
    af_totp(f, &next, totp);
    assert_int_equal(mfa_totp_confirm(af_ctx(f), &s, totp, codes), ERR_OK);
    for (int i = 0; i < RECOVERY_CODE_COUNT; i++)
        af_secret(f, codes[i]);
    af_free(f);
}

static void code_budget_counts_per_customer_and_purpose_in_a_sliding_day(void **state)
{
    (void)state;
    struct af *f = af_new();
    char code[8];
    af_register(f, "k@example.jp", AF_PASSWORD, code); /* one code issued */
    struct customer c, other;
    assert_int_equal(f->st->ops->customer_get_by_email(f->st, "k@example.jp", &c), ERR_OK);
    af_register(f, "l@example.jp", AF_PASSWORD, code);
    assert_int_equal(f->st->ops->customer_get_by_email(f->st, "l@example.jp", &other), ERR_OK);
    int64_t t0 = f->now;
    bool granted = false;
    assert_int_equal(f->st->ops->begin(f->st), ERR_OK);
    for (int i = 1; i < CODE_BUDGET_PER_DAY; i++) {
        f->now += 1000;
        assert_int_equal(code_budget_take(af_ctx(f), c.id, CODE_PURPOSE_VERIFY_EMAIL, &granted), ERR_OK);
        assert_true(granted);
    }
    assert_int_equal(code_budget_take(af_ctx(f), c.id, CODE_PURPOSE_VERIFY_EMAIL, &granted), ERR_OK);
    assert_false(granted);
    /* Other purposes and other customers have their own budgets. */
    assert_int_equal(code_budget_take(af_ctx(f), c.id, CODE_PURPOSE_EMAIL_CHANGE, &granted), ERR_OK);
    assert_true(granted);
    assert_int_equal(code_budget_take(af_ctx(f), other.id, CODE_PURPOSE_VERIFY_EMAIL, &granted), ERR_OK);
    assert_true(granted);
    /* The window slides: the first code stops counting 24 h after it was
     * issued, not a moment before. */
    f->now = t0 + CODE_BUDGET_WINDOW_MS - 1;
    assert_int_equal(code_budget_take(af_ctx(f), c.id, CODE_PURPOSE_VERIFY_EMAIL, &granted), ERR_OK);
    assert_false(granted);
    f->now = t0 + CODE_BUDGET_WINDOW_MS;
    assert_int_equal(code_budget_take(af_ctx(f), c.id, CODE_PURPOSE_VERIFY_EMAIL, &granted), ERR_OK);
    assert_true(granted);
    assert_int_equal(code_budget_take(af_ctx(f), c.id, CODE_PURPOSE_VERIFY_EMAIL, &granted), ERR_OK);
    assert_false(granted);
    assert_int_equal(f->st->ops->commit(f->st), ERR_OK);
    assert_int_equal(af_events(f, c.id, "code_budget_exhausted"), 3);
    af_free(f);
}

static void resends_cannot_buy_more_than_five_codes_a_day(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    const char *bad = NULL;
    char code[8], wrong[8], why[256];
    af_phone_new(&p, "phone");
    af_register(f, "m@example.jp", AF_PASSWORD, code);
    for (int i = 1; i < CODE_BUDGET_PER_DAY; i++) {
        f->now += 60 * 1000;
        assert_int_equal(customer_resend(af_ctx(f), "m@example.jp"), ERR_OK);
        af_mail_word(f, "m@example.jp", "verification code", "code is: ", code, sizeof code);
    }
    /* The 6th code of the day: the same answer, nothing issued or mailed,
     * by resend and by registering again alike. */
    f->now += 60 * 1000;
    assert_int_equal(customer_resend(af_ctx(f), "m@example.jp"), ERR_OK);
    assert_int_equal(customer_register(af_ctx(f), "m@example.jp", AF_PASSWORD, &bad, why, sizeof why), ERR_OK);
    assert_int_equal(af_mail_total(f), 0);
    struct customer c;
    assert_int_equal(f->st->ops->customer_get_by_email(f->st, "m@example.jp", &c), ERR_OK);
    assert_int_equal(af_events(f, c.id, "code_budget_exhausted"), 2);
    /* The live code keeps its remaining tries, no more: after 5 wrong
     * guesses it is void, and no new one comes. */
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
    for (int i = 0; i < EMAIL_CODE_MAX_TRIES; i++)
        assert_int_equal(af_verify(f, "m@example.jp", wrong, &p, &g), ERR_INVALID_CODE);
    assert_int_equal(af_verify(f, "m@example.jp", code, &p, &g), ERR_INVALID_CODE);
    assert_int_equal(customer_resend(af_ctx(f), "m@example.jp"), ERR_OK);
    assert_int_equal(af_mail_total(f), 0);
    /* A day after the first code, the budget has room again. */
    f->now += CODE_BUDGET_WINDOW_MS;
    assert_int_equal(customer_resend(af_ctx(f), "m@example.jp"), ERR_OK);
    af_mail_word(f, "m@example.jp", "verification code", "code is: ", code, sizeof code);
    assert_int_equal(af_verify(f, "m@example.jp", code, &p, &g), ERR_OK);
    af_free(f);
}

static void totp_enrolment_confirm_and_replay(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    char code[8], uri[TOTP_URI_MAX], totp[TOTP_DIGITS + 1], codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF];
    af_phone_new(&p, "phone");
    af_register(f, "e@example.jp", AF_PASSWORD, code);
    assert_int_equal(af_verify(f, "e@example.jp", code, &p, &g), ERR_OK);
    af_auth(f, &g, &s);
    /* An enrol session can do nothing but enrol and read the profile. */
    assert_int_equal(session_require(&s, SESSION_NEED_FULL, f->now), ERR_MFA_REQUIRED);
    struct session_info si[4];
    size_t n = 0;
    assert_int_equal(session_list(af_ctx(f), &s, si, 4, &n), ERR_MFA_REQUIRED);
    assert_int_equal(mfa_recovery_regenerate(af_ctx(f), &s, codes), ERR_MFA_REQUIRED);
    struct customer_profile prof;
    assert_int_equal(customer_profile(af_ctx(f), &s, &prof), ERR_OK);
    assert_true(prof.email_verified);
    assert_false(prof.totp_enrolled);

    /* Confirm before begin: nothing pending. */
    assert_int_equal(mfa_totp_confirm(af_ctx(f), &s, "123456", codes), ERR_INVALID_CODE);
    assert_int_equal(mfa_totp_begin(af_ctx(f), &s, uri), ERR_OK);
    assert_non_null(strstr(uri, "otpauth://totp/kessai:e%40example.jp?secret="));
    af_seed_from_uri(uri, p.seed);
    af_totp(f, &p, totp);
    char wrong[8];
    snprintf(wrong, sizeof wrong, "%06d", (atoi(totp) + 1) % 1000000);
    assert_int_equal(mfa_totp_confirm(af_ctx(f), &s, wrong, codes), ERR_INVALID_CODE);
    assert_int_equal(mfa_totp_confirm(af_ctx(f), &s, totp, codes), ERR_OK);
    for (int i = 0; i < RECOVERY_CODE_COUNT; i++) {
        assert_int_equal(strlen(codes[i]), 14);
        assert_true(codes[i][4] == '-' && codes[i][9] == '-');
        af_secret(f, codes[i]);
    }
    af_auth(f, &g, &s);
    assert_int_equal(s.scope, SESSION_SCOPE_FULL);
    assert_int_equal(session_require(&s, SESSION_NEED_FRESH, f->now), ERR_OK);
    /* The code that confirmed cannot verify again (same step). */
    int64_t fresh = 0;
    assert_int_equal(mfa_verify(af_ctx(f), &s, totp, NULL, &fresh), ERR_INVALID_CODE);
    af_totp(f, &p, totp);
    assert_int_equal(mfa_verify(af_ctx(f), &s, totp, NULL, &fresh), ERR_OK);
    assert_int_equal(fresh, f->now + AUTH_FRESH_MFA_MS);
    assert_int_equal(mfa_verify(af_ctx(f), &s, totp, NULL, &fresh), ERR_INVALID_CODE);
    assert_int_equal(customer_profile(af_ctx(f), &s, &prof), ERR_OK);
    assert_true(prof.totp_enrolled);
    assert_int_equal(prof.recovery_codes_left, 10);
    assert_int_equal(af_events(f, g.customer_id, "totp_enrolled"), 1);
    assert_int_equal(af_events(f, g.customer_id, "email_verified"), 1);
    assert_int_equal(af_events(f, g.customer_id, "mfa_failed"), 2);
    af_free(f);
}

static void recovery_codes_are_single_use_and_regeneration_voids_the_old_set(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF], fresh_codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF];
    int64_t fresh = 0;
    af_phone_new(&p, "phone");
    af_customer(f, "f@example.jp", &p, &g, codes);
    af_auth(f, &g, &s);
    assert_int_equal(mfa_verify(af_ctx(f), &s, NULL, codes[0], &fresh), ERR_OK);
    assert_int_equal(mfa_verify(af_ctx(f), &s, NULL, codes[0], &fresh), ERR_INVALID_CODE);
    /* Typed by a person: capitals, no dashes. */
    char typed[16];
    size_t k = 0;
    for (const char *c = codes[1]; *c; c++)
        if (*c != '-')
            typed[k++] = (char)toupper((unsigned char)*c);
    typed[k] = '\0';
    assert_int_equal(mfa_verify(af_ctx(f), &s, NULL, typed, &fresh), ERR_OK);
    struct customer_profile prof;
    assert_int_equal(customer_profile(af_ctx(f), &s, &prof), ERR_OK);
    assert_int_equal(prof.recovery_codes_left, 8);
    /* Each use is a second-factor change the customer hears about. */
    char body[2048];
    assert_int_equal(af_mail_count(f, "f@example.jp", "A recovery code of your kessai account was used"), 2);
    assert_int_equal(af_mail(f, "f@example.jp", "recovery code", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "codes are left"));

    /* Regenerating needs a fresh second factor. */
    f->now += AUTH_FRESH_MFA_MS + 1000;
    af_auth(f, &g, &s);
    assert_int_equal(mfa_recovery_regenerate(af_ctx(f), &s, fresh_codes), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(mfa_verify(af_ctx(f), &s, NULL, codes[2], &fresh), ERR_OK);
    af_auth(f, &g, &s);
    assert_int_equal(af_mail_count(f, "f@example.jp", "New recovery codes"), 0);
    assert_int_equal(mfa_recovery_regenerate(af_ctx(f), &s, fresh_codes), ERR_OK);
    assert_int_equal(af_mail_count(f, "f@example.jp", "New recovery codes"), 1);
    for (int i = 0; i < RECOVERY_CODE_COUNT; i++)
        af_secret(f, fresh_codes[i]);
    assert_int_equal(mfa_verify(af_ctx(f), &s, NULL, codes[3], &fresh), ERR_INVALID_CODE);
    assert_int_equal(mfa_verify(af_ctx(f), &s, NULL, fresh_codes[3], &fresh), ERR_OK);
    assert_int_equal(customer_profile(af_ctx(f), &s, &prof), ERR_OK);
    assert_int_equal(prof.recovery_codes_left, 9);
    af_assert_no_secrets_at_rest(f);
    af_free(f);
}

static void failing_send(void *ctx, const struct notify_message *msgs, size_t n, enum err *result)
{
    (void)msgs;
    for (size_t i = 0; i < n; i++) {
        ++*(int *)ctx;
        result[i] = ERR_IO;
    }
}

static void outbox_seals_mail_and_delivers_after_commit_and_retries(void **state)
{
    (void)state;
    struct af *f = af_new();
    int tries = 0;
    struct notify_sender broken = {failing_send, &tries};
    assert_int_equal(f->st->ops->begin(f->st), ERR_OK);
    assert_int_equal(notify_enqueue(f->st, f->mk, f->now, "g@example.jp", "Hello", "code 918273645 inside"), ERR_OK);
    assert_int_equal(notify_enqueue(f->st, f->mk, f->now, "g@example.jp", "Bad\nBcc: x@evil", "x"), ERR_INVALID_PARAM);
    assert_int_equal(f->st->ops->commit(f->st), ERR_OK);
    af_secret(f, "918273645");
    af_secret(f, "g@example.jp");
    size_t n = 9;
    assert_int_equal(notify_deliver_pending(f->st, f->mk, &broken, f->now, &n), ERR_IO);
    assert_int_equal(n, 0);
    assert_int_equal(tries, 1);
    assert_int_equal(af_mail_total(f), 0);
    /* not retried before its back-off (30 s after the failure) is over */
    assert_int_equal(notify_deliver_pending(f->st, f->mk, &f->sender, f->now + 29999, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(notify_deliver_pending(f->st, f->mk, &f->sender, f->now + 30000, &n), ERR_OK);
    assert_int_equal(n, 1);
    char body[256];
    assert_int_equal(af_mail(f, "g@example.jp", "Hello", true, body, sizeof body), 1);
    assert_string_equal(body, "code 918273645 inside\n");
    assert_int_equal(notify_deliver_pending(f->st, f->mk, &f->sender, f->now + 60000, &n), ERR_OK);
    assert_int_equal(n, 0); /* sent once */
    af_assert_no_secrets_at_rest(f);
    af_free(f);
}

static void nothing_secret_is_stored_in_the_clear(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, q;
    struct auth_grant g, g2;
    char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF], token[64];
    af_phone_new(&p, "phone");
    af_phone_new(&q, "tablet");
    af_customer(f, "h@example.jp", &p, &g, codes);
    memcpy(q.seed, p.seed, sizeof q.seed); /* the same authenticator app */
    assert_int_equal(af_login(f, "h@example.jp", &q, &g2), ERR_OK);
    assert_int_equal(af_login_ex(f, "h@example.jp", AF_PASSWORD, &p, NULL, codes[5], true, NULL), ERR_OK);
    assert_int_equal(reset_request(af_ctx(f), "h@example.jp"), ERR_OK);
    af_mail_word(f, "h@example.jp", "Reset", "Reset token: ", token, sizeof token);
    char totp[TOTP_DIGITS + 1], why[256];
    af_totp(f, &p, totp);
    af_secret(f, "a brand new passphrase to use");
    assert_int_equal(reset_complete(af_ctx(f), token, "a brand new passphrase to use", totp, NULL, why, sizeof why),
                     ERR_OK);
    af_assert_no_secrets_at_rest(f);
    af_free(f);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_refuses_weak_password_and_bad_address_and_sends_nothing),
        cmocka_unit_test(register_taken_address_answers_the_same_and_mails_only_the_owner),
        cmocka_unit_test(verify_code_wrong_expired_voided_and_single_use),
        cmocka_unit_test(verify_needs_a_fresh_proof_by_the_enrolled_device),
        cmocka_unit_test(squatter_cannot_make_the_owner_verify_the_squatters_password),
        cmocka_unit_test(registering_an_unverified_address_again_voids_the_first_code),
        cmocka_unit_test(unknown_address_and_enrolled_account_answer_like_a_wrong_code),
        cmocka_unit_test(verified_without_totp_resumes_enrolment_with_a_new_code),
        cmocka_unit_test(a_new_authenticator_is_never_silent),
        cmocka_unit_test(the_phone_alone_cannot_hand_over_the_account),
        cmocka_unit_test(code_budget_counts_per_customer_and_purpose_in_a_sliding_day),
        cmocka_unit_test(resends_cannot_buy_more_than_five_codes_a_day),
        cmocka_unit_test(totp_enrolment_confirm_and_replay),
        cmocka_unit_test(recovery_codes_are_single_use_and_regeneration_voids_the_old_set),
        cmocka_unit_test(outbox_seals_mail_and_delivers_after_commit_and_retries),
        cmocka_unit_test(nothing_secret_is_stored_in_the_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
