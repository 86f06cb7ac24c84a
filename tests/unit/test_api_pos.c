/* test_api_pos.c: the POS cash top-up and the top-up kill switches over
 * HTTP, against a real kessaid.
 *
 * Before the server starts, the operator's CLI creates a merchant, a store
 * and two terminals on the data directory (their secrets are shown once and
 * kept here, as a register would); a customer registers and shows top-up
 * codes (POST /v1/topup-codes).  Then the test is the register and the
 * attacker: signed cash top-ups credit the wallet exactly once; replayed,
 * stale, tampered and unsigned requests, and those of a terminal revoked
 * while the server runs, are refused with 401 and leave the wallet and the
 * code as they were; kill switches set with the CLI while the server runs
 * stop the top-ups they name at once with 503 and the operator's reason,
 * and nothing else.  At the end the ledger verifies and no code, secret or
 * signature is in the database or the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <liboath/oath.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_client.h"
#include "pos/sign.h"
#include "testutil.h"

#define CASH_PATH "/pos/v1/cash-topups"

struct fx {
    struct ac_server s;
    char store_id[32];
    struct ac_terminal t1, t2;
    struct ac_user u;
    struct ac_who pos; /* the registers' client address */
};

/* ---- set-up through the CLI ---------------------------------------------- */

/* The customer's phone is a new device for the whole test: keep its lower
 * daily limit out of the way of what is tested here. */
static const char *fx_env[] = {"KESSAI_TOPUP_NEW_DEVICE_DAILY_MAX=100000", NULL};

