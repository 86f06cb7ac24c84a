/* test_api_wallet.c: top-ups over HTTP, against a real kessaid.
 *
 * The test starts the kessaid binary under test ($KESSAID, else
 * build/asan/kessaid) with a fresh data directory (api_client.h) and talks
 * to it as the wallet app and as a thief would: a customer registers,
 * enrols TOTP, links a test card with the issuer's 3-D Secure code from the
 * mailbox, tops up and reads the wallet; the ledger is then read straight
 * from the SQLite store and checked with `kessai ledger verify`.
 *
 * Scenarios that need their own settings run their own kessaid:
 *  - a burst of concurrent top-ups at a small balance cap;
 *  - a thief's session on a new device, with a small new-device limit;
 *  - a crash (KESSAI_TEST_CRASH_AT=topup_authorized: kessaid exits the
 *    moment the gateway said yes, before the wallet is credited), then a
 *    restart: the wallet shows the money exactly once and the client's
 *    retry is answered "succeeded" without a second credit.
 * Every server is stopped at the end of its scenario and its data
 * directory and log are searched for the card numbers, codes and tokens
 * the test handled: none may be there (the mailbox aside, which holds mail
 * in the clear by design).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_client.h"
#include "qr_read.h"
#include "testutil.h"
#include "ledger/types.h"
#include "store/store.h"
#include "util/ids.h"

/* docs/test-cards.md */
#define VISA_OK "4242424242424242"
#define VISA_3DS_EVERY "4000002760003184"
#define CVC_OK "123"

/* ---- helpers ----------------------------------------------------------------- */

/* A Luhn-valid visa number of its own for each call: the same card may be
 * on at most two accounts (wallet/card.h), and the test processor treats
 * any valid number it has no special rule for as a good card. */
static const char *fresh_pan(char out[17])
{
    static int n;
    return tu_visa_pan(++n * 7919, out);
}

/* Link pan (the issuer's code read from the mailbox): the card's "crd_…". */
static void link_card(struct ac_server *s, struct ac_user *u, const char *pan, char card_id[64])
{
    ac_remember(s, pan);
    /* A 3-digit CVC is too short to grep a database for; what a leak of the
     * request body would hold is not. */
    ac_remember(s, "\"cvc\":\"" CVC_OK "\"");
    struct ac_resp r = ac_call(s, &u->who, "POST", "/v1/cards",
                               json_pack("{s:s, s:i, s:i, s:s}", "number", pan, "exp_month", 12, "exp_year", 2035,
                                         "cvc", CVC_OK));
    AC_EXPECT_STATUS(r, 202);
    json_t *card = json_object_get(r.j, "card");
    snprintf(card_id, 64, "%s", json_string_value(json_object_get(card, "id")));
    assert_true(strncmp(card_id, "crd_", 4) == 0);
    ac_resp_free(&r);
    char *mail = ac_mail_wait(s, u->email, "card verification code");
    char code[8];
    assert_true(ac_find_digits(mail, 6, code));
    free(mail);
    ac_remember(s, code);
    char path[128];
    snprintf(path, sizeof path, "/v1/cards/%s/3ds", card_id);
    r = ac_call(s, &u->who, "POST", path, json_pack("{s:s}", "code", code));
    AC_EXPECT_STATUS(r, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "card"), "status")), "active");
    ac_resp_free(&r);
}

static struct ac_resp topup(struct ac_server *s, struct ac_user *u, const char *card_id, long amount, const char *key)
{
    return ac_call_idem(s, &u->who, "POST", "/v1/topups", key,
                        json_pack("{s:s, s:I}", "card_id", card_id, "amount", (json_int_t)amount));
}

static const char *topup_field(const struct ac_resp *r, const char *key)
{
    return json_string_value(json_object_get(json_object_get(r->j, "topup"), key));
}

static json_int_t int_field(const struct ac_resp *r, const char *key)
{
    json_t *v = json_object_get(r->j, key);
    if (!json_is_integer(v))
        fail_msg("no integer %s in %s", key, r->raw ? r->raw : "");
    return json_integer_value(v);
}

