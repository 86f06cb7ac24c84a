/* test_util.c: money, ids, JSON helpers, the error table, config, master key, log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "qr_read.h"
#include "testutil.h"
#include "util/config.h"
#include "util/email.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/log.h"
#include "util/luhn.h"
#include "util/masterkey.h"
#include "util/money.h"
#include "util/timeutil.h"
#include "util/qr_svg.h"
#include "util/svg.h"
#include "util/text.h"

/* Every position of a code's random part takes every digit about equally
 * often (19 digits: two whole draws of 8 and a part), and nothing past the
 * n asked for is written. */
static void random_code_digits_are_uniform_and_stay_in_bounds(void **state)
{
    (void)state;
    enum { N = 19, DRAWS = 20000 };
    static unsigned count[N][10];
    memset(count, 0, sizeof count);
    for (int d = 0; d < DRAWS; d++) {
        char buf[N + 1];
        buf[N] = 'x';
        luhn_random_digits(buf, N);
        assert_int_equal(buf[N], 'x');
        for (int i = 0; i < N; i++) {
            assert_true(buf[i] >= '0' && buf[i] <= '9');
            count[i][buf[i] - '0']++;
        }
    }
    /* 2,000 expected in each cell, standard deviation 42: 1,750..2,250 is
     * six of them (a sound generator fails this about once in 10^7 runs). */
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 10; k++)
            assert_in_range(count[i][k], 1750, 2250);
}

static void money_arithmetic_refuses_overflow(void **state)
{
    (void)state;
    int64_t r = 0;
    assert_int_equal(money_add(100, 250, &r), ERR_OK);
    assert_int_equal(r, 350);
    assert_int_equal(money_sub(100, 250, &r), ERR_OK);
    assert_int_equal(r, -150);
    r = 7;
    assert_int_equal(money_add(INT64_MAX, 1, &r), ERR_OVERFLOW);
    assert_int_equal(r, 7); /* untouched on error */
    assert_int_equal(money_sub(INT64_MIN, 1, &r), ERR_OVERFLOW);
    assert_int_equal(money_add(MONEY_MAX * 1000, 1, &r), ERR_OVERFLOW);
    assert_int_equal(money_check_amount(0), ERR_AMOUNT_INVALID);
    assert_int_equal(money_check_amount(-5), ERR_AMOUNT_INVALID);
    assert_int_equal(money_check_amount(1), ERR_OK);
    assert_int_equal(money_check_amount(MONEY_MAX), ERR_OK);
    assert_int_equal(money_check_amount(MONEY_MAX + 1), ERR_AMOUNT_INVALID);
}

