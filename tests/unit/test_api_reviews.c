/* test_api_reviews.c: the review queue over HTTP (issue 6, wallet/review.h,
 * docs/admin-api.md "Review queue").  The risk engine is tuned so that every
 * payment from a phone in its new-device cool-down is held (new_device 90:
 * above hold 80, below deny 120).  A held transfer or store-QR payment is
 * not refused but kept (202 held; nothing moves; the customer is mailed);
 * a fraud analyst approves it and the money moves once, or rejects it and
 * nothing moves; support may neither read nor decide the queue (403, on
 * record); a register's charge with a hold verdict is still refused (409
 * risk_held: nobody can wait at the till).  The ledger and the audit chain
 * stay whole.  A held one lapses review_hold_expiry_s after it was held
 * (the server's clock moved with KESSAI_CLOCK_FILE): never approved late,
 * its customer mailed once, listed as expired. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <liboath/oath.h>
#include <sodium.h>

#include "api_client.h"
#include "api_staff.h"
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

/* A staff member made with the CLI, signed in. */
static void staffer_signed_in(struct ac_server *s, struct ac_staffer *m, const char *email, const char *role)
{
    ac_staffer_new(s, m, email, role);
    ac_staff_sign_in_ok(s, m);
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

static struct ac_resp decide(struct ac_server *s, struct ac_staffer *m, const char *id, const char *what,
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
    static struct security_event ev[512];
    size_t n = ac_load_events(s, ev, 512);
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
    char store_id[64];
    char *qr = ac_shop(&s, store_id);
    struct ac_terminal till;
    ac_make_terminal(&s, store_id, &till);
    ac_server_start(&s, (const char *[]){"KESSAI_RISK_NEW_DEVICE_SCORE=90", NULL});

    struct ac_user a, b;
    ac_user_enrolled(&s, &a, "sender");
    ac_user_enrolled(&s, &b, "receiver");
    ac_fund(&s, &a, 20000);

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
    assert_int_equal(ac_balance(&s, &a), 20000);
    assert_int_equal(ac_balance(&s, &b), 0);

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
    assert_int_equal(ac_balance(&s, &a), 20000);

    struct ac_staffer sam, ana, adm;
    staffer_signed_in(&s, &sam, "sam@kessai.example", "support");
    staffer_signed_in(&s, &ana, "ana@kessai.example", "fraud_analyst");
    staffer_signed_in(&s, &adm, "adm@kessai.example", "administrator");

    /* support may neither read nor decide the queue */
    r = ac_call(&s, &sam.u.who, "GET", "/admin/v1/reviews?status=pending", NULL);
    AC_EXPECT_ERROR(r, 403, "forbidden");
    ac_resp_free(&r);
    r = decide(&s, &sam, t1, "approve", NULL);
    AC_EXPECT_ERROR(r, 403, "forbidden");
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &a), 20000);

    r = ac_call(&s, &ana.u.who, "GET", "/admin/v1/reviews?status=pending", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "reviews")), 3);
    ac_resp_free(&r);
    r = ac_call(&s, &ana.u.who, "GET", "/admin/v1/reviews?status=nonsense", NULL);
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    assert_string_equal(ac_err_param(&r), "status");
    ac_resp_free(&r);
    r = ac_call(&s, &ana.u.who, "GET", "/admin/v1/reviews?limit=0", NULL);
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    assert_string_equal(ac_err_param(&r), "limit");
    ac_resp_free(&r);

    /* approved: the money moves, once */
    r = decide(&s, &ana, t1, "approve", NULL);
    expect_review(&r, 200, "approved");
    assert_int_equal(ac_balance(&s, &a), 17000);
    assert_int_equal(ac_balance(&s, &b), 3000);
    r = decide(&s, &ana, t1, "approve", NULL);
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    r = decide(&s, &adm, t1, "reject", "too late");
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &a), 17000);
    assert_int_equal(ac_balance(&s, &b), 3000);
    /* the customer's retry now gets the transfer that was made */
    r = transfer(&s, &a, &b, "t-1", 3000);
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(r.idempotent_replayed, "true");
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &a), 17000);

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
    assert_int_equal(ac_balance(&s, &a), 17000);
    assert_int_equal(ac_balance(&s, &b), 3000);

    /* an administrator approves the store payment */
    r = decide(&s, &adm, p1, "approve", NULL);
    expect_review(&r, 200, "approved");
    assert_int_equal(ac_balance(&s, &a), 16000);
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

