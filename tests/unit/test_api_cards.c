/* test_api_cards.c: the card endpoints over HTTP, against a real kessaid
 * (api_client.h): POST /v1/cards, POST /v1/cards/{id}/3ds, GET /v1/cards,
 * DELETE /v1/cards/{id}.  The rules themselves are tested at the domain
 * level (test_wallet_cards.c); this shows what a client sees: statuses,
 * bodies, Retry-After, hostile input refused with a clear 4xx, and no card
 * number or CVC in the data directory or the server's log afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <liboath/oath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_client.h"
#include "api_staff.h"

#define VISA_OK "4242424242424242"
#define MC_OK "5555555555554444"

struct fx {
    struct ac_server s;
    struct ac_user u;
};

static int fx_up(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    ac_server_init(&f->s);
    ac_server_start(&f->s, NULL);
    ac_user_enrolled(&f->s, &f->u, "cards");
    *state = f;
    return 0;
}

static int fx_down(void **state)
{
    struct fx *f = *state;
    ac_server_stop(&f->s);
    ac_assert_audit_intact(&f->s);
    ac_server_cleanup(&f->s);
    free(f);
    return 0;
}

static struct ac_resp post_card_on(struct ac_server *s, struct ac_user *u, const char *number, const char *cvc)
{
    ac_remember(s, number);
    if (strlen(cvc) >= 4)
        ac_remember(s, cvc);
    return ac_call(s, &u->who, "POST", "/v1/cards",
                   json_pack("{s:s, s:i, s:i, s:s}", "number", number, "exp_month", 12, "exp_year", 2035, "cvc", cvc));
}

static struct ac_resp post_card(struct fx *f, struct ac_user *u, const char *number, const char *cvc)
{
    return post_card_on(&f->s, u, number, cvc);
}

static const char *card_field(const struct ac_resp *r, const char *key)
{
    return json_string_value(json_object_get(json_object_get(r->j, "card"), key));
}

static void test_link_confirm_list_remove(void **state)
{
    struct fx *f = *state;
    char id[64], path[128], otp[8];
    struct ac_resp r = post_card(f, &f->u, "4242 4242 4242 4242", "123");
    AC_EXPECT_STATUS(r, 202);
    assert_string_equal(card_field(&r, "status"), "pending");
    assert_string_equal(card_field(&r, "brand"), "visa");
    assert_string_equal(card_field(&r, "last4"), "4242");
    assert_null(json_object_get(json_object_get(r.j, "card"), "token"));
    snprintf(id, sizeof id, "%s", card_field(&r, "id"));
    assert_int_equal(strncmp(id, "crd_", 4), 0);
    json_t *next = json_object_get(r.j, "next_action");
    assert_string_equal(json_string_value(json_object_get(next, "type")), "three_d_secure");
    snprintf(path, sizeof path, "/v1/cards/%s/3ds", id);
    assert_string_equal(json_string_value(json_object_get(next, "confirm_url")), path);
    ac_resp_free(&r);

    char *mail = ac_mail_wait(&f->s, f->u.email, "verification code to link the card");
    assert_true(ac_find_digits(mail, 6, otp));
    free(mail);
    ac_remember(&f->s, otp);

    /* A wrong code, then the right one. */
    char wrong[8];
    snprintf(wrong, sizeof wrong, "%s", otp);
    wrong[0] = wrong[0] == '9' ? '0' : (char)(wrong[0] + 1);
    r = ac_call(&f->s, &f->u.who, "POST", path, json_pack("{s:s}", "code", wrong));
    AC_EXPECT_ERROR(r, 400, "invalid_code");
    assert_string_equal(ac_err_param(&r), "code");
    ac_resp_free(&r);
    r = ac_call(&f->s, &f->u.who, "POST", path, json_pack("{s:s, s:s}", "code", otp, "extra", "x"));
    AC_EXPECT_ERROR(r, 400, "unknown_param");
    ac_resp_free(&r);
    r = ac_call(&f->s, &f->u.who, "POST", path, json_pack("{s:s}", "code", otp));
    AC_EXPECT_STATUS(r, 200);
    assert_string_equal(card_field(&r, "status"), "active");
    assert_non_null(card_field(&r, "linked_at"));
    ac_resp_free(&r);
    mail = ac_mail_wait(&f->s, f->u.email, "card ending in 4242 was linked");
    free(mail);

    r = ac_call(&f->s, &f->u.who, "GET", "/v1/cards", NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *cards = json_object_get(r.j, "cards");
    assert_int_equal(json_array_size(cards), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cards, 0), "id")), id);
    ac_resp_free(&r);

    snprintf(path, sizeof path, "/v1/cards/%s", id);
    r = ac_call(&f->s, &f->u.who, "DELETE", path, NULL);
    AC_EXPECT_STATUS(r, 204);
    ac_resp_free(&r);
    mail = ac_mail_wait(&f->s, f->u.email, "card ending in 4242 was removed");
    free(mail);
    r = ac_call(&f->s, &f->u.who, "DELETE", path, NULL);
    AC_EXPECT_ERROR(r, 404, "card_not_found");
    ac_resp_free(&r);
    r = ac_call(&f->s, &f->u.who, "GET", "/v1/cards", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "cards")), 0);
    ac_resp_free(&r);
}

