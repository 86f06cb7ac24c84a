/* test_api_pay.c: paying at the register over HTTP, against a real kessaid
 * (docs/payments.md).
 *
 * Before the server starts, the operator's CLI creates a merchant with two
 * stores, another merchant with one, and their terminals (secrets kept
 * here, as a register would).  Customers register, are topped up with cash
 * at the register, and show payment codes (POST /v1/paycodes).  Then the
 * test is the register, the customer and the attacker: a signed charge
 * pays once and the receipt says so; refunds (partial, full) and a void
 * give back exactly what was paid; the store's feed lists its payments;
 * unsigned, wrongly signed, stale and replayed charges are refused and
 * change nothing; two registers charging one code at the same instant
 * take the money once; a customer cannot see another's payment through any
 * customer endpoint, nor can another merchant's register read or refund
 * it; kill switches and freezes set while the server runs refuse at once.
 * At the end `kessai ledger verify` is clean and no code, secret or
 * signature is in the database or the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_client.h"
#include "auth/customer_types.h"
#include "pos/sign.h"
#include "store/store.h"
#include "testutil.h"

#define CODE_DIGITS 18

struct fx {
    struct ac_server s;
    char store_a[32], store_b[32], store_far[32];
    struct ac_terminal t1, t2, far; /* t1, t2: stores a and b of one merchant; far: another merchant */
    struct ac_user u, v;         /* two customers */
    struct ac_who pos;           /* the registers' client address */
};

/* ---- set-up through the CLI ------------------------------------------------ */

static void make_store(struct fx *f, const char *merchant, const char *name, char out[32])
{
    char args[400];
    snprintf(args, sizeof args,
             "admin store create --merchant %s --name '%s' --address '1-9-1 Marunouchi, Chiyoda-ku, Tokyo' "
             "--lat 35.681236 --lon 139.767125 --category convenience",
             merchant, name);
    json_t *st = ac_cli_json(&f->s, args);
    snprintf(out, 32, "%s", json_string_value(json_object_get(st, "id")));
    json_decref(st);
}

static void new_nonce(char out[33])
{
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, 33, b, sizeof b);
}

static void new_key(char out[40])
{
    uint8_t b[12];
    randombytes_buf(b, sizeof b);
    memcpy(out, "pos-", 4);
    sodium_bin2hex(out + 4, 36, b, sizeof b);
}

/* A signed POS request to kessaid srv (the fixture's, or a second node);
 * path may carry a query (not signed). */
static struct ac_resp pos_at(struct fx *f, struct ac_server *srv, const struct ac_terminal *t, const char *method,
                             const char *path, const char *idem, const char *body, const char *nonce, int64_t ts)
{
    char sig[POS_SIG_HEX_LEN + 1], auth[300], key_line[128], bare[256];
    snprintf(bare, sizeof bare, "%.*s", (int)strcspn(path, "?"), path);
    const char *b = body ? body : "";
    pos_sign(t->secret, method, bare, ts, nonce, b, strlen(b), sig);
    snprintf(auth, sizeof auth, "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=%s,sig=%s", t->key_id,
             (long long)ts, nonce, sig);
    const char *headers[3] = {auth, NULL, NULL};
    if (idem) {
        snprintf(key_line, sizeof key_line, "Idempotency-Key: %s", idem);
        headers[1] = key_line;
    }
    return ac_call_raw(srv, &f->pos, method, path, headers, body, false);
}

static struct ac_resp pos_ex(struct fx *f, const struct ac_terminal *t, const char *method, const char *path,
                             const char *idem, const char *body, const char *nonce, int64_t ts)
{
    return pos_at(f, &f->s, t, method, path, idem, body, nonce, ts);
}

static struct ac_resp pos(struct fx *f, const struct ac_terminal *t, const char *method, const char *path,
                          const char *idem, const char *body)
{
    char nonce[33];
    new_nonce(nonce);
    return pos_ex(f, t, method, path, idem, body, nonce, (int64_t)time(NULL));
}

/* ---- the customer's side ---------------------------------------------------- */

static int64_t balance(struct fx *f, struct ac_user *u)
{
    struct ac_resp r = ac_call(&f->s, &u->who, "GET", "/v1/wallet", NULL);
    AC_EXPECT_STATUS(r, 200);
    int64_t v = json_integer_value(json_object_get(r.j, "balance"));
    ac_resp_free(&r);
    return v;
}

/* Cash at the register: a top-up code from u's phone, scanned by t1. */
static void fund(struct fx *f, struct ac_user *u, int64_t amount)
{
    struct ac_resp r = ac_call(&f->s, &u->who, "POST", "/v1/topup-codes", json_object());
    AC_EXPECT_STATUS(r, 201);
    char code[32], body[128], key[40];
    snprintf(code, sizeof code, "%s", ac_str(&r, "code"));
    ac_remember(&f->s, code);
    ac_resp_free(&r);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"amount\":%lld}", code, (long long)amount);
    new_key(key);
    r = pos(f, &f->t1, "POST", "/pos/v1/cash-topups", key, body);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
}

/* A payment code from u's phone. */
static void paycode(struct fx *f, struct ac_user *u, char out[CODE_DIGITS + 1])
{
    struct ac_resp r = ac_call(&f->s, &u->who, "POST", "/v1/paycodes", json_object());
    AC_EXPECT_STATUS(r, 201);
    const char *code = ac_str(&r, "code");
    assert_non_null(code);
    assert_int_equal(strlen(code), CODE_DIGITS);
    snprintf(out, CODE_DIGITS + 1, "%s", code);
    ac_remember(&f->s, out);
    ac_resp_free(&r);
}

/* ---- the register's side ---------------------------------------------------- */

