/* test_risk.c: the risk engine (risk/risk.h, docs/risk.md).
 *
 * Every rule fires on its pattern and stays quiet on the ordinary traffic
 * next to it; windows forget on time; memory stays bounded under many keys;
 * threads evaluating and observing at once lose no count; the [risk]
 * settings refuse bad values by name; decisions go into the store and come
 * back; and an engine warmed from the store after a "restart" remembers
 * what the thief did before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>

#include "merchant/merchant.h"
#include "risk/risk.h"
#include "risk/risk_internal.h"
#include "testutil.h"
#include "util/config.h"

#define NOW 1767225600000LL /* 2026-01-01T00:00:00Z */
#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* Stores: three within 2 km of each other in central Tokyo, one 27 km
 * away, one in Osaka (~400 km), one in Sapporo (~830 km). */
struct place {
    int64_t store_id;
    const char *category;
    int64_t lat_e6, lon_e6;
};
static const struct place TOKYO = {101, "convenience", 35681236, 139767125};
static const struct place GINZA = {102, "supermarket", 35671989, 139764936};
static const struct place AKIHABARA = {103, "electronics", 35698353, 139773114};
static const struct place YOKOHAMA = {104, "convenience", 35465798, 139622313};
static const struct place UMEDA = {105, "convenience", 34702485, 135495951};
static const struct place SAPPORO = {106, "convenience", 43068661, 141350755};
static const struct place TOBACCO = {107, "tobacco", 35682000, 139768000};

struct fx {
    struct risk_config cfg;
    struct risk *r;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    risk_config_defaults(&f->cfg);
    f->cfg.max_keys = 8192; /* the defaults, in less memory */
    assert_int_equal(risk_new(&f->cfg, &f->r), ERR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    risk_free(f->r);
    free(f);
    return 0;
}

/* A new engine for f with f->cfg as changed by the test. */
static void renew(struct fx *f)
{
    risk_free(f->r);
    assert_int_equal(risk_new(&f->cfg, &f->r), ERR_OK);
}

static struct risk_event pay(int64_t customer, int64_t at, const struct place *p, int64_t amount)
{
    return (struct risk_event){.kind = RISK_PAYMENT,
                               .at_ms = at,
                               .customer_id = customer,
                               .device_id = customer * 10,
                               .device_key = customer * 1000 + 7,
                               .client_addr = "198.51.100.20",
                               .store_id = p->store_id,
                               .terminal_id = p->store_id * 10,
                               .category = p->category,
                               .has_location = true,
                               .lat_e6 = p->lat_e6,
                               .lon_e6 = p->lon_e6,
                               .amount = amount};
}

static struct risk_event topup(int64_t customer, int64_t at, int64_t card_fp, int64_t amount)
{
    return (struct risk_event){.kind = RISK_TOPUP,
                               .at_ms = at,
                               .customer_id = customer,
                               .device_id = customer * 10,
                               .device_key = customer * 1000 + 7,
                               .client_addr = "198.51.100.20",
                               .card_fp = card_fp,
                               .amount = amount};
}

static struct risk_event login(int64_t customer, int64_t at, int64_t device_key, const char *addr)
{
    return (struct risk_event){
        .kind = RISK_LOGIN, .at_ms = at, .customer_id = customer, .device_key = device_key, .client_addr = addr};
}

static struct risk_event card_link(int64_t customer, int64_t at, int64_t device_key, const char *addr, int64_t fp)
{
    return (struct risk_event){.kind = RISK_CARD_LINK,
                               .at_ms = at,
                               .customer_id = customer,
                               .device_key = device_key,
                               .client_addr = addr,
                               .card_fp = fp};
}

static struct risk_event p2p(int64_t from, int64_t to, int64_t at, int64_t amount, unsigned flags)
{
    return (struct risk_event){.kind = RISK_P2P,
                               .at_ms = at,
                               .customer_id = from,
                               .device_key = from * 1000 + 7,
                               .counterparty_id = to,
                               .amount = amount,
                               .flags = flags};
}

static struct risk_event refund(int64_t store_id, int64_t customer, int64_t at, int64_t amount)
{
    return (struct risk_event){.kind = RISK_REFUND,
                               .at_ms = at,
                               .customer_id = customer,
                               .store_id = store_id,
                               .terminal_id = store_id, /* another dimension: the same id is no clash */
                               .amount = amount};
}

static struct risk_decision eval(struct fx *f, const struct risk_event *ev)
{
    struct risk_decision d;
    assert_int_equal(risk_evaluate(f->r, ev, &d), ERR_OK);
    return d;
}

static void done(struct fx *f, const struct risk_event *ev)
{
    assert_int_equal(risk_observe(f->r, ev, RISK_DONE), ERR_OK);
}

/* Evaluate, expect allow with no reason at all, then let it happen. */
static void quiet(struct fx *f, const struct risk_event *ev)
{
    struct risk_decision d = eval(f, ev);
    if (d.n_reasons)
        fail_msg("%s at %lld: unexpected reason %s (value %lld, threshold %lld)", risk_kind_name(ev->kind),
                 (long long)((ev->at_ms - NOW) / MIN), d.reasons[0].rule, (long long)d.reasons[0].value,
                 (long long)d.reasons[0].threshold);
    assert_int_equal(d.verdict, RISK_ALLOW);
    assert_int_equal(d.score, 0);
    done(f, ev);
}

static const struct risk_reason *reason(const struct risk_decision *d, const char *rule)
{
    for (size_t i = 0; i < d->n_reasons; i++)
        if (strcmp(d->reasons[i].rule, rule) == 0)
            return &d->reasons[i];
    return NULL;
}

/* ---- ordinary traffic ---- */

/* A week of one ordinary customer: a weekly card top-up, three payments a
 * day at stores up to 2 km apart (the electronics shop among them, for
 * batteries), a transfer to a friend, a login each morning; and a second
 * customer, a friend on the same home Wi-Fi, doing the same.  All allow,
 * no reason. */
static void ordinary_week_is_allowed(void **state)
{
    struct fx *f = *state;
    const struct place *stores[] = {&TOKYO, &GINZA, &AKIHABARA};
    for (int day = 0; day < 7; day++) {
        for (int64_t c = 1; c <= 2; c++) {
            int64_t t = NOW + day * DAY + 7 * HOUR + c * MIN;
            quiet(f, &(struct risk_event){.kind = RISK_LOGIN, .at_ms = t, .customer_id = c, .device_key = c * 1000 + 7,
                                          .client_addr = "198.51.100.20"});
            if (day == 0) {
                struct risk_event ev = topup(c, t + MIN, 5550 + c, 10000);
                quiet(f, &ev);
            }
            for (int k = 0; k < 3; k++) {
                struct risk_event ev = pay(c, t + (2 + 4 * k) * HOUR, stores[(day + k) % 3], 480 + 300 * k);
                quiet(f, &ev);
            }
            if (day == 3) {
                struct risk_event ev = p2p(c, 3 - c, t + 12 * HOUR, 3000, 0);
                quiet(f, &ev);
            }
        }
    }
}

/* ---- new device, password reset ---- */

static void new_device_and_reset_together_challenge(void **state)
{
    struct fx *f = *state;
    struct risk_event ev = pay(1, NOW, &TOKYO, 1000);
    ev.flags = RISK_F_DEVICE_NEW;
    struct risk_decision d = eval(f, &ev);
    assert_int_equal(d.verdict, RISK_ALLOW); /* a new phone alone: everyday life */
    assert_int_equal(d.score, 25);
    assert_non_null(reason(&d, "new_device"));

    ev.flags = RISK_F_PASSWORD_RESET;
    d = eval(f, &ev);
    assert_int_equal(d.verdict, RISK_ALLOW);
    assert_non_null(reason(&d, "password_reset"));
    assert_null(reason(&d, "new_device"));

    ev.flags = RISK_F_DEVICE_NEW | RISK_F_PASSWORD_RESET; /* the take-over */
    d = eval(f, &ev);
    assert_int_equal(d.verdict, RISK_CHALLENGE);
    assert_int_equal(d.score, 50);
    assert_int_equal(d.n_reasons, 2);

    ev.flags = 0;
    quiet(f, &ev);
    /* Refunds are the register's doing: no flag scores them. */
    struct risk_event rf = refund(TOKYO.store_id, 1, NOW, 500);
    rf.flags = RISK_F_DEVICE_NEW | RISK_F_PASSWORD_RESET;
    quiet(f, &rf);
}

/* ---- velocity ---- */

static void velocity_customer_count_fires_on_the_eleventh(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 10; i++) {
        struct risk_event ev = pay(1, NOW + i * 5 * MIN, &TOKYO, 300);
        quiet(f, &ev);
        /* another customer at the same store, at the same pace but half as often */
        if (i % 2 == 0) {
            struct risk_event other = pay(2, NOW + i * 5 * MIN + 1000, &TOKYO, 300);
            quiet(f, &other);
        }
    }
    struct risk_event ev = pay(1, NOW + 50 * MIN, &TOKYO, 300);
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "velocity_customer_count");
    assert_non_null(x);
    assert_int_equal(x->value, 11);
    assert_int_equal(x->threshold, 10);
    assert_int_equal(x->score, 30);
    assert_null(reason(&d, "velocity_customer_amount"));
    assert_int_equal(d.verdict, RISK_ALLOW); /* velocity alone is not enough */
    struct risk_event other = pay(2, NOW + 50 * MIN, &TOKYO, 300);
    quiet(f, &other);
}

static void velocity_customer_amount_fires_over_the_sum(void **state)
{
    struct fx *f = *state;
    struct risk_event a = pay(1, NOW, &AKIHABARA, 60000), b = pay(1, NOW + 10 * MIN, &AKIHABARA, 60000);
    quiet(f, &a);
    quiet(f, &b);
    struct risk_event c = pay(1, NOW + 20 * MIN, &AKIHABARA, 40000);
    struct risk_decision d = eval(f, &c);
    const struct risk_reason *x = reason(&d, "velocity_customer_amount");
    assert_non_null(x);
    assert_int_equal(x->value, 160000);
    assert_int_equal(x->threshold, 150000);
    /* 30,000 fits: 150,000 is allowed, not more */
    struct risk_event ok = pay(1, NOW + 20 * MIN, &AKIHABARA, 30000);
    quiet(f, &ok);
}

