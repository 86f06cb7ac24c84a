/* test_mpm_p2p.c: paying by the store's QR (wallet/mpm.h) and sending money
 * to another customer (wallet/p2p.h) at the domain level, on a real store,
 * the real group-commit ledger writer with the payment hook, the mail spool as
 * the customers' mailbox and an injected clock.
 *
 * What a customer would notice: a scan pays the store it names, once,
 * whatever the retries; the money arrives at the other customer, once; both
 * are mailed at once.  From the attacker's side: a tampered, foreign or
 * unknown store QR, an inactive store, a frozen account, a switched-off
 * operation, each limit, and a stolen session without a fresh second
 * factor are refused, move nothing and (where it may be a thief) are on
 * file; a transfer to oneself, to an unknown, unverified, unenrolled or
 * frozen customer gets one and the same answer.  After every test the
 * ledger verifies clean.
 *
 * Over HTTP, against a real kessaid: `kessai admin store qr` prints the
 * payload (and its SVG) that POST /v1/payments then pays; a retry, a
 * tampered QR, a store switched off from the CLI; POST /v1/transfers and
 * its 404 for a recipient who cannot receive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>

#include "api_client.h"
#include "auth_fixture.h"
#include "wallet_fixture.h"
#include "auth/events.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "merchant/merchant.h"
#include "ops/freeze.h"
#include "ops/killswitch.h"
#include "ops/reversal.h"
#include "wallet/emvco.h"
#include "wallet/mpm.h"
#include "wallet/p2p.h"
#include "wallet/payment.h"
#include "wallet/topup.h"

#define DAY_MS (24 * 3600 * INT64_C(1000))

struct cust {
    char email[64];
    struct af_phone phone;
    struct auth_grant g;
    struct auth_session s;
    int64_t wallet;
};

struct tx {
    struct af *f;
    struct ledger_writer *writer;
    struct wallet_ctx w;
    struct merchant m;
    struct merchant_store store, other;
    char *qr; /* the store's payload */
    int64_t card_receivable;
    int next_key;
};

static int setup(void **state)
{
    struct tx *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->f = af_new();
    t->f->cfg.new_device_cooldown_s = 0; /* the cool-down tests set it back */
    wf_ledger_start(t->f, &t->writer);
    assert_int_equal(merchant_create(t->f->st, "Kessai Mart", &t->m), ERR_OK);
    assert_int_equal(merchant_store_create(t->f->st, t->m.id, "Kessai Mart Tokyo Station",
                                           "1-9-1 Marunouchi, Chiyoda-ku, Tokyo 100-0005", 35681236, 139767125,
                                           "convenience", &t->store),
                     ERR_OK);
    assert_int_equal(merchant_store_create(t->f->st, t->m.id, "ケッサイマート 梅田店", "3-1-1 Umeda, Kita-ku, Osaka 530-0001",
                                           34702485, 135495951, "supermarket", &t->other),
                     ERR_OK);
    assert_int_equal(mpm_store_payload(t->f->st, t->store.id, &t->qr), ERR_OK);
    assert_int_equal(ledger_system_account(t->f->st, "card_receivable", &t->card_receivable), ERR_OK);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tx *t = *state;
    wf_ledger_stop(t->f, t->writer);
    free(t->qr);
    af_free(t->f);
    free(t);
    return 0;
}

static const struct wallet_ctx *W(struct tx *t)
{
    return wf_ctx(&t->w, t->f, t->writer, NULL);
}

/* A customer with a full, fresh session and `funds` yen in the wallet. */
static void customer(struct tx *t, struct cust *c, const char *email, int64_t funds)
{
    memset(c, 0, sizeof *c);
    af_customer_signed_in(t->f, email, c->email, sizeof c->email, &c->phone, &c->g, &c->s);
    assert_int_equal(wallet_account(t->f->st, c->s.customer_id, &c->wallet), ERR_OK);
    if (funds > 0) {
        struct ledger_transfer x;
        memset(&x, 0, sizeof x);
        snprintf(x.key, sizeof x.key, "test-fund:%d", ++t->next_key);
        x.debit_account = t->card_receivable;
        x.credit_account = c->wallet;
        x.amount = funds;
        snprintf(x.kind, sizeof x.kind, "topup_card");
        assert_int_equal(ledger_writer_submit_wait(t->writer, &x, 1, NULL, NULL), ERR_OK);
    }
}

/* Sign in again: a fresh second factor. */
static void refresh(struct tx *t, struct cust *c)
{
    assert_int_equal(af_login(t->f, c->email, &c->phone, &c->g), ERR_OK);
    af_auth(t->f, &c->g, &c->s);
}

/* Let the session's second factor go stale (it stays signed in). */
static void go_stale(struct tx *t, struct cust *c)
{
    t->f->now += AUTH_FRESH_MFA_MS + 1000;
    af_auth(t->f, &c->g, &c->s);
}

static int64_t balance(struct tx *t, int64_t account)
{
    struct ledger_account a;
    assert_int_equal(t->f->st->ops->account_get(t->f->st, account, &a), ERR_OK);
    return a.credits_posted - a.debits_posted;
}

static enum err pay(struct tx *t, struct cust *c, const char *qr, int64_t amount, const char *key,
                    struct payment_receipt *r, const char **bad, struct killswitch *sw)
{
    struct payment_receipt local;
    const char *b = NULL;
    struct killswitch s;
    return mpm_pay(W(t), &c->s, qr, amount, key, r ? r : &local, bad ? bad : &b, sw ? sw : &s);
}

static enum err send_to(struct tx *t, struct cust *c, const char *to, int64_t amount, const char *message,
                        const char *key, struct payment_receipt *r, const char **bad)
{
    struct payment_receipt local;
    const char *b = NULL;
    struct killswitch s;
    return p2p_send(W(t), &c->s, to, amount, message, key, r ? r : &local, bad ? bad : &b, &s);
}

/* payment_refused events of c whose detail holds "reason":"<reason>". */
static int refusals(struct tx *t, struct cust *c, const char *reason)
{
    char want[80];
    snprintf(want, sizeof want, "\"reason\":\"%s\"", reason);
    return af_events_with(t->f, c->s.customer_id, "payment_refused", want);
}

static size_t store_payments(struct tx *t, int64_t store_id)
{
    struct payment p[16];
    size_t n = 0;
    assert_int_equal(t->f->st->ops->payment_list_store(t->f->st, store_id, 0, 16, p, &n), ERR_OK);
    return n;
}

/* ---- store QR ------------------------------------------------------------ */

