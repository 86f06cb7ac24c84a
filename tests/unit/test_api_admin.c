/* test_api_admin.c: the admin API over HTTP (docs/admin-api.md): staff sign
 * in with password and TOTP together, roles are checked on every endpoint,
 * and operators' switches and freezes reach the customer endpoints at once.
 * From the attacker's side too: a guessed password, a replayed code, a
 * customer's token, a support agent reaching for a switch — each refused and
 * recorded. */
#include <pthread.h>
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

#include "api_client.h"
#include "api_staff.h"
#include "auth/customer_types.h"
#include "auth/totp.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "ops/staff_session.h"
#include "store/store.h"
#include "util/ids.h"
#include "wallet/topup.h"
#include "testutil.h"

/* Password and code together; neither alone, nor a code twice, nor a
 * customer's token; signing out ends the token. */
static void staff_sign_in_needs_both_factors(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    ac_server_start(&s, NULL);
    struct ac_staffer ana;
    ac_staffer_new(&s, &ana, "ana@kessai.example", "fraud_analyst");

    char code[TOTP_DIGITS + 1];
    ac_totp_next(&ana.u, code);
    struct ac_resp r = ac_staff_sign_in(&s, &ana, "not the password at all", code);
    AC_EXPECT_ERROR(r, 401, "invalid_credentials");
    ac_resp_free(&r);
    r = ac_staff_sign_in(&s, &ana, AC_STAFF_PASSWORD, "000000");
    AC_EXPECT_ERROR(r, 401, "invalid_credentials");
    ac_resp_free(&r);
    struct ac_staffer ghost = ana;
    snprintf(ghost.u.email, sizeof ghost.u.email, "nobody@kessai.example");
    r = ac_staff_sign_in(&s, &ghost, AC_STAFF_PASSWORD, code);
    AC_EXPECT_ERROR(r, 401, "invalid_credentials"); /* an unknown address answers the same */
    ac_resp_free(&r);
    r = ac_call(&s, &ana.u.who, "POST", "/admin/v1/sessions",
                json_pack("{s:s, s:s}", "email", ana.u.email, "password", AC_STAFF_PASSWORD));
    AC_EXPECT_ERROR(r, 400, "missing_param"); /* no password-only step to probe */
    ac_resp_free(&r);

    ac_staff_sign_in_ok(&s, &ana);
    r = ac_call(&s, &ana.u.who, "GET", "/admin/v1/me", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_string_equal(ac_str(&r, "role"), "fraud_analyst");
    assert_string_equal(ac_str(&r, "id"), ana.id);
    ac_resp_free(&r);
    /* the code that just signed in is spent: shoulder-surfing it buys nothing */
    ana.u.last_step--;
    ac_totp_next(&ana.u, code);
    r = ac_staff_sign_in(&s, &ana, AC_STAFF_PASSWORD, code);
    AC_EXPECT_ERROR(r, 401, "invalid_credentials");
    ac_resp_free(&r);

    /* a customer's session is no staff session */
    struct ac_user c;
    ac_user_enrolled(&s, &c, "cust");
    assert_int_equal(ac_call_status(&s, &c.who, "GET", "/admin/v1/me", NULL, "unauthenticated"), 401);

    assert_int_equal(ac_call_status(&s, &ana.u.who, "DELETE", "/admin/v1/sessions/current", NULL, NULL), 204);
    assert_int_equal(ac_call_status(&s, &ana.u.who, "GET", "/admin/v1/me", NULL, "unauthenticated"), 401);

    /* Disabled (a stolen token, say), then enabled again for its owner:
     * the token from before stays dead; a new sign-in works. */
    ac_staff_sign_in_ok(&s, &ana);
    assert_int_equal(ac_cli(&s, "admin staff disable ana@kessai.example >/dev/null"), 0);
    assert_int_equal(ac_call_status(&s, &ana.u.who, "GET", "/admin/v1/me", NULL, "unauthenticated"), 401);
    assert_int_equal(ac_cli(&s, "admin staff enable ana@kessai.example >/dev/null"), 0);
    assert_int_equal(ac_call_status(&s, &ana.u.who, "PUT", "/admin/v1/killswitches/topups",
                                    json_pack("{s:b, s:s}", "on", 1, "reason", "stolen token at work"),
                                    "unauthenticated"),
                     401);
    ac_staff_sign_in_ok(&s, &ana);
    assert_int_equal(ac_call_status(&s, &ana.u.who, "GET", "/admin/v1/me", NULL, NULL), 200);
    ac_assert_no_secrets(&s);
    ac_server_cleanup(&s);
}

/* Guessing the password locks the address: five failures in a row within
 * 15 minutes, then even the right password and code fail; the lock-out is
 * recorded.  A success in between starts the count again. */
static void password_guessing_locks_the_staff_account(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    ac_server_start(&s, NULL);
    struct ac_staffer bo;
    ac_staffer_new(&s, &bo, "bo@kessai.example", "administrator");
    /* four mistakes, then the right password: a success clears the count */
    for (int i = 0; i < 4; i++) {
        struct ac_resp r = ac_staff_sign_in(&s, &bo, "a wrong password typed", "123456");
        AC_EXPECT_ERROR(r, 401, "invalid_credentials");
        ac_resp_free(&r);
    }
    ac_staff_sign_in_ok(&s, &bo);
    for (int i = 0; i < 5; i++) {
        char guess[48];
        snprintf(guess, sizeof guess, "guess number %d of many", i);
        bo.u.who = ac_new_source(&s); /* from many addresses: the per-address limit is not what stops it */
        struct ac_resp r = ac_staff_sign_in(&s, &bo, guess, "123456");
        AC_EXPECT_ERROR(r, 401, "invalid_credentials");
        ac_resp_free(&r);
    }
    char code[TOTP_DIGITS + 1];
    ac_totp_next(&bo.u, code);
    struct ac_resp r = ac_staff_sign_in(&s, &bo, AC_STAFF_PASSWORD, code);
    AC_EXPECT_ERROR(r, 401, "invalid_credentials");
    ac_resp_free(&r);
    assert_int_equal(ac_server_stop(&s), 0);
    static struct security_event ev[64];
    size_t n = ac_load_events(&s, ev, 64);
    int failed = 0, locked = 0;
    for (size_t i = 0; i < n; i++) {
        failed += strcmp(ev[i].kind, "staff_login_failed") == 0;
        locked += strcmp(ev[i].kind, "staff_locked") == 0;
    }
    assert_int_equal(failed, 10);
    assert_int_equal(locked, 1);
    ac_server_cleanup(&s);
}

struct guess {
    struct ac_server *s;
    struct ac_staffer m;
    int i;
    long status;
};

static void *guess_main(void *arg)
{
    struct guess *g = arg;
    char pw[64];
    snprintf(pw, sizeof pw, "parallel guess number %d", g->i);
    struct ac_resp r = ac_staff_sign_in(g->s, &g->m, pw, "123456");
    g->status = r.status; /* asserted by the main thread: cmocka's are not thread-safe */
    ac_resp_free(&r);
    return NULL;
}

/* Guesses sent all at once, from many addresses, to many password
 * workers: each is counted before its password is checked, so no more
 * than the five of a lock-out are ever checked. */
static void guesses_sent_together_get_five_tries(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    ac_server_start(&s, (const char *[]){"KESSAI_AUTH_WORKERS=16", NULL});
    struct ac_staffer bo;
    ac_staffer_new(&s, &bo, "bo@kessai.example", "administrator");
    enum { N = 24 };
    static struct guess g[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        g[i] = (struct guess){.s = &s, .m = bo, .i = i};
        g[i].m.u.who = ac_new_source(&s);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&t[i], NULL, guess_main, &g[i]), 0);
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(g[i].status, 401);
    }
    assert_int_equal(ac_server_stop(&s), 0);
    static struct security_event ev[256];
    size_t n = ac_load_events(&s, ev, 256);
    int checked = 0, locked_out = 0, locked = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ev[i].kind, "staff_login_failed") == 0) {
            checked += strstr(ev[i].detail, "\"password\"") != NULL;
            locked_out += strstr(ev[i].detail, "\"locked\"") != NULL;
        }
        locked += strcmp(ev[i].kind, "staff_locked") == 0;
    }
    assert_int_equal(checked, STAFF_LOGIN_FAILURES_MAX);
    assert_int_equal(locked_out, N - STAFF_LOGIN_FAILURES_MAX);
    assert_int_equal(locked, 1);
    ac_server_cleanup(&s);
}