static int fx_up(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    ac_server_init(&f->s);
    json_t *m = ac_cli_json(&f->s, "admin merchant create --name 'Kessai Mart'");
    char args[400];
    snprintf(args, sizeof args,
             "admin store create --merchant %s --name 'Tokyo Station' --address '1-9-1 Marunouchi, Chiyoda-ku, "
             "Tokyo' --lat 35.681236 --lon 139.767125 --category convenience",
             json_string_value(json_object_get(m, "id")));
    json_decref(m);
    json_t *st = ac_cli_json(&f->s, args);
    snprintf(f->store_id, sizeof f->store_id, "%s", json_string_value(json_object_get(st, "id")));
    json_decref(st);
    ac_make_terminal(&f->s, f->store_id, &f->t1);
    ac_make_terminal(&f->s, f->store_id, &f->t2);
    ac_server_start(&f->s, fx_env);
    ac_user_enrolled(&f->s, &f->u, "pos");
    f->pos = ac_new_source(&f->s);
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

/* ---- the customer's side -------------------------------------------------- */

static int64_t balance(struct fx *f)
{
    struct ac_resp r = ac_call(&f->s, &f->u.who, "GET", "/v1/wallet", NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *b = json_object_get(r.j, "balance");
    assert_true(json_is_integer(b));
    int64_t v = json_integer_value(b);
    ac_resp_free(&r);
    return v;
}

/* A fresh top-up code from the customer's phone. */
static void new_code(struct fx *f, char out[TOPUP_CODE_DIGITS + 1])
{
    struct ac_resp r = ac_call(&f->s, &f->u.who, "POST", "/v1/topup-codes", json_object());
    AC_EXPECT_STATUS(r, 201);
    const char *code = ac_str(&r, "code");
    assert_non_null(code);
    assert_int_equal(strlen(code), TOPUP_CODE_DIGITS);
    snprintf(out, TOPUP_CODE_DIGITS + 1, "%s", code);
    ac_remember(&f->s, out);
    ac_resp_free(&r);
}

/* ---- the register's side --------------------------------------------------- */

static void new_nonce(char out[33])
{
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, 33, b, sizeof b);
}

static void cash_body(char *buf, size_t n, const char *code, int64_t amount)
{
    snprintf(buf, n, "{\"code\":\"%s\",\"amount\":%lld}", code, (long long)amount);
}

/* The Authorization header value for this request. */
static void sign(const struct ac_terminal *t, const char *key_id, int64_t ts, const char *nonce, const char *body,
                 char *out, size_t n)
{
    char sig[POS_SIG_HEX_LEN + 1];
    pos_sign(t->secret, "POST", CASH_PATH, ts, nonce, body, strlen(body), sig);
    snprintf(out, n, "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=%s,sig=%s", key_id, (long long)ts,
             nonce, sig);
}

/* Send body to node s with the given Authorization line (NULL: none) and
 * key (NULL: none). */
static struct ac_resp send_cash_to(struct fx *f, struct ac_server *s, const char *auth_line, const char *idem,
                                   const char *body)
{
    char key_line[128];
    const char *headers[3] = {NULL, NULL, NULL};
    size_t h = 0;
    if (auth_line)
        headers[h++] = auth_line;
    if (idem) {
        snprintf(key_line, sizeof key_line, "Idempotency-Key: %s", idem);
        headers[h++] = key_line;
    }
    return ac_call_raw(s, &f->pos, "POST", CASH_PATH, headers, body, false);
}

static struct ac_resp send_cash(struct fx *f, const char *auth_line, const char *idem, const char *body)
{
    return send_cash_to(f, &f->s, auth_line, idem, body);
}

/* A correctly signed cash top-up by terminal t, now, with a new nonce. */
static struct ac_resp cash(struct fx *f, const struct ac_terminal *t, const char *idem, const char *code,
                           int64_t amount)
{
    char body[128], auth[300], nonce[33];
    cash_body(body, sizeof body, code, amount);
    new_nonce(nonce);
    sign(t, t->key_id, (int64_t)time(NULL), nonce, body, auth, sizeof auth);
    return send_cash(f, auth, idem, body);
}

static void new_key(char out[40])
{
    uint8_t b[12];
    randombytes_buf(b, sizeof b);
    memcpy(out, "pos-", 4);
    sodium_bin2hex(out + 4, 36, b, sizeof b);
}

static const char *topup_str(const struct ac_resp *r, const char *k)
{
    return json_string_value(json_object_get(json_object_get(r->j, "topup"), k));
}

static int64_t topup_int(const struct ac_resp *r, const char *k)
{
    return json_integer_value(json_object_get(json_object_get(r->j, "topup"), k));
}

static const char *err_reason(const struct ac_resp *r)
{
    const char *s = json_string_value(json_object_get(json_object_get(r->j, "error"), "reason"));
    return s ? s : "";
}

/* ---- tests ----------------------------------------------------------------- */

static void test_signed_cash_topup_credits_once(void **state)
{
    struct fx *f = *state;
    int64_t b0 = balance(f);
    char code[TOPUP_CODE_DIGITS + 1], key[40], body[128], auth[300], nonce[33];
    new_code(f, code);
    new_key(key);
    cash_body(body, sizeof body, code, 1000);
    new_nonce(nonce);
    sign(&f->t1, f->t1.key_id, (int64_t)time(NULL), nonce, body, auth, sizeof auth);

    struct ac_resp r = send_cash(f, auth, key, body);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "");
    assert_string_equal(topup_str(&r, "source"), "cash");
    assert_string_equal(topup_str(&r, "status"), "succeeded");
    assert_int_equal(topup_int(&r, "amount"), 1000);
    assert_non_null(topup_str(&r, "created_at"));
    char id[64], id_key[40];
    snprintf(id, sizeof id, "%s", topup_str(&r, "id"));
    snprintf(id_key, sizeof id_key, "%s", key);
    assert_memory_equal(id, "tpu_", 4);
    assert_int_equal(json_integer_value(json_object_get(r.j, "balance")), b0 + 1000);
    /* The receipt names no customer: the clerk has no business with it. */
    assert_null(strstr(r.raw, "usr_"));
    assert_null(strstr(r.raw, f->u.email));
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);

    /* A replay of the very same request (captured on the store's network):
     * refused, nothing credited. */
    r = send_cash(f, auth, key, body);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);

    /* The register retries (it never saw the answer): same key and body,
     * signed again with a new nonce: the same receipt, credited once. */
    r = cash(f, &f->t1, key, code, 1000);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "true");
    assert_string_equal(topup_str(&r, "id"), id);
    assert_int_equal(topup_int(&r, "amount"), 1000);
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);

    /* The same key with another amount is a different request. */
    r = cash(f, &f->t1, key, code, 2000);
    AC_EXPECT_ERROR(r, 409, "idempotency_conflict");
    ac_resp_free(&r);

    /* The code was used: a new key cannot use it again. */
    new_key(key);
    r = cash(f, &f->t1, key, code, 1000);
    AC_EXPECT_ERROR(r, 400, "invalid_code");
    assert_string_equal(ac_err_param(&r), "code");
    ac_resp_free(&r);
    /* Nor can the other terminal of the store. */
    new_key(key);
    r = cash(f, &f->t2, key, code, 1000);
    AC_EXPECT_ERROR(r, 400, "invalid_code");
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);

    /* Once the wallet has moved on, a retry still answers its receipt's
     * balance, not the wallet's now: a register cannot read a customer's
     * balance at will by retrying an old top-up. */
    char code2[TOPUP_CODE_DIGITS + 1], key2[40];
    new_code(f, code2);
    new_key(key2);
    r = cash(f, &f->t1, key2, code2, 500);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    r = cash(f, &f->t1, id_key, code, 1000);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "true");
    assert_int_equal(json_integer_value(json_object_get(r.j, "balance")), b0 + 1000);
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1500);
}

