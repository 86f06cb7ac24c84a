/* test_api_pending.c: the challenge flow at the register over HTTP, against
 * a real kessaid (issue 6, wallet/pending_charge.h, docs/payments.md).
 *
 * The risk engine is tuned so that every payment from a phone in its
 * new-device cool-down is a challenge (new_device 60: above challenge 50,
 * below hold 80).  Then the register's charge does not pay: it waits (202
 * pending_confirmation), the code is spent, the customer is mailed, and
 * only the customer, with a second factor, makes it pay — once, whatever
 * races.  Declined, expired or refused by the money, nothing moves.  The
 * attacker's side: another customer cannot see, approve or decline it; a
 * wrong code is refused and recorded; the code cannot be charged again;
 * an approval after the timeout is refused.  Audit entries for every step,
 * `kessai ledger verify` and `kessai audit verify` clean, no secret in the
 * database or the log.
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_client.h"
#include "api_staff.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "merchant/merchant.h"
#include "pos/sign.h"
#include "store/store.h"
#include "util/ids.h"
#include "wallet/topup.h"
#include "testutil.h"

#define CODE_DIGITS 18

struct fx {
    struct ac_server s;
    char store[32];
    struct ac_terminal t;
    struct ac_who pos;
};

/* ---- set-up --------------------------------------------------------------- */

static void fx_init(struct fx *f, const char *timeout_s)
{
    memset(f, 0, sizeof *f);
    ac_server_init(&f->s);
    json_t *m = ac_cli_json(&f->s, "admin merchant create --name 'Kessai Mart'");
    char args[400];
    snprintf(args, sizeof args,
             "admin store create --merchant %s --name 'Kessai Mart Ginza' --address '4-6-16 Ginza, Chuo-ku, Tokyo' "
             "--lat 35.671 --lon 139.765 --category convenience",
             json_string_value(json_object_get(m, "id")));
    json_decref(m);
    json_t *st = ac_cli_json(&f->s, args);
    snprintf(f->store, sizeof f->store, "%s", json_string_value(json_object_get(st, "id")));
    json_decref(st);
    ac_make_terminal(&f->s, f->store, &f->t);
    char timeout[64];
    snprintf(timeout, sizeof timeout, "KESSAI_CHARGE_CONFIRM_TIMEOUT_S=%s", timeout_s);
    ac_server_start(&f->s, (const char *[]){"KESSAI_RISK_NEW_DEVICE_SCORE=60", timeout, NULL});
    f->pos = ac_new_source(&f->s);
}

static int64_t balance(struct fx *f, struct ac_user *u)
{
    struct ac_resp r = ac_call(&f->s, &u->who, "GET", "/v1/wallet", NULL);
    AC_EXPECT_STATUS(r, 200);
    int64_t v = json_integer_value(json_object_get(r.j, "balance"));
    ac_resp_free(&r);
    return v;
}

static void paycode(struct fx *f, struct ac_user *u, char out[CODE_DIGITS + 1])
{
    struct ac_resp r = ac_call(&f->s, &u->who, "POST", "/v1/paycodes", json_object());
    AC_EXPECT_STATUS(r, 201);
    snprintf(out, CODE_DIGITS + 1, "%s", ac_str(&r, "code"));
    ac_remember(&f->s, out);
    ac_resp_free(&r);
}

/* ---- the register ------------------------------------------------------------ */

static void new_nonce(char out[33])
{
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, 33, b, sizeof b);
}

static struct ac_resp pos(struct fx *f, const char *method, const char *path, const char *idem, const char *body)
{
    char sig[POS_SIG_HEX_LEN + 1], auth[300], key_line[128], nonce[33];
    new_nonce(nonce);
    int64_t ts = (int64_t)time(NULL);
    const char *b = body ? body : "";
    pos_sign(f->t.secret, method, path, ts, nonce, b, strlen(b), sig);
    snprintf(auth, sizeof auth, "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=%s,sig=%s", f->t.key_id,
             (long long)ts, nonce, sig);
    const char *headers[3] = {auth, NULL, NULL};
    if (idem) {
        snprintf(key_line, sizeof key_line, "Idempotency-Key: %s", idem);
        headers[1] = key_line;
    }
    return ac_call_raw(&f->s, &f->pos, method, path, headers, body, false);
}

static struct ac_resp charge(struct fx *f, const char *key, const char *code, int64_t amount)
{
    char body[128];
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"amount\":%lld}", code, (long long)amount);
    return pos(f, "POST", "/pos/v1/charges", key, body);
}

