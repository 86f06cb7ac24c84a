/* test_killswitch.c: operator switches (ops/killswitch.h) on a real SQLite
 * store: a switch stops what it names at once, on every connection (every
 * node), and nothing else; bad input changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "merchant/merchant.h"
#include "ops/killswitch.h"
#include "util/ids.h"
#include "testutil.h"

#define NOW 1767225600000LL

static const char *const topups_only[] = {KILLSWITCH_TOPUPS, NULL};
static const char *const card_topups[] = {KILLSWITCH_TOPUPS, KILLSWITCH_CARD_TOPUPS, NULL};

struct fx {
    char *dir;
    struct store *st;
    struct store *other; /* a second connection: another node */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = tu_tempdir();
    f->st = tu_open_store(f->dir);
    f->other = tu_open_store(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->other);
    store_close(f->st);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A merchant and n stores of it (ids into ids[0..n-1], the merchant's
 * into *mer): a switch is turned on only for one that exists. */
static void shops(struct store *st, int64_t *mer, int64_t *ids, int n)
{
    struct merchant m;
    struct merchant_store s;
    char name[32];
    assert_int_equal(merchant_create(st, "Kessai Mart", &m), ERR_OK);
    *mer = m.id;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "Store %d", i);
        assert_int_equal(merchant_store_create(st, m.id, name, "1-1 Ginza", 35671000, 139765000, "convenience", &s),
                         ERR_OK);
        ids[i] = s.id;
    }
}

/* "payments@str_…" for store id. */
static char *scoped(char name[KILLSWITCH_NAME_MAX + 1], const char *prefix, int64_t id)
{
    char buf[IDS_BUF];
    snprintf(name, KILLSWITCH_NAME_MAX + 1, "payments@%s", ids_format(buf, prefix, id));
    return name;
}

static size_t n_switches(struct store *st)
{
    struct killswitch k[8];
    size_t n = 99;
    assert_int_equal(st->ops->killswitch_list(st, "", 8, k, &n), ERR_OK);
    return n;
}

/* killswitch_each's rows that were ever set, copied in order. */
struct seen {
    struct killswitch rows[128];
    size_t n, visited;
};

static enum err see(const struct killswitch *k, void *ctx)
{
    struct seen *s = ctx;
    s->visited++;
    if (k->set_ms > 0 && s->n < sizeof s->rows / sizeof s->rows[0])
        s->rows[s->n++] = *k;
    return ERR_OK;
}

static void switches_start_off(void **state)
{
    struct fx *f = *state;
    struct killswitch k;
    assert_int_equal(killswitch_check(f->st, card_topups, &k), ERR_OK);
    assert_int_equal(killswitch_check(f->st, card_topups, NULL), ERR_OK);
    assert_int_equal(n_switches(f->st), 0);
    assert_true(killswitch_known("topups"));
    assert_true(killswitch_known("card_topups"));
    assert_true(killswitch_known("payments"));
    assert_true(killswitch_known("p2p"));
    assert_true(killswitch_known("payments@mer_0000000000001"));
    assert_true(killswitch_known("payments@str_0000000000001"));
    assert_false(killswitch_known("payments@usr_0000000000001"));
    assert_false(killswitch_known("payments@str_"));
    assert_true(killswitch_known("topups@str_0000000000001")); /* cash at one store's registers */
    assert_true(killswitch_known("topups@mer_0000000000001"));
    assert_false(killswitch_known("card_topups@str_0000000000001")); /* a card top-up has no store */
    assert_false(killswitch_known("p2p@mer_0000000000001"));
    assert_false(killswitch_known("@str_0000000000001"));
    assert_true(killswitch_known("card_links"));
    assert_true(killswitch_known("registrations"));
    assert_false(killswitch_known("withdrawals"));
    assert_false(killswitch_known("TOPUPS"));
    assert_false(killswitch_known(""));
    assert_false(killswitch_known(NULL));
}