/* Audit entries of kind whose detail contains needle. */
static int audited_with(const struct ac_server *s, const char *kind, const char *needle)
{
    static struct security_event ev[512];
    size_t n = ac_load_events(s, ev, 512);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(ev[i].kind, kind) == 0 && strstr(ev[i].detail, needle) != NULL;
    return k;
}

/* An authorised-push-payment scam over HTTP, with the default settings:
 * the victim (their own phone, a fresh second factor) sends 30,000 yen to
 * an account opened minutes ago.  202 held, nothing moves, the victim is
 * mailed, staff find the rule in the audit log.  A friend's 3,000 goes.
 * Approved (the victim insists), the money arrives; the account passing
 * it on is then held (mule_pass_through), and denied when the transfer is
 * also a large first one.  The phones are past their new-device cool-down
 * (its limits would cap the sums first). */
static void a_scam_transfer_waits_and_the_mule_is_held(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    /* Phones past their cool-down: the new-device limits would cap the sums. */
    ac_server_start(&s, (const char *[]){"KESSAI_NEW_DEVICE_COOLDOWN_S=0", NULL});
    struct ac_user victim, mule, friend;
    ac_user_enrolled(&s, &victim, "victim");
    ac_user_enrolled(&s, &mule, "mule");
    ac_user_enrolled(&s, &friend, "friend");
    ac_fund(&s, &victim, 40000);

    char scam[40];
    struct ac_resp r = transfer(&s, &victim, &mule, "scam-1", 30000);
    held(&r, "transfer", scam);
    free(ac_mail_wait(&s, victim.email, "held for a check"));
    assert_int_equal(ac_balance(&s, &victim), 40000);
    assert_int_equal(ac_balance(&s, &mule), 0);
    r = transfer(&s, &victim, &friend, "dinner", 3000);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);

    struct ac_staffer ana;
    staffer_signed_in(&s, &ana, "ana@kessai.example", "fraud_analyst");
    char path[200];
    snprintf(path, sizeof path, "/admin/v1/audit?customer=%s&action=risk_held", victim.customer_id);
    r = ac_call(&s, &ana.u.who, "GET", path, NULL);
    AC_EXPECT_STATUS(r, 200);
    char *text = json_dumps(r.j, JSON_COMPACT);
    assert_non_null(strstr(text, "\"rule\":\"p2p_new_payee\""));
    free(text);
    ac_resp_free(&r);
    r = decide(&s, &ana, scam, "approve", NULL);
    expect_review(&r, 200, "approved");
    assert_int_equal(ac_balance(&s, &mule), 30000);

    /* The mule: 9,000 on (30%) goes; the next 9,000 (60%) waits. */
    r = transfer(&s, &mule, &friend, "m-1", 9000);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    char passed[40];
    r = transfer(&s, &mule, &friend, "m-2", 9000);
    held(&r, "transfer", passed);
    /* All the rest to a fresh account: a large first transfer too: denied. */
    struct ac_user next;
    ac_user_enrolled(&s, &next, "next");
    r = transfer(&s, &mule, &next, "m-3", 21000);
    AC_EXPECT_ERROR(r, 403, "risk_denied");
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &mule), 21000);
    assert_int_equal(ac_balance(&s, &next), 0);

    assert_int_equal(ac_server_stop(&s), 0);
    assert_int_equal(audited_with(&s, "risk_held", "p2p_new_payee"), 1);
    assert_int_equal(audited_with(&s, "risk_held", "mule_pass_through"), 1);
    assert_int_equal(audited_with(&s, "risk_denied", "mule_pass_through"), 1);
    assert_int_equal(ac_cli(&s, "ledger verify >/dev/null"), 0);
    ac_assert_audit_intact(&s);
    ac_server_cleanup(&s);
}

