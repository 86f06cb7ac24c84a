/* test_api_reversals.c: fraud reversals with four eyes over HTTP
 * (docs/admin-api.md, ops/reversal.h).  A victim pays at a store by QR;
 * staff give the money back: support may not; a small reversal executes at
 * once (from the fraud-loss account, or taken back from the store); a large
 * one waits for a second staff member, never the requester, and executes
 * once; nothing beyond what remains of the payment; one staff member
 * splitting returns over many payments ends in approval too; the ledger
 * and the audit chain stay whole. */
#include <pthread.h>
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
#include "merchant/merchant.h"
#include "store/store.h"
#include "util/idem.h"
#include "util/ids.h"
#include "wallet/topup.h"
#include "testutil.h"


/* The store store_id ("str_…") from kessaid's database, and (payable,
 * may be NULL) its payable account. */
static void read_store(const struct ac_server *s, const char *store_id, struct merchant_store *ms,
                       struct ledger_account *payable)
{
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", s->data);
    struct store *st = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    int64_t sid = 0;
    assert_int_equal(ids_parse(store_id, MERCHANT_STORE_ID_PREFIX, &sid), ERR_OK);
    assert_int_equal(st->ops->mstore_get(st, sid, ms), ERR_OK);
    if (payable)
        assert_int_equal(st->ops->account_get(st, ms->payable_account, payable), ERR_OK);
    store_close(st);
}

/* The store's payable balance. */
static int64_t store_balance(const struct ac_server *s, const char *store_id)
{
    struct merchant_store ms;
    struct ledger_account a;
    read_store(s, store_id, &ms, &a);
    return ledger_balance(&a);
}

/* The id ("mer_…") of the merchant the store belongs to. */
static void store_merchant(const struct ac_server *s, const char *store_id, char out[64])
{
    struct merchant_store ms;
    read_store(s, store_id, &ms, NULL);
    char id[IDS_BUF];
    snprintf(out, 64, "%s", ids_format(id, MERCHANT_ID_PREFIX, ms.merchant_id));
}

/* The merchant's webhook events queued so far (webhook_deliveries: one row
 * per event and endpoint; the test's endpoints are one each), oldest
 * first: up to max bodies (the caller frees each); how many. */
static size_t webhook_events(const struct ac_server *s, char **bodies, size_t max)
{
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", s->data);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT body FROM webhook_deliveries ORDER BY id", -1, &q, NULL),
                     SQLITE_OK);
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n < max)
            bodies[n] = strdup((const char *)sqlite3_column_text(q, 0));
        n++;
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

static void free_all(char **bodies, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(bodies[i]);
}

/* c pays amount at the store of qr (idempotency key key): the payment's id. */
static void pay_at(struct ac_server *s, struct ac_user *c, const char *qr, int64_t amount, const char *key,
                   char pay[64])
{
    struct ac_resp r = ac_call_idem(s, &c->who, "POST", "/v1/payments", key,
                                    json_pack("{s:s, s:I}", "qr_payload", qr, "amount", (json_int_t)amount));
    AC_EXPECT_STATUS(r, 201);
    snprintf(pay, 64, "%s", json_string_value(json_object_get(json_object_get(r.j, "payment"), "id")));
    ac_resp_free(&r);
}

/* m asks for a reversal under Idempotency-Key key (NULL: none). */
static struct ac_resp reverse_key(struct ac_server *s, struct ac_staffer *m, const char *key, const char *pay,
                                  int64_t amount, bool charge_store)
{
    return ac_call_idem(s, &m->u.who, "POST", "/admin/v1/reversals", key,
                        json_pack("{s:s, s:I, s:s, s:b}", "payment_id", pay, "amount", (json_int_t)amount, "reason",
                                  "account taken over; customer did not pay", "charge_store", charge_store));
}

/* The same under a key of its own: a new request each time. */
static struct ac_resp reverse(struct ac_server *s, struct ac_staffer *m, const char *pay, int64_t amount, bool charge_store)
{
    static unsigned n;
    char key[32];
    snprintf(key, sizeof key, "rev-%u", ++n);
    return reverse_key(s, m, key, pay, amount, charge_store);
}

