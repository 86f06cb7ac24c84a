/* test_auth_email.c: changing the account's address (auth/email_change.h):
 * fresh second factor, code to the new address only, notices to the old
 * one, tries / expiry / single use, taken addresses, sessions, login. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth_fixture.h"
#include "auth/code_budget.h"
#include "auth/email_change.h"

#define OLD "a@example.jp"
#define NEW "new@example.jp"
#define CODE_SUBJECT "Confirm your new"
#define CODE_MARKER "address is: "
#define ASKED_SUBJECT "change of your kessai e-mail address was requested"
#define CHANGED_SUBJECT "e-mail address was changed"

/* A ready customer at OLD with a fresh full session s (from login on p). */
static void customer(struct af *f, struct af_phone *p, struct auth_grant *g, struct auth_session *s)
{
    struct auth_grant first;
    af_phone_new(p, "phone");
    af_customer(f, OLD, p, &first, NULL);
    assert_int_equal(af_login(f, OLD, p, g), ERR_OK);
    af_auth(f, g, s);
}

/* Ask for `to` and take the code from the new mailbox. */
static void ask(struct af *f, const struct auth_session *s, const char *to, char code[8])
{
    assert_int_equal(email_change_request(af_ctx(f), s, to, f->now), ERR_OK);
    af_mail_word(f, NEW, CODE_SUBJECT, CODE_MARKER, code, 8);
}