static void money_parse_is_strict(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(money_parse("1500", &v), ERR_OK);
    assert_int_equal(v, 1500);
    const char *bad[] = {"", "0", "-1", "+1", "01", "1.5", "1e3", " 1", "1 ", "99999999999999999999", "1000000000001"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(money_parse(bad[i], &v), ERR_AMOUNT_INVALID);
    assert_int_equal(money_parse(NULL, &v), ERR_AMOUNT_INVALID);
}

static void money_format_yen_and_email_mask(void **state)
{
    (void)state;
    char b[MONEY_YEN_BUF];
    assert_string_equal(money_format_yen(b, 0), "0 yen");
    assert_string_equal(money_format_yen(b, 999), "999 yen");
    assert_string_equal(money_format_yen(b, 12345), "12,345 yen");
    assert_string_equal(money_format_yen(b, -1000000), "-1,000,000 yen");
    assert_string_equal(money_format_yen(b, INT64_MIN), "-9,223,372,036,854,775,808 yen");
    char m[EMAIL_MASKED_MAX + 1];
    email_mask("hanako@example.com", m);
    assert_string_equal(m, "h***@example.com");
    email_mask("h@example.com", m);
    assert_string_equal(m, "h***@example.com");
    email_mask("no-at-sign", m);
    assert_string_equal(m, "***");
    email_mask("@example.com", m);
    assert_string_equal(m, "***");
}

static void ids_round_trip_and_reject_garbage(void **state)
{
    (void)state;
    char buf[IDS_BUF];
    int64_t samples[] = {1, 42, 1000000007, INT64_MAX};
    for (size_t i = 0; i < 4; i++) {
        int64_t back = 0;
        ids_format(buf, "txf", samples[i]);
        assert_int_equal(strlen(buf), 4 + 13);
        assert_int_equal(ids_parse(buf, "txf", &back), ERR_OK);
        assert_true(back == samples[i]);
        assert_int_equal(ids_parse(buf, "usr", &back), ERR_INVALID_PARAM);
    }
    int64_t v;
    const char *bad[] = {"txf_", "txf_0000000000000", "txf_000000000000i", "txf_00000000000001", "txf0000000000001",
                         "txf_000000000000", "TXF_0000000000001", "txf_g000000000000", "txf_8000000000000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ids_parse(bad[i], "txf", &v), ERR_INVALID_PARAM);
    char a[IDS_BUF], b[IDS_BUF];
    ids_random(a, "req");
    ids_random(b, "req");
    assert_int_equal(strlen(a), 4 + 26);
    assert_string_not_equal(a, b);
    assert_int_equal(strncmp(a, "req_", 4), 0);
}

static void json_parse_object_rejects_bad_documents(void **state)
{
    (void)state;
    json_t *o = NULL;
    const char *bad[] = {"", "{", "[]", "42", "\"x\"", "{\"a\":1,\"a\":2}", "{\"a\":1} x", "{'a':1}", "nul"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(json_parse_object(bad[i], strlen(bad[i]), &o), ERR_MALFORMED_JSON);
    char deep[200] = "{\"a\":";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    assert_int_equal(json_parse_object(deep, strlen(deep), &o), ERR_MALFORMED_JSON);
    const char *nul = "{\"name\":\"a\\u0000b\"}"; /* C strings must never be cut short */
    assert_int_equal(json_parse_object(nul, strlen(nul), &o), ERR_MALFORMED_JSON);
    const char *good = "{\"amount\":1500}";
    /* valid JSON, but a number no field takes: not "malformed" */
    const char *huge = "{\"amount\":99999999999999999999}";
    assert_int_equal(json_parse_object(huge, strlen(huge), &o), ERR_INVALID_PARAM);
    assert_int_equal(json_parse_object(good, strlen(good), &o), ERR_OK);
    json_decref(o);
}

/* What people type for others to read (a device's name, a reason, a
 * note): one line, readable, shown as typed. */
static void text_shown_ok_takes_a_readable_line_only(void **state)
{
    (void)state;
    assert_true(text_shown_ok("account taken over", 200));
    assert_true(text_shown_ok("\xe4\xb8\x8d\xe6\xad\xa3\xe5\x88\xa9\xe7\x94\xa8", 200)); /* 不正利用 */
    assert_true(text_shown_ok("\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb phone", 200)); /* an emoji with a joiner */
    assert_true(text_shown_ok("abc", 3));
    assert_false(text_shown_ok("abcd", 3));
    assert_false(text_shown_ok("", 200));
    assert_false(text_shown_ok(NULL, 200));
    assert_false(text_shown_ok("two\nlines", 200));
    assert_false(text_shown_ok("tab\there", 200));
    assert_false(text_shown_ok("del\x7f", 200));
    assert_false(text_shown_ok("bad \xc3\x28 utf-8", 200));
    assert_false(text_shown_ok("overlong \xc0\xaf", 200));
    assert_false(text_shown_ok("surrogate \xed\xa0\x80", 200));
    assert_false(text_shown_ok("cut \xe4\xb8", 200));
    /* what hides or rearranges text: "enohPi s'neB" shown as "Ben's iPhone" */
    const char *hidden[] = {
        "\xe2\x80\xae" "enohPi s'neB", /* U+202E right-to-left override */
        "ok\xc2\x85",                /* U+0085, a C1 control */
        "ok\xe2\x80\x8b",            /* U+200B zero-width space */
        "ok\xe2\x80\x8f",            /* U+200F right-to-left mark */
        "ok\xe2\x81\xa6",            /* U+2066 left-to-right isolate */
        "ok\xe2\x80\xa8",            /* U+2028 line separator */
        "\xef\xbb\xbfok",            /* U+FEFF byte order mark */
    };
    for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
        if (text_shown_ok(hidden[i], 200))
            fail_msg("hidden character accepted: case %zu", i);
}

/* What is not there yet reads null, not "x_0" or 1970. */
static void json_id_and_time_or_null(void **state)
{
    (void)state;
    json_t *j = json_id_or_null("stf", 0);
    assert_true(json_is_null(j));
    json_decref(j);
    j = json_id_or_null("stf", 42);
    assert_int_equal(strncmp(json_string_value(j), "stf_", 4), 0);
    json_decref(j);
    j = json_time_or_null(0);
    assert_true(json_is_null(j));
    json_decref(j);
    j = json_time_or_null(INT64_C(1700000000000));
    assert_string_equal(json_string_value(j), "2023-11-14T22:13:20.000Z");
    json_decref(j);
}

static void json_field_spec_names_the_bad_field(void **state)
{
    (void)state;
    const char *doc = "{\"name\":\"shop\",\"amount\":500,\"store\":\"str_0000000000001\",\"flag\":true}";
    json_t *o = NULL;
    assert_int_equal(json_parse_object(doc, strlen(doc), &o), ERR_OK);
    const char *name = NULL, *bad = NULL;
    int64_t amount = 0, store = 0;
    bool flag = false;
    struct json_field spec[] = {
        {"name", JF_STRING, &name, .min_len = 1, .max_len = 10},
        {"amount", JF_AMOUNT, &amount, .optional = false},
        {"store", JF_ID, &store, .id_prefix = "str"},
        {"flag", JF_BOOL, &flag, .optional = false},
    };
    assert_int_equal(json_parse_fields(o, spec, 4, true, &bad), ERR_OK);
    assert_string_equal(name, "shop");
    assert_int_equal(amount, 500);
    assert_int_equal(store, 1);
    assert_true(flag);
    /* an unknown field is refused when asked to */
    assert_int_equal(json_parse_fields(o, spec, 3, true, &bad), ERR_UNKNOWN_PARAM);
    assert_string_equal(bad, "flag");
    json_decref(o);

    struct {
        const char *doc;
        enum err want;
        const char *param;
    } cases[] = {
        {"{\"amount\":500}", ERR_MISSING_PARAM, "name"},
        {"{\"name\":\"\",\"amount\":500}", ERR_INVALID_PARAM, "name"},
        {"{\"name\":\"abcdefghijk\",\"amount\":500}", ERR_INVALID_PARAM, "name"},
        {"{\"name\":7,\"amount\":500}", ERR_INVALID_PARAM, "name"},
        {"{\"name\":\"x\",\"amount\":0}", ERR_AMOUNT_INVALID, "amount"},
        {"{\"name\":\"x\",\"amount\":-3}", ERR_AMOUNT_INVALID, "amount"},
        {"{\"name\":\"x\",\"amount\":1.5}", ERR_AMOUNT_INVALID, "amount"},
        {"{\"name\":\"x\",\"amount\":\"500\"}", ERR_AMOUNT_INVALID, "amount"},
        {"{\"name\":\"x\",\"amount\":1000000000001}", ERR_AMOUNT_INVALID, "amount"},
        {"{\"name\":\"x\",\"amount\":5,\"store\":\"usr_0000000000001\"}", ERR_INVALID_PARAM, "store"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(json_parse_object(cases[i].doc, strlen(cases[i].doc), &o), ERR_OK);
        struct json_field s2[] = {
            {"name", JF_STRING, &name, .min_len = 1, .max_len = 10},
            {"amount", JF_AMOUNT, &amount, .optional = false},
            {"store", JF_ID, &store, .optional = true, .id_prefix = "str"},
        };
        bad = NULL;
        assert_int_equal(json_parse_fields(o, s2, 3, true, &bad), cases[i].want);
        assert_string_equal(bad, cases[i].param);
        json_decref(o);
    }
}

static void error_table_covers_every_code(void **state)
{
    (void)state;
    for (int e = 0; e < ERR__COUNT; e++) {
        const char *sym = err_symbol((enum err)e);
        assert_non_null(sym);
        assert_true(strlen(err_message((enum err)e)) > 0);
        int st = err_http_status((enum err)e);
        assert_true(e == ERR_OK ? st == 200 : (st >= 400 && st <= 599));
        for (int f = 0; f < e; f++)
            assert_string_not_equal(sym, err_symbol((enum err)f));
        for (const char *p = sym; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
    }
    assert_string_equal(err_symbol(ERR_INSUFFICIENT_FUNDS), "insufficient_funds");
    assert_int_equal(err_http_status(ERR_NOT_FOUND), 404);
    assert_int_equal(err_http_status(ERR_PAYLOAD_TOO_LARGE), 413);
    assert_string_equal(err_symbol((enum err)9999), "internal_error");
}

static void config_layers_and_bounds(void **state)
{
    (void)state;
    struct config c;
    char eb[CONFIG_ERRBUF];
    config_defaults(&c);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_string_equal(c.data_dir, "./var");
    assert_int_equal(config_set(&c, NULL, "max_body_bytes", "4096", eb), ERR_OK);
    assert_int_equal(c.max_body_bytes, 4096);
    assert_int_equal(config_set(&c, NULL, "max_body_bytes", "12", eb), ERR_INVALID_PARAM);
    assert_non_null(strstr(eb, "max_body_bytes"));
    assert_int_equal(config_set(&c, NULL, "threads", "4x", eb), ERR_INVALID_PARAM);
    assert_int_equal(config_set(&c, NULL, "no_such_thing", "1", eb), ERR_INVALID_PARAM);
    assert_int_equal(config_set(&c, "ledger", "listen", "x:1", eb), ERR_INVALID_PARAM); /* wrong section */
    assert_int_equal(config_set(&c, NULL, "log_level", "loud", eb), ERR_INVALID_PARAM);
    /* the review queue's: held payments lapse after a day unless set
     * otherwise, never sooner than a minute */
    assert_int_equal(c.review_hold_expiry_s, 86400);
    assert_int_equal(c.review_sweep_interval_s, 60);
    assert_int_equal(config_set(&c, "risk", "review_hold_expiry_s", "59", eb), ERR_INVALID_PARAM);
    assert_non_null(strstr(eb, "review_hold_expiry_s"));
    assert_int_equal(config_set(&c, "risk", "review_hold_expiry_s", "3600", eb), ERR_OK);
    assert_int_equal(c.review_hold_expiry_s, 3600);
    assert_int_equal(config_set(&c, "risk", "review_sweep_interval_s", "0", eb), ERR_INVALID_PARAM);
    assert_int_equal(config_set(&c, "server", "review_hold_expiry_s", "3600", eb), ERR_INVALID_PARAM);

    char *dir = tu_tempdir(), path[600];
    tu_path(path, sizeof path, dir, "k.ini");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[server]\nlisten = 127.0.0.1:9999\nthreads = 3\n[ledger]\nledger_batch_max = 64\n", f);
    fclose(f);
    assert_int_equal(config_load_file(&c, path, eb), ERR_OK);
    assert_string_equal(c.listen, "127.0.0.1:9999");
    assert_int_equal(c.threads, 3);
    assert_int_equal(c.ledger_batch_max, 64);

    /* environment overrides the file */
    setenv("KESSAI_THREADS", "5", 1);
    assert_int_equal(config_load_env(&c, eb), ERR_OK);
    assert_int_equal(c.threads, 5);
    setenv("KESSAI_THREADS", "-1", 1);
    assert_int_equal(config_load_env(&c, eb), ERR_INVALID_PARAM);
    assert_non_null(strstr(eb, "KESSAI_THREADS"));
    unsetenv("KESSAI_THREADS");

    f = fopen(path, "w");
    fputs("[server]\nbogus = 1\n", f);
    fclose(f);
    assert_int_equal(config_load_file(&c, path, eb), ERR_INVALID_PARAM);
    assert_non_null(strstr(eb, "bogus"));
    tu_path(path, sizeof path, dir, "missing.ini");
    assert_int_equal(config_load_file(&c, path, eb), ERR_IO);

    char host[64];
    uint16_t port;
    assert_int_equal(config_listen_addr(&c, host, sizeof host, &port), ERR_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9999);
    assert_int_equal(config_set(&c, NULL, "listen", "nohost", eb), ERR_OK);
    assert_int_equal(config_listen_addr(&c, host, sizeof host, &port), ERR_INVALID_PARAM);
    assert_int_equal(config_set(&c, NULL, "listen", "h:70000", eb), ERR_OK);
    assert_int_equal(config_listen_addr(&c, host, sizeof host, &port), ERR_INVALID_PARAM);
    tu_rmtree(dir);
    free(dir);
}

/* A document of the repository (KESSAI_ROOT, or the working directory). */
static char *read_repo_doc(const char *name)
{
    const char *root = getenv("KESSAI_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root && *root ? root : ".", name);
    char *text = tu_slurp(path, NULL);
    if (text == NULL)
        fail_msg("cannot open %s (set KESSAI_ROOT to the repository)", path);
    return text;
}

static int mentions(const char *doc, const char *key)
{
    char quoted[128];
    snprintf(quoted, sizeof quoted, "`%s`", key);
    return strstr(doc, quoted) != NULL;
}

/* An operator learns the settings from docs/configuration.md: every key of
 * the settings table must have a row "| `key` |" in its tables, under the
 * heading "## [section]" of the key's section (the [risk] keys may be
 * described in docs/risk.md instead, anywhere as `key`), and every such row
 * must be a key the code has, so the document can neither miss a setting
 * nor describe one that does not exist.  What is wrong goes into why
 * (empty: nothing). */
#define MAX_SETTINGS 1024
static void check_settings_documented(char *conf, const char *risk, char *why, size_t whylen)
{
    size_t n = config_setting_count();
    assert_true(n <= MAX_SETTINGS);
    char has_row[MAX_SETTINGS] = {0};
    char heading[64] = "";
    why[0] = '\0';
    for (char *line = strtok(conf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "## ", 3) == 0) {
            const char *end = line[3] == '[' ? strchr(line + 4, ']') : NULL;
            snprintf(heading, sizeof heading, "%.*s", end ? (int)(end - line - 4) : 0, line + 4);
            continue;
        }
        const char *end = strncmp(line, "| `", 3) == 0 ? strchr(line + 3, '`') : NULL;
        if (end == NULL)
            continue;
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(end - line - 3), line + 3);
        const char *section = NULL;
        size_t i = 0;
        while (i < n && strcmp(config_setting_name(i, &section), key) != 0)
            i++;
        if (i == n) {
            snprintf(why, whylen, "docs/configuration.md documents `%s`, which src/util/config.c does not have", key);
            return;
        }
        if (strcmp(section, heading) != 0) {
            snprintf(why, whylen, "docs/configuration.md puts `%s` under [%s]; it belongs in [%s]", key, heading,
                     section);
            return;
        }
        has_row[i] = 1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *section = NULL;
        const char *key = config_setting_name(i, &section);
        int is_risk = strcmp(section, "risk") == 0 || strncmp(key, "risk_", 5) == 0;
        if (!has_row[i] && !(is_risk && mentions(risk, key))) {
            size_t used = strlen(why);
            snprintf(why + used, whylen - used, "%s[%s] %s", used ? ", " : "not documented: ", section, key);
        }
    }
}

static void every_setting_is_documented_and_nothing_else(void **state)
{
    (void)state;
    size_t n = config_setting_count();
    assert_true(n > 0);
    assert_null(config_setting_name(n, NULL));
    for (size_t i = 0; i < n; i++) {
        const char *section = NULL;
        assert_non_null(config_setting_name(i, &section));
        assert_non_null(section);
    }
    char *conf = read_repo_doc("docs/configuration.md");
    char *risk = read_repo_doc("docs/risk.md");
    static char why[4096];
    check_settings_documented(conf, risk, why, sizeof why);
    free(conf);
    free(risk);
    if (why[0])
        fail_msg("%s", why);
}

/* The worked example of docs/configuration.md (the first indented block
 * under "## A worked example") is a file kessaid accepts. */
static void documented_example_config_loads(void **state)
{
    (void)state;
    char *conf = read_repo_doc("docs/configuration.md");
    char *dir = tu_tempdir(), path[600];
    tu_path(path, sizeof path, dir, "example.ini");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    int in_example = 0;
    size_t lines = 0;
    for (char *line = strtok(conf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "## ", 3) == 0)
            in_example = strcmp(line, "## A worked example") == 0;
        else if (in_example && strncmp(line, "    ", 4) == 0 && ++lines)
            fprintf(f, "%s\n", line + 4);
        else if (lines > 0)
            in_example = 0; /* the first text after the block ends it */
    }
    fclose(f);
    free(conf);
    struct config c;
    char eb[CONFIG_ERRBUF] = "";
    config_defaults(&c);
    enum err e = config_load_file(&c, path, eb);
    tu_rmtree(dir);
    free(dir);
    assert_true(lines > 5);
    if (e != ERR_OK)
        fail_msg("the worked example of docs/configuration.md is refused: %s", eb);
    assert_int_equal(config_check(&c, eb), ERR_OK);
    assert_int_equal(c.void_window_s, 300); /* read, not merely skipped */
}

static void master_key_is_private_and_seals(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), path[600];
    tu_path(path, sizeof path, dir, "master.key");
    uint8_t k1[MASTERKEY_BYTES], k2[MASTERKEY_BYTES];
    assert_int_equal(masterkey_load_or_create(path, k1), ERR_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, MASTERKEY_BYTES);
    assert_int_equal(masterkey_load_or_create(path, k2), ERR_OK);
    assert_memory_equal(k1, k2, MASTERKEY_BYTES);

    const uint8_t secret[] = "terminal-secret-0123456789abcdef";
    uint8_t sealed[sizeof secret + MASTERKEY_SEAL_OVERHEAD], opened[sizeof secret];
    masterkey_seal(k1, secret, sizeof secret, "trm_1", sealed);
    assert_null(memmem(sealed, sizeof sealed, "terminal-secret", 15));
    assert_int_equal(masterkey_open(k1, sealed, sizeof sealed, "trm_1", opened), ERR_OK);
    assert_memory_equal(opened, secret, sizeof secret);
    assert_int_equal(masterkey_open(k1, sealed, sizeof sealed, "trm_2", opened), ERR_INVALID_PARAM);
    sealed[30] ^= 1;
    assert_int_equal(masterkey_open(k1, sealed, sizeof sealed, "trm_1", opened), ERR_INVALID_PARAM);
    assert_int_equal(masterkey_open(k1, sealed, 10, "trm_1", opened), ERR_INVALID_PARAM);

    /* a key file others can read is refused: the key may have leaked */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(masterkey_load_or_create(path, k2), ERR_IO);
    tu_rmtree(dir);
    free(dir);
}

static void log_lines_are_json_and_redact_secrets(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct tu_capture cap;
    tu_capture_start(&cap, dir);
    /* a field named like the line's own keys does not replace them (the
     * event name is what operators alert on): it is kept as field_<name> */
    log_event(LOG_INFO, "test_event", json_pack("{s:s, s:s, s:i, s:s, s:s}", "password", "hunter2hunter2",
                                                "terminal_secret", "abc123", "amount", 500, "event", "evt_1",
                                                "level", "x"));
    log_event(LOG_DEBUG, "hidden_event", NULL); /* below the default threshold */
    assert_false(log_enabled(LOG_DEBUG)); /* so a caller may skip building its fields */
    assert_true(log_enabled(LOG_INFO) && log_enabled(LOG_ERROR));
    log_set_level(LOG_WARN);
    assert_false(log_enabled(LOG_INFO));
    log_event(LOG_INFO, "hidden_too", NULL);
    log_set_level(LOG_INFO);
    char *line = tu_capture_stop(&cap);
    char *nl = strchr(line, '\n');
    assert_non_null(nl);
    assert_int_equal(nl[1], '\0'); /* exactly one line */
    json_t *o = NULL;
    assert_int_equal(json_parse_object(line, strlen(line), &o), ERR_OK);
    assert_string_equal(json_string_value(json_object_get(o, "event")), "test_event");
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(o, "password")), "[redacted]");
    assert_string_equal(json_string_value(json_object_get(o, "terminal_secret")), "[redacted]");
    assert_int_equal(json_integer_value(json_object_get(o, "amount")), 500);
    assert_string_equal(json_string_value(json_object_get(o, "field_event")), "evt_1");
    assert_string_equal(json_string_value(json_object_get(o, "field_level")), "x");
    assert_null(strstr(line, "hunter2"));
    json_decref(o);
    free(line);
    tu_rmtree(dir);
    free(dir);
}