static void expect_reversal(struct ac_resp *r, int status, const char *want_status, char id[64])
{
    AC_EXPECT_STATUS(*r, status);
    json_t *rv = json_object_get(r->j, "reversal");
    assert_non_null(rv);
    assert_string_equal(json_string_value(json_object_get(rv, "status")), want_status);
    if (id)
        snprintf(id, 64, "%s", json_string_value(json_object_get(rv, "id")));
    ac_resp_free(r);
}

static void reversals_with_four_eyes(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    ac_server_start(&s, NULL); /* reversal_approval_threshold: 10000 */
    struct ac_user c;
    ac_user_enrolled(&s, &c, "victim");
    char store_id[64], pay[64];
    char *qr = ac_shop(&s, store_id);
    ac_fund(&s, &c, 50000);
    /* the thief, in the victim's session, pays at the store */
    pay_at(&s, &c, qr, 19000, "thief-1", pay);
    free(qr);
    assert_int_equal(ac_balance(&s, &c), 31000);
    assert_int_equal(store_balance(&s, store_id), 19000);

    struct ac_staffer sam, ana, bo, fin;
    ac_staffer_new(&s, &sam, "sam@kessai.example", "support");
    ac_staffer_new(&s, &ana, "ana@kessai.example", "fraud_analyst");
    ac_staffer_new(&s, &bo, "bo@kessai.example", "fraud_analyst");
    ac_staffer_new(&s, &fin, "fin@kessai.example", "finance");
    ac_staff_sign_in_ok(&s, &sam);
    ac_staff_sign_in_ok(&s, &ana);
    ac_staff_sign_in_ok(&s, &bo);
    ac_staff_sign_in_ok(&s, &fin);

    /* support may not reverse, nor read the queue */
    struct ac_resp r = reverse(&s, &sam, pay, 1000, false);
    AC_EXPECT_ERROR(r, 403, "forbidden");
    ac_resp_free(&r);
    assert_int_equal(ac_call_status(&s, &sam.u.who, "GET", "/admin/v1/reversals?status=pending", NULL, "forbidden"), 403);
    assert_int_equal(ac_balance(&s, &c), 31000);

    /* small, from the fraud-loss account: at once, the store keeps its money */
    r = reverse(&s, &ana, pay, 2000, false);
    expect_reversal(&r, 201, "executed", NULL);
    assert_int_equal(ac_balance(&s, &c), 33000);
    assert_int_equal(store_balance(&s, store_id), 19000);
    free(ac_mail_wait(&s, c.email, "2000 yen"));
    /* small, charged to the store: it gives it back */
    r = reverse(&s, &fin, pay, 3000, true);
    expect_reversal(&r, 201, "executed", NULL);
    assert_int_equal(ac_balance(&s, &c), 36000);
    assert_int_equal(store_balance(&s, store_id), 16000);

    /* 14000 remains: no more than that */
    r = reverse(&s, &ana, pay, 14001, false);
    AC_EXPECT_ERROR(r, 422, "reversal_exceeds_original");
    assert_string_equal(ac_err_param(&r), "amount");
    ac_resp_free(&r);
    r = reverse(&s, &ana, pay, 0, false);
    AC_EXPECT_ERROR(r, 400, "amount_invalid");
    ac_resp_free(&r);

    /* large: waits for a second pair of eyes, moves nothing */
    char big[64], other[64], path[256];
    r = reverse(&s, &ana, pay, 12000, true);
    expect_reversal(&r, 202, "pending", big);
    r = reverse(&s, &ana, pay, 13000, false);
    expect_reversal(&r, 202, "pending", other);
    assert_int_equal(ac_balance(&s, &c), 36000);
    assert_int_equal(store_balance(&s, store_id), 16000);
    r = ac_call(&s, &fin.u.who, "GET", "/admin/v1/reversals?status=pending", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "reversals")), 2);
    ac_resp_free(&r);

    /* the requester cannot approve their own */
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/approve", big);
    r = ac_call(&s, &ana.u.who, "POST", path, json_object());
    AC_EXPECT_ERROR(r, 403, "forbidden");
    assert_string_equal(ac_err_param(&r), "approver");
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &c), 36000);
    assert_int_equal(ac_call_status(&s, &sam.u.who, "POST", path, json_object(), "forbidden"), 403);
    /* a second analyst's approval executes it, once */
    r = ac_call(&s, &bo.u.who, "POST", path, json_object());
    expect_reversal(&r, 200, "executed", NULL);
    assert_int_equal(ac_balance(&s, &c), 48000);
    assert_int_equal(store_balance(&s, store_id), 4000);
    assert_int_equal(ac_call_status(&s, &bo.u.who, "POST", path, json_object(), "conflict"), 409);
    assert_int_equal(ac_call_status(&s, &fin.u.who, "POST", path, json_object(), "conflict"), 409);
    assert_int_equal(ac_balance(&s, &c), 48000);
    free(ac_mail_wait(&s, c.email, "12000 yen"));

    /* the other one no longer fits what remains (2000): approving it fails
     * and moves nothing; its requester withdraws it */
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/approve", other);
    assert_int_equal(ac_call_status(&s, &bo.u.who, "POST", path, json_object(), "reversal_exceeds_original"), 422);
    assert_int_equal(ac_balance(&s, &c), 48000);
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/reject", other);
    assert_int_equal(ac_call_status(&s, &ana.u.who, "POST", path, json_object(), "missing_param"), 400);
    r = ac_call(&s, &ana.u.who, "POST", path, json_pack("{s:s}", "reason", "duplicate of the approved one"));
    expect_reversal(&r, 200, "rejected", NULL);
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/approve", other);
    assert_int_equal(ac_call_status(&s, &bo.u.who, "POST", path, json_object(), "conflict"), 409);
    r = ac_call(&s, &fin.u.who, "GET", "/admin/v1/reversals?status=pending", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "reversals")), 0);
    ac_resp_free(&r);
    r = ac_call(&s, &fin.u.who, "GET", "/admin/v1/reversals", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "reversals")), 4);
    ac_resp_free(&r);
    r = ac_call(&s, &fin.u.who, "GET", "/admin/v1/reversals?limit=2", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "reversals")), 2);
    ac_resp_free(&r);
    /* A query that does not parse is refused, naming the parameter. */
    const char *bad[][2] = {{"status=done", "status"}, {"limit=0", "limit"}, {"limit=101", "limit"},
                            {"limit=5x", "limit"}, {"before=pay_0000000000001", "before"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[100];
        snprintf(path, sizeof path, "/admin/v1/reversals?%s", bad[i][0]);
        r = ac_call(&s, &fin.u.who, "GET", path, NULL);
        AC_EXPECT_ERROR(r, 400, "invalid_param");
        assert_string_equal(ac_err_param(&r), bad[i][1]);
        ac_resp_free(&r);
    }
    assert_int_equal(ac_balance(&s, &c), 48000);

    assert_int_equal(ac_server_stop(&s), 0);
    static struct security_event ev[256];
    size_t n = ac_load_events(&s, ev, 256);
    int requested = 0, approved = 0, refused = 0, rejected = 0, executed = 0;
    char victim_actor[64];
    snprintf(victim_actor, sizeof victim_actor, "%s", c.customer_id);
    for (size_t i = 0; i < n; i++) {
        bool ok = strcmp(ev[i].outcome, "success") == 0;
        if (strncmp(ev[i].kind, "reversal_", 9) == 0 && ok)
            assert_int_equal(strncmp(ev[i].actor, "stf_", 4), 0);
        requested += ok && strcmp(ev[i].kind, "reversal_requested") == 0;
        approved += ok && strcmp(ev[i].kind, "reversal_approved") == 0 && strcmp(ev[i].actor, bo.id) == 0;
        refused += !ok && strcmp(ev[i].kind, "reversal_approved") == 0 && strcmp(ev[i].actor, ana.id) == 0;
        rejected += ok && strcmp(ev[i].kind, "reversal_rejected") == 0;
        executed += ok && strcmp(ev[i].kind, "reversal_executed") == 0;
    }
    assert_int_equal(requested, 4);
    assert_int_equal(approved, 1);
    assert_true(refused >= 1);
    assert_int_equal(rejected, 1);
    assert_int_equal(executed, 3);
    assert_int_equal(ac_cli(&s, "ledger verify >/dev/null"), 0);
    assert_int_equal(ac_cli(&s, "audit verify >/dev/null"), 0);
    ac_server_cleanup(&s);
}

