/* test_notify.c: queued mail that failed to go out is retried in the
 * background, exactly once per message, after a growing back-off, and given
 * up in the end; one message that fails does not hold back the others; a
 * wake delivers at once; the SMTP sender talks to a relay. */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sodium.h>

#include "notify/deliverer.h"
#include "notify/feed.h"
#include "notify/outbox.h"
#include "notify/smtp.h"
#include "testutil.h"
#include "util/timeutil.h"

struct flaky {
    pthread_mutex_t mu;
    int fail_first;        /* refuse this many rounds, like a full disk */
    const char *refuse_to; /* refuse every message to this address, like a mail server that rejects it */
    int refused;
    int sent;
    int rounds;
    char last_to[128];
};

/* Like the spool, a round fails as a whole (fail_first); like a relay,
 * one refused address fails alone (refuse_to). */
static void flaky_send(void *ctx, const struct notify_message *msgs, size_t n, enum err *result)
{
    struct flaky *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->rounds++;
    bool down = f->fail_first > 0;
    if (down)
        f->fail_first--;
    for (size_t i = 0; i < n; i++) {
        result[i] = ERR_IO;
        if (down) {
            continue;
        } else if (f->refuse_to && strcmp(msgs[i].to, f->refuse_to) == 0) {
            f->refused++;
        } else {
            f->sent++;
            snprintf(f->last_to, sizeof f->last_to, "%s", msgs[i].to);
            result[i] = ERR_OK;
        }
    }
    pthread_mutex_unlock(&f->mu);
}

