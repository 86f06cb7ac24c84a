/* test_api_paycodes.c: payment codes over HTTP, against a real kessaid
 * (api_client.h): what the wallet app gets from POST /v1/paycodes and
 * POST /v1/paycodes/offline-key, what hostile or half-authenticated callers
 * get, and that a removed phone gets nothing more.  At the end the server
 * is stopped and its data directory and log are searched for every code and
 * key the test saw: none may be there.  (Resolving and consuming codes at
 * the register is test_paycode's, at the domain level, and the charge
 * tests'.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <liboath/oath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_client.h"
#include "qr_read.h"
#include "util/luhn.h"
#include "util/timeutil.h"
#include "wallet/paycode.h"

static struct ac_server srv;

static int fx_up(void **state)
{
    (void)state;
    ac_server_init(&srv);
    ac_server_start(&srv, NULL);
    return 0;
}

static int fx_down(void **state)
{
    (void)state;
    ac_server_cleanup(&srv);
    return 0;
}

static bool is_svg(const char *s)
{
    return s && strncmp(s, "<svg xmlns='http://www.w3.org/2000/svg'", 39) == 0 &&
           strcmp(s + strlen(s) - 6, "</svg>") == 0 && strstr(s, "<script") == NULL;
}

static void a_code_with_its_images(void **state)
{
    (void)state;
    struct ac_user u;
    ac_user_enrolled(&srv, &u, "pay");
    char first[PAYCODE_DIGITS + 1] = "";
    for (int i = 0; i < 3; i++) {
        struct ac_resp r = ac_call(&srv, &u.who, "POST", "/v1/paycodes", json_object());
        AC_EXPECT_STATUS(r, 201);
        const char *code = ac_str(&r, "code");
        assert_non_null(code);
        ac_remember(&srv, code);
        assert_int_equal(strlen(code), PAYCODE_DIGITS);
        assert_int_equal(code[0], '8');
        assert_true(luhn_valid(code));
        assert_string_not_equal(code, first);
        if (i == 0)
            snprintf(first, sizeof first, "%s", code);
        assert_non_null(ac_str(&r, "expires_at"));
        assert_true(is_svg(ac_str(&r, "qr_svg")));
        char scanned[32];
        assert_true(qr_read_svg(ac_str(&r, "qr_svg"), scanned, sizeof scanned));
        assert_string_equal(scanned, code);
        assert_true(is_svg(ac_str(&r, "barcode_svg")));
        assert_non_null(strstr(ac_str(&r, "barcode_svg"), "<path fill='#000' d='M"));
        assert_int_equal(json_object_size(r.j), 4);
        ac_resp_free(&r);
    }
}

static void hostile_and_half_authenticated_callers(void **state)
{
    (void)state;
    struct ac_user u;
    ac_user_enrolled(&srv, &u, "hostile");
    const char *paths[] = {"/v1/paycodes", "/v1/paycodes/offline-key"};
    for (size_t i = 0; i < 2; i++) {
        /* no session */
        struct ac_who anon = ac_new_source(&srv);
        struct ac_resp r = ac_call(&srv, &anon, "POST", paths[i], json_object());
        AC_EXPECT_ERROR(r, 401, "unauthenticated");
        ac_resp_free(&r);
        /* anything but an empty object */
        r = ac_call(&srv, &u.who, "POST", paths[i], json_pack("{s:s}", "device_id", "dev_0000000000001"));
        AC_EXPECT_ERROR(r, 400, "unknown_param");
        ac_resp_free(&r);
        r = ac_call_raw(&srv, &u.who, "POST", paths[i], NULL, "{\"a\":", false);
        AC_EXPECT_STATUS(r, 400);
        ac_resp_free(&r);
        r = ac_call_raw(&srv, &u.who, "POST", paths[i], NULL, "[]", false);
        AC_EXPECT_STATUS(r, 400);
        ac_resp_free(&r);
    }
    /* the session with another device's id: refused, and revoked on the spot */
    struct ac_who wrong = u.who;
    wrong.device_id = "dev_0000000000001";
    struct ac_resp r = ac_call(&srv, &wrong, "POST", "/v1/paycodes", json_object());
    AC_EXPECT_ERROR(r, 401, "unauthenticated");
    ac_resp_free(&r);
    r = ac_call(&srv, &u.who, "POST", "/v1/paycodes", json_object());
    AC_EXPECT_ERROR(r, 401, "unauthenticated");
    ac_resp_free(&r);
}