static void a_scan_pays_the_store_once(void **state)
{
    struct tx *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com", 10000);

    /* the payload is kessai's, for this store */
    char sid[IDS_BUF], want[IDS_BUF];
    assert_int_equal(emvco_store_decode(t->qr, sid, sizeof sid), ERR_OK);
    assert_string_equal(sid, ids_format(want, MERCHANT_STORE_ID_PREFIX, t->store.id));
    assert_non_null(strstr(t->qr, "5204549953033925802JP5925Kessai Mart Tokyo Station6005Tokyo6304"));

    struct payment_receipt r;
    assert_int_equal(pay(t, &a, t->qr, 1200, "scan-1", &r, NULL, NULL), ERR_OK);
    assert_false(r.replayed);
    assert_int_equal(r.p.kind, PAYMENT_MPM);
    assert_int_equal(r.p.amount, 1200);
    assert_int_equal(r.p.store_id, t->store.id);
    assert_int_equal(r.p.merchant_id, t->m.id);
    assert_int_equal(r.p.customer_id, a.s.customer_id);
    assert_int_equal(r.p.device_id, a.s.device_id);
    assert_int_equal(r.p.created_ms, t->f->now);
    assert_int_equal(r.balance_after, 8800);
    assert_string_equal(r.store_name, "Kessai Mart Tokyo Station");
    assert_int_equal(balance(t, a.wallet), 8800);
    assert_int_equal(balance(t, t->store.payable_account), 1200);

    /* the ledger transfer is the payment, with what the history shows */
    struct ledger_transfer x;
    assert_int_equal(t->f->st->ops->transfer_get(t->f->st, r.p.id, &x), ERR_OK);
    assert_int_equal(x.debit_account, a.wallet);
    assert_int_equal(x.credit_account, t->store.payable_account);
    assert_string_equal(x.kind, "payment");
    assert_non_null(strstr(x.metadata, "\"store_name\":\"Kessai Mart Tokyo Station\""));
    /* the store's terminals see it; the customer was mailed at once */
    assert_int_equal(store_payments(t, t->store.id), 1);
    char body[4096];
    assert_int_equal(af_mail(t->f, a.email, "You paid", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "1,200 yen at Kessai Mart Tokyo Station"));
    assert_non_null(strstr(body, "8,800 yen"));

    /* a retry answers the first receipt and moves nothing */
    struct payment_receipt again;
    t->f->now += 5000;
    assert_int_equal(pay(t, &a, t->qr, 1200, "scan-1", &again, NULL, NULL), ERR_OK);
    assert_true(again.replayed);
    assert_int_equal(again.p.id, r.p.id);
    assert_int_equal(again.p.created_ms, r.p.created_ms);
    assert_int_equal(balance(t, a.wallet), 8800);
    assert_int_equal(store_payments(t, t->store.id), 1);
    assert_int_equal(af_mail_count(t->f, a.email, "You paid"), 0);
    /* the same key for another amount or store is a conflict */
    const char *bad = NULL;
    assert_int_equal(pay(t, &a, t->qr, 1300, "scan-1", NULL, &bad, NULL), ERR_IDEMPOTENCY_CONFLICT);
    char *other = NULL;
    assert_int_equal(mpm_store_payload(t->f->st, t->other.id, &other), ERR_OK);
    assert_int_equal(pay(t, &a, other, 1200, "scan-1", NULL, NULL, NULL), ERR_IDEMPOTENCY_CONFLICT);
    /* another key is another payment; the Japanese store's QR works too */
    assert_int_equal(pay(t, &a, other, 800, "scan-2", &r, NULL, NULL), ERR_OK);
    assert_string_equal(r.store_name, "ケッサイマート 梅田店");
    free(other);
    assert_int_equal(balance(t, a.wallet), 8000);
    /* one customer's key is not another's */
    struct cust b;
    customer(t, &b, "bunta@example.com", 5000);
    assert_int_equal(pay(t, &b, t->qr, 1200, "scan-1", &r, NULL, NULL), ERR_OK);
    assert_false(r.replayed);
    assert_int_equal(balance(t, b.wallet), 3800);
    assert_int_equal(refusals(t, &a, "invalid_qr") + refusals(t, &b, "invalid_qr"), 0);
}

static void a_bad_qr_pays_nobody(void **state)
{
    struct tx *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com", 10000);
    const char *bad = NULL;

    /* tampered: one character of the name */
    char *tampered = strdup(t->qr);
    assert_non_null(tampered);
    char *name = strstr(tampered, "Tokyo Station");
    name[0] = 'K';
    assert_int_equal(pay(t, &a, tampered, 1000, "k1", NULL, &bad, NULL), ERR_INVALID_QR);
    assert_string_equal(bad, "qr_payload");
    /* ... and with its CRC recomputed to match: still only names a store */
    size_t len = strlen(tampered);
    snprintf(tampered + len - 4, 5, "%04X", emvco_crc16(tampered, len - 4));
    struct payment_receipt r;
    assert_int_equal(pay(t, &a, tampered, 1000, "k1", &r, NULL, NULL), ERR_OK);
    assert_string_equal(r.store_name, "Kessai Mart Tokyo Station"); /* the name is the database's, not the QR's */
    free(tampered);
    assert_int_equal(balance(t, a.wallet), 9000);

    /* a store id kessai does not know */
    char forged[EMVCO_MAX];
    assert_int_equal(emvco_store_payload("str_3k9qv2x7m1d8f", "Kessai Mart Fake", "Tokyo", "5499", forged), ERR_OK);
    assert_int_equal(pay(t, &a, forged, 1000, "k2", NULL, &bad, NULL), ERR_INVALID_QR);
    assert_string_equal(bad, "qr_payload");
    /* someone else's QR, and nonsense */
    const char *promptpay = "00020101021129370016A000000677010111011300668012345675802TH530376463046197";
    assert_int_equal(pay(t, &a, promptpay, 1000, "k3", NULL, NULL, NULL), ERR_INVALID_QR);
    assert_int_equal(pay(t, &a, "https://evil.example/pay", 1000, "k4", NULL, NULL, NULL), ERR_INVALID_QR);
    assert_int_equal(pay(t, &a, "", 1000, "k5", NULL, NULL, NULL), ERR_INVALID_QR);

    /* an inactive store takes nothing, active again it does */
    assert_int_equal(merchant_store_set_active(t->f->st, t->store.id, 0), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, 1000, "k6", NULL, &bad, NULL), ERR_INVALID_QR);
    assert_string_equal(bad, "qr_payload");
    /* but a retry of a payment made while it was active still answers */
    assert_int_equal(pay(t, &a, t->qr, 1000, "k1", &r, NULL, NULL), ERR_OK);
    assert_true(r.replayed);
    assert_int_equal(merchant_store_set_active(t->f->st, t->store.id, 1), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, 1000, "k6", NULL, NULL, NULL), ERR_OK);

    assert_int_equal(balance(t, a.wallet), 8000);
    assert_int_equal(store_payments(t, t->store.id), 2);
    assert_int_equal(refusals(t, &a, "invalid_qr"), 6);
    /* bad amounts and keys: refused before anything is read */
    assert_int_equal(pay(t, &a, t->qr, 0, "k7", NULL, &bad, NULL), ERR_AMOUNT_INVALID);
    assert_string_equal(bad, "amount");
    assert_int_equal(pay(t, &a, t->qr, -5, "k7", NULL, NULL, NULL), ERR_AMOUNT_INVALID);
    assert_int_equal(pay(t, &a, t->qr, 100, "", NULL, &bad, NULL), ERR_INVALID_PARAM);
    assert_string_equal(bad, "Idempotency-Key");
    assert_int_equal(pay(t, &a, t->qr, 100, "a key", NULL, NULL, NULL), ERR_INVALID_PARAM);
    /* more than the wallet holds */
    assert_int_equal(pay(t, &a, t->qr, 9000, "k8", NULL, &bad, NULL), ERR_INSUFFICIENT_FUNDS);
    assert_string_equal(bad, "amount");
    assert_int_equal(balance(t, a.wallet), 8000);
    /* an empty wallet */
    struct cust z;
    customer(t, &z, "zero@example.com", 0);
    assert_int_equal(pay(t, &z, t->qr, 1, "k9", NULL, &bad, NULL), ERR_INSUFFICIENT_FUNDS);
}