static int sent(struct flaky *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->sent;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static void failed_mail_is_retried_in_the_background_once(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct flaky f = {.mu = PTHREAD_MUTEX_INITIALIZER, .fail_first = 1};
    struct notify_sender sender = {flaky_send, &f};

    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(notify_enqueue(st, mk, time_now_ms(), "hanako@example.jp", "Your code", "123456"), ERR_OK);
    assert_int_equal(st->ops->commit(st), ERR_OK);
    /* the request's own delivery fails: the message stays queued, due
     * again after a (here short) back-off */
    const struct notify_retry fast = {10, 10, 20, INT64_C(86400000)};
    assert_int_not_equal(notify_deliver_pending_retry(st, mk, &sender, &fast, time_now_ms(), NULL), ERR_OK);
    assert_int_equal(sent(&f), 0);

    struct notify_deliverer *d = NULL;
    assert_int_equal(notify_deliverer_start(tu_open_store(dir), mk, &sender, &fast, 20, &d), ERR_OK);
    for (int i = 0; i < 250 && sent(&f) == 0; i++)
        usleep(20000);
    usleep(100000); /* several more rounds: none may send it again */
    notify_deliverer_stop(d);
    assert_int_equal(sent(&f), 1);
    assert_string_equal(f.last_to, "hanako@example.jp");
    size_t n = 99;
    assert_int_equal(notify_deliver_pending(st, mk, &sender, time_now_ms(), &n), ERR_OK);
    assert_int_equal(n, 0);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

/* A round is marked sent only once the sender made it durable, and the
 * sender gets the round at once (one call, not one per message). */
static void a_round_is_sent_only_once_the_sender_took_it(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct flaky f = {.mu = PTHREAD_MUTEX_INITIALIZER, .fail_first = 1};
    struct notify_sender sender = {flaky_send, &f};
    assert_int_equal(st->ops->begin(st), ERR_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(notify_enqueue(st, mk, time_now_ms(), "hanako@example.jp", "Paid", "at the store"), ERR_OK);
    assert_int_equal(st->ops->commit(st), ERR_OK);

    int64_t t = time_now_ms();
    size_t n = 99;
    assert_int_equal(notify_deliver_pending(st, mk, &sender, t, &n), ERR_IO);
    assert_int_equal(n, 0);
    assert_int_equal(f.rounds, 1);
    /* after the back-off all five go, in one round, and only once */
    assert_int_equal(notify_deliver_pending(st, mk, &sender, t + 30000, &n), ERR_OK);
    assert_int_equal(n, 5);
    assert_int_equal(f.rounds, 2);
    assert_int_equal(notify_deliver_pending(st, mk, &sender, t + 60000, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sent(&f), 5);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

static void stop_is_prompt_with_a_long_interval(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    uint8_t mk[MASTERKEY_BYTES] = {0};
    struct flaky f = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct notify_sender sender = {flaky_send, &f};
    struct notify_deliverer *d = NULL;
    assert_int_equal(notify_deliverer_start(tu_open_store(dir), mk, &sender, NULL, 3600 * 1000, &d), ERR_OK);
    int64_t t0 = time_mono_ns();
    notify_deliverer_stop(d);
    /* not a timing assertion on speed: only that stop does not wait out the hour */
    assert_true(time_mono_ns() - t0 < INT64_C(60) * 1000000000);
    tu_rmtree(dir);
    free(dir);
}

/* Regression: when the store failed to list pending mail, the count of
 * delivered messages wrapped around to SIZE_MAX. */
static enum err failing_pending(struct store *st, int64_t after_id, int64_t now, size_t max, struct outbox_msg *out,
                               size_t *n)
{
    (void)st;
    (void)after_id;
    (void)now;
    (void)max;
    (void)out;
    *n = 0;
    return ERR_STORE;
}

static void a_store_failure_delivers_nothing_and_counts_nothing(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct flaky f = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct notify_sender sender = {flaky_send, &f};
    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(notify_enqueue(st, mk, time_now_ms(), "hanako@example.jp", "Your code", "123456"), ERR_OK);
    assert_int_equal(st->ops->commit(st), ERR_OK);
    const struct store_ops *real = st->ops;
    struct store_ops broken = *real;
    broken.outbox_pending = failing_pending;
    st->ops = &broken;
    size_t n = 99;
    assert_int_equal(notify_deliver_pending(st, mk, &sender, time_now_ms(), &n), ERR_STORE);
    assert_int_equal(n, 0);
    st->ops = real;
    assert_int_equal(sent(&f), 0);
    assert_int_equal(notify_deliver_pending(st, mk, &sender, time_now_ms(), &n), ERR_OK);
    assert_int_equal(n, 1);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

static void enqueue(struct store *st, const uint8_t *mk, const char *to)
{
    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(notify_enqueue(st, mk, time_now_ms(), to, "Notice", "body"), ERR_OK);
    assert_int_equal(st->ops->commit(st), ERR_OK);
}

/* Regression: delivery stopped at the first message that failed, so one
 * address the mail server rejects held back every message queued after it,
 * for good. */
static void one_undeliverable_message_does_not_hold_back_the_rest(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct flaky f = {.mu = PTHREAD_MUTEX_INITIALIZER, .refuse_to = "rejected@example.jp"};
    struct notify_sender sender = {flaky_send, &f};
    enqueue(st, mk, "first@example.jp");
    enqueue(st, mk, "rejected@example.jp");
    enqueue(st, mk, "third@example.jp");
    int64_t t0 = time_now_ms();
    size_t n = 99;
    assert_int_equal(notify_deliver_pending(st, mk, &sender, t0, &n), ERR_IO);
    assert_int_equal(n, 2);
    assert_int_equal(sent(&f), 2);
    assert_string_equal(f.last_to, "third@example.jp");
    /* The failed one stays queued and is tried again, alone, once its
     * back-off is over (30 s after the first failure). */
    assert_int_equal(notify_deliver_pending(st, mk, &sender, t0 + 30000, &n), ERR_IO);
    assert_int_equal(n, 0);
    assert_int_equal(f.refused, 2);
    assert_int_equal(sent(&f), 2);
    /* Once the server takes it, it goes, exactly once. */
    f.refuse_to = NULL;
    assert_int_equal(notify_deliver_pending(st, mk, &sender, t0 + 90000, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(f.last_to, "rejected@example.jp");
    assert_int_equal(notify_deliver_pending(st, mk, &sender, t0 + 200000, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sent(&f), 3);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

/* More failing messages than one batch of the store's still let the next
 * one through: the walk pages past them. */
static void a_batch_full_of_failures_is_walked_past(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct flaky f = {.mu = PTHREAD_MUTEX_INITIALIZER, .refuse_to = "rejected@example.jp"};
    struct notify_sender sender = {flaky_send, &f};
    for (int i = 0; i < 40; i++)
        enqueue(st, mk, "rejected@example.jp");
    enqueue(st, mk, "last@example.jp");
    size_t n = 0;
    assert_int_equal(notify_deliver_pending(st, mk, &sender, time_now_ms(), &n), ERR_IO);
    assert_int_equal(n, 1);
    assert_int_equal(f.refused, 40);
    assert_string_equal(f.last_to, "last@example.jp");
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

/* Login and the other calls that answer strangers leave their mail queued
 * and wake the thread (auth_ctx.h): a wake must not wait for the interval. */
static void a_wake_delivers_without_waiting_for_the_interval(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct flaky f = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct notify_sender sender = {flaky_send, &f};
    struct notify_deliverer *d = NULL;
    assert_int_equal(notify_deliverer_start(tu_open_store(dir), mk, &sender, NULL, 3600 * 1000, &d), ERR_OK);
    struct notify_wake w = notify_deliverer_waker(d);
    for (int round = 1; round <= 3; round++) {
        enqueue(st, mk, "hanako@example.jp");
        w.wake(w.ctx);
        /* bounded wait for a thread: generous, and over as soon as it sent */
        for (int i = 0; i < 1000 && sent(&f) < round; i++)
            usleep(10000);
        assert_int_equal(sent(&f), round);
    }
    notify_deliverer_wake(NULL); /* NULL-safe */
    notify_deliverer_stop(d);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

/* The notification threads' round protocol (deliverer.h), on a thread of
 * its own: an ask is never lost, asks that come together make one round,
 * and two rounds never start closer than NOTIFY_ROUND_GAP_MS. */
struct rounds {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    atomic_bool woken;
    atomic_int n;
    int64_t start_ns[8];
};

static void *rounds_main(void *arg)
{
    struct rounds *r = arg;
    int64_t last = 0;
    pthread_mutex_lock(&r->mu);
    while (notify_round_wait(&r->cv, &r->mu, &r->stopping, &r->woken, 3600 * 1000, &last)) {
        int k = atomic_load(&r->n);
        if (k < 8)
            r->start_ns[k] = last;
        atomic_fetch_add(&r->n, 1);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void wait_rounds(struct rounds *r, int n)
{
    /* bounded (10 s) and fine-grained: the next asks must come well
     * within the gap */
    for (int i = 0; i < 100000 && atomic_load(&r->n) < n; i++)
        usleep(100);
    assert_true(atomic_load(&r->n) >= n);
}

static void asks_are_never_lost_and_rounds_keep_their_gap(void **state)
{
    (void)state;
    static struct rounds r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    time_mono_cond_init(&r.cv);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, rounds_main, &r), 0);
    /* the interval is an hour: only the asks can start these rounds */
    notify_round_ask(&r.cv, &r.mu, &r.woken);
    wait_rounds(&r, 1);
    for (int i = 0; i < 100; i++)
        notify_round_ask(&r.cv, &r.mu, &r.woken);
    wait_rounds(&r, 2);
    assert_true(r.start_ns[1] - r.start_ns[0] >= NOTIFY_ROUND_GAP_MS * INT64_C(1000000));
    assert_true(atomic_load(&r.n) < 50); /* a hundred asks, a few rounds */
    /* stopping ends the wait, in the gap or not */
    int before = atomic_load(&r.n);
    notify_round_ask(&r.cv, &r.mu, &r.woken);
    pthread_mutex_lock(&r.mu);
    r.stopping = true;
    pthread_cond_signal(&r.cv);
    pthread_mutex_unlock(&r.mu);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(atomic_load(&r.n) <= before + 1);
    pthread_cond_destroy(&r.cv);
}

/* The schedule itself: 30 s doubling, capped at an hour. */
static void the_back_off_doubles_up_to_its_cap(void **state)
{
    (void)state;
    const struct notify_retry r = NOTIFY_RETRY_DEFAULT;
    assert_int_equal(notify_retry_delay(&r, 1), 30000);
    assert_int_equal(notify_retry_delay(&r, 2), 60000);
    assert_int_equal(notify_retry_delay(&r, 3), 120000);
    assert_int_equal(notify_retry_delay(&r, 8), 3600000);
    assert_int_equal(notify_retry_delay(&r, 1000), 3600000);
    assert_false(notify_retry_dead(&r, 19, 0, 1000));
    assert_true(notify_retry_dead(&r, 20, 0, 1000));
    assert_true(notify_retry_dead(&r, 1, 0, 3 * INT64_C(86400000)));
}

/* A mail server that refuses everything is not hammered: between the
 * growing waits nothing is tried, and after max_attempts the message is
 * given up, logged by its ref and never its content. */
static void a_dead_receiver_is_not_hammered_and_the_message_is_given_up(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    struct flaky f = {.mu = PTHREAD_MUTEX_INITIALIZER, .refuse_to = "gone@example.jp"};
    struct notify_sender sender = {flaky_send, &f};
    const struct notify_retry r = {1000, 4000, 5, INT64_C(86400000)};
    enqueue(st, mk, "gone@example.jp");
    int64_t t = time_now_ms(), waits[] = {1000, 2000, 4000, 4000};
    size_t n = 0;
    struct tu_capture cap;
    tu_capture_start(&cap, dir);
    for (int attempt = 1; attempt <= 5; attempt++) {
        assert_int_equal(notify_deliver_pending_retry(st, mk, &sender, &r, t, &n), ERR_IO);
        assert_int_equal(f.refused, attempt);
        if (attempt == 5)
            break;
        /* just before the wait is over: nothing is tried */
        assert_int_equal(notify_deliver_pending_retry(st, mk, &sender, &r, t + waits[attempt - 1] - 1, &n), ERR_OK);
        assert_int_equal(f.refused, attempt);
        t += waits[attempt - 1];
    }
    /* given up: never tried again, however late */
    assert_int_equal(notify_deliver_pending_retry(st, mk, &sender, &r, t + INT64_C(86400000), &n), ERR_OK);
    assert_int_equal(f.refused, 5);
    char *log = tu_capture_stop(&cap);
    assert_non_null(strstr(log, "outbox_message_dead"));
    assert_null(strstr(log, "gone@example.jp"));
    free(log);
    struct outbox_msg m;
    assert_int_equal(st->ops->outbox_pending(st, 0, INT64_MAX, 1, &m, &n), ERR_OK);
    assert_int_equal(n, 0);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

/* ---- SMTP ------------------------------------------------------------------ */

/* A one-connection SMTP server on loopback that accepts one message (or
 * refuses the recipient) and keeps what came after DATA. */
struct fake_smtp {
    int lfd;
    uint16_t port;
    bool refuse;
    char data[4096];
    char rcpt[256];
    pthread_t thread;
};

static bool smtp_line(int fd, char *buf, size_t n)
{
    size_t i = 0;
    while (i + 1 < n) {
        char c;
        if (read(fd, &c, 1) != 1)
            return false;
        buf[i++] = c;
        if (c == '\n')
            break;
    }
    buf[i] = '\0';
    return true;
}

static void say_smtp(int fd, const char *s) { assert_true(write(fd, s, strlen(s)) == (ssize_t)strlen(s)); }

static void *fake_smtp_main(void *arg)
{
    struct fake_smtp *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char line[1024];
    say_smtp(fd, "220 fake ESMTP\r\n");
    while (smtp_line(fd, line, sizeof line)) {
        if (strncasecmp(line, "EHLO", 4) == 0 || strncasecmp(line, "HELO", 4) == 0) {
            say_smtp(fd, "250 fake\r\n");
        } else if (strncasecmp(line, "MAIL FROM", 9) == 0) {
            say_smtp(fd, "250 ok\r\n");
        } else if (strncasecmp(line, "RCPT TO", 7) == 0) {
            snprintf(f->rcpt, sizeof f->rcpt, "%.200s", line);
            say_smtp(fd, f->refuse ? "550 no such user\r\n" : "250 ok\r\n");
        } else if (strncasecmp(line, "DATA", 4) == 0) {
            say_smtp(fd, "354 go on\r\n");
            size_t used = 0;
            while (smtp_line(fd, line, sizeof line) && strcmp(line, ".\r\n") != 0) {
                size_t l = strlen(line);
                if (used + l < sizeof f->data) {
                    memcpy(f->data + used, line, l + 1);
                    used += l;
                }
            }
            say_smtp(fd, "250 queued\r\n");
        } else if (strncasecmp(line, "QUIT", 4) == 0) {
            say_smtp(fd, "221 bye\r\n");
            break;
        } else {
            say_smtp(fd, "250 ok\r\n");
        }
    }
    close(fd);
    return NULL;
}

static void fake_smtp_start(struct fake_smtp *f, bool refuse)
{
    memset(f, 0, sizeof *f);
    f->refuse = refuse;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &len), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(listen(f->lfd, 1), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_smtp_main, f), 0);
}

static void fake_smtp_stop(struct fake_smtp *f)
{
    pthread_join(f->thread, NULL);
    close(f->lfd);
}

/* The SMTP sender hands a queued message to a relay: the customer's
 * address as recipient, a UTF-8 body with CRLF lines, the outbox ref as
 * Message-ID; a relay that refuses leaves it queued for a retry. */
static void mail_goes_out_through_an_smtp_relay(void **state)
{
    (void)state;
    assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    struct smtp s;
    assert_int_equal(smtp_open(&s, "ftp://127.0.0.1", "kessai@example.jp", "", ""), ERR_INVALID_PARAM);
    assert_int_equal(smtp_open(&s, "smtp://127.0.0.1", "Kessai <kessai@example.jp>", "", ""), ERR_INVALID_PARAM);
    assert_int_equal(smtp_open(&s, "smtp://", "kessai@example.jp", "", ""), ERR_INVALID_PARAM);
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(notify_enqueue(st, mk, time_now_ms(), "hanako@example.jp", "You paid with your kessai wallet",
                                    "You paid 480 yen.\nYour balance is now 520 yen."),
                     ERR_OK);
    assert_int_equal(st->ops->commit(st), ERR_OK);

    struct fake_smtp f;
    fake_smtp_start(&f, true);
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%u", (unsigned)f.port);
    assert_int_equal(smtp_open(&s, url, "kessai@example.jp", "", ""), ERR_OK);
    struct notify_sender sender = smtp_sender(&s);
    int64_t t = time_now_ms();
    size_t n = 9;
    assert_int_equal(notify_deliver_pending(st, mk, &sender, t, &n), ERR_IO);
    assert_int_equal(n, 0);
    fake_smtp_stop(&f);

    fake_smtp_start(&f, false);
    snprintf(url, sizeof url, "smtp://127.0.0.1:%u", (unsigned)f.port);
    assert_int_equal(smtp_open(&s, url, "kessai@example.jp", "", ""), ERR_OK);
    assert_int_equal(notify_deliver_pending(st, mk, &sender, t + 30000, &n), ERR_OK);
    assert_int_equal(n, 1);
    fake_smtp_stop(&f);
    assert_non_null(strstr(f.rcpt, "<hanako@example.jp>"));
    assert_non_null(strstr(f.data, "From: <kessai@example.jp>\r\nTo: <hanako@example.jp>\r\n"
                                   "Subject: You paid with your kessai wallet\r\nMessage-ID: <"));
    assert_non_null(strstr(f.data, "charset=UTF-8\r\n"));
    assert_non_null(strstr(f.data, "\r\n\r\nYou paid 480 yen.\r\nYour balance is now 520 yen.\r\n"));
    store_close(st);
    tu_rmtree(dir);
    free(dir);
    curl_global_cleanup();
}

/* ---- the live feed's hub ------------------------------------------------------ */

static void count_wake(void *ctx) { atomic_fetch_add((atomic_int *)ctx, 1); }

/* More events than a feed's buffer holds, for two customers, interleaved:
 * the feed gets each of its customer's events once, in order, as it reads
 * (the rest waits in the store), and never the other customer's. */
static void a_slow_feed_gets_every_event_once_in_order(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    struct feed_hub *h = NULL;
    assert_int_equal(feed_hub_start(tu_open_store(dir), 4, 10, 3600000, &h), ERR_OK);
    atomic_int wakes = 0;
    struct feed_sub *sub = NULL;
    assert_int_equal(feed_hub_subscribe(h, 7, 0, count_wake, NULL, &wakes, &sub), ERR_OK);
    /* the bound: four open feeds at most */
    struct feed_sub *more[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(feed_hub_subscribe(h, 100 + i, 0, count_wake, NULL, &wakes, &more[i]), ERR_OK);
    struct feed_sub *extra = NULL;
    assert_int_equal(feed_hub_subscribe(h, 200, 0, count_wake, NULL, &wakes, &extra), ERR_BUSY);
    for (int i = 0; i < 3; i++)
        feed_hub_unsubscribe(h, more[i]);

    assert_int_equal(st->ops->begin(st), ERR_OK);
    for (int i = 1; i <= 300; i++) {
        json_t *d = json_pack("{s:i, s:s}", "n", i, "pad", "................................................................");
        assert_int_equal(feed_queue(st, time_now_ms(), 7, "payment.debited", json_incref(d)), ERR_OK);
        assert_int_equal(feed_queue(st, time_now_ms(), 8, "payment.debited", d), ERR_OK);
    }
    assert_int_equal(st->ops->commit(st), ERR_OK);
    feed_hub_wake(h);
    static char all[200000];
    size_t len = 0;
    bool closed = false;
    for (int i = 0; i < 3000 && strstr(all, "\"n\":300,") == NULL; i++) {
        char buf[4096];
        size_t n = feed_sub_read(h, sub, buf, sizeof buf - 1, &closed);
        assert_true(len + n < sizeof all);
        memcpy(all + len, buf, n);
        len += n;
        all[len] = '\0';
        if (n == 0)
            usleep(10000);
    }
    assert_true(atomic_load(&wakes) > 0);
    /* 1..300 of customer 7, each once, in order */
    const char *p = all;
    for (int i = 1; i <= 300; i++) {
        char want[32];
        snprintf(want, sizeof want, "\"n\":%d,", i);
        const char *q = strstr(p, want);
        if (q == NULL)
            fail_msg("event %d missing or out of order", i);
        p = q + strlen(want);
        if (strstr(p, want) != NULL)
            fail_msg("event %d came twice", i);
    }
    /* customer 8's events were events 2, 4, … of the table: none is here */
    assert_null(strstr(all, "id: cev_0000000000002\n"));
    assert_non_null(strstr(all, "id: cev_0000000000001\n"));
    feed_hub_unsubscribe(h, sub);
    feed_hub_stop(h);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failed_mail_is_retried_in_the_background_once),
        cmocka_unit_test(stop_is_prompt_with_a_long_interval),
        cmocka_unit_test(a_round_is_sent_only_once_the_sender_took_it),
        cmocka_unit_test(a_store_failure_delivers_nothing_and_counts_nothing),
        cmocka_unit_test(one_undeliverable_message_does_not_hold_back_the_rest),
        cmocka_unit_test(a_batch_full_of_failures_is_walked_past),
        cmocka_unit_test(a_wake_delivers_without_waiting_for_the_interval),
        cmocka_unit_test(asks_are_never_lost_and_rounds_keep_their_gap),
        cmocka_unit_test(the_back_off_doubles_up_to_its_cap),
        cmocka_unit_test(a_dead_receiver_is_not_hammered_and_the_message_is_given_up),
        cmocka_unit_test(mail_goes_out_through_an_smtp_relay),
        cmocka_unit_test(a_slow_feed_gets_every_event_once_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