/* The attacker is a staff member (or holds one's session) and splits the
 * returns over many payments, each under reversal_approval_threshold
 * (10000): past reversal_staff_unapproved_daily (30000 by default) in a
 * day, every further one waits for a second staff member, whatever the
 * payment, and the audit log says why.  Other staff keep their own
 * allowance. */
static void splitting_over_payments_ends_in_approval(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    /* the customer's phone is new: its lower day limit would stop the buying */
    ac_server_start(&s, (const char *[]){"KESSAI_PAY_NEW_DEVICE_DAILY_MAX=100000", NULL});
    struct ac_user c;
    ac_user_enrolled(&s, &c, "mule");
    char store_id[64], pay[5][64], key[32];
    char *qr = ac_shop(&s, store_id);
    ac_fund(&s, &c, 50000);
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "buy-%d", i);
        pay_at(&s, &c, qr, 9000, key, pay[i]);
    }
    free(qr);
    assert_int_equal(ac_balance(&s, &c), 5000);

    struct ac_staffer eve, bo;
    ac_staffer_new(&s, &eve, "eve@kessai.example", "fraud_analyst");
    ac_staffer_new(&s, &bo, "bo@kessai.example", "fraud_analyst");
    ac_staff_sign_in_ok(&s, &eve);
    ac_staff_sign_in_ok(&s, &bo);

    /* 9000 + 9000 + 9000 + 3000: at the allowance, each at once */
    struct ac_resp r;
    for (int i = 0; i < 3; i++) {
        r = reverse(&s, &eve, pay[i], 9000, false);
        expect_reversal(&r, 201, "executed", NULL);
    }
    r = reverse(&s, &eve, pay[3], 3000, false);
    expect_reversal(&r, 201, "executed", NULL);
    assert_int_equal(ac_balance(&s, &c), 35000);
    /* one yen more, on a payment with nothing given back yet: waits */
    char held[64], held2[64], path[256];
    r = reverse(&s, &eve, pay[4], 1, false);
    expect_reversal(&r, 202, "pending", held);
    r = reverse(&s, &eve, pay[4], 6000, true);
    expect_reversal(&r, 202, "pending", held2);
    assert_int_equal(ac_balance(&s, &c), 35000);
    /* nor can eve wave her own through */
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/approve", held2);
    r = ac_call(&s, &eve.u.who, "POST", path, json_object());
    AC_EXPECT_ERROR(r, 403, "forbidden");
    assert_string_equal(ac_err_param(&r), "approver");
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &c), 35000);
    /* a second pair of eyes: bo approves one, rejects the other */
    r = ac_call(&s, &bo.u.who, "POST", path, json_object());
    expect_reversal(&r, 200, "executed", NULL);
    assert_int_equal(ac_balance(&s, &c), 41000);
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/reject", held);
    r = ac_call(&s, &bo.u.who, "POST", path, json_pack("{s:s}", "reason", "one yen: a probe"));
    expect_reversal(&r, 200, "rejected", NULL);
    /* what bo approved is not eve's allowance back: she still waits */
    r = reverse(&s, &eve, pay[3], 1000, false);
    expect_reversal(&r, 202, "pending", NULL);
    /* bo's own allowance is untouched by eve's */
    r = reverse(&s, &bo, pay[3], 2000, false);
    expect_reversal(&r, 201, "executed", NULL);
    assert_int_equal(ac_balance(&s, &c), 43000);

    assert_int_equal(ac_server_stop(&s), 0);
    static struct security_event ev[256];
    size_t n = ac_load_events(&s, ev, 256);
    int by_eve = 0, held_by_cap = 0, refused = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ev[i].kind, "reversal_requested") == 0 && strcmp(ev[i].actor, eve.id) == 0) {
            by_eve++;
            json_t *d = json_loads(ev[i].detail, 0, NULL);
            assert_non_null(d);
            json_t *because = json_object_get(d, "approval_because");
            if (because) {
                assert_true(json_is_true(json_object_get(d, "needs_approval")));
                assert_string_equal(json_string_value(because), "staff_daily");
                assert_int_equal(json_integer_value(json_object_get(d, "staff_unapproved_24h")), 30000);
                assert_true(ev[i].customer_id > 0); /* about the customer, like every reversal entry */
                held_by_cap++;
            }
            json_decref(d);
        }
        refused += strcmp(ev[i].kind, "reversal_approved") == 0 && strcmp(ev[i].outcome, "failure") == 0 &&
                   strcmp(ev[i].actor, eve.id) == 0;
    }
    assert_int_equal(by_eve, 7);
    assert_int_equal(held_by_cap, 3);
    assert_true(refused >= 1);
    assert_int_equal(ac_cli(&s, "ledger verify >/dev/null"), 0);
    assert_int_equal(ac_cli(&s, "audit verify >/dev/null"), 0);
    ac_server_cleanup(&s);
}

