/* test_api_disputes.c: fraud reports over HTTP (docs/payments.md,
 * docs/admin-api.md, ops/dispute.h).  A victim's account is used by a
 * thief to pay at a store; the victim reports it (POST /v1/disputes); a
 * fraud analyst gives the money back with a reversal naming the report
 * (above the threshold: a second analyst approves), and the report is
 * resolved; another report is closed without money.  From the attacker's
 * side: another customer cannot report or read the victim's transaction or
 * report (404, as an unknown id, and on record); a report is one per
 * payment and idempotent by key; support can read reports but neither
 * reverse nor reject (403, on record).  The ledger and audit chain stay
 * whole. */
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
#include <sqlite3.h>

#include "api_client.h"
#include "api_staff.h"
#include "auth/customer_types.h"
#include "auth/totp.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "store/store.h"
#include "util/ids.h"
#include "wallet/topup.h"
#include "testutil.h"


/* The transaction id ("txn_…") of a payment id ("pay_…"): the same number. */
static void txn_of(const char *pay, char out[64])
{
    assert_int_equal(strncmp(pay, "pay_", 4), 0);
    snprintf(out, 64, "txn_%s", pay + 4);
}

/* The thief, in the victim's session, pays amount at the store: its "txn_…". */
static void pay_store(struct ac_server *s, struct ac_user *c, const char *qr, int64_t amount, const char *key,
                      char txn[64])
{
    struct ac_resp r = ac_call_idem(s, &c->who, "POST", "/v1/payments", key,
                                    json_pack("{s:s, s:I}", "qr_payload", qr, "amount", (json_int_t)amount));
    AC_EXPECT_STATUS(r, 201);
    txn_of(json_string_value(json_object_get(json_object_get(r.j, "payment"), "id")), txn);
    ac_resp_free(&r);
}

static struct ac_resp file(struct ac_server *s, struct ac_user *c, const char *key, const char *txn, const char *why)
{
    return ac_call_idem(s, &c->who, "POST", "/v1/disputes", key,
                        json_pack("{s:s, s:s}", "transaction_id", txn, "reason", why));
}

/* A 201 report: its id into id, its status checked. */
static void expect_dispute(struct ac_resp *r, int status, const char *want_status, char id[64])
{
    AC_EXPECT_STATUS(*r, status);
    json_t *d = json_object_get(r->j, "dispute");
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "status")), want_status);
    if (id)
        snprintf(id, 64, "%s", json_string_value(json_object_get(d, "id")));
    ac_resp_free(r);
}

static void expect_error(struct ac_resp r, long status, const char *code, const char *param)
{
    AC_EXPECT_ERROR(r, status, code);
    if (param)
        assert_string_equal(ac_err_param(&r), param);
    ac_resp_free(&r);
}

/* The customer's view of report id: its status (and reversal) checked. */
static void expect_own(struct ac_server *s, struct ac_user *c, const char *id, const char *status, bool reversed)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/disputes/%s", id);
    struct ac_resp r = ac_call(s, &c->who, "GET", path, NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *d = json_object_get(r.j, "dispute");
    assert_string_equal(json_string_value(json_object_get(d, "status")), status);
    assert_int_equal(json_is_string(json_object_get(d, "reversal")), reversed);
    assert_null(json_object_get(d, "decided_by")); /* staff names are staff's business */
    ac_resp_free(&r);
}

/* Make payment txn look made `days` ago (the test's clock is the server's). */
static void age_payment(const struct ac_server *s, const char *txn, int days)
{
    int64_t id = 0;
    assert_int_equal(ids_parse(txn, "txn", &id), ERR_OK);
    char path[700], sql[256];
    snprintf(path, sizeof path, "%s/kessai.db", s->data);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    snprintf(sql, sizeof sql, "UPDATE payments SET created_ms = created_ms - %lld WHERE id = %lld",
             (long long)days * 86400000LL, (long long)id);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
}