static void charge_body(char *buf, size_t n, const char *code, int64_t amount, const char *items)
{
    if (items)
        snprintf(buf, n, "{\"code\":\"%s\",\"amount\":%lld,\"items\":%s}", code, (long long)amount, items);
    else
        snprintf(buf, n, "{\"code\":\"%s\",\"amount\":%lld}", code, (long long)amount);
}

static struct ac_resp charge(struct fx *f, const struct ac_terminal *t, const char *key, const char *code,
                             int64_t amount)
{
    char body[256];
    charge_body(body, sizeof body, code, amount, NULL);
    return pos(f, t, "POST", "/pos/v1/charges", key, body);
}

static json_t *charge_of(const struct ac_resp *r) { return json_object_get(r->j, "charge"); }
static const char *cstr(const struct ac_resp *r, const char *k)
{
    return json_string_value(json_object_get(charge_of(r), k));
}
static int64_t cint(const struct ac_resp *r, const char *k)
{
    return json_integer_value(json_object_get(charge_of(r), k));
}

/* Charge amount with a new code of u at t: the charge's id. */
static void paid(struct fx *f, struct ac_user *u, const struct ac_terminal *t, int64_t amount, char id[40])
{
    char code[CODE_DIGITS + 1], key[40];
    paycode(f, u, code);
    new_key(key);
    struct ac_resp r = charge(f, t, key, code, amount);
    AC_EXPECT_STATUS(r, 201);
    snprintf(id, 40, "%s", cstr(&r, "id"));
    ac_resp_free(&r);
}

static struct ac_resp refund(struct fx *f, const struct ac_terminal *t, const char *id, const char *key, int64_t amount)
{
    char path[128], body[64];
    snprintf(path, sizeof path, "/pos/v1/charges/%s/refunds", id);
    snprintf(body, sizeof body, "{\"amount\":%lld}", (long long)amount);
    return pos(f, t, "POST", path, key, body);
}

/* ---- fixture --------------------------------------------------------------- */

static int fx_start(void **state, const char *risk_env)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    ac_server_init(&f->s);
    json_t *m = ac_cli_json(&f->s, "admin merchant create --name 'Kessai Mart'");
    char mer[32];
    snprintf(mer, sizeof mer, "%s", json_string_value(json_object_get(m, "id")));
    json_decref(m);
    make_store(f, mer, "Tokyo Station", f->store_a);
    make_store(f, mer, "Umeda", f->store_b);
    m = ac_cli_json(&f->s, "admin merchant create --name 'Other Books'");
    snprintf(mer, sizeof mer, "%s", json_string_value(json_object_get(m, "id")));
    json_decref(m);
    make_store(f, mer, "Sapporo", f->store_far);
    ac_make_terminal(&f->s, f->store_a, &f->t1);
    ac_make_terminal(&f->s, f->store_b, &f->t2);
    ac_make_terminal(&f->s, f->store_far, &f->far);
    /* The customers' phones are new devices for the whole test: keep the
     * lower new-device limits out of the way of what is tested here; so is
     * the risk rule that holds a store's second refund to one payer within
     * a month (refund_repeat_payer: test_risk_flows.c), since these tests
     * refund and void one customer's payments at one store again and again. */
    ac_server_start(&f->s, (const char *[]){"KESSAI_TOPUP_NEW_DEVICE_DAILY_MAX=100000",
                                            "KESSAI_PAY_NEW_DEVICE_DAILY_MAX=100000", risk_env, NULL});
    ac_user_enrolled(&f->s, &f->u, "payer");
    ac_user_enrolled(&f->s, &f->v, "other");
    f->pos = ac_new_source(&f->s);
    fund(f, &f->u, 30000);
    fund(f, &f->v, 5000);
    *state = f;
    return 0;
}

static int fx_up(void **state) { return fx_start(state, "KESSAI_RISK_REFUND_PAYER_SCORE=0"); }

/* The insider's test: every refund rule on; the cash top-up the fixture
 * gives is no thief's top-up (topup_then_resale would make the gift cards
 * wait for the customer's answer in the app). */
static int fx_up_insider(void **state) { return fx_start(state, "KESSAI_RISK_RESALE_SCORE=0"); }