/* Roles on every endpoint: support may freeze and sign a customer out but
 * not unfreeze or touch a switch (403, recorded); a fraud analyst may.  The
 * switch and the freeze reach the customer's own requests at once. */
static void roles_and_controls(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    ac_server_start(&s, NULL);
    struct ac_staffer sam, ana;
    ac_staffer_new(&s, &sam, "sam@kessai.example", "support");
    ac_staffer_new(&s, &ana, "ana@kessai.example", "fraud_analyst");
    ac_staff_sign_in_ok(&s, &sam);
    ac_staff_sign_in_ok(&s, &ana);
    struct ac_user c;
    ac_user_enrolled(&s, &c, "victim");
    char path[256];

    /* support: no switches, no unfreeze */
    assert_int_equal(ac_call_status(&s, &sam.u.who, "PUT", "/admin/v1/killswitches/topups",
                                 json_pack("{s:b, s:s}", "on", 1, "reason", "card testing wave"), "forbidden"),
                     403);
    snprintf(path, sizeof path, "/admin/v1/customers/%s/freeze", c.customer_id);
    assert_int_equal(ac_call_status(&s, &sam.u.who, "POST", path, json_pack("{s:s}", "reason", "reported stolen phone"),
                                 NULL),
                     200);
    /* the freeze ended the customer's sessions (a thief's with them), and
     * the customer hears of it */
    assert_int_equal(ac_call_status(&s, &c.who, "GET", "/v1/balance", NULL, "unauthenticated"), 401);
    free(ac_mail_wait(&s, c.email, "was frozen"));
    ac_login(&s, &c, NULL);
    snprintf(path, sizeof path, "/admin/v1/customers/%s/unfreeze", c.customer_id);
    assert_int_equal(ac_call_status(&s, &sam.u.who, "POST", path, json_pack("{s:s}", "reason", "owner called"),
                                 "forbidden"),
                     403);
    assert_int_equal(ac_call_status(&s, &ana.u.who, "POST", path, json_pack("{s:s}", "reason", "owner verified by phone"),
                                 NULL),
                     200);
    free(ac_mail_wait(&s, c.email, "unfrozen"));
    /* sign-out ends every session of the customer */
    snprintf(path, sizeof path, "/admin/v1/customers/%s/sign-out", c.customer_id);
    struct ac_resp r = ac_call(&s, &sam.u.who, "POST", path, json_object());
    AC_EXPECT_STATUS(r, 200);
    assert_true(json_integer_value(json_object_get(r.j, "sessions_revoked")) >= 1);
    ac_resp_free(&r);
    assert_int_equal(ac_call_status(&s, &c.who, "GET", "/v1/balance", NULL, "unauthenticated"), 401);
    assert_int_equal(ac_call_status(&s, &ana.u.who, "POST", "/admin/v1/customers/usr_999999/freeze",
                                 json_pack("{s:s}", "reason", "x"), "not_found"),
                     404);

    /* a fraud analyst stops card top-ups; the reason reaches callers */
    assert_int_equal(ac_call_status(&s, &ana.u.who, "PUT", "/admin/v1/killswitches/card_topups",
                                 json_pack("{s:b}", "on", 1), "missing_param"),
                     400);
    assert_int_equal(ac_call_status(&s, &ana.u.who, "PUT", "/admin/v1/killswitches/no_such_switch",
                                 json_pack("{s:b, s:s}", "on", 1, "reason", "x"), "not_found"),
                     404);
    /* a mistyped store or merchant: it would look stopped while it pays on */
    assert_int_equal(ac_call_status(&s, &ana.u.who, "PUT", "/admin/v1/killswitches/payments@str_00000000000zz",
                                 json_pack("{s:b, s:s}", "on", 1, "reason", "x"), "store_not_found"),
                     404);
    assert_int_equal(ac_call_status(&s, &ana.u.who, "PUT", "/admin/v1/killswitches/payments@mer_00000000000zz",
                                 json_pack("{s:b, s:s}", "on", 1, "reason", "x"), "merchant_not_found"),
                     404);
    r = ac_call(&s, &ana.u.who, "PUT", "/admin/v1/killswitches/card_topups",
                json_pack("{s:b, s:s}", "on", 1, "reason", "card testing wave"));
    AC_EXPECT_STATUS(r, 200);
    json_t *k = json_object_get(r.j, "killswitch");
    assert_true(json_is_true(json_object_get(k, "on")));
    assert_string_equal(json_string_value(json_object_get(k, "set_by")), ana.id);
    ac_resp_free(&r);
    r = ac_call(&s, &sam.u.who, "GET", "/admin/v1/killswitches", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "killswitches")), 1);
    ac_resp_free(&r);
    /* new registrations and new card links stop at the door, with the reason */
    r = ac_call(&s, &ana.u.who, "PUT", "/admin/v1/killswitches/registrations",
                json_pack("{s:b, s:s}", "on", 1, "reason", "bot sign-up wave"));
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
    r = ac_call(&s, &c.who, "PUT", "/admin/v1/killswitches/card_links",
                json_pack("{s:b, s:s}", "on", 1, "reason", "x"));
    AC_EXPECT_STATUS(r, 401); /* a customer cannot */
    ac_resp_free(&r);
    r = ac_call(&s, &ana.u.who, "PUT", "/admin/v1/killswitches/card_links",
                json_pack("{s:b, s:s}", "on", 1, "reason", "stolen card numbers tested"));
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
    struct ac_who stranger = ac_new_source(&s);
    r = ac_call(&s, &stranger, "POST", "/v1/registrations",
                json_pack("{s:s, s:s}", "email", "new.one@example.com", "password", "a long enough passphrase"));
    AC_EXPECT_ERROR(r, 503, "service_suspended");
    assert_non_null(strstr(r.raw, "bot sign-up wave"));
    ac_resp_free(&r);
    ac_login(&s, &c, NULL); /* fresh second factor, as linking asks */
    r = ac_call(&s, &c.who, "POST", "/v1/cards",
                json_pack("{s:s, s:i, s:i, s:s}", "number", "4242424242424242", "exp_month", 12, "exp_year", 2030, "cvc",
                          "123"));
    AC_EXPECT_ERROR(r, 503, "service_suspended");
    assert_non_null(strstr(r.raw, "stolen card numbers tested"));
    ac_resp_free(&r);
    r = ac_call(&s, &ana.u.who, "PUT", "/admin/v1/killswitches/registrations", json_pack("{s:b}", "on", 0));
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
    r = ac_call(&s, &stranger, "POST", "/v1/registrations",
                json_pack("{s:s, s:s}", "email", "new.one@example.com", "password", "a long enough passphrase"));
    AC_EXPECT_STATUS(r, 202);
    ac_resp_free(&r);

    r = ac_call_idem(&s, &ana.u.who, "POST", "/v1/topups", "k1", json_pack("{s:s, s:I}", "card_id", "crd_1", "amount",
                                                                            (json_int_t)1000));
    AC_EXPECT_STATUS(r, 401); /* a staff token is no customer session either */
    ac_resp_free(&r);

    /* the log is searchable by customer, actor, action and time; reading
     * it is for support, fraud and administrators, not finance */
    snprintf(path, sizeof path, "/admin/v1/audit?customer=%s&limit=100", c.customer_id);
    r = ac_call(&s, &ana.u.who, "GET", path, NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *entries = json_object_get(r.j, "entries");
    int frozen_by_sam = 0;
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *en = json_array_get(entries, i);
        assert_string_equal(json_string_value(json_object_get(en, "customer")), c.customer_id);
        frozen_by_sam += strcmp(json_string_value(json_object_get(en, "action")), "account_frozen") == 0 &&
                         strcmp(json_string_value(json_object_get(en, "actor")), sam.id) == 0;
    }
    assert_int_equal(frozen_by_sam, 1);
    ac_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/audit?actor=%s&action=killswitch_set&since=2026-01-01", sam.id);
    r = ac_call(&s, &sam.u.who, "GET", path, NULL);
    AC_EXPECT_STATUS(r, 200);
    entries = json_object_get(r.j, "entries");
    assert_int_equal(json_array_size(entries), 1); /* the switch sam was refused */
    assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 0), "outcome")), "failure");
    ac_resp_free(&r);
    assert_int_equal(ac_call_status(&s, &ana.u.who, "GET", "/admin/v1/audit?since=yesterday", NULL, "invalid_param"), 400);
    assert_int_equal(ac_call_status(&s, &ana.u.who, "GET", "/admin/v1/audit?limit=1000", NULL, "invalid_param"), 400);
    struct ac_staffer fin;
    ac_staffer_new(&s, &fin, "fin@kessai.example", "finance");
    ac_staff_sign_in_ok(&s, &fin);
    assert_int_equal(ac_call_status(&s, &fin.u.who, "GET", "/admin/v1/audit", NULL, "forbidden"), 403);

    /* the refusals are on record, with who tried */
    assert_int_equal(ac_server_stop(&s), 0);
    static struct security_event ev[128];
    size_t n = ac_load_events(&s, ev, 128);
    int denied = 0, done = 0, switches = 0;
    char ana_addr[64] = "";
    for (size_t i = 0; i < n; i++) {
        bool by_sam = strcmp(ev[i].actor, sam.id) == 0, by_ana = strcmp(ev[i].actor, ana.id) == 0;
        if (by_sam && strcmp(ev[i].outcome, "failure") == 0 && strstr(ev[i].detail, "forbidden"))
            denied++;
        if ((by_sam || by_ana) && strcmp(ev[i].outcome, "success") == 0 && strncmp(ev[i].kind, "staff_login", 11) != 0)
            done++;
        if (by_ana && strcmp(ev[i].kind, "staff_login_succeeded") == 0)
            snprintf(ana_addr, sizeof ana_addr, "%s", ev[i].client_addr);
        /* a switch says where its request came from, as a sign-in does */
        if (by_ana && strncmp(ev[i].kind, "killswitch_o", 12) == 0) {
            assert_true(ana_addr[0] != '\0');
            assert_string_equal(ev[i].client_addr, ana_addr);
            switches++;
        }
    }
    assert_true(switches >= 2);
    assert_int_equal(denied, 2);
    assert_true(done >= 7); /* freeze, unfreeze, sign-out, four switches */
    assert_int_equal(ac_cli(&s, "audit verify >/dev/null"), 0); /* and the chain holds */
    ac_server_cleanup(&s);
}

