/* test_api_reviews.c: the review queue over HTTP (issue 6, wallet/review.h,
 * docs/admin-api.md "Review queue").  The risk engine is tuned so that every
 * payment from a phone in its new-device cool-down is held (new_device 90:
 * above hold 80, below deny 120).  A held transfer or store-QR payment is
 * not refused but kept (202 held; nothing moves; the customer is mailed);
 * a fraud analyst approves it and the money moves once, or rejects it and
 * nothing moves; support may neither read nor decide the queue (403, on
 * record); a register's charge with a hold verdict is still refused (409
 * risk_held: nobody can wait at the till).  The ledger and the audit chain
 * stay whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <liboath/oath.h>
#include <sodium.h>

#include "api_client.h"
#include "auth/customer_types.h"
#include "auth/totp.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "merchant/merchant.h"
#include "pos/sign.h"
#include "store/store.h"
#include "util/ids.h"
#include "wallet/topup.h"
#include "testutil.h"

#define STAFF_PASSWORD "copper meadow lantern violet"

struct staffer {
    struct ac_user u;
    char id[32];
    char token[64];
};

static void staffer_new(struct ac_server *s, struct staffer *m, const char *email, const char *role)
{
    memset(m, 0, sizeof *m);
    snprintf(m->u.email, sizeof m->u.email, "%s", email);
    m->u.who = ac_new_source(s);
    char pw[700], args[1400];
    tu_path(pw, sizeof pw, s->root, "pw.txt");
    FILE *f = fopen(pw, "w");
    assert_non_null(f);
    fputs(STAFF_PASSWORD "\n", f);
    fclose(f);
    snprintf(args, sizeof args, "admin staff create --email %s --role %s <'%s'", email, role, pw);
    json_t *j = ac_cli_json(s, args);
    ac_seed_from_uri(s, &m->u, json_string_value(json_object_get(j, "otpauth_uri")));
    snprintf(m->id, sizeof m->id, "%s", json_string_value(json_object_get(j, "id")));
    json_decref(j);
    char code[TOTP_DIGITS + 1];
    ac_totp_next(&m->u, code);
    snprintf(args, sizeof args, "admin staff confirm --email %s --code %s >/dev/null", email, code);
    assert_int_equal(ac_cli(s, args), 0);
    ac_totp_next(&m->u, code);
    struct ac_who anon = m->u.who;
    anon.token = NULL;
    struct ac_resp r = ac_call(s, &anon, "POST", "/admin/v1/sessions",
                               json_pack("{s:s, s:s, s:s}", "email", email, "password", STAFF_PASSWORD, "totp_code", code));
    AC_EXPECT_STATUS(r, 201);
    snprintf(m->token, sizeof m->token, "%s", ac_str(&r, "token"));
    ac_remember(s, m->token);
    m->u.who.token = m->token;
    ac_resp_free(&r);
}

static void fund(const struct ac_server *s, const struct ac_user *c, int64_t amount)
{
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", s->data);
    struct store *st = NULL, *ws = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    assert_int_equal(store_open_sqlite(path, &ws), ERR_OK);
    int64_t from = 0, to = 0, cid = 0;
    assert_int_equal(ledger_system_account(st, "card_receivable", &from), ERR_OK);
    assert_int_equal(ids_parse(c->customer_id, CUSTOMER_ID_PREFIX, &cid), ERR_OK);
    assert_int_equal(wallet_account(st, cid, &to), ERR_OK);
    struct ledger_writer *w = NULL;
    struct ledger_writer_opts o = {.batch_max = 4};
    assert_int_equal(ledger_writer_start(ws, &o, &w), ERR_OK);
    struct ledger_transfer x = {.debit_account = from, .credit_account = to, .amount = amount};
    snprintf(x.key, sizeof x.key, "test-fund-%.40s", c->customer_id);
    snprintf(x.kind, sizeof x.kind, "topup_card");
    assert_int_equal(ledger_writer_submit_wait(w, &x, 1, NULL, NULL), ERR_OK);
    ledger_writer_stop(w);
    store_close(st);
}

static int64_t balance(struct ac_server *s, const struct ac_user *c)
{
    struct ac_resp r = ac_call(s, &c->who, "GET", "/v1/balance", NULL);
    AC_EXPECT_STATUS(r, 200);
    int64_t b = json_integer_value(json_object_get(r.j, "balance"));
    ac_resp_free(&r);
    return b;
}

/* The customer's request is held: its review's id. */
static void held(struct ac_resp *r, const char *what, char id[40])
{
    AC_EXPECT_STATUS(*r, 202);
    json_t *o = json_object_get(r->j, what);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "held");
    snprintf(id, 40, "%s", json_string_value(json_object_get(o, "id")));
    assert_int_equal(strncmp(id, "rvw_", 4), 0);
    ac_resp_free(r);
}

