/* test_merchant.c: merchants, stores and terminals on a real SQLite store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sodium.h>
#include <sqlite3.h>

#include "ledger/ledger.h"
#include "merchant/coord.h"
#include "merchant/merchant.h"
#include "merchant/merchant_json.h"
#include "merchant/terminal.h"
#include "testutil.h"
#include "util/ids.h"

struct fx {
    char *dir;
    struct store *st;
    uint8_t key[MASTERKEY_BYTES];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = tu_tempdir();
    f->st = tu_open_store(f->dir);
    char path[600];
    tu_path(path, sizeof path, f->dir, "master.key");
    assert_int_equal(masterkey_load_or_create(path, f->key), ERR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    /* merchant administration moves no money: the ledger stays sound */
    struct ledger_verify_report rep;
    assert_int_equal(ledger_verify(f->st, stderr, &rep), ERR_OK);
    assert_int_equal(rep.violations, 0);
    store_close(f->st);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static enum err count_account(void *ctx, const struct ledger_account *a)
{
    (void)a;
    ++*(size_t *)ctx;
    return ERR_OK;
}

static size_t n_accounts(struct fx *f)
{
    size_t n = 0;
    assert_int_equal(f->st->ops->account_scan(f->st, count_account, &n), ERR_OK);
    return n;
}

static size_t n_stores(struct fx *f)
{
    struct merchant_store s[64];
    size_t n = 0;
    assert_int_equal(merchant_store_list(f->st, 0, 0, 64, s, &n), ERR_OK);
    return n;
}

static size_t n_terminals(struct fx *f)
{
    struct merchant_terminal t[64];
    size_t n = 0;
    assert_int_equal(terminal_list(f->st, 0, 0, 64, t, &n), ERR_OK);
    return n;
}

static int64_t new_merchant(struct fx *f, const char *name)
{
    struct merchant m;
    assert_int_equal(merchant_create(f->st, name, &m), ERR_OK);
    return m.id;
}

static struct merchant_store new_store(struct fx *f, int64_t merchant_id, const char *name)
{
    struct merchant_store s;
    assert_int_equal(merchant_store_create(f->st, merchant_id, name, "1-9-1 Marunouchi, Chiyoda-ku, Tokyo", 35681236,
                                           139767125, "convenience", &s),
                     ERR_OK);
    return s;
}

/* ---------------------------------------------------------------- merchants */

