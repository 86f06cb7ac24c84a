/* test_webhooks.c: merchants' signed webhooks (docs/webhooks.md).
 *
 * The merchant's side is played by a small HTTP receiver on loopback
 * (libmicrohttpd, a free port) that keeps what it was sent and answers
 * with the status the test chooses; signatures are checked with OpenSSL's
 * HMAC, an implementation independent of kessai's (libsodium).
 *
 *  - the worked example of docs/webhooks.md signs byte for byte;
 *  - endpoint URLs and event lists are checked (http only to loopback);
 *  - a receiver answering 500 gets retries with growing delay (30 s, 60 s,
 *    … by the clock given to the deliverer: no timed assertion), and once
 *    it answers 200 the event is delivered once, signed, with its stable id;
 *    a removed endpoint gets nothing more;
 *  - against a real kessaid: a charge made over HTTP at the register
 *    reaches the merchant's endpoint, signed, with the amount and no
 *    customer data; its refund follows as refund.succeeded; the other
 *    merchant's endpoint and an endpoint not subscribed get nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <liboath/oath.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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
#include "merchant/merchant.h"
#include "notify/webhook.h"
#include "pos/sign.h"
#include "testutil.h"
#include "util/timeutil.h"

/* ---- the merchant's receiver ------------------------------------------------- */

#define RX_MAX 16

struct rx_request {
    char signature[160];
    char event_id[64];
    char *body;
};

struct receiver {
    struct MHD_Daemon *d;
    uint16_t port;
    pthread_mutex_t mu;
    int status; /* what it answers */
    struct rx_request got[RX_MAX];
    int n;
};

struct upload {
    char *buf;
    size_t len;
};