static json_int_t wallet_balance(struct ac_server *s, struct ac_user *u)
{
    struct ac_resp r = ac_call(s, &u->who, "GET", "/v1/wallet", NULL);
    AC_EXPECT_STATUS(r, 200);
    json_int_t b = int_field(&r, "balance");
    ac_resp_free(&r);
    return b;
}

/* The ledger transfer of a top-up, read from the store as finance would. */
static bool ledger_transfer(struct ac_server *s, const char *topup_id, struct ledger_transfer *x)
{
    char path[700], key[LEDGER_KEY_MAX + 1];
    snprintf(path, sizeof path, "%s/kessai.db", s->data);
    snprintf(key, sizeof key, "topup:%s", topup_id);
    struct store *st = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    enum err e = st->ops->transfer_get_by_key(st, key, x);
    store_close(st);
    return e == ERR_OK;
}

/* Security events of a kind for a customer, read from the store. */
static int events_of(struct ac_server *s, const char *customer_id, const char *kind)
{
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", s->data);
    int64_t id = 0;
    assert_int_equal(ids_parse(customer_id, "usr", &id), ERR_OK);
    struct store *st = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    struct security_event ev[64];
    size_t n = 0;
    assert_int_equal(st->ops->security_event_list(st, id, 0, 64, ev, &n), ERR_OK);
    store_close(st);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(ev[i].kind, kind) == 0;
    return k;
}

/* Stop, then: nothing secret at rest or in the log, and the books balance. */
static void finish(struct ac_server *s)
{
    assert_int_equal(ac_server_stop(s), 0);
    ac_assert_no_secrets(s);
    assert_int_equal(ac_cli(s, "ledger verify >/dev/null 2>&1"), 0);
}

/* ---- the default server ----------------------------------------------------------- */

static int fx_up(void **state)
{
    struct ac_server *s = calloc(1, sizeof *s);
    assert_non_null(s);
    ac_server_init(s);
    ac_server_start(s, NULL);
    *state = s;
    return 0;
}

static int fx_down(void **state)
{
    struct ac_server *s = *state;
    ac_server_stop(s);
    ac_assert_audit_intact(s);
    ac_server_cleanup(s);
    free(s);
    return 0;
}

static void test_happy_path(void **state)
{
    struct ac_server *s = *state;
    struct ac_user u;
    ac_user_enrolled(s, &u, "happy");
    char card[64];
    link_card(s, &u, VISA_OK, card);

    struct ac_resp r = ac_call(s, &u.who, "GET", "/v1/wallet", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(int_field(&r, "balance"), 0);
    assert_string_equal(ac_str(&r, "currency"), "JPY");
    assert_int_equal(int_field(&r, "balance_cap"), 100000);
    /* a first device is new: the new-device limit applies */
    assert_int_equal(int_field(&r, "topup_remaining_today"), 10000);
    ac_resp_free(&r);

    r = topup(s, &u, card, 5000, "happy-1");
    AC_EXPECT_STATUS(r, 201);
    char id[64];
    snprintf(id, sizeof id, "%s", topup_field(&r, "id"));
    assert_true(strncmp(id, "tpu_", 4) == 0);
    assert_string_equal(topup_field(&r, "status"), "succeeded");
    assert_string_equal(topup_field(&r, "source"), "card");
    assert_string_equal(topup_field(&r, "card_id"), card);
    assert_non_null(topup_field(&r, "created_at"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.j, "topup"), "amount")), 5000);
    assert_int_equal(int_field(&r, "balance"), 5000);
    assert_string_equal(r.idempotent_replayed, "");
    ac_resp_free(&r);

    assert_int_equal(wallet_balance(s, &u), 5000);
    /* the ledger holds the transfer card receivable -> wallet */
    struct ledger_transfer x;
    assert_true(ledger_transfer(s, id, &x));
    assert_int_equal(x.amount, 5000);
    assert_string_equal(x.kind, "topup_card");
    /* the customer was told */
    free(ac_mail_wait(s, u.email, "5,000 yen was added"));

    /* read back, one and all */
    char path[128];
    snprintf(path, sizeof path, "/v1/topups/%s", id);
    r = ac_call(s, &u.who, "GET", path, NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_string_equal(topup_field(&r, "status"), "succeeded");
    ac_resp_free(&r);
    r = ac_call(s, &u.who, "GET", "/v1/topups", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "topups")), 1);
    assert_true(json_is_false(json_object_get(r.j, "has_more")));
    ac_resp_free(&r);
    r = ac_call(s, &u.who, "GET", "/v1/topups?before=tpu_0000000000001", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "topups")), 0);
    ac_resp_free(&r);
    r = ac_call(s, &u.who, "GET", "/v1/topups?before=nonsense", NULL);
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    ac_resp_free(&r);

    /* another customer sees nothing of it */
    struct ac_user other;
    ac_user_enrolled(s, &other, "other");
    r = ac_call(s, &other.who, "GET", path, NULL);
    AC_EXPECT_ERROR(r, 404, "topup_not_found");
    ac_resp_free(&r);
    r = topup(s, &other, card, 1000, "other-1");
    AC_EXPECT_ERROR(r, 404, "card_not_found");
    ac_resp_free(&r);
    /* and without a session, nothing at all */
    struct ac_who anon = ac_new_source(s);
    r = ac_call(s, &anon, "GET", "/v1/wallet", NULL);
    AC_EXPECT_ERROR(r, 401, "unauthenticated");
    ac_resp_free(&r);
}

