/* test_api_infra.c: the API's own machinery, without HTTP: the per-address
 * token bucket (api/ratelimit.h) and the authentication worker pool
 * (api/workers.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api/ratelimit.h"
#include "api/workers.h"
#include "testutil.h"

/* ---- rate limiting ----------------------------------------------------- */

static struct ratelimit *new_limiter(size_t slots)
{
    struct ratelimit *rl = NULL;
    struct ratelimit_opts o = {.burst = RATELIMIT_BURST, .per_second = RATELIMIT_PER_SECOND, .slots = slots};
    assert_int_equal(ratelimit_new(&o, &rl), ERR_OK);
    return rl;
}

static void test_burst_then_refusal_with_retry_after(void **state)
{
    (void)state;
    struct ratelimit *rl = new_limiter(RATELIMIT_SLOTS);
    int64_t now = 1000000, retry = 0;
    for (int i = 0; i < RATELIMIT_BURST; i++)
        assert_true(ratelimit_take(rl, "198.51.100.7", now, &retry));
    assert_false(ratelimit_take(rl, "198.51.100.7", now, &retry));
    assert_int_equal(retry, 1);
    /* another client is not affected */
    assert_true(ratelimit_take(rl, "198.51.100.8", now, &retry));
    /* half a second buys nothing, a whole one buys one token */
    assert_false(ratelimit_take(rl, "198.51.100.7", now + 500, &retry));
    assert_int_equal(retry, 1);
    assert_true(ratelimit_take(rl, "198.51.100.7", now + 1000, &retry));
    assert_false(ratelimit_take(rl, "198.51.100.7", now + 1000, &retry));
    /* a long idle refills to the burst, never beyond */
    int n = 0;
    while (ratelimit_take(rl, "198.51.100.7", now + 86400000LL * 365, &retry))
        n++;
    assert_int_equal(n, RATELIMIT_BURST);
    /* a clock that steps back gives nothing */
    assert_false(ratelimit_take(rl, "198.51.100.7", now, &retry));
    ratelimit_free(rl);
}

static void test_ipv6_limited_per_64(void **state)
{
    (void)state;
    struct ratelimit *rl = new_limiter(RATELIMIT_SLOTS);
    int64_t retry = 0;
    char addr[64];
    for (int i = 0; i < RATELIMIT_BURST; i++) {
        snprintf(addr, sizeof addr, "2001:db8:1:2::%x", i + 1);
        assert_true(ratelimit_take(rl, addr, 5000, &retry));
    }
    assert_false(ratelimit_take(rl, "2001:db8:1:2:ffff::1", 5000, &retry));
    assert_true(ratelimit_take(rl, "2001:db8:1:3::1", 5000, &retry));
    ratelimit_free(rl);
}