static enum MHD_Result rx_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *data, size_t *size, void **con_cls)
{
    (void)url, (void)version;
    struct receiver *r = cls;
    struct upload *u = *con_cls;
    if (u == NULL) {
        u = calloc(1, sizeof *u);
        *con_cls = u;
        return MHD_YES;
    }
    if (*size > 0) {
        char *nb = realloc(u->buf, u->len + *size + 1);
        assert_non_null(nb);
        u->buf = nb;
        memcpy(u->buf + u->len, data, *size);
        u->len += *size;
        u->buf[u->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&r->mu);
    int status = r->status;
    if (strcmp(method, "POST") == 0 && r->n < RX_MAX) {
        struct rx_request *q = &r->got[r->n++];
        const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Kessai-Signature");
        const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Kessai-Event-Id");
        snprintf(q->signature, sizeof q->signature, "%s", sig ? sig : "");
        snprintf(q->event_id, sizeof q->event_id, "%s", id ? id : "");
        q->body = u->buf ? u->buf : strdup("");
        u->buf = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    struct MHD_Response *resp = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void rx_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct upload *u = *con_cls;
    if (u) {
        free(u->buf);
        free(u);
    }
    *con_cls = NULL;
}

static void rx_start(struct receiver *r, int status)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->status = status;
    r->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, rx_handle, r,
                            MHD_OPTION_NOTIFY_COMPLETED, rx_done, r, MHD_OPTION_END);
    assert_non_null(r->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    r->port = info->port;
}

static void rx_stop(struct receiver *r)
{
    MHD_stop_daemon(r->d);
    for (int i = 0; i < r->n; i++)
        free(r->got[i].body);
    pthread_mutex_destroy(&r->mu);
}

static int rx_count(struct receiver *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void rx_set_status(struct receiver *r, int status)
{
    pthread_mutex_lock(&r->mu);
    r->status = status;
    pthread_mutex_unlock(&r->mu);
}

/* Wait (bounded, generous, over as soon as it is there) for the n-th request. */
static void rx_wait(struct receiver *r, int n)
{
    for (int i = 0; i < 1500 && rx_count(r) < n; i++)
        usleep(10000);
    assert_true(rx_count(r) >= n);
}

/* ---- the merchant's check, with OpenSSL ---------------------------------------- */

/* hex HMAC-SHA256(secret, "<t>.<body>") by OpenSSL. */
static void openssl_v1(const char *secret, const char *t, const char *body, char hex[65])
{
    size_t tl = strlen(t), bl = strlen(body);
    unsigned char *msg = malloc(tl + 1 + bl);
    assert_non_null(msg);
    memcpy(msg, t, tl);
    msg[tl] = '.';
    memcpy(msg + tl + 1, body, bl);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, tl + 1 + bl, mac, &maclen));
    assert_int_equal(maclen, 32);
    for (unsigned i = 0; i < maclen; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    free(msg);
}

/* What a merchant does with a delivery: split "t=…,v1=…", recompute,
 * compare in constant time, and check the timestamp is recent. */
static bool merchant_verifies(const char *secret, const char *header, const char *body, int64_t now_s)
{
    char t[32] = "", v1[80] = "";
    if (sscanf(header, "t=%31[0-9],v1=%79[0-9a-f]", t, v1) != 2 || strlen(v1) != 64)
        return false;
    char want[65];
    openssl_v1(secret, t, body, want);
    long long ts = atoll(t);
    return CRYPTO_memcmp(want, v1, 64) == 0 && ts <= now_s + 300 && ts >= now_s - 300;
}

/* ---- unit tests -------------------------------------------------------------- */

#define EXAMPLE_SECRET "whsec_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define EXAMPLE_BODY                                                                                               \
    "{\"id\":\"evt_000000000001a\",\"type\":\"payment.succeeded\",\"created\":1764201599,\"data\":{\"charge\":{"  \
    "\"id\":\"pay_000000000001a\",\"kind\":\"cpm\",\"amount\":480,\"refunded\":0,\"status\":\"succeeded\","       \
    "\"store\":{\"id\":\"str_3kq8v1m2x7p0c\",\"name\":\"Tokyo Station\"},\"created_at\":"                          \
    "\"2025-11-26T23:59:59.250Z\",\"items\":[]}}}"
#define EXAMPLE_SIGNATURE "t=1764201600,v1=bce929bcb87fbd48236032b1c31e88d5950ac7022959309cd0b5f482bf934e17"

/* docs/webhooks.md's worked example, reproduced by kessai and by OpenSSL. */
static void the_documented_example_signs_byte_for_byte(void **state)
{
    (void)state;
    char sig[WEBHOOK_SIGNATURE_BUF];
    webhook_sign(EXAMPLE_SECRET, 1764201600, EXAMPLE_BODY, sig);
    assert_string_equal(sig, EXAMPLE_SIGNATURE);
    char hex[65];
    openssl_v1(EXAMPLE_SECRET, "1764201600", EXAMPLE_BODY, hex);
    assert_string_equal(hex, EXAMPLE_SIGNATURE + strlen("t=1764201600,v1="));
    /* one byte of the body changed, or another secret: another signature */
    assert_false(merchant_verifies(EXAMPLE_SECRET, EXAMPLE_SIGNATURE, "{\"amount\":4800}", 1764201600));
    assert_false(merchant_verifies(EXAMPLE_SECRET "0", EXAMPLE_SIGNATURE, EXAMPLE_BODY, 1764201600));
    assert_true(merchant_verifies(EXAMPLE_SECRET, EXAMPLE_SIGNATURE, EXAMPLE_BODY, 1764201600));
    /* a replay an hour later is refused by the timestamp */
    assert_false(merchant_verifies(EXAMPLE_SECRET, EXAMPLE_SIGNATURE, EXAMPLE_BODY, 1764201600 + 3600));
}

static void urls_and_event_lists_are_checked(void **state)
{
    (void)state;
    const char *good[] = {"https://shop.example.jp/hooks/kessai", "https://shop.example.jp:8443/h?x=1",
                          "http://127.0.0.1:8099/hook", "http://localhost/hook", "http://[::1]:9000/", NULL};
    const char *bad[] = {"http://shop.example.jp/hook", "ftp://127.0.0.1/", "https://", "https:///x",
                         "https://user:pw@shop.example.jp/", "https://shop.example.jp/a b",
                         "http://127.0.0.1.evil.example/", "http://localhost.evil.example/", "file:///etc/passwd",
                         "", "https://shop.example.jp/\x01", NULL};
    for (int i = 0; good[i]; i++)
        assert_int_equal(webhook_check_url(good[i]), ERR_OK);
    for (int i = 0; bad[i]; i++)
        if (webhook_check_url(bad[i]) != ERR_INVALID_PARAM)
            fail_msg("accepted %s", bad[i]);
    char out[WEBHOOK_EVENTS_MAX + 1];
    assert_int_equal(webhook_parse_events("refund.succeeded, payment.succeeded", out), ERR_OK);
    assert_string_equal(out, "refund.succeeded,payment.succeeded");
    assert_int_equal(webhook_parse_events("payment.succeeded,payment.succeeded", out), ERR_INVALID_PARAM);
    assert_int_equal(webhook_parse_events("payment.created", out), ERR_INVALID_PARAM);
    assert_int_equal(webhook_parse_events("", out), ERR_INVALID_PARAM);
    assert_int_equal(webhook_parse_events("payment.succeeded,", out), ERR_INVALID_PARAM);
}

/* A count straight from the database file (the store has no such query). */
static int64_t count_rows(const char *dir, const char *sql)
{
    char path[600];
    tu_path(path, sizeof path, dir, "kessai.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* A data builder for webhook_queue that counts its calls. */
struct built {
    const char *pay_id;
    int calls;
};

static json_t *charge_data(const void *arg)
{
    struct built *b = (struct built *)arg;
    b->calls++;
    return json_pack("{s:{s:s, s:i}}", "charge", "id", b->pay_id, "amount", 480);
}

/* A dead receiver is not hammered: after each 500 the next attempt waits
 * twice as long; once it answers 200 the event goes, once, signed. */
static void a_failing_receiver_gets_retries_with_growing_delay(void **state)
{
    (void)state;
    struct receiver rx;
    rx_start(&rx, 500);
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct merchant m;
    assert_int_equal(merchant_create(st, "Kessai Mart", &m), ERR_OK);
    char url[64], secret[WEBHOOK_SECRET_LEN + 1];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", (unsigned)rx.port);
    struct webhook_endpoint w;
    int64_t t = time_now_ms();
    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(webhook_endpoint_create(st, mk, t, m.id, url, "payment.succeeded", &w, secret), ERR_OK);
    struct built a = {.pay_id = "pay_000000000001a"};
    assert_int_equal(webhook_queue(st, t, m.id, WEBHOOK_PAYMENT_SUCCEEDED, "evt_000000000001a", charge_data, &a),
                     ERR_OK);
    /* the same event again (a retry of the same commit) is not queued twice;
     * a type the endpoint did not ask for is not queued at all, nor is its
     * body built */
    assert_int_equal(webhook_queue(st, t, m.id, WEBHOOK_PAYMENT_SUCCEEDED, "evt_000000000001a", charge_data, &a),
                     ERR_OK);
    assert_int_equal(a.calls, 2);
    assert_int_equal(webhook_queue(st, t, m.id, WEBHOOK_REFUND_SUCCEEDED, "evt_000000000001b", charge_data, &a),
                     ERR_OK);
    assert_int_equal(a.calls, 2);
    assert_int_equal(st->ops->commit(st), ERR_OK);
    assert_int_equal(count_rows(dir, "SELECT count(*) FROM webhook_deliveries"), 1);

    struct webhook_poster poster = webhook_curl_poster();
    const struct notify_retry retry = NOTIFY_RETRY_DEFAULT;
    size_t n = 0;
    int64_t wait = 30000;
    for (int attempt = 1; attempt <= 4; attempt++) {
        assert_int_equal(webhook_deliver_pending(st, mk, &poster, &retry, t, NULL, &n), ERR_GATEWAY);
        assert_int_equal(rx_count(&rx), attempt);
        assert_int_equal(n, 0);
        /* not a moment before its back-off is over */
        assert_int_equal(webhook_deliver_pending(st, mk, &poster, &retry, t + wait - 1, NULL, &n), ERR_OK);
        assert_int_equal(rx_count(&rx), attempt);
        t += wait;
        wait *= 2;
    }
    rx_set_status(&rx, 200);
    assert_int_equal(webhook_deliver_pending(st, mk, &poster, &retry, t, NULL, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rx_count(&rx), 5);
    /* delivered: never again */
    assert_int_equal(webhook_deliver_pending(st, mk, &poster, &retry, t + INT64_C(86400000), NULL, &n), ERR_OK);
    assert_int_equal(rx_count(&rx), 5);
    /* every attempt carried the same event id, each signed at its own time */
    for (int i = 0; i < 5; i++) {
        assert_string_equal(rx.got[i].event_id, "evt_000000000001a");
        assert_string_equal(rx.got[i].body, rx.got[0].body);
    }
    assert_true(merchant_verifies(secret, rx.got[4].signature, rx.got[4].body, t / 1000));
    json_t *ev = json_loads(rx.got[4].body, 0, NULL);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "id")), "evt_000000000001a");
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "payment.succeeded");
    json_decref(ev);