static struct ac_resp transfer(struct ac_server *s, struct ac_user *from, const struct ac_user *to, const char *key,
                               int64_t amount)
{
    return ac_call_idem(s, &from->who, "POST", "/v1/transfers", key,
                        json_pack("{s:s, s:I}", "to", to->email, "amount", (json_int_t)amount));
}

static struct ac_resp decide(struct ac_server *s, struct staffer *m, const char *id, const char *what,
                             const char *reason)
{
    char path[128];
    snprintf(path, sizeof path, "/admin/v1/reviews/%s/%s", id, what);
    return ac_call(s, &m->u.who, "POST", path, reason ? json_pack("{s:s}", "reason", reason) : json_object());
}

static void expect_review(struct ac_resp *r, int status, const char *want)
{
    AC_EXPECT_STATUS(*r, status);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r->j, "review"), "status")), want);
    ac_resp_free(r);
}

/* A signed charge at the register t of code for amount. */
static struct ac_resp pos_charge(struct ac_server *s, const struct ac_who *pos, const struct ac_terminal *t,
                                 const char *code, int64_t amount)
{
    char body[128], sig[POS_SIG_HEX_LEN + 1], auth[300], nonce[33];
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(nonce, sizeof nonce, b, sizeof b);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"amount\":%lld}", code, (long long)amount);
    int64_t ts = (int64_t)time(NULL);
    pos_sign(t->secret, "POST", "/pos/v1/charges", ts, nonce, body, strlen(body), sig);
    snprintf(auth, sizeof auth, "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=%s,sig=%s", t->key_id,
             (long long)ts, nonce, sig);
    const char *headers[] = {auth, "Idempotency-Key: till-held", NULL};
    return ac_call_raw(s, pos, "POST", "/pos/v1/charges", headers, body, false);
}

static int audited(const struct ac_server *s, const char *kind, const char *actor, bool ok)
{
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", s->data);
    struct store *st = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    static struct security_event ev[512];
    size_t n = 0;
    assert_int_equal(st->ops->security_event_list(st, 0, 0, 512, ev, &n), ERR_OK);
    store_close(st);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(ev[i].kind, kind) == 0 && (actor == NULL || strncmp(ev[i].actor, actor, strlen(actor)) == 0) &&
             (strcmp(ev[i].outcome, "success") == 0) == ok;
    return k;
}