static void test_memory_is_bounded_and_drained_buckets_survive_a_flood(void **state)
{
    (void)state;
    struct ratelimit *rl = new_limiter(16);
    int64_t retry = 0, now = 10000;
    for (int i = 0; i < RATELIMIT_BURST; i++)
        assert_true(ratelimit_take(rl, "192.0.2.1", now, &retry));
    /* A flood of one-shot addresses, far more than the table holds: each
     * takes one token and so is never "full"; the drained victim is the
     * least recently used and may be forgotten, which is the documented
     * price.  What must hold: no crash, no growth, and fresh addresses
     * keep being served. */
    char addr[64];
    for (int i = 0; i < 100000; i++) {
        snprintf(addr, sizeof addr, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        assert_true(ratelimit_take(rl, addr, now, &retry));
    }
    /* While full buckets are there to take, a drained one is never the
     * one given away: 15 idle full buckets, one drained victim, then a few
     * newcomers (every probe window of 8 in 16 slots still holds a full
     * bucket for each of them). */
    struct ratelimit *rl2 = new_limiter(16);
    for (int i = 0; i < 15; i++) {
        snprintf(addr, sizeof addr, "10.0.0.%d", i);
        assert_true(ratelimit_take(rl2, addr, now, &retry));
    }
    for (int i = 0; i < RATELIMIT_BURST; i++)
        assert_true(ratelimit_take(rl2, "192.0.2.1", now + 5000, &retry));
    for (int i = 0; i < 4; i++) {
        snprintf(addr, sizeof addr, "10.1.0.%d", i);
        assert_true(ratelimit_take(rl2, addr, now + 5000, &retry));
    }
    assert_false(ratelimit_take(rl2, "192.0.2.1", now + 5000, &retry));
    ratelimit_free(rl);
    ratelimit_free(rl2);
}

/* Regression: a lookup's scan refilled the buckets it passed and stamped
 * them with the current time, so "least recently used" became "first in the
 * probe window": a client drained just now could be evicted (and so handed a
 * full bucket) ahead of buckets idle for longer. */
static void test_the_most_recently_used_bucket_is_not_evicted_first(void **state)
{
    (void)state;
    char addr[64];
    int64_t retry = 0;
    for (int trial = 0; trial < 40; trial++) {
        struct ratelimit *rl = new_limiter(16);
        /* 15 clients take one token at t=0: none is full again before t=1000. */
        for (int i = 0; i < 15; i++) {
            snprintf(addr, sizeof addr, "10.%d.0.%d", trial, i);
            assert_true(ratelimit_take(rl, addr, 0, &retry));
        }
        /* The victim drains its bucket later: the most recently used. */
        for (int i = 0; i < RATELIMIT_BURST; i++)
            assert_true(ratelimit_take(rl, "192.0.2.1", 500, &retry));
        /* A few newcomers must take over idle buckets, never the drained one. */
        for (int i = 0; i < 4; i++) {
            snprintf(addr, sizeof addr, "10.%d.1.%d", trial, i);
            assert_true(ratelimit_take(rl, addr, 600 + i, &retry));
        }
        assert_false(ratelimit_take(rl, "192.0.2.1", 700, &retry));
        ratelimit_free(rl);
    }
}

static void *hammer(void *p)
{
    struct ratelimit *rl = p;
    int64_t retry;
    int allowed = 0;
    for (int i = 0; i < 1000; i++)
        allowed += ratelimit_take(rl, "203.0.113.5", 42, &retry);
    return (void *)(intptr_t)allowed;
}

static void test_concurrent_takes_never_exceed_the_burst(void **state)
{
    (void)state;
    struct ratelimit *rl = new_limiter(RATELIMIT_SLOTS);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, rl), 0);
    intptr_t total = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        total += (intptr_t)r;
    }
    assert_int_equal(total, RATELIMIT_BURST);
    ratelimit_free(rl);
}

static void test_bad_options_refused(void **state)
{
    (void)state;
    struct ratelimit *rl = NULL;
    struct ratelimit_opts o = {.burst = 0, .per_second = 1, .slots = 16};
    assert_int_equal(ratelimit_new(&o, &rl), ERR_INVALID_PARAM);
    o = (struct ratelimit_opts){.burst = 1, .per_second = 0, .slots = 16};
    assert_int_equal(ratelimit_new(&o, &rl), ERR_INVALID_PARAM);
}

/* ---- worker pool -------------------------------------------------------- */

struct counter {
    atomic_int ran, cancelled, with_store;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool release; /* blocking jobs wait for this */
};

struct job_arg {
    struct counter *c;
    bool block;
};

static void job(void *p, struct store *st)
{
    struct job_arg *a = p;
    struct counter *c = a->c;
    if (st == NULL) {
        atomic_fetch_add(&c->cancelled, 1);
    } else {
        if (st->ops != NULL)
            atomic_fetch_add(&c->with_store, 1);
        if (a->block) {
            pthread_mutex_lock(&c->mu);
            while (!c->release)
                pthread_cond_wait(&c->cv, &c->mu);
            pthread_mutex_unlock(&c->mu);
        }
        atomic_fetch_add(&c->ran, 1);
    }
    free(a);
}

static struct job_arg *arg(struct counter *c, bool block)
{
    struct job_arg *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->c = c;
    a->block = block;
    return a;
}

static void counter_init(struct counter *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
}