    /* a removed endpoint: what is queued for it is given up, unsent */
    assert_int_equal(st->ops->begin(st), ERR_OK);
    a = (struct built){.pay_id = "pay_000000000001b"};
    assert_int_equal(webhook_queue(st, t, m.id, WEBHOOK_PAYMENT_SUCCEEDED, "evt_000000000001b", charge_data, &a),
                     ERR_OK);
    assert_int_equal(st->ops->webhook_endpoint_remove(st, w.id, t), ERR_OK);
    assert_int_equal(st->ops->webhook_endpoint_remove(st, w.id, t), ERR_NOT_FOUND);
    assert_int_equal(st->ops->commit(st), ERR_OK);
    assert_int_equal(webhook_deliver_pending(st, mk, &poster, &retry, t, NULL, &n), ERR_NOT_FOUND);
    assert_int_equal(rx_count(&rx), 5);
    assert_int_equal(count_rows(dir, "SELECT count(*) FROM webhook_deliveries WHERE failed_ms > 0"), 1);
    /* the secret is in the database only sealed */
    store_close(st);
    char path[600];
    tu_path(path, sizeof path, dir, "kessai.db");
    assert_false(ac_file_contains(path, secret));
    tu_rmtree(dir);
    free(dir);
    rx_stop(&rx);
}