static void a_large_scan_needs_a_fresh_second_factor(void **state)
{
    struct tx *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com", 100000);
    int64_t above = t->f->cfg.pay_mfa_threshold + 1;

    go_stale(t, &a);
    const char *bad = NULL;
    /* at the threshold: no second factor needed */
    assert_int_equal(pay(t, &a, t->qr, t->f->cfg.pay_mfa_threshold, "k1", NULL, NULL, NULL), ERR_OK);
    /* above: a thief with the session alone is stopped, and it is on file */
    assert_int_equal(pay(t, &a, t->qr, above, "k2", NULL, &bad, NULL), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(refusals(t, &a, "fresh_mfa_required"), 1);
    assert_int_equal(balance(t, a.wallet), 100000 - t->f->cfg.pay_mfa_threshold);
    /* the owner confirms with the second factor: it goes through */
    refresh(t, &a);
    assert_int_equal(pay(t, &a, t->qr, above, "k2", NULL, NULL, NULL), ERR_OK);
    assert_int_equal(balance(t, a.wallet), 100000 - t->f->cfg.pay_mfa_threshold - above);
}

/* The threshold is the day's store-QR total without a fresh second factor:
 * a thief with a stale session cannot pay 6 x 30,000 instead of 180,000
 * (review: it could, the check was per payment).  Checked in the
 * payment's transaction; a refund gives back, as it does to the day's
 * spending counter. */
static void a_stolen_session_cannot_split_a_large_scan(void **state)
{
    struct tx *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com", 200000);
    int64_t third = t->f->cfg.pay_mfa_threshold / 3;
    const char *bad = NULL;
    struct payment_receipt r;

    go_stale(t, &a);
    assert_int_equal(pay(t, &a, t->qr, third, "k1", &r, NULL, NULL), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, third, "k2", NULL, NULL, NULL), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, t->f->cfg.pay_mfa_threshold - 2 * third, "k3", NULL, NULL, NULL), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, 1, "k4", NULL, &bad, NULL), ERR_FRESH_MFA_REQUIRED);
    assert_null(bad);
    assert_int_equal(refusals(t, &a, "fresh_mfa_required"), 1);
    assert_int_equal(balance(t, a.wallet), 200000 - t->f->cfg.pay_mfa_threshold);

    /* money given back (a refund, a void, a reversal) is no longer spent */
    assert_int_equal(payment_limits_give_back(t->f->st, &r.p, third), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, third, "k4", NULL, NULL, NULL), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, 1, "k5", NULL, &bad, NULL), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(refusals(t, &a, "fresh_mfa_required"), 2);

    /* the owner confirms: the rest of the day is theirs */
    refresh(t, &a);
    assert_int_equal(pay(t, &a, t->qr, 1, "k5", NULL, NULL, NULL), ERR_OK);
    assert_int_equal(balance(t, a.wallet), 200000 - t->f->cfg.pay_mfa_threshold - third - 1);
    /* the next day starts at zero (signed in again, and stale again) */
    t->f->now += DAY_MS;
    refresh(t, &a);
    go_stale(t, &a);
    assert_int_equal(pay(t, &a, t->qr, t->f->cfg.pay_mfa_threshold, "k6", NULL, NULL, NULL), ERR_OK);
}

static void scan_limits_switches_and_freezes_apply(void **state)
{
    struct tx *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com", 300000);
    const char *bad = NULL;
    struct killswitch sw;

    /* one payment at most pay_max */
    assert_int_equal(pay(t, &a, t->qr, t->f->cfg.pay_max + 1, "k0", NULL, &bad, NULL), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "amount");

    /* the day's total */
    t->f->cfg.pay_daily_max = 5000;
    assert_int_equal(pay(t, &a, t->qr, 3000, "k1", NULL, NULL, NULL), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, 2001, "k2", NULL, &bad, NULL), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "daily");
    assert_int_equal(refusals(t, &a, "daily"), 1);
    assert_int_equal(pay(t, &a, t->qr, 2000, "k3", NULL, NULL, NULL), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, 1, "k4", NULL, NULL, NULL), ERR_LIMIT_EXCEEDED);
    t->f->now += DAY_MS; /* the next day (JST); the session has expired meanwhile */
    refresh(t, &a);
    assert_int_equal(pay(t, &a, t->qr, 1, "k4", NULL, NULL, NULL), ERR_OK);
    t->f->cfg.pay_daily_max = 200000;

    /* the kill switch, globally and for one store only, with its reason */
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", "payments", true, "fraud wave, back at 18:00", "test", t->f->now),
                     ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, 100, "k5", NULL, NULL, &sw), ERR_SUSPENDED);
    assert_string_equal(sw.reason, "fraud wave, back at 18:00");
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", "payments", false, NULL, "test", t->f->now), ERR_OK);
    char name[64], sid[IDS_BUF];
    snprintf(name, sizeof name, "payments@%s", ids_format(sid, MERCHANT_STORE_ID_PREFIX, t->store.id));
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", name, true, "this store is closed", "test", t->f->now), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, 100, "k5", NULL, NULL, &sw), ERR_SUSPENDED);
    assert_string_equal(sw.reason, "this store is closed");
    char *other = NULL;
    assert_int_equal(mpm_store_payload(t->f->st, t->other.id, &other), ERR_OK);
    assert_int_equal(pay(t, &a, other, 100, "k6", NULL, NULL, NULL), ERR_OK); /* the other store takes payments */
    free(other);
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", name, false, NULL, "test", t->f->now), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, 100, "k5", NULL, NULL, NULL), ERR_OK);

    /* a frozen account cannot pay; it is on file */
    int64_t before = balance(t, a.wallet);
    assert_int_equal(freeze_set_by_staff(af_ctx(t->f), "admin-cli", a.email, true, "stolen phone", "test"), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, 100, "k7", NULL, NULL, NULL), ERR_ACCOUNT_FROZEN);
    assert_int_equal(refusals(t, &a, "account_frozen"), 1);
    assert_int_equal(balance(t, a.wallet), before);
}

/* A thief probing how much one payment may take is on file like any
 * other limit. */