static void test_forged_requests_are_refused_and_logged(void **state)
{
    struct fx *f = *state;
    int64_t b0 = balance(f);
    size_t refused0 = ac_log_count(&f->s, "\"pos_auth_refused\"");
    char code[TOPUP_CODE_DIGITS + 1], key[40], body[128], auth[300], nonce[33];
    new_code(f, code);
    new_key(key);
    cash_body(body, sizeof body, code, 1000);
    int64_t now = (int64_t)time(NULL);
    struct ac_resp r;

    /* No signature at all; the customer's own bearer token instead. */
    r = send_cash(f, NULL, key, body);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    char bearer[128];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", f->u.token);
    r = send_cash(f, bearer, key, body);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);

    /* Signed 301 s ago (a request captured earlier), or 330 s ahead (not
     * 301: the server's clock may have ticked on since now was read; the
     * exact edge is test_pos_sign's, on a fixed clock). */
    new_nonce(nonce);
    sign(&f->t1, f->t1.key_id, now - 301, nonce, body, auth, sizeof auth);
    r = send_cash(f, auth, key, body);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    new_nonce(nonce);
    sign(&f->t1, f->t1.key_id, now + 330, nonce, body, auth, sizeof auth);
    r = send_cash(f, auth, key, body);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);

    /* Signed for ¥1,000, sent for ¥9,000 (a man in the middle). */
    char more[128];
    cash_body(more, sizeof more, code, 9000);
    new_nonce(nonce);
    sign(&f->t1, f->t1.key_id, now, nonce, body, auth, sizeof auth);
    r = send_cash(f, auth, key, more);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    /* The same bytes with a space added: the signature covers every byte. */
    char spaced[140];
    snprintf(spaced, sizeof spaced, "%s ", body);
    r = send_cash(f, auth, key, spaced);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);

    /* Terminal 2's secret under terminal 1's key id; an unknown key id. */
    new_nonce(nonce);
    sign(&f->t2, f->t1.key_id, now, nonce, body, auth, sizeof auth);
    r = send_cash(f, auth, key, body);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    char forged_sig[80];
    snprintf(forged_sig, sizeof forged_sig, "%s", strstr(auth, "sig=") + 4);
    new_nonce(nonce);
    sign(&f->t1, "tk_00000000000000000000000000", now, nonce, body, auth, sizeof auth);
    r = send_cash(f, auth, key, body);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    /* Malformed headers. */
    const char *junk[] = {"Authorization: KESSAI-HMAC-SHA256", "Authorization: KESSAI-HMAC-SHA256 key_id=,ts=,nonce=,sig=",
                          "Authorization: KESSAI-HMAC-SHA256 key_id=x' OR 1=1 --,ts=1,nonce=aaaaaaaaaaaaaaaa,sig=00"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        r = send_cash(f, junk[i], key, body);
        AC_EXPECT_ERROR(r, 401, "invalid_signature");
        ac_resp_free(&r);
    }

    /* Nothing moved, and the code was not touched: the real request works. */
    assert_int_equal(balance(f), b0);
    r = cash(f, &f->t1, key, code, 1000);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "");
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);

    /* Each refusal is one warn line with its reason, never the signature. */
    assert_int_equal(ac_log_count(&f->s, "\"pos_auth_refused\"") - refused0, 11);
    assert_true(ac_log_count(&f->s, "\"stale_timestamp\"") >= 1);
    assert_true(ac_log_count(&f->s, "\"future_timestamp\"") >= 1);
    assert_true(ac_log_count(&f->s, "\"bad_signature\"") >= 3);
    assert_true(ac_log_count(&f->s, "\"unknown_terminal\"") >= 1);
    assert_true(ac_log_count(&f->s, "\"missing_header\"") >= 1);
    assert_true(ac_log_count(&f->s, "\"malformed_header\"") >= 4);
    assert_true(ac_log_count(&f->s, f->t1.key_id) >= 1);
    assert_int_equal(ac_log_count(&f->s, forged_sig), 0);
}