static int fx_down(void **state)
{
    struct fx *f = *state;
    /* The books balance, checked by the operator's own tool; so does the
     * audit log kessaid and the CLI wrote to. */
    assert_int_equal(ac_cli(&f->s, "ledger verify >/dev/null"), 0);
    assert_int_equal(ac_server_stop(&f->s), 0);
    ac_assert_no_secrets(&f->s);
    ac_assert_audit_intact(&f->s);
    ac_server_cleanup(&f->s);
    free(f);
    return 0;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_cpm_charge_refunds_void_and_feed(void **state)
{
    struct fx *f = *state;
    int64_t b0 = balance(f, &f->u);
    char code[CODE_DIGITS + 1], key[40], body[400];
    paycode(f, &f->u, code);
    new_key(key);
    const char *items = "[{\"category\":\"food\",\"amount\":800},{\"category\":\"drinks\",\"amount\":400}]";
    charge_body(body, sizeof body, code, 1200, items);
    struct ac_resp r = pos(f, &f->t1, "POST", "/pos/v1/charges", key, body);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "");
    char id[40];
    snprintf(id, sizeof id, "%s", cstr(&r, "id"));
    assert_memory_equal(id, "pay_", 4);
    assert_int_equal(cint(&r, "amount"), 1200);
    assert_int_equal(cint(&r, "refunded"), 0);
    assert_string_equal(cstr(&r, "status"), "succeeded");
    assert_string_equal(cstr(&r, "kind"), "cpm");
    assert_non_null(cstr(&r, "created_at"));
    json_t *store = json_object_get(charge_of(&r), "store");
    assert_string_equal(json_string_value(json_object_get(store, "id")), f->store_a);
    assert_string_equal(json_string_value(json_object_get(store, "name")), "Tokyo Station");
    json_t *its = json_object_get(charge_of(&r), "items");
    assert_int_equal(json_array_size(its), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(its, 1), "category")), "drinks");
    assert_int_equal(json_integer_value(json_object_get(r.j, "balance_after")), b0 - 1200);
    /* The receipt names no customer. */
    assert_null(strstr(r.raw, "usr_"));
    assert_null(strstr(r.raw, f->u.email));
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0 - 1200);
    char *mail = ac_mail_wait(&f->s, f->u.email, "You paid 1,200 yen at Tokyo Station");
    free(mail);

    /* Any register of the merchant reads it; a refund in two parts. */
    char path[128];
    snprintf(path, sizeof path, "/pos/v1/charges/%s", id);
    r = pos(f, &f->t2, "GET", path, NULL, NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(cint(&r, "amount"), 1200);
    ac_resp_free(&r);
    new_key(key);
    r = refund(f, &f->t2, id, key, 200);
    AC_EXPECT_STATUS(r, 201);
    json_t *rf = json_object_get(r.j, "refund");
    assert_memory_equal(json_string_value(json_object_get(rf, "id")), "rfd_", 4);
    assert_string_equal(json_string_value(json_object_get(rf, "kind")), "refund");
    assert_int_equal(json_integer_value(json_object_get(rf, "amount")), 200);
    assert_string_equal(cstr(&r, "status"), "partially_refunded");
    assert_int_equal(cint(&r, "refunded"), 200);
    ac_resp_free(&r);
    /* Retried: the same refund. */
    r = refund(f, &f->t2, id, key, 200);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "true");
    assert_int_equal(cint(&r, "refunded"), 200);
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0 - 1000);
    /* Never above what remains. */
    new_key(key);
    r = refund(f, &f->t1, id, key, 1001);
    AC_EXPECT_ERROR(r, 422, "reversal_exceeds_original");
    ac_resp_free(&r);
    r = refund(f, &f->t1, id, key, 1000);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(cstr(&r, "status"), "refunded");
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0);
    mail = ac_mail_wait(&f->s, f->u.email, "Tokyo Station refunded 1,000 yen");
    free(mail);

    /* A register mistake: voided at once. */
    char id2[40];
    paid(f, &f->u, &f->t1, 700, id2);
    snprintf(path, sizeof path, "/pos/v1/charges/%s/void", id2);
    new_key(key);
    r = pos(f, &f->t1, "POST", path, key, "{}");
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "refund"), "kind")), "void");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.j, "refund"), "amount")), 700);
    assert_string_equal(cstr(&r, "status"), "voided");
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0);

    /* The store's feed: its payments, oldest first, from a cursor. */
    char id3[40];
    paid(f, &f->u, &f->t2, 300, id3); /* at the other store */
    r = pos(f, &f->t1, "GET", "/pos/v1/payments", NULL, NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *ps = json_object_get(r.j, "payments");
    assert_int_equal(json_array_size(ps), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 0), "id")), id);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 1), "id")), id2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 1), "status")), "voided");
    assert_string_equal(json_string_value(json_object_get(r.j, "next_since")), id2);
    ac_resp_free(&r);
    snprintf(path, sizeof path, "/pos/v1/payments?since=%s", id);
    r = pos(f, &f->t1, "GET", path, NULL, NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "payments")), 1);
    ac_resp_free(&r);
    snprintf(path, sizeof path, "/pos/v1/payments?since=%s", id2);
    r = pos(f, &f->t1, "GET", path, NULL, NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "payments")), 0);
    assert_string_equal(json_string_value(json_object_get(r.j, "next_since")), id2);
    ac_resp_free(&r);
    r = pos(f, &f->t1, "GET", "/pos/v1/payments?since=usr_0000000000001", NULL, NULL);
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    ac_resp_free(&r);
    r = pos(f, &f->t2, "GET", "/pos/v1/payments", NULL, NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "payments")), 1);
    ac_resp_free(&r);
}

