/* wallet_fixture.h: what the wallet tests set up the same way (header-only,
 * on top of auth_fixture.h): the ledger on the fixture's store with its
 * writer on a second connection, the test card processor on the fixture's
 * clock, and the search for what the customer typed in the files at rest. */
#ifndef KESSAI_TESTS_WALLET_FIXTURE_H
#define KESSAI_TESTS_WALLET_FIXTURE_H

#include <sqlite3.h>

#include "auth_fixture.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "wallet/gateway_test.h"
#include "wallet/wallet_ctx.h"

/* The ledger's accounts on f->st and its writer (batches of 64) on a
 * connection of its own. */
static inline void wf_ledger_start(struct af *f, struct ledger_writer **writer)
{
    assert_int_equal(ledger_init(f->st), ERR_OK);
    struct store *ws = tu_open_store(f->dir);
    struct ledger_writer_opts o = {.batch_max = 64};
    assert_int_equal(ledger_writer_start(ws, &o, writer), ERR_OK);
}

/* Stop the writer; the books balance after every scenario. */
static inline void wf_ledger_stop(struct af *f, struct ledger_writer *writer)
{
    ledger_writer_stop(writer);
    struct ledger_verify_report rep;
    assert_int_equal(ledger_verify(f->st, stderr, &rep), ERR_OK);
    assert_int_equal(rep.violations, 0);
}

/* Tamper with f's database as someone with write access to the file would
 * (tu_sql), check that ledger_verify finds exactly `violations`, one line
 * of them containing `says`; then run undo and check the ledger is clean
 * again (the next tampering starts from a sound ledger, and so does the
 * teardown). */
static inline void wf_verify_catches(struct af *f, const char *tamper, const char *undo, size_t violations,
                                     const char *says)
{
    struct ledger_verify_report rep;
    tu_sql(f->dir, "%s", tamper);
    char *out = tu_ledger_verify(f->st, &rep);
    if (rep.violations != violations || strstr(out, says) == NULL)
        fail_msg("after %s: %zu violations, wanted %zu saying \"%s\"", tamper, rep.violations, violations, says);
    free(out);
    tu_sql(f->dir, "%s", undo);
    out = tu_ledger_verify(f->st, &rep);
    if (rep.violations != 0)
        fail_msg("after undoing %s: %zu violations", tamper, rep.violations);
    free(out);
}

static inline int64_t wf_clock(void *ctx)
{
    return ((struct af *)ctx)->now;
}

/* The test processor with its vault at f->dir/gateway.db, on f's clock. */
static inline void wf_gateway_open(struct af *f, struct gateway **gw)
{
    char path[600];
    tu_path(path, sizeof path, f->dir, "gateway.db");
    assert_int_equal(gateway_test_open_clock(path, wf_clock, f, gw), ERR_OK);
}

/* Long enough that finding it among a file's raw bytes means it was
 * written down: a card number is, a 3- or 4-digit CVC is not (in megabytes
 * of pages, encrypted blobs and hex hashes a given 4 digits turn up by
 * chance every few hundred runs).  Short ones are looked for in the values
 * the database holds instead (wf_assert_absent_in_values). */
#define WF_RAW_SEARCH_MIN 8

/* None of the n strings typed that are min_len bytes or longer occurs
 * (af_occurs) in the file at path (a missing file holds nothing); a failure
 * names the file as label. */
static inline void wf_assert_absent(const char *path, const char *label, char *const *typed, int n, size_t min_len)
{
    size_t len = 0;
    char *buf = tu_slurp(path, &len);
    if (buf == NULL)
        return;
    for (int i = 0; i < n; i++)
        if (strlen(typed[i]) >= min_len && af_occurs(buf, len, typed[i]))
            fail_msg("%s found in %s", typed[i], label);
    free(buf);
}

/* None of the n strings typed occurs in any text or blob value of any
 * table of the SQLite database at path (its WAL included). */
static inline void wf_assert_absent_in_values(const char *path, char *const *typed, int n)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *tables = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &tables, NULL),
                     SQLITE_OK);
    while (sqlite3_step(tables) == SQLITE_ROW) {
        char sql[300];
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", (const char *)sqlite3_column_text(tables, 0));
        sqlite3_stmt *rows = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &rows, NULL), SQLITE_OK);
        while (sqlite3_step(rows) == SQLITE_ROW)
            for (int c = 0; c < sqlite3_column_count(rows); c++) {
                int type = sqlite3_column_type(rows, c);
                if (type != SQLITE_TEXT && type != SQLITE_BLOB)
                    continue;
                const char *v = sqlite3_column_blob(rows, c);
                size_t len = (size_t)sqlite3_column_bytes(rows, c);
                for (int i = 0; v != NULL && i < n; i++)
                    if (af_occurs(v, len, typed[i]))
                        fail_msg("%s found in %s.%s", typed[i], (const char *)sqlite3_column_text(tables, 0),
                                 sqlite3_column_name(rows, c));
            }
        sqlite3_finalize(rows);
    }
    sqlite3_finalize(tables);
    sqlite3_close(db);
}

/* Nothing the customer typed is at rest in f->dir: not among the raw bytes
 * of the wallet's and the test processor's databases and WALs, not in
 * their values. */
static inline void wf_assert_nothing_typed_at_rest(struct af *f, char *const *typed, int n)
{
    const char *files[] = {"kessai.db", "kessai.db-wal", "gateway.db", "gateway.db-wal"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[700];
        tu_path(path, sizeof path, f->dir, files[i]);
        wf_assert_absent(path, files[i], typed, n, WF_RAW_SEARCH_MIN);
        if (i % 2 == 0)
            wf_assert_absent_in_values(path, typed, n);
    }
}

/* The context of the next call, at f->now, into *w: f's auth context with
 * the given writer and gateway (either may be NULL). */
static inline const struct wallet_ctx *wf_ctx(struct wallet_ctx *w, struct af *f, struct ledger_writer *writer,
                                              struct gateway *gw)
{
    *w = (struct wallet_ctx){.a = *af_ctx(f), .gw = gw, .writer = writer};
    return w;
}

#endif