/* The card_links switch stops the link at its last step too: a link the
 * switch caught half-way does not become usable while it is on. */
static void test_kill_switch_stops_a_link_half_way(void **state)
{
    struct fx *f = *state;
    struct ac_user u;
    ac_user_enrolled(&f->s, &u, "cards-switch");
    char path[128], otp[8];
    struct ac_resp r = post_card(f, &u, VISA_OK, "123");
    AC_EXPECT_STATUS(r, 202);
    snprintf(path, sizeof path, "/v1/cards/%s/3ds", card_field(&r, "id"));
    ac_resp_free(&r);
    char *mail = ac_mail_wait(&f->s, u.email, "verification code to link the card");
    assert_true(ac_find_digits(mail, 6, otp));
    free(mail);
    ac_remember(&f->s, otp);

    assert_int_equal(ac_cli(&f->s, "admin killswitch on card_links --reason 'stolen cards wave' >/dev/null"), 0);
    r = ac_call(&f->s, &u.who, "POST", path, json_pack("{s:s}", "code", otp));
    AC_EXPECT_ERROR(r, 503, "service_suspended");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "error"), "reason")),
                        "stolen cards wave");
    ac_resp_free(&r);
    r = ac_call(&f->s, &u.who, "GET", "/v1/cards", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r.j, "cards"), 0), "status")),
                        "pending");
    ac_resp_free(&r);

    /* switched off again, the code still finishes it */
    assert_int_equal(ac_cli(&f->s, "admin killswitch off card_links >/dev/null"), 0);
    r = ac_call(&f->s, &u.who, "POST", path, json_pack("{s:s}", "code", otp));
    AC_EXPECT_STATUS(r, 200);
    assert_string_equal(card_field(&r, "status"), "active");
    ac_resp_free(&r);
}

