/* test_api_events.c: the customer's live feed, GET /v1/events, over HTTP
 * against a real kessaid (docs/notifications.md).
 *
 * A client thread holds the feed open (libcurl, a server-sent-events
 * stream) while the test tops up and pays at the register: each arrives on the
 * feed with its amount and an id; a reconnect with Last-Event-ID gets
 * what happened meanwhile and nothing before; another customer's payments
 * never appear; without a session the feed is refused; a payment made
 * through a second kessaid on the same database reaches a feed held on the
 * first; an open feed does not hold up a shutdown; a thief's feed ends when
 * the owner signs the thief's session out, and a customer's fifth feed
 * ends the oldest.  Waits are bounded
 * and end as soon as the text is there (no timed assertion).
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
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "api_client.h"
#include "pos/sign.h"
#include "testutil.h"

#define CODE_DIGITS 18

/* ---- a feed client ------------------------------------------------------------ */

struct feed {
    char url[128];
    char auth[128], device[128], last_id[80];
    char source[32];
    pthread_t thread;
    pthread_mutex_t mu;
    char text[65536];
    size_t len;
    atomic_bool stop;
    atomic_bool ended; /* the server closed it (or the client hung up) */
    long status;
    char content_type[64];
};

static size_t feed_write(char *p, size_t size, size_t n, void *ctx)
{
    struct feed *f = ctx;
    if (atomic_load(&f->stop))
        return 0; /* aborts the transfer: the client hangs up */
    pthread_mutex_lock(&f->mu);
    size_t k = size * n;
    if (f->len + k < sizeof f->text) {
        memcpy(f->text + f->len, p, k);
        f->len += k;
        f->text[f->len] = '\0';
    }
    pthread_mutex_unlock(&f->mu);
    return size * n;
}

static int feed_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    struct feed *f = ctx;
    return atomic_load(&f->stop) ? 1 : 0;
}

static void *feed_main(void *arg)
{
    struct feed *f = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, f->auth);
    h = curl_slist_append(h, f->device);
    if (f->last_id[0])
        h = curl_slist_append(h, f->last_id);
    curl_easy_setopt(c, CURLOPT_URL, f->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_INTERFACE, f->source);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, feed_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, feed_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L); /* a bound for a broken test, never reached when it passes */
    curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    pthread_mutex_lock(&f->mu);
    f->status = status;
    snprintf(f->content_type, sizeof f->content_type, "%s", ct ? ct : "");
    pthread_mutex_unlock(&f->mu);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    atomic_store(&f->ended, true);
    return NULL;
}

static void feed_open(struct feed *f, struct ac_server *s, const struct ac_user *u, const char *last_event_id)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    snprintf(f->url, sizeof f->url, "%s/v1/events", s->base);
    snprintf(f->auth, sizeof f->auth, "Authorization: Bearer %s", u->token);
    snprintf(f->device, sizeof f->device, "Kessai-Device: %s", u->device_id);
    if (last_event_id)
        snprintf(f->last_id, sizeof f->last_id, "Last-Event-ID: %s", last_event_id);
    snprintf(f->source, sizeof f->source, "%s", u->who.source);
    assert_int_equal(pthread_create(&f->thread, NULL, feed_main, f), 0);
}

static bool feed_has(struct feed *f, const char *needle)
{
    pthread_mutex_lock(&f->mu);
    bool yes = strstr(f->text, needle) != NULL;
    pthread_mutex_unlock(&f->mu);
    return yes;
}

/* Wait (bounded, over as soon as it is there) for needle on the feed. */
static void feed_wait(struct feed *f, const char *needle)
{
    for (int i = 0; i < 1500 && !feed_has(f, needle); i++)
        usleep(10000);
    if (!feed_has(f, needle))
        fail_msg("feed never showed %s; got: %s", needle, f->text);
}

/* Wait (bounded, over as soon as it is) for the server to end the feed. */
static void feed_wait_ended(struct feed *f)
{
    for (int i = 0; i < 1500 && !atomic_load(&f->ended); i++)
        usleep(10000);
    if (!atomic_load(&f->ended))
        fail_msg("the feed was never ended; got: %s", f->text);
}

static void feed_close(struct feed *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->mu);
}