static void test_retries_replays_and_forgeries(void **state)
{
    struct fx *f = *state;
    int64_t b0 = balance(f, &f->u);
    char code[CODE_DIGITS + 1], key[40], body[256], nonce[33];
    paycode(f, &f->u, code);
    new_key(key);
    charge_body(body, sizeof body, code, 500, NULL);
    int64_t now = (int64_t)time(NULL);
    struct ac_resp r;

    /* Refused before anything is looked at: no signature, a bearer token,
     * stale, from the future, signed by another terminal, a body changed
     * after signing. */
    const char *headers[3] = {NULL, NULL, NULL};
    char key_line[80], bearer[128];
    snprintf(key_line, sizeof key_line, "Idempotency-Key: %s", key);
    headers[0] = key_line;
    r = ac_call_raw(&f->s, &f->pos, "POST", "/pos/v1/charges", headers, body, false);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", f->u.token);
    headers[1] = bearer;
    r = ac_call_raw(&f->s, &f->pos, "POST", "/pos/v1/charges", headers, body, false);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    new_nonce(nonce);
    r = pos_ex(f, &f->t1, "POST", "/pos/v1/charges", key, body, nonce, now - 301);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    new_nonce(nonce);
    /* Not 301: the server's clock may have ticked on since now was read. */
    r = pos_ex(f, &f->t1, "POST", "/pos/v1/charges", key, body, nonce, now + 330);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    struct ac_terminal forged = f->t1;
    memcpy(forged.secret, f->far.secret, sizeof forged.secret);
    r = pos(f, &forged, "POST", "/pos/v1/charges", key, body);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0);

    /* The real charge, then the very same request replayed. */
    new_nonce(nonce);
    r = pos_ex(f, &f->t1, "POST", "/pos/v1/charges", key, body, nonce, now);
    AC_EXPECT_STATUS(r, 201);
    char id[40];
    snprintf(id, sizeof id, "%s", cstr(&r, "id"));
    ac_resp_free(&r);
    r = pos_ex(f, &f->t1, "POST", "/pos/v1/charges", key, body, nonce, now);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0 - 500);
    /* The register never saw the answer and retries, signed anew: the
     * same receipt, charged once. */
    r = charge(f, &f->t1, key, code, 500);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "true");
    assert_string_equal(cstr(&r, "id"), id);
    ac_resp_free(&r);
    /* The same key with another amount. */
    r = charge(f, &f->t1, key, code, 501);
    AC_EXPECT_ERROR(r, 409, "idempotency_conflict");
    ac_resp_free(&r);
    /* The spent code under a new key. */
    new_key(key);
    r = charge(f, &f->t2, key, code, 500);
    AC_EXPECT_ERROR(r, 400, "invalid_code");
    assert_string_equal(ac_err_param(&r), "code");
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0 - 500);

    /* Bad input: 400 naming the field, nothing moves, the code survives. */
    paycode(f, &f->u, code);
    const char *bad_items[] = {
        "[{\"category\":\"food\",\"amount\":100}]",                          /* sum != amount */
        "[{\"category\":\"Food!\",\"amount\":500}]",                         /* category */
        "[{\"category\":\"food\",\"amount\":0}]",                            /* item amount */
        "[{\"category\":\"food\",\"amount\":500,\"sku\":\"x\"}]",            /* unknown field */
        "[\"food\"]",                                                        /* not an object */
        "{\"category\":\"food\",\"amount\":500}",                            /* not an array */
    };
    for (size_t i = 0; i < sizeof bad_items / sizeof bad_items[0]; i++) {
        new_key(key);
        charge_body(body, sizeof body, code, 500, bad_items[i]);
        r = pos(f, &f->t1, "POST", "/pos/v1/charges", key, body);
        if (r.status != 400)
            fail_msg("items %s: %ld %s", bad_items[i], r.status, r.raw ? r.raw : "");
        assert_non_null(strstr(ac_err_param(&r), "items"));
        ac_resp_free(&r);
    }
    new_key(key);
    r = pos(f, &f->t1, "POST", "/pos/v1/charges", key, "{\"code\":\"123\",\"amount\":500,\"customer\":\"x\"}");
    AC_EXPECT_ERROR(r, 400, "unknown_param");
    ac_resp_free(&r);
    r = charge(f, &f->t1, NULL, code, 500);
    AC_EXPECT_STATUS(r, 400);
    assert_string_equal(ac_err_param(&r), "Idempotency-Key");
    ac_resp_free(&r);
    r = charge(f, &f->t1, key, code, 100001);
    AC_EXPECT_ERROR(r, 422, "limit_exceeded");
    ac_resp_free(&r);
    r = charge(f, &f->t1, key, code, 1000000);
    AC_EXPECT_ERROR(r, 422, "limit_exceeded");
    ac_resp_free(&r);
    r = charge(f, &f->t1, key, code, 40000);
    AC_EXPECT_ERROR(r, 422, "insufficient_funds");
    ac_resp_free(&r);
    r = pos(f, &f->t1, "POST", "/pos/v1/charges/pay_0000000000001x/refunds", key, "{\"amount\":1}");
    AC_EXPECT_ERROR(r, 404, "payment_not_found");
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0 - 500);
    r = charge(f, &f->t1, key, code, 250);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0 - 750);
}

struct racer {
    struct fx *f;
    const struct ac_terminal *t;
    const char *code;
    pthread_barrier_t *go;
    long status;
    char err[40];
};

/* A charge refused on the HTTP thread (here: not enough money) spends its
 * nonce: replayed byte for byte once the wallet is funded, it is a replay.
 * The register's retry, signed anew, pays; and a code typed with spaces
 * (as the clerk reads it out in groups) is the same code. */
static void test_a_refused_charge_spends_its_nonce(void **state)
{
    struct fx *f = *state;
    int64_t b0 = balance(f, &f->u);
    char code[CODE_DIGITS + 1], key[40], body[256], nonce[33];
    paycode(f, &f->u, code);
    new_key(key);
    charge_body(body, sizeof body, code, b0 + 1000, NULL);
    int64_t now = (int64_t)time(NULL);
    new_nonce(nonce);
    struct ac_resp r = pos_ex(f, &f->t1, "POST", "/pos/v1/charges", key, body, nonce, now);
    AC_EXPECT_ERROR(r, 422, "insufficient_funds");
    ac_resp_free(&r);
    fund(f, &f->u, 1000);
    r = pos_ex(f, &f->t1, "POST", "/pos/v1/charges", key, body, nonce, now);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0 + 1000);
    char spaced[CODE_DIGITS + 8];
    snprintf(spaced, sizeof spaced, "%.6s %.6s %.6s", code, code + 6, code + 12);
    charge_body(body, sizeof body, spaced, b0 + 1000, NULL);
    r = pos(f, &f->t1, "POST", "/pos/v1/charges", key, body);
    AC_EXPECT_STATUS(r, 201);
    char id[40], path[96];
    snprintf(id, sizeof id, "%s", cstr(&r, "id"));
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), 0);

    /* A register that forgot its Idempotency-Key is refused; that header is
     * not signed, so the captured request replayed with one added is a
     * replay all the same (a charge's code would stop a second payment, a
     * refund has no such code). */
    size_t replays0 = ac_log_count(&f->s, "\"replayed_nonce\"");
    snprintf(path, sizeof path, "/pos/v1/charges/%s/refunds", id);
    const char *refund_body = "{\"amount\":400}";
    new_nonce(nonce);
    r = pos_ex(f, &f->t1, "POST", path, NULL, refund_body, nonce, now);
    AC_EXPECT_STATUS(r, 400);
    assert_string_equal(ac_err_param(&r), "Idempotency-Key");
    ac_resp_free(&r);
    new_key(key);
    r = pos_ex(f, &f->t1, "POST", path, key, refund_body, nonce, now);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    paycode(f, &f->u, code);
    charge_body(body, sizeof body, code, 100, NULL);
    new_nonce(nonce);
    r = pos_ex(f, &f->t1, "POST", "/pos/v1/charges", NULL, body, nonce, now);
    AC_EXPECT_STATUS(r, 400);
    ac_resp_free(&r);
    r = pos_ex(f, &f->t1, "POST", "/pos/v1/charges", key, body, nonce, now);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    assert_int_equal(ac_log_count(&f->s, "\"replayed_nonce\"") - replays0, 2);
    /* The clerk's own retry, signed again, refunds once. */
    r = refund(f, &f->t1, id, key, 400);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), 400);
}