static void release_all(struct counter *c)
{
    pthread_mutex_lock(&c->mu);
    c->release = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void *release_later(void *p)
{
    usleep(50000); /* let stop begin while the blockers still run */
    release_all(p);
    return NULL;
}

static void db_path(char *buf, size_t n, char **dir)
{
    *dir = tu_tempdir();
    struct store *st = tu_open_store(*dir); /* creates and migrates */
    store_close(st);
    tu_path(buf, n, *dir, "kessai.db");
}

static void test_jobs_run_with_a_store_each(void **state)
{
    (void)state;
    char path[1024], *dir;
    db_path(path, sizeof path, &dir);
    struct counter c;
    counter_init(&c);
    struct auth_workers *w = NULL;
    assert_int_equal(auth_workers_start(path, NULL, NULL, 3, 64, &w), ERR_OK);
    for (int i = 0; i < 50; i++)
        assert_int_equal(auth_workers_submit(w, job, arg(&c, false)), ERR_OK);
    for (int i = 0; i < 500 && atomic_load(&c.ran) < 50; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&c.ran), 50);
    assert_int_equal(atomic_load(&c.with_store), 50);
    auth_workers_stop(w);
    assert_int_equal(atomic_load(&c.cancelled), 0);
    tu_rmtree(dir);
    free(dir);
}

static void test_full_queue_is_busy_and_stop_cancels_queued(void **state)
{
    (void)state;
    char path[1024], *dir;
    db_path(path, sizeof path, &dir);
    struct counter c;
    counter_init(&c);
    struct auth_workers *w = NULL;
    assert_int_equal(auth_workers_start(path, NULL, NULL, 2, 4, &w), ERR_OK);
    /* two blockers occupy both workers ... */
    assert_int_equal(auth_workers_submit(w, job, arg(&c, true)), ERR_OK);
    assert_int_equal(auth_workers_submit(w, job, arg(&c, true)), ERR_OK);
    for (int i = 0; i < 500 && auth_workers_queued(w) > 0; i++)
        usleep(10000);
    assert_int_equal(auth_workers_queued(w), 0);
    /* ... four fill the queue, the fifth is refused at once */
    for (int i = 0; i < 4; i++)
        assert_int_equal(auth_workers_submit(w, job, arg(&c, false)), ERR_OK);
    struct job_arg *extra = arg(&c, false);
    assert_int_equal(auth_workers_submit(w, job, extra), ERR_BUSY);
    free(extra); /* refused: still ours */
    /* stop: the running two finish, the queued four are cancelled */
    pthread_t releaser;
    assert_int_equal(pthread_create(&releaser, NULL, release_later, &c), 0);
    auth_workers_stop(w);
    pthread_join(releaser, NULL);
    assert_int_equal(atomic_load(&c.ran) + atomic_load(&c.cancelled), 6);
    assert_true(atomic_load(&c.ran) >= 2);
    tu_rmtree(dir);
    free(dir);
}

static void test_start_failure_leaves_nothing(void **state)
{
    (void)state;
    struct auth_workers *w = NULL;
    assert_int_equal(auth_workers_start("/nonexistent/dir/kessai.db", NULL, NULL, 2, 4, &w), ERR_STORE);
    assert_int_equal(auth_workers_start("/tmp/x.db", NULL, NULL, 0, 4, &w), ERR_INVALID_PARAM);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refusal_with_retry_after),
        cmocka_unit_test(test_ipv6_limited_per_64),
        cmocka_unit_test(test_memory_is_bounded_and_drained_buckets_survive_a_flood),
        cmocka_unit_test(test_the_most_recently_used_bucket_is_not_evicted_first),
        cmocka_unit_test(test_concurrent_takes_never_exceed_the_burst),
        cmocka_unit_test(test_bad_options_refused),
        cmocka_unit_test(test_jobs_run_with_a_store_each),
        cmocka_unit_test(test_full_queue_is_busy_and_stop_cancels_queued),
        cmocka_unit_test(test_start_failure_leaves_nothing),
    };
    return cmocka_run_group_tests_name("api_infra", tests, NULL, NULL);
}
