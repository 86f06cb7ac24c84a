/* test_api_login_risk.c: the risk engine scores logins (auth/login_risk.h,
 * docs/risk.md "Logins"), over HTTP, from the attacker's side.  A
 * credential-stuffing run from one address works through several
 * accounts: past the address threshold (set to 3 here; 15 by default)
 * every further attempt is refused with the same 403 risk_denied, whether
 * the password was right (even with the right code), wrong, or for an
 * address nobody has; a refused attempt makes no session and locks
 * nobody out; the victims, signing in from their own phones elsewhere,
 * get in; every refusal is an audit entry and a stored decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <liboath/oath.h>
#include <sodium.h>

#include "api_client.h"
#include "auth/customer_types.h"
#include "auth/totp.h"
#include "risk/risk_types.h"
#include "store/store.h"
#include "util/ids.h"
#include "testutil.h"

/* POST /v1/login from `who` (no session) with device d: password, and a
 * TOTP code or none. */
static struct ac_resp attempt(struct ac_server *s, const struct ac_who *who, const struct ac_device *d,
                              const char *email, const char *password, const char *code)
{
    struct ac_resp r = ac_call(s, who, "POST", "/v1/login/challenge", json_object());
    AC_EXPECT_STATUS(r, 200);
    char challenge[128], msg[256], sig_b64[128];
    snprintf(challenge, sizeof challenge, "%s", ac_str(&r, "challenge"));
    ac_resp_free(&r);
    snprintf(msg, sizeof msg, "kessai-login-v1:%s", challenge);
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, strlen(msg), d->sk);
    sodium_bin2base64(sig_b64, sizeof sig_b64, sig, sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s}", "email", email, "password", password, "device",
                             "public_key", d->pk_b64, "name", d->name, "challenge", challenge, "signature", sig_b64);
    if (code)
        json_object_set_new(body, "totp_code", json_string(code));
    return ac_call(s, who, "POST", "/v1/login", body);
}

/* A 403 risk_denied: its error object, for comparing answers. */
static json_t *denied(struct ac_resp r)
{
    AC_EXPECT_ERROR(r, 403, "risk_denied");
    json_t *err = json_incref(json_object_get(r.j, "error"));
    assert_null(json_object_get(err, "param"));
    assert_null(json_object_get(r.j, "session_token"));
    ac_resp_free(&r);
    return err;
}

static void stuffing_from_one_address_is_refused(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    const char *const env[] = {"KESSAI_RISK_LOGIN_SHARED_ADDR_ACCOUNTS=3", NULL};
    ac_server_start(&s, env);
    struct ac_user v[5];
    char tag[32];
    for (int i = 0; i < 5; i++) {
        snprintf(tag, sizeof tag, "victim%d", i);
        ac_user_enrolled(&s, &v[i], tag);
    }
    struct ac_who thief = ac_new_source(&s);
    struct ac_device phone;
    ac_device_new(&phone, "thief");

    /* three accounts: ordinary failures (throttle.h blocks the address at 5) */
    struct ac_resp r = attempt(&s, &thief, &phone, v[0].email, "not-the-password", NULL);
    AC_EXPECT_ERROR(r, 401, "invalid_credentials");
    ac_resp_free(&r);
    r = attempt(&s, &thief, &phone, v[1].email, v[1].password, NULL); /* right password, no code */
    AC_EXPECT_ERROR(r, 401, "invalid_credentials");
    ac_resp_free(&r);
    r = attempt(&s, &thief, &phone, v[2].email, "another-guess", NULL);
    AC_EXPECT_ERROR(r, 401, "invalid_credentials");
    ac_resp_free(&r);

    /* the fourth account from the address: refused before the password
     * counts, the same answer whatever was typed */
    char code[TOTP_DIGITS + 1];
    ac_totp_next(&v[3], code);
    json_t *right = denied(attempt(&s, &thief, &phone, v[3].email, v[3].password, code));
    json_t *wrong = denied(attempt(&s, &thief, &phone, v[4].email, "wrong-password", NULL));
    json_t *nobody = denied(attempt(&s, &thief, &phone, "nobody@example.com", "whatever-it-is", NULL));
    json_t *again = denied(attempt(&s, &thief, &phone, v[0].email, v[0].password, NULL));
    assert_true(json_equal(right, wrong));
    assert_true(json_equal(right, nobody));
    assert_true(json_equal(right, again));
    json_decref(right);
    json_decref(wrong);
    json_decref(nobody);
    json_decref(again);

    /* the customers elsewhere, on their own phones, get in (v[3]'s code
     * above was not spent, nor counted against the account) */
    ac_login(&s, &v[4], NULL);
    ac_login(&s, &v[3], NULL);
    r = ac_call(&s, &v[3].who, "GET", "/v1/me", NULL);
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);

    assert_int_equal(ac_server_stop(&s), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", s.data);
    struct store *st = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    static struct security_event ev[512];
    size_t n = 0;
    assert_int_equal(st->ops->security_event_list(st, 0, 0, 512, ev, &n), ERR_OK);
    int denials = 0, unknown = 0, thief_in = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ev[i].kind, "risk_denied") == 0) {
            assert_string_equal(ev[i].outcome, "failure");
            assert_string_equal(ev[i].client_addr, thief.source);
            assert_non_null(strstr(ev[i].detail, "\"kind\":\"login\""));
            assert_non_null(strstr(ev[i].detail, "shared_address"));
            denials++;
            unknown += ev[i].customer_id == 0 && strcmp(ev[i].actor, "system") == 0;
        }
        thief_in += strcmp(ev[i].kind, "login_succeeded") == 0 && strcmp(ev[i].client_addr, thief.source) == 0;
    }
    assert_int_equal(denials, 4);
    assert_int_equal(unknown, 1);
    assert_int_equal(thief_in, 0);
    /* the stored decision, with its reasons */
    int64_t cid = 0;
    assert_int_equal(ids_parse(v[3].customer_id, CUSTOMER_ID_PREFIX, &cid), ERR_OK);
    struct risk_decision_row rows[8];
    assert_int_equal(st->ops->risk_decision_list(st, cid, 0, 8, rows, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].kind, "login");
    assert_string_equal(rows[0].decision, "deny");
    assert_non_null(strstr(rows[0].reasons, "\"rule\":\"shared_address\""));
    store_close(st);
    ac_assert_audit_intact(&s);
    ac_server_cleanup(&s);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stuffing_from_one_address_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