static void over_the_maximum_is_on_file(void **state)
{
    struct tx *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com", 300000);
    customer(t, &b, "bunta@example.com", 0);
    const char *bad = NULL;
    assert_int_equal(pay(t, &a, t->qr, t->f->cfg.pay_max + 1, "k0", NULL, &bad, NULL), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "amount");
    assert_int_equal(send_to(t, &a, b.email, t->f->cfg.p2p_max + 1, "", "k1", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "amount");
    assert_int_equal(af_events_with(t->f, a.s.customer_id, "payment_refused", "\"reason\":\"amount\""), 2);
    assert_int_equal(af_events_with(t->f, a.s.customer_id, "payment_refused", "\"kind\":\"mpm\""), 1);
    assert_int_equal(af_events_with(t->f, a.s.customer_id, "payment_refused", "\"kind\":\"p2p\""), 1);
    /* nothing below 1 is a limit: not on file */
    assert_int_equal(pay(t, &a, t->qr, 0, "k2", NULL, &bad, NULL), ERR_AMOUNT_INVALID);
    assert_int_equal(af_events_with(t->f, a.s.customer_id, "payment_refused", ""), 2);
    assert_int_equal(balance(t, a.wallet), 300000);
}

static void a_new_device_pays_less(void **state)
{
    struct tx *t = *state;
    t->f->cfg.new_device_cooldown_s = 24 * 3600;
    t->f->cfg.pay_new_device_daily_max = 3000;
    struct cust a;
    customer(t, &a, "aiko@example.com", 50000);
    const char *bad = NULL;
    assert_int_equal(pay(t, &a, t->qr, 2500, "k1", NULL, NULL, NULL), ERR_OK);
    assert_int_equal(pay(t, &a, t->qr, 600, "k2", NULL, &bad, NULL), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "new_device");
    /* once the device has cooled down, the normal day limit applies */
    t->f->now += DAY_MS + 1000;
    refresh(t, &a);
    assert_int_equal(pay(t, &a, t->qr, 5000, "k3", NULL, NULL, NULL), ERR_OK);
}

/* ---- transfers ------------------------------------------------------------- */

static void money_reaches_the_other_customer_once(void **state)
{
    struct tx *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com", 10000);
    customer(t, &b, "bunta@example.com", 0);

    struct payment_receipt r;
    assert_int_equal(send_to(t, &a, "Bunta@Example.com", 2500, "lunch 🍱", "t1", &r, NULL), ERR_OK);
    assert_false(r.replayed);
    assert_int_equal(r.p.kind, PAYMENT_P2P);
    assert_int_equal(r.p.amount, 2500);
    assert_int_equal(r.p.counterparty_id, b.s.customer_id);
    assert_int_equal(r.balance_after, 7500);
    assert_int_equal(balance(t, a.wallet), 7500);
    assert_int_equal(balance(t, b.wallet), 2500);
    struct ledger_transfer x;
    assert_int_equal(t->f->st->ops->transfer_get(t->f->st, r.p.id, &x), ERR_OK);
    assert_string_equal(x.kind, "p2p");
    assert_int_equal(x.debit_account, a.wallet);
    assert_int_equal(x.credit_account, b.wallet);
    struct payment p;
    assert_int_equal(t->f->st->ops->payment_get(t->f->st, r.p.id, &p), ERR_OK);
    assert_int_equal(p.customer_id, a.s.customer_id);

    /* both are told at once, with the message */
    char body[4096];
    assert_int_equal(af_mail(t->f, a.email, "You sent money", true, body, sizeof body), 1);
    /* each names the other masked: never the other customer's full address */
    assert_non_null(strstr(body, "2,500 yen to b***@example.com"));
    assert_null(strstr(body, "bunta@"));
    assert_non_null(strstr(body, "lunch 🍱"));
    assert_int_equal(af_mail(t->f, b.email, "You received money", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "a***@example.com sent you 2,500 yen"));
    assert_null(strstr(body, "aiko@"));
    assert_non_null(strstr(body, "2,500 yen.")); /* her balance */

    /* a retry: the first answer, nothing moves, nobody is mailed again */
    struct payment_receipt again;
    assert_int_equal(send_to(t, &a, "bunta@example.com", 2500, "lunch 🍱", "t1", &again, NULL), ERR_OK);
    assert_true(again.replayed);
    assert_int_equal(again.p.id, r.p.id);
    assert_int_equal(balance(t, b.wallet), 2500);
    assert_int_equal(af_mail_total(t->f), 0);
    /* the same key with another message, amount or recipient: a conflict */
    assert_int_equal(send_to(t, &a, "bunta@example.com", 2500, "dinner", "t1", NULL, NULL), ERR_IDEMPOTENCY_CONFLICT);
    assert_int_equal(send_to(t, &a, "bunta@example.com", 2600, "lunch 🍱", "t1", NULL, NULL),
                     ERR_IDEMPOTENCY_CONFLICT);

    /* by customer id, without a message */
    char bid[IDS_BUF];
    ids_format(bid, CUSTOMER_ID_PREFIX, b.s.customer_id);
    assert_int_equal(send_to(t, &a, bid, 500, NULL, "t2", &r, NULL), ERR_OK);
    assert_int_equal(balance(t, b.wallet), 3000);
    /* named by id (ids are sequential): the sender's mail masks the address */
    assert_int_equal(af_mail(t->f, a.email, "You sent money", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "500 yen to b***@example.com"));
    assert_null(strstr(body, "bunta@"));
    af_mail(t->f, b.email, "You received money", true, body, sizeof body);
    /* and back: b can spend what she received */
    assert_int_equal(send_to(t, &b, a.email, 3000, "", "t1", &r, NULL), ERR_OK);
    assert_int_equal(r.balance_after, 0);
    assert_int_equal(balance(t, a.wallet), 10000);
    /* more than the wallet holds */
    const char *bad = NULL;
    assert_int_equal(send_to(t, &b, a.email, 1, "", "t2", NULL, &bad), ERR_INSUFFICIENT_FUNDS);
    assert_string_equal(bad, "amount");
}

static void every_wrong_recipient_gets_the_same_answer(void **state)
{
    struct tx *t = *state;
    struct cust a, frozen, enrol_only;
    customer(t, &a, "aiko@example.com", 10000);
    customer(t, &frozen, "frozen@example.com", 0);
    assert_int_equal(freeze_set_by_staff(af_ctx(t->f), "admin-cli", frozen.email, true, "fraud", "test"), ERR_OK);
    /* registered, never verified */
    char code[8];
    af_register(t->f, "unverified@example.com", AF_PASSWORD, code);
    /* verified, but no second factor enrolled */
    memset(&enrol_only, 0, sizeof enrol_only);
    af_phone_new(&enrol_only.phone, "phone");
    af_register(t->f, "enrol@example.com", AF_PASSWORD, code);
    assert_int_equal(af_verify(t->f, "enrol@example.com", code, &enrol_only.phone, &enrol_only.g), ERR_OK);
    char self_id[IDS_BUF], unknown_id[IDS_BUF], enrol_id[IDS_BUF];
    ids_format(self_id, CUSTOMER_ID_PREFIX, a.s.customer_id);
    ids_format(unknown_id, CUSTOMER_ID_PREFIX, 999999);
    ids_format(enrol_id, CUSTOMER_ID_PREFIX, enrol_only.g.customer_id);

    const char *refused[] = {
        "aiko@example.com",       self_id,    "nobody@example.com", unknown_id,
        "unverified@example.com", enrol_id,   "enrol@example.com",  "frozen@example.com",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *bad = NULL;
        char key[16];
        snprintf(key, sizeof key, "r%zu", i);
        if (send_to(t, &a, refused[i], 100, "", key, NULL, &bad) != ERR_RECIPIENT_NOT_FOUND)
            fail_msg("%s: not refused as unknown", refused[i]);
        assert_string_equal(bad, "to");
    }
    assert_int_equal(refusals(t, &a, "recipient_not_found"), (int)(sizeof refused / sizeof refused[0]));
    /* malformed is a plain bad parameter */
    const char *malformed[] = {"", "not an address", "usr_", "usr_zzzzzzzzzzzzz", "mer_0000000000001x", NULL};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        const char *bad = NULL;
        assert_int_equal(send_to(t, &a, malformed[i], 100, "", "m", NULL, &bad), ERR_INVALID_PARAM);
        assert_string_equal(bad, "to");
    }
    assert_int_equal(balance(t, a.wallet), 10000);
    assert_int_equal(balance(t, frozen.wallet), 0);
    /* the frozen sender is refused too */
    assert_int_equal(send_to(t, &frozen, a.email, 1, "", "f1", NULL, NULL), ERR_ACCOUNT_FROZEN);
}