static void *race(void *arg)
{
    struct racer *r = arg;
    char key[40], body[128], nonce[33], sig[POS_SIG_HEX_LEN + 1], auth[300], key_line[80];
    new_key(key);
    new_nonce(nonce);
    charge_body(body, sizeof body, r->code, 1000, NULL);
    int64_t ts = (int64_t)time(NULL);
    pos_sign(r->t->secret, "POST", "/pos/v1/charges", ts, nonce, body, strlen(body), sig);
    snprintf(auth, sizeof auth, "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=%s,sig=%s",
             r->t->key_id, (long long)ts, nonce, sig);
    snprintf(key_line, sizeof key_line, "Idempotency-Key: %s", key);
    const char *headers[] = {auth, key_line, NULL};
    pthread_barrier_wait(r->go);
    struct ac_resp resp = ac_call_raw(&r->f->s, &r->f->pos, "POST", "/pos/v1/charges", headers, body, true);
    r->status = resp.status;
    snprintf(r->err, sizeof r->err, "%s", ac_err_code(&resp));
    ac_resp_free(&resp);
    return NULL;
}

/* One signed read, sent by several threads at the same instant. */
struct reader {
    struct fx *f;
    const char *path;
    const char *auth;
    pthread_barrier_t *go;
    long status;
};

static void *read_once(void *arg)
{
    struct reader *r = arg;
    const char *headers[] = {r->auth, NULL};
    pthread_barrier_wait(r->go);
    struct ac_resp resp = ac_call_raw(&r->f->s, &r->f->pos, "GET", r->path, headers, NULL, true);
    r->status = resp.status;
    ac_resp_free(&resp);
    return NULL;
}

/* A terminal's reads spend their nonce as its writes do (the nonce rides
 * the ledger writer's group commit; the answer waits for it): the very
 * same request captured on the store's network and replayed is refused
 * and logged, also when the first answer was an error, and of copies sent
 * at the same instant exactly one is answered. */
static void test_replayed_reads_are_refused_and_logged(void **state)
{
    struct fx *f = *state;
    char id[40], path[96], nonce[33];
    paid(f, &f->u, &f->t1, 300, id);
    snprintf(path, sizeof path, "/pos/v1/charges/%s", id);
    size_t replays0 = ac_log_count(&f->s, "\"replayed_nonce\"");
    int64_t now = (int64_t)time(NULL);
    const struct {
        const char *path;
        long status;
    } reads[] = {
        {path, 200},
        {"/pos/v1/payments", 200},
        {"/pos/v1/charges/pay_999999999", 404},
        {"/pos/v1/payments?since=usr_0000000000001", 400},
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        new_nonce(nonce);
        struct ac_resp r = pos_ex(f, &f->t1, "GET", reads[i].path, NULL, NULL, nonce, now);
        AC_EXPECT_STATUS(r, reads[i].status);
        if (i == 0)
            assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "charge"), "id")), id);
        ac_resp_free(&r);
        r = pos_ex(f, &f->t1, "GET", reads[i].path, NULL, NULL, nonce, now);
        AC_EXPECT_ERROR(r, 401, "invalid_signature");
        ac_resp_free(&r);
    }
    assert_int_equal(ac_log_count(&f->s, "\"replayed_nonce\"") - replays0, 4);

    enum { N = 6 };
    char sig[POS_SIG_HEX_LEN + 1], auth[300];
    new_nonce(nonce);
    pos_sign(f->t1.secret, "GET", "/pos/v1/payments", now, nonce, "", 0, sig);
    snprintf(auth, sizeof auth, "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=%s,sig=%s", f->t1.key_id,
             (long long)now, nonce, sig);
    struct reader rs[N];
    pthread_t th[N];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        rs[i] = (struct reader){.f = f, .path = "/pos/v1/payments", .auth = auth, .go = &go};
        assert_int_equal(pthread_create(&th[i], NULL, read_once, &rs[i]), 0);
    }
    int answered = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (rs[i].status == 200)
            answered++;
        else if (rs[i].status != 401)
            fail_msg("reader %d: %ld", i, rs[i].status);
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(answered, 1);
    assert_int_equal(ac_log_count(&f->s, "\"replayed_nonce\"") - replays0, 4 + N - 1);
}

static void test_one_code_two_registers_at_once(void **state)
{
    struct fx *f = *state;
    for (int round = 0; round < 3; round++) {
        int64_t b0 = balance(f, &f->u);
        char code[CODE_DIGITS + 1];
        paycode(f, &f->u, code);
        enum { N = 6 };
        struct racer rs[N];
        pthread_t th[N];
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, N);
        for (int i = 0; i < N; i++) {
            rs[i] = (struct racer){.f = f, .t = i % 2 ? &f->t1 : &f->t2, .code = code, .go = &go};
            assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
        }
        int ok = 0;
        for (int i = 0; i < N; i++) {
            pthread_join(th[i], NULL);
            if (rs[i].status == 201)
                ok++;
            else if (rs[i].status != 400 || strcmp(rs[i].err, "invalid_code") != 0)
                fail_msg("racer %d: %ld %s", i, rs[i].status, rs[i].err);
        }
        pthread_barrier_destroy(&go);
        assert_int_equal(ok, 1);
        assert_int_equal(balance(f, &f->u), b0 - 1000);
    }
}