static void asking_needs_a_full_and_fresh_session(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, q;
    struct auth_grant g, eg;
    struct auth_session s, es;
    char norm[EMAIL_MAX + 1], totp[TOTP_DIGITS + 1], code[8];
    int64_t fresh = 0;
    customer(f, &p, &g, &s);
    /* An enrol session (verified address, no TOTP yet) may not. */
    af_phone_new(&q, "other phone");
    af_register(f, "enrol@example.jp", AF_PASSWORD, code);
    assert_int_equal(af_verify(f, "enrol@example.jp", code, &q, &eg), ERR_OK);
    af_secret(f, eg.session_token);
    af_auth(f, &eg, &es);
    assert_int_equal(email_change_check(af_ctx(f), &es, NEW, norm), ERR_MFA_REQUIRED);
    assert_int_equal(email_change_request(af_ctx(f), &es, NEW, f->now), ERR_MFA_REQUIRED);
    /* 300 s after the login's second factor: stale. */
    f->now += AUTH_FRESH_MFA_MS;
    af_auth(f, &g, &s);
    assert_int_equal(email_change_check(af_ctx(f), &s, NEW, norm), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(email_change_request(af_ctx(f), &s, NEW, f->now), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(af_mail_total(f), 0);
    assert_int_equal(af_events(f, g.customer_id, "email_change_requested"), 0);
    /* A second-factor check makes it fresh again. */
    af_totp(f, &p, totp);
    assert_int_equal(mfa_verify(af_ctx(f), &s, totp, NULL, &fresh), ERR_OK);
    af_auth(f, &g, &s);
    assert_int_equal(email_change_check(af_ctx(f), &s, " New@Example.JP", norm), ERR_INVALID_PARAM);
    assert_int_equal(email_change_check(af_ctx(f), &s, "New@Example.JP", norm), ERR_OK);
    assert_string_equal(norm, NEW);
    assert_int_equal(email_change_request(af_ctx(f), &s, "New@Example.JP", f->now), ERR_OK);
    assert_int_equal(af_mail_count(f, NEW, CODE_SUBJECT), 1);
    /* 600 s after the sign-in, a second factor is not enough: whoever holds
     * the phone holds its session and its authenticator, not the password. */
    f->now += AUTH_SIGNED_IN_MS - AUTH_FRESH_MFA_MS;
    af_totp(f, &p, totp);
    assert_int_equal(mfa_verify(af_ctx(f), &s, totp, NULL, &fresh), ERR_OK);
    af_auth(f, &g, &s);
    assert_int_equal(email_change_check(af_ctx(f), &s, "other@example.jp", norm), ERR_SIGN_IN_REQUIRED);
    assert_int_equal(email_change_request(af_ctx(f), &s, "other@example.jp", f->now), ERR_SIGN_IN_REQUIRED);
    assert_int_equal(af_mail_count(f, "other@example.jp", CODE_SUBJECT), 0);
    af_free(f);
}

static void bad_addresses_are_refused_before_anything_happens(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    customer(f, &p, &g, &s);
    assert_int_equal(email_change_request(af_ctx(f), &s, NULL, f->now), ERR_INVALID_PARAM);
    assert_int_equal(email_change_request(af_ctx(f), &s, "not an address", f->now), ERR_INVALID_PARAM);
    assert_int_equal(email_change_request(af_ctx(f), &s, "x@localhost", f->now), ERR_INVALID_PARAM);
    /* The address already on file, in any spelling. */
    assert_int_equal(email_change_request(af_ctx(f), &s, "A@EXAMPLE.JP", f->now), ERR_INVALID_PARAM);
    assert_int_equal(af_mail_total(f), 0);
    /* No pending change: every code is wrong. */
    struct customer_profile prof;
    assert_int_equal(email_change_confirm(af_ctx(f), &s, "000000", &prof), ERR_INVALID_CODE);
    af_free(f);
}

static void the_code_goes_to_the_new_address_and_the_notices_to_the_old(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g, g2;
    struct auth_session s, s2;
    struct customer_profile prof;
    char code[8], body[4096], reset_token[64];
    customer(f, &p, &g, &s);
    assert_int_equal(af_login(f, OLD, &p, &g2), ERR_OK); /* another session */
    /* A reset token mailed to the old address before the change. */
    assert_int_equal(reset_request(af_ctx(f), OLD), ERR_OK);
    af_mail_word(f, OLD, "Reset", "Reset token: ", reset_token, sizeof reset_token);

    assert_int_equal(email_change_request(af_ctx(f), &s, NEW, f->now), ERR_OK);
    assert_int_equal(af_mail_total(f), 2);
    assert_int_equal(af_mail_count(f, NEW, CODE_SUBJECT), 1);
    assert_int_equal(af_mail(f, OLD, ASKED_SUBJECT, true, body, sizeof body), 1);
    assert_non_null(strstr(body, NEW));
    af_mail_word(f, NEW, CODE_SUBJECT, CODE_MARKER, code, sizeof code);
    assert_null(strstr(body, code)); /* the notice never carries the code */
    assert_int_equal(af_events(f, g.customer_id, "email_change_requested"), 1);
    /* Until confirmed nothing changed. */
    assert_int_equal(customer_profile(af_ctx(f), &s, &prof), ERR_OK);
    assert_string_equal(prof.email, OLD);

    assert_int_equal(email_change_confirm(af_ctx(f), &s, code, &prof), ERR_OK);
    assert_string_equal(prof.email, NEW);
    assert_true(prof.email_verified && prof.totp_enrolled);
    assert_int_equal(prof.id, g.customer_id);
    /* Used once only. */
    assert_int_equal(email_change_confirm(af_ctx(f), &s, code, &prof), ERR_INVALID_CODE);
    /* This session lives; every other one ended. */
    af_auth(f, &g, &s);
    assert_int_equal(session_authenticate(af_ctx(f), g2.session_token, p.device_id, &s2), ERR_UNAUTHENTICATED);
    /* The old address is told, the new one gets nothing more. */
    assert_int_equal(af_mail(f, OLD, CHANGED_SUBJECT, true, body, sizeof body), 1);
    assert_non_null(strstr(body, NEW));
    assert_int_equal(af_mail_total(f), 0);
    assert_int_equal(af_events_with(f, g.customer_id, "email_changed", "old_email"), 1);
    assert_int_equal(af_events_with(f, g.customer_id, "email_changed", "wrong_code"), 1); /* used once only */
    /* The reset token mailed to the old address is void. */
    char totp[TOTP_DIGITS + 1], why[256];
    af_totp(f, &p, totp);
    af_secret(f, "shiny replacement passphrase");
    assert_int_equal(reset_complete(af_ctx(f), reset_token, "shiny replacement passphrase", totp, NULL, why,
                                    sizeof why),
                     ERR_INVALID_TOKEN);
    /* The new address signs in, the old one does not; resets follow. */
    assert_int_equal(af_login(f, OLD, &p, NULL), ERR_INVALID_CREDENTIALS);
    assert_int_equal(af_login(f, NEW, &p, NULL), ERR_OK);
    assert_int_equal(reset_request(af_ctx(f), OLD), ERR_OK);
    assert_int_equal(af_mail_total(f), 0);
    assert_int_equal(reset_request(af_ctx(f), NEW), ERR_OK);
    assert_int_equal(af_mail_count(f, NEW, "Reset"), 1);
    assert_int_equal(af_mail_total(f), 1);
    af_assert_no_secrets_at_rest(f);
    af_free(f);
}

static void wrong_codes_count_and_the_fifth_voids(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    struct customer_profile prof;
    char code[8], wrong[8];
    customer(f, &p, &g, &s);
    ask(f, &s, NEW, code);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
    /* Four wrong ones leave it usable. */
    for (int i = 0; i < EMAIL_CHANGE_MAX_TRIES - 1; i++)
        assert_int_equal(email_change_confirm(af_ctx(f), &s, wrong, &prof), ERR_INVALID_CODE);
    assert_int_equal(email_change_confirm(af_ctx(f), &s, NULL, &prof), ERR_INVALID_CODE); /* the fifth */
    assert_int_equal(email_change_confirm(af_ctx(f), &s, code, &prof), ERR_INVALID_CODE);
    assert_int_equal(customer_profile(af_ctx(f), &s, &prof), ERR_OK);
    assert_string_equal(prof.email, OLD);
    /* each wrong code is on file, the right one too late as well */
    assert_int_equal(af_events_with(f, g.customer_id, "email_changed", "wrong_code"), EMAIL_CHANGE_MAX_TRIES + 1);

    ask(f, &s, NEW, code);
    for (int i = 0; i < EMAIL_CHANGE_MAX_TRIES - 1; i++)
        assert_int_equal(email_change_confirm(af_ctx(f), &s, "999999x", &prof), ERR_INVALID_CODE);
    assert_int_equal(email_change_confirm(af_ctx(f), &s, code, &prof), ERR_OK);
    assert_string_equal(prof.email, NEW);
    af_assert_no_secrets_at_rest(f);
    af_free(f);
}

static void codes_expire_and_a_new_request_replaces_the_old(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    struct customer_profile prof;
    char c1[8], c2[8], c3[8], totp[TOTP_DIGITS + 1];
    int64_t fresh = 0;
    customer(f, &p, &g, &s);
    ask(f, &s, NEW, c1);
    /* In two halves: the session must not time out idle meanwhile. */
    f->now += EMAIL_CHANGE_CODE_TTL_MS / 2;
    af_auth(f, &g, &s);
    f->now += EMAIL_CHANGE_CODE_TTL_MS - EMAIL_CHANGE_CODE_TTL_MS / 2;
    af_auth(f, &g, &s);
    assert_int_equal(email_change_confirm(af_ctx(f), &s, c1, &prof), ERR_INVALID_CODE);

    /* A new request, from a new sign-in (session.h: an old session's
     * second factor is not enough to move the address). */
    af_totp(f, &p, totp);
    assert_int_equal(mfa_verify(af_ctx(f), &s, totp, NULL, &fresh), ERR_OK);
    af_auth(f, &g, &s);
    assert_int_equal(email_change_request(af_ctx(f), &s, NEW, f->now), ERR_SIGN_IN_REQUIRED);
    assert_int_equal(af_login(f, OLD, &p, &g), ERR_OK);
    af_auth(f, &g, &s);
    ask(f, &s, NEW, c2);
    ask(f, &s, NEW, c3);
    if (strcmp(c2, c3) != 0) /* one in a million they are the same */
        assert_int_equal(email_change_confirm(af_ctx(f), &s, c2, &prof), ERR_INVALID_CODE);
    /* A minute short of the limit it still works. */
    f->now += EMAIL_CHANGE_CODE_TTL_MS - 60000;
    af_auth(f, &g, &s);
    assert_int_equal(email_change_confirm(af_ctx(f), &s, c3, &prof), ERR_OK);
    assert_string_equal(prof.email, NEW);
    af_free(f);
}

/* Each request would bring a fresh code with fresh tries: without a cap, a
 * session holder could ask again after every 4 wrong codes and guess for
 * ever.  Requests draw on a daily budget; once spent, a request is
 * answered alike but stores, replaces and mails nothing. */
static void requests_draw_on_a_daily_budget_of_codes(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    struct customer_profile prof;
    char code[8], wrong[8];
    customer(f, &p, &g, &s);
    for (int i = 0; i < CODE_BUDGET_PER_DAY; i++)
        ask(f, &s, NEW, code);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
    for (int i = 0; i < EMAIL_CHANGE_MAX_TRIES - 1; i++)
        assert_int_equal(email_change_confirm(af_ctx(f), &s, wrong, &prof), ERR_INVALID_CODE);
    int total = af_mail_total(f);
    assert_int_equal(email_change_request(af_ctx(f), &s, NEW, f->now), ERR_OK);
    assert_int_equal(email_change_request(af_ctx(f), &s, "elsewhere@example.jp", f->now), ERR_OK);
    assert_int_equal(af_mail_total(f), total); /* no code, no notice */
    assert_int_equal(af_events(f, g.customer_id, "code_budget_exhausted"), 2);
    assert_int_equal(af_events(f, g.customer_id, "email_change_requested"), CODE_BUDGET_PER_DAY);
    /* The pending change kept its count: one try left, and it voids it. */
    assert_int_equal(email_change_confirm(af_ctx(f), &s, wrong, &prof), ERR_INVALID_CODE);
    assert_int_equal(email_change_confirm(af_ctx(f), &s, code, &prof), ERR_INVALID_CODE);
    assert_int_equal(customer_profile(af_ctx(f), &s, &prof), ERR_OK);
    assert_string_equal(prof.email, OLD);
    /* A day later the budget is back. */
    f->now += CODE_BUDGET_WINDOW_MS;
    assert_int_equal(af_login(f, OLD, &p, &g), ERR_OK);
    af_auth(f, &g, &s);
    ask(f, &s, NEW, code);
    assert_int_equal(email_change_confirm(af_ctx(f), &s, code, &prof), ERR_OK);
    assert_string_equal(prof.email, NEW);
    af_assert_no_secrets_at_rest(f);
    af_free(f);
}

static void a_taken_address_gets_the_same_answer_and_can_never_be_confirmed(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, q;
    struct auth_grant g, bg;
    struct auth_session s;
    struct customer_profile prof;
    struct email_change ec;
    char free_notice[4096], taken_notice[4096];
    customer(f, &p, &g, &s);
    af_phone_new(&q, "b's phone");
    af_customer(f, "b@example.jp", &q, &bg, NULL);

    /* Free address: a code to it and a notice to the old one. */
    assert_int_equal(email_change_request(af_ctx(f), &s, "free@example.jp", f->now), ERR_OK);
    assert_int_equal(af_mail_total(f), 2);
    assert_int_equal(af_mail(f, OLD, ASKED_SUBJECT, true, free_notice, sizeof free_notice), 1);
    char code[8];
    af_mail_word(f, "free@example.jp", CODE_SUBJECT, CODE_MARKER, code, sizeof code);
    /* Taken address: the same answer and the same notice, nothing to it. */
    assert_int_equal(email_change_request(af_ctx(f), &s, "B@example.jp", f->now), ERR_OK);
    assert_int_equal(af_mail_total(f), 1);
    assert_int_equal(af_mail_count(f, "b@example.jp", ""), 0);
    assert_int_equal(af_mail(f, OLD, ASKED_SUBJECT, true, taken_notice, sizeof taken_notice), 1);
    assert_non_null(strstr(taken_notice, "b@example.jp"));
    assert_int_equal(af_events(f, g.customer_id, "email_change_requested"), 2);
    assert_int_equal(af_events(f, bg.customer_id, "email_change_requested"), 0);
    struct security_event ev[64];
    size_t n = 0;
    assert_int_equal(f->st->ops->security_event_list(f->st, g.customer_id, 0, 64, ev, &n), ERR_OK);
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(ev[i].kind, "email_change_requested") == 0) {
            assert_string_equal(ev[i].outcome, "success");
            assert_non_null(strstr(ev[i].detail, seen++ ? "b@example.jp" : "free@example.jp"));
        }

    /* Not even the right code confirms it: plant one we know. */
    assert_int_equal(f->st->ops->email_change_get(f->st, g.customer_id, &ec), ERR_OK);
    assert_true(ec.doomed);
    assert_string_equal(ec.new_email, "b@example.jp");
    secret_hash_str(f->mk, SECRET_EMAIL_CHANGE_CODE, "123456", ec.code_hash);
    assert_int_equal(f->st->ops->email_change_put(f->st, &ec), ERR_OK);
    assert_int_equal(email_change_confirm(af_ctx(f), &s, "123456", &prof), ERR_INVALID_CODE);
    assert_int_equal(f->st->ops->email_change_get(f->st, g.customer_id, &ec), ERR_OK);
    assert_int_equal(ec.tries, 1); /* counted like any wrong code */
    /* The code of the replaced free request is void too. */
    assert_int_equal(email_change_confirm(af_ctx(f), &s, code, &prof), ERR_INVALID_CODE);
    assert_int_equal(customer_profile(af_ctx(f), &s, &prof), ERR_OK);
    assert_string_equal(prof.email, OLD);
    assert_int_equal(af_login(f, "b@example.jp", &q, NULL), ERR_OK); /* b is untouched */
    af_free(f);
}

static void an_address_taken_meanwhile_is_a_conflict(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    struct customer_profile prof;
    char code[8], reg[8];
    customer(f, &p, &g, &s);
    ask(f, &s, NEW, code);
    af_register(f, NEW, AF_PASSWORD, reg); /* someone registers it first */
    assert_int_equal(email_change_confirm(af_ctx(f), &s, code, &prof), ERR_CONFLICT);
    assert_int_equal(email_change_confirm(af_ctx(f), &s, code, &prof), ERR_INVALID_CODE); /* void */
    assert_int_equal(customer_profile(af_ctx(f), &s, &prof), ERR_OK);
    assert_string_equal(prof.email, OLD);
    assert_int_equal(af_events_with(f, g.customer_id, "email_changed", "address_taken"), 1);
    assert_int_equal(af_events_with(f, g.customer_id, "email_changed", "wrong_code"), 1); /* the code of a void change */
    assert_int_equal(af_mail_count(f, OLD, CHANGED_SUBJECT), 0);
    af_free(f);
}

static void a_request_from_a_revoked_session_does_nothing(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s, stale;
    customer(f, &p, &g, &s);
    stale = s;
    assert_int_equal(session_revoke(af_ctx(f), &s, g.session_id), ERR_OK);
    /* The handler answered before the session was revoked; the work sees it. */
    assert_int_equal(email_change_request(af_ctx(f), &stale, NEW, f->now), ERR_UNAUTHENTICATED);
    assert_int_equal(af_mail_total(f), 0);
    af_free(f);
}

/* Asked a moment before the session's absolute end (fresh then), run from
 * the queue after it: nothing is stored or mailed. */
static void a_request_run_past_the_session_end_does_nothing(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    customer(f, &p, &g, &s);
    f->now = s.absolute_ms - 1000;
    s.created_ms = f->now - 1000; /* as if signed in then */
    s.mfa_at_ms = f->now - 1000;
    s.fresh_until_ms = f->now + 60 * 1000;
    assert_int_equal(email_change_request(af_ctx(f), &s, NEW, s.absolute_ms), ERR_UNAUTHENTICATED);
    assert_int_equal(af_mail_total(f), 0);
    assert_int_equal(af_events(f, g.customer_id, "email_change_requested"), 0);
    af_free(f);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(asking_needs_a_full_and_fresh_session),
        cmocka_unit_test(bad_addresses_are_refused_before_anything_happens),
        cmocka_unit_test(the_code_goes_to_the_new_address_and_the_notices_to_the_old),
        cmocka_unit_test(wrong_codes_count_and_the_fifth_voids),
        cmocka_unit_test(codes_expire_and_a_new_request_replaces_the_old),
        cmocka_unit_test(requests_draw_on_a_daily_budget_of_codes),
        cmocka_unit_test(a_taken_address_gets_the_same_answer_and_can_never_be_confirmed),
        cmocka_unit_test(an_address_taken_meanwhile_is_a_conflict),
        cmocka_unit_test(a_request_from_a_revoked_session_does_nothing),
        cmocka_unit_test(a_request_run_past_the_session_end_does_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