/* A customer lost the phone with the authenticator: after an identity
 * check, support resets the second factor.  The check is required and
 * recorded; the old seed, sessions and recovery codes are gone; the
 * customer hears of it. */
static void support_resets_a_lost_second_factor(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    ac_server_start(&s, NULL);
    struct ac_staffer sam;
    ac_staffer_new(&s, &sam, "sam@kessai.example", "support");
    ac_staff_sign_in_ok(&s, &sam);
    struct ac_user c;
    ac_user_enrolled(&s, &c, "lost-phone");
    char path[256];
    snprintf(path, sizeof path, "/admin/v1/customers/%s/reset-mfa", c.customer_id);
    struct ac_resp r = ac_call(&s, &sam.u.who, "POST", path, json_pack("{s:s}", "reason", "lost phone"));
    AC_EXPECT_ERROR(r, 400, "missing_param"); /* no reset without a recorded identity check */
    assert_string_equal(ac_err_param(&r), "identity_check");
    ac_resp_free(&r);
    assert_int_equal(ac_call_status(&s, &c.who, "GET", "/v1/balance", NULL, NULL), 200);
    r = ac_call(&s, &sam.u.who, "POST", path,
                json_pack("{s:s, s:s}", "reason", "lost phone", "identity_check",
                          "called back on the registered number; date of birth matched"));
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
    assert_int_equal(ac_call_status(&s, &c.who, "GET", "/v1/balance", NULL, "unauthenticated"), 401);
    free(ac_mail_wait(&s, c.email, "second factor of your kessai account was reset"));
    snprintf(path, sizeof path, "/admin/v1/audit?customer=%s&action=mfa_reset", c.customer_id);
    r = ac_call(&s, &sam.u.who, "GET", path, NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *en = json_array_get(json_object_get(r.j, "entries"), 0);
    assert_non_null(en);
    assert_string_equal(json_string_value(json_object_get(en, "actor")), sam.id);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(en, "detail"), "identity_check")),
                           "date of birth matched"));
    ac_resp_free(&r);
    assert_int_equal(ac_server_stop(&s), 0);
    /* the old seed is gone: a login with it cannot pass (login.c refuses an account without TOTP) */
    char db[700];
    snprintf(db, sizeof db, "%s/kessai.db", s.data);
    struct store *st = NULL;
    assert_int_equal(store_open_sqlite(db, &st), ERR_OK);
    int64_t cid = 0;
    assert_int_equal(ids_parse(c.customer_id, CUSTOMER_ID_PREFIX, &cid), ERR_OK);
    struct customer row;
    assert_int_equal(st->ops->customer_get(st, cid, &row), ERR_OK);
    assert_int_equal(row.totp_enrolled, 0);
    assert_true(row.cooldown_until_ms > 0);
    int left = -1;
    assert_int_equal(st->ops->recovery_codes_left(st, cid, &left), ERR_OK);
    assert_int_equal(left, 0);
    store_close(st);
    assert_int_equal(ac_cli(&s, "audit verify >/dev/null"), 0);
    ac_server_cleanup(&s);
}