static void test_nobody_else_sees_or_refunds_a_payment(void **state)
{
    struct fx *f = *state;
    char id[40];
    paid(f, &f->u, &f->t1, 900, id);
    int64_t bu = balance(f, &f->u), bv = balance(f, &f->v);
    /* The payer sees it in the history; the other customer, nowhere. */
    char txn[40], path[160];
    snprintf(txn, sizeof txn, "txn_%s", id + 4);
    snprintf(path, sizeof path, "/v1/transactions/%s", txn);
    struct ac_resp r = ac_call(&f->s, &f->u.who, "GET", path, NULL);
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
    r = ac_call(&f->s, &f->v.who, "GET", path, NULL);
    AC_EXPECT_STATUS(r, 404);
    ac_resp_free(&r);
    r = ac_call(&f->s, &f->v.who, "GET", "/v1/transactions?limit=100", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_null(strstr(r.raw, txn));
    assert_null(strstr(r.raw, id));
    ac_resp_free(&r);
    const char *probes[] = {"/v1/topups/tpu_%s", "/v1/transactions/pay_%s"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, probes[i], id + 4);
        r = ac_call(&f->s, &f->v.who, "GET", path, NULL);
        assert_true(r.status == 404 || r.status == 400);
        assert_null(strstr(r.raw ? r.raw : "", "900"));
        ac_resp_free(&r);
    }
    /* A customer's session is no terminal. */
    char bearer[128];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", f->v.token);
    snprintf(path, sizeof path, "/pos/v1/charges/%s", id);
    const char *h[] = {bearer, NULL};
    r = ac_call_raw(&f->s, &f->v.who, "GET", path, h, NULL, false);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);

    /* Another merchant's register: cannot read, refund or void it, nor
     * find it in its feed — the same 404 as a payment that does not exist. */
    r = pos(f, &f->far, "GET", path, NULL, NULL);
    AC_EXPECT_ERROR(r, 404, "payment_not_found");
    ac_resp_free(&r);
    char key[40];
    new_key(key);
    r = refund(f, &f->far, id, key, 100);
    AC_EXPECT_ERROR(r, 404, "payment_not_found");
    ac_resp_free(&r);
    snprintf(path, sizeof path, "/pos/v1/charges/%s/void", id);
    r = pos(f, &f->far, "POST", path, key, "{}");
    AC_EXPECT_ERROR(r, 404, "payment_not_found");
    ac_resp_free(&r);
    r = pos(f, &f->far, "GET", "/pos/v1/payments", NULL, NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_null(strstr(r.raw, id));
    ac_resp_free(&r);
    /* Each try is in the log under the far register's name: a register
     * walking through ids (they are sequential) shows. */
    char line[200];
    snprintf(line, sizeof line, "\"terminal\":\"%s\"", f->far.key_id);
    assert_int_equal(ac_log_count(&f->s, "\"pos_payment_not_found\""), 3);
    assert_int_equal(ac_log_count(&f->s, line), 3);
    assert_int_equal(ac_log_count(&f->s, "\"another_merchant\":true"), 3);
    assert_int_equal(ac_log_count(&f->s, "\"action\":\"void\""), 1);
    assert_int_equal(balance(f, &f->u), bu);
    assert_int_equal(balance(f, &f->v), bv);
}

static void test_switches_and_freezes_act_at_once(void **state)
{
    struct fx *f = *state;
    int64_t b0 = balance(f, &f->u);
    char code[CODE_DIGITS + 1], key[40], args[200];
    paycode(f, &f->u, code);
    new_key(key);

    /* Store a switched off while kessaid runs: refused with the reason;
     * store b of the same merchant goes on. */
    snprintf(args, sizeof args, "admin killswitch on payments --store %s --reason 'till broken' >/dev/null",
             f->store_a);
    assert_int_equal(ac_cli(&f->s, args), 0);
    struct ac_resp r = charge(f, &f->t1, key, code, 400);
    AC_EXPECT_ERROR(r, 503, "service_suspended");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "error"), "reason")), "till broken");
    ac_resp_free(&r);
    r = charge(f, &f->t2, key, code, 400);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    snprintf(args, sizeof args, "admin killswitch off payments --store %s >/dev/null", f->store_a);
    assert_int_equal(ac_cli(&f->s, args), 0);
    /* Everything off: every store, with the reason. */
    assert_int_equal(ac_cli(&f->s, "admin killswitch on payments --reason 'fraud wave, back at 18:00' >/dev/null"),
                     0);
    paycode(f, &f->u, code);
    new_key(key);
    r = charge(f, &f->far, key, code, 400);
    AC_EXPECT_ERROR(r, 503, "service_suspended");
    ac_resp_free(&r);
    assert_int_equal(ac_cli(&f->s, "admin killswitch off payments >/dev/null"), 0);

    /* The owner freezes from the app: the codes shown before are gone (a
     * thief's phone may hold one), and a code made since is refused at the
     * register for the freeze. */
    r = ac_call(&f->s, &f->u.who, "POST", "/v1/freeze", json_pack("{s:s}", "reason", "phone stolen"));
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
    r = charge(f, &f->t1, key, code, 400);
    AC_EXPECT_ERROR(r, 400, "invalid_code");
    ac_resp_free(&r);
    paycode(f, &f->u, code);
    new_key(key);
    r = charge(f, &f->t1, key, code, 400);
    AC_EXPECT_ERROR(r, 403, "account_frozen");
    ac_resp_free(&r);
    char *mail = ac_mail_wait(&f->s, f->u.email, "Your kessai account is frozen");
    free(mail);
    /* Support unfreezes (the customer cannot); the same request works. */
    snprintf(args, sizeof args, "admin customer unfreeze %s --reason 'owner verified' >/dev/null", f->u.email);
    assert_int_equal(ac_cli(&f->s, args), 0);
    r = charge(f, &f->t1, key, code, 400);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0 - 800);
}