static void test_revoked_terminal_is_refused_at_once(void **state)
{
    struct fx *f = *state;
    int64_t b0 = balance(f);
    char code[TOPUP_CODE_DIGITS + 1], key[40];
    new_code(f, code);
    new_key(key);
    struct ac_resp r = cash(f, &f->t2, key, code, 500);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 500);

    /* The register is stolen: the operator revokes it while kessaid runs. */
    char args[128];
    snprintf(args, sizeof args, "admin terminal revoke %s >/dev/null", f->t2.id);
    assert_int_equal(ac_cli(&f->s, args), 0);

    new_code(f, code);
    new_key(key);
    r = cash(f, &f->t2, key, code, 500);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 500);
    assert_true(ac_log_count(&f->s, "\"revoked_terminal\"") >= 1);
    /* The code the thief tried is still good at a real register. */
    new_key(key);
    r = cash(f, &f->t1, key, code, 500);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);
}

static void test_bad_input_is_refused_and_changes_nothing(void **state)
{
    struct fx *f = *state;
    int64_t b0 = balance(f);
    char code[TOPUP_CODE_DIGITS + 1], key[40], auth[300], nonce[33];
    new_code(f, code);
    new_key(key);
    char bodies[8][160];
    snprintf(bodies[0], sizeof bodies[0], "{\"code\":\"%s\"}", code);
    snprintf(bodies[1], sizeof bodies[1], "{\"amount\":1000}");
    snprintf(bodies[2], sizeof bodies[2], "{\"code\":\"%s\",\"amount\":0}", code);
    snprintf(bodies[3], sizeof bodies[3], "{\"code\":\"%s\",\"amount\":\"1000\"}", code);
    snprintf(bodies[4], sizeof bodies[4], "{\"code\":\"%s\",\"amount\":-1000}", code);
    snprintf(bodies[5], sizeof bodies[5], "{\"code\":\"%s\",\"amount\":1000,\"customer\":\"usr_0000000000001\"}",
             code);
    snprintf(bodies[6], sizeof bodies[6], "{\"code\":%s,\"amount\":1000}", code);
    snprintf(bodies[7], sizeof bodies[7], "{\"code\":\"%s\",\"amount\":10.5}", code);
    for (size_t i = 0; i < 8; i++) {
        new_nonce(nonce);
        sign(&f->t1, f->t1.key_id, (int64_t)time(NULL), nonce, bodies[i], auth, sizeof auth);
        struct ac_resp r = send_cash(f, auth, key, bodies[i]);
        if (r.status != 400)
            fail_msg("body %s: status %ld %s", bodies[i], r.status, r.raw ? r.raw : "");
        ac_resp_free(&r);
    }
    /* No Idempotency-Key, or a malformed one. */
    char body[128];
    cash_body(body, sizeof body, code, 1000);
    const char *keys[] = {NULL, "has space", ""};
    for (size_t i = 0; i < 3; i++) {
        new_nonce(nonce);
        sign(&f->t1, f->t1.key_id, (int64_t)time(NULL), nonce, body, auth, sizeof auth);
        struct ac_resp r = send_cash(f, auth, keys[i], body);
        AC_EXPECT_STATUS(r, 400);
        assert_string_equal(ac_err_param(&r), "Idempotency-Key");
        ac_resp_free(&r);
    }
    /* Codes that are not codes. */
    const char *bad_codes[] = {"000000000000000000", "12345", "40271835960472815x", "' OR 1=1 --"};
    for (size_t i = 0; i < 4; i++) {
        new_key(key);
        struct ac_resp r = cash(f, &f->t1, key, bad_codes[i], 1000);
        AC_EXPECT_ERROR(r, 400, "invalid_code");
        ac_resp_free(&r);
    }
    /* Above the per top-up maximum (¥50,000 by default). */
    new_key(key);
    struct ac_resp r = cash(f, &f->t1, key, code, 50001);
    AC_EXPECT_ERROR(r, 422, "limit_exceeded");
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0);
    /* After all that the code still works. */
    new_key(key);
    r = cash(f, &f->t1, key, code, 1000);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);
}