/* One phone paying for many accounts: each account's own count is low. */
static void velocity_device_across_accounts(void **state)
{
    struct fx *f = *state;
    f->cfg.shared_device_score = 0; /* this test is about velocity alone */
    renew(f);
    for (int i = 0; i < 15; i++) {
        struct risk_event ev = pay(1 + i % 5, NOW + i * MIN, &TOKYO, 1000);
        ev.device_key = 424242;
        quiet(f, &ev);
    }
    struct risk_event ev = pay(6, NOW + 15 * MIN, &TOKYO, 1000);
    ev.device_key = 424242;
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "velocity_device_count");
    assert_non_null(x);
    assert_int_equal(x->value, 16);
    assert_null(reason(&d, "velocity_customer_count"));
    /* the same customer on their own phone */
    ev.device_key = 6007;
    quiet(f, &ev);
}

static void velocity_card_topups(void **state)
{
    struct fx *f = *state;
    f->cfg.shared_device_score = 0;
    renew(f);
    for (int i = 0; i < 5; i++) {
        struct risk_event ev = topup(1 + i, NOW + i * HOUR, 777, 5000); /* one card on five accounts */
        quiet(f, &ev);
    }
    struct risk_event ev = topup(9, NOW + 5 * HOUR, 777, 5000);
    struct risk_decision d = eval(f, &ev);
    assert_non_null(reason(&d, "velocity_card_count"));
    assert_null(reason(&d, "velocity_card_amount"));
    ev.card_fp = 778; /* another card */
    quiet(f, &ev);
    /* A day later the card's window has moved on. */
    struct risk_event later = topup(9, NOW + 30 * HOUR, 777, 5000);
    quiet(f, &later);
}

static void velocity_store_and_terminal(void **state)
{
    struct fx *f = *state;
    f->cfg.velocity_terminal_count = 5;
    f->cfg.velocity_store_count = 8;
    renew(f);
    for (int i = 0; i < 5; i++) {
        struct risk_event ev = pay(10 + i, NOW + i * MIN, &TOKYO, 500);
        quiet(f, &ev);
    }
    struct risk_event ev = pay(20, NOW + 5 * MIN, &TOKYO, 500);
    struct risk_decision d = eval(f, &ev);
    assert_non_null(reason(&d, "velocity_terminal_count"));
    assert_null(reason(&d, "velocity_store_count"));
    /* the store's second register */
    ev.terminal_id = TOKYO.store_id * 10 + 1;
    quiet(f, &ev);
    for (int i = 0; i < 2; i++) {
        struct risk_event e2 = pay(30 + i, NOW + 6 * MIN, &TOKYO, 500);
        e2.terminal_id = TOKYO.store_id * 10 + 1;
        quiet(f, &e2);
    }
    struct risk_event ninth = pay(40, NOW + 7 * MIN, &TOKYO, 500);
    ninth.terminal_id = TOKYO.store_id * 10 + 2;
    d = eval(f, &ninth);
    const struct risk_reason *x = reason(&d, "velocity_store_count");
    assert_non_null(x);
    assert_int_equal(x->value, 9);
    /* the store next door */
    struct risk_event next_door = pay(40, NOW + 7 * MIN, &GINZA, 500);
    quiet(f, &next_door);
}

/* Only what happened counts: a refused payment is not velocity. */
static void velocity_counts_only_done(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 30; i++) {
        struct risk_event ev = pay(1, NOW + i * MIN, &TOKYO, 1000);
        assert_int_equal(risk_observe(f->r, &ev, RISK_FAILED), ERR_OK);
    }
    struct risk_event ev = pay(1, NOW + 30 * MIN, &TOKYO, 1000);
    quiet(f, &ev);
}

/* ---- windows ---- */

static void window_expires(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 10; i++) {
        struct risk_event ev = pay(1, NOW + i * 1000, &TOKYO, 100);
        done(f, &ev);
    }
    struct risk_event ev = pay(1, NOW + 30 * MIN, &TOKYO, 100);
    struct risk_decision d = eval(f, &ev);
    assert_non_null(reason(&d, "velocity_customer_count")); /* half-way through the hour */
    ev.at_ms = NOW + 56 * MIN; /* within the last bucket (window - window/16) */
    d = eval(f, &ev);
    assert_non_null(reason(&d, "velocity_customer_count"));
    ev.at_ms = NOW + HOUR + 10 * 1000; /* the window is over */
    quiet(f, &ev);
}

static void ring_blur_and_order(void **state)
{
    (void)state;
    struct risk_ring r;
    memset(&r, 0, sizeof r);
    int64_t w = risk_ring_width(3600); /* 225 s */
    assert_int_equal(w, 225000);
    int64_t t0 = NOW + 17; /* not on a bucket edge */
    risk_ring_add(&r, w, t0, 10);
    int64_t n, s;
    risk_ring_totals(&r, w, t0, &n, &s);
    assert_int_equal(n, 1);
    assert_int_equal(s, 10);
    /* still counted anywhere before window - width */
    risk_ring_totals(&r, w, t0 + HOUR - w - 1, &n, &s);
    assert_int_equal(n, 1);
    /* never counted at or after the window */
    risk_ring_totals(&r, w, t0 + HOUR, &n, &s);
    assert_int_equal(n, 0);
    assert_int_equal(s, 0);
    /* an event older than the ring is dropped; one inside it is counted */
    risk_ring_add(&r, w, t0 + 2 * HOUR, 1);
    risk_ring_add(&r, w, t0 + HOUR - 1, 1000); /* older than the newest's window: dropped */
    risk_ring_add(&r, w, t0 + 2 * HOUR - 10 * MIN, 5);
    risk_ring_totals(&r, w, t0 + 2 * HOUR, &n, &s);
    assert_int_equal(n, 2);
    assert_int_equal(s, 6);
    /* a query older than the ring's newest sees only its own window */
    risk_ring_totals(&r, w, t0 + 2 * HOUR - 20 * MIN, &n, &s);
    assert_int_equal(n, 0);
}

static void set_counts_distinct_and_forgets(void **state)
{
    (void)state;
    struct risk_set s;
    memset(&s, 0, sizeof s);
    for (int i = 1; i <= 3; i++)
        risk_set_add(&s, i, NOW + i);
    risk_set_add(&s, 2, NOW + 10); /* again: still three */
    assert_int_equal(risk_set_count(&s, HOUR, NOW + 10, 0), 3);
    assert_int_equal(risk_set_count(&s, HOUR, NOW + 10, 2), 3);
    assert_int_equal(risk_set_count(&s, HOUR, NOW + 10, 9), 4);
    assert_int_equal(risk_set_count(&s, HOUR, NOW + HOUR + 5, 0), 1); /* only 2, seen at +10, is in the window */
    for (int i = 100; i < 140; i++)                                   /* full: the stalest make room */
        risk_set_add(&s, i, NOW + 1000 + i);
    assert_int_equal(risk_set_count(&s, HOUR, NOW + 2000, 0), RISK_SET_SIZE);
    assert_int_equal(risk_set_count(&s, HOUR, NOW + 2000, 139), RISK_SET_SIZE);
}

/* ---- top-up, then high-resale spending ---- */

static void topup_then_resale_fires(void **state)
{
    struct fx *f = *state;
    struct risk_event t = topup(1, NOW, 5551, 30000);
    quiet(f, &t);
    struct risk_event ev = pay(1, NOW + 5 * MIN, &TOBACCO, 20000);
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "topup_then_resale");
    assert_non_null(x);
    assert_int_equal(x->value, 300);
    assert_int_equal(x->threshold, 1800);
    assert_int_equal(d.verdict, RISK_ALLOW); /* alone: 40 */
    ev.flags = RISK_F_DEVICE_NEW;            /* from the thief's phone: 65 */
    d = eval(f, &ev);
    assert_int_equal(d.verdict, RISK_CHALLENGE);
    ev.flags = RISK_F_DEVICE_NEW | RISK_F_PASSWORD_RESET; /* after a reset too: 90 */
    d = eval(f, &ev);
    assert_int_equal(d.verdict, RISK_HOLD);

    /* e-cigarette cartridges among the items of a convenience store's charge */
    struct risk_event conv = pay(1, NOW + 6 * MIN, &TOKYO, 12000);
    const char *items[] = {"food", "e_cigarette"};
    conv.item_categories = items;
    conv.n_items = 2;
    d = eval(f, &conv);
    assert_non_null(reason(&d, "topup_then_resale"));
    /* electronics is listed too (Akihabara) */
    struct risk_event akiba = pay(1, NOW + 7 * MIN, &AKIHABARA, 9000);
    d = eval(f, &akiba);
    assert_non_null(reason(&d, "topup_then_resale"));
}

static void topup_then_ordinary_spending_is_quiet(void **state)
{
    struct fx *f = *state;
    struct risk_event t = topup(1, NOW, 5551, 30000);
    quiet(f, &t);
    struct risk_event pack = pay(1, NOW + 2 * MIN, &TOBACCO, 600); /* a pack of cigarettes */
    quiet(f, &pack);
    struct risk_event groceries = pay(1, NOW + 5 * MIN, &GINZA, 8000);
    quiet(f, &groceries);
    const char *items[] = {"food", "drinks"};
    struct risk_event conv = pay(1, NOW + 6 * MIN, &TOKYO, 6000);
    conv.item_categories = items;
    conv.n_items = 2;
    quiet(f, &conv);
    struct risk_event later = pay(1, NOW + 2 * HOUR, &TOBACCO, 20000); /* long after the top-up */
    quiet(f, &later);
    /* Without a top-up at all. */
    struct risk_event other = pay(2, NOW + 3 * MIN, &TOBACCO, 20000);
    quiet(f, &other);
    /* A refused top-up does not count. */
    struct risk_event t2 = topup(3, NOW, 5553, 30000);
    assert_int_equal(risk_observe(f->r, &t2, RISK_DECLINED), ERR_OK);
    struct risk_event after = pay(3, NOW + 3 * MIN, &TOBACCO, 20000);
    quiet(f, &after);
}

/* ---- impossible travel ---- */

static void impossible_travel_fires(void **state)
{
    struct fx *f = *state;
    struct risk_event a = pay(1, NOW, &TOKYO, 1000);
    quiet(f, &a);
    struct risk_event b = pay(1, NOW + 10 * MIN, &UMEDA, 1000);
    struct risk_decision d = eval(f, &b);
    const struct risk_reason *x = reason(&d, "impossible_travel");
    assert_non_null(x);
    assert_true(x->value > 2300 && x->value < 2500); /* ~403 km in 10 minutes */
    assert_int_equal(x->threshold, 300);
    assert_int_equal(x->score, 60);
    assert_int_equal(d.verdict, RISK_CHALLENGE);
    /* At the same instant: the cap, not a division by zero. */
    b.at_ms = NOW;
    d = eval(f, &b);
    assert_int_equal(reason(&d, "impossible_travel")->value, 1000000);
    /* A cash top-up at a store is a place too. */
    struct risk_event cash = topup(1, NOW + 10 * MIN, 0, 5000);
    cash.store_id = SAPPORO.store_id, cash.has_location = true;
    cash.lat_e6 = SAPPORO.lat_e6, cash.lon_e6 = SAPPORO.lon_e6;
    d = eval(f, &cash);
    assert_non_null(reason(&d, "impossible_travel"));
}