/* The reversal r answered (status, reversal status; its id in id, may be
 * NULL): true when it said it was a retry's answer (Idempotent-Replayed). */
static bool answered(struct ac_resp *r, int status, const char *want_status, char id[64])
{
    bool replayed = strcmp(r->idempotent_replayed, "true") == 0;
    assert_true(replayed || r->idempotent_replayed[0] == '\0');
    expect_reversal(r, status, want_status, id);
    return replayed;
}

/* A server whose customer c, funded 50,000, had 30,000 paid by store QR
 * at store_id (a thief's payment, id in pay).  The phone is new, and its
 * lower day limit would stop that payment: raised. */
static void robbed(struct ac_server *s, struct ac_user *c, char store_id[64], char pay[64])
{
    ac_server_init(s);
    ac_server_start(s, (const char *[]){"KESSAI_PAY_NEW_DEVICE_DAILY_MAX=100000", NULL});
    ac_user_enrolled(s, c, "victim");
    char *qr = ac_shop(s, store_id);
    ac_fund(s, c, 50000);
    pay_at(s, c, qr, 30000, "thief-1", pay);
    free(qr);
}

/* Every reversal request carries an Idempotency-Key (DESIGN.md): a
 * double-click, or a retry after a time-out, answers the first reversal
 * and moves nothing again; the same key with another request is 409 and
 * moves nothing; without a key nothing happens at all.  One that waits for
 * a second pair of eyes is one pending reversal however often it is sent,
 * and its retries follow it to executed, or rejected.  Keys are the staff
 * member's own. */