static void test_retry_credits_once(void **state)
{
    struct ac_server *s = *state;
    struct ac_user u;
    ac_user_enrolled(s, &u, "retry");
    char card[64], pan[17];
    link_card(s, &u, fresh_pan(pan), card);
    struct ac_resp r = topup(s, &u, card, 2500, "retry-key");
    AC_EXPECT_STATUS(r, 201);
    char id[64];
    snprintf(id, sizeof id, "%s", topup_field(&r, "id"));
    ac_resp_free(&r);
    for (int i = 0; i < 3; i++) {
        r = topup(s, &u, card, 2500, "retry-key");
        AC_EXPECT_STATUS(r, 201);
        assert_string_equal(r.idempotent_replayed, "true");
        assert_string_equal(topup_field(&r, "id"), id);
        assert_string_equal(topup_field(&r, "status"), "succeeded");
        assert_int_equal(int_field(&r, "balance"), 2500);
        ac_resp_free(&r);
    }
    assert_int_equal(wallet_balance(s, &u), 2500);
    ac_mail_count_reaches(s, u.email, "was added", 1);
    /* the same key with another request */
    r = topup(s, &u, card, 2600, "retry-key");
    AC_EXPECT_ERROR(r, 409, "idempotency_conflict");
    ac_resp_free(&r);
    assert_int_equal(wallet_balance(s, &u), 2500);
}

static void test_hostile_input(void **state)
{
    struct ac_server *s = *state;
    struct ac_user u;
    ac_user_enrolled(s, &u, "hostile");
    char card[64], pan[17];
    link_card(s, &u, fresh_pan(pan), card);
    struct ac_resp r = ac_call(s, &u.who, "POST", "/v1/topups",
                               json_pack("{s:s, s:i}", "card_id", card, "amount", 1000));
    AC_EXPECT_ERROR(r, 400, "missing_param");
    assert_string_equal(ac_err_param(&r), "Idempotency-Key");
    ac_resp_free(&r);
    r = ac_call_idem(s, &u.who, "POST", "/v1/topups", "two words",
                     json_pack("{s:s, s:i}", "card_id", card, "amount", 1000));
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    ac_resp_free(&r);
    r = ac_call_idem(s, &u.who, "POST", "/v1/topups", "k1",
                     json_pack("{s:s, s:i, s:b}", "card_id", card, "amount", 1000, "admin", 1));
    AC_EXPECT_ERROR(r, 400, "unknown_param");
    ac_resp_free(&r);
    r = ac_call_idem(s, &u.who, "POST", "/v1/topups", "k1", json_pack("{s:s, s:i}", "card_id", card, "amount", -1));
    AC_EXPECT_ERROR(r, 400, "amount_invalid");
    ac_resp_free(&r);
    r = ac_call_idem(s, &u.who, "POST", "/v1/topups", "k1", json_pack("{s:s, s:s}", "card_id", card, "amount", "1e9"));
    AC_EXPECT_STATUS(r, 400);
    ac_resp_free(&r);
    r = ac_call_idem(s, &u.who, "POST", "/v1/topups", "k1",
                     json_pack("{s:s, s:i}", "card_id", "crd_../../etc", "amount", 1000));
    AC_EXPECT_STATUS(r, 400);
    ac_resp_free(&r);
    r = topup(s, &u, card, 50001, "k1");
    AC_EXPECT_ERROR(r, 422, "limit_exceeded");
    assert_string_equal(ac_err_param(&r), "amount");
    ac_resp_free(&r);
    r = ac_call(s, &u.who, "POST", "/v1/topups/tpu_zzzz/3ds", json_pack("{s:s}", "code", "123456"));
    AC_EXPECT_ERROR(r, 404, "topup_not_found");
    ac_resp_free(&r);
    r = ac_call(s, &u.who, "POST", "/v1/topup-codes", json_pack("{s:i}", "amount", 5));
    AC_EXPECT_ERROR(r, 400, "unknown_param");
    ac_resp_free(&r);
    assert_int_equal(wallet_balance(s, &u), 0);
}