static void possible_travel_is_quiet(void **state)
{
    struct fx *f = *state;
    /* 2 km in 10 minutes (a taxi), three times a day */
    struct risk_event a = pay(1, NOW, &TOKYO, 1000), b = pay(1, NOW + 10 * MIN, &AKIHABARA, 1000),
                      c = pay(1, NOW + 20 * MIN, &GINZA, 1000);
    quiet(f, &a);
    quiet(f, &b);
    quiet(f, &c);
    /* 27 km in one minute: under travel_min_km, clocks and coordinates are not that exact */
    struct risk_event y = pay(1, NOW + 21 * MIN, &YOKOHAMA, 1000);
    quiet(f, &y);
    /* Tokyo to Osaka in three hours: the Shinkansen */
    struct risk_event o = pay(1, NOW + 21 * MIN + 3 * HOUR, &UMEDA, 1000);
    quiet(f, &o);
    /* another customer in Sapporo meanwhile */
    struct risk_event s = pay(2, NOW + 22 * MIN, &SAPPORO, 1000);
    quiet(f, &s);
    /* a transfer has no place */
    struct risk_event t = p2p(1, 2, NOW + 3 * HOUR + 30 * MIN, 1000, 0);
    quiet(f, &t);
}

/* ---- one device or address, many accounts ---- */

static void shared_device_fires(void **state)
{
    struct fx *f = *state;
    /* A phone working through stolen passwords: the failures count too. */
    for (int64_t c = 1; c <= 3; c++) {
        struct risk_event ev = login(c, NOW + c * MIN, 9999, NULL);
        struct risk_decision d = eval(f, &ev);
        assert_int_equal(d.n_reasons, 0);
        assert_int_equal(risk_observe(f->r, &ev, c == 2 ? RISK_FAILED : RISK_DONE), ERR_OK);
    }
    struct risk_event ev = login(4, NOW + 5 * MIN, 9999, NULL);
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "shared_device");
    assert_non_null(x);
    assert_int_equal(x->value, 4);
    assert_int_equal(x->threshold, 3);
    /* Once the fourth account was tried, every account on it fires, the
     * first one included. */
    assert_int_equal(risk_observe(f->r, &ev, RISK_FAILED), ERR_OK);
    ev.customer_id = 1;
    d = eval(f, &ev);
    assert_non_null(reason(&d, "shared_device"));
    /* the family phone: two accounts */
    for (int64_t c = 11; c <= 12; c++) {
        struct risk_event fam = login(c, NOW + c * MIN, 5555, NULL);
        quiet(f, &fam);
    }
    /* a day later the phone's window has moved on */
    struct risk_event later = login(5, NOW + DAY + 10 * MIN, 9999, NULL);
    quiet(f, &later);
}

static void shared_address_groups_ipv6_by_64(void **state)
{
    struct fx *f = *state;
    char addr[64];
    for (int c = 1; c <= 10; c++) { /* ten accounts behind one /64, each host address different */
        snprintf(addr, sizeof addr, "2001:db8:aa:bb::%x", c);
        struct risk_event ev = card_link(c, NOW + c * 1000, 100 + c, addr, 500 + c);
        quiet(f, &ev);
    }
    struct risk_event ev = card_link(11, NOW + 20 * 1000, 111, "2001:db8:aa:bb:ffff::1", 511);
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "shared_address");
    assert_non_null(x);
    assert_int_equal(x->value, 11);
    assert_int_equal(x->score, 20);
    assert_int_equal(d.verdict, RISK_ALLOW); /* weak alone: carriers share addresses */
    /* the next /64 is someone else */
    ev.client_addr = "2001:db8:aa:bc::1";
    quiet(f, &ev);
    /* IPv4 and IPv4-mapped IPv6 are one address */
    for (int c = 21; c <= 30; c++) {
        struct risk_event e4 = card_link(c, NOW + c * 1000, 100 + c, c % 2 ? "203.0.113.9" : "::ffff:203.0.113.9", 500 + c);
        quiet(f, &e4);
    }
    struct risk_event e4 = card_link(31, NOW + 40 * 1000, 131, "203.0.113.9", 531);
    d = eval(f, &e4);
    assert_non_null(reason(&d, "shared_address"));
}

/* Logins have thresholds of their own (risk_login_shared_*): there the
 * pattern is credential stuffing, and a firing is the deny line.  The
 * other kinds keep theirs. */
static void login_thresholds_refuse_stuffing(void **state)
{
    struct fx *f = *state;
    /* an address: 15 accounts in the hour pass (a carrier's shared address) */
    for (int64_t c = 1; c <= 15; c++) {
        struct risk_event ev = login(c, NOW + c * 1000, 100 + c, "198.51.100.77");
        quiet(f, &ev);
    }
    struct risk_event ev = login(16, NOW + 20 * 1000, 116, "198.51.100.77");
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "shared_address");
    assert_non_null(x);
    assert_int_equal(x->value, 16);
    assert_int_equal(x->threshold, 15);
    assert_int_equal(x->score, 120);
    assert_int_equal(d.verdict, RISK_DENY);
    /* a payment from that address counts it with the everyday threshold and score */
    struct risk_event p = pay(16, NOW + 21 * 1000, &TOKYO, 500);
    p.client_addr = "198.51.100.77";
    d = eval(f, &p);
    x = reason(&d, "shared_address");
    assert_non_null(x);
    assert_int_equal(x->threshold, 10);
    assert_int_equal(x->score, 20);
    assert_int_equal(d.verdict, RISK_ALLOW);
    /* a phone: the fourth account in a day is refused */
    for (int64_t c = 31; c <= 33; c++) {
        struct risk_event l = login(c, NOW + c * MIN, 4242, NULL);
        quiet(f, &l);
    }
    struct risk_event l = login(34, NOW + 40 * MIN, 4242, NULL);
    d = eval(f, &l);
    assert_int_equal(d.verdict, RISK_DENY);
    assert_int_equal(reason(&d, "shared_device")->score, 120);
    /* both are settings */
    f->cfg.login_shared_addr_accounts = 3;
    f->cfg.login_shared_device_score = 30;
    renew(f);
    for (int64_t c = 1; c <= 3; c++) {
        struct risk_event a = login(c, NOW + c * 1000, 100 + c, "198.51.100.78");
        quiet(f, &a);
    }
    struct risk_event a = login(4, NOW + 5000, 104, "198.51.100.78");
    assert_int_equal(eval(f, &a).verdict, RISK_DENY);
    for (int64_t c = 31; c <= 33; c++) {
        struct risk_event b = login(c, NOW + c * MIN, 4243, NULL);
        quiet(f, &b);
    }
    struct risk_event b = login(34, NOW + 40 * MIN, 4243, NULL);
    d = eval(f, &b);
    assert_int_equal(d.score, 30);
    assert_int_equal(d.verdict, RISK_ALLOW);
}

static void address_keys(void **state)
{
    (void)state;
    assert_int_equal(risk_addr_key(NULL), 0);
    assert_int_equal(risk_addr_key(""), 0);
    assert_int_equal(risk_addr_key("unknown"), 0);
    assert_int_equal(risk_addr_key("300.1.1.1"), 0);
    assert_int_not_equal(risk_addr_key("192.0.2.1"), 0);
    assert_int_equal(risk_addr_key("192.0.2.1"), risk_addr_key("::ffff:192.0.2.1"));
    assert_int_not_equal(risk_addr_key("192.0.2.1"), risk_addr_key("192.0.2.2"));
    assert_int_equal(risk_addr_key("2001:db8:1:2::1"), risk_addr_key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    assert_int_equal(risk_addr_key("2001:db8:1:2::1"), risk_addr_key("2001:db8:1:2::/64")); /* card_attempts */
    assert_int_not_equal(risk_addr_key("2001:db8:1:2::1"), risk_addr_key("2001:db8:1:3::1"));
    /* devices and cards */
    assert_int_equal(risk_device_key(NULL), 0);
    assert_int_equal(risk_device_key(""), 0);
    assert_int_equal(risk_device_key("abc"), risk_device_key("abc"));
    assert_int_not_equal(risk_device_key("abc"), risk_device_key("abd"));
    uint8_t fp[CARD_FINGERPRINT_BYTES] = {0};
    assert_int_not_equal(risk_card_fp(fp), 0); /* never "none" */
    fp[0] = 1;
    assert_int_equal(risk_card_fp(fp), 1);
}

/* ---- card testing ---- */

static void card_declines_deny(void **state)
{
    struct fx *f = *state;
    f->cfg.card_cards = 10; /* this test is about declines: many cards is the next one */
    renew(f);
    /* One phone, one address, different accounts and cards: a card tester. */
    for (int i = 0; i < 5; i++) {
        struct risk_event ev = card_link(1 + i % 2, NOW + i * MIN, 4444, "203.0.113.50", 9000 + i);
        struct risk_decision d = eval(f, &ev);
        assert_int_not_equal(d.verdict, RISK_DENY);
        assert_int_equal(risk_observe(f->r, &ev, RISK_DECLINED), ERR_OK);
    }
    struct risk_event ev = card_link(3, NOW + 6 * MIN, 4444, "203.0.113.99", 9100);
    struct risk_decision d = eval(f, &ev);
    assert_int_equal(d.verdict, RISK_DENY);
    const struct risk_reason *x = reason(&d, "card_declines_device");
    assert_non_null(x);
    assert_int_equal(x->value, 5);
    assert_int_equal(x->threshold, 4);
    assert_int_equal(x->score, 0); /* a hard rule */
    assert_null(reason(&d, "card_declines_address"));
    /* from the same address on another phone */
    ev = card_link(3, NOW + 6 * MIN, 4445, "203.0.113.50", 9100);
    d = eval(f, &ev);
    assert_int_equal(d.verdict, RISK_DENY);
    assert_non_null(reason(&d, "card_declines_address"));
    /* and a card top-up from the tester's phone */
    struct risk_event t = topup(3, NOW + 7 * MIN, 9100, 5000);
    t.device_key = 4444;
    d = eval(f, &t);
    assert_int_equal(d.verdict, RISK_DENY);

    /* Next to it: a customer whose card was declined once, elsewhere. */
    struct risk_event own = card_link(50, NOW + 8 * MIN, 5050, "198.51.100.7", 9500);
    quiet(f, &own);
    assert_int_equal(risk_observe(f->r, &own, RISK_DECLINED), ERR_OK);
    own.card_fp = 9501, own.at_ms += MIN;
    quiet(f, &own);
    /* A cash top-up names no card: card testing does not apply. */
    struct risk_event cash = topup(3, NOW + 9 * MIN, 0, 5000);
    cash.device_key = 4444;
    quiet(f, &cash);
    /* An hour later the tester's declines have aged out. */
    ev = card_link(3, NOW + 2 * HOUR, 4444, "203.0.113.50", 9100);
    quiet(f, &ev);
}

static void card_many_cards_deny(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 3; i++) {
        struct risk_event ev = card_link(1, NOW + i * MIN, 1007, NULL, 700 + i);
        quiet(f, &ev);
    }
    struct risk_event again = card_link(1, NOW + 4 * MIN, 1007, NULL, 701); /* a card already tried */
    quiet(f, &again);
    struct risk_event ev = card_link(1, NOW + 5 * MIN, 1007, NULL, 799);
    struct risk_decision d = eval(f, &ev);
    assert_int_equal(d.verdict, RISK_DENY);
    const struct risk_reason *x = reason(&d, "card_many_cards_customer");
    assert_non_null(x);
    assert_int_equal(x->value, 4);
    assert_non_null(reason(&d, "card_many_cards_device"));
    /* a customer with two cards */
    struct risk_event a = card_link(2, NOW, 2007, NULL, 800), b = card_link(2, NOW + DAY / 2, 2007, NULL, 801);
    quiet(f, &a);
    quiet(f, &b);
    struct risk_event t = topup(2, NOW + DAY / 2 + MIN, 800, 10000);
    t.device_key = 2007;
    quiet(f, &t);
}