/* The data line of the event whose text contains needle, parsed; and its id. */
static json_t *feed_event(struct feed *f, const char *needle, char id[64])
{
    pthread_mutex_lock(&f->mu);
    char *hit = strstr(f->text, needle);
    assert_non_null(hit);
    /* back to the start of this event ("id: " line) */
    char *start = hit;
    while (start > f->text && !(start[-1] == '\n' && start[-2] == '\n'))
        start--;
    char line[2048];
    assert_int_equal(sscanf(start, "id: %63s\nevent: %*s\ndata: %2047[^\n]", id, line), 2);
    pthread_mutex_unlock(&f->mu);
    json_t *j = json_loads(line, 0, NULL);
    assert_non_null(j);
    return j;
}

/* ---- the register ------------------------------------------------------------ */

struct fx {
    struct ac_server s;
    struct ac_terminal t;
    struct ac_user u, v;
    struct ac_who pos;
};

static struct ac_resp pos_at(struct fx *f, struct ac_server *srv, const char *path, const char *body)
{
    char sig[POS_SIG_HEX_LEN + 1], auth[300], key_line[128], nonce[33], key[40];
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(nonce, sizeof nonce, b, sizeof b);
    randombytes_buf(b, 12);
    memcpy(key, "pos-", 4);
    sodium_bin2hex(key + 4, 36, b, 12);
    int64_t ts = (int64_t)time(NULL);
    pos_sign(f->t.secret, "POST", path, ts, nonce, body, strlen(body), sig);
    snprintf(auth, sizeof auth, "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=%s,sig=%s", f->t.key_id,
             (long long)ts, nonce, sig);
    snprintf(key_line, sizeof key_line, "Idempotency-Key: %s", key);
    const char *headers[] = {auth, key_line, NULL};
    return ac_call_raw(srv, &f->pos, "POST", path, headers, body, false);
}

static struct ac_resp pos(struct fx *f, const char *path, const char *body) { return pos_at(f, &f->s, path, body); }

static void fund(struct fx *f, struct ac_user *u, int64_t amount)
{
    struct ac_resp r = ac_call(&f->s, &u->who, "POST", "/v1/topup-codes", json_object());
    AC_EXPECT_STATUS(r, 201);
    char code[32], body[128];
    snprintf(code, sizeof code, "%s", ac_str(&r, "code"));
    ac_remember(&f->s, code);
    ac_resp_free(&r);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"amount\":%lld}", code, (long long)amount);
    r = pos(f, "/pos/v1/cash-topups", body);
    AC_EXPECT_STATUS(r, 201);
    ac_resp_free(&r);
}

/* u pays amount at the register, both talking to node srv. */
static void pay_at(struct fx *f, struct ac_server *srv, struct ac_user *u, int64_t amount, char id[40])
{
    struct ac_resp r = ac_call(srv, &u->who, "POST", "/v1/paycodes", json_object());
    AC_EXPECT_STATUS(r, 201);
    char code[CODE_DIGITS + 1], body[256];
    snprintf(code, sizeof code, "%s", ac_str(&r, "code"));
    ac_remember(&f->s, code);
    ac_resp_free(&r);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"amount\":%lld}", code, (long long)amount);
    r = pos_at(f, srv, "/pos/v1/charges", body);
    AC_EXPECT_STATUS(r, 201);
    snprintf(id, 40, "%s", json_string_value(json_object_get(json_object_get(r.j, "charge"), "id")));
    ac_resp_free(&r);
}

static void pay(struct fx *f, struct ac_user *u, int64_t amount, char id[40]) { pay_at(f, &f->s, u, amount, id); }

static int fx_up(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    ac_server_init(&f->s);
    *state = f;
    json_t *m = ac_cli_json(&f->s, "admin merchant create --name 'Kessai Mart'");
    char mer[32], store[32], args[400];
    snprintf(mer, sizeof mer, "%s", json_string_value(json_object_get(m, "id")));
    json_decref(m);
    snprintf(args, sizeof args,
             "admin store create --merchant %s --name 'Tokyo Station' --address '1-9-1 Marunouchi, Chiyoda-ku, "
             "Tokyo' --lat 35.681236 --lon 139.767125 --category convenience",
             mer);
    json_t *st = ac_cli_json(&f->s, args);
    snprintf(store, sizeof store, "%s", json_string_value(json_object_get(st, "id")));
    json_decref(st);
    ac_make_terminal(&f->s, store, &f->t);
    ac_server_start(&f->s, (const char *[]){"KESSAI_TOPUP_NEW_DEVICE_DAILY_MAX=100000",
                                            "KESSAI_PAY_NEW_DEVICE_DAILY_MAX=100000", NULL});
    ac_user_enrolled(&f->s, &f->u, "feed");
    ac_user_enrolled(&f->s, &f->v, "other");
    f->pos = ac_new_source(&f->s);
    fund(f, &f->u, 5000);
    fund(f, &f->v, 5000);
    return 0;
}