/* A register that forgot its Idempotency-Key is refused.  The header is
 * not signed, so the captured request replayed with a key added is a
 * replay (401, logged), and the clerk's own retry credits once. */
static void test_a_request_refused_for_its_key_cannot_be_replayed(void **state)
{
    struct fx *f = *state;
    int64_t b0 = balance(f);
    size_t replays0 = ac_log_count(&f->s, "\"replayed_nonce\"");
    char code[TOPUP_CODE_DIGITS + 1], key[40], body[128], auth[300], nonce[33];
    new_code(f, code);
    new_key(key);
    cash_body(body, sizeof body, code, 1000);
    new_nonce(nonce);
    sign(&f->t1, f->t1.key_id, (int64_t)time(NULL), nonce, body, auth, sizeof auth);
    struct ac_resp r = send_cash(f, auth, NULL, body);
    AC_EXPECT_STATUS(r, 400);
    assert_string_equal(ac_err_param(&r), "Idempotency-Key");
    ac_resp_free(&r);
    r = send_cash(f, auth, key, body);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    assert_int_equal(ac_log_count(&f->s, "\"replayed_nonce\"") - replays0, 1);
    assert_int_equal(balance(f), b0);
    r = cash(f, &f->t1, key, code, 1000);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);
}

/* A signed top-up, new code, key and nonce; the request's body and
 * Authorization line are kept for a replay. */
static void captured_cash(struct fx *f, char body[128], char auth[300])
{
    char code[TOPUP_CODE_DIGITS + 1], nonce[33];
    new_code(f, code);
    cash_body(body, 128, code, 700);
    new_nonce(nonce);
    sign(&f->t1, f->t1.key_id, (int64_t)time(NULL), nonce, body, auth, 300);
}

/* Each node keeps the nonces it has seen in memory: a request captured at
 * the register and replayed to a second kessaid on the same database, or
 * to the first after its restart, is still refused as a replay (401,
 * logged by the node that refused it) and credits nothing. */
static void test_a_replay_is_seen_by_another_node_and_after_a_restart(void **state)
{
    struct fx *f = *state;
    struct ac_server b;
    ac_server_init(&b);
    snprintf(b.data, sizeof b.data, "%s", f->s.data);
    ac_server_start(&b, fx_env);
    int64_t b0 = balance(f);
    char body_a[128], auth_a[300], key_a[40], body_b[128], auth_b[300], key_b[40];

    /* Paid through the first node, replayed (under another key) to the second. */
    captured_cash(f, body_a, auth_a);
    new_key(key_a);
    struct ac_resp r = send_cash_to(f, &f->s, auth_a, key_a, body_a);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    new_key(key_a);
    size_t refused = ac_log_count(&b, "\"replayed_nonce\"");
    r = send_cash_to(f, &b, auth_a, key_a, body_a);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    assert_int_equal(ac_log_count(&b, "\"replayed_nonce\"") - refused, 1);

    /* And the other way round. */
    captured_cash(f, body_b, auth_b);
    new_key(key_b);
    r = send_cash_to(f, &b, auth_b, key_b, body_b);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    new_key(key_b);
    refused = ac_log_count(&f->s, "\"replayed_nonce\"");
    r = send_cash_to(f, &f->s, auth_b, key_b, body_b);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    assert_int_equal(ac_log_count(&f->s, "\"replayed_nonce\"") - refused, 1);
    assert_int_equal(ac_server_stop(&b), 0);
    ac_server_cleanup(&b);

    /* The first node restarted has both back from the database, read
     * before it took a request. */
    assert_int_equal(ac_server_stop(&f->s), 0);
    size_t loads = ac_log_count(&f->s, "\"pos_nonces_loaded\"");
    size_t none = ac_log_count(&f->s, "\"pos_nonces_loaded\",\"nonces\":0,");
    assert_true(none >= 1); /* the first start, on an empty log */
    ac_server_start(&f->s, fx_env);
    assert_int_equal(ac_log_count(&f->s, "\"pos_nonces_loaded\"") - loads, 1);
    assert_int_equal(ac_log_count(&f->s, "\"pos_nonces_loaded\",\"nonces\":0,"), none);
    refused = ac_log_count(&f->s, "\"replayed_nonce\"");
    r = send_cash_to(f, &f->s, auth_a, key_a, body_a);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    r = send_cash_to(f, &f->s, auth_b, key_b, body_b);
    AC_EXPECT_ERROR(r, 401, "invalid_signature");
    ac_resp_free(&r);
    assert_int_equal(ac_log_count(&f->s, "\"replayed_nonce\"") - refused, 2);
    assert_int_equal(balance(f), b0 + 1400);
}