/* ---- P2P fan-in ---- */

static void p2p_fan_in_holds(void **state)
{
    struct fx *f = *state;
    const int64_t mule = 500;
    for (int64_t c = 1; c <= 3; c++) {
        struct risk_event ev = p2p(100 + c, mule, NOW + c * HOUR, 20000, RISK_F_ACCOUNT_NEW);
        quiet(f, &ev);
    }
    struct risk_event ev = p2p(104, mule, NOW + 4 * HOUR, 20000, RISK_F_ACCOUNT_NEW);
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "p2p_fan_in");
    assert_non_null(x);
    assert_int_equal(x->value, 4);
    assert_int_equal(x->threshold, 3);
    assert_int_equal(d.verdict, RISK_HOLD);
    /* Friends (established accounts) paying the same person back: quiet. */
    for (int64_t c = 1; c <= 8; c++) {
        struct risk_event fr = p2p(200 + c, mule, NOW + 5 * HOUR + c * MIN, 2000, 0);
        quiet(f, &fr);
    }
    /* A new account sending to someone else. */
    struct risk_event other = p2p(105, 600, NOW + 5 * HOUR, 20000, RISK_F_ACCOUNT_NEW);
    quiet(f, &other);
}

/* ---- authorised-push-payment scams and mules ---- */

/* A victim talked into sending 30,000 yen to an account opened days ago
 * that they never paid: held.  Under the amount, a payee paid before, or
 * an established payee: quiet. */
static void p2p_new_payee_holds(void **state)
{
    struct fx *f = *state;
    const unsigned scam = RISK_F_PAYEE_NEW | RISK_F_PAYEE_FIRST;
    struct risk_event ev = p2p(1, 500, NOW, 30000, scam);
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "p2p_new_payee");
    assert_non_null(x);
    assert_int_equal(x->value, 30000);
    assert_int_equal(x->threshold, 10000);
    assert_int_equal(d.verdict, RISK_HOLD);
    ev.amount = 10000; /* "at least": a round sum fires */
    d = eval(f, &ev);
    assert_non_null(reason(&d, "p2p_new_payee"));
    struct risk_event small = p2p(2, 500, NOW, 9999, scam);
    quiet(f, &small);
    struct risk_event again = p2p(3, 500, NOW, 30000, RISK_F_PAYEE_NEW); /* paid before */
    quiet(f, &again);
    struct risk_event old = p2p(4, 600, NOW, 30000, RISK_F_PAYEE_FIRST); /* an established payee */
    quiet(f, &old);
    f->cfg.new_payee_score = 0; /* switched off */
    renew(f);
    struct risk_event off = p2p(1, 500, NOW, 30000, scam);
    quiet(f, &off);
}

/* Smurfing: three victims each send a mule 8,000 yen (under every
 * per-transfer threshold).  The mule spends 10,000 (41% of 24,000), then
 * tries to send 3,000 on (54%): held, and a purchase would be too. */
static void mule_pass_through_holds(void **state)
{
    struct fx *f = *state;
    const int64_t mule = 500;
    for (int64_t v = 1; v <= 3; v++) {
        struct risk_event in = p2p(v, mule, NOW + v * MIN, 8000, RISK_F_PAYEE_NEW | RISK_F_PAYEE_FIRST);
        quiet(f, &in);
    }
    struct risk_event spend = pay(mule, NOW + 10 * MIN, &AKIHABARA, 10000);
    spend.flags = RISK_F_ACCOUNT_NEW;
    quiet(f, &spend);
    struct risk_event on = p2p(mule, 900, NOW + 20 * MIN, 3000, RISK_F_ACCOUNT_NEW);
    struct risk_decision d = eval(f, &on);
    const struct risk_reason *x = reason(&d, "mule_pass_through");
    assert_non_null(x);
    assert_int_equal(x->value, 54);
    assert_int_equal(x->threshold, 50);
    assert_int_equal(d.verdict, RISK_HOLD);
    struct risk_event buy = pay(mule, NOW + 20 * MIN, &GINZA, 3000);
    buy.flags = RISK_F_ACCOUNT_NEW;
    d = eval(f, &buy);
    assert_non_null(reason(&d, "mule_pass_through"));
    assert_int_equal(d.verdict, RISK_HOLD);
    /* A day later the inflow is forgotten. */
    on.at_ms = NOW + DAY + 20 * MIN;
    quiet(f, &on);
}

/* New customers next to the mule: friends' transfers under the inflow
 * threshold; a larger gift spent together with the customer's own top-up;
 * an established account passing money on.  All quiet. */
static void mule_quiet_for_ordinary_new_customers(void **state)
{
    struct fx *f = *state;
    const unsigned is_new = RISK_F_ACCOUNT_NEW;
    /* Friends send 3 x 3,000: all of it spent. */
    for (int64_t v = 1; v <= 3; v++) {
        struct risk_event in = p2p(10 + v, 600, NOW + v * MIN, 3000, RISK_F_PAYEE_NEW | is_new);
        quiet(f, &in);
    }
    struct risk_event spend = pay(600, NOW + 10 * MIN, &TOKYO, 9000);
    spend.flags = is_new;
    quiet(f, &spend);
    /* 25,000 from a parent, 30,000 topped up from the own card, 40,000 spent. */
    struct risk_event gift = p2p(20, 700, NOW, 25000, RISK_F_PAYEE_NEW);
    quiet(f, &gift);
    struct risk_event t = topup(700, NOW + MIN, 4242, 30000);
    t.flags = is_new;
    quiet(f, &t);
    for (int k = 0; k < 4; k++) {
        struct risk_event p = pay(700, NOW + (2 + k) * MIN, &GINZA, 10000);
        p.flags = is_new;
        quiet(f, &p);
    }
    /* An established account receives 50,000 and sends it all on. */
    struct risk_event big = p2p(21, 800, NOW, 50000, 0);
    quiet(f, &big);
    struct risk_event out = p2p(800, 21, NOW + MIN, 50000, 0);
    quiet(f, &out);
}

/* ---- refunds ---- */

static void refunds_at_one_store_hold(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 20; i++) {
        struct risk_event ev = refund(TOKYO.store_id, 1 + i, NOW + i * MIN, 1000);
        quiet(f, &ev);
    }
    struct risk_event ev = refund(TOKYO.store_id, 99, NOW + 25 * MIN, 1000);
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "refunds_store_count");
    assert_non_null(x);
    assert_int_equal(x->value, 21);
    assert_int_equal(d.verdict, RISK_HOLD);
    /* the store next door refunds as usual */
    struct risk_event next = refund(GINZA.store_id, 99, NOW + 25 * MIN, 1000);
    quiet(f, &next);
    /* by amount */
    struct risk_event big = refund(GINZA.store_id, 98, NOW + 26 * MIN, 299000); /* 300,000 with the one before */
    quiet(f, &big);
    big.at_ms += MIN, big.amount = 1;
    d = eval(f, &big);
    assert_non_null(reason(&d, "refunds_store_amount"));
    assert_int_equal(d.verdict, RISK_HOLD);
}

/* A clerk's accomplice buys gift cards, keeps them, and the clerk gives the
 * money back minutes later (insider-refunds). */
static void resale_goods_refunded_at_once_hold(void **state)
{
    struct fx *f = *state;
    struct risk_event ev = refund(AKIHABARA.store_id, 7, NOW + 5 * MIN, 9000);
    ev.category = AKIHABARA.category;
    ev.ref_at_ms = NOW;
    ev.ref_amount = 9000;
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "refund_resale_fast");
    assert_non_null(x);
    assert_int_equal(x->value, 300);
    assert_int_equal(x->threshold, 86400);
    assert_int_equal(d.verdict, RISK_HOLD);
    /* a void is the same money back */
    ev.amount = 4000; /* part of it: still the goods of the whole charge */
    assert_int_equal(eval(f, &ev).verdict, RISK_HOLD);
    /* gift cards as items of a convenience store's charge */
    const char *items[] = {"food", "giftcards"};
    struct risk_event konbini = refund(TOKYO.store_id, 7, NOW + 5 * MIN, 9000);
    konbini.category = TOKYO.category;
    konbini.ref_at_ms = NOW;
    konbini.ref_amount = 9000;
    konbini.item_categories = items;
    konbini.n_items = 2;
    d = eval(f, &konbini);
    assert_non_null(reason(&d, "refund_resale_fast"));
    /* what genuine customers return: cheap goods, ordinary goods, a
     * television a few days later */
    struct risk_event cheap = ev;
    cheap.ref_amount = cheap.amount = 4990;
    quiet(f, &cheap);
    konbini.n_items = 1;
    quiet(f, &konbini);
    struct risk_event later = ev;
    later.at_ms = NOW + 3 * DAY;
    quiet(f, &later);
    /* nothing known of the payment (no ref_at_ms): nothing to say */
    struct risk_event unknown = ev;
    unknown.ref_at_ms = 0;
    quiet(f, &unknown);
    /* switched off */
    f->cfg.refund_fast_score = 0;
    renew(f);
    quiet(f, &ev);
}