/* ---- the server's clock, moved by the test (KESSAI_CLOCK_FILE) ---------- */

/* The file holds real time plus offset_ms, rewritten every 10 ms by a
 * thread, so that TOTP steps and sessions go on as usual until the test
 * moves the clock on. */
struct test_clock {
    char path[700];
    int fd;
    _Atomic int64_t offset_ms;
    atomic_bool stop;
    pthread_t thread;
};

static void clock_write(struct test_clock *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atomic_load(&c->offset_ms);
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)ms >> (8 * i)); /* little-endian, as timeutil.h says */
    assert_int_equal(pwrite(c->fd, b, sizeof b, 0), (ssize_t)sizeof b);
}

static void *clock_main(void *arg)
{
    struct test_clock *c = arg;
    while (!atomic_load(&c->stop)) {
        clock_write(c);
        usleep(10000);
    }
    return NULL;
}

static void clock_start(struct test_clock *c, const struct ac_server *s)
{
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s/clock", s->root);
    c->fd = open(c->path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    assert_true(c->fd >= 0);
    clock_write(c);
    assert_int_equal(pthread_create(&c->thread, NULL, clock_main, c), 0);
}

/* The server's time moves on by ms (at once: written before returning). */
static void clock_advance(struct test_clock *c, int64_t ms)
{
    atomic_fetch_add(&c->offset_ms, ms);
    clock_write(c);
}

static void clock_stop(struct test_clock *c)
{
    atomic_store(&c->stop, true);
    pthread_join(c->thread, NULL);
    close(c->fd);
}


static json_t *listed(struct ac_server *s, struct ac_staffer *m, const char *status)
{
    char path[96];
    snprintf(path, sizeof path, "/admin/v1/reviews?status=%s", status);
    struct ac_resp r = ac_call(s, &m->u.who, "GET", path, NULL);
    AC_EXPECT_STATUS(r, 200);
    json_t *arr = json_incref(json_object_get(r.j, "reviews"));
    ac_resp_free(&r);
    return arr;
}

/* The customer's retry of a lapsed request: 200 with the review, expired. */
static void retry_is_lapsed(struct ac_resp *r, const char *what, const char *id)
{
    AC_EXPECT_STATUS(*r, 200);
    json_t *o = json_object_get(r->j, what);
    assert_string_equal(json_string_value(json_object_get(o, "id")), id);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "expired");
    ac_resp_free(r);
}

/* review_hold_expiry_s 60: a held transfer approved in time pays once;
 * past the deadline an approval or rejection is 409 conflict and moves
 * nothing; the sweep records every lapsed one as expired, mails its
 * customer once ("has lapsed") and writes review_expired (actor system),
 * whether or not anyone looked; status=expired lists them, status=held
 * only live ones, with expires_at; the customer's retry under the same
 * Idempotency-Key gets the lapsed review (200 expired), not a new
 * payment.  Later sweeps mail nothing more. */