static void test_three_d_secure_topup(void **state)
{
    struct ac_server *s = *state;
    struct ac_user u;
    ac_user_enrolled(s, &u, "threeds");
    char card[64];
    link_card(s, &u, VISA_3DS_EVERY, card);
    struct ac_resp r = topup(s, &u, card, 3000, "3ds-1");
    AC_EXPECT_STATUS(r, 202);
    assert_string_equal(topup_field(&r, "status"), "requires_action");
    json_t *next = json_object_get(r.j, "next_action");
    assert_string_equal(json_string_value(json_object_get(next, "type")), "three_d_secure");
    char url[128];
    snprintf(url, sizeof url, "%s", json_string_value(json_object_get(next, "confirm_url")));
    char want[128];
    snprintf(want, sizeof want, "/v1/topups/%s/3ds", topup_field(&r, "id"));
    assert_string_equal(url, want);
    ac_resp_free(&r);
    assert_int_equal(wallet_balance(s, &u), 0);
    /* replayed while waiting: the same 202 */
    r = topup(s, &u, card, 3000, "3ds-1");
    AC_EXPECT_STATUS(r, 202);
    assert_string_equal(r.idempotent_replayed, "true");
    ac_resp_free(&r);

    char *mail = ac_mail_wait(s, u.email, "top-up verification code");
    char code[8];
    assert_true(ac_find_digits(mail, 6, code));
    free(mail);
    ac_remember(s, code);
    r = ac_call(s, &u.who, "POST", url, json_pack("{s:s}", "code", code));
    AC_EXPECT_STATUS(r, 200);
    assert_string_equal(topup_field(&r, "status"), "succeeded");
    assert_int_equal(int_field(&r, "balance"), 3000);
    ac_resp_free(&r);
    r = ac_call(s, &u.who, "POST", url, json_pack("{s:s}", "code", code));
    AC_EXPECT_ERROR(r, 404, "topup_not_found");
    ac_resp_free(&r);
    r = topup(s, &u, card, 3000, "3ds-1");
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "true");
    ac_resp_free(&r);
    assert_int_equal(wallet_balance(s, &u), 3000);
}