/* The store refunds the same payer again (another payment) within the
 * window: the ring's second cycle, whatever the goods. */
static void the_same_payer_refunded_again_holds(void **state)
{
    struct fx *f = *state;
    struct risk_event ev = refund(TOKYO.store_id, 7, NOW + 10 * DAY, 3000);
    ev.category = TOKYO.category;
    ev.ref_at_ms = NOW + 10 * DAY - 5 * MIN;
    ev.ref_amount = 3000;
    quiet(f, &ev); /* the first refund: any genuine return */
    ev.payer_refunded_ms = NOW + 9 * DAY;
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "refund_repeat_payer");
    assert_non_null(x);
    assert_int_equal(x->value, 86400);
    assert_int_equal(x->threshold, 30 * 86400);
    assert_int_equal(d.verdict, RISK_HOLD);
    /* a month and more later: a customer returning things now and then */
    ev.payer_refunded_ms = NOW + 10 * DAY - 31 * DAY;
    quiet(f, &ev);
    f->cfg.refund_payer_score = 0;
    renew(f);
    ev.payer_refunded_ms = NOW + 9 * DAY;
    quiet(f, &ev);
}

/* A score in the challenge band on a refund holds: nobody is there to confirm. */
static void verdicts_follow_the_scores(void **state)
{
    struct fx *f = *state;
    f->cfg.refund_score = 50;
    renew(f);
    for (int i = 0; i < 20; i++) {
        struct risk_event ev = refund(TOKYO.store_id, 1, NOW + i * MIN, 10);
        done(f, &ev);
    }
    struct risk_event ev = refund(TOKYO.store_id, 1, NOW + 21 * MIN, 10);
    struct risk_decision d = eval(f, &ev);
    assert_int_equal(d.score, 50);
    assert_int_equal(d.verdict, RISK_HOLD);

    /* Scores add up to deny. */
    struct risk_event a = pay(1, NOW, &TOKYO, 1000);
    done(f, &a);
    struct risk_event b = pay(1, NOW + MIN, &SAPPORO, 1000);
    b.flags = RISK_F_DEVICE_NEW | RISK_F_PASSWORD_RESET;
    d = eval(f, &b);
    assert_int_equal(d.score, 110); /* 25 + 25 + 60 */
    assert_int_equal(d.verdict, RISK_HOLD);
    f->cfg.deny_score = 110;
    renew(f);
    done(f, &a);
    d = eval(f, &b);
    assert_int_equal(d.verdict, RISK_DENY);
    /* A score of 0 turns a rule off. */
    f->cfg.travel_score = 0;
    renew(f);
    done(f, &a);
    d = eval(f, &b);
    assert_null(reason(&d, "impossible_travel"));
    /* An unknown kind is refused, and scores nothing. */
    struct risk_event bad = a;
    bad.kind = (enum risk_kind)42;
    assert_int_equal(risk_evaluate(f->r, &bad, &d), ERR_INVALID_PARAM);
    assert_int_equal(d.verdict, RISK_ALLOW);
    assert_int_equal(risk_observe(f->r, &bad, RISK_DONE), ERR_INVALID_PARAM);
    assert_int_equal(risk_observe(f->r, &a, (enum risk_outcome)9), ERR_INVALID_PARAM);
    assert_string_equal(risk_kind_name((enum risk_kind)42), "unknown");
    assert_string_equal(risk_verdict_name(RISK_HOLD), "hold");
}

/* ---- bounded memory ---- */

static void many_keys_stay_bounded(void **state)
{
    struct fx *f = *state;
    f->cfg.max_keys = 1024;
    renew(f);
    struct risk_stats st;
    risk_stats(f->r, &st);
    assert_int_equal(st.capacity, 1024);
    assert_int_equal(st.keys, 0);
    /* 20,000 customers, each paying once: one key each (customer velocity) */
    for (int64_t c = 1; c <= 20000; c++)
        done(f, &(struct risk_event){.kind = RISK_P2P, .at_ms = NOW + c, .customer_id = c, .amount = 1});
    risk_stats(f->r, &st);
    assert_int_equal(st.keys, 1024);
    assert_int_equal(st.evictions, 20000 - 1024);
    /* The newest are remembered, the oldest forgotten. */
    int64_t n, sum;
    risk_ring_read(f->r, DIM_VEL_CUSTOMER, 20000, NOW + 20000, &n, &sum);
    assert_int_equal(n, 1);
    risk_ring_read(f->r, DIM_VEL_CUSTOMER, 1, NOW + 20000, &n, &sum);
    assert_int_equal(n, 0);
    /* A busy key survives a flood of new ones: it is written again and again. */
    for (int64_t c = 1; c <= 20000; c++) {
        done(f, &(struct risk_event){
                    .kind = RISK_P2P, .at_ms = NOW + HOUR / 2, .customer_id = 100000 + c, .amount = 1});
        if (c % 8 == 0)
            done(f, &(struct risk_event){.kind = RISK_P2P, .at_ms = NOW + HOUR / 2, .customer_id = 7, .amount = 1});
    }
    risk_ring_read(f->r, DIM_VEL_CUSTOMER, 7, NOW + HOUR / 2, &n, &sum);
    assert_int_equal(n, 2500);
    risk_stats(f->r, &st);
    assert_int_equal(st.keys, 1024);
}

/* ---- threads ---- */

#define THREADS 4
#define PER_THREAD 5000

struct worker {
    struct risk *r;
    int idx;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        /* every thread pays for customer 42 at store 1, plus its own customers
         * spread over many keys so that shards fill and evict */
        struct risk_event shared = pay(42, NOW + i, &TOKYO, 1);
        struct risk_event own = pay(1000 + w->idx * PER_THREAD + i, NOW + i, &GINZA, 1);
        struct risk_decision d;
        if (risk_evaluate(w->r, &shared, &d) != ERR_OK || risk_observe(w->r, &shared, RISK_DONE) != ERR_OK ||
            risk_evaluate(w->r, &own, &d) != ERR_OK || risk_observe(w->r, &own, RISK_DONE) != ERR_OK)
            return (void *)1;
    }
    return NULL;
}

static void threads_lose_no_count(void **state)
{
    struct fx *f = *state;
    f->cfg.velocity_customer_count = 1;
    f->cfg.velocity_terminal_count = 1;
    f->cfg.max_keys = 4096; /* the own customers evict each other; customer 42 is written too often to go */
    renew(f);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){f->r, i};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *rv = NULL;
        pthread_join(th[i], &rv);
        assert_null(rv);
    }
    struct risk_event ev = pay(42, NOW + PER_THREAD, &TOKYO, 1);
    struct risk_decision d = eval(f, &ev);
    assert_int_equal(reason(&d, "velocity_customer_count")->value, THREADS * PER_THREAD + 1);
    assert_int_equal(reason(&d, "velocity_customer_amount") == NULL, true);
    assert_int_equal(reason(&d, "velocity_terminal_count")->value, THREADS * PER_THREAD + 1);
    struct risk_stats st;
    risk_stats(f->r, &st);
    assert_true(st.keys <= st.capacity);
    assert_true(st.evictions > 0);
}

/* ---- admissions: requests scored in the same moment ---- */

static struct risk_decision admit(struct fx *f, struct risk_event *ev)
{
    struct risk_decision d;
    assert_int_equal(risk_admit(f->r, ev, &d), ERR_OK);
    assert_true(ev->admitted);
    return d;
}

/* A clerk sends refunds from one register all at once: none has committed
 * when the next is scored.  Evaluated only, every one would see the empty
 * window; admitted, the n-th sees n-1 and the one past refund_count holds.
 * Each is counted once whatever its outcome: done counts (no second time),
 * failed and released ones are taken out again. */
static void admitted_refunds_see_each_other(void **state)
{
    struct fx *f = *state;
    f->cfg.refund_count = 3;
    renew(f);
    struct risk_event ev[5];
    struct risk_decision d;
    for (int i = 0; i < 5; i++) {
        ev[i] = refund(TOKYO.store_id, 1 + i, NOW + i, 1000);
        d = admit(f, &ev[i]);
        assert_int_equal(d.verdict, i < 3 ? RISK_ALLOW : RISK_HOLD);
    }
    assert_int_equal(reason(&d, "refunds_store_count")->value, 5);
    /* the two held ones fail, one is a retry that paid before, two are done */
    assert_int_equal(risk_observe(f->r, &ev[3], RISK_FAILED), ERR_OK);
    assert_int_equal(risk_observe(f->r, &ev[4], RISK_FAILED), ERR_OK);
    risk_release(f->r, &ev[2]);
    assert_false(ev[2].admitted);
    risk_release(f->r, &ev[2]); /* twice: nothing more */
    done(f, &ev[0]);
    done(f, &ev[1]);
    int64_t n, sum;
    risk_ring_read(f->r, DIM_REFUND_STORE, TOKYO.store_id, NOW + 10, &n, &sum);
    assert_int_equal(n, 2);
    assert_int_equal(sum, 2000);
    /* and so the next two refunds are allowed again, the one after not */
    struct risk_event more = refund(TOKYO.store_id, 9, NOW + 20, 1000);
    assert_int_equal(admit(f, &more).verdict, RISK_ALLOW);
    more.at_ms++;
    d = admit(f, &more);
    assert_int_equal(d.verdict, RISK_HOLD);
    assert_int_equal(reason(&d, "refunds_store_count")->value, 4);
}

/* Stolen new accounts all sending to one mule in the same moment: the
 * fan-in set and the mule's inflow learn each at its admission.  A velocity
 * count taken out by a failure leaves the window as it was. */