static void disputes_end_to_end(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    ac_server_start(&s, NULL); /* reversal_approval_threshold 10000, dispute_window_days 60 */
    struct ac_user c, b;
    ac_user_enrolled(&s, &c, "victim");
    ac_user_enrolled(&s, &b, "other");
    char store_id[64];
    char *qr = ac_shop(&s, store_id);
    ac_fund(&s, &c, 50000);

    char big[64], small[64], kept[64], old[64], sent[64], topup[64];
    pay_store(&s, &c, qr, 12000, "thief-1", big);
    pay_store(&s, &c, qr, 3000, "thief-2", small);
    pay_store(&s, &c, qr, 2000, "own-1", kept);
    pay_store(&s, &c, qr, 1000, "own-2", old);
    struct ac_resp r = ac_call_idem(&s, &c.who, "POST", "/v1/transfers", "gift-1",
                                    json_pack("{s:s, s:i}", "to", b.customer_id, "amount", 500));
    AC_EXPECT_STATUS(r, 201);
    txn_of(json_string_value(json_object_get(json_object_get(r.j, "transfer"), "id")), sent);
    ac_resp_free(&r);
    r = ac_call(&s, &c.who, "GET", "/v1/transactions?limit=100", NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *txs = json_object_get(r.j, "transactions");
    topup[0] = '\0';
    for (size_t i = 0; i < json_array_size(txs); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(txs, i), "kind")), "topup_card") == 0)
            snprintf(topup, sizeof topup, "%s", json_string_value(json_object_get(json_array_get(txs, i), "id")));
    ac_resp_free(&r);
    assert_true(topup[0] != '\0');
    assert_int_equal(ac_balance(&s, &c), 31500);

    /* the victim reports the thief's payments */
    char d_big[64], d_small[64], d_kept[64];
    r = file(&s, &c, "rep-1", big, "I was asleep; my phone was stolen the day before");
    expect_dispute(&r, 201, "open", d_big);
    free(ac_mail_wait(&s, c.email, d_big)); /* told at once */
    /* a retry with the same key returns the same report; another body is refused */
    char again[64];
    r = file(&s, &c, "rep-1", big, "I was asleep; my phone was stolen the day before");
    assert_string_equal(r.idempotent_replayed, "true");
    expect_dispute(&r, 201, "open", again);
    assert_string_equal(again, d_big);
    expect_error(file(&s, &c, "rep-1", big, "something else"), 409, "idempotency_conflict", NULL);
    /* one report per payment */
    expect_error(file(&s, &c, "rep-2", big, "reporting it twice"), 409, "already_disputed", "transaction_id");
    r = file(&s, &c, "rep-3", small, "not me either");
    expect_dispute(&r, 201, "open", d_small);
    r = file(&s, &c, "rep-4", kept, "I think I did not buy this");
    expect_dispute(&r, 201, "open", d_kept);
    /* what is not a debit of one's own, or is too old, or is malformed */
    expect_error(file(&s, &c, "rep-5", topup, "a top-up"), 422, "not_disputable", "transaction_id");
    age_payment(&s, old, 61);
    expect_error(file(&s, &c, "rep-6", old, "an old one"), 422, "dispute_window_closed", "transaction_id");
    expect_error(file(&s, &c, NULL, small, "no key"), 400, "missing_param", "Idempotency-Key");
    expect_error(file(&s, &c, "rep-7", "pay_0000000000001", "wrong prefix"), 400, "invalid_param", "transaction_id");
    expect_error(file(&s, &c, "rep-8", "txn_0000000000999", "unknown"), 404, "not_found", NULL);
    r = ac_call_idem(&s, &c.who, "POST", "/v1/disputes", "rep-9", json_pack("{s:s}", "transaction_id", small));
    expect_error(r, 400, "missing_param", "reason");
    expect_error(file(&s, &c, "rep-10", small, "line\nbreak"), 400, "invalid_param", "reason");
    /* nor what staff would read other than as typed (a C1 control, a
     * zero-width space, a direction isolate, an override) */
    expect_error(file(&s, &c, "rep-11", small, "ok\xc2\x85\xe2\x80\x8b\xe2\x81\xa6"), 400, "invalid_param", "reason");
    expect_error(file(&s, &c, "rep-12", small, "\xe2\x80\xae"), 400, "invalid_param", "reason");

    /* the other customer: the victim's transaction and reports are not
     * theirs, exactly as if they did not exist; money received is no debit */
    char path[256];
    expect_error(file(&s, &b, "b-1", big, "mine now"), 404, "not_found", NULL);
    snprintf(path, sizeof path, "/v1/transactions/%s", big);
    expect_error(ac_call(&s, &b.who, "GET", path, NULL), 404, "not_found", NULL);
    snprintf(path, sizeof path, "/v1/disputes/%s", d_big);
    expect_error(ac_call(&s, &b.who, "GET", path, NULL), 404, "not_found", NULL);
    expect_error(file(&s, &b, "b-2", sent, "I got money"), 422, "not_disputable", "transaction_id");
    r = ac_call(&s, &b.who, "GET", "/v1/disputes", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "disputes")), 0);
    ac_resp_free(&r);
    /* the victim's own list, newest first */
    r = ac_call(&s, &c.who, "GET", "/v1/disputes", NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *list = json_object_get(r.j, "disputes");
    assert_int_equal(json_array_size(list), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), d_kept);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "id")), d_big);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "transaction_id")), big);
    ac_resp_free(&r);
    r = ac_call(&s, &c.who, "GET", "/v1/disputes?limit=2", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "disputes")), 2);
    assert_true(json_is_string(json_object_get(r.j, "next_before")));
    ac_resp_free(&r);
    /* A page size that is not 1..100 in plain digits is refused, naming
     * it, the same way as on the admin lists (api_limit). */
    static const char *const bad_limits[] = {"0", "101", "-1", "+5", "%205", "05", "5x", "1e2", "",
                                             "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
        char q[80];
        snprintf(q, sizeof q, "/v1/disputes?limit=%s", bad_limits[i]);
        expect_error(ac_call(&s, &c.who, "GET", q, NULL), 400, "invalid_param", "limit");
    }
    r = ac_call(&s, &c.who, "GET", "/v1/disputes?limit=100", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "disputes")), 3);
    ac_resp_free(&r);

    struct ac_staffer sam, ana, bo;
    ac_staffer_new(&s, &sam, "sam@kessai.example", "support");
    ac_staffer_new(&s, &ana, "ana@kessai.example", "fraud_analyst");
    ac_staffer_new(&s, &bo, "bo@kessai.example", "fraud_analyst");
    ac_staff_sign_in_ok(&s, &sam);
    ac_staff_sign_in_ok(&s, &ana);
    ac_staff_sign_in_ok(&s, &bo);

    /* support reads the queue, but neither reverses nor rejects */
    r = ac_call(&s, &sam.u.who, "GET", "/admin/v1/disputes?status=open", NULL);
    AC_EXPECT_STATUS(r, 200);
    list = json_object_get(r.j, "disputes");
    assert_int_equal(json_array_size(list), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "customer")), c.customer_id);
    ac_resp_free(&r);
    expect_error(ac_call(&s, &sam.u.who, "GET", "/admin/v1/disputes?status=bogus", NULL), 400, "invalid_param",
                 "status");
    expect_error(ac_call(&s, &sam.u.who, "GET", "/admin/v1/disputes?limit=+5", NULL), 400, "invalid_param",
                 "limit");
    expect_error(ac_call(&s, &sam.u.who, "GET", "/admin/v1/disputes?limit=101", NULL), 400, "invalid_param",
                 "limit");
    snprintf(path, sizeof path, "/admin/v1/disputes/%s/reject", d_kept);
    expect_error(ac_call(&s, &sam.u.who, "POST", path, json_pack("{s:s}", "note", "looks like yours")), 403,
                 "forbidden", NULL);
    expect_error(ac_call_idem(&s, &sam.u.who, "POST", "/admin/v1/reversals", "rev-1",
                              json_pack("{s:s, s:i, s:s, s:b, s:s}", "payment_id", "pay_0000000000001", "amount", 100,
                                        "reason", "x", "charge_store", 0, "dispute_id", d_small)),
                 403, "forbidden", NULL);
    /* a customer's token is no staff token */
    expect_error(ac_call(&s, &c.who, "GET", "/admin/v1/disputes", NULL), 401, "unauthenticated", NULL);

    /* above the threshold, from the store, naming the report: waits for bo */
    char pay_big[64], pay_small[64], rev[64];
    snprintf(pay_big, sizeof pay_big, "pay_%s", big + 4);
    snprintf(pay_small, sizeof pay_small, "pay_%s", small + 4);
    /* a report names its own payment only */
    expect_error(ac_call_idem(&s, &ana.u.who, "POST", "/admin/v1/reversals", "rev-2",
                              json_pack("{s:s, s:i, s:s, s:b, s:s}", "payment_id", pay_big, "amount", 100, "reason",
                                        "mismatch", "charge_store", 0, "dispute_id", d_small)),
                 400, "invalid_param", "dispute_id");
    r = ac_call_idem(&s, &ana.u.who, "POST", "/admin/v1/reversals", "rev-3",
                     json_pack("{s:s, s:i, s:s, s:b, s:s}", "payment_id", pay_big, "amount", 12000, "reason",
                               "account taken over; customer reported it", "charge_store", 1, "dispute_id", d_big));
    AC_EXPECT_STATUS(r, 202);
    snprintf(rev, sizeof rev, "%s", json_string_value(json_object_get(json_object_get(r.j, "reversal"), "id")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "reversal"), "dispute")), d_big);
    ac_resp_free(&r);
    expect_own(&s, &c, d_big, "open", false);
    assert_int_equal(ac_balance(&s, &c), 31500);
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/approve", rev);
    r = ac_call(&s, &bo.u.who, "POST", path, json_object());
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &c), 43500);
    expect_own(&s, &c, d_big, "resolved", true);
    free(ac_mail_wait(&s, c.email, "Your fraud report is resolved"));
    snprintf(path, sizeof path, "/admin/v1/disputes/%s", d_big);
    r = ac_call(&s, &sam.u.who, "GET", path, NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "dispute"), "decided_by")), bo.id);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "dispute"), "reversal")), rev);
    ac_resp_free(&r);
    /* a resolved report resolves nothing more; reporting it again is refused */
    expect_error(ac_call_idem(&s, &ana.u.who, "POST", "/admin/v1/reversals", "rev-4",
                              json_pack("{s:s, s:i, s:s, s:b, s:s}", "payment_id", pay_small, "amount", 100, "reason",
                                        "again", "charge_store", 0, "dispute_id", d_big)),
                 400, "invalid_param", "dispute_id");
    expect_error(file(&s, &c, "rep-11", big, "once more"), 422, "not_disputable", "transaction_id");

    /* below the threshold, from the fraud-loss account: resolved at once */
    r = ac_call_idem(&s, &ana.u.who, "POST", "/admin/v1/reversals", "rev-5",
                     json_pack("{s:s, s:i, s:s, s:b, s:s}", "payment_id", pay_small, "amount", 3000, "reason",
                               "same thief", "charge_store", 0, "dispute_id", d_small));
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &c), 46500);
    expect_own(&s, &c, d_small, "resolved", true);

    /* the last one was the customer's own purchase: closed without money */
    snprintf(path, sizeof path, "/admin/v1/disputes/%s/reject", d_kept);
    expect_error(ac_call(&s, &ana.u.who, "POST", path, json_object()), 400, "missing_param", "note");
    r = ac_call(&s, &ana.u.who, "POST", path,
                json_pack("{s:s}", "note", "paid from your usual phone in your usual store"));
    expect_dispute(&r, 200, "rejected", NULL);
    expect_error(ac_call(&s, &bo.u.who, "POST", path, json_pack("{s:s}", "note", "twice")), 409, "conflict", NULL);
    expect_own(&s, &c, d_kept, "rejected", false);
    free(ac_mail_wait(&s, c.email, "usual store"));
    snprintf(path, sizeof path, "/admin/v1/disputes/%s/reject", d_big);
    expect_error(ac_call(&s, &ana.u.who, "POST", path, json_pack("{s:s}", "note", "too late")), 409, "conflict",
                 NULL);
    r = ac_call(&s, &sam.u.who, "GET", "/admin/v1/disputes?status=open", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "disputes")), 0);
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &c), 46500);

    /* a reversal waiting for approval when its report is closed: approving
     * it then moves nothing */
    ac_fund(&s, &b, 20000);
    char b_big[64], pay_b[64], d_b[64], rev_b[64];
    pay_store(&s, &b, qr, 11000, "b-pay-1", b_big);
    free(qr);
    snprintf(pay_b, sizeof pay_b, "pay_%s", b_big + 4);
    r = file(&s, &b, "b-rep-1", b_big, "my card was used by someone");
    expect_dispute(&r, 201, "open", d_b);
    r = ac_call_idem(&s, &ana.u.who, "POST", "/admin/v1/reversals", "rev-6",
                     json_pack("{s:s, s:i, s:s, s:b, s:s}", "payment_id", pay_b, "amount", 11000, "reason",
                               "pending four eyes", "charge_store", 0, "dispute_id", d_b));
    AC_EXPECT_STATUS(r, 202);
    snprintf(rev_b, sizeof rev_b, "%s", json_string_value(json_object_get(json_object_get(r.j, "reversal"), "id")));
    ac_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/disputes/%s/reject", d_b);
    r = ac_call(&s, &ana.u.who, "POST", path, json_pack("{s:s}", "note", "the customer's own purchase"));
    expect_dispute(&r, 200, "rejected", NULL);
    int64_t b_before = ac_balance(&s, &b);
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/approve", rev_b);
    expect_error(ac_call(&s, &bo.u.who, "POST", path, json_object()), 409, "conflict", "dispute_id");
    assert_int_equal(ac_balance(&s, &b), b_before);
    expect_own(&s, &b, d_b, "rejected", false);
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/reject", rev_b);
    r = ac_call(&s, &ana.u.who, "POST", path, json_pack("{s:s}", "reason", "report closed"));
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);

    assert_int_equal(ac_server_stop(&s), 0);
    static struct security_event ev[512];
    size_t n = ac_load_events(&s, ev, 512);
    int filed = 0, probed = 0, resolved = 0, rejected = 0, forbidden = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = strcmp(ev[i].outcome, "success") == 0;
        filed += ok && strcmp(ev[i].kind, "dispute_filed") == 0 && strcmp(ev[i].actor, c.customer_id) == 0;
        probed += !ok && strcmp(ev[i].kind, "dispute_filed") == 0 && strcmp(ev[i].actor, b.customer_id) == 0 &&
                  strstr(ev[i].detail, "not_found") != NULL;
        resolved += ok && strcmp(ev[i].kind, "dispute_resolved") == 0 && strncmp(ev[i].actor, "stf_", 4) == 0;
        rejected += ok && strcmp(ev[i].kind, "dispute_rejected") == 0 && strcmp(ev[i].actor, ana.id) == 0;
        forbidden += !ok && strcmp(ev[i].actor, sam.id) == 0 &&
                     (strcmp(ev[i].kind, "dispute_rejected") == 0 || strcmp(ev[i].kind, "reversal_requested") == 0);
    }
    assert_int_equal(filed, 3);
    assert_int_equal(probed, 1);
    assert_int_equal(resolved, 2);
    assert_int_equal(rejected, 2);
    assert_int_equal(forbidden, 2);
    assert_int_equal(ac_cli(&s, "ledger verify >/dev/null"), 0);
    assert_int_equal(ac_cli(&s, "audit verify >/dev/null"), 0);
    ac_server_cleanup(&s);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(disputes_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