static void a_retried_reversal_moves_money_once(void **state)
{
    (void)state;
    struct ac_server s;
    struct ac_user c;
    char store_id[64], pay[64];
    robbed(&s, &c, store_id, pay); /* reversal_approval_threshold: 10000 */
    assert_int_equal(ac_balance(&s, &c), 20000);
    struct ac_staffer ana, bo;
    ac_staffer_new(&s, &ana, "ana@kessai.example", "fraud_analyst");
    ac_staffer_new(&s, &bo, "bo@kessai.example", "fraud_analyst");
    ac_staff_sign_in_ok(&s, &ana);
    ac_staff_sign_in_ok(&s, &bo);

    /* no key, or one that is no key: refused, nothing moves */
    struct ac_resp r = reverse_key(&s, &ana, NULL, pay, 2000, false);
    AC_EXPECT_ERROR(r, 400, "missing_param");
    assert_string_equal(ac_err_param(&r), "Idempotency-Key");
    ac_resp_free(&r);
    char long_key[IDEM_KEY_MAX + 2];
    memset(long_key, 'k', IDEM_KEY_MAX + 1);
    long_key[IDEM_KEY_MAX + 1] = '\0';
    r = reverse_key(&s, &ana, long_key, pay, 2000, false);
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    assert_string_equal(ac_err_param(&r), "Idempotency-Key");
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &c), 20000);

    /* at once; sent again (the double-click): the same reversal, once */
    char first[64], again[64];
    r = reverse_key(&s, &ana, "click-1", pay, 2000, false);
    assert_false(answered(&r, 201, "executed", first));
    assert_int_equal(ac_balance(&s, &c), 22000);
    for (int i = 0; i < 2; i++) {
        r = reverse_key(&s, &ana, "click-1", pay, 2000, false);
        bool replayed = answered(&r, 201, "executed", again);
        assert_int_equal(ac_balance(&s, &c), 22000);
        assert_string_equal(again, first);
        assert_true(replayed);
    }
    assert_int_equal(ac_balance(&s, &c), 22000);
    free(ac_mail_wait(&s, c.email, "2000 yen"));
    /* the same key, another request: 409, nothing moves */
    r = reverse_key(&s, &ana, "click-1", pay, 2500, false);
    AC_EXPECT_ERROR(r, 409, "idempotency_conflict");
    assert_string_equal(ac_err_param(&r), "Idempotency-Key");
    ac_resp_free(&r);
    r = reverse_key(&s, &ana, "click-1", pay, 2000, true); /* from the store instead */
    AC_EXPECT_ERROR(r, 409, "idempotency_conflict");
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &c), 22000);
    assert_int_equal(store_balance(&s, store_id), 30000);
    /* another staff member's key is theirs: a request of its own */
    r = reverse_key(&s, &bo, "click-1", pay, 2000, false);
    assert_false(answered(&r, 201, "executed", again));
    assert_string_not_equal(again, first);
    assert_int_equal(ac_balance(&s, &c), 24000);

    /* waits for four eyes (4000 went back at once, 4000 + 9000 > 10000):
     * sent three times, one pending reversal */
    char held[64], path[256];
    r = reverse_key(&s, &ana, "big-1", pay, 9000, true);
    assert_false(answered(&r, 202, "pending", held));
    for (int i = 0; i < 2; i++) {
        r = reverse_key(&s, &ana, "big-1", pay, 9000, true);
        bool replayed = answered(&r, 202, "pending", again);
        assert_string_equal(again, held);
        assert_true(replayed);
    }
    r = reverse_key(&s, &ana, "big-1", pay, 9000, false);
    AC_EXPECT_ERROR(r, 409, "idempotency_conflict");
    ac_resp_free(&r);
    r = ac_call(&s, &bo.u.who, "GET", "/admin/v1/reversals?status=pending", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "reversals")), 1);
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &c), 24000);
    assert_int_equal(store_balance(&s, store_id), 30000);
    /* approved: it moves once; a retry now answers it executed */
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/approve", held);
    r = ac_call(&s, &bo.u.who, "POST", path, json_object());
    expect_reversal(&r, 200, "executed", NULL);
    assert_int_equal(ac_balance(&s, &c), 33000);
    r = reverse_key(&s, &ana, "big-1", pay, 9000, true);
    bool replayed = answered(&r, 201, "executed", again);
    assert_int_equal(ac_balance(&s, &c), 33000);
    assert_string_equal(again, held);
    assert_true(replayed);
    assert_int_equal(store_balance(&s, store_id), 21000);

    /* rejected: its retry answers it rejected, and moves nothing */
    char rej[64];
    r = reverse_key(&s, &ana, "big-2", pay, 8000, false);
    assert_false(answered(&r, 202, "pending", rej));
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/reject", rej);
    r = ac_call(&s, &bo.u.who, "POST", path, json_pack("{s:s}", "reason", "not fraud"));
    expect_reversal(&r, 200, "rejected", NULL);
    r = reverse_key(&s, &ana, "big-2", pay, 8000, false);
    replayed = answered(&r, 200, "rejected", again);
    assert_string_equal(again, rej);
    assert_true(replayed);
    assert_int_equal(ac_balance(&s, &c), 33000);
    r = ac_call(&s, &bo.u.who, "GET", "/admin/v1/reversals", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "reversals")), 4);
    ac_resp_free(&r);
    ac_mail_count_reaches(&s, c.email, "We gave back", 3);

    assert_int_equal(ac_server_stop(&s), 0);
    static struct security_event ev[256];
    size_t n = ac_load_events(&s, ev, 256);
    int requested = 0, executed = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = strcmp(ev[i].outcome, "success") == 0;
        requested += ok && strcmp(ev[i].kind, "reversal_requested") == 0;
        executed += ok && strcmp(ev[i].kind, "reversal_executed") == 0;
    }
    assert_int_equal(requested, 4); /* retries are no new requests */
    assert_int_equal(executed, 3);
    assert_int_equal(ac_cli(&s, "ledger verify >/dev/null"), 0);
    assert_int_equal(ac_cli(&s, "audit verify >/dev/null"), 0);
    ac_server_cleanup(&s);
}