/* Two kessaid on one database: a switch set through the first stops
 * top-ups on the second at its very next request (nothing is cached), while
 * payments there go on. */
static void a_switch_reaches_the_second_node_at_once(void **state)
{
    (void)state;
    struct ac_server a, b;
    ac_server_init(&a);
    ac_server_start(&a, NULL);
    ac_server_init(&b);
    snprintf(b.data, sizeof b.data, "%s", a.data);
    ac_server_start(&b, NULL);
    struct ac_user c;
    ac_user_enrolled(&a, &c, "two-nodes");
    char store_id[64];
    char *qr = ac_shop(&a, store_id);
    ac_fund(&a, &c, 5000);
    struct ac_staffer ana;
    ac_staffer_new(&a, &ana, "ana@kessai.example", "fraud_analyst");
    ac_staff_sign_in_ok(&a, &ana);

    struct ac_resp r = ac_call(&a, &ana.u.who, "PUT", "/admin/v1/killswitches/topups",
                               json_pack("{s:b, s:s}", "on", 1, "reason", "card fraud wave, back at 18:00"));
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
    r = ac_call_idem(&b, &c.who, "POST", "/v1/topups", "two-t1",
                     json_pack("{s:s, s:I}", "card_id", "crd_0000000000001", "amount", (json_int_t)1000));
    AC_EXPECT_ERROR(r, 503, "service_suspended");
    assert_non_null(strstr(r.raw, "card fraud wave, back at 18:00"));
    ac_resp_free(&r);
    r = ac_call_idem(&b, &c.who, "POST", "/v1/payments", "two-p1",
                     json_pack("{s:s, s:I}", "qr_payload", qr, "amount", (json_int_t)500));
    AC_EXPECT_STATUS(r, 201);
    assert_int_equal(json_integer_value(json_object_get(r.j, "balance_after")), 4500);
    ac_resp_free(&r);
    free(qr);

    assert_int_equal(ac_server_stop(&b), 0);
    assert_int_equal(ac_server_stop(&a), 0);
    assert_int_equal(ac_cli(&a, "ledger verify >/dev/null"), 0);
    assert_int_equal(ac_cli(&a, "audit verify >/dev/null"), 0);
    ac_server_cleanup(&b);
    ac_server_cleanup(&a);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(staff_sign_in_needs_both_factors),
        cmocka_unit_test(password_guessing_locks_the_staff_account),
        cmocka_unit_test(guesses_sent_together_get_five_tries),
        cmocka_unit_test(roles_and_controls),
        cmocka_unit_test(a_switch_reaches_the_second_node_at_once),
        cmocka_unit_test(support_resets_a_lost_second_factor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