static void merchants_are_created_and_paged(void **state)
{
    struct fx *f = *state;
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "Merchant %d", i);
        ids[i] = new_merchant(f, name);
        assert_true(ids[i] > 0);
    }
    struct merchant m;
    assert_int_equal(merchant_get(f->st, ids[3], &m), ERR_OK);
    assert_string_equal(m.name, "Merchant 3");
    assert_true(m.created_ms > 0);
    assert_int_equal(merchant_get(f->st, ids[4] + 1, &m), ERR_MERCHANT_NOT_FOUND);
    assert_int_equal(merchant_get(f->st, 0, &m), ERR_MERCHANT_NOT_FOUND);

    /* pages of two: 2 + 2 + 1, then an empty page; the cursor is the last id */
    struct merchant page[2];
    size_t n = 0, seen = 0;
    int64_t after = 0;
    do {
        assert_int_equal(merchant_list(f->st, after, 2, page, &n), ERR_OK);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(page[i].id, ids[seen]);
            seen++;
        }
        if (n)
            after = page[n - 1].id;
    } while (n == 2);
    assert_int_equal(seen, 5);
    assert_int_equal(merchant_list(f->st, ids[4], 2, page, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(merchant_list(f->st, 0, 0, page, &n), ERR_OK);
    assert_int_equal(n, 0);
}

static void text_rules_are_enforced(void **state)
{
    struct fx *f = *state;
    char longest[MERCHANT_NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[MERCHANT_NAME_MAX] = '\0';
    assert_int_equal(merchant_check_text(longest, MERCHANT_NAME_MAX), ERR_OK);
    longest[MERCHANT_NAME_MAX] = 'a';
    longest[MERCHANT_NAME_MAX + 1] = '\0';

    static const char *const good[] = {
        "Kessai Mart",
        "ケッサイマート 東京駅店",  /* Japanese */
        "Café \xf0\x9f\x8d\x99 Onigiri", /* 2- and 4-byte sequences */
        "a",
        "Kessai Mart 10", /* a space three bytes before the end */
    };
    const char *bad[] = {
        "",
        longest,
        " leading space",
        "trailing space ",
        "\xe3\x80\x80ideographic space",  /* U+3000 first */
        "ideographic space\xe3\x80\x80",  /* U+3000 last */
        "line\nbreak",
        "tab\there",
        "del\x7f",
        "c1 \xc2\x85 control",             /* U+0085 */
        "bidi \xe2\x80\xae override",      /* U+202E */
        "bad \xff byte",
        "overlong \xc0\xaf slash",
        "surrogate \xed\xa0\x80",
        "truncated \xe3\x81",
        "beyond \xf4\x90\x80\x80 U+10FFFF",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(merchant_check_text(good[i], MERCHANT_NAME_MAX), ERR_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct merchant m;
        assert_int_equal(merchant_check_text(bad[i], MERCHANT_NAME_MAX), ERR_INVALID_PARAM);
        assert_int_equal(merchant_create(f->st, bad[i], &m), ERR_INVALID_PARAM);
    }
    assert_int_equal(merchant_check_text(NULL, MERCHANT_NAME_MAX), ERR_INVALID_PARAM);
    struct merchant page[4];
    size_t n = 9;
    assert_int_equal(merchant_list(f->st, 0, 4, page, &n), ERR_OK);
    assert_int_equal(n, 0); /* nothing was written */
}

/* ------------------------------------------------------------------ stores */

static void store_comes_with_its_payable_account(void **state)
{
    struct fx *f = *state;
    int64_t mid = new_merchant(f, "Kessai Mart");
    size_t before = n_accounts(f);
    struct merchant_store s = new_store(f, mid, "Tokyo Station");
    assert_true(s.id > 0);
    assert_int_equal(s.merchant_id, mid);
    assert_true(s.active);
    assert_int_equal(n_accounts(f), before + 1);

    struct merchant_store back;
    assert_int_equal(merchant_store_get(f->st, s.id, &back), ERR_OK);
    assert_string_equal(back.name, "Tokyo Station");
    assert_string_equal(back.address, "1-9-1 Marunouchi, Chiyoda-ku, Tokyo");
    assert_int_equal(back.lat_e6, 35681236);
    assert_int_equal(back.lon_e6, 139767125);
    assert_string_equal(back.category, "convenience");
    assert_int_equal(back.payable_account, s.payable_account);
    assert_int_equal(back.created_ms, s.created_ms);

    /* the account is named after the store's public id, so either finds the other */
    char sid[IDS_BUF];
    ids_format(sid, MERCHANT_STORE_ID_PREFIX, s.id);
    struct ledger_account a;
    assert_int_equal(f->st->ops->account_get(f->st, s.payable_account, &a), ERR_OK);
    assert_string_equal(a.owner, sid);
    assert_string_equal(a.kind, MERCHANT_PAYABLE_KIND);
    assert_int_equal(a.flags, 0);
    assert_int_equal(f->st->ops->account_find(f->st, sid, MERCHANT_PAYABLE_KIND, &a), ERR_OK);
    assert_int_equal(a.id, s.payable_account);
    int64_t parsed = 0;
    assert_int_equal(ids_parse(sid, MERCHANT_STORE_ID_PREFIX, &parsed), ERR_OK);
    assert_int_equal(parsed, s.id);

    /* coordinates at the very edges are valid */
    struct merchant_store edge;
    assert_int_equal(merchant_store_create(f->st, mid, "South Pole", "Antarctica", -90000000, -180000000, "other",
                                           &edge),
                     ERR_OK);
    assert_int_equal(merchant_store_create(f->st, mid, "North Pole", "Arctic", 90000000, 180000000, "other", &edge),
                     ERR_OK);
}

static void invalid_stores_write_nothing(void **state)
{
    struct fx *f = *state;
    int64_t mid = new_merchant(f, "Kessai Mart");
    size_t accounts = n_accounts(f);
    struct {
        int64_t merchant;
        const char *name, *address;
        int64_t lat, lon;
        const char *category;
        enum err want;
        const char *param;
    } cases[] = {
        {mid, "", "addr", 0, 0, "other", ERR_INVALID_PARAM, "name"},
        {mid, "ok", "", 0, 0, "other", ERR_INVALID_PARAM, "address"},
        {mid, "ok", "line\nbreak", 0, 0, "other", ERR_INVALID_PARAM, "address"},
        {mid, "ok", "addr", 90000001, 0, "other", ERR_INVALID_PARAM, "lat"},
        {mid, "ok", "addr", -90000001, 0, "other", ERR_INVALID_PARAM, "lat"},
        {mid, "ok", "addr", 0, 180000001, "other", ERR_INVALID_PARAM, "lon"},
        {mid, "ok", "addr", 0, -180000001, "other", ERR_INVALID_PARAM, "lon"},
        {mid, "ok", "addr", 0, 0, "casino", ERR_INVALID_PARAM, "category"},
        {mid, "ok", "addr", 0, 0, "", ERR_INVALID_PARAM, "category"},
        {mid, "ok", "addr", 0, 0, "Convenience", ERR_INVALID_PARAM, "category"},
        {mid + 1, "ok", "addr", 0, 0, "other", ERR_MERCHANT_NOT_FOUND, NULL},
        {0, "ok", "addr", 0, 0, "other", ERR_MERCHANT_NOT_FOUND, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct merchant_store s;
        const char *bad = "untouched";
        assert_int_equal(merchant_store_validate(cases[i].name, cases[i].address, cases[i].lat, cases[i].lon,
                                                 cases[i].category, &bad),
                         cases[i].param ? ERR_INVALID_PARAM : ERR_OK);
        if (cases[i].param)
            assert_string_equal(bad, cases[i].param);
        else
            assert_null(bad);
        assert_int_equal(merchant_store_create(f->st, cases[i].merchant, cases[i].name, cases[i].address,
                                               cases[i].lat, cases[i].lon, cases[i].category, &s),
                         cases[i].want);
    }
    /* in particular no orphan payable account from the missing merchant */
    assert_int_equal(n_accounts(f), accounts);
    assert_int_equal(n_stores(f), 0);
    for (size_t i = 0; merchant_categories[i]; i++)
        assert_int_equal(merchant_check_category(merchant_categories[i]), ERR_OK);
}

static void stores_are_listed_by_merchant_and_paged(void **state)
{
    struct fx *f = *state;
    int64_t a = new_merchant(f, "A"), b = new_merchant(f, "B");
    for (int i = 0; i < 7; i++)
        new_store(f, i % 2 ? b : a, "store");
    /* a's stores (4), two at a time, in strictly increasing id order */
    struct merchant_store page[2];
    size_t n, seen = 0;
    int64_t after = 0;
    do {
        assert_int_equal(merchant_store_list(f->st, a, after, 2, page, &n), ERR_OK);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(page[i].merchant_id, a);
            assert_true(page[i].id > after);
            after = page[i].id;
            seen++;
        }
    } while (n == 2);
    assert_int_equal(seen, 4);
    struct merchant_store all[16];
    assert_int_equal(merchant_store_list(f->st, b, 0, 16, all, &n), ERR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(merchant_store_list(f->st, 0, 0, 16, all, &n), ERR_OK);
    assert_int_equal(n, 7);
    for (size_t i = 1; i < n; i++)
        assert_true(all[i].id > all[i - 1].id);
    assert_int_equal(merchant_store_list(f->st, b + 1, 0, 16, all, &n), ERR_MERCHANT_NOT_FOUND);
}

static void stores_activate_and_deactivate(void **state)
{
    struct fx *f = *state;
    struct merchant_store s = new_store(f, new_merchant(f, "M"), "S"), back;
    assert_int_equal(merchant_store_set_active(f->st, s.id, 0), ERR_OK);
    assert_int_equal(merchant_store_get(f->st, s.id, &back), ERR_OK);
    assert_false(back.active);
    assert_int_equal(merchant_store_set_active(f->st, s.id, 0), ERR_OK); /* already inactive: fine */
    assert_int_equal(merchant_store_set_active(f->st, s.id, 1), ERR_OK);
    assert_int_equal(merchant_store_get(f->st, s.id, &back), ERR_OK);
    assert_true(back.active);
    assert_int_equal(merchant_store_set_active(f->st, s.id + 1, 0), ERR_STORE_NOT_FOUND);
    assert_int_equal(merchant_store_set_active(f->st, 0, 0), ERR_STORE_NOT_FOUND);
    assert_int_equal(merchant_store_get(f->st, s.id + 1, &back), ERR_STORE_NOT_FOUND);
}

/* --------------------------------------------------------------- terminals */

static void terminal_secret_opens_only_with_its_key_id_and_master_key(void **state)
{
    struct fx *f = *state;
    struct merchant_store s = new_store(f, new_merchant(f, "M"), "S");
    struct merchant_terminal t, u;
    char hex[TERMINAL_SECRET_HEX_BUF], hex2[TERMINAL_SECRET_HEX_BUF];
    assert_int_equal(terminal_create(f->st, f->key, s.id, &t, hex), ERR_OK);
    assert_int_equal(terminal_create(f->st, f->key, s.id, &u, hex2), ERR_OK);
    assert_true(t.id > 0);
    assert_int_equal(t.store_id, s.id);
    assert_false(t.revoked);
    assert_int_equal(strlen(hex), 64);
    assert_int_equal(strspn(hex, "0123456789abcdef"), 64);
    assert_string_not_equal(hex, hex2);
    assert_int_equal(strncmp(t.key_id, "tk_", 3), 0);
    assert_int_equal(strlen(t.key_id), 3 + 26);
    assert_string_not_equal(t.key_id, u.key_id);

    uint8_t want[TERMINAL_SECRET_BYTES], got[TERMINAL_SECRET_BYTES];
    assert_int_equal(sodium_hex2bin(want, sizeof want, hex, 64, NULL, NULL, NULL), 0);
    assert_int_equal(terminal_secret(f->st, f->key, t.key_id, got), ERR_OK);
    assert_memory_equal(got, want, sizeof want);

    /* another master key: refused */
    uint8_t other[MASTERKEY_BYTES];
    randombytes_buf(other, sizeof other);
    assert_int_equal(terminal_secret(f->st, other, t.key_id, got), ERR_INTERNAL);
    /* the sealed value under another key id (as associated data): refused */
    assert_int_equal(masterkey_open(f->key, t.secret_sealed, sizeof t.secret_sealed, u.key_id, got),
                     ERR_INVALID_PARAM);
    assert_int_equal(masterkey_open(f->key, t.secret_sealed, sizeof t.secret_sealed, t.key_id, got), ERR_OK);
    assert_memory_equal(got, want, sizeof want);
    /* unknown key ids */
    assert_int_equal(terminal_secret(f->st, f->key, "tk_nosuchterminal", got), ERR_TERMINAL_NOT_FOUND);
    assert_int_equal(terminal_secret(f->st, f->key, "", got), ERR_TERMINAL_NOT_FOUND);
    assert_int_equal(terminal_secret(f->st, f->key, NULL, got), ERR_TERMINAL_NOT_FOUND);

    /* copy t's sealed secret onto u's row, as an attacker with write access to
     * the database might: it must not open as u's */
    char path[600];
    tu_path(path, sizeof path, f->dir, "kessai.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "UPDATE terminals SET secret_sealed = (SELECT secret_sealed FROM terminals "
                                        "WHERE id = ?) WHERE id = ?",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(q, 1, t.id);
    sqlite3_bind_int64(q, 2, u.id);
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(db);
    assert_int_equal(terminal_secret(f->st, f->key, u.key_id, got), ERR_INTERNAL);
    assert_int_equal(terminal_secret(f->st, f->key, t.key_id, got), ERR_OK);
    sodium_memzero(got, sizeof got);
}

static void revoked_terminals_stay_revoked(void **state)
{
    struct fx *f = *state;
    struct merchant_store s = new_store(f, new_merchant(f, "M"), "S");
    struct merchant_terminal t;
    char hex[TERMINAL_SECRET_HEX_BUF];
    uint8_t got[TERMINAL_SECRET_BYTES];
    assert_int_equal(terminal_create(f->st, f->key, s.id, &t, hex), ERR_OK);
    assert_int_equal(terminal_revoke(f->st, t.id), ERR_OK);
    assert_int_equal(terminal_secret(f->st, f->key, t.key_id, got), ERR_TERMINAL_NOT_FOUND);
    assert_int_equal(terminal_revoke(f->st, t.id), ERR_OK); /* twice: still revoked, no error */
    assert_int_equal(terminal_revoke(f->st, t.id + 1), ERR_TERMINAL_NOT_FOUND);
    assert_int_equal(terminal_revoke(f->st, 0), ERR_TERMINAL_NOT_FOUND);
    struct merchant_terminal back;
    assert_int_equal(terminal_get_by_key_id(f->st, t.key_id, &back), ERR_OK);
    assert_true(back.revoked);
    assert_int_equal(back.id, t.id);
}

/* A request reads its terminal once per snapshot (the store keeps the row
 * until the snapshot ends), yet a revocation is never missed: revoked on
 * the request's own connection it shows at once, revoked by another
 * kessaid thread it shows from the next request's snapshot on. */
static void a_revocation_shows_through_a_snapshot_kept_row(void **state)
{
    struct fx *f = *state;
    struct merchant_store s = new_store(f, new_merchant(f, "M"), "S");
    struct merchant_terminal t, a, u;
    char hex[TERMINAL_SECRET_HEX_BUF];
    assert_int_equal(terminal_create(f->st, f->key, s.id, &t, hex), ERR_OK);
    assert_int_equal(terminal_create(f->st, f->key, s.id, &u, hex), ERR_OK);
    struct store *other = tu_open_store(f->dir);

    assert_int_equal(f->st->ops->snapshot_begin(f->st), ERR_OK);
    assert_int_equal(terminal_get_by_key_id(f->st, t.key_id, &a), ERR_OK);
    assert_false(a.revoked);
    assert_int_equal(terminal_get_by_key_id(f->st, u.key_id, &a), ERR_OK); /* another key: its own row */
    assert_int_equal(a.id, u.id);
    assert_int_equal(terminal_revoke(other, t.id), ERR_OK);
    assert_int_equal(terminal_get_by_key_id(f->st, t.key_id, &a), ERR_OK);
    assert_false(a.revoked); /* the snapshot's state, as before any row was kept */
    f->st->ops->snapshot_end(f->st);
    assert_int_equal(f->st->ops->snapshot_begin(f->st), ERR_OK);
    assert_int_equal(terminal_get_by_key_id(f->st, t.key_id, &a), ERR_OK);
    assert_true(a.revoked);
    /* revoked on this very connection inside the snapshot */
    assert_int_equal(terminal_get_by_key_id(f->st, u.key_id, &a), ERR_OK);
    assert_false(a.revoked);
    assert_int_equal(terminal_revoke(f->st, u.id), ERR_OK);
    assert_int_equal(terminal_get_by_key_id(f->st, u.key_id, &a), ERR_OK);
    assert_true(a.revoked);
    f->st->ops->snapshot_end(f->st);
    store_close(other);
}

static void terminals_need_a_store_and_are_paged(void **state)
{
    struct fx *f = *state;
    int64_t mid = new_merchant(f, "M");
    struct merchant_store a = new_store(f, mid, "A"), b = new_store(f, mid, "B");
    struct merchant_terminal t;
    char hex[TERMINAL_SECRET_HEX_BUF];
    assert_int_equal(terminal_create(f->st, f->key, a.id + b.id, &t, hex), ERR_STORE_NOT_FOUND);
    assert_int_equal(terminal_create(f->st, f->key, 0, &t, hex), ERR_STORE_NOT_FOUND);
    assert_int_equal(n_terminals(f), 0);
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        assert_int_equal(terminal_create(f->st, f->key, i < 3 ? a.id : b.id, &t, hex), ERR_OK);
        ids[i] = t.id;
    }
    struct merchant_terminal page[2];
    size_t n, seen = 0;
    int64_t after = 0;
    do {
        assert_int_equal(terminal_list(f->st, a.id, after, 2, page, &n), ERR_OK);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(page[i].id, ids[seen++]);
            assert_int_equal(page[i].store_id, a.id);
            after = page[i].id;
        }
    } while (n == 2);
    assert_int_equal(seen, 3);
    assert_int_equal(n_terminals(f), 5);
    assert_int_equal(terminal_list(f->st, a.id + b.id, 0, 2, page, &n), ERR_STORE_NOT_FOUND);
}

/* Every file of the database (main file, WAL, shared memory). */
static size_t read_db_files(const char *dir, uint8_t **out)
{
    size_t len = 0;
    uint8_t *buf = NULL;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "kessai.db", 9) != 0)
            continue;
        char path[600];
        tu_path(path, sizeof path, dir, e->d_name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        uint8_t chunk[65536];
        size_t k;
        while ((k = fread(chunk, 1, sizeof chunk, fp)) > 0) {
            buf = realloc(buf, len + k);
            assert_non_null(buf);
            memcpy(buf + len, chunk, k);
            len += k;
        }
        fclose(fp);
    }
    closedir(d);
    *out = buf;
    return len;
}

static int contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    return memmem(hay, n, needle, m) != NULL;
}

static void secrets_never_reach_the_database_in_the_clear(void **state)
{
    struct fx *f = *state;
    struct merchant_store s = new_store(f, new_merchant(f, "M"), "S");
    enum { N = 4 };
    char hex[N][TERMINAL_SECRET_HEX_BUF];
    uint8_t raw[N][TERMINAL_SECRET_BYTES];
    char key_id[N][TERMINAL_KEY_ID_MAX + 1];
    for (int i = 0; i < N; i++) {
        struct merchant_terminal t;
        assert_int_equal(terminal_create(f->st, f->key, s.id, &t, hex[i]), ERR_OK);
        assert_int_equal(sodium_hex2bin(raw[i], TERMINAL_SECRET_BYTES, hex[i], 64, NULL, NULL, NULL), 0);
        snprintf(key_id[i], sizeof key_id[i], "%s", t.key_id);
    }
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: live, WAL included; pass 1: after close and checkpoint */
        if (pass == 1) {
            store_close(f->st);
            f->st = tu_open_store(f->dir);
        }
        uint8_t *db = NULL;
        size_t n = read_db_files(f->dir, &db);
        assert_true(n > 0);
        for (int i = 0; i < N; i++) {
            char upper[TERMINAL_SECRET_HEX_BUF];
            for (int k = 0; k < 65; k++)
                upper[k] = (char)(hex[i][k] >= 'a' && hex[i][k] <= 'f' ? hex[i][k] - 32 : hex[i][k]);
            assert_true(contains(db, n, key_id[i], strlen(key_id[i]))); /* the search works */
            assert_false(contains(db, n, raw[i], TERMINAL_SECRET_BYTES));
            assert_false(contains(db, n, raw[i], 8)); /* not even a prefix */
            assert_false(contains(db, n, hex[i], 64));
            assert_false(contains(db, n, hex[i], 16));
            assert_false(contains(db, n, upper, 64));
        }
        /* nor the master key */
        assert_false(contains(db, n, f->key, MASTERKEY_BYTES));
        free(db);
    }
    /* the reopened store still opens them */
    uint8_t got[TERMINAL_SECRET_BYTES];
    assert_int_equal(terminal_secret(f->st, f->key, key_id[N - 1], got), ERR_OK);
    assert_memory_equal(got, raw[N - 1], TERMINAL_SECRET_BYTES);
}