static void topups_switch_stops_every_topup_on_every_node(void **state)
{
    struct fx *f = *state;
    assert_int_equal(killswitch_set(f->st, "admin-cli", KILLSWITCH_TOPUPS, true, "card fraud wave, back at 18:00", "cli:ana", NOW),
                     ERR_OK);
    /* Seen at once by the other connection: no cache anywhere. */
    struct killswitch k;
    memset(&k, 0, sizeof k);
    assert_int_equal(killswitch_check(f->other, topups_only, &k), ERR_SUSPENDED);
    assert_string_equal(k.name, "topups");
    assert_int_equal(k.on, 1);
    assert_string_equal(k.reason, "card fraud wave, back at 18:00");
    assert_string_equal(k.set_by, "cli:ana");
    assert_int_equal(k.set_ms, NOW);
    assert_int_equal(killswitch_check(f->other, card_topups, NULL), ERR_SUSPENDED);
    /* Off again: everything works, on both. */
    assert_int_equal(killswitch_set(f->other, "admin-cli", KILLSWITCH_TOPUPS, false, NULL, "cli:bo", NOW + 1000), ERR_OK);
    assert_int_equal(killswitch_check(f->st, topups_only, &k), ERR_OK);
    assert_int_equal(killswitch_check(f->st, card_topups, &k), ERR_OK);

    /* The list remembers who switched it last, and when. */
    struct seen seen = {0};
    assert_int_equal(killswitch_each(f->st, see, &seen), ERR_OK);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.rows[0].name, "topups");
    assert_int_equal(seen.rows[0].on, 0);
    assert_string_equal(seen.rows[0].set_by, "cli:bo");
    assert_int_equal(seen.rows[0].set_ms, NOW + 1000);
}

/* A chain of thousands of stores may have more store switches than one
 * page: the list still shows "topups" on (it sorts after every
 * "payments@str_…"), and every store's switch. */
static void the_list_leaves_no_switch_out(void **state)
{
    struct fx *f = *state;
    int64_t mer, stores[100];
    shops(f->st, &mer, stores, 100);
    assert_int_equal(killswitch_set(f->st, "admin-cli", KILLSWITCH_TOPUPS, true, "fraud wave", "cli:ana", NOW), ERR_OK);
    char name[KILLSWITCH_NAME_MAX + 1];
    for (int i = 0; i < 100; i++)
        assert_int_equal(killswitch_set(f->st, "admin-cli", scoped(name, MERCHANT_STORE_ID_PREFIX, stores[i]), true,
                                        "robbed", "cli:ana", NOW),
                         ERR_OK);
    struct seen seen = {0};
    assert_int_equal(killswitch_each(f->st, see, &seen), ERR_OK);
    size_t nnames;
    (void)killswitch_names(&nnames);
    assert_int_equal(seen.visited, nnames + 100);
    assert_int_equal(seen.n, 101);
    bool topups_on = false;
    for (size_t i = 0; i < seen.n; i++)
        topups_on |= strcmp(seen.rows[i].name, "topups") == 0 && seen.rows[i].on;
    assert_true(topups_on);
}

static void card_topups_switch_leaves_cash_alone(void **state)
{
    struct fx *f = *state;
    assert_int_equal(killswitch_set(f->st, "admin-cli", KILLSWITCH_CARD_TOPUPS, true, "acquirer outage", "cli:ana", NOW), ERR_OK);
    struct killswitch k;
    /* A cash top-up checks "topups" only: it goes on. */
    assert_int_equal(killswitch_check(f->other, topups_only, &k), ERR_OK);
    assert_int_equal(killswitch_check(f->other, card_topups, &k), ERR_SUSPENDED);
    assert_string_equal(k.name, "card_topups");
    assert_string_equal(k.reason, "acquirer outage");

    /* Both on: the first one listed is reported. */
    assert_int_equal(killswitch_set(f->st, "admin-cli", KILLSWITCH_TOPUPS, true, "all stop", "cli:ana", NOW), ERR_OK);
    assert_int_equal(killswitch_check(f->other, card_topups, &k), ERR_SUSPENDED);
    assert_string_equal(k.name, "topups");
    assert_string_equal(k.reason, "all stop");
    assert_int_equal(n_switches(f->st), 2);
    /* Setting a switch again replaces its reason; still one row each. */
    assert_int_equal(killswitch_set(f->st, "admin-cli", KILLSWITCH_TOPUPS, true, "all stop until 18:00", "cli:bo", NOW), ERR_OK);
    assert_int_equal(killswitch_check(f->st, topups_only, &k), ERR_SUSPENDED);
    assert_string_equal(k.reason, "all stop until 18:00");
    assert_int_equal(n_switches(f->st), 2);
}