/* ---- against a real kessaid ------------------------------------------------- */

#define CODE_DIGITS 18

/* A poster standing in for the network: a URL with "hung" in it answers
 * nothing after 1.1 s (as a receiver that accepts and never replies, cut
 * short), one with "picky" refuses event evt_0000000000007 with a 422, any
 * other answers 200 at once; every call is noted. */
struct fake_net {
    int hung_calls, ok_calls, refused_calls;
    char last_ok_signature[WEBHOOK_SIGNATURE_BUF];
};

static enum err fake_post(void *ctx, const char *url, const char *signature, const char *event_id, const char *body,
                          int *status)
{
    (void)body;
    struct fake_net *n = ctx;
    if (strstr(url, "hung")) {
        n->hung_calls++;
        usleep(1100 * 1000);
        *status = 0;
        return ERR_GATEWAY;
    }
    if (strstr(url, "picky") && strcmp(event_id, "evt_0000000000007") == 0) {
        n->refused_calls++;
        *status = 422;
        return ERR_GATEWAY;
    }
    n->ok_calls++;
    snprintf(n->last_ok_signature, sizeof n->last_ok_signature, "%s", signature);
    *status = 200;
    return ERR_OK;
}

/* A merchant named name with one endpoint at url for payment.succeeded;
 * its id. */
static int64_t merchant_at(struct store *st, const uint8_t *mk, int64_t t, const char *name, const char *url)
{
    struct merchant m;
    struct webhook_endpoint w;
    char secret[WEBHOOK_SECRET_LEN + 1];
    assert_int_equal(merchant_create(st, name, &m), ERR_OK);
    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(webhook_endpoint_create(st, mk, t, m.id, url, "payment.succeeded", &w, secret), ERR_OK);
    assert_int_equal(st->ops->commit(st), ERR_OK);
    return m.id;
}

/* The delivering thread's part: the fake network, the default back-off and
 * the endpoints' holds, kept from round to round. */
struct deliverer {
    struct fake_net net;
    struct webhook_poster poster;
    struct notify_retry retry;
    struct webhook_holds holds;
};

static void deliverer_init(struct deliverer *d)
{
    memset(d, 0, sizeof *d);
    d->poster = (struct webhook_poster){fake_post, &d->net};
    d->retry = (struct notify_retry)NOTIFY_RETRY_DEFAULT;
}

static enum err round_at(struct deliverer *d, struct store *st, const uint8_t *mk, int64_t now, size_t *n)
{
    return webhook_deliver_pending(st, mk, &d->poster, &d->retry, now, &d->holds, n);
}

static void queue_one(struct store *st, int64_t t, int64_t merchant_id, const char *event_id)
{
    struct built a = {.pay_id = "pay_000000000001a"};
    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(webhook_queue(st, t, merchant_id, WEBHOOK_PAYMENT_SUCCEEDED, event_id, charge_data, &a), ERR_OK);
    assert_int_equal(st->ops->commit(st), ERR_OK);
}