static void held_payments_wait_for_a_fraud_analyst(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    json_t *m = ac_cli_json(&s, "admin merchant create --name 'Kessai Mart'");
    char args[1400], qrpath[700], store_id[64];
    snprintf(args, sizeof args,
             "admin store create --merchant %s --name 'Kessai Mart Ginza' --address '4-6-16 Ginza, Chuo-ku, Tokyo' "
             "--lat 35.671 --lon 139.765 --category convenience",
             json_string_value(json_object_get(m, "id")));
    json_decref(m);
    json_t *shop = ac_cli_json(&s, args);
    snprintf(store_id, sizeof store_id, "%s", json_string_value(json_object_get(shop, "id")));
    json_decref(shop);
    tu_path(qrpath, sizeof qrpath, s.root, "qr.txt");
    snprintf(args, sizeof args, "admin store qr %s > '%s'", store_id, qrpath);
    assert_int_equal(ac_cli(&s, args), 0);
    char *qr = tu_slurp(qrpath, NULL);
    qr[strcspn(qr, "\n")] = '\0';
    struct ac_terminal till;
    ac_make_terminal(&s, store_id, &till);
    ac_server_start(&s, (const char *[]){"KESSAI_RISK_NEW_DEVICE_SCORE=90", NULL});

    struct ac_user a, b;
    ac_user_enrolled(&s, &a, "sender");
    ac_user_enrolled(&s, &b, "receiver");
    fund(&s, &a, 20000);

    /* held, not refused: 202, nothing moves, the customer hears of it */
    char t1[40], t2[40], p1[40];
    struct ac_resp r = transfer(&s, &a, &b, "t-1", 3000);
    held(&r, "transfer", t1);
    free(ac_mail_wait(&s, a.email, "held for a check"));
    r = transfer(&s, &a, &b, "t-1", 3000); /* a retry: the same review */
    char again[40];
    held(&r, "transfer", again);
    assert_string_equal(again, t1);
    r = transfer(&s, &a, &b, "t-2", 4000);
    held(&r, "transfer", t2);
    r = ac_call_idem(&s, &a.who, "POST", "/v1/payments", "q-1",
                     json_pack("{s:s, s:I}", "qr_payload", qr, "amount", (json_int_t)1000));
    held(&r, "payment", p1);
    free(qr);
    assert_int_equal(balance(&s, &a), 20000);
    assert_int_equal(balance(&s, &b), 0);

    /* at the register nobody can wait for a review: still refused */
    struct ac_who pos = ac_new_source(&s);
    r = ac_call(&s, &a.who, "POST", "/v1/paycodes", json_object());
    AC_EXPECT_STATUS(r, 201);
    char code[32];
    snprintf(code, sizeof code, "%s", ac_str(&r, "code"));
    ac_remember(&s, code);
    ac_resp_free(&r);
    r = pos_charge(&s, &pos, &till, code, 500);
    AC_EXPECT_ERROR(r, 409, "risk_held");
    ac_resp_free(&r);
    assert_int_equal(balance(&s, &a), 20000);

    struct staffer sam, ana, adm;
    staffer_new(&s, &sam, "sam@kessai.example", "support");
    staffer_new(&s, &ana, "ana@kessai.example", "fraud_analyst");
    staffer_new(&s, &adm, "adm@kessai.example", "administrator");

    /* support may neither read nor decide the queue */
    r = ac_call(&s, &sam.u.who, "GET", "/admin/v1/reviews?status=pending", NULL);
    AC_EXPECT_ERROR(r, 403, "forbidden");
    ac_resp_free(&r);
    r = decide(&s, &sam, t1, "approve", NULL);
    AC_EXPECT_ERROR(r, 403, "forbidden");
    ac_resp_free(&r);
    assert_int_equal(balance(&s, &a), 20000);

    r = ac_call(&s, &ana.u.who, "GET", "/admin/v1/reviews?status=pending", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "reviews")), 3);
    ac_resp_free(&r);
    r = ac_call(&s, &ana.u.who, "GET", "/admin/v1/reviews?status=nonsense", NULL);
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    ac_resp_free(&r);

    /* approved: the money moves, once */
    r = decide(&s, &ana, t1, "approve", NULL);
    expect_review(&r, 200, "approved");
    assert_int_equal(balance(&s, &a), 17000);
    assert_int_equal(balance(&s, &b), 3000);
    r = decide(&s, &ana, t1, "approve", NULL);
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    r = decide(&s, &adm, t1, "reject", "too late");
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    assert_int_equal(balance(&s, &a), 17000);
    assert_int_equal(balance(&s, &b), 3000);
    /* the customer's retry now gets the transfer that was made */
    r = transfer(&s, &a, &b, "t-1", 3000);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "true");
    ac_resp_free(&r);
    assert_int_equal(balance(&s, &a), 17000);

    /* rejected: nothing moves, the customer is told */
    r = decide(&s, &ana, t2, "reject", NULL);
    AC_EXPECT_ERROR(r, 400, "missing_param");
    ac_resp_free(&r);
    r = decide(&s, &ana, t2, "reject", "recipient is a known mule account");
    expect_review(&r, 200, "rejected");
    free(ac_mail_wait(&s, a.email, "was not made"));
    r = decide(&s, &adm, t2, "approve", NULL);
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    assert_int_equal(balance(&s, &a), 17000);
    assert_int_equal(balance(&s, &b), 3000);

    /* an administrator approves the store payment */
    r = decide(&s, &adm, p1, "approve", NULL);
    expect_review(&r, 200, "approved");
    assert_int_equal(balance(&s, &a), 16000);
    r = ac_call(&s, &ana.u.who, "GET", "/admin/v1/reviews?status=held", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "reviews")), 0);
    ac_resp_free(&r);

    assert_int_equal(ac_server_stop(&s), 0);
    assert_int_equal(audited(&s, "review_held", "usr_", true), 3);
    assert_int_equal(audited(&s, "review_approved", ana.id, true), 1);
    assert_int_equal(audited(&s, "review_approved", adm.id, true), 1);
    assert_int_equal(audited(&s, "review_rejected", ana.id, true), 1);
    assert_true(audited(&s, "review_approved", sam.id, false) >= 1); /* the refusal, on record */
    assert_true(audited(&s, "review_list", sam.id, false) >= 1);
    assert_true(audited(&s, "risk_held", "usr_", false) >= 4);
    assert_int_equal(ac_cli(&s, "ledger verify >/dev/null"), 0);
    ac_assert_audit_intact(&s);
    ac_assert_no_secrets(&s);
    ac_server_cleanup(&s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(held_payments_wait_for_a_fraud_analyst),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    oath_done();
    curl_global_cleanup();
    return rc;
}
