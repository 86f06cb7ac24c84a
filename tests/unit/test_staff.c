/* test_staff.c: password policy and hashing, TOTP, staff accounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <liboath/oath.h>
#include <sodium.h>

#include "auth/password.h"
#include "auth/totp.h"
#include "ops/staff.h"
#include "ops/staff_session.h"
#include "testutil.h"
#include "util/email.h"

#define T0_MS 1764200000000LL /* when the audit entries say the staff changes happened */

static void password_policy_has_length_and_dictionary_but_no_composition_rules(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(auth_password_policy("short-pass1", NULL, why, sizeof why), ERR_WEAK_PASSWORD);
    assert_non_null(strstr(why, "12"));
    assert_int_equal(auth_password_policy("password1234", NULL, why, sizeof why), ERR_WEAK_PASSWORD);
    assert_int_equal(auth_password_policy("aaaaaaaaaaaaaaaa", NULL, why, sizeof why), ERR_WEAK_PASSWORD);
    /* common words dressed up with digits, symbols, capitals or repetition */
    const char *dressed[] = {"Password1234!", "passwordpassword", "iloveyou1234", "2024sunshine!!", "LetMeIn12345",
                             "123456789012"};
    for (size_t i = 0; i < sizeof dressed / sizeof dressed[0]; i++)
        if (auth_password_policy(dressed[i], NULL, why, sizeof why) != ERR_WEAK_PASSWORD)
            fail_msg("weak password accepted: %s", dressed[i]);
    assert_int_equal(auth_password_policy("hanako.suzuki99", "hanako.suzuki99@example.jp", why, sizeof why),
                     ERR_WEAK_PASSWORD);
    /* no digits, no capitals, no symbols required */
    assert_int_equal(auth_password_policy("violet tuesday gravel lantern", NULL, why, sizeof why), ERR_OK);
    /* characters, not bytes: 12 kanji pass, 11 do not */
    assert_int_equal(auth_password_policy("東京都千代田区丸の内一丁目", NULL, why, sizeof why), ERR_OK);
    assert_int_equal(auth_password_policy("東京都千代田区丸の内一", NULL, why, sizeof why), ERR_WEAK_PASSWORD);
    char longpw[200];
    for (int i = 0; i < 128; i++)
        longpw[i] = "qwzxvbnmkl0987654321plokijuhygtf"[(i * 7) % 32];
    longpw[128] = '\0';
    assert_int_equal(auth_password_policy(longpw, NULL, why, sizeof why), ERR_OK);
    longpw[128] = 'x';
    longpw[129] = '\0';
    assert_int_equal(auth_password_policy(longpw, NULL, why, sizeof why), ERR_WEAK_PASSWORD);
}

static void password_hash_is_argon2id_and_never_truncates(void **state)
{
    (void)state;
    char h[AUTH_PASSWORD_HASH_MAX], h2[AUTH_PASSWORD_HASH_MAX];
    const char *pw = "violet tuesday gravel lantern and a great many more words after them, beyond seventy-two bytes A";
    assert_int_equal(auth_password_hash(pw, h), ERR_OK);
    assert_int_equal(strncmp(h, "$argon2id$", 10), 0);
    assert_non_null(strstr(h, "m=19456,t=2"));
    assert_null(strstr(h, "violet"));
    assert_true(auth_password_verify(h, pw));
    char other[200];
    snprintf(other, sizeof other, "%s", pw);
    other[strlen(other) - 1] = 'B'; /* differs only after byte 72 */
    assert_false(auth_password_verify(h, other));
    assert_false(auth_password_verify(h, ""));
    /* salted: the same password hashes differently each time */
    assert_int_equal(auth_password_hash(pw, h2), ERR_OK);
    assert_string_not_equal(h, h2);
}

static int b32_seed(const char *uri, uint8_t seed[TOTP_SEED_BYTES])
{
    const char *s = strstr(uri, "secret="), *end;
    if (s == NULL)
        return -1;
    s += 7;
    end = strchr(s, '&');
    char b32[64];
    snprintf(b32, sizeof b32, "%.*s", (int)(end - s), s); /* 20 bytes: no padding needed */
    char *out = NULL;
    size_t len = 0;
    if (oath_base32_decode(b32, strlen(b32), &out, &len) != OATH_OK || len != TOTP_SEED_BYTES) {
        free(out);
        return -1;
    }
    memcpy(seed, out, TOTP_SEED_BYTES);
    free(out);
    return 0;
}