static void test_hostile_input(void **state)
{
    struct fx *f = *state;
    struct ac_user m;
    struct ac_resp r;
    ac_user_enrolled(&f->s, &m, "mallory");

    r = post_card(f, &m, "4242424242424241", "123");
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    assert_string_equal(ac_err_param(&r), "number");
    assert_null(strstr(r.raw, "4241"));
    ac_resp_free(&r);
    r = post_card(f, &m, VISA_OK, "12");
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    assert_string_equal(ac_err_param(&r), "cvc");
    ac_resp_free(&r);
    r = ac_call(&f->s, &m.who, "POST", "/v1/cards",
                json_pack("{s:s, s:I, s:i, s:s}", "number", VISA_OK, "exp_month", (json_int_t)1 << 40, "exp_year",
                          2035, "cvc", "123"));
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    assert_string_equal(ac_err_param(&r), "exp_month");
    ac_resp_free(&r);
    r = ac_call(&f->s, &m.who, "POST", "/v1/cards",
                json_pack("{s:s, s:i, s:s, s:s}", "number", VISA_OK, "exp_month", 12, "exp_year", "2035", "cvc",
                          "123"));
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    ac_resp_free(&r);
    r = ac_call(&f->s, &m.who, "POST", "/v1/cards",
                json_pack("{s:s, s:i, s:i, s:s, s:b}", "number", VISA_OK, "exp_month", 12, "exp_year", 2035, "cvc",
                          "123", "save", 1));
    AC_EXPECT_ERROR(r, 400, "unknown_param");
    ac_resp_free(&r);
    r = ac_call(&f->s, &m.who, "POST", "/v1/cards", json_pack("{s:s}", "number", VISA_OK));
    AC_EXPECT_ERROR(r, 400, "missing_param");
    ac_resp_free(&r);

    /* Without a session, nothing; ids that are not ids are no card. */
    struct ac_who anon = ac_new_source(&f->s);
    r = ac_call(&f->s, &anon, "GET", "/v1/cards", NULL);
    AC_EXPECT_ERROR(r, 401, "unauthenticated");
    ac_resp_free(&r);
    r = ac_call(&f->s, &m.who, "DELETE", "/v1/cards/crd_%27%20OR%201", NULL);
    AC_EXPECT_ERROR(r, 404, "card_not_found");
    ac_resp_free(&r);
    r = ac_call(&f->s, &m.who, "POST", "/v1/cards/usr_0000000000001/3ds", json_pack("{s:s}", "code", "123456"));
    AC_EXPECT_ERROR(r, 404, "card_not_found");
    ac_resp_free(&r);

    /* Someone else's card. */
    r = post_card(f, &f->u, MC_OK, "123");
    AC_EXPECT_STATUS(r, 202);
    char path[128];
    snprintf(path, sizeof path, "/v1/cards/%s", card_field(&r, "id"));
    ac_resp_free(&r);
    r = ac_call(&f->s, &m.who, "DELETE", path, NULL);
    AC_EXPECT_ERROR(r, 404, "card_not_found");
    ac_resp_free(&r);
    r = ac_call(&f->s, &f->u.who, "DELETE", path, NULL);
    AC_EXPECT_STATUS(r, 204);
    ac_resp_free(&r);
}

static void test_cvc_guessing_gets_429(void **state)
{
    struct fx *f = *state;
    struct ac_user m;
    struct ac_resp r;
    ac_user_enrolled(&f->s, &m, "tester");
    /* Three digits, as a Visa's: a 4-digit guess is remembered as a secret
     * (post_card_on) and then turned up, now and then, as some number of
     * the same digits in the log or the database (a duration in µs). */
    const char *guesses[] = {"907", "908", "909"};
    for (int i = 0; i < 3; i++) {
        r = post_card(f, &m, VISA_OK, guesses[i]);
        AC_EXPECT_ERROR(r, 402, "incorrect_cvc");
        ac_resp_free(&r);
    }
    r = post_card(f, &m, VISA_OK, "123");
    AC_EXPECT_ERROR(r, 429, "rate_limited");
    assert_true(atoll(r.retry_after) > 0);
    ac_resp_free(&r);
}

/* Last: it stops the server. */
static void test_no_card_data_at_rest(void **state)
{
    struct fx *f = *state;
    assert_int_equal(ac_server_stop(&f->s), 0);
    ac_assert_no_secrets(&f->s);
}

/* A thief with a card's number, expiry and CVC (skimmed, or from a leak),
 * on an account of their own: the issuer sends its 3-D Secure code to its
 * cardholder, the thief's guesses fail, the card never becomes usable, and
 * both the warning and the failure are on record. */