static const char *cstr(const struct ac_resp *r, const char *k)
{
    const char *v = json_string_value(json_object_get(json_object_get(r->j, "charge"), k));
    return v ? v : "";
}

/* A new code of u charged amount under key: it waits.  Its id into id. */
static void waits(struct fx *f, struct ac_user *u, const char *key, int64_t amount, char id[40])
{
    char code[CODE_DIGITS + 1];
    paycode(f, u, code);
    struct ac_resp r = charge(f, key, code, amount);
    AC_EXPECT_STATUS(r, 202);
    assert_string_equal(cstr(&r, "status"), "pending_confirmation");
    assert_int_equal(strncmp(cstr(&r, "id"), "pch_", 4), 0);
    assert_true(strlen(cstr(&r, "expires_at")) > 0);
    snprintf(id, 40, "%s", cstr(&r, "id"));
    ac_resp_free(&r);
}

/* What the register reads of charge id. */
static void register_sees(struct fx *f, const char *id, const char *status)
{
    char path[96];
    snprintf(path, sizeof path, "/pos/v1/charges/%s", id);
    struct ac_resp r = pos(f, "GET", path, NULL, NULL);
    AC_EXPECT_STATUS(r, 200);
    if (strcmp(cstr(&r, "status"), status) != 0)
        fail_msg("charge %s: %s, expected %s", id, r.raw, status);
    ac_resp_free(&r);
}

/* ---- the customer ------------------------------------------------------------ */

static struct ac_resp answer(struct fx *f, struct ac_user *u, const char *id, const char *what, const char *totp)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/pending-charges/%s/%s", id, what);
    return ac_call(&f->s, &u->who, "POST", path, totp ? json_pack("{s:s}", "totp_code", totp) : json_object());
}

static struct ac_resp approve(struct fx *f, struct ac_user *u, const char *id)
{
    char code[TOTP_DIGITS + 1];
    ac_totp_next(u, code);
    return answer(f, u, id, "approve", code);
}