/* One of several staff clients sending the same request at once. */
struct racer {
    struct ac_server *s;
    struct ac_staffer *m;
    const char *key, *pay;
    int64_t amount;
    bool charge_store;
    pthread_barrier_t *go;
    long status;
    char id[64];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->go);
    struct ac_resp a = reverse_key(r->s, r->m, r->key, r->pay, r->amount, r->charge_store);
    r->status = a.status;
    const char *id = json_string_value(json_object_get(json_object_get(a.j, "reversal"), "id"));
    snprintf(r->id, sizeof r->id, "%s", id ? id : "");
    ac_resp_free(&a);
    return NULL;
}

/* n copies of one request at the same instant: each answer is want, all
 * of one reversal (its id in id). */
static void race_one(struct ac_server *s, struct ac_staffer *m, const char *key, const char *pay, int64_t amount,
                     bool charge_store, long want, char id[64])
{
    enum { N = 6 };
    struct racer rs[N];
    pthread_t th[N];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        rs[i] = (struct racer){.s = s, .m = m, .key = key, .pay = pay, .amount = amount,
                               .charge_store = charge_store, .go = &go};
        assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < N; i++) {
        if (rs[i].status != want || strcmp(rs[i].id, rs[0].id) != 0)
            fail_msg("racer %d: %ld %s (racer 0: %ld %s)", i, rs[i].status, rs[i].id, rs[0].status, rs[0].id);
    }
    snprintf(id, 64, "%s", rs[0].id);
}