/* The clerk types the code in groups of digits: accepted.  A store the
 * operator closed (deactivated while kessaid runs) takes no cash, at once,
 * and the customer's code stays good for when it opens again. */
static void test_spaced_code_and_closed_store(void **state)
{
    struct fx *f = *state;
    int64_t b0 = balance(f);
    char code[TOPUP_CODE_DIGITS + 1], spaced[40], key[40], cmd[200];
    new_code(f, code);
    snprintf(spaced, sizeof spaced, "%.6s %.6s %.6s", code, code + 6, code + 12);
    new_key(key);
    struct ac_resp r = cash(f, &f->t1, key, spaced, 1000);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(topup_str(&r, "status"), "succeeded");
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);

    new_code(f, code);
    snprintf(cmd, sizeof cmd, "admin store deactivate %s >/dev/null", f->store_id);
    assert_int_equal(ac_cli(&f->s, cmd), 0);
    new_key(key);
    r = cash(f, &f->t1, key, code, 1000);
    AC_EXPECT_ERROR(r, 404, "store_not_found");
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);
    snprintf(cmd, sizeof cmd, "admin store activate %s >/dev/null", f->store_id);
    assert_int_equal(ac_cli(&f->s, cmd), 0);
    r = cash(f, &f->t1, key, code, 1000);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 2000);
}

/* ---- kill switches ------------------------------------------------------------ */

/* Link the test card 4242… with its 3-D Secure code; its crd_ id. */
static void link_card(struct fx *f, char out[64])
{
    ac_remember(&f->s, "4242424242424242");
    struct ac_resp r = ac_call(&f->s, &f->u.who, "POST", "/v1/cards",
                               json_pack("{s:s, s:i, s:i, s:s}", "number", "4242424242424242", "exp_month", 12,
                                         "exp_year", 2032, "cvc", "123"));
    AC_EXPECT_STATUS(r, 202);
    snprintf(out, 64, "%s", json_string_value(json_object_get(json_object_get(r.j, "card"), "id")));
    ac_resp_free(&r);
    char *mail = ac_mail_wait(&f->s, f->u.email, "verification code to link the card");
    char otp[8];
    assert_true(ac_find_digits(mail, 6, otp));
    free(mail);
    char path[128];
    snprintf(path, sizeof path, "/v1/cards/%s/3ds", out);
    r = ac_call(&f->s, &f->u.who, "POST", path, json_pack("{s:s}", "code", otp));
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
}

static struct ac_resp card_topup(struct fx *f, const char *card_id, int64_t amount)
{
    char key[40];
    new_key(key);
    return ac_call_idem(&f->s, &f->u.who, "POST", "/v1/topups", key,
                        json_pack("{s:s, s:I}", "card_id", card_id, "amount", (json_int_t)amount));
}

static void killswitch(struct fx *f, const char *args)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "admin killswitch %s >/dev/null", args);
    assert_int_equal(ac_cli(&f->s, cmd), 0);
}