/* Times people type: the inverse of time_iso8601, and nothing else. */
static void iso_times_parse_strictly(void **state)
{
    (void)state;
    int64_t ms = 0;
    char buf[TIME_ISO_BUF];
    const int64_t samples[] = {0, 1, 951782400000LL /* 2000-02-29 */, 1800000000123LL, 4102444799999LL};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        assert_int_equal(time_parse_iso8601(time_iso8601(buf, samples[i]), &ms), ERR_OK);
        assert_int_equal(ms, samples[i]);
    }
    assert_int_equal(time_parse_iso8601("2027-01-15", &ms), ERR_OK);
    assert_int_equal(ms, 1800000000000LL - 8 * 3600 * 1000LL);
    assert_int_equal(time_parse_iso8601("2027-01-15T08:00:00Z", &ms), ERR_OK);
    assert_int_equal(ms, 1800000000000LL);
    assert_int_equal(time_parse_iso8601("2024-02-29", &ms), ERR_OK);
    const char *bad[] = {"", "2027", "2027-1-15", "2027-01-15T08:00Z", "2027-01-15T08:00:00",
                         "2027-01-15 08:00:00Z", "2027-01-15T08:00:00.1Z", "2027-01-15T08:00:00+09:00",
                         "2027-13-01", "2027-00-10", "2027-02-29", "1900-02-29", "2027-04-31", "2027-01-00",
                         "2027-01-15T24:00:00Z", "2027-01-15T08:60:00Z", "2027-01-15T08:00:60Z", "yesterday",
                         "2027-01-15x", "２０２７-01-15"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (time_parse_iso8601(bad[i], &ms) != ERR_INVALID_PARAM)
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(time_parse_iso8601(NULL, &ms), ERR_INVALID_PARAM);
}