static void held_payments_lapse_when_nobody_decides_in_time(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    char store_id[64];
    char *qr = ac_shop(&s, store_id);
    struct test_clock clk;
    clock_start(&clk, &s);
    char clock_env[800];
    snprintf(clock_env, sizeof clock_env, "KESSAI_CLOCK_FILE=%s", clk.path);
    ac_server_start(&s, (const char *[]){"KESSAI_RISK_NEW_DEVICE_SCORE=90", "KESSAI_REVIEW_HOLD_EXPIRY_S=60",
                                         "KESSAI_REVIEW_SWEEP_INTERVAL_S=1", clock_env, NULL});

    struct ac_user a, b;
    ac_user_enrolled(&s, &a, "sender");
    ac_user_enrolled(&s, &b, "receiver");
    ac_fund(&s, &a, 20000);
    struct ac_staffer ana;
    staffer_signed_in(&s, &ana, "ana@kessai.example", "fraud_analyst");

    /* decided in time: pays, once */
    char t1[40], t2[40], p1[40];
    struct ac_resp r = transfer(&s, &a, &b, "t-1", 3000);
    AC_EXPECT_STATUS(r, 202);
    assert_non_null(json_string_value(json_object_get(json_object_get(r.j, "transfer"), "expires_at")));
    held(&r, "transfer", t1);
    free(ac_mail_wait(&s, a.email, "If it is not decided by"));
    r = decide(&s, &ana, t1, "approve", NULL);
    expect_review(&r, 200, "approved");
    r = decide(&s, &ana, t1, "approve", NULL);
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &a), 17000);
    assert_int_equal(ac_balance(&s, &b), 3000);

    /* two more held; the queue shows when each lapses */
    r = transfer(&s, &a, &b, "t-2", 4000);
    held(&r, "transfer", t2);
    r = ac_call_idem(&s, &a.who, "POST", "/v1/payments", "q-1",
                     json_pack("{s:s, s:I}", "qr_payload", qr, "amount", (json_int_t)1000));
    held(&r, "payment", p1);
    json_t *live = listed(&s, &ana, "held");
    assert_int_equal(json_array_size(live), 2);
    for (size_t i = 0; i < 2; i++)
        assert_non_null(json_string_value(json_object_get(json_array_get(live, i), "expires_at")));
    json_decref(live);

    /* a minute and a bit later nobody has decided them: they lapse */
    clock_advance(&clk, 61 * 1000);
    r = decide(&s, &ana, t2, "approve", NULL);
    AC_EXPECT_ERROR(r, 409, "conflict");
    assert_string_equal(ac_err_param(&r), "status");
    ac_resp_free(&r);
    r = decide(&s, &ana, p1, "reject", "too late to matter");
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &a), 17000);
    assert_int_equal(ac_balance(&s, &b), 3000);
    /* each customer hears once, whoever recorded it (the approval's read or the sweep) */
    ac_mail_count_reaches(&s, a.email, "held transfer of 4000 yen", 1);
    ac_mail_count_reaches(&s, a.email, "held payment of 1000 yen", 1);
    json_t *gone = listed(&s, &ana, "expired");
    assert_int_equal(json_array_size(gone), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(gone, 0), "id")), p1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(gone, 1), "id")), t2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(gone, 0), "status")), "expired");
    json_decref(gone);
    live = listed(&s, &ana, "held");
    assert_int_equal(json_array_size(live), 0);
    json_decref(live);

    /* the customer's retries: the lapsed review, nothing new */
    r = transfer(&s, &a, &b, "t-2", 4000);
    retry_is_lapsed(&r, "transfer", t2);
    r = ac_call_idem(&s, &a.who, "POST", "/v1/payments", "q-1",
                     json_pack("{s:s, s:I}", "qr_payload", qr, "amount", (json_int_t)1000));
    retry_is_lapsed(&r, "payment", p1);
    free(qr);
    assert_int_equal(ac_balance(&s, &a), 17000);
    assert_int_equal(ac_balance(&s, &b), 3000);

    /* one nobody reads at all: the sweep alone expires it; by the time its
     * mail is in, later sweeps have run over the first two: still one each */
    char t3[40];
    r = transfer(&s, &a, &b, "t-3", 2000);
    held(&r, "transfer", t3);
    clock_advance(&clk, 61 * 1000);
    ac_mail_count_reaches(&s, a.email, "held transfer of 2000 yen", 1);
    assert_int_equal(ac_mail_count(&s, a.email, "has lapsed"), 3);
    r = decide(&s, &ana, t3, "approve", NULL);
    AC_EXPECT_ERROR(r, 409, "conflict");
    ac_resp_free(&r);
    assert_int_equal(ac_balance(&s, &a), 17000);
    assert_int_equal(ac_balance(&s, &b), 3000);

    assert_int_equal(ac_server_stop(&s), 0);
    clock_stop(&clk);
    assert_int_equal(audited(&s, "review_expired", "system", false), 3);
    assert_int_equal(audited(&s, "review_approved", ana.id, true), 1);
    assert_int_equal(ac_mail_count(&s, a.email, "has lapsed"), 3);
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
        cmocka_unit_test(a_scam_transfer_waits_and_the_mule_is_held),
        cmocka_unit_test(held_payments_lapse_when_nobody_decides_in_time),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    oath_done();
    curl_global_cleanup();
    return rc;
}