static void check_runs_inside_the_callers_transaction(void **state)
{
    struct fx *f = *state;
    assert_int_equal(killswitch_set(f->st, "admin-cli", KILLSWITCH_TOPUPS, true, "maintenance", "cli:ana", NOW), ERR_OK);
    assert_int_equal(f->other->ops->begin(f->other), ERR_OK);
    struct killswitch k;
    assert_int_equal(killswitch_check(f->other, card_topups, &k), ERR_SUSPENDED);
    assert_int_equal(f->other->ops->commit(f->other), ERR_OK);
}

/* "payments" for one merchant or one store stops only there; the global
 * switch stops every store; each scope is its own row, off independently. */
static void payments_switch_has_scopes(void **state)
{
    struct fx *f = *state;
    struct killswitch k;
    char name[KILLSWITCH_NAME_MAX + 1], mer_name[KILLSWITCH_NAME_MAX + 1];
    /* a mistyped id: no such store or merchant, nothing switched */
    assert_int_equal(killswitch_set(f->st, "admin-cli", "payments@str_0000000000026", true, "till broken", "cli:ana", NOW),
                     ERR_STORE_NOT_FOUND);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "payments@mer_0000000000007", true, "audit", "cli:ana", NOW),
                     ERR_MERCHANT_NOT_FOUND);
    assert_int_equal(n_switches(f->st), 0);
    int64_t mer, other_mer, shop[2], other_shop[1];
    shops(f->st, &mer, shop, 2);
    shops(f->st, &other_mer, other_shop, 1);
    const int64_t str = shop[0], other_str = shop[1], far = other_shop[0];
    scoped(mer_name, MERCHANT_ID_PREFIX, mer);
    assert_int_equal(killswitch_check_scoped(f->st, KILLSWITCH_PAYMENTS, mer, str, &k), ERR_OK);
    assert_int_equal(killswitch_set(f->st, "admin-cli", scoped(name, MERCHANT_STORE_ID_PREFIX, str), true,
                                    "till broken", "cli:ana", NOW),
                     ERR_OK);
    memset(&k, 0, sizeof k);
    assert_int_equal(killswitch_check_scoped(f->other, KILLSWITCH_PAYMENTS, mer, str, &k), ERR_SUSPENDED);
    assert_string_equal(k.reason, "till broken");
    assert_int_equal(killswitch_check_scoped(f->other, KILLSWITCH_PAYMENTS, mer, other_str, NULL), ERR_OK);
    assert_int_equal(killswitch_set(f->st, "admin-cli", mer_name, true, "merchant audit", "cli:ana", NOW), ERR_OK);
    assert_int_equal(killswitch_check_scoped(f->other, KILLSWITCH_PAYMENTS, mer, other_str, &k), ERR_SUSPENDED);
    assert_string_equal(k.reason, "merchant audit");
    /* Both scopes on: the merchant's, the wider, is the one shown. */
    assert_int_equal(killswitch_check_scoped(f->other, KILLSWITCH_PAYMENTS, mer, str, &k), ERR_SUSPENDED);
    assert_string_equal(k.reason, "merchant audit");
    assert_int_equal(killswitch_check_scoped(f->other, KILLSWITCH_PAYMENTS, other_mer, far, NULL), ERR_OK);
    /* The global switch wins, with its own reason. */
    assert_int_equal(killswitch_set(f->st, "admin-cli", KILLSWITCH_PAYMENTS, true, "everyone", "cli:ana", NOW), ERR_OK);
    assert_int_equal(killswitch_check_scoped(f->other, KILLSWITCH_PAYMENTS, other_mer, far, &k), ERR_SUSPENDED);
    assert_string_equal(k.reason, "everyone");
    assert_int_equal(killswitch_check_scoped(f->other, KILLSWITCH_PAYMENTS, mer, str, &k), ERR_SUSPENDED);
    assert_string_equal(k.reason, "everyone");
    /* Off one by one: the others stay. */
    assert_int_equal(killswitch_set(f->st, "admin-cli", KILLSWITCH_PAYMENTS, false, NULL, "cli:ana", NOW), ERR_OK);
    assert_int_equal(killswitch_set(f->st, "admin-cli", mer_name, false, NULL, "cli:ana", NOW), ERR_OK);
    assert_int_equal(killswitch_check_scoped(f->other, KILLSWITCH_PAYMENTS, mer, other_str, NULL), ERR_OK);
    assert_int_equal(killswitch_check_scoped(f->other, KILLSWITCH_PAYMENTS, mer, str, NULL), ERR_SUSPENDED);
    /* Top-ups never noticed. */
    assert_int_equal(killswitch_check(f->other, card_topups, NULL), ERR_OK);
}