static void test_a_guessing_register_is_throttled(void **state)
{
    struct fx *f = *state;
    char key[40], code[CODE_DIGITS + 1];
    new_key(key);
    struct ac_resp r;
    for (int i = 0; i < 10; i++) {
        char guess[CODE_DIGITS + 1];
        snprintf(guess, sizeof guess, "8%017d", 1000 + i);
        r = charge(f, &f->far, key, guess, 100);
        AC_EXPECT_ERROR(r, 400, "invalid_code");
        ac_resp_free(&r);
    }
    paycode(f, &f->u, code);
    r = charge(f, &f->far, key, code, 100);
    AC_EXPECT_ERROR(r, 429, "rate_limited");
    assert_true(atoi(r.retry_after) > 800);
    ac_resp_free(&r);
    assert_int_equal(ac_log_count(&f->s, "\"terminal_flagged\""), 1);
    assert_true(ac_log_count(&f->s, f->far.key_id) >= 1);
    /* The other merchant's registers take the code. */
    r = charge(f, &f->t1, key, code, 100);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
}

/* A stolen register trying codes on many connections at once gets no more
 * looks than one trying them in turn, but one a kessaid HTTP thread: each
 * bad code is in flight (wallet/guess_pending.h) before that thread takes
 * another request, and the block check counts those in flight with those
 * committed.  Every other try is 429, and the terminal is flagged once. */
static void test_a_guessing_register_gains_nothing_in_parallel(void **state)
{
    struct fx *f = *state;
    enum { N = 40, GUESS_CODES = 10 /* PAYMENT_GUESS_CODES */ };
    static char codes[N][CODE_DIGITS + 1];
    struct racer rs[N];
    pthread_t th[N];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        snprintf(codes[i], sizeof codes[i], "8%017d", 90000 + i);
        rs[i] = (struct racer){.f = f, .t = &f->far, .code = codes[i], .go = &go};
        assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
    }
    int looked = 0, blocked = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (rs[i].status == 400 && strcmp(rs[i].err, "invalid_code") == 0)
            looked++;
        else if (rs[i].status == 429)
            blocked++;
        else
            fail_msg("guesser %d: %ld %s", i, rs[i].status, rs[i].err);
    }
    pthread_barrier_destroy(&go);
    print_message("%d codes looked up, %d refused\n", looked, blocked);
    long threads = sysconf(_SC_NPROCESSORS_ONLN); /* kessaid's HTTP threads, by default */
    assert_true(looked >= GUESS_CODES);
    if (looked > GUESS_CODES + threads)
        fail_msg("%d codes looked up before the block, more than %d + %ld threads", looked, GUESS_CODES, threads);
    assert_int_equal(looked + blocked, N);
    assert_int_equal(ac_log_count(&f->s, "\"terminal_flagged\""), 1);
}