static int fx_down(void **state)
{
    struct fx *f = *state;
    ac_server_cleanup(&f->s);
    free(f);
    return 0;
}

static void a_payment_arrives_on_the_feed_and_a_reconnect_resumes(void **state)
{
    struct fx *f = *state;
    struct feed a;
    feed_open(&a, &f->s, &f->u, NULL);
    feed_wait(&a, ": connected");
    /* what happened before the feed opened is not replayed (the first
     * top-up); a cash top-up now arrives */
    assert_false(feed_has(&a, "topup.credited"));
    fund(f, &f->u, 1000);
    feed_wait(&a, "event: topup.credited");
    assert_true(feed_has(&a, "\"amount\":1000"));
    assert_true(feed_has(&a, "\"balance_after\":6000"));
    char p1[40];
    pay(f, &f->u, 480, p1);
    feed_wait(&a, p1);
    char id1[64];
    json_t *ev = feed_event(&a, p1, id1);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "payment.debited");
    assert_int_equal(json_integer_value(json_object_get(ev, "amount")), 480);
    assert_int_equal(json_integer_value(json_object_get(ev, "balance_after")), 5520);
    assert_string_equal(json_string_value(json_object_get(ev, "store")), "Tokyo Station");
    assert_int_equal(strncmp(id1, "cev_", 4), 0);
    json_decref(ev);
    /* another customer pays meanwhile: never on this feed */
    char pv[40];
    pay(f, &f->v, 300, pv);
    char p2[40];
    pay(f, &f->u, 120, p2);
    feed_wait(&a, p2);
    assert_false(feed_has(&a, pv));
    assert_false(feed_has(&a, "\"amount\":300"));
    pthread_mutex_lock(&a.mu);
    assert_string_equal(a.content_type, ""); /* still open */
    pthread_mutex_unlock(&a.mu);
    feed_close(&a);
    assert_int_equal(a.status, 200);

    /* The phone was offline during a third payment; it reconnects with the
     * id of the first event it saw: it gets the second and the third (the
     * ones after that id), not the first again. */
    char p3[40];
    pay(f, &f->u, 50, p3);
    struct feed b;
    feed_open(&b, &f->s, &f->u, id1);
    feed_wait(&b, p3);
    assert_true(feed_has(&b, p2));
    assert_false(feed_has(&b, p1));
    assert_false(feed_has(&b, pv));
    feed_close(&b);

    /* the other customer's feed from the first event on: only its own
     * (its top-up, its payment) */
    struct feed c;
    feed_open(&c, &f->s, &f->v, "cev_0000000000001");
    feed_wait(&c, "event: topup.credited");
    feed_wait(&c, pv);
    assert_false(feed_has(&c, p1));
    assert_false(feed_has(&c, p2));
    feed_close(&c);
    assert_int_equal(ac_server_stop(&f->s), 0);
    ac_assert_no_secrets(&f->s);
}

static void the_feed_needs_a_session_and_a_valid_last_event_id(void **state)
{
    struct fx *f = *state;
    struct ac_who anon = ac_new_source(&f->s);
    struct ac_resp r = ac_call(&f->s, &anon, "GET", "/v1/events", NULL);
    AC_EXPECT_ERROR(r, 401, "unauthenticated");
    ac_resp_free(&r);
    const char *bad[] = {"Last-Event-ID: 42", NULL};
    r = ac_call_raw(&f->s, &f->u.who, "GET", "/v1/events", bad, NULL, false);
    AC_EXPECT_ERROR(r, 400, "invalid_param");
    ac_resp_free(&r);
    /* an open feed does not hold up a shutdown */
    struct feed a;
    feed_open(&a, &f->s, &f->u, NULL);
    feed_wait(&a, ": connected");
    assert_int_equal(ac_server_stop(&f->s), 0);
    feed_close(&a);
}

/* A thief signed in on their own phone (password and a code, this once)
 * holds the owner's feed open to watch where the owner pays.  The owner
 * signs that session out: the feed ends, nothing the owner does after it
 * reaches the thief, and it cannot be opened again.  Nor can one customer
 * take the node's feeds: a fifth feed ends that customer's oldest. */