static void bad_input_changes_nothing(void **state)
{
    struct fx *f = *state;
    char long_reason[KILLSWITCH_REASON_MAX + 2];
    memset(long_reason, 'x', sizeof long_reason);
    long_reason[KILLSWITCH_REASON_MAX + 1] = '\0';

    assert_int_equal(killswitch_set(f->st, "admin-cli", "withdrawals", true, "nope", "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "payments@str_0000000000001x", true, "nope", "cli:ana", NOW),
                     ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "", true, "nope", "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", NULL, true, "nope", "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups'; DROP TABLE killswitches; --", true, "x", "cli:ana", NOW),
                     ERR_INVALID_PARAM);
    /* On needs a reason the operator wrote: 1..200 bytes of text. */
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, NULL, "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "", "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, long_reason, "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "line one\nline two", "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "bell\a", "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "esc \x1b[31mred", "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "del\x7f", "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "latin1 caf\xe9", "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "overlong \xc0\xaf", "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "surrogate \xed\xa0\x80", "cli:ana", NOW),
                     ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "cut \xe3\x81", "cli:ana", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "c1 \xc2\x85", "cli:ana", NOW), ERR_INVALID_PARAM);
    /* Who switched is always recorded. */
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "ok", "", NOW), ERR_INVALID_PARAM);
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, "ok", NULL, NOW), ERR_INVALID_PARAM);
    assert_int_equal(n_switches(f->st), 0);
    assert_int_equal(killswitch_check(f->st, card_topups, NULL), ERR_OK);

    /* The limits themselves are fine, and so is Japanese text. */
    long_reason[KILLSWITCH_REASON_MAX] = '\0';
    assert_int_equal(killswitch_set(f->st, "admin-cli", "topups", true, long_reason, "cli:ana", NOW), ERR_OK);
    struct killswitch k;
    assert_int_equal(killswitch_check(f->st, topups_only, &k), ERR_SUSPENDED);
    assert_int_equal(strlen(k.reason), KILLSWITCH_REASON_MAX);
    const char *ja = "\xe4\xb8\x8d\xe6\xad\xa3\xe5\x88\xa9\xe7\x94\xa8\xe3\x81\xae\xe3\x81\x9f\xe3\x82\x81"
                     "\xe5\x81\x9c\xe6\xad\xa2\xe4\xb8\xad (18:00 \xe5\x86\x8d\xe9\x96\x8b) \xf0\x9f\x9b\x91";
    assert_int_equal(killswitch_set(f->st, "admin-cli", "card_topups", true, ja, "cli:ana", NOW), ERR_OK);
    assert_int_equal(killswitch_check(f->st, card_topups + 1, &k), ERR_SUSPENDED);
    assert_string_equal(k.reason, ja);
    /* Off needs no reason. */
    assert_int_equal(killswitch_set(f->st, "admin-cli", "card_topups", false, "", "cli:ana", NOW), ERR_OK);
    assert_int_equal(killswitch_check(f->st, card_topups + 1, &k), ERR_OK);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(switches_start_off, setup, teardown),
        cmocka_unit_test_setup_teardown(the_list_leaves_no_switch_out, setup, teardown),
        cmocka_unit_test_setup_teardown(topups_switch_stops_every_topup_on_every_node, setup, teardown),
        cmocka_unit_test_setup_teardown(card_topups_switch_leaves_cash_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(check_runs_inside_the_callers_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(payments_switch_has_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_input_changes_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