/* A clock file (simulator and tests only) someone else could move would
 * replay one-time codes: only a private 8-byte file is taken, and then it
 * is the wall clock.  Runs last: it changes this process's clock. */
static void write_clock(const char *path, int64_t ms, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 8; i++)
        fputc((int)(((uint64_t)ms >> (8 * i)) & 0xff), f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void clock_file_is_private_and_followed(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    char path[512], why[600];
    snprintf(path, sizeof path, "%s/clock", dir);
    int64_t before = time_now_ms();
    assert_int_equal(time_clock_file_use(path, why, sizeof why), ERR_INVALID_PARAM);
    assert_non_null(strstr(why, "cannot open clock file"));
    write_clock(path, 1893553445000LL, 0620);
    assert_int_equal(time_clock_file_use(path, why, sizeof why), ERR_INVALID_PARAM);
    assert_non_null(strstr(why, "is writable by group or others"));
    write_clock(path, 1893553445000LL, 0602);
    assert_int_equal(time_clock_file_use(path, why, sizeof why), ERR_INVALID_PARAM);
    if (geteuid() == 0) {
        write_clock(path, 1893553445000LL, 0600);
        assert_int_equal(chown(path, 12345, 12345), 0);
        assert_int_equal(time_clock_file_use(path, why, sizeof why), ERR_INVALID_PARAM);
        assert_non_null(strstr(why, "is not owned by this user"));
        assert_int_equal(unlink(path), 0);
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("abcd", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(time_clock_file_use(path, why, sizeof why), ERR_INVALID_PARAM);
    assert_non_null(strstr(why, "is not 8 bytes"));
    /* Every refusal left the real clock. */
    assert_true(time_now_ms() >= before);
    assert_true(time_now_ms() != 1893553445000LL);
    write_clock(path, 1893553445000LL, 0600);
    assert_int_equal(time_clock_file_use(path, why, sizeof why), ERR_OK);
    assert_int_equal(time_now_ms(), 1893553445000LL);
    assert_int_equal(time_window_ms(), 1893553445000LL);
    char iso[TIME_ISO_BUF];
    assert_string_equal(time_iso8601(iso, time_now_ms()), "2030-01-02T03:04:05.000Z");
    write_clock(path, 1893553505250LL, 0600); /* moved in place: the mapping sees it */
    assert_int_equal(time_now_ms(), 1893553505250LL);
    tu_rmtree(dir);
    free(dir);
}

static void svg_boxes_are_written_exactly(void **state)
{
    (void)state;
    struct svg s;
    svg_open(&s, 29, 100);
    svg_box(&s, 0, 0, 1, 1);
    /* enough boxes to grow the buffer several times, and the extremes of int */
    for (int i = 0; i < 500; i++)
        svg_box(&s, i, 1000000 + i, 7, 50);
    svg_box(&s, INT32_MIN, INT32_MAX, 2, 3);
    char *out = NULL;
    assert_int_equal(svg_close(&s, &out), ERR_OK);
    assert_non_null(out);
    assert_int_equal(strncmp(out,
                             "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 29 100' "
                             "shape-rendering='crispEdges'><rect width='29' height='100' fill='#fff'/>"
                             "<path fill='#000' d='M0 0h1v1h-1zM0 1000000h7v50h-7zM1 1000001h7v50h-7z",
                             204),
                     0);
    assert_non_null(strstr(out, "M499 1000499h7v50h-7zM-2147483648 2147483647h2v3h-2z'/></svg>"));
    /* nothing a JSON string would have to escape: replies carry it verbatim */
    for (const char *c = out; *c; c++)
        assert_true(*c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\');
    assert_int_equal(out[strlen(out) - 1], '>');
    free(out);
    /* an abandoned image leaves nothing behind (LeakSanitizer would tell) */
    svg_open(&s, 1, 1);
    svg_box(&s, 0, 0, 1, 1);
    svg_abandon(&s);
    assert_null(s.buf);
}

static void read_back(const char *text)
{
    char *svg = NULL, back[256];
    assert_int_equal(qr_svg(text, &svg), ERR_OK);
    assert_true(qr_read_svg(svg, back, sizeof back));
    assert_string_equal(back, text);
    free(svg);
}

/* A register's scanner reads every code back: payment and top-up codes
 * (digits, drawn with one fixed mask) and a TOTP enrolment URI (any text,
 * drawn after the search for the best mask). */
static void qr_codes_read_back_as_a_scanner_reads_them(void **state)
{
    (void)state;
    char code[19];
    for (int i = 0; i < 200; i++) {
        luhn_random_digits(code, 18);
        code[18] = '\0';
        read_back(code);
    }
    char *svg = NULL;
    assert_int_equal(qr_svg("904123455069641332", &svg), ERR_OK);
    /* version 1 (21 modules) and the 4-module quiet zone */
    assert_non_null(strstr(svg, "viewBox='0 0 29 29'"));
    free(svg);
    read_back("0");
    read_back("000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000");
    read_back("otpauth://totp/kessai:aiko%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=kessai");
    read_back("12345 678"); /* not all digits: the search path */
    assert_int_equal(qr_svg("", &svg), ERR_INVALID_PARAM);
    assert_null(svg);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(money_arithmetic_refuses_overflow),
        cmocka_unit_test(random_code_digits_are_uniform_and_stay_in_bounds),
        cmocka_unit_test(text_shown_ok_takes_a_readable_line_only),
        cmocka_unit_test(json_id_and_time_or_null),
        cmocka_unit_test(money_parse_is_strict),
        cmocka_unit_test(money_format_yen_and_email_mask),
        cmocka_unit_test(ids_round_trip_and_reject_garbage),
        cmocka_unit_test(json_parse_object_rejects_bad_documents),
        cmocka_unit_test(json_field_spec_names_the_bad_field),
        cmocka_unit_test(error_table_covers_every_code),
        cmocka_unit_test(config_layers_and_bounds),
        cmocka_unit_test(every_setting_is_documented_and_nothing_else),
        cmocka_unit_test(documented_example_config_loads),
        cmocka_unit_test(master_key_is_private_and_seals),
        cmocka_unit_test(log_lines_are_json_and_redact_secrets),
        cmocka_unit_test(svg_boxes_are_written_exactly),
        cmocka_unit_test(qr_codes_read_back_as_a_scanner_reads_them),
        cmocka_unit_test(iso_times_parse_strictly),
        cmocka_unit_test(clock_file_is_private_and_followed), /* last: it sets the clock */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