static void test_stolen_card_code_goes_to_its_holder(void **state)
{
    (void)state;
    struct ac_server s;
    struct ac_user owner, thief;
    char id[64], path[128], otp[8];
    ac_server_init(&s);
    ac_server_start(&s, NULL);
    ac_user_enrolled(&s, &owner, "owner");
    ac_user_enrolled(&s, &thief, "thief");
    const char *own_card = "4111 1111 1111 1111"; /* not a published test card: it has one holder */

    /* The owner links her card: the code comes to her. */
    struct ac_resp r = post_card_on(&s, &owner, own_card, "123");
    AC_EXPECT_STATUS(r, 202);
    snprintf(path, sizeof path, "/v1/cards/%s/3ds", card_field(&r, "id"));
    ac_resp_free(&r);
    char *mail = ac_mail_wait(&s, owner.email, "verification code to link the card");
    assert_true(ac_find_digits(mail, 6, otp));
    free(mail);
    ac_remember(&s, otp);
    r = ac_call(&s, &owner.who, "POST", path, json_pack("{s:s}", "code", otp));
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);

    /* The thief: number and CVC right, so the issuer opens its check... */
    r = post_card_on(&s, &thief, own_card, "123");
    AC_EXPECT_STATUS(r, 202);
    snprintf(id, sizeof id, "%s", card_field(&r, "id"));
    ac_resp_free(&r);
    /* ...and sends the code to its cardholder, with a warning. */
    mail = ac_mail_wait(&s, owner.email, "Someone is adding your card ending in 1111");
    assert_true(ac_find_digits(mail, 6, otp));
    assert_non_null(strstr(mail, "do not give this code to anyone"));
    assert_null(strstr(mail, thief.email));
    free(mail);
    ac_remember(&s, otp);
    assert_int_equal(ac_mail_count(&s, thief.email, "code to link the card"), 0);
    /* Three guesses, and the check is over; the right code is refused after. */
    snprintf(path, sizeof path, "/v1/cards/%s/3ds", id);
    const char *guesses[] = {"111111", "222222", "333333"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(guesses[i], otp) == 0)
            continue; /* one in a million: the guess would be right */
        r = ac_call(&s, &thief.who, "POST", path, json_pack("{s:s}", "code", guesses[i]));
        assert_true(r.status == 400 || r.status == 402 || r.status == 403);
        ac_resp_free(&r);
    }
    r = ac_call(&s, &thief.who, "POST", path, json_pack("{s:s}", "code", otp));
    assert_true(r.status >= 400 && r.status < 500);
    ac_resp_free(&r);
    r = ac_call(&s, &thief.who, "GET", "/v1/cards", NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *cards = json_object_get(r.j, "cards");
    for (size_t i = 0; i < json_array_size(cards); i++)
        assert_string_not_equal(json_string_value(json_object_get(json_array_get(cards, i), "status")), "active");
    ac_resp_free(&r);
    r = ac_call(&s, &thief.who, "POST", "/v1/topups", json_pack("{s:s, s:i}", "card_id", id, "amount", 1000));
    assert_true(r.status >= 400 && r.status < 500);
    ac_resp_free(&r);

    assert_int_equal(ac_server_stop(&s), 0);
    static struct security_event ev[256];
    size_t n = ac_load_events(&s, ev, 256);
    int failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += strcmp(ev[i].kind, "card_link_failed") == 0 && strcmp(ev[i].actor, thief.customer_id) == 0 &&
                  strstr(ev[i].detail, "authentication_failed") != NULL;
    assert_int_equal(failed, 1);
    assert_int_equal(ac_cli(&s, "audit verify >/dev/null"), 0);
    ac_server_cleanup(&s);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_confirm_list_remove),
        cmocka_unit_test(test_hostile_input),
        cmocka_unit_test(test_cvc_guessing_gets_429),
        cmocka_unit_test(test_kill_switch_stops_a_link_half_way),
        cmocka_unit_test(test_no_card_data_at_rest), /* stops the server: last of those that share it */
        cmocka_unit_test(test_stolen_card_code_goes_to_its_holder),
    };
    int failed = cmocka_run_group_tests_name("api_cards", tests, fx_up, fx_down);
    oath_done();
    curl_global_cleanup();
    return failed;
}