/* One merchant's receiver hangs.  It costs the round one attempt, not one
 * per queued event: its other deliveries wait with it (untried, not
 * counted), and later rounds leave it alone until its back-off is over,
 * new events included.  The other merchant's event goes in the same round,
 * signed at the time it is sent (after the hung attempt), so its receiver's
 * freshness check passes.  The failure is logged by name. */
static void a_hung_receiver_does_not_hold_up_other_merchants(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    int64_t t = time_now_ms();
    int64_t hung = merchant_at(st, mk, t, "Hung Mart", "https://hung.example/hook");
    int64_t fine = merchant_at(st, mk, t, "Fine Mart", "https://fine.example/hook");
    queue_one(st, t, hung, "evt_0000000000001");
    queue_one(st, t, hung, "evt_0000000000002");
    queue_one(st, t, hung, "evt_0000000000003");
    queue_one(st, t, fine, "evt_0000000000004");

    struct deliverer d;
    deliverer_init(&d);
    const struct fake_net *net = &d.net;
    size_t n = 0;
    struct tu_capture cap;
    tu_capture_start(&cap, dir);
    enum err e = round_at(&d, st, mk, t, &n);
    char *log = tu_capture_stop(&cap);
    assert_int_equal(e, ERR_GATEWAY);
    assert_int_equal(net->hung_calls, 1);
    assert_int_equal(net->ok_calls, 1);
    assert_int_equal(n, 1);
    long long signed_at = 0;
    assert_int_equal(sscanf(net->last_ok_signature, "t=%lld,", &signed_at), 1);
    assert_true(signed_at >= (t + 1100) / 1000); /* after the hung attempt, not at the round's start */
    assert_int_equal(count_rows(dir, "SELECT count(*) FROM webhook_deliveries WHERE attempts = 0"), 2);
    assert_non_null(log);
    assert_non_null(strstr(log, "\"event\":\"webhook_delivery_failed\""));
    assert_non_null(strstr(log, "\"event_id\":\"evt_0000000000001\""));
    free(log);

    /* the next rounds, before its back-off is over: not tried, new events
     * for it neither; the other merchant's go at once */
    queue_one(st, t + 1000, hung, "evt_0000000000005");
    queue_one(st, t + 1000, fine, "evt_0000000000006");
    assert_int_equal(round_at(&d, st, mk, t + 1000, &n), ERR_OK);
    assert_int_equal(net->hung_calls, 1);
    assert_int_equal(net->ok_calls, 2);
    assert_int_equal(round_at(&d, st, mk, t + 20000, &n), ERR_OK);
    assert_int_equal(net->hung_calls, 1);
    /* once it is over: one attempt again, the rest still waiting with it */
    assert_int_equal(round_at(&d, st, mk, t + 40000, &n), ERR_GATEWAY);
    assert_int_equal(net->hung_calls, 2);
    assert_int_equal(count_rows(dir, "SELECT count(*) FROM webhook_deliveries WHERE attempts = 0"), 3);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

/* A receiver that refuses one event (a 4xx about that payload) is no
 * receiver that is down: its other events go, in the same round and the
 * next, while the refused one waits out its own back-off. */
static void a_refused_event_does_not_hold_its_endpoint(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    int64_t t = time_now_ms();
    int64_t m = merchant_at(st, mk, t, "Picky Mart", "https://picky.example/hook");
    queue_one(st, t, m, "evt_0000000000007");
    queue_one(st, t, m, "evt_0000000000008");
    struct deliverer d;
    deliverer_init(&d);
    const struct fake_net *net = &d.net;
    size_t n = 0;
    assert_int_equal(round_at(&d, st, mk, t, &n), ERR_GATEWAY);
    assert_int_equal(net->refused_calls, 1);
    assert_int_equal(n, 1); /* the other one went */
    queue_one(st, t + 1000, m, "evt_0000000000009");
    assert_int_equal(round_at(&d, st, mk, t + 1000, &n), ERR_OK);
    assert_int_equal(n, 1); /* a new one goes too */
    assert_int_equal(net->refused_calls, 1);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

/* A merchant's endpoints are each sent every event: past
 * WEBHOOK_ENDPOINTS_MAX a new one is refused (it would never be sent
 * anything), until one is removed. */
static void endpoints_past_the_limit_are_refused(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct merchant m;
    assert_int_equal(merchant_create(st, "Kessai Mart", &m), ERR_OK);
    char secret[WEBHOOK_SECRET_LEN + 1], url[64];
    struct webhook_endpoint w, first;
    assert_int_equal(st->ops->begin(st), ERR_OK);
    for (int i = 0; i < WEBHOOK_ENDPOINTS_MAX; i++) {
        snprintf(url, sizeof url, "https://hooks%d.example/k", i);
        assert_int_equal(webhook_endpoint_create(st, mk, 1, m.id, url, "payment.succeeded", &w, secret), ERR_OK);
        if (i == 0)
            first = w;
    }
    assert_int_equal(webhook_endpoint_create(st, mk, 1, m.id, "https://one-more.example/k", "payment.succeeded", &w,
                                             secret),
                     ERR_LIMIT_EXCEEDED);
    assert_int_equal(st->ops->webhook_endpoint_remove(st, first.id, 2), ERR_OK);
    assert_int_equal(webhook_endpoint_create(st, mk, 3, m.id, "https://one-more.example/k", "payment.succeeded", &w,
                                             secret),
                     ERR_OK);
    assert_int_equal(st->ops->commit(st), ERR_OK);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

struct fx {
    struct ac_server s;
    struct receiver rx, other, refunds_only;
    char store[32], store_far[32];
    struct ac_terminal t, far;
    struct ac_user u;
    struct ac_who pos;
};

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

static void make_merchant(struct fx *f, const char *name, char out[32])
{
    char args[200];
    snprintf(args, sizeof args, "admin merchant create --name '%s'", name);
    json_t *m = ac_cli_json(&f->s, args);
    snprintf(out, 32, "%s", json_string_value(json_object_get(m, "id")));
    json_decref(m);
}

/* `kessai admin webhook add`: the secret, shown once. */
static void add_webhook(struct fx *f, const char *merchant, const struct receiver *rx, const char *path,
                        const char *events, char secret[WEBHOOK_SECRET_LEN + 1])
{
    char args[400];
    snprintf(args, sizeof args, "admin webhook add --merchant %s --url http://127.0.0.1:%u%s --events %s", merchant,
             (unsigned)rx->port, path, events);
    json_t *w = ac_cli_json(&f->s, args);
    const char *sec = json_string_value(json_object_get(w, "secret"));
    assert_non_null(sec);
    assert_int_equal(strlen(sec), WEBHOOK_SECRET_LEN);
    snprintf(secret, WEBHOOK_SECRET_LEN + 1, "%s", sec);
    ac_remember(&f->s, secret);
    json_decref(w);
}

static struct ac_resp pos(struct fx *f, const struct ac_terminal *t, const char *path, const char *body)
{
    char sig[POS_SIG_HEX_LEN + 1], auth[300], key_line[128], nonce[33], key[40];
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(nonce, sizeof nonce, b, sizeof b);
    randombytes_buf(b, 12);
    memcpy(key, "pos-", 4);
    sodium_bin2hex(key + 4, 36, b, 12);
    int64_t ts = (int64_t)time(NULL);
    pos_sign(t->secret, "POST", path, ts, nonce, body, strlen(body), sig);
    snprintf(auth, sizeof auth, "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=%s,sig=%s", t->key_id,
             (long long)ts, nonce, sig);
    snprintf(key_line, sizeof key_line, "Idempotency-Key: %s", key);
    const char *headers[] = {auth, key_line, NULL};
    return ac_call_raw(&f->s, &f->pos, "POST", path, headers, body, false);
}

static void fund(struct fx *f, int64_t amount)
{
    struct ac_resp r = ac_call(&f->s, &f->u.who, "POST", "/v1/topup-codes", json_object());
    AC_EXPECT_STATUS(r, 201);
    char code[32], body[128];
    snprintf(code, sizeof code, "%s", ac_str(&r, "code"));
    ac_remember(&f->s, code);
    ac_resp_free(&r);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"amount\":%lld}", code, (long long)amount);
    r = pos(f, &f->t, "/pos/v1/cash-topups", body);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
}

/* The customer shows a code, the register charges it: the charge's id. */
static void charge(struct fx *f, int64_t amount, char id[40])
{
    struct ac_resp r = ac_call(&f->s, &f->u.who, "POST", "/v1/paycodes", json_object());
    AC_EXPECT_STATUS(r, 201);
    char code[CODE_DIGITS + 1], body[256];
    snprintf(code, sizeof code, "%s", ac_str(&r, "code"));
    ac_remember(&f->s, code);
    ac_resp_free(&r);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"amount\":%lld,\"items\":[{\"category\":\"food\",\"amount\":%lld}]}",
             code, (long long)amount, (long long)amount);
    r = pos(f, &f->t, "/pos/v1/charges", body);
    AC_EXPECT_STATUS(r, 201);
    snprintf(id, 40, "%s", json_string_value(json_object_get(json_object_get(r.j, "charge"), "id")));
    ac_resp_free(&r);
}

static const char *jpath(json_t *o, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return json_string_value(v);
}

static json_int_t jint(json_t *o, const char *a, const char *b, const char *c)
{
    return json_integer_value(json_object_get(json_object_get(json_object_get(o, a), b), c));
}

/* The server and the receivers go, whatever the test's outcome. */
static int fx_up(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    rx_start(&f->rx, 200);
    rx_start(&f->other, 200);
    rx_start(&f->refunds_only, 200);
    ac_server_init(&f->s);
    *state = f;
    return 0;
}

static int fx_down(void **state)
{
    struct fx *f = *state;
    ac_server_cleanup(&f->s);
    rx_stop(&f->rx);
    rx_stop(&f->other);
    rx_stop(&f->refunds_only);
    free(f);
    return 0;
}

static void a_charge_over_http_reaches_the_merchant_signed(void **state)
{
    struct fx *f = *state;
    char mer[32], mer_far[32], secret[WEBHOOK_SECRET_LEN + 1], secret_other[WEBHOOK_SECRET_LEN + 1],
        secret_refunds[WEBHOOK_SECRET_LEN + 1];
    make_merchant(f, "Kessai Mart", mer);
    make_merchant(f, "Other Books", mer_far);
    make_store(f, mer, "Tokyo Station", f->store);
    make_store(f, mer_far, "Sapporo", f->store_far);
    ac_make_terminal(&f->s, f->store, &f->t);
    ac_make_terminal(&f->s, f->store_far, &f->far);
    add_webhook(f, mer, &f->rx, "/kessai", "payment.succeeded,refund.succeeded,charge.voided", secret);
    add_webhook(f, mer_far, &f->other, "/hook", "payment.succeeded", secret_other);
    add_webhook(f, mer, &f->refunds_only, "/refunds", "refund.succeeded", secret_refunds);
    /* an http URL off this machine is refused, and nothing is added */
    char args[300];
    snprintf(args, sizeof args,
             "admin webhook add --merchant %s --url http://shop.example.jp/h --events payment.succeeded "
             ">/dev/null 2>&1",
             mer);
    assert_int_equal(ac_cli(&f->s, args), 2);
    json_t *list = ac_cli_json(&f->s, "admin webhook list");
    assert_int_equal(json_array_size(json_object_get(list, "webhooks")), 3);
    char *listed = json_dumps(list, 0);
    assert_null(strstr(listed, "whsec_")); /* never a secret again */
    free(listed);
    json_decref(list);

    /* One customer is refunded, then voided, at one store: the risk rule
     * refund_repeat_payer (test_risk_flows.c) would hold the void. */
    ac_server_start(&f->s, (const char *[]){"KESSAI_TOPUP_NEW_DEVICE_DAILY_MAX=100000",
                                            "KESSAI_PAY_NEW_DEVICE_DAILY_MAX=100000",
                                            "KESSAI_RISK_REFUND_PAYER_SCORE=0", NULL});
    ac_user_enrolled(&f->s, &f->u, "payer");
    f->pos = ac_new_source(&f->s);
    fund(f, 5000);
    char pay_id[40];
    charge(f, 480, pay_id);

    /* The payment reaches the merchant, signed with its secret. */
    rx_wait(&f->rx, 1);
    pthread_mutex_lock(&f->rx.mu);
    struct rx_request got = f->rx.got[0];
    got.body = strdup(f->rx.got[0].body);
    pthread_mutex_unlock(&f->rx.mu);
    assert_true(merchant_verifies(secret, got.signature, got.body, (int64_t)time(NULL)));
    assert_false(merchant_verifies(secret_other, got.signature, got.body, (int64_t)time(NULL)));
    json_t *ev = json_loads(got.body, 0, NULL);
    assert_non_null(ev);
    assert_string_equal(jpath(ev, "type", NULL, NULL), "payment.succeeded");
    assert_string_equal(jpath(ev, "id", NULL, NULL), got.event_id);
    assert_int_equal(strncmp(got.event_id, "evt_", 4), 0);
    assert_string_equal(jpath(ev, "data", "charge", "id"), pay_id);
    assert_int_equal(jint(ev, "data", "charge", "amount"), 480);
    assert_string_equal(jpath(ev, "data", "charge", "status"), "succeeded");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(json_object_get(ev, "data"),
                                                                                          "charge"),
                                                                          "store"),
                                                          "id")),
                        f->store);
    /* nothing about the customer */
    assert_null(strstr(got.body, f->u.email));
    assert_null(strstr(got.body, f->u.customer_id));
    json_decref(ev);
    free(got.body);

    /* A refund follows as refund.succeeded, to both endpoints that want it. */
    char path[128];
    snprintf(path, sizeof path, "/pos/v1/charges/%s/refunds", pay_id);
    struct ac_resp r = pos(f, &f->t, path, "{\"amount\":180}");
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    rx_wait(&f->rx, 2);
    rx_wait(&f->refunds_only, 1);
    pthread_mutex_lock(&f->rx.mu);
    ev = json_loads(f->rx.got[1].body, 0, NULL);
    assert_true(merchant_verifies(secret, f->rx.got[1].signature, f->rx.got[1].body, (int64_t)time(NULL)));
    pthread_mutex_unlock(&f->rx.mu);
    assert_non_null(ev);
    assert_string_equal(jpath(ev, "type", NULL, NULL), "refund.succeeded");
    assert_int_equal(jint(ev, "data", "refund", "amount"), 180);
    assert_int_equal(jint(ev, "data", "charge", "refunded"), 180);
    assert_string_equal(jpath(ev, "data", "charge", "status"), "partially_refunded");
    json_decref(ev);
    pthread_mutex_lock(&f->refunds_only.mu);
    assert_true(merchant_verifies(secret_refunds, f->refunds_only.got[0].signature, f->refunds_only.got[0].body,
                                  (int64_t)time(NULL)));
    assert_string_equal(f->refunds_only.got[0].event_id, f->rx.got[1].event_id);
    pthread_mutex_unlock(&f->refunds_only.mu);

    /* A charge voided at once: payment.succeeded, then charge.voided. */
    char void_id[40];
    charge(f, 300, void_id);
    snprintf(path, sizeof path, "/pos/v1/charges/%s/void", void_id);
    r = pos(f, &f->t, path, "{}");
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
    rx_wait(&f->rx, 4);
    pthread_mutex_lock(&f->rx.mu);
    ev = json_loads(f->rx.got[3].body, 0, NULL);
    assert_true(merchant_verifies(secret, f->rx.got[3].signature, f->rx.got[3].body, (int64_t)time(NULL)));
    pthread_mutex_unlock(&f->rx.mu);
    assert_non_null(ev);
    assert_string_equal(jpath(ev, "type", NULL, NULL), "charge.voided");
    assert_string_equal(jpath(ev, "data", "charge", "id"), void_id);
    assert_int_equal(jint(ev, "data", "refund", "amount"), 300);
    assert_string_equal(jpath(ev, "data", "charge", "status"), "voided");
    json_decref(ev);

    /* The other merchant's endpoint heard nothing, the refunds-only one
     * only the refund, and nothing came twice (counted once the server
     * and its webhook thread have stopped). */
    assert_int_equal(ac_cli(&f->s, "ledger verify >/dev/null"), 0);
    assert_int_equal(ac_server_stop(&f->s), 0);
    assert_int_equal(rx_count(&f->other), 0);
    assert_int_equal(rx_count(&f->refunds_only), 1);
    assert_int_equal(rx_count(&f->rx), 4);
    ac_assert_no_secrets(&f->s);
    ac_assert_audit_intact(&f->s);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_documented_example_signs_byte_for_byte),
        cmocka_unit_test(urls_and_event_lists_are_checked),
        cmocka_unit_test(a_failing_receiver_gets_retries_with_growing_delay),
        cmocka_unit_test(a_hung_receiver_does_not_hold_up_other_merchants),
        cmocka_unit_test(a_refused_event_does_not_hold_its_endpoint),
        cmocka_unit_test(endpoints_past_the_limit_are_refused),
        cmocka_unit_test_setup_teardown(a_charge_over_http_reaches_the_merchant_signed, fx_up, fx_down),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    oath_done();
    return rc;
}