/* The double-click of a client that does not wait: the copies race each
 * other, not a first that finished.  One reversal, money once. */
static void copies_at_the_same_instant_are_one_reversal(void **state)
{
    (void)state;
    struct ac_server s;
    struct ac_user c;
    char store_id[64], pay[64];
    robbed(&s, &c, store_id, pay);
    struct ac_staffer ana;
    ac_staffer_new(&s, &ana, "ana@kessai.example", "fraud_analyst");
    ac_staff_sign_in_ok(&s, &ana);

    char id[64];
    for (int round = 0; round < 3; round++) {
        char key[32];
        snprintf(key, sizeof key, "now-%d", round);
        race_one(&s, &ana, key, pay, 1000, round == 1, 201, id); /* at once, from either account */
        assert_int_equal(ac_balance(&s, &c), 20000 + 1000 * (round + 1));
    }
    assert_int_equal(store_balance(&s, store_id), 29000);
    race_one(&s, &ana, "held-1", pay, 9000, true, 202, id); /* 3000 + 9000 > 10000: waits */
    race_one(&s, &ana, "held-2", pay, 9500, false, 202, id);
    struct ac_resp r = ac_call(&s, &ana.u.who, "GET", "/admin/v1/reversals?status=pending", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "reversals")), 2);
    ac_resp_free(&r);
    r = ac_call(&s, &ana.u.who, "GET", "/admin/v1/reversals", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "reversals")), 5);
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &c), 23000);

    assert_int_equal(ac_server_stop(&s), 0);
    assert_int_equal(ac_cli(&s, "ledger verify >/dev/null"), 0);
    assert_int_equal(ac_cli(&s, "audit verify >/dev/null"), 0);
    ac_server_cleanup(&s);
}

/* The event body's string at data.<a>.<b>. */
static const char *event_str(json_t *ev, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(ev, "data"), a), b));
}

/* A reversal taken back from the store's payable reaches its merchant as a
 * refund does (docs/webhooks.md): one refund.succeeded, kind "reversal",
 * naming the reversal, queued with the money (at once, or on approval);
 * a retry queues nothing more; one the fraud-loss account pays, nothing. */