static void admitted_transfers_see_each_other(void **state)
{
    struct fx *f = *state;
    struct risk_decision d;
    for (int64_t c = 1; c <= 4; c++) {
        struct risk_event ev = p2p(100 + c, 500, NOW + c, 20000, RISK_F_ACCOUNT_NEW | RISK_F_PAYEE_NEW);
        d = admit(f, &ev);
    }
    assert_int_equal(reason(&d, "p2p_fan_in")->value, 4);
    assert_int_equal(d.verdict, RISK_HOLD);
    int64_t n, in;
    risk_ring_read(f->r, DIM_MULE_IN, 500, NOW + 10, &n, &in);
    assert_int_equal(in, 80000);
    /* the customer's own count: admitted, then failed, then nothing */
    struct risk_event pv = pay(7, NOW, &TOKYO, 1500);
    admit(f, &pv);
    int64_t sum;
    risk_ring_read(f->r, DIM_VEL_CUSTOMER, 7, NOW, &n, &sum);
    assert_int_equal(n, 1);
    assert_int_equal(sum, 1500);
    assert_int_equal(risk_observe(f->r, &pv, RISK_FAILED), ERR_OK);
    risk_ring_read(f->r, DIM_VEL_CUSTOMER, 7, NOW, &n, &sum);
    assert_int_equal(n, 0);
    assert_int_equal(sum, 0);
}

struct admitter {
    struct risk *r;
    int idx;
    int held;
};

static void *admit_work(void *arg)
{
    struct admitter *a = arg;
    for (int i = 0; i < 50; i++) {
        struct risk_event ev = refund(TOKYO.store_id, 1 + a->idx * 50 + i, NOW + i, 10);
        struct risk_decision d;
        if (risk_admit(a->r, &ev, &d) != ERR_OK)
            return (void *)1;
        a->held += d.verdict == RISK_HOLD;
    }
    return NULL;
}

/* Threads admitting at once: exactly refund_count of them are allowed. */
static void admissions_race_to_the_limit(void **state)
{
    struct fx *f = *state;
    f->cfg.refund_count = 120;
    f->cfg.refund_amount = 100000000;
    renew(f);
    pthread_t th[THREADS];
    struct admitter a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct admitter){f->r, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, admit_work, &a[i]), 0);
    }
    int held = 0;
    for (int i = 0; i < THREADS; i++) {
        void *rv = NULL;
        pthread_join(th[i], &rv);
        assert_null(rv);
        held += a[i].held;
    }
    assert_int_equal(held, THREADS * 50 - 120);
}

/* A ring takes out only what it may still hold, never below zero. */
static void ring_takes_back(void **state)
{
    (void)state;
    struct risk_ring r;
    memset(&r, 0, sizeof r);
    int64_t n, sum;
    risk_ring_add(&r, 1000, 5000, 300);
    risk_ring_add(&r, 1000, 6000, 200);
    risk_ring_sub(&r, 1000, 5000, 300);
    risk_ring_totals(&r, 1000, 6000, &n, &sum);
    assert_int_equal(n, 1);
    assert_int_equal(sum, 200);
    risk_ring_sub(&r, 1000, 5000, 300); /* nothing left in that bucket */
    risk_ring_sub(&r, 1000, 7000, 100); /* a bucket newer than the ring: never counted */
    risk_ring_totals(&r, 1000, 6000, &n, &sum);
    assert_int_equal(n, 1);
    assert_int_equal(sum, 200);
    risk_ring_add(&r, 1000, 6000 + RISK_BUCKETS * 1000, 1); /* the 6,000 bucket leaves the ring */
    risk_ring_sub(&r, 1000, 6000, 200);
    risk_ring_totals(&r, 1000, 6000 + RISK_BUCKETS * 1000, &n, &sum);
    assert_int_equal(n, 1);
    assert_int_equal(sum, 1);
}

/* ---- settings ---- */

