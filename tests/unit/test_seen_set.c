/* test_seen_set.c: the in-memory set behind the POS replay check
 * (store/seen_set.h): a tag is seen once within its window, forgotten
 * after it, removable (an undone transaction's nonce), and none is lost
 * while its table grows or has tags removed from the middle of a run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <sodium.h>

#include "store/seen_set.h"

#define KEEP_MS (660 * 1000LL)
#define T0 1767225600000LL

static struct seen_set *new_set(void)
{
    struct seen_set *s = NULL;
    assert_int_equal(seen_set_new(KEEP_MS, &s), ERR_OK);
    return s;
}

/* Add tag at `at`, checking against the window since `since`. */
static bool add_since(struct seen_set *s, uint64_t tag, int64_t at, int64_t since)
{
    enum err e;
    bool added = seen_set_add(s, tag, at, since, &e);
    assert_int_equal(e, ERR_OK);
    return added;
}

/* The same against the whole window the set keeps. */
static bool add(struct seen_set *s, uint64_t tag, int64_t at) { return add_since(s, tag, at, INT64_MIN); }

static void a_tag_is_seen_once_within_its_window(void **state)
{
    (void)state;
    struct seen_set *s = new_set();
    uint64_t t = seen_set_tag(s, "tk_a", "nonce-0001");
    assert_false(seen_set_has(s, t, T0, INT64_MIN)); /* asking adds nothing */
    assert_true(add(s, t, T0));
    assert_true(seen_set_has(s, t, T0 + 1000, INT64_MIN));
    assert_false(seen_set_has(s, t, T0 + KEEP_MS + 2 * SEEN_BUCKET_MS, INT64_MIN));
    assert_false(add(s, t, T0));
    assert_false(add(s, t, T0 + KEEP_MS)); /* to the end of the window */
    assert_false(add(s, t, T0 - 5000));     /* a thread whose clock is behind */
    /* Forgotten once its bucket is past the window. */
    assert_true(add(s, t, T0 + KEEP_MS + 2 * SEEN_BUCKET_MS));
    seen_set_free(s);
}

/* A check's own window, shorter than what the set keeps, counts from its
 * bucket: seen up to a bucket longer than asked, never shorter. */
static void a_check_asks_for_its_own_window(void **state)
{
    (void)state;
    struct seen_set *s = new_set();
    assert_true(add(s, 9, T0));
    assert_false(add_since(s, 9, T0 + 60000, T0));
    assert_false(add_since(s, 9, T0 + 60000, T0 + 1)); /* the same bucket */
    assert_true(add_since(s, 9, T0 + 3 * SEEN_BUCKET_MS, T0 + 2 * SEEN_BUCKET_MS));
    seen_set_free(s);
}

/* The server's clock stepped back by 20 minutes (an NTP correction after
 * it ran ahead), or another node's runs 20 minutes ahead: the tags of the
 * minutes ahead are kept and seen, and so is every tag added now. */
static void a_clock_stepped_back_still_keeps_every_tag(void **state)
{
    (void)state;
    struct seen_set *s = new_set();
    for (int64_t m = 0; m < 20; m++) /* the 20 minutes ahead */
        assert_true(add(s, (uint64_t)(1000 + m), T0 + (20 + m) * SEEN_BUCKET_MS));
    for (int64_t m = 0; m < 20; m++) {
        uint64_t t = (uint64_t)(2000 + m);
        assert_true(add(s, t, T0 + m * SEEN_BUCKET_MS));
        assert_false(add(s, t, T0 + m * SEEN_BUCKET_MS + 1000));
        seen_set_remove(s, t, T0 + m * SEEN_BUCKET_MS); /* undone, wherever it went */
        assert_true(add(s, t, T0 + m * SEEN_BUCKET_MS + 2000));
        assert_false(add(s, t, T0 + m * SEEN_BUCKET_MS + 3000));
        seen_set_expire(s, T0 + m * SEEN_BUCKET_MS);
        assert_false(add(s, (uint64_t)(1000 + m), T0 + m * SEEN_BUCKET_MS + 4000));
    }
    /* Times far out of any real clock's range neither crash nor wrap. */
    assert_true(add(s, 77, INT64_MAX));
    assert_false(add(s, 77, INT64_MAX - 1));
    assert_true(add(s, 78, INT64_MIN));
    seen_set_free(s);
}

/* A clock a year ahead, once, must not make the set keep a year of tags:
 * its minute's slot is taken back when it is next needed, and what it held
 * is forgotten like any tag past the window. */
static void a_wrong_clock_cannot_make_it_keep_everything(void **state)
{
    (void)state;
    struct seen_set *s = new_set();
    const int64_t year = 366 * 86400000LL;
    assert_true(add(s, 5, T0 + year));
    for (int64_t sec = 0; sec < 2 * 3600; sec++) { /* two hours, a tag a second */
        assert_true(add(s, (uint64_t)(100000 + sec), T0 + sec * 1000));
        seen_set_expire(s, T0 + sec * 1000);
    }
    const int64_t end = T0 + 2 * 3600 * 1000;
    assert_true(add(s, 100000, end));               /* the first hour's are gone */
    assert_false(add(s, 100000 + 2 * 3600 - 1, end)); /* the last minute's are not */
    assert_true(add(s, 5, T0 + year + 1000));        /* the year-ahead tag's slot was taken */
    seen_set_free(s);
}