static void an_offline_key_once_and_not_for_a_removed_phone(void **state)
{
    (void)state;
    struct ac_user u, tablet;
    ac_user_enrolled(&srv, &u, "offline");
    struct ac_resp r = ac_call(&srv, &u.who, "POST", "/v1/paycodes/offline-key", json_object());
    AC_EXPECT_STATUS(r, 201);
    const char *key = ac_str(&r, "key");
    assert_non_null(key);
    ac_remember(&srv, key);
    assert_int_equal(strlen(key), OFFLINE_KEY_B64_LEN);
    uint8_t raw[32];
    size_t len = 0;
    assert_int_equal(sodium_base642bin(raw, sizeof raw, key, strlen(key), NULL, &len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    assert_int_equal(len, 32);
    const char *oid = ac_str(&r, "offline_id");
    assert_non_null(oid);
    assert_int_equal(strlen(oid), 7);
    assert_int_equal(strspn(oid, "0123456789"), 7);
    assert_int_equal(json_integer_value(json_object_get(r.j, "step_seconds")), 30);
    assert_string_equal(ac_str(&r, "algorithm"), "kessai-offline-v1");
    /* it pays for 30 days, and the app is told until when */
    int64_t expires = 0;
    assert_non_null(ac_str(&r, "expires_at"));
    assert_int_equal(time_parse_iso8601(ac_str(&r, "expires_at"), &expires), ERR_OK);
    int64_t left = expires - (int64_t)time(NULL) * 1000;
    assert_true(left > PAYCODE_OFFLINE_KEY_LIFETIME_MS - 60000 && left <= PAYCODE_OFFLINE_KEY_LIFETIME_MS + 1000);
    /* the phone can derive a code in the documented format */
    char code[PAYCODE_DIGITS + 1];
    paycode_offline_derive(raw, atoll(oid), (int64_t)time(NULL) / OFFLINE_STEP_S, code);
    assert_memory_equal(code + 1, oid, 7);
    assert_true(luhn_valid(code));
    ac_remember(&srv, code);
    sodium_memzero(raw, sizeof raw);
    ac_resp_free(&r);

    /* a second phone gets codes until the first removes it */
    tablet = u;
    struct ac_device d;
    ac_device_new(&d, "tablet");
    ac_login(&srv, &tablet, &d);
    r = ac_call(&srv, &tablet.who, "POST", "/v1/paycodes", json_object());
    AC_EXPECT_STATUS(r, 201);
    ac_remember(&srv, ac_str(&r, "code"));
    ac_resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/v1/devices/%s", tablet.device_id);
    r = ac_call(&srv, &u.who, "DELETE", path, NULL);
    AC_EXPECT_STATUS(r, 204);
    ac_resp_free(&r);
    r = ac_call(&srv, &tablet.who, "POST", "/v1/paycodes", json_object());
    AC_EXPECT_ERROR(r, 401, "unauthenticated");
    ac_resp_free(&r);
    r = ac_call(&srv, &tablet.who, "POST", "/v1/paycodes/offline-key", json_object());
    AC_EXPECT_ERROR(r, 401, "unauthenticated");
    ac_resp_free(&r);
}

/* Last: it stops the server. */
static void no_code_or_key_at_rest(void **state)
{
    (void)state;
    assert_int_equal(ac_server_stop(&srv), 0);
    ac_assert_no_secrets(&srv);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_code_with_its_images),
        cmocka_unit_test(hostile_and_half_authenticated_callers),
        cmocka_unit_test(an_offline_key_once_and_not_for_a_removed_phone),
        cmocka_unit_test(no_code_or_key_at_rest),
    };
    int failed = cmocka_run_group_tests_name("api_paycodes", tests, fx_up, fx_down);
    oath_done();
    curl_global_cleanup();
    return failed;
}