static void totp_accepts_drift_of_one_step_and_never_twice(void **state)
{
    (void)state;
    uint8_t seed[TOTP_SEED_BYTES];
    totp_new_seed(seed);
    int64_t now = 1764200000, step = 0;
    char code[TOTP_DIGITS + 1];
    assert_int_equal(totp_code(seed, now, code), ERR_OK);
    assert_int_equal(strlen(code), 6);
    assert_int_equal(totp_check(seed, code, now, 0, &step), ERR_OK);
    assert_int_equal(step, now / 30);
    assert_int_equal(totp_check(seed, code, now, step, &step), ERR_INVALID_CODE); /* replay */
    char prev[TOTP_DIGITS + 1], far[TOTP_DIGITS + 1];
    assert_int_equal(totp_code(seed, now - 30, prev), ERR_OK);
    assert_int_equal(totp_code(seed, now - 90, far), ERR_OK);
    int64_t s2 = 0;
    assert_int_equal(totp_check(seed, prev, now, 0, &s2), ERR_OK);
    if (strcmp(far, code) != 0 && strcmp(far, prev) != 0)
        assert_int_equal(totp_check(seed, far, now, 0, &s2), ERR_INVALID_CODE);
    assert_int_equal(totp_check(seed, "12345", now, 0, &s2), ERR_INVALID_CODE);
    assert_int_equal(totp_check(seed, "12345a", now, 0, &s2), ERR_INVALID_CODE);
    assert_int_equal(totp_check(seed, NULL, now, 0, &s2), ERR_INVALID_CODE);

    char uri[TOTP_URI_MAX];
    assert_int_equal(totp_uri(seed, "kessai", "a+b@example.jp", uri), ERR_OK);
    assert_int_equal(strncmp(uri, "otpauth://totp/kessai:a%2Bb%40example.jp?secret=", 48), 0);
    assert_non_null(strstr(uri, "&digits=6&period=30"));
    uint8_t back[TOTP_SEED_BYTES];
    assert_int_equal(b32_seed(uri, back), 0);
    assert_memory_equal(back, seed, TOTP_SEED_BYTES);
}

/* The longest address email_normalize accepts, made of characters that
 * each take 3 bytes in the URI: the otpauth URI must still fit (it used to
 * be refused, and with it the customer's or operator's TOTP enrolment). */