/* ------------------------------------------------------ coordinates, JSON */

static void coordinates_parse_exactly(void **state)
{
    (void)state;
    struct {
        const char *in;
        int64_t want;
    } ok[] = {
        {"35.681236", 35681236},  {"139.767125", 139767125}, {"-33.8688", -33868800}, {"+1.5", 1500000},
        {"0", 0},                 {"-0", 0},                 {"90", 90000000},       {"-180.000000", -180000000},
        {"1.5000000", 1500000},   {"0.000001", 1},           {"007.1", 7100000},     {"43.068661", 43068661},
        {"999.999999", 999999999}, /* range is the validator's job */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        assert_int_equal(coord_parse_e6(ok[i].in, &v), ERR_OK);
        assert_int_equal(v, ok[i].want);
    }
    const char *bad[] = {
        "", "-", "+", ".5", "5.", "1.0000001", "1e5", " 1", "1 ", "1234", "0x10", "nan", "inf", "1,5", "--1",
        "1.2.3", "35.6812365", NULL,
    };
    for (size_t i = 0; bad[i]; i++) {
        int64_t v = 42;
        assert_int_equal(coord_parse_e6(bad[i], &v), ERR_INVALID_PARAM);
        assert_int_equal(v, 42);
    }
    assert_int_equal(coord_parse_e6(NULL, &(int64_t){0}), ERR_INVALID_PARAM);
    char buf[COORD_BUF];
    assert_string_equal(coord_format_e6(buf, 35681236), "35.681236");
    assert_string_equal(coord_format_e6(buf, -500000), "-0.500000");
    assert_string_equal(coord_format_e6(buf, 0), "0.000000");
    assert_string_equal(coord_format_e6(buf, -180000000), "-180.000000");
    assert_string_equal(coord_format_e6(buf, INT64_MIN), "-9223372036854.775808");
    /* round trip */
    for (int64_t v = -180000000; v <= 180000000; v += 12345677) {
        int64_t back;
        assert_int_equal(coord_parse_e6(coord_format_e6(buf, v), &back), ERR_OK);
        assert_int_equal(back, v);
    }
}

