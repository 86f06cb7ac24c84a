/* test_sim_offline.c: the simulated phone's offline codes (src/sim/offline.c).
 *
 * The simulator derives its offline codes from docs/paycodes.md, not from
 * the server's code, so that a run proves a phone built from the document
 * can pay.  Here: the phone shows exactly the code of the document's worked
 * example (read from the page itself, so the page and the phone cannot
 * drift apart unnoticed), agrees with the server's derivation
 * (wallet/paycode.h) on any key, id and step, and never shows one step's
 * code twice: a second payment within a step shows the next step's code,
 * a third waits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>

#include "sim/sim.h"
#include "util/luhn.h"
#include "wallet/paycode.h"

#define DOC "docs/paycodes.md"

/* The worked example, as docs/paycodes.md prints it. */
struct example {
    uint8_t key[32];
    char offline_id[8];
    int64_t unix_s, step;
    char code[19], before[19], after[19];
};

/* The value after label on the first line of text that starts (after
 * blanks) with label: copied up to the next blank, backquote or line end. */
static void field(const char *text, const char *label, char *out, size_t n)
{
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *s = line + strspn(line, " ");
        if (strncmp(s, label, strlen(label)) != 0)
            continue;
        s += strlen(label);
        s += strspn(s, " ");
        size_t len = strcspn(s, " `\n");
        assert_true(len > 0 && len < n);
        memcpy(out, s, len);
        out[len] = '\0';
        return;
    }
    fail_msg("%s: no \"%s\" in the worked example", DOC, label);
}

static void read_example(struct example *ex)
{
    FILE *f = fopen(DOC, "r");
    if (!f)
        fail_msg("%s: cannot open (run from the source tree's root)", DOC);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *start = strstr(text, "### Worked example");
    assert_non_null(start);
    char *end = strstr(start + 1, "\n### ");
    if (end)
        *end = '\0';

    char hex[80], id[16], t[32], v[32];
    size_t len = 0;
    field(start, "key (hex):", hex, sizeof hex);
    assert_int_equal(sodium_hex2bin(ex->key, sizeof ex->key, hex, strlen(hex), NULL, &len, NULL), 0);
    assert_int_equal(len, sizeof ex->key);
    field(start, "offline id:", id, sizeof id);
    assert_int_equal(strlen(id), 7);
    memcpy(ex->offline_id, id, sizeof ex->offline_id);
    field(start, "at `t =", t, sizeof t);
    ex->unix_s = strtoll(t, NULL, 10);
    field(start, "step:", v, sizeof v);
    ex->step = strtoll(v, NULL, 10);
    field(start, "code:", ex->code, sizeof ex->code);
    snprintf(t, sizeof t, "step %" PRId64 ":", ex->step - 1);
    field(start, t, ex->before, sizeof ex->before);
    snprintf(t, sizeof t, "step %" PRId64 ":", ex->step + 1);
    field(start, t, ex->after, sizeof ex->after);
}

static void the_phone_shows_the_documented_code(void **state)
{
    (void)state;
    struct example ex;
    read_example(&ex);
    assert_int_equal(ex.unix_s / 30, ex.step);

    char code[19];
    sim_offline_derive(ex.key, ex.offline_id, ex.step, code);
    assert_string_equal(code, ex.code);
    assert_true(luhn_valid(code));
    sim_offline_derive(ex.key, ex.offline_id, ex.step - 1, code);
    assert_string_equal(code, ex.before);
    sim_offline_derive(ex.key, ex.offline_id, ex.step + 1, code);
    assert_string_equal(code, ex.after);

    /* the way the app gets there: its clock's step, then the next one */
    struct sim_phone p = {.offline_step = 0};
    memcpy(p.offline_key, ex.key, sizeof p.offline_key);
    memcpy(p.offline_id, ex.offline_id, sizeof p.offline_id);
    assert_true(sim_offline_next(&p, ex.unix_s / 30, code));
    assert_string_equal(code, ex.code);
}

/* Whatever the key, id and step, the phone's code is the one the server
 * derives (and so accepts: test_paycode.c shows the server's side). */
static void the_phone_agrees_with_the_server(void **state)
{
    (void)state;
    static const int64_t ids[] = {0, 1, 412345, 1000000, 9999999};
    for (int i = 0; i < 200; i++) {
        uint8_t key[32];
        randombytes_buf(key, sizeof key);
        int64_t oid = i < 5 ? ids[i] : (int64_t)randombytes_uniform(10000000);
        int64_t step = i % 3 == 0 ? (int64_t)randombytes_uniform(100000000) : 59000000 + i;
        char id[8], mine[19], server[PAYCODE_DIGITS + 1];
        snprintf(id, sizeof id, "%07" PRId64, oid);
        sim_offline_derive(key, id, step, mine);
        paycode_offline_derive(key, oid, step, server);
        assert_string_equal(mine, server);
        assert_int_equal(mine[0], PAYCODE_OFFLINE_PREFIX);
        assert_true(luhn_valid(mine));
    }
}

/* The server takes a (device, step) once and steps s-1..s+1: two payments
 * in one step get the step's code and the next one's; a third has none to
 * show (the app waits); a later step starts from the clock again. */
static void each_step_is_shown_once(void **state)
{
    (void)state;
    struct sim_phone p = {.offline_step = 0};
    randombytes_buf(p.offline_key, sizeof p.offline_key);
    memcpy(p.offline_id, "0412345", 8);
    const int64_t s = 60000000;
    char code[19], want[19];

    assert_true(sim_offline_next(&p, s, code));
    sim_offline_derive(p.offline_key, p.offline_id, s, want);
    assert_string_equal(code, want);
    assert_true(sim_offline_next(&p, s, code));
    sim_offline_derive(p.offline_key, p.offline_id, s + 1, want);
    assert_string_equal(code, want);

    strcpy(code, "unchanged");
    assert_false(sim_offline_next(&p, s, code));
    assert_string_equal(code, "unchanged");
    assert_int_equal(p.offline_step, s + 1);

    /* s+1 was shown already: at s+1 the phone shows s+2, then waits */
    assert_true(sim_offline_next(&p, s + 1, code));
    sim_offline_derive(p.offline_key, p.offline_id, s + 2, want);
    assert_string_equal(code, want);
    assert_false(sim_offline_next(&p, s + 1, code));

    /* minutes later: the clock's own step, not the one after the last shown */
    assert_true(sim_offline_next(&p, s + 10, code));
    sim_offline_derive(p.offline_key, p.offline_id, s + 10, want);
    assert_string_equal(code, want);
    assert_int_equal(p.offline_step, s + 10);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_phone_shows_the_documented_code),
        cmocka_unit_test(the_phone_agrees_with_the_server),
        cmocka_unit_test(each_step_is_shown_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