static void transfer_limits_and_the_switch_apply(void **state)
{
    struct tx *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com", 200000);
    customer(t, &b, "bunta@example.com", 0);
    const char *bad = NULL;
    struct killswitch sw;

    assert_int_equal(send_to(t, &a, b.email, t->f->cfg.p2p_max + 1, "", "k0", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "amount");
    /* the day's total (p2p_daily_max 50000 by default) */
    refresh(t, &a);
    assert_int_equal(send_to(t, &a, b.email, 30000, "", "k1", NULL, NULL), ERR_OK);
    assert_int_equal(send_to(t, &a, b.email, 20001, "", "k2", NULL, &bad), ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "p2p_daily");
    assert_int_equal(refusals(t, &a, "p2p_daily"), 1);
    assert_int_equal(send_to(t, &a, b.email, 20000, "", "k3", NULL, NULL), ERR_OK);
    assert_int_equal(send_to(t, &a, b.email, 1, "", "k4", NULL, NULL), ERR_LIMIT_EXCEEDED);
    assert_int_equal(balance(t, b.wallet), 50000);
    t->f->now += DAY_MS;
    refresh(t, &a);
    assert_int_equal(send_to(t, &a, b.email, 1, "", "k4", NULL, NULL), ERR_OK);

    /* the "p2p" switch stops transfers only */
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", "p2p", true, "transfers paused", "test", t->f->now), ERR_OK);
    assert_int_equal(p2p_send(W(t), &a.s, b.email, 1, "", "k5", &(struct payment_receipt){0}, &bad, &sw),
                     ERR_SUSPENDED);
    assert_string_equal(sw.reason, "transfers paused");
    assert_int_equal(pay(t, &a, t->qr, 100, "shop", NULL, NULL, NULL), ERR_OK);
    assert_int_equal(killswitch_set(t->f->st, "admin-cli", "p2p", false, NULL, "test", t->f->now), ERR_OK);
    assert_int_equal(send_to(t, &a, b.email, 1, "", "k5", NULL, NULL), ERR_OK);

    /* the message: up to 100 characters of text */
    char msg[512] = "";
    for (int i = 0; i < 100; i++)
        strcat(msg, "字");
    assert_int_equal(send_to(t, &a, b.email, 1, msg, "k6", NULL, NULL), ERR_OK);
    strcat(msg, "字");
    assert_int_equal(send_to(t, &a, b.email, 1, msg, "k7", NULL, &bad), ERR_INVALID_PARAM);
    assert_string_equal(bad, "message");
    assert_int_equal(send_to(t, &a, b.email, 1, "line\nbreak", "k7", NULL, &bad), ERR_INVALID_PARAM);
    assert_int_equal(send_to(t, &a, b.email, 1, "\xe2\x80\xae" "evil", "k7", NULL, &bad), ERR_INVALID_PARAM);
    assert_int_equal(send_to(t, &a, b.email, 1, "bad \xff", "k7", NULL, &bad), ERR_INVALID_PARAM);
    assert_int_equal(send_to(t, &a, b.email, 0, "", "k7", NULL, &bad), ERR_AMOUNT_INVALID);
}

static void a_stolen_session_cannot_send_the_wallet_away(void **state)
{
    struct tx *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com", 80000);
    customer(t, &b, "bunta@example.com", 0);
    const char *bad = NULL;
    int64_t above = t->f->cfg.p2p_mfa_threshold + 1;

    go_stale(t, &a);
    assert_int_equal(send_to(t, &a, b.email, t->f->cfg.p2p_mfa_threshold, "", "k1", NULL, NULL), ERR_OK);
    assert_int_equal(send_to(t, &a, b.email, above, "", "k2", NULL, &bad), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(refusals(t, &a, "fresh_mfa_required"), 1);
    /* nor in pieces: the threshold is the day's total without a fresh
     * second factor (checked in the transfer's transaction) */
    assert_int_equal(send_to(t, &a, b.email, 1, "", "k3", NULL, &bad), ERR_FRESH_MFA_REQUIRED);
    assert_null(bad);
    assert_int_equal(refusals(t, &a, "fresh_mfa_required"), 2);
    assert_int_equal(balance(t, b.wallet), t->f->cfg.p2p_mfa_threshold);
    refresh(t, &a);
    assert_int_equal(send_to(t, &a, b.email, above, "", "k2", NULL, NULL), ERR_OK);
    assert_int_equal(send_to(t, &a, b.email, 1, "", "k3", NULL, NULL), ERR_OK);
    assert_int_equal(balance(t, b.wallet), t->f->cfg.p2p_mfa_threshold + above + 1);

    /* a device in its cool-down needs the second factor for any amount
     * (the next day: the transfers above are not counted against it) */
    t->f->now += DAY_MS;
    t->f->cfg.new_device_cooldown_s = 24 * 3600;
    struct af_phone thief;
    af_phone_new(&thief, "thief");
    struct auth_grant g;
    struct auth_session s;
    char totp[TOTP_DIGITS + 1];
    af_totp(t->f, &a.phone, totp); /* the thief has the password and, this once, a code */
    assert_int_equal(af_login_ex(t->f, a.email, AF_PASSWORD, &thief, totp, NULL, true, &g), ERR_OK);
    af_auth(t->f, &g, &s);
    assert_true(s.device_new_until_ms > t->f->now);
    struct payment_receipt r;
    /* fresh from the login: a small amount passes within the new-device
     * limits, but the login's fresh factor does not lift them: the day's
     * transfers stay under pay_new_device_daily_max (review: without it a
     * thief sent p2p_daily_max away at once) */
    assert_int_equal(p2p_send(W(t), &s, b.email, 100, "", "n1", &r, &bad, NULL), ERR_OK);
    assert_int_equal(p2p_send(W(t), &s, b.email, t->f->cfg.pay_new_device_daily_max, "", "n0", &r, &bad, NULL),
                     ERR_LIMIT_EXCEEDED);
    assert_string_equal(bad, "new_device");
    assert_int_equal(p2p_send(W(t), &s, b.email, t->f->cfg.pay_new_device_daily_max - 100, "", "n0", &r, &bad, NULL),
                     ERR_OK);
    t->f->now += AUTH_FRESH_MFA_MS + 1000;
    af_auth(t->f, &g, &s);
    assert_int_equal(p2p_send(W(t), &s, b.email, 1, "", "n2", &r, &bad, NULL), ERR_FRESH_MFA_REQUIRED);
    assert_int_equal(refusals(t, &a, "fresh_mfa_required"), 3);
}


/* ---- over HTTP ------------------------------------------------------------- */

/* The owner signs a thief's phone out while the thief's scan or transfer
 * waits for the writer (authenticated, not yet served): it moves nothing
 * after the revocation. */
static void a_session_revoked_while_its_payment_waits_moves_nothing(void **state)
{
    struct tx *t = *state;
    struct cust a, b, thief;
    customer(t, &a, "aiko@example.com", 10000);
    customer(t, &b, "bunta@example.com", 0);
    thief = a;
    af_phone_new(&thief.phone, "thief");
    memcpy(thief.phone.seed, a.phone.seed, sizeof a.phone.seed); /* password and a code, this once */
    assert_int_equal(af_login(t->f, a.email, &thief.phone, &thief.g), ERR_OK);
    af_auth(t->f, &thief.g, &thief.s);
    assert_int_equal(session_revoke(af_ctx(t->f), &a.s, thief.s.id), ERR_OK);

    assert_int_equal(pay(t, &thief, t->qr, 700, "q1", NULL, NULL, NULL), ERR_UNAUTHENTICATED);
    assert_int_equal(send_to(t, &thief, b.email, 700, "", "p1", NULL, NULL), ERR_UNAUTHENTICATED);
    assert_int_equal(balance(t, a.wallet), 10000);
    assert_int_equal(balance(t, b.wallet), 0);
    assert_int_equal(store_payments(t, t->store.id), 0);
    /* the owner's own session pays */
    assert_int_equal(pay(t, &a, t->qr, 700, "q1", NULL, NULL, NULL), ERR_OK);
    assert_int_equal(send_to(t, &a, b.email, 700, "", "p1", NULL, NULL), ERR_OK);
    assert_int_equal(balance(t, a.wallet), 10000 - 1400);
}

static json_t *pay_body(const char *qr, int64_t amount)
{
    return json_pack("{s:s, s:I}", "qr_payload", qr, "amount", (json_int_t)amount);
}

/* A sender's refusal does not depend on the recipient: probing addresses
 * (or sequential customer ids) with transfers that cannot go through tells
 * nothing about who has an account or whose is frozen. */
static void a_refused_sender_learns_nothing_about_the_recipient(void **state)
{
    struct tx *t = *state;
    struct cust a, b, frozen, broke, poor;
    customer(t, &a, "aiko@example.com", 100000);
    customer(t, &b, "bunta@example.com", 0);
    customer(t, &frozen, "frozen@example.com", 0);
    customer(t, &broke, "broke@example.com", 0);
    customer(t, &poor, "poor@example.com", 10);
    assert_int_equal(freeze_set_by_staff(af_ctx(t->f), "admin-cli", frozen.email, true, "fraud", "test"), ERR_OK);
    go_stale(t, &a);
    int64_t above = t->f->cfg.p2p_mfa_threshold + 1;
    const char *to[] = {"bunta@example.com", "nobody@example.com", "frozen@example.com"};
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
        char key[16];
        snprintf(key, sizeof key, "p%zu", i);
        assert_int_equal(send_to(t, &a, to[i], above, "", key, NULL, NULL), ERR_FRESH_MFA_REQUIRED);
        snprintf(key, sizeof key, "q%zu", i);
        assert_int_equal(send_to(t, &broke, to[i], 1, "", key, NULL, NULL), ERR_INSUFFICIENT_FUNDS);
        assert_int_equal(send_to(t, &poor, to[i], 11, "", key, NULL, NULL), ERR_INSUFFICIENT_FUNDS);
    }
    /* Nor does the day's total a stale second factor may send: at the
     * threshold, one more yen needs the second factor, whoever it is for. */
    refresh(t, &a);
    assert_int_equal(send_to(t, &a, b.email, t->f->cfg.p2p_mfa_threshold, "", "full", NULL, NULL), ERR_OK);
    go_stale(t, &a);
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
        char key[16];
        snprintf(key, sizeof key, "s%zu", i);
        assert_int_equal(send_to(t, &a, to[i], 1, "", key, NULL, NULL), ERR_FRESH_MFA_REQUIRED);
    }
    /* A sender who could pay is told the recipient is unknown, the same
     * for a frozen one. */
    refresh(t, &a);
    assert_int_equal(send_to(t, &a, "nobody@example.com", 100, "", "r1", NULL, NULL), ERR_RECIPIENT_NOT_FOUND);
    assert_int_equal(send_to(t, &a, "frozen@example.com", 100, "", "r2", NULL, NULL), ERR_RECIPIENT_NOT_FOUND);
    assert_int_equal(balance(t, a.wallet), 100000 - t->f->cfg.p2p_mfa_threshold);
    /* Nor the day's limit (review: 404 for an unknown recipient, 422 for a
     * real one, from a sender who had sent the day's all). */
    int64_t rest = t->f->cfg.p2p_daily_max - t->f->cfg.p2p_mfa_threshold;
    assert_int_equal(send_to(t, &a, b.email, rest, "", "rest", NULL, NULL), ERR_OK);
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
        char key[16];
        const char *bad = NULL;
        snprintf(key, sizeof key, "d%zu", i);
        assert_int_equal(send_to(t, &a, to[i], 1, "", key, NULL, &bad), ERR_LIMIT_EXCEEDED);
        assert_string_equal(bad, "p2p_daily");
    }
    assert_int_equal(refusals(t, &a, "p2p_daily"), 3);
}