static void test_topup_code_and_kill_switch(void **state)
{
    struct ac_server *s = *state;
    struct ac_user u;
    ac_user_enrolled(s, &u, "cash");
    struct ac_resp r = ac_call(s, &u.who, "POST", "/v1/topup-codes", json_object());
    AC_EXPECT_STATUS(r, 201);
    const char *code = ac_str(&r, "code");
    assert_non_null(code);
    assert_int_equal(strlen(code), 18);
    assert_int_equal(strspn(code, "0123456789"), 18);
    ac_remember(s, code);
    assert_non_null(ac_str(&r, "expires_at"));
    char scanned[32];
    assert_true(qr_read_svg(ac_str(&r, "qr_svg"), scanned, sizeof scanned));
    assert_string_equal(scanned, code);
    ac_resp_free(&r);

    char card[64], pan[17];
    link_card(s, &u, fresh_pan(pan), card);
    assert_int_equal(ac_cli(s, "admin killswitch on card_topups --reason 'card fraud wave, back at 18:00' "
                              ">/dev/null"),
                     0);
    r = topup(s, &u, card, 1000, "ks-1");
    AC_EXPECT_ERROR(r, 503, "service_suspended");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "error"), "reason")),
                        "card fraud wave, back at 18:00");
    ac_resp_free(&r);
    /* everything else keeps working */
    assert_int_equal(wallet_balance(s, &u), 0);
    r = ac_call(s, &u.who, "GET", "/v1/topups", NULL);
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
    assert_int_equal(ac_cli(s, "admin killswitch off card_topups >/dev/null"), 0);
    r = topup(s, &u, card, 1000, "ks-1");
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(wallet_balance(s, &u), 1000);
}

/* Last on the default server: it stops it. */
static void test_no_card_data_at_rest(void **state)
{
    struct ac_server *s = *state;
    finish(s);
}

/* ---- a burst at the balance cap ------------------------------------------------------ */

#define BURST 8

struct burst {
    struct ac_server *s;
    struct ac_user *u;
    const char *card;
    int n;
    long status;
};

static void *burst_one(void *arg)
{
    struct burst *b = arg;
    char key[32], body[160], line[64];
    snprintf(key, sizeof key, "Idempotency-Key: burst-%d", b->n);
    snprintf(line, sizeof line, "%s", key);
    snprintf(body, sizeof body, "{\"card_id\":\"%s\",\"amount\":3000}", b->card);
    const char *headers[] = {line, NULL};
    /* No cmocka assertion off the main thread: just the status. */
    struct ac_resp r = ac_call_raw(b->s, &b->u->who, "POST", "/v1/topups", headers, body, true);
    b->status = r.status;
    ac_resp_free(&r);
    return NULL;
}

static void test_burst_at_cap(void **state)
{
    struct ac_server *s = *state;
    ac_server_start(s, (const char *const[]){"KESSAI_TOPUP_BALANCE_CAP=10000", "KESSAI_NEW_DEVICE_COOLDOWN_S=0",
                                              NULL});
    struct ac_user u;
    ac_user_enrolled(s, &u, "burst");
    char card[64], pan[17];
    link_card(s, &u, fresh_pan(pan), card);
    struct burst b[BURST];
    pthread_t th[BURST];
    for (int i = 0; i < BURST; i++) {
        b[i] = (struct burst){.s = s, .u = &u, .card = card, .n = i};
        assert_int_equal(pthread_create(&th[i], NULL, burst_one, &b[i]), 0);
    }
    int ok = 0, refused = 0;
    for (int i = 0; i < BURST; i++) {
        pthread_join(th[i], NULL);
        ok += b[i].status == 201;
        refused += b[i].status == 422;
    }
    assert_int_equal(ok + refused, BURST);
    assert_int_equal(ok, 3); /* 3 x 3,000 fit under 10,000; a fourth never */
    assert_int_equal(wallet_balance(s, &u), 9000);
    finish(s);
}

/* ---- a thief on a new device ---------------------------------------------------------- */