/* Expiry frees by the caller's clock, not before the window. */
static void expiry_keeps_the_window(void **state)
{
    (void)state;
    struct seen_set *s = new_set();
    assert_true(add(s, 11, T0));
    seen_set_expire(s, T0 + KEEP_MS);
    assert_false(add(s, 11, T0 + KEEP_MS));
    seen_set_expire(s, T0 + KEEP_MS + 2 * SEEN_BUCKET_MS);
    assert_true(add(s, 11, T0 + KEEP_MS + 2 * SEEN_BUCKET_MS));
    seen_set_free(s);
}

static void tags_tell_pairs_and_sets_apart(void **state)
{
    (void)state;
    struct seen_set *s = new_set(), *other = new_set();
    uint64_t ab_c = seen_set_tag(s, "ab", "c");
    assert_true(ab_c != seen_set_tag(s, "a", "bc"));
    assert_true(ab_c != seen_set_tag(s, "ab", "d"));
    assert_true(ab_c == seen_set_tag(s, "ab", "c"));
    assert_true(ab_c != 0);
    /* Each set has its own key: no one can pick tags that collide. */
    assert_true(ab_c != seen_set_tag(other, "ab", "c"));
    seen_set_free(s);
    seen_set_free(other);
}

static void a_removed_tag_can_be_added_again(void **state)
{
    (void)state;
    struct seen_set *s = new_set();
    assert_true(add(s, 42, T0));
    seen_set_remove(s, 42, T0);
    assert_true(add(s, 42, T0 + 1));
    assert_false(add(s, 42, T0 + 2));
    seen_set_remove(s, 7, T0); /* never added: nothing happens */
    assert_false(add(s, 42, T0 + 3));
    seen_set_free(s);
}

/* Tags sharing their low bits share a run of slots: removing from the
 * middle of the run must leave every other one findable. */
static void removing_from_a_run_keeps_the_rest(void **state)
{
    (void)state;
    struct seen_set *s = new_set();
    enum { N = 40 };
    for (uint64_t i = 1; i <= N; i++)
        assert_true(add(s, i << 32 | 5, T0)); /* all at slot 5 */
    for (uint64_t i = 1; i <= N; i += 3)
        seen_set_remove(s, i << 32 | 5, T0);
    for (uint64_t i = 1; i <= N; i++)
        assert_int_equal(add(s, i << 32 | 5, T0), (i - 1) % 3 == 0);
    seen_set_free(s);
}

/* Many tags over many minutes: the tables grow, buckets are reused, and
 * the set answers exactly like a plain list of what is in the window. */
static void many_tags_over_many_minutes(void **state)
{
    (void)state;
    struct seen_set *s = new_set();
    enum { N = 200000 };
    uint64_t *tags = calloc(N, sizeof *tags);
    assert_non_null(tags);
    const int64_t step = 60; /* ms between adds: 200,000 over 3 h 20 min */
    for (size_t i = 0; i < N; i++) {
        randombytes_buf(&tags[i], sizeof tags[i]);
        tags[i] |= 1;
        assert_true(add(s, tags[i], T0 + (int64_t)i * step));
        if (i % 2 == 1) /* every other one undone, in whatever order */
            seen_set_remove(s, tags[i - 1], T0 + (int64_t)(i - 1) * step);
    }
    const int64_t end = T0 + (int64_t)(N - 1) * step;
    size_t in_window = 0;
    for (size_t i = 0; i < N; i++) {
        int64_t at = T0 + (int64_t)i * step;
        if (at < end - KEEP_MS)
            continue; /* forgotten or not, either answer is allowed */
        bool removed = i % 2 == 0 && i + 1 < N;
        in_window++;
        assert_int_equal(add(s, tags[i], end), removed);
    }
    assert_true(in_window > 10000);
    free(tags);
    seen_set_free(s);
}

static void bad_arguments(void **state)
{
    (void)state;
    struct seen_set *s = NULL;
    assert_int_equal(seen_set_new(0, &s), ERR_INVALID_PARAM);
    assert_int_equal(seen_set_new(INT64_MAX, &s), ERR_INVALID_PARAM);
    assert_null(s);
    seen_set_free(NULL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_tag_is_seen_once_within_its_window),
        cmocka_unit_test(a_check_asks_for_its_own_window),
        cmocka_unit_test(a_clock_stepped_back_still_keeps_every_tag),
        cmocka_unit_test(a_wrong_clock_cannot_make_it_keep_everything),
        cmocka_unit_test(expiry_keeps_the_window),
        cmocka_unit_test(tags_tell_pairs_and_sets_apart),
        cmocka_unit_test(a_removed_tag_can_be_added_again),
        cmocka_unit_test(removing_from_a_run_keeps_the_rest),
        cmocka_unit_test(many_tags_over_many_minutes),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests_name("seen_set", tests, NULL, NULL);
}