static void json_shows_public_ids_and_no_secrets(void **state)
{
    struct fx *f = *state;
    struct merchant m;
    assert_int_equal(merchant_create(f->st, "Kessai Mart", &m), ERR_OK);
    struct merchant_store s = new_store(f, m.id, "Tokyo");
    struct merchant_terminal t;
    char hex[TERMINAL_SECRET_HEX_BUF];
    assert_int_equal(terminal_create(f->st, f->key, s.id, &t, hex), ERR_OK);

    char id[IDS_BUF];
    json_t *j = merchant_json(&m);
    assert_string_equal(json_string_value(json_object_get(j, "id")), ids_format(id, "mer", m.id));
    assert_string_equal(json_string_value(json_object_get(j, "name")), "Kessai Mart");
    json_decref(j);

    j = merchant_store_json(&s);
    assert_string_equal(json_string_value(json_object_get(j, "id")), ids_format(id, "str", s.id));
    assert_string_equal(json_string_value(json_object_get(j, "merchant")), ids_format(id, "mer", m.id));
    assert_string_equal(json_string_value(json_object_get(j, "lat")), "35.681236");
    assert_string_equal(json_string_value(json_object_get(j, "lon")), "139.767125");
    assert_int_equal(json_integer_value(json_object_get(j, "lat_e6")), 35681236);
    assert_true(json_is_true(json_object_get(j, "active")));
    assert_null(json_object_get(j, "payable_account"));
    json_decref(j);

    j = terminal_json(&t);
    assert_string_equal(json_string_value(json_object_get(j, "id")), ids_format(id, "trm", t.id));
    assert_string_equal(json_string_value(json_object_get(j, "key_id")), t.key_id);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    assert_null(strstr(text, hex));
    assert_null(strstr(text, "secret"));
    assert_null(strstr(text, "sealed"));
    free(text);
    json_decref(j);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(merchants_are_created_and_paged, setup, teardown),
        cmocka_unit_test_setup_teardown(text_rules_are_enforced, setup, teardown),
        cmocka_unit_test_setup_teardown(store_comes_with_its_payable_account, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_stores_write_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(stores_are_listed_by_merchant_and_paged, setup, teardown),
        cmocka_unit_test_setup_teardown(stores_activate_and_deactivate, setup, teardown),
        cmocka_unit_test_setup_teardown(terminal_secret_opens_only_with_its_key_id_and_master_key, setup, teardown),
        cmocka_unit_test_setup_teardown(revoked_terminals_stay_revoked, setup, teardown),
        cmocka_unit_test_setup_teardown(a_revocation_shows_through_a_snapshot_kept_row, setup, teardown),
        cmocka_unit_test_setup_teardown(terminals_need_a_store_and_are_paged, setup, teardown),
        cmocka_unit_test_setup_teardown(secrets_never_reach_the_database_in_the_clear, setup, teardown),
        cmocka_unit_test(coordinates_parse_exactly),
        cmocka_unit_test_setup_teardown(json_shows_public_ids_and_no_secrets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