static void test_stolen_session_on_new_device(void **state)
{
    struct ac_server *s = *state;
    ac_server_start(s, (const char *const[]){"KESSAI_TOPUP_NEW_DEVICE_DAILY_MAX=3000", NULL});
    struct ac_user owner;
    ac_user_enrolled(s, &owner, "victim");
    char card[64], pan[17];
    link_card(s, &owner, fresh_pan(pan), card);

    /* The thief has the password and gets past the second factor once (a
     * phished code): a session on their own, new device. */
    struct ac_user thief = owner;
    thief.who = ac_new_source(s);
    struct ac_device phone;
    ac_device_new(&phone, "thief phone");
    ac_login(s, &thief, &phone);
    struct ac_resp r = topup(s, &thief, card, 3001, "loot-1");
    AC_EXPECT_ERROR(r, 422, "limit_exceeded");
    assert_string_equal(ac_err_param(&r), "new_device");
    ac_resp_free(&r);
    r = topup(s, &thief, card, 3000, "loot-1");
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    r = topup(s, &thief, card, 1, "loot-2");
    AC_EXPECT_ERROR(r, 422, "limit_exceeded");
    ac_resp_free(&r);
    r = ac_call(s, &thief.who, "GET", "/v1/wallet", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(int_field(&r, "topup_remaining_today"), 0);
    ac_resp_free(&r);
    assert_int_equal(wallet_balance(s, &owner), 3000);
    /* the attempts are on file, and the owner was told of the top-up */
    assert_int_equal(events_of(s, owner.customer_id, "topup_refused"), 2);
    free(ac_mail_wait(s, owner.email, "3,000 yen was added"));
    finish(s);
}

/* ---- a crash between the gateway and the ledger ------------------------------------------ */

static void test_crash_then_reconcile(void **state)
{
    struct ac_server *s = *state;
    ac_server_start(s, (const char *const[]){"KESSAI_TEST_CRASH_AT=topup_authorized", NULL});
    struct ac_user u;
    ac_user_enrolled(s, &u, "crash");
    char card[64], pan[17];
    link_card(s, &u, fresh_pan(pan), card);

    const char *headers[] = {"Idempotency-Key: crash-1", NULL};
    char body[160];
    snprintf(body, sizeof body, "{\"card_id\":\"%s\",\"amount\":4000}", card);
    struct ac_resp r = ac_call_raw(s, &u.who, "POST", "/v1/topups", headers, body, true);
    assert_int_equal(r.status, 0); /* the connection dropped: no answer */
    ac_resp_free(&r);
    assert_int_equal(ac_server_wait_exit(s, 30000), 77);

    /* the next start finishes the top-up before serving */
    ac_server_start(s, NULL);
    assert_int_equal(wallet_balance(s, &u), 4000);
    r = ac_call(s, &u.who, "GET", "/v1/topups", NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *list = json_object_get(r.j, "topups");
    assert_int_equal(json_array_size(list), 1);
    char id[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(json_array_get(list, 0), "id")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "status")), "succeeded");
    ac_resp_free(&r);
    /* the client's retry: succeeded, nothing more credited */
    r = ac_call_raw(s, &u.who, "POST", "/v1/topups", headers, body, false);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "true");
    assert_string_equal(topup_field(&r, "id"), id);
    assert_string_equal(topup_field(&r, "status"), "succeeded");
    assert_int_equal(int_field(&r, "balance"), 4000);
    ac_resp_free(&r);
    assert_int_equal(wallet_balance(s, &u), 4000);
    struct ledger_transfer x;
    assert_true(ledger_transfer(s, id, &x));
    assert_int_equal(x.amount, 4000);
    ac_mail_count_reaches(s, u.email, "was added", 1);
    finish(s);
}

/* Scenarios with their own settings: each starts its own kessaid; the
 * teardown stops it even when the test failed half-way. */
static int own_up(void **state)
{
    struct ac_server *s = calloc(1, sizeof *s);
    assert_non_null(s);
    ac_server_init(s);
    *state = s;
    return 0;
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest on_default[] = {
        cmocka_unit_test(test_happy_path),
        cmocka_unit_test(test_retry_credits_once),
        cmocka_unit_test(test_hostile_input),
        cmocka_unit_test(test_three_d_secure_topup),
        cmocka_unit_test(test_topup_code_and_kill_switch),
        /* last: it stops the server */
        cmocka_unit_test(test_no_card_data_at_rest),
    };
    const struct CMUnitTest own_servers[] = {
        cmocka_unit_test_setup_teardown(test_burst_at_cap, own_up, fx_down),
        cmocka_unit_test_setup_teardown(test_stolen_session_on_new_device, own_up, fx_down),
        cmocka_unit_test_setup_teardown(test_crash_then_reconcile, own_up, fx_down),
    };
    int failed = cmocka_run_group_tests_name("api_wallet", on_default, fx_up, fx_down);
    failed += cmocka_run_group_tests_name("api_wallet_own_servers", own_servers, NULL, NULL);
    oath_done();
    curl_global_cleanup();
    return failed;
}