static void the_otpauth_uri_fits_the_longest_address_of_special_characters(void **state)
{
    (void)state;
    static const char special[] = "!#$%&'*+/=?^`{|}";
    char addr[EMAIL_MAX + 1], norm[EMAIL_MAX + 1];
    size_t local = EMAIL_MAX - strlen("@x.jp");
    for (size_t i = 0; i < local; i++)
        addr[i] = special[i % (sizeof special - 1)];
    snprintf(addr + local, sizeof addr - local, "@%s", "x.jp");
    assert_int_equal(strlen(addr), EMAIL_MAX);
    assert_int_equal(email_normalize(addr, norm), ERR_OK);
    uint8_t seed[TOTP_SEED_BYTES], back[TOTP_SEED_BYTES];
    totp_new_seed(seed);
    char uri[TOTP_URI_MAX];
    assert_int_equal(totp_uri(seed, "kessai", norm, uri), ERR_OK);
    assert_non_null(strstr(uri, "otpauth://totp/kessai:%21%23%24%25%26%27%2A%2B%2F%3D%3F%5E%60%7B%7C%7D%21"));
    assert_non_null(strstr(uri, "%40x.jp?secret="));
    assert_non_null(strstr(uri, "&digits=6&period=30"));
    assert_int_equal(b32_seed(uri, back), 0);
    assert_memory_equal(back, seed, TOTP_SEED_BYTES);
    /* An issuer at its limit of special characters too. */
    char issuer[TOTP_ISSUER_MAX + 1];
    memset(issuer, '&', TOTP_ISSUER_MAX);
    issuer[TOTP_ISSUER_MAX] = '\0';
    assert_int_equal(totp_uri(seed, issuer, norm, uri), ERR_OK);
    /* Longer than an address can be: refused, never cut. */
    char longer[EMAIL_MAX + 2];
    memset(longer, 'a', EMAIL_MAX + 1);
    longer[EMAIL_MAX + 1] = '\0';
    assert_int_equal(totp_uri(seed, "kessai", longer, uri), ERR_INVALID_PARAM);

    /* And end to end: an operator with that address gets the URI. */
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct staff out;
    const char *bad = NULL;
    char why[256];
    assert_int_equal(staff_create(st, mk, "admin-cli", T0_MS, addr, "support", "violet tuesday gravel lantern", &out, uri, &bad, why,
                                  sizeof why),
                     ERR_OK);
    assert_int_equal(b32_seed(uri, back), 0);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

static void email_addresses_are_normalised_or_refused(void **state)
{
    (void)state;
    char out[EMAIL_MAX + 1];
    assert_int_equal(email_normalize("Hanako.Suzuki@Example.JP", out), ERR_OK);
    assert_string_equal(out, "hanako.suzuki@example.jp");
    const char *bad[] = {"", "a@b", "@example.jp", "a@.jp", "a@example.", "a b@example.jp", "a@@example.jp",
                         "a@b@example.jp", "a<b>@example.jp", "a@exa\nmple.jp", "ｈ@example.jp"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(email_normalize(bad[i], out), ERR_INVALID_PARAM);
    char longmail[300];
    memset(longmail, 'a', 250);
    strcpy(longmail + 250, "@x.jp");
    assert_int_equal(email_normalize(longmail, out), ERR_INVALID_PARAM);
}

static void staff_need_a_confirmed_second_factor(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct staff s;
    char uri[TOTP_URI_MAX], why[256];
    const char *bad = NULL;
    const char *pw = "violet tuesday gravel lantern";
    assert_int_equal(staff_create(st, mk, "admin-cli", T0_MS, "Ops.Lead@Kessai.example", "administrator", pw, &s, uri, &bad, why, sizeof why),
                     ERR_OK);
    assert_string_equal(s.email, "ops.lead@kessai.example");
    assert_string_equal(staff_status(&s), "pending_2fa");
    assert_int_equal(staff_create(st, mk, "admin-cli", T0_MS, "OPS.LEAD@kessai.example", "support", pw, &s, uri + 0, &bad, why, sizeof why),
                     ERR_CONFLICT);
    char uri2[TOTP_URI_MAX];
    assert_int_equal(staff_create(st, mk, "admin-cli", T0_MS, "x@kessai.example", "janitor", pw, &s, uri2, &bad, why, sizeof why),
                     ERR_INVALID_PARAM);
    assert_string_equal(bad, "role");
    assert_int_equal(staff_create(st, mk, "admin-cli", T0_MS, "x@kessai.example", "support", "password1234", &s, uri2, &bad, why, sizeof why),
                     ERR_WEAK_PASSWORD);
    assert_string_equal(bad, "password");
    assert_int_equal(staff_create(st, mk, "admin-cli", T0_MS, "not-an-email", "support", pw, &s, uri2, &bad, why, sizeof why),
                     ERR_INVALID_PARAM);
    assert_string_equal(bad, "email");

    /* a failed create wipes the URI it was given: enrol a second account */
    assert_int_equal(staff_create(st, mk, "admin-cli", T0_MS, "fraud@kessai.example", "fraud_analyst", pw, &s, uri, &bad, why, sizeof why),
                     ERR_OK);
    uint8_t seed[TOTP_SEED_BYTES];
    assert_int_equal(b32_seed(uri, seed), 0);
    int64_t now = 1764200000;
    char code[TOTP_DIGITS + 1], wrong[16];
    assert_int_equal(totp_code(seed, now, code), ERR_OK);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
    const int64_t now_ms = now * 1000 + 572;
    assert_int_equal(staff_confirm_totp(st, mk, "admin-cli", "fraud@kessai.example", wrong, now_ms), ERR_INVALID_CODE);
    assert_int_equal(staff_confirm_totp(st, mk, "admin-cli", "fraud@kessai.example", code, now_ms), ERR_OK);
    /* the entry keeps the millisecond: it never sorts before the create's */
    struct security_event ev[32];
    size_t nev = 0;
    assert_int_equal(st->ops->security_event_list(st, 0, 0, 32, ev, &nev), ERR_OK);
    assert_true(nev > 0 && nev < 32);
    assert_string_equal(ev[nev - 1].kind, "staff_confirmed");
    assert_int_equal(ev[nev - 1].at_ms, now_ms);
    assert_int_equal(staff_confirm_totp(st, mk, "admin-cli", "fraud@kessai.example", code, now_ms), ERR_INVALID_CODE); /* used */
    assert_int_equal(staff_confirm_totp(st, mk, "admin-cli", "nobody@kessai.example", code, now_ms), ERR_STAFF_NOT_FOUND);
    /* another master key cannot open the seed: an error, never a pass */
    uint8_t other[MASTERKEY_BYTES];
    randombytes_buf(other, sizeof other);
    assert_int_equal(staff_confirm_totp(st, other, "admin-cli", "fraud@kessai.example", code, (now + 60) * 1000), ERR_INTERNAL);

    struct staff got;
    assert_int_equal(st->ops->staff_get_by_email(st, "fraud@kessai.example", &got), ERR_OK);
    assert_string_equal(staff_status(&got), "active");
    assert_true(auth_password_verify(got.password_hash, pw));
    assert_int_equal(staff_set_disabled(st, "admin-cli", "Fraud@kessai.example", true, T0_MS), ERR_OK);
    assert_int_equal(st->ops->staff_get_by_email(st, "fraud@kessai.example", &got), ERR_OK);
    assert_string_equal(staff_status(&got), "disabled");

    struct staff list[4];
    size_t n = 0;
    assert_int_equal(st->ops->staff_list(st, 0, 4, list, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(st->ops->staff_list(st, list[0].id, 4, list, &n), ERR_OK);
    assert_int_equal(n, 1);
    store_close(st);

    /* neither the seed nor the password is in the database file */
    char path[600];
    tu_path(path, sizeof path, dir, "kessai.db");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    tu_path(path, sizeof path, dir, "kessai.db-wal");
    f = fopen(path, "rb");
    if (f) {
        len += fread(buf + len, 1, sizeof buf - len, f);
        fclose(f);
    }
    assert_null(memmem(buf, len, seed, sizeof seed));
    assert_null(memmem(buf, len, pw, strlen(pw)));
    tu_rmtree(dir);
    free(dir);
}

/* A sign-in reads the staff row, then hashes the password (slow), then
 * spends the code.  What commits in between wins: a disable stays (the
 * sign-in fails, and the row stays disabled), and another sign-in that spent
 * the same code makes this one fail (one code, one session).  The race is
 * run just before the spend, after the hash. */
static const struct store_ops *race_real;
static int race_kind; /* 0: a disable, 1: the same code spent */
static int64_t race_step;

static enum err spend_after_a_race(struct store *st, int64_t id, int64_t step)
{
    st->ops = race_real; /* once */
    if (race_kind == 0)
        assert_int_equal(staff_set_disabled(st, "admin-cli", "fraud@kessai.example", true, T0_MS), ERR_OK);
    else
        assert_int_equal(st->ops->staff_totp_spend(st, id, race_step), ERR_OK);
    return st->ops->staff_totp_spend(st, id, step);
}

static void what_commits_during_a_sign_in_wins(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct staff s;
    char uri[TOTP_URI_MAX], why[256], code[TOTP_DIGITS + 1], token[SECRET_TOKEN_BUF];
    const char *bad = NULL;
    const char *pw = "violet tuesday gravel lantern";
    assert_int_equal(staff_create(st, mk, "admin-cli", T0_MS, "fraud@kessai.example", "fraud_analyst", pw, &s, uri,
                                  &bad, why, sizeof why),
                     ERR_OK);
    uint8_t seed[TOTP_SEED_BYTES];
    assert_int_equal(b32_seed(uri, seed), 0);
    int64_t now = 1764200010; /* seconds, inside a step */
    assert_int_equal(totp_code(seed, now, code), ERR_OK);
    assert_int_equal(staff_confirm_totp(st, mk, "admin-cli", "fraud@kessai.example", code, now * 1000), ERR_OK);
    struct auth_ctx a = {.st = st, .master_key = mk, .client_addr = "192.0.2.7"};
    struct staff_session out;
    struct store_ops racing = *st->ops;
    racing.staff_totp_spend = spend_after_a_race;
    race_real = st->ops;

    /* another sign-in spent this code first */
    now += 60;
    a.now = now * 1000;
    assert_int_equal(totp_code(seed, now, code), ERR_OK);
    race_kind = 1;
    race_step = now / 30;
    st->ops = &racing;
    assert_int_equal(staff_login(&a, "fraud@kessai.example", pw, code, token, &out), ERR_INVALID_CREDENTIALS);
    assert_ptr_equal(st->ops, race_real);

    /* disabled while the password was being checked */
    now += 60;
    a.now = now * 1000;
    assert_int_equal(totp_code(seed, now, code), ERR_OK);
    race_kind = 0;
    st->ops = &racing;
    assert_int_equal(staff_login(&a, "fraud@kessai.example", pw, code, token, &out), ERR_INVALID_CREDENTIALS);
    struct staff got;
    assert_int_equal(st->ops->staff_get_by_email(st, "fraud@kessai.example", &got), ERR_OK);
    assert_string_equal(staff_status(&got), "disabled");
    /* and the log says why: disabled, not a wrong code */
    struct security_event ev[64];
    size_t nev = 0;
    assert_int_equal(st->ops->security_event_list(st, 0, 0, 64, ev, &nev), ERR_OK);
    assert_true(nev > 0 && nev < 64);
    assert_string_equal(ev[nev - 1].kind, "staff_login_failed");
    assert_non_null(strstr(ev[nev - 1].detail, "\"disabled\""));
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(password_policy_has_length_and_dictionary_but_no_composition_rules),
        cmocka_unit_test(password_hash_is_argon2id_and_never_truncates),
        cmocka_unit_test(totp_accepts_drift_of_one_step_and_never_twice),
        cmocka_unit_test(the_otpauth_uri_fits_the_longest_address_of_special_characters),
        cmocka_unit_test(email_addresses_are_normalised_or_refused),
        cmocka_unit_test(staff_need_a_confirmed_second_factor),
        cmocka_unit_test(what_commits_during_a_sign_in_wins),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    oath_done();
    return rc;
}