static size_t pending_listed(struct fx *f, struct ac_user *u, const char *id)
{
    struct ac_resp r = ac_call(&f->s, &u->who, "GET", "/v1/pending-charges", NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *a = json_object_get(r.j, "pending_charges");
    size_t n = 0, i;
    json_t *it;
    json_array_foreach(a, i, it)
    n += strcmp(json_string_value(json_object_get(it, "id")), id) == 0;
    ac_resp_free(&r);
    return n;
}

/* ---- the audit log ----------------------------------------------------------- */

static int audited(const struct ac_server *s, const char *kind)
{
    static struct security_event ev[512];
    size_t n = ac_load_events(s, ev, 512);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(ev[i].kind, kind) == 0;
    return k;
}

/* ---- tests ------------------------------------------------------------------- */

static void a_challenged_charge_pays_once_when_the_customer_approves(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "120");
    struct ac_user a, b;
    ac_user_enrolled(&f.s, &a, "payer");
    ac_user_enrolled(&f.s, &b, "other");
    ac_fund(&f.s, &a, 10000);

    char code[CODE_DIGITS + 1], id[40];
    paycode(&f, &a, code);
    struct ac_resp r = charge(&f, "till-1", code, 1200);
    AC_EXPECT_STATUS(r, 202);
    assert_string_equal(cstr(&r, "status"), "pending_confirmation");
    snprintf(id, sizeof id, "%s", cstr(&r, "id"));
    ac_resp_free(&r);
    assert_int_equal(balance(&f, &a), 10000); /* nothing moved */
    free(ac_mail_wait(&f.s, a.email, "confirm a payment of 1200 yen"));

    /* the register retries: the same waiting charge */
    r = charge(&f, "till-1", code, 1200);
    AC_EXPECT_STATUS(r, 202);
    assert_string_equal(cstr(&r, "id"), id);
    ac_resp_free(&r);
    /* ... but another charge with the same code: the code is spent */
    r = charge(&f, "till-2", code, 1200);
    AC_EXPECT_ERROR(r, 400, "invalid_code");
    ac_resp_free(&r);
    /* ... and the same key for something else */
    r = charge(&f, "till-1", code, 1300);
    AC_EXPECT_ERROR(r, 409, "idempotency_conflict");
    ac_resp_free(&r);
    /* ... or another customer's code under it: not this charge, and that
     * code stays unspent (it resolves: refused for the empty wallet) */
    char code_b[CODE_DIGITS + 1];
    paycode(&f, &b, code_b);
    r = charge(&f, "till-1", code_b, 1200);
    AC_EXPECT_ERROR(r, 409, "idempotency_conflict");
    ac_resp_free(&r);
    r = charge(&f, "till-b", code_b, 1200);
    AC_EXPECT_ERROR(r, 422, "insufficient_funds");
    ac_resp_free(&r);
    register_sees(&f, id, "pending_confirmation");

    /* another customer can neither see nor answer it */
    assert_int_equal(pending_listed(&f, &b, id), 0);
    r = approve(&f, &b, id);
    AC_EXPECT_ERROR(r, 404, "payment_not_found");
    ac_resp_free(&r);
    r = answer(&f, &b, id, "decline", NULL);
    AC_EXPECT_ERROR(r, 404, "payment_not_found");
    ac_resp_free(&r);
    assert_int_equal(pending_listed(&f, &a, id), 1);

    /* a wrong second factor is refused and moves nothing */
    r = answer(&f, &a, id, "approve", "000000");
    AC_EXPECT_ERROR(r, 400, "invalid_code");
    assert_string_equal(ac_err_param(&r), "totp_code");
    ac_resp_free(&r);
    r = answer(&f, &a, id, "approve", NULL);
    AC_EXPECT_ERROR(r, 400, "missing_param");
    ac_resp_free(&r);
    assert_int_equal(balance(&f, &a), 10000);
    register_sees(&f, id, "pending_confirmation");

    /* the customer approves: it pays, once */
    r = approve(&f, &a, id);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.j, "balance_after")), 8800);
    const char *st = json_string_value(json_object_get(json_object_get(r.j, "pending_charge"), "status"));
    assert_string_equal(st, "succeeded");
    char pay[40];
    snprintf(pay, sizeof pay, "%s",
             json_string_value(json_object_get(json_object_get(r.j, "payment"), "id")));
    ac_resp_free(&r);
    assert_int_equal(balance(&f, &a), 8800);
    free(ac_mail_wait(&f.s, a.email, "1200 yen"));
    r = approve(&f, &a, id);
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    assert_int_equal(balance(&f, &a), 8800);
    register_sees(&f, id, "succeeded");
    register_sees(&f, pay, "succeeded");
    /* the register's retry now gets the receipt */
    r = charge(&f, "till-1", code, 1200);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(cstr(&r, "id"), pay);
    assert_string_equal(r.idempotent_replayed, "true");
    ac_resp_free(&r);
    assert_int_equal(balance(&f, &a), 8800);

    /* declined: nothing moves, and it cannot be approved after */
    char id2[40];
    waits(&f, &a, "till-3", 500, id2);
    r = answer(&f, &a, id2, "decline", NULL);
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
    register_sees(&f, id2, "declined");
    r = answer(&f, &a, id2, "approve", "000000");
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    r = answer(&f, &a, id2, "decline", NULL);
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    assert_int_equal(balance(&f, &a), 8800);

    assert_int_equal(ac_server_stop(&f.s), 0);
    assert_int_equal(audited(&f.s, "pending_charge_created"), 2);
    assert_int_equal(audited(&f.s, "pending_charge_approved"), 1);
    assert_int_equal(audited(&f.s, "pending_charge_declined"), 1);
    /* the other customer's tries are on record, as theirs */
    assert_int_equal(audited(&f.s, "pending_charge_refused"), 2);
    assert_true(audited(&f.s, "risk_challenged") >= 2);
    assert_true(audited(&f.s, "mfa_failed") >= 1);
    assert_int_equal(ac_cli(&f.s, "ledger verify >/dev/null"), 0);
    ac_assert_audit_intact(&f.s);
    ac_assert_no_secrets(&f.s);
    ac_server_cleanup(&f.s);
}

/* Two approvals at the same instant. */
struct racer {
    struct fx *f;
    struct ac_user *u;
    const char *id;
    const char *code;
    long status;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    struct ac_resp r = answer(x->f, x->u, x->id, "approve", x->code);
    x->status = r.status;
    ac_resp_free(&r);
    return NULL;
}

static void *race_decline(void *arg)
{
    struct racer *x = arg;
    struct ac_resp r = answer(x->f, x->u, x->id, "decline", NULL);
    x->status = r.status;
    ac_resp_free(&r);
    return NULL;
}