/* The bad codes recorded against terminal t: rows, not distinct codes. */
static int guesses_recorded(struct fx *f, const struct ac_terminal *t)
{
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", f->s.data);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM auth_failures WHERE source_kind = ? AND source = ?",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_int(q, 1, AUTH_SOURCE_TERMINAL);
    sqlite3_bind_text(q, 2, t->key_id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* Request groups the ledger writer has taken (its /metrics counter). */
static long long writer_groups(struct fx *f)
{
    struct ac_resp r = ac_call(&f->s, &f->pos, "GET", "/metrics", NULL);
    AC_EXPECT_STATUS(r, 200);
    const char *at = r.raw ? strstr(r.raw, "\nkessai_ledger_commit_groups_total ") : NULL;
    assert_non_null(at);
    long long n = atoll(at + strlen("\nkessai_ledger_commit_groups_total "));
    ac_resp_free(&r);
    return n;
}

/* A charge captured on the store's network and replayed is refused before
 * any work is done for it: its code is not looked up again, so a bad one
 * is not recorded against the terminal again (each record is a commit),
 * and each replay is logged.  A replayed read is refused before it reads
 * or asks the ledger writer to spend its nonce.  Replayed to a second
 * kessaid, which learns the nonce only when it tries to spend it, the bad
 * code is counted in that same commit, so not at all.  The clerk's own
 * retry, signed anew, is still answered. */
static void test_a_replayed_charge_costs_no_work(void **state)
{
    struct fx *f = *state;
    struct ac_server b; /* started first: it does not read the nonce at start-up */
    ac_server_init(&b);
    snprintf(b.data, sizeof b.data, "%s", f->s.data);
    ac_server_start(&b, NULL);
    char key[40], body[256], nonce[33], bad[CODE_DIGITS + 1];
    snprintf(bad, sizeof bad, "8%017d", 4242);
    new_key(key);
    charge_body(body, sizeof body, bad, 100, NULL);
    new_nonce(nonce);
    char nonce0[33];
    snprintf(nonce0, sizeof nonce0, "%s", nonce);
    int64_t now = (int64_t)time(NULL);
    struct ac_resp r = pos_ex(f, &f->t2, "POST", "/pos/v1/charges", key, body, nonce, now);
    AC_EXPECT_ERROR(r, 400, "invalid_code");
    ac_resp_free(&r);
    assert_int_equal(guesses_recorded(f, &f->t2), 1);
    size_t replays0 = ac_log_count(&f->s, "\"replayed_nonce\"");
    for (int i = 0; i < 5; i++) {
        r = pos_ex(f, &f->t2, "POST", "/pos/v1/charges", key, body, nonce, now);
        AC_EXPECT_ERROR(r, 401, "invalid_signature");
        ac_resp_free(&r);
    }
    assert_int_equal(guesses_recorded(f, &f->t2), 1);
    assert_int_equal(ac_log_count(&f->s, "\"replayed_nonce\"") - replays0, 5);

    new_nonce(nonce);
    r = pos_ex(f, &f->t2, "GET", "/pos/v1/payments", NULL, NULL, nonce, now);
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
    long long groups = writer_groups(f);
    for (int i = 0; i < 5; i++) {
        r = pos_ex(f, &f->t2, "GET", "/pos/v1/payments", NULL, NULL, nonce, now);
        AC_EXPECT_ERROR(r, 401, "invalid_signature");
        ac_resp_free(&r);
    }
    /* Less than one a replay: leeway for a periodic job's group. */
    assert_true(writer_groups(f) - groups < 5);
    assert_int_equal(ac_log_count(&f->s, "\"replayed_nonce\"") - replays0, 10);

    charge_body(body, sizeof body, bad, 100, NULL);
    r = pos_at(f, &b, &f->t2, "POST", "/pos/v1/charges", key, body, nonce0, now);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    assert_int_equal(ac_log_count(&b, "\"replayed_nonce\""), 1);
    assert_int_equal(guesses_recorded(f, &f->t2), 1);
    assert_int_equal(ac_server_stop(&b), 0);
    ac_server_cleanup(&b);
    r = charge(f, &f->t2, key, bad, 100);
    AC_EXPECT_ERROR(r, 400, "invalid_code");
    ac_resp_free(&r);
    assert_int_equal(guesses_recorded(f, &f->t2), 2);
}

/* security events of kind whose detail names rule */
static int audited(struct fx *f, const char *kind, const char *rule)
{
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", f->s.data);
    struct store *st = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    static struct security_event ev[256];
    size_t n = 0;
    assert_int_equal(st->ops->security_event_list(st, 0, 0, 256, ev, &n), ERR_OK);
    store_close(st);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(ev[i].kind, kind) == 0 && strstr(ev[i].detail, rule) != NULL;
    return k;
}

/* insider-refunds from the register's side: a clerk gives an accomplice's
 * gift cards' money back minutes after the sale, as a refund or a void, and
 * then cycles ordinary goods through the same accomplice.  Each is 409
 * risk_held with a message the clerk can act on; nothing moves; each is
 * audited with the rule that held it. */
static void test_an_insiders_refunds_to_an_accomplice_are_held(void **state)
{
    struct fx *f = *state;
    int64_t b0 = balance(f, &f->u);
    char code[CODE_DIGITS + 1], key[40], body[400], id[40], path[128];
    paycode(f, &f->u, code);
    new_key(key);
    charge_body(body, sizeof body, code, 9000, "[{\"category\":\"giftcards\",\"amount\":9000}]");
    struct ac_resp r = pos(f, &f->t1, "POST", "/pos/v1/charges", key, body);
    AC_EXPECT_STATUS(r, 201);
    snprintf(id, sizeof id, "%s", cstr(&r, "id"));
    ac_resp_free(&r);
    new_key(key);
    r = refund(f, &f->t1, id, key, 9000);
    AC_EXPECT_ERROR(r, 409, "risk_held");
    assert_non_null(strstr(r.raw, "held for review; nothing was moved"));
    ac_resp_free(&r);
    snprintf(path, sizeof path, "/pos/v1/charges/%s/void", id);
    new_key(key);
    r = pos(f, &f->t1, "POST", path, key, "{}");
    AC_EXPECT_ERROR(r, 409, "risk_held");
    ac_resp_free(&r);
    /* the other register of the chain: the same */
    new_key(key);
    r = refund(f, &f->t2, id, key, 9000);
    AC_EXPECT_ERROR(r, 409, "risk_held");
    ac_resp_free(&r);
    snprintf(path, sizeof path, "/pos/v1/charges/%s", id);
    r = pos(f, &f->t1, "GET", path, NULL, NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(cint(&r, "refunded"), 0);
    assert_string_equal(cstr(&r, "status"), "succeeded");
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0 - 9000);

    /* Ordinary goods: the first return is any customer's; the second to
     * the same payer at the store within the month is held. */
    char a[40], b[40];
    paid(f, &f->u, &f->t1, 2000, a);
    paid(f, &f->u, &f->t1, 2000, b);
    new_key(key);
    r = refund(f, &f->t1, a, key, 2000);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    new_key(key);
    r = refund(f, &f->t1, b, key, 2000);
    AC_EXPECT_ERROR(r, 409, "risk_held");
    ac_resp_free(&r);
    assert_int_equal(balance(f, &f->u), b0 - 9000 - 2000);
    /* another customer's return at the same store goes through */
    char c[40];
    paid(f, &f->v, &f->t1, 1000, c);
    new_key(key);
    r = refund(f, &f->t1, c, key, 1000);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(audited(f, "risk_held", "refund_resale_fast"), 3);
    assert_int_equal(audited(f, "risk_held", "refund_repeat_payer"), 1);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cpm_charge_refunds_void_and_feed, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(test_retries_replays_and_forgeries, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(test_a_refused_charge_spends_its_nonce, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(test_replayed_reads_are_refused_and_logged, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(test_one_code_two_registers_at_once, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(test_nobody_else_sees_or_refunds_a_payment, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(test_switches_and_freezes_act_at_once, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(test_a_guessing_register_is_throttled, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(test_a_guessing_register_gains_nothing_in_parallel, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(test_a_replayed_charge_costs_no_work, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(test_an_insiders_refunds_to_an_accomplice_are_held, fx_up_insider, fx_down),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    oath_done();
    curl_global_cleanup();
    return rc;
}