static void settings_parse_and_refuse_by_name(void **state)
{
    (void)state;
    struct config c;
    char eb[CONFIG_ERRBUF];
    config_defaults(&c);
    struct risk_config d;
    risk_config_defaults(&d);
    assert_memory_equal(&c.risk, &d, sizeof d);
    assert_int_equal(config_check(&c, eb), ERR_OK);

    assert_int_equal(config_set(&c, "risk", "risk_travel_max_kmh", "320", eb), ERR_OK);
    assert_int_equal(c.risk.travel_max_kmh, 320);
    assert_int_equal(config_set(&c, NULL, "risk_velocity_customer_count", "12", eb), ERR_OK);
    assert_int_equal(c.risk.velocity_customer_count, 12);
    assert_int_equal(config_set(&c, "risk", "risk_resale_categories", "tobacco,giftcards", eb), ERR_OK);
    assert_string_equal(c.risk.resale_categories, "tobacco,giftcards");
    assert_int_equal(config_set(&c, "risk", "risk_login_shared_addr_accounts", "12", eb), ERR_OK);
    assert_int_equal(c.risk.login_shared_addr_accounts, 12);
    assert_int_equal(config_set(&c, "risk", "risk_refund_fast_s", "3600", eb), ERR_OK);
    assert_int_equal(c.risk.refund_fast_s, 3600);
    assert_int_equal(config_set(&c, "risk", "risk_refund_payer_window_s", "2592000", eb), ERR_OK);
    assert_int_equal(c.risk.refund_payer_window_s, 2592000);

    const struct {
        const char *key, *value;
    } bad[] = {
        {"risk_travel_max_kmh", "0"},
        {"risk_travel_max_kmh", "fast"},
        {"risk_velocity_customer_window_s", "59"},
        {"risk_velocity_customer_amount", "-1"},
        {"risk_shared_device_accounts", "16"}, /* a set of 16 could not see the 17th */
        {"risk_login_shared_addr_accounts", "16"},
        {"risk_login_shared_device_accounts", "0"},
        {"risk_login_shared_addr_score", "1001"},
        {"risk_max_keys", "10"},
        {"risk_challenge_score", "0"},
        {"risk_resale_score", "1001"},
        {"risk_mule_share", "101"},
        {"risk_mule_window_s", "59"},
        {"risk_new_payee_amount", "0"},
        {"risk_resale_categories", "Tobacco"},
        {"risk_resale_categories", "tobacco,,gift"},
        {"risk_resale_categories", "tobacco,"},
        {"risk_resale_categories", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"},
        {"risk_resale_categories", "thirty-three-characters-long-name"},
        {"risk_refund_payer_window_s", "2592001"}, /* more than 30 days */
        {"risk_refund_fast_s", "59"},
        {"risk_refund_fast_score", "-1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct config before = c;
        eb[0] = '\0';
        assert_int_equal(config_set(&c, "risk", bad[i].key, bad[i].value, eb), ERR_INVALID_PARAM);
        if (strncmp(eb, bad[i].key, strlen(bad[i].key)) != 0)
            fail_msg("%s=%s: message does not name the setting: %s", bad[i].key, bad[i].value, eb);
        assert_memory_equal(&before, &c, sizeof c); /* nothing changed */
    }
    assert_int_equal(config_set(&c, "wallet", "risk_travel_max_kmh", "300", eb), ERR_INVALID_PARAM);

    /* Settings that contradict each other: named by config_check, refused by risk_new. */
    assert_int_equal(config_set(&c, NULL, "risk_challenge_score", "90", eb), ERR_OK);
    assert_int_equal(config_check(&c, eb), ERR_INVALID_PARAM);
    assert_non_null(strstr(eb, "risk_challenge_score"));
    struct risk *r = NULL;
    assert_int_equal(risk_new(&c.risk, &r), ERR_INVALID_PARAM);
    assert_null(r);
    assert_int_equal(config_set(&c, NULL, "risk_hold_score", "200", eb), ERR_OK);
    assert_int_equal(config_check(&c, eb), ERR_INVALID_PARAM);
    assert_non_null(strstr(eb, "risk_hold_score"));
    d.velocity_store_window_s = 0; /* filled by hand, past the table */
    assert_int_equal(risk_new(&d, &r), ERR_INVALID_PARAM);

    /* An INI file with a [risk] section, and the environment on top. */
    char *dir = tu_tempdir();
    char path[600];
    tu_path(path, sizeof path, dir, "kessai.ini");
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("[risk]\nrisk_deny_score = 150\nrisk_resale_categories = tobacco,e_cigarette\n", fp);
    fclose(fp);
    config_defaults(&c);
    assert_int_equal(config_load_file(&c, path, eb), ERR_OK);
    assert_int_equal(c.risk.deny_score, 150);
    assert_string_equal(c.risk.resale_categories, "tobacco,e_cigarette");
    fp = fopen(path, "w");
    fputs("[risk]\nrisk_fan_in_senders = 99\n", fp);
    fclose(fp);
    assert_int_equal(config_load_file(&c, path, eb), ERR_INVALID_PARAM);
    assert_non_null(strstr(eb, "risk_fan_in_senders"));
    setenv("KESSAI_RISK_REFUND_COUNT", "7", 1);
    assert_int_equal(config_load_env(&c, eb), ERR_OK);
    assert_int_equal(c.risk.refund_count, 7);
    setenv("KESSAI_RISK_REFUND_COUNT", "seven", 1);
    assert_int_equal(config_load_env(&c, eb), ERR_INVALID_PARAM);
    assert_non_null(strstr(eb, "KESSAI_RISK_REFUND_COUNT"));
    unsetenv("KESSAI_RISK_REFUND_COUNT");
    tu_rmtree(dir);
    free(dir);
}

/* A configured list is what fires. */
static void resale_categories_are_configurable(void **state)
{
    struct fx *f = *state;
    snprintf(f->cfg.resale_categories, sizeof f->cfg.resale_categories, "supermarket");
    renew(f);
    struct risk_event t = topup(1, NOW, 5551, 30000);
    quiet(f, &t);
    struct risk_event tob = pay(1, NOW + MIN, &TOBACCO, 20000);
    quiet(f, &tob);
    struct risk_event sup = pay(1, NOW + 2 * MIN, &GINZA, 20000);
    struct risk_decision d = eval(f, &sup);
    assert_non_null(reason(&d, "topup_then_resale"));
}

/* ---- decisions in the store ---- */

static void decisions_round_trip(void **state)
{
    struct fx *f = *state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    struct risk_event a = pay(1, NOW, &TOKYO, 1000);
    done(f, &a);
    struct risk_event b = pay(1, NOW + 10 * MIN, &UMEDA, 2500);
    b.flags = RISK_F_DEVICE_NEW;
    struct risk_decision d = eval(f, &b);
    int64_t id1 = 0, id2 = 0, id3 = 0;
    assert_int_equal(risk_record(st, &b, &d, "pay_0000000000001", &id1), ERR_OK);
    struct risk_decision ok = eval(f, &a);
    assert_int_equal(risk_record(st, &a, &ok, NULL, &id2), ERR_OK);
    struct risk_event other = pay(2, NOW, &TOKYO, 1000);
    assert_int_equal(risk_record(st, &other, &ok, "x", &id3), ERR_OK);
    assert_true(id1 > 0 && id2 > id1 && id3 > id2);
    char longref[RISK_REF_MAX + 2];
    memset(longref, 'r', sizeof longref - 1);
    longref[sizeof longref - 1] = '\0';
    assert_int_equal(risk_record(st, &a, &ok, longref, NULL), ERR_INVALID_PARAM);

    struct risk_decision_row rows[4];
    size_t n = 0;
    assert_int_equal(st->ops->risk_decision_list(st, 1, 0, 4, rows, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, id2); /* newest first */
    assert_string_equal(rows[0].decision, "allow");
    assert_string_equal(rows[0].reasons, "[]");
    assert_string_equal(rows[0].ref, "");
    const struct risk_decision_row *r = &rows[1];
    assert_int_equal(r->id, id1);
    assert_int_equal(r->at_ms, NOW + 10 * MIN);
    assert_string_equal(r->kind, "payment");
    assert_int_equal(r->customer_id, 1);
    assert_int_equal(r->device_id, 10);
    assert_int_equal(r->store_id, UMEDA.store_id);
    assert_int_equal(r->amount, 2500);
    assert_string_equal(r->decision, "hold"); /* 25 + 60 */
    assert_int_equal(r->score, 85);
    assert_string_equal(r->ref, "pay_0000000000001");
    json_error_t je;
    json_t *reasons = json_loads(r->reasons, 0, &je);
    assert_non_null(reasons);
    assert_int_equal(json_array_size(reasons), 2);
    json_t *first = json_array_get(reasons, 0);
    assert_string_equal(json_string_value(json_object_get(first, "rule")), "new_device");
    json_t *second = json_array_get(reasons, 1);
    assert_string_equal(json_string_value(json_object_get(second, "rule")), "impossible_travel");
    assert_int_equal(json_integer_value(json_object_get(second, "threshold")), 300);
    assert_int_equal(json_integer_value(json_object_get(second, "score")), 60);
    assert_true(json_integer_value(json_object_get(second, "value")) > 2000);
    json_decref(reasons);
    /* paging */
    assert_int_equal(st->ops->risk_decision_list(st, 1, id2, 4, rows, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, id1);
    assert_int_equal(st->ops->risk_decision_list(st, 3, 0, 4, rows, &n), ERR_OK);
    assert_int_equal(n, 0);
    /* the JSON never overflows silently */
    char small[16];
    assert_int_equal(risk_reasons_json(&d, small, sizeof small), ERR_OVERFLOW);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

/* ---- warm-up after a restart ---- */

#define PUBKEY_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define PUBKEY_T "TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT"

struct world {
    char *dir;
    struct store *st;
    int64_t alice, thief, dev_alice, dev_thief, card;
    struct merchant_store tokyo, umeda, tobacco;
    int64_t next_payment;
};

static int64_t add_customer(struct store *st, const char *email, int64_t created)
{
    struct customer c;
    memset(&c, 0, sizeof c);
    snprintf(c.email, sizeof c.email, "%s", email);
    snprintf(c.password_hash, sizeof c.password_hash, "x");
    c.created_ms = created;
    assert_int_equal(st->ops->customer_insert(st, &c), ERR_OK);
    return c.id;
}

static int64_t add_device(struct store *st, int64_t customer, const char *pk)
{
    struct customer_device d;
    memset(&d, 0, sizeof d);
    d.customer_id = customer;
    snprintf(d.public_key, sizeof d.public_key, "%s", pk);
    snprintf(d.name, sizeof d.name, "phone");
    d.first_seen_ms = d.last_seen_ms = NOW - 30 * DAY;
    assert_int_equal(st->ops->device_insert(st, &d), ERR_OK);
    return d.id;
}

static void add_payment(struct world *w, int kind, int64_t customer, int64_t device, const struct merchant_store *s,
                        int64_t counterparty, int64_t amount, int64_t at)
{
    struct payment p;
    memset(&p, 0, sizeof p);
    p.id = ++w->next_payment;
    p.kind = kind;
    p.customer_id = customer;
    p.device_id = device;
    if (s) {
        p.merchant_id = s->merchant_id;
        p.store_id = s->id;
        p.terminal_id = 1;
    }
    p.counterparty_id = counterparty;
    p.amount = amount;
    p.created_ms = at;
    assert_int_equal(w->st->ops->payment_insert(w->st, &p), ERR_OK);
}

static void add_topup(struct world *w, int64_t customer, int64_t device, int64_t card, int status,
                      const char *decline, int64_t amount, int64_t at)
{
    static int n;
    struct topup t;
    memset(&t, 0, sizeof t);
    t.customer_id = customer;
    t.source = TOPUP_CARD;
    t.status = status;
    t.amount = amount;
    t.card_id = card;
    t.device_id = device;
    snprintf(t.idem_scope, sizeof t.idem_scope, "usr_x");
    snprintf(t.idem_key, sizeof t.idem_key, "k%d", ++n);
    snprintf(t.decline_code, sizeof t.decline_code, "%s", decline);
    t.created_ms = t.updated_ms = at;
    assert_int_equal(w->st->ops->topup_insert(w->st, &t), ERR_OK);
}

static void world_open(struct world *w)
{
    memset(w, 0, sizeof *w);
    w->dir = tu_tempdir();
    w->st = tu_open_store(w->dir);
    struct store *st = w->st;
    w->alice = add_customer(st, "alice@example.com", NOW - 400 * DAY);
    w->thief = add_customer(st, "mallory@example.com", NOW - 400 * DAY);
    w->dev_alice = add_device(st, w->alice, PUBKEY_A);
    w->dev_thief = add_device(st, w->thief, PUBKEY_T);
    struct merchant m;
    assert_int_equal(merchant_create(st, "Kessai Mart", &m), ERR_OK);
    assert_int_equal(merchant_store_create(st, m.id, "Tokyo Station", "1-9-1 Marunouchi, Tokyo", TOKYO.lat_e6,
                                           TOKYO.lon_e6, "convenience", &w->tokyo),
                     ERR_OK);
    assert_int_equal(merchant_store_create(st, m.id, "Umeda", "3-1-1 Umeda, Osaka", UMEDA.lat_e6, UMEDA.lon_e6,
                                           "convenience", &w->umeda),
                     ERR_OK);
    assert_int_equal(merchant_store_create(st, m.id, "Smoke Shop", "1-1 Yaesu, Tokyo", TOBACCO.lat_e6,
                                           TOBACCO.lon_e6, "tobacco", &w->tobacco),
                     ERR_OK);
    struct card k;
    memset(&k, 0, sizeof k);
    k.customer_id = w->alice;
    k.status = CARD_ACTIVE;
    snprintf(k.token, sizeof k.token, "tok_1");
    snprintf(k.brand, sizeof k.brand, "visa");
    snprintf(k.last4, sizeof k.last4, "4242");
    k.exp_month = 12, k.exp_year = 2030;
    memset(k.fingerprint, 0x5a, sizeof k.fingerprint);
    k.created_ms = k.linked_ms = NOW - 30 * DAY;
    assert_int_equal(st->ops->card_insert(st, &k), ERR_OK);
    w->card = k.id;
}

static void world_close(struct world *w)
{
    store_close(w->st);
    tu_rmtree(w->dir);
    free(w->dir);
}

/* The thief's hour before the restart, as the store has it, and what the
 * engine says after warming up from it: the same as an engine that never
 * stopped. */
static void warm_up_remembers_the_thief(void **state)
{
    struct fx *f = *state;
    struct world w;
    world_open(&w);
    /* Long ago: plenty of old payments, outside every window. */
    for (int i = 0; i < 40; i++)
        add_payment(&w, PAYMENT_CPM, w.alice, w.dev_alice, &w.umeda, 0, 700, NOW - 3 * DAY + i * MIN);
    /* The last 45 minutes: ten payments in Tokyo, a card top-up. */
    add_topup(&w, w.alice, w.dev_alice, w.card, TOPUP_SUCCEEDED, "", 30000, NOW - 20 * MIN);
    /* refused by a kill switch: not an issuer's no */
    add_topup(&w, w.alice, w.dev_alice, w.card, TOPUP_FAILED, "suspended", 30000, NOW - 19 * MIN);
    for (int i = 0; i < 10; i++)
        add_payment(&w, PAYMENT_CPM, w.alice, w.dev_alice, &w.tokyo, 0, 1000, NOW - 45 * MIN + i * 4 * MIN);
    /* A card tester: five declined links from one address, declined top-ups. */
    for (int i = 0; i < 5; i++) {
        struct card_attempt a = {.customer_id = w.thief, .device_id = w.dev_thief, .outcome = CARD_ATTEMPT_DECLINED,
                                 .at_ms = NOW - 30 * MIN + i * MIN};
        snprintf(a.client_addr, sizeof a.client_addr, "2001:db8:7:7::/64");
        assert_int_equal(w.st->ops->card_attempt_insert(w.st, &a, 0), ERR_OK);
    }
    struct card_attempt ok = {.customer_id = w.alice, .device_id = w.dev_alice, .outcome = CARD_ATTEMPT_OK,
                              .at_ms = NOW - 20 * MIN};
    snprintf(ok.client_addr, sizeof ok.client_addr, "198.51.100.20");
    assert_int_equal(w.st->ops->card_attempt_insert(w.st, &ok, 0), ERR_OK);
    /* A transfer between the two, from an old account: counts as Alice's money moving. */
    add_payment(&w, PAYMENT_P2P, w.alice, w.dev_alice, NULL, 0, 100, NOW - 2 * MIN);

    /* "Restart": a fresh engine, warmed from the store. */
    size_t rows = 0;
    assert_int_equal(risk_warm(f->r, w.st, NOW, &rows), ERR_OK);
    /* 11 payments and transfers, 1 top-up (the one a switch refused is not
     * an issuer's answer), 6 card attempts; the old payments are not read */
    assert_int_equal(rows, 11 + 1 + 6);

    /* Alice's 13th movement in the hour (a top-up, ten payments, a
     * transfer, this), in Osaka nine minutes after Tokyo. */
    struct risk_event ev = pay(w.alice, NOW, &UMEDA, 1000);
    ev.store_id = w.umeda.id;
    ev.device_key = risk_device_key(PUBKEY_A);
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "velocity_customer_count");
    assert_non_null(x);
    assert_int_equal(x->value, 13);
    assert_null(reason(&d, "velocity_device_count")); /* 13 of 15 */
    assert_non_null(reason(&d, "impossible_travel"));
    /* The top-up, then the smoke shop. */
    struct risk_event smoke = pay(w.alice, NOW, &TOBACCO, 20000);
    smoke.store_id = w.tobacco.id;
    d = eval(f, &smoke);
    assert_non_null(reason(&d, "topup_then_resale"));
    /* The card tester's address stays denied, on any phone. */
    struct risk_event link = card_link(w.thief, NOW, 1, "2001:db8:7:7::1234", 31337);
    d = eval(f, &link);
    assert_int_equal(d.verdict, RISK_DENY);
    assert_non_null(reason(&d, "card_declines_address"));
    assert_non_null(reason(&d, "card_declines_customer"));
    /* The card's top-up velocity came back with it. */
    struct risk_event t = topup(w.alice, NOW, 0, 80000);
    uint8_t fp[CARD_FINGERPRINT_BYTES];
    memset(fp, 0x5a, sizeof fp);
    t.card_fp = risk_card_fp(fp);
    d = eval(f, &t);
    x = reason(&d, "velocity_card_amount");
    assert_non_null(x);
    assert_int_equal(x->value, 110000);

    /* Next to it: a quiet customer stays quiet after the restart. */
    struct risk_event bob = pay(77, NOW, &TOKYO, 1000);
    quiet(f, &bob);
    world_close(&w);
}

/* Fan-in after a restart: the senders' ages come from their accounts. */
static void warm_up_remembers_fan_in(void **state)
{
    struct fx *f = *state;
    struct world w;
    world_open(&w);
    int64_t mule = add_customer(w.st, "mule@example.com", NOW - 100 * DAY);
    for (int i = 0; i < 3; i++) {
        char email[64];
        snprintf(email, sizeof email, "new%d@example.com", i);
        int64_t c = add_customer(w.st, email, NOW - 2 * DAY);
        add_payment(&w, PAYMENT_P2P, c, 0, NULL, mule, 20000, NOW - 5 * HOUR + i * HOUR);
    }
    /* An old friend's transfer does not count as a new sender's. */
    add_payment(&w, PAYMENT_P2P, w.alice, w.dev_alice, NULL, mule, 2000, NOW - HOUR);
    assert_int_equal(risk_warm(f->r, w.st, NOW, NULL), ERR_OK);
    struct risk_event ev = p2p(9999, mule, NOW, 20000, RISK_F_ACCOUNT_NEW);
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "p2p_fan_in");
    assert_non_null(x);
    assert_int_equal(x->value, 4);
    world_close(&w);
}

/* A mule's day after a restart: the victims' transfers and the mule's
 * spending come back from the store, the recipient's age from its account. */
static void warm_up_remembers_the_mule(void **state)
{
    struct fx *f = *state;
    struct world w;
    world_open(&w);
    int64_t mule = add_customer(w.st, "mule@example.com", NOW - 2 * DAY);
    for (int i = 0; i < 3; i++) {
        char email[64];
        snprintf(email, sizeof email, "victim%d@example.com", i);
        int64_t v = add_customer(w.st, email, NOW - 300 * DAY);
        add_payment(&w, PAYMENT_P2P, v, 0, NULL, mule, 8000, NOW - 5 * HOUR + i * HOUR);
    }
    add_payment(&w, PAYMENT_CPM, mule, 0, &w.tokyo, 0, 10000, NOW - HOUR);
    assert_int_equal(risk_warm(f->r, w.st, NOW, NULL), ERR_OK);
    struct risk_event ev = p2p(mule, w.alice, NOW, 3000, RISK_F_ACCOUNT_NEW);
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "mule_pass_through");
    assert_non_null(x);
    assert_int_equal(x->value, 54);
    /* The store knows who paid whom: a first transfer, a repeat. */
    bool sent = true;
    assert_int_equal(w.st->ops->payment_p2p_sent(w.st, w.alice, mule, 500, &sent), ERR_OK);
    assert_false(sent);
    add_payment(&w, PAYMENT_P2P, w.alice, w.dev_alice, NULL, mule, 500, NOW);
    assert_int_equal(w.st->ops->payment_p2p_sent(w.st, w.alice, mule, 500, &sent), ERR_OK);
    assert_true(sent);
    assert_int_equal(w.st->ops->payment_p2p_sent(w.st, w.alice, mule, 501, &sent), ERR_OK);
    assert_false(sent); /* a smaller transfer does not count */
    assert_int_equal(w.st->ops->payment_p2p_sent(w.st, mule, w.alice, 500, &sent), ERR_OK);
    assert_false(sent); /* the other way round is another first */
    world_close(&w);
}

static void warm_up_remembers_the_refunds(void **state)
{
    struct fx *f = *state;
    f->cfg.refund_count = 2;
    renew(f);
    struct world w;
    world_open(&w);
    /* Two refunds by Tokyo's register in the last hour (of payments made
     * anywhere), one yesterday; one by another store. */
    const int64_t at[] = {NOW - 50 * MIN, NOW - 10 * MIN, NOW - DAY};
    for (int i = 0; i < 3; i++) {
        struct payment_refund r = {.id = 900 + i, .payment_id = 1, .customer_id = w.alice,
                                   .store_id = w.tokyo.id, .terminal_id = 5, .amount = 1000, .created_ms = at[i]};
        assert_int_equal(w.st->ops->payment_refund_insert(w.st, &r), ERR_OK);
    }
    struct payment_refund other = {.id = 903, .payment_id = 1, .customer_id = w.alice, .store_id = w.umeda.id,
                                   .terminal_id = 6, .amount = 1000, .created_ms = NOW - 5 * MIN};
    assert_int_equal(w.st->ops->payment_refund_insert(w.st, &other), ERR_OK);
    size_t rows = 0;
    assert_int_equal(risk_warm(f->r, w.st, NOW, &rows), ERR_OK);
    assert_true(rows >= 4);
    struct risk_event ev = refund(w.tokyo.id, 7, NOW, 1000);
    struct risk_decision d = eval(f, &ev);
    const struct risk_reason *x = reason(&d, "refunds_store_count");
    assert_non_null(x);
    assert_int_equal(x->value, 3);
    assert_int_equal(d.verdict, RISK_HOLD);
    struct risk_event there = refund(w.umeda.id, 7, NOW, 1000);
    quiet(f, &there);
    world_close(&w);
}

/* Every transfer to a new account asks whether its sender paid the
 * recipient before: that must be an index lookup, not a walk of every
 * payment ever made (at a million payments a transfer would wait seconds,
 * inside the review approval's transaction too). */
static void the_first_transfer_lookup_is_indexed(void **state)
{
    (void)state;
    struct world w;
    world_open(&w);
    char path[600];
    tu_path(path, sizeof path, w.dir, "kessai.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    /* The statement of sq_payment_p2p_sent (src/store/sqlite_payment.c). */
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "EXPLAIN QUERY PLAN SELECT 1 FROM payments WHERE customer_id = ? AND kind = 3 "
                                        "AND counterparty_id = ? AND amount - refunded >= ? LIMIT 1",
                                        -1, &q, NULL),
                     SQLITE_OK);
    char plan[512] = "";
    while (sqlite3_step(q) == SQLITE_ROW) {
        size_t n = strlen(plan);
        snprintf(plan + n, sizeof plan - n, "%s;", (const char *)sqlite3_column_text(q, 3));
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    assert_null(strstr(plan, "SCAN"));
    assert_non_null(strstr(plan, "USING INDEX"));
    world_close(&w);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ordinary_week_is_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(new_device_and_reset_together_challenge, setup, teardown),
        cmocka_unit_test_setup_teardown(velocity_customer_count_fires_on_the_eleventh, setup, teardown),
        cmocka_unit_test_setup_teardown(velocity_customer_amount_fires_over_the_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(velocity_device_across_accounts, setup, teardown),
        cmocka_unit_test_setup_teardown(velocity_card_topups, setup, teardown),
        cmocka_unit_test_setup_teardown(velocity_store_and_terminal, setup, teardown),
        cmocka_unit_test_setup_teardown(velocity_counts_only_done, setup, teardown),
        cmocka_unit_test_setup_teardown(window_expires, setup, teardown),
        cmocka_unit_test(ring_blur_and_order),
        cmocka_unit_test(set_counts_distinct_and_forgets),
        cmocka_unit_test_setup_teardown(topup_then_resale_fires, setup, teardown),
        cmocka_unit_test_setup_teardown(topup_then_ordinary_spending_is_quiet, setup, teardown),
        cmocka_unit_test_setup_teardown(resale_categories_are_configurable, setup, teardown),
        cmocka_unit_test_setup_teardown(impossible_travel_fires, setup, teardown),
        cmocka_unit_test_setup_teardown(possible_travel_is_quiet, setup, teardown),
        cmocka_unit_test_setup_teardown(shared_device_fires, setup, teardown),
        cmocka_unit_test_setup_teardown(shared_address_groups_ipv6_by_64, setup, teardown),
        cmocka_unit_test_setup_teardown(login_thresholds_refuse_stuffing, setup, teardown),
        cmocka_unit_test(address_keys),
        cmocka_unit_test_setup_teardown(card_declines_deny, setup, teardown),
        cmocka_unit_test_setup_teardown(card_many_cards_deny, setup, teardown),
        cmocka_unit_test_setup_teardown(p2p_fan_in_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(p2p_new_payee_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(mule_pass_through_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(mule_quiet_for_ordinary_new_customers, setup, teardown),
        cmocka_unit_test_setup_teardown(refunds_at_one_store_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(resale_goods_refunded_at_once_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(the_same_payer_refunded_again_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(verdicts_follow_the_scores, setup, teardown),
        cmocka_unit_test_setup_teardown(many_keys_stay_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(threads_lose_no_count, setup, teardown),
        cmocka_unit_test_setup_teardown(admitted_refunds_see_each_other, setup, teardown),
        cmocka_unit_test_setup_teardown(admitted_transfers_see_each_other, setup, teardown),
        cmocka_unit_test_setup_teardown(admissions_race_to_the_limit, setup, teardown),
        cmocka_unit_test(ring_takes_back),
        cmocka_unit_test(settings_parse_and_refuse_by_name),
        cmocka_unit_test_setup_teardown(decisions_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(warm_up_remembers_the_thief, setup, teardown),
        cmocka_unit_test_setup_teardown(warm_up_remembers_fan_in, setup, teardown),
        cmocka_unit_test_setup_teardown(warm_up_remembers_the_mule, setup, teardown),
        cmocka_unit_test_setup_teardown(warm_up_remembers_the_refunds, setup, teardown),
        cmocka_unit_test_setup_teardown(the_first_transfer_lookup_is_indexed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