static void approvals_racing_pay_once_and_the_balance_is_checked_again(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "120");
    struct ac_user c;
    ac_user_enrolled(&f.s, &c, "racer");
    ac_fund(&f.s, &c, 6000);

    char x[40], y[40], z[40];
    waits(&f, &c, "till-x", 5000, x);
    waits(&f, &c, "till-y", 5000, y); /* both fit the balance now */
    waits(&f, &c, "till-z", 500, z);

    char code[TOTP_DIGITS + 1];
    ac_totp_next(&c, code);
    struct racer r1 = {&f, &c, x, code, 0}, r2 = {&f, &c, x, code, 0};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, race, &r1);
    pthread_create(&t2, NULL, race, &r2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_true((r1.status == 200) != (r2.status == 200)); /* exactly one */
    assert_int_equal(balance(&f, &c), 1000);
    register_sees(&f, x, "succeeded");

    /* the other no longer fits: refused, and the register learns it failed */
    struct ac_resp r = approve(&f, &c, y);
    AC_EXPECT_ERROR(r, 422, "insufficient_funds");
    ac_resp_free(&r);
    register_sees(&f, y, "declined");
    assert_int_equal(balance(&f, &c), 1000);

    /* an approval racing a decline: one of them wins, and the money agrees */
    ac_totp_next(&c, code);
    struct racer ra = {&f, &c, z, code, 0}, rd = {&f, &c, z, NULL, 0};
    pthread_create(&t1, NULL, race, &ra);
    pthread_create(&t2, NULL, race_decline, &rd);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_true((ra.status == 200) != (rd.status == 200));
    register_sees(&f, z, ra.status == 200 ? "succeeded" : "declined");
    assert_int_equal(balance(&f, &c), ra.status == 200 ? 500 : 1000);

    assert_int_equal(ac_server_stop(&f.s), 0);
    assert_int_equal(audited(&f.s, "pending_charge_approved") + audited(&f.s, "pending_charge_declined"), 3);
    assert_int_equal(ac_cli(&f.s, "ledger verify >/dev/null"), 0);
    ac_assert_audit_intact(&f.s);
    ac_server_cleanup(&f.s);
}

static void a_charge_nobody_answers_expires_and_moves_nothing(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "1");
    struct ac_user a;
    ac_user_enrolled(&f.s, &a, "away");
    ac_fund(&f.s, &a, 3000);
    char code[CODE_DIGITS + 1], id[40];
    paycode(&f, &a, code);
    struct ac_resp r = charge(&f, "till-z", code, 700);
    AC_EXPECT_STATUS(r, 202);
    snprintf(id, sizeof id, "%s", cstr(&r, "id"));
    ac_resp_free(&r);
    /* past its expiry (1 s): no timer needed, the next read decides */
    struct timespec ts = {.tv_sec = 1, .tv_nsec = 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    r = approve(&f, &a, id);
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    register_sees(&f, id, "expired");
    r = charge(&f, "till-z", code, 700); /* the register's retry: the same answer */
    AC_EXPECT_STATUS(r, 200);
    assert_string_equal(cstr(&r, "status"), "expired");
    ac_resp_free(&r);
    assert_int_equal(balance(&f, &a), 3000);

    /* An id that is not there: the same 404, and the register's try is in the log. */
    r = pos(&f, "GET", "/pos/v1/charges/pch_0000000000999", NULL, NULL);
    AC_EXPECT_ERROR(r, 404, "payment_not_found");
    ac_resp_free(&r);
    assert_int_equal(ac_log_count(&f.s, "\"pos_payment_not_found\""), 1);
    assert_int_equal(ac_log_count(&f.s, "\"id\":\"pch_0000000000999\""), 1);
    /* A closed store's register reads none of its charges. */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "admin store deactivate %s >/dev/null", f.store);
    assert_int_equal(ac_cli(&f.s, cmd), 0);
    char path[96];
    snprintf(path, sizeof path, "/pos/v1/charges/%s", id);
    r = pos(&f, "GET", path, NULL, NULL);
    AC_EXPECT_ERROR(r, 404, "store_not_found");
    ac_resp_free(&r);
    r = pos(&f, "GET", "/pos/v1/payments", NULL, NULL);
    AC_EXPECT_ERROR(r, 404, "store_not_found");
    ac_resp_free(&r);

    assert_int_equal(ac_server_stop(&f.s), 0);
    assert_int_equal(audited(&f.s, "pending_charge_expired"), 1);
    assert_int_equal(audited(&f.s, "pending_charge_approved"), 0);
    assert_int_equal(ac_cli(&f.s, "ledger verify >/dev/null"), 0);
    ac_assert_audit_intact(&f.s);
    ac_server_cleanup(&f.s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_challenged_charge_pays_once_when_the_customer_approves),
        cmocka_unit_test(approvals_racing_pay_once_and_the_balance_is_checked_again),
        cmocka_unit_test(a_charge_nobody_answers_expires_and_moves_nothing),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    oath_done();
    curl_global_cleanup();
    return rc;
}