static void a_feed_ends_with_its_session_and_a_customer_holds_few(void **state)
{
    struct fx *f = *state;
    struct ac_user thief = f->u;
    struct ac_device phone;
    ac_device_new(&phone, "thief");
    ac_login(&f->s, &thief, &phone);
    struct feed t, own;
    feed_open(&t, &f->s, &thief, NULL);
    feed_open(&own, &f->s, &f->u, NULL);
    feed_wait(&t, ": connected");
    feed_wait(&own, ": connected");
    char p1[40];
    pay(f, &f->u, 110, p1);
    feed_wait(&t, p1); /* the thief sees it while the session lives */

    char path[128];
    snprintf(path, sizeof path, "/v1/sessions/%s", thief.session_id);
    struct ac_resp r = ac_call(&f->s, &f->u.who, "DELETE", path, NULL);
    assert_int_equal(r.status, 204);
    ac_resp_free(&r);
    char p2[40];
    pay(f, &f->u, 220, p2);
    feed_wait(&own, p2);
    feed_wait_ended(&t);
    assert_false(feed_has(&t, p2));
    assert_false(feed_has(&t, "\"amount\":220"));
    assert_true(ac_log_count(&f->s, "\"live_feed_ended\"") >= 1);
    feed_close(&t);
    r = ac_call(&f->s, &thief.who, "GET", "/v1/events", NULL);
    AC_EXPECT_ERROR(r, 401, "unauthenticated");
    ac_resp_free(&r);

    /* the owner's own feed plus three more are the most it holds: a fifth
     * ends the oldest (the first), the others stay open and live */
    struct feed more[4];
    for (int i = 0; i < 4; i++) {
        feed_open(&more[i], &f->s, &f->u, NULL);
        feed_wait(&more[i], ": connected");
    }
    feed_wait_ended(&own);
    char p3[40];
    pay(f, &f->u, 330, p3);
    for (int i = 0; i < 4; i++) {
        feed_wait(&more[i], p3);
        assert_false(atomic_load(&more[i].ended));
        feed_close(&more[i]);
    }
    assert_false(feed_has(&own, p3));
    feed_close(&own);
}

/* A second kessaid shares the database: a payment made through it reaches
 * the feed held open on the first (the store is the source of truth; the
 * first node's hub sees the newer event id on its next look). */
static void a_payment_on_another_node_reaches_the_feed(void **state)
{
    struct fx *f = *state;
    struct ac_server *n2 = calloc(1, sizeof *n2);
    assert_non_null(n2);
    ac_server_init(n2);
    snprintf(n2->data, sizeof n2->data, "%s", f->s.data);
    ac_server_start(n2, (const char *[]){"KESSAI_TOPUP_NEW_DEVICE_DAILY_MAX=100000",
                                         "KESSAI_PAY_NEW_DEVICE_DAILY_MAX=100000", NULL});
    struct feed a;
    feed_open(&a, &f->s, &f->u, NULL);
    feed_wait(&a, ": connected");
    char p[40];
    pay_at(f, n2, &f->u, 230, p);
    feed_wait(&a, p);
    assert_true(feed_has(&a, "\"amount\":230"));
    feed_close(&a);
    assert_int_equal(ac_server_stop(n2), 0);
    ac_server_cleanup(n2);
    free(n2);
}

/* A raw connection to the server under test. */
static int raw_connect(const struct ac_server *s)
{
    int port = atoi(strrchr(s->base, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* A feed whose request is complete only once the drain began (its one
 * byte of body held back until then) must not keep kessaid from stopping
 * cleanly: it is answered and ended at once, and kessaid exits 0 (MHD
 * aborted the process, exit 134, when stopped with that feed asleep). */
static void a_feed_opened_while_stopping_ends_at_once(void **state)
{
    struct fx *f = *state;
    int fd = raw_connect(&f->s);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nKessai-Device: %s\r\n"
                     "Content-Length: 1\r\n\r\n",
                     f->u.token, f->u.device_id);
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    usleep(300 * 1000);
    pid_t pid = f->s.pid;
    assert_int_equal(kill(pid, SIGTERM), 0);
    usleep(300 * 1000);
    assert_int_equal(send(fd, "x", 1, MSG_NOSIGNAL), 1);
    char buf[4096];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fd);
    assert_non_null(strstr(buf, "HTTP/1.1 ")); /* answered, and the connection closed */
    assert_int_equal(ac_server_wait_exit(&f->s, 30000), 0);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_payment_arrives_on_the_feed_and_a_reconnect_resumes, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(the_feed_needs_a_session_and_a_valid_last_event_id, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(a_feed_opened_while_stopping_ends_at_once, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(a_payment_on_another_node_reaches_the_feed, fx_up, fx_down),
        cmocka_unit_test_setup_teardown(a_feed_ends_with_its_session_and_a_customer_holds_few, fx_up, fx_down),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    oath_done();
    return rc;
}