/* c's newest live-feed event is `type`, for amount, with balance_after;
 * *after (in, out): the last event id read. */
static void feed_has(struct tx *t, const struct cust *c, int64_t *after, const char *type, int64_t amount,
                     int64_t balance_after)
{
    struct feed_event ev[8];
    size_t n = 0;
    assert_int_equal(t->f->st->ops->feed_event_list(t->f->st, c->s.customer_id, *after, 8, ev, &n), ERR_OK);
    assert_true(n >= 1);
    const struct feed_event *e = &ev[n - 1];
    *after = e->id;
    assert_string_equal(e->type, type);
    json_t *d = json_loads(e->body, 0, NULL);
    assert_non_null(d);
    assert_int_equal(json_integer_value(json_object_get(d, "amount")), amount);
    assert_int_equal(json_integer_value(json_object_get(d, "balance_after")), balance_after);
    assert_non_null(strstr(json_string_value(json_object_get(d, "reversal")), "rev_"));
    json_decref(d);
}

/* A transfer taken back from its recipient after the sender's fraud
 * report is a debit of the recipient's wallet: the recipient is told, with
 * the balance left, like the sender who gets the money back, by mail and
 * on their live feeds. */
static void a_transfer_taken_back_tells_its_recipient(void **state)
{
    struct tx *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com", 10000);
    customer(t, &b, "bunta@example.com", 500);
    struct payment_receipt r;
    assert_int_equal(send_to(t, &a, b.email, 3000, "", "t1", &r, NULL), ERR_OK);
    char body[4096];
    while (af_mail(t->f, a.email, "", true, body, sizeof body) > 0) {
    }
    while (af_mail(t->f, b.email, "", true, body, sizeof body) > 0) {
    }
    int64_t fa = 0, fb = 0;
    struct feed_event ev[8];
    size_t n = 0;
    assert_int_equal(t->f->st->ops->feed_event_list(t->f->st, a.s.customer_id, 0, 8, ev, &n), ERR_OK);
    fa = n ? ev[n - 1].id : 0;
    assert_int_equal(t->f->st->ops->feed_event_list(t->f->st, b.s.customer_id, 0, 8, ev, &n), ERR_OK);
    fb = n ? ev[n - 1].id : 0;
    struct reversal rv;
    const char *bad = NULL;
    bool replayed = false;
    assert_int_equal(reversal_request(af_ctx(t->f), t->writer, 1, r.p.id, 2000, "sender reported fraud", true, 0,
                                      "rev-1", &rv, &replayed, &bad),
                     ERR_OK);
    feed_has(t, &b, &fb, "reversal.debited", 2000, 1500);
    feed_has(t, &a, &fa, "reversal.credited", 2000, 9000);
    assert_int_equal(balance(t, b.wallet), 1500);
    assert_int_equal(balance(t, a.wallet), 9000);
    assert_int_equal(af_mail(t->f, b.email, "Money taken back from your kessai wallet", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "We took back 2000 yen"));
    assert_non_null(strstr(body, "Your balance is now 1500 yen."));
    assert_int_equal(af_mail(t->f, a.email, "Money back to your kessai wallet", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "Your balance is now 9000 yen."));
    /* From the fraud-loss account instead, the recipient keeps the money
     * and is not written to. */
    assert_int_equal(reversal_request(af_ctx(t->f), t->writer, 1, r.p.id, 1000, "sender reported fraud", false, 0,
                                      "rev-2", &rv, &replayed, &bad),
                     ERR_OK);
    assert_int_equal(balance(t, b.wallet), 1500);
    assert_int_equal(af_mail_count(t->f, b.email, ""), 0);
    feed_has(t, &a, &fa, "reversal.credited", 1000, 10000);
    assert_int_equal(t->f->st->ops->feed_event_list(t->f->st, b.s.customer_id, fb, 8, ev, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(af_mail_count(t->f, a.email, "Money back to your kessai wallet"), 1);
}

static void over_http(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    ac_server_start(&s, NULL);
    struct ac_user a, b;
    ac_user_enrolled(&s, &a, "mpm-a");
    ac_user_enrolled(&s, &b, "mpm-b");

    /* A store, and money in a's wallet, written by the test on kessaid's database. */
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", s.data);
    struct store *st = NULL, *ws = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    assert_int_equal(store_open_sqlite(path, &ws), ERR_OK);
    struct merchant m;
    struct merchant_store shop;
    assert_int_equal(merchant_create(st, "Kessai Mart", &m), ERR_OK);
    assert_int_equal(merchant_store_create(st, m.id, "Kessai Mart Umeda", "3-1-1 Umeda, Kita-ku, Osaka 530-0001",
                                           34702485, 135495951, "supermarket", &shop),
                     ERR_OK);
    int64_t card_receivable = 0, wa = 0, cid = 0;
    assert_int_equal(ledger_system_account(st, "card_receivable", &card_receivable), ERR_OK);
    assert_int_equal(ids_parse(a.customer_id, CUSTOMER_ID_PREFIX, &cid), ERR_OK);
    assert_int_equal(wallet_account(st, cid, &wa), ERR_OK);
    struct ledger_writer *writer = NULL;
    struct ledger_writer_opts o = {.batch_max = 4};
    assert_int_equal(ledger_writer_start(ws, &o, &writer), ERR_OK);
    struct ledger_transfer x;
    memset(&x, 0, sizeof x);
    snprintf(x.key, sizeof x.key, "http-fund");
    x.debit_account = card_receivable;
    x.credit_account = wa;
    x.amount = 10000;
    snprintf(x.kind, sizeof x.kind, "topup_card");
    assert_int_equal(ledger_writer_submit_wait(writer, &x, 1, NULL, NULL), ERR_OK);
    ledger_writer_stop(writer);

    /* The operator prints the store's QR. */
    char sid[IDS_BUF], args[2048], txt[700], svgpath[700];
    ids_format(sid, MERCHANT_STORE_ID_PREFIX, shop.id);
    snprintf(txt, sizeof txt, "%s/qr.txt", s.root);
    snprintf(svgpath, sizeof svgpath, "%s/qr.svg", s.root);
    snprintf(args, sizeof args, "admin store qr %s --svg '%s' > '%s'", sid, svgpath, txt);
    assert_int_equal(ac_cli(&s, args), 0);
    char *qr = tu_slurp(txt, NULL);
    assert_non_null(qr);
    qr[strcspn(qr, "\n")] = '\0';
    char *svg = tu_slurp(svgpath, NULL);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<svg"));
    free(svg);
    char got[IDS_BUF];
    assert_int_equal(emvco_store_decode(qr, got, sizeof got), ERR_OK);
    assert_string_equal(got, sid);
    assert_non_null(strstr(qr, "5204541153033925802JP5917Kessai Mart Umeda6005Osaka6304"));
    assert_int_equal(ac_cli(&s, "admin store qr str_0000000000001 > /dev/null 2>&1"), 1);
    assert_int_equal(ac_cli(&s, "admin store qr mer_0000000000001 > /dev/null 2>&1"), 2);

    /* a scans and pays */
    struct ac_resp r = ac_call_idem(&s, &a.who, "POST", "/v1/payments", "scan-1", pay_body(qr, 1500));
    AC_EXPECT_STATUS(r, 201);
    json_t *p = json_object_get(r.j, "payment");
    assert_int_equal(json_integer_value(json_object_get(p, "amount")), 1500);
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "store"), "id")), sid);
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "store"), "name")), "Kessai Mart Umeda");
    assert_int_equal(json_integer_value(json_object_get(r.j, "balance_after")), 8500);
    char pay_id[64];
    snprintf(pay_id, sizeof pay_id, "%s", json_string_value(json_object_get(p, "id")));
    assert_int_equal(strncmp(pay_id, "pay_", 4), 0);
    assert_string_equal(r.idempotent_replayed, "");
    ac_resp_free(&r);
    char *mail = ac_mail_wait(&s, a.email, "Kessai Mart Umeda");
    free(mail);
    /* the retry: the same payment, marked as a replay */
    r = ac_call_idem(&s, &a.who, "POST", "/v1/payments", "scan-1", pay_body(qr, 1500));
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "payment"), "id")), pay_id);
    assert_string_equal(r.idempotent_replayed, "true");
    ac_resp_free(&r);
    r = ac_call_idem(&s, &a.who, "POST", "/v1/payments", "scan-1", pay_body(qr, 1600));
    AC_EXPECT_ERROR(r, 409, "idempotency_conflict");
    ac_resp_free(&r);
    /* a tampered QR, no key, a bad amount, an unknown field */
    char *bad = strdup(qr);
    bad[strlen(bad) - 10] ^= 1;
    r = ac_call_idem(&s, &a.who, "POST", "/v1/payments", "scan-2", pay_body(bad, 100));
    AC_EXPECT_ERROR(r, 400, "invalid_qr");
    assert_string_equal(ac_err_param(&r), "qr_payload");
    ac_resp_free(&r);
    free(bad);
    r = ac_call_idem(&s, &a.who, "POST", "/v1/payments", NULL, pay_body(qr, 100));
    AC_EXPECT_ERROR(r, 400, "missing_param");
    assert_string_equal(ac_err_param(&r), "Idempotency-Key");
    ac_resp_free(&r);
    r = ac_call_idem(&s, &a.who, "POST", "/v1/payments", "scan-2", pay_body(qr, 0));
    AC_EXPECT_STATUS(r, 400);
    ac_resp_free(&r);
    r = ac_call_idem(&s, &a.who, "POST", "/v1/payments", "scan-2",
                     json_pack("{s:s, s:i, s:i}", "qr_payload", qr, "amount", 1, "tip", 5));
    AC_EXPECT_ERROR(r, 400, "unknown_param");
    ac_resp_free(&r);
    /* no session: nothing */
    struct ac_who anon = ac_new_source(&s);
    r = ac_call_idem(&s, &anon, "POST", "/v1/payments", "scan-3", pay_body(qr, 100));
    AC_EXPECT_ERROR(r, 401, "unauthenticated");
    ac_resp_free(&r);
    /* the store switched off from the CLI while kessaid runs */
    snprintf(args, sizeof args, "admin killswitch on payments --store %s --reason 'register broken' > /dev/null", sid);
    assert_int_equal(ac_cli(&s, args), 0);
    r = ac_call_idem(&s, &a.who, "POST", "/v1/payments", "scan-4", pay_body(qr, 100));
    AC_EXPECT_ERROR(r, 503, "service_suspended");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "error"), "reason")),
                        "register broken");
    ac_resp_free(&r);
    snprintf(args, sizeof args, "admin killswitch off payments --store %s > /dev/null", sid);
    assert_int_equal(ac_cli(&s, args), 0);

    /* a sends b some of the rest */
    r = ac_call_idem(&s, &a.who, "POST", "/v1/transfers", "t-1",
                     json_pack("{s:s, s:i, s:s}", "to", b.email, "amount", 2000, "message", "for the tickets"));
    AC_EXPECT_STATUS(r, 201);
    json_t *tr = json_object_get(r.j, "transfer");
    assert_int_equal(json_integer_value(json_object_get(tr, "amount")), 2000);
    assert_string_equal(json_string_value(json_object_get(json_object_get(tr, "to"), "id")), b.customer_id);
    assert_string_equal(json_string_value(json_object_get(json_object_get(tr, "to"), "email")), b.email);
    assert_string_equal(json_string_value(json_object_get(tr, "message")), "for the tickets");
    assert_int_equal(json_integer_value(json_object_get(r.j, "balance_after")), 6500);
    ac_resp_free(&r);
    mail = ac_mail_wait(&s, b.email, "for the tickets");
    free(mail);
    r = ac_call(&s, &b.who, "GET", "/v1/balance", NULL);
    AC_EXPECT_STATUS(r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.j, "balance")), 2000);
    ac_resp_free(&r);
    /* by id, without a message; then to nobody, and to herself */
    r = ac_call_idem(&s, &a.who, "POST", "/v1/transfers", "t-2",
                     json_pack("{s:s, s:i}", "to", b.customer_id, "amount", 500));
    AC_EXPECT_STATUS(r, 201);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "transfer"), "message")), "");
    /* named by id: the reply shows the id only, never the address behind it */
    tr = json_object_get(json_object_get(r.j, "transfer"), "to");
    assert_string_equal(json_string_value(json_object_get(tr, "id")), b.customer_id);
    assert_null(json_object_get(tr, "email"));
    assert_null(strstr(r.raw, "@"));
    ac_resp_free(&r);
    r = ac_call_idem(&s, &a.who, "POST", "/v1/transfers", "t-3",
                     json_pack("{s:s, s:i}", "to", "nobody@example.com", "amount", 500));
    AC_EXPECT_ERROR(r, 404, "recipient_not_found");
    assert_string_equal(ac_err_param(&r), "to");
    ac_resp_free(&r);
    r = ac_call_idem(&s, &a.who, "POST", "/v1/transfers", "t-4",
                     json_pack("{s:s, s:i}", "to", a.email, "amount", 500));
    AC_EXPECT_ERROR(r, 404, "recipient_not_found");
    ac_resp_free(&r);
    r = ac_call_idem(&s, &a.who, "POST", "/v1/transfers", "t-5",
                     json_pack("{s:s, s:i, s:s}", "to", b.email, "amount", 5, "message", "a\ab"));
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    assert_string_equal(ac_err_param(&r), "message");
    ac_resp_free(&r);

    free(qr);
    store_close(st);
    assert_int_equal(ac_server_stop(&s), 0);
    /* the books balance */
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    struct ledger_verify_report rep;
    assert_int_equal(ledger_verify(st, stderr, &rep), ERR_OK);
    assert_int_equal(rep.violations, 0);
    store_close(st);
    ac_server_cleanup(&s);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_scan_pays_the_store_once, setup, teardown),
        cmocka_unit_test_setup_teardown(a_bad_qr_pays_nobody, setup, teardown),
        cmocka_unit_test_setup_teardown(a_large_scan_needs_a_fresh_second_factor, setup, teardown),
        cmocka_unit_test_setup_teardown(scan_limits_switches_and_freezes_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(over_the_maximum_is_on_file, setup, teardown),
        cmocka_unit_test_setup_teardown(a_new_device_pays_less, setup, teardown),
        cmocka_unit_test_setup_teardown(money_reaches_the_other_customer_once, setup, teardown),
        cmocka_unit_test_setup_teardown(every_wrong_recipient_gets_the_same_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(transfer_limits_and_the_switch_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(a_stolen_session_cannot_send_the_wallet_away, setup, teardown),
        cmocka_unit_test_setup_teardown(a_stolen_session_cannot_split_a_large_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(a_session_revoked_while_its_payment_waits_moves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refused_sender_learns_nothing_about_the_recipient, setup, teardown),
        cmocka_unit_test_setup_teardown(a_transfer_taken_back_tells_its_recipient, setup, teardown),
        cmocka_unit_test(over_http),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    oath_done();
    curl_global_cleanup();
    return failed;
}