static void a_reversal_the_store_pays_reaches_its_merchant(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    ac_server_start(&s, NULL);
    struct ac_user c;
    ac_user_enrolled(&s, &c, "victim");
    char store_id[64], mer[64], pay[64], args[300];
    char *qr = ac_shop(&s, store_id);
    store_merchant(&s, store_id, mer);
    /* nothing listens there: the event stays queued, for the count */
    snprintf(args, sizeof args,
             "admin webhook add --merchant %s --url http://127.0.0.1:9/kessai "
             "--events payment.succeeded,refund.succeeded,charge.voided >/dev/null",
             mer);
    assert_int_equal(ac_cli(&s, args), 0);
    ac_fund(&s, &c, 50000);
    pay_at(&s, &c, qr, 19000, "thief-1", pay);
    free(qr);
    char *ev[8];
    size_t n = webhook_events(&s, ev, 8);
    assert_int_equal(n, 1); /* payment.succeeded */
    free_all(ev, n);

    struct ac_staffer ana, bo;
    ac_staffer_new(&s, &ana, "ana@kessai.example", "fraud_analyst");
    ac_staffer_new(&s, &bo, "bo@kessai.example", "fraud_analyst");
    ac_staff_sign_in_ok(&s, &ana);
    ac_staff_sign_in_ok(&s, &bo);
    struct ac_resp r = reverse_key(&s, &ana, "store-1", pay, 3000, true);
    AC_EXPECT_STATUS(r, 201);
    json_t *rv = json_incref(json_object_get(r.j, "reversal"));
    ac_resp_free(&r);
    r = reverse_key(&s, &ana, "store-1", pay, 3000, true); /* the retry */
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    r = reverse_key(&s, &ana, "losses-1", pay, 1000, false); /* the store keeps its money */
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    n = webhook_events(&s, ev, 8);
    assert_int_equal(n, 2);
    json_t *e = json_loads(ev[1], 0, NULL);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "type")), "refund.succeeded");
    assert_string_equal(event_str(e, "refund", "kind"), "reversal");
    assert_string_equal(event_str(e, "refund", "reversal"), json_string_value(json_object_get(rv, "id")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(e, "data"), "refund"),
                                                        "amount")),
                     3000);
    assert_string_equal(event_str(e, "charge", "id"), pay);
    assert_string_equal(event_str(e, "charge", "status"), "partially_refunded");
    /* the event's id is the transfer's: evt_ + what follows txn_ */
    const char *txn = json_string_value(json_object_get(rv, "transfer"));
    assert_non_null(txn);
    assert_string_equal(json_string_value(json_object_get(e, "id")) + 4, txn + 4);
    assert_null(strstr(ev[1], c.email)); /* never the customer */
    assert_null(strstr(ev[1], c.customer_id));
    json_decref(e);
    json_decref(rv);
    free_all(ev, n);

    /* above the threshold: nothing until approved, then one event */
    char held[64], path[256];
    r = reverse_key(&s, &ana, "store-2", pay, 9000, true);
    expect_reversal(&r, 202, "pending", held);
    assert_int_equal(webhook_events(&s, NULL, 0), 2);
    snprintf(path, sizeof path, "/admin/v1/reversals/%s/approve", held);
    r = ac_call(&s, &bo.u.who, "POST", path, json_object());
    expect_reversal(&r, 200, "executed", NULL);
    n = webhook_events(&s, ev, 8);
    assert_int_equal(n, 3);
    e = json_loads(ev[2], 0, NULL);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "type")), "refund.succeeded");
    assert_string_equal(event_str(e, "refund", "reversal"), held);
    assert_string_equal(event_str(e, "charge", "status"), "partially_refunded");
    json_decref(e);
    free_all(ev, n);
    assert_int_equal(store_balance(&s, store_id), 7000);

    assert_int_equal(ac_server_stop(&s), 0);
    assert_int_equal(ac_cli(&s, "ledger verify >/dev/null"), 0);
    assert_int_equal(ac_cli(&s, "audit verify >/dev/null"), 0);
    ac_server_cleanup(&s);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reversals_with_four_eyes),
        cmocka_unit_test(splitting_over_payments_ends_in_approval),
        cmocka_unit_test(a_retried_reversal_moves_money_once),
        cmocka_unit_test(copies_at_the_same_instant_are_one_reversal),
        cmocka_unit_test(a_reversal_the_store_pays_reaches_its_merchant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