static void test_kill_switches_stop_topups_at_once_and_nothing_else(void **state)
{
    struct fx *f = *state;
    /* Linking needs a fresh second factor, and so do a new device's card
     * top-ups (the phone is new for the whole test). */
    ac_mfa_verify(&f->s, &f->u);
    char card[64];
    link_card(f, card);
    int64_t b0 = balance(f);
    char code[TOPUP_CODE_DIGITS + 1], key[40];
    new_code(f, code);

    /* A fraud wave: the operator stops every top-up, while kessaid runs. */
    killswitch(f, "on topups --reason 'card fraud wave, back at 18:00'");
    new_key(key);
    struct ac_resp r = cash(f, &f->t1, key, code, 1000);
    AC_EXPECT_ERROR(r, 503, "service_suspended");
    assert_string_equal(err_reason(&r), "card fraud wave, back at 18:00");
    ac_resp_free(&r);
    r = card_topup(f, card, 1000);
    AC_EXPECT_ERROR(r, 503, "service_suspended");
    assert_string_equal(err_reason(&r), "card fraud wave, back at 18:00");
    ac_resp_free(&r);
    /* Everything else works: the wallet, a new code, signing in (which
     * also leaves the new session's second factor fresh). */
    assert_int_equal(balance(f), b0);
    char other[TOPUP_CODE_DIGITS + 1];
    new_code(f, other);
    ac_login(&f->s, &f->u, NULL);
    assert_int_equal(balance(f), b0);

    /* Card top-ups only (the acquirer is under attack); cash goes on, with
     * the very code refused a moment ago: the refusal consumed nothing. */
    killswitch(f, "off topups");
    killswitch(f, "on card_topups --reason 'card top-ups paused for maintenance'");
    r = cash(f, &f->t1, key, code, 1000);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "");
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);
    r = card_topup(f, card, 1000);
    AC_EXPECT_ERROR(r, 503, "service_suspended");
    assert_string_equal(err_reason(&r), "card top-ups paused for maintenance");
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 1000);

    /* Off again: card top-ups work. */
    killswitch(f, "off card_topups");
    r = card_topup(f, card, 1000);
    if (r.status != 200 && r.status != 201)
        fail_msg("card top-up after the switch: %ld %s", r.status, r.raw ? r.raw : "");
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 2000);
    new_key(key);
    r = cash(f, &f->t1, key, other, 1000);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(balance(f), b0 + 3000);

    /* The operator's record: both off, who and when. */
    json_t *list = ac_cli_json(&f->s, "admin killswitch list");
    json_t *arr = json_object_get(list, "killswitches");
    assert_true(json_array_size(arr) >= 2);
    size_t i;
    json_t *k;
    json_array_foreach(arr, i, k)
    {
        assert_false(json_is_true(json_object_get(k, "on")));
        const char *name = json_string_value(json_object_get(k, "name"));
        if (strcmp(name, "topups") != 0 && strcmp(name, "card_topups") != 0)
            continue; /* the payment switches were never set here */
        const char *by = json_string_value(json_object_get(k, "set_by"));
        assert_non_null(by);
        assert_memory_equal(by, "cli:", 4);
    }
    json_decref(list);
    /* The switch changes were logged by the CLI, not by the server's
     * requests; the refusals left no trace of the codes. */
}

/* Last: stops the server. */
static void test_ledger_and_secrets(void **state)
{
    struct fx *f = *state;
    assert_int_equal(ac_server_stop(&f->s), 0);
    assert_int_equal(ac_cli(&f->s, "ledger verify >/dev/null"), 0);
    ac_assert_no_secrets(&f->s);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_cash_topup_credits_once),
        cmocka_unit_test(test_forged_requests_are_refused_and_logged),
        cmocka_unit_test(test_revoked_terminal_is_refused_at_once),
        cmocka_unit_test(test_bad_input_is_refused_and_changes_nothing),
        cmocka_unit_test(test_a_request_refused_for_its_key_cannot_be_replayed),
        cmocka_unit_test(test_a_replay_is_seen_by_another_node_and_after_a_restart),
        cmocka_unit_test(test_spaced_code_and_closed_store),
        cmocka_unit_test(test_kill_switches_stop_topups_at_once_and_nothing_else),
        /* last: it stops the server */
        cmocka_unit_test(test_ledger_and_secrets),
    };
    int failed = cmocka_run_group_tests_name("api_pos", tests, fx_up, fx_down);
    oath_done();
    curl_global_cleanup();
    return failed;
}
