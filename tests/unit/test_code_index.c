/* test_code_index.c: finding payment codes by their hash without a
 * B-tree index on it (store/code_index.h, store/sqlite_paycode.c).
 *
 * The index in memory is only a hint; what a register relies on is that
 * the store finds every committed code, whichever process wrote it, never
 * one that rolled back, and never lets two rows carry one hash.  Each test
 * opens real SQLite files; two stores without shared memory stand for two
 * kessaid processes on one database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "store/code_index.h"
#include "store/sqlite_internal.h"
#include "testutil.h"

#define T0 1767225600000LL
#define LIVE_MS 60000
/* Distinct tags spread as keyed hashes are. */
#define TAG(id) ((uint64_t)(id) * 0x9e3779b97f4a7c15ULL)

/* ---- the index alone ------------------------------------------------------- */

static void the_index_finds_every_row_under_its_tag(void **state)
{
    (void)state;
    struct code_index *ix = NULL;
    assert_int_equal(code_index_new(&ix), ERR_OK);
    /* enough to grow it several times */
    for (int64_t id = 1; id <= 5000; id++)
        assert_int_equal(code_index_add(ix, TAG(id), id, T0 + LIVE_MS, T0), ERR_OK);
    int64_t ids[4];
    for (int64_t id = 1; id <= 5000; id++) {
        assert_int_equal(code_index_find(ix, TAG(id), ids, 4), 1);
        assert_int_equal(ids[0], id);
    }
    assert_int_equal(code_index_find(ix, 12345, ids, 4), 0);
    /* two rows under one tag (64 bits colliding, or a tag of 0): both named */
    assert_int_equal(code_index_add(ix, 0, 9001, T0 + LIVE_MS, T0), ERR_OK);
    assert_int_equal(code_index_add(ix, 0, 9002, T0 + LIVE_MS, T0), ERR_OK);
    assert_int_equal(code_index_find(ix, 0, ids, 4), 2);
    assert_true((ids[0] == 9001 && ids[1] == 9002) || (ids[0] == 9002 && ids[1] == 9001));
    code_index_free(ix);
}

static void the_index_forgets_expired_codes_as_it_grows(void **state)
{
    (void)state;
    struct code_index *ix = NULL;
    assert_int_equal(code_index_new(&ix), ERR_OK);
    for (int64_t id = 1; id <= 3000; id++)
        assert_int_equal(code_index_add(ix, TAG(id), id, T0 + LIVE_MS, T0), ERR_OK);
    assert_int_equal(code_index_size(ix), 3000);
    /* a minute later, the next growth keeps only what is still alive */
    for (int64_t id = 3001; id <= 12000; id++)
        assert_int_equal(code_index_add(ix, TAG(id), id, T0 + 2 * LIVE_MS, T0 + LIVE_MS), ERR_OK);
    assert_true(code_index_size(ix) <= 9000);
    int64_t ids[1];
    assert_int_equal(code_index_find(ix, TAG(1), ids, 1), 0);
    for (int64_t id = 3001; id <= 12000; id++)
        assert_int_equal(code_index_find(ix, TAG(id), ids, 1), 1);
    code_index_free(ix);
}

/* ---- the store ------------------------------------------------------------- */

struct fx {
    char *dir;
    char path[600];
};

/* The customer (1) and phone (1) every code here belongs to. */
#define OWNER_SQL                                                                                                    \
    "INSERT INTO customers (id, email, password_hash, created_ms) VALUES (1, 'aiko@example.com', 'x', 0);"          \
    "INSERT INTO devices (id, customer_id, public_key, name, first_seen_ms, last_seen_ms, new_until_ms)"            \
    " VALUES (1, 1, 'k', 'phone', 0, 0, 0);"

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = tu_tempdir();
    tu_path(f->path, sizeof f->path, f->dir, "kessai.db");
    store_close(tu_open_store(f->dir)); /* the schema */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, OWNER_SQL, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static struct paycode code(void)
{
    struct paycode c = {.customer_id = 1, .device_id = 1, .created_ms = T0, .expires_ms = T0 + LIVE_MS};
    randombytes_buf(c.code_hash, sizeof c.code_hash);
    return c;
}

static enum err get(struct store *st, const struct paycode *c, struct paycode *out)
{
    return st->ops->paycode_get(st, c->code_hash, out);
}

/* Two connections of one process, sharing its memory: w writes, r reads. */
struct pair {
    struct store_memory *mem;
    struct store *w, *r;
};

static struct pair pair_open(const struct fx *f)
{
    struct pair p = {0};
    assert_int_equal(store_memory_new(&p.mem), ERR_OK);
    assert_int_equal(store_open_sqlite_audited(f->path, NULL, p.mem, &p.w), ERR_OK);
    assert_int_equal(store_open_sqlite_audited(f->path, NULL, p.mem, &p.r), ERR_OK);
    return p;
}

static void pair_close(struct pair *p)
{
    store_close(p->w);
    store_close(p->r);
    store_memory_free(p->mem); /* after the connections that share it */
}

static void a_code_another_process_wrote_is_found(void **state)
{
    struct fx *f = *state;
    struct store *a = tu_open_store(f->dir), *b = tu_open_store(f->dir);
    struct paycode first = code(), later = code(), got;
    assert_int_equal(a->ops->paycode_insert(a, &first, T0), ERR_OK);
    assert_int_equal(get(a, &first, &got), ERR_OK); /* a's index is now past it */
    /* b, a process of its own, writes one; a finds it as soon as it is committed */
    assert_int_equal(b->ops->paycode_insert(b, &later, T0 + 1), ERR_OK);
    assert_int_equal(get(a, &later, &got), ERR_OK);
    assert_int_equal(got.id, later.id);
    assert_memory_equal(got.code_hash, later.code_hash, 32);
    assert_int_equal(got.expires_ms, T0 + LIVE_MS);
    assert_int_equal(get(b, &first, &got), ERR_OK);
    assert_int_equal(got.id, first.id);
    store_close(a);
    store_close(b);
}

/* A code written in a transaction that rolls back gives its id up (the
 * next code gets it again); the index must not have moved past that id,
 * or the next code would never be found. */
static void a_code_rolled_back_is_never_found_and_hides_no_other(void **state)
{
    struct fx *f = *state;
    struct pair p = pair_open(f);
    struct store *w = p.w, *r = p.r;
    struct paycode gone = code(), kept = code(), other = code(), got;
    assert_int_equal(w->ops->begin(w), ERR_OK);
    assert_int_equal(w->ops->paycode_insert(w, &gone, T0), ERR_OK);
    /* inside its transaction the writer sees its own code, and a lookup
     * there catches the shared index up */
    assert_int_equal(get(w, &gone, &got), ERR_OK);
    assert_int_equal(get(w, &other, &got), ERR_NOT_FOUND);
    assert_int_equal(get(r, &gone, &got), ERR_NOT_FOUND); /* not committed */
    assert_int_equal(w->ops->rollback(w), ERR_OK);
    assert_int_equal(w->ops->paycode_insert(w, &kept, T0 + 1), ERR_OK);
    assert_int_equal(kept.id, gone.id); /* the id is given again */
    assert_int_equal(get(r, &kept, &got), ERR_OK);
    assert_int_equal(got.id, kept.id);
    assert_int_equal(get(r, &gone, &got), ERR_NOT_FOUND);
    assert_int_equal(get(w, &gone, &got), ERR_NOT_FOUND);
    pair_close(&p);
}

/* The ledger writer issues codes in savepoints of its transaction: one
 * undone there gives its id up within the transaction, and the others of
 * the commit are found. */
static void a_code_undone_by_its_savepoint_hides_no_other(void **state)
{
    struct fx *f = *state;
    struct pair p = pair_open(f);
    struct store *w = p.w, *r = p.r;
    struct paycode one = code(), undone = code(), two = code(), got;
    assert_int_equal(w->ops->begin(w), ERR_OK);
    assert_int_equal(w->ops->savepoint(w), ERR_OK);
    assert_int_equal(w->ops->paycode_insert(w, &one, T0), ERR_OK);
    assert_int_equal(w->ops->release_savepoint(w), ERR_OK);
    assert_int_equal(w->ops->savepoint(w), ERR_OK);
    assert_int_equal(w->ops->paycode_insert(w, &undone, T0), ERR_OK);
    assert_int_equal(get(w, &two, &got), ERR_NOT_FOUND); /* a lookup in between */
    assert_int_equal(w->ops->rollback_savepoint(w), ERR_OK);
    assert_int_equal(w->ops->savepoint(w), ERR_OK);
    assert_int_equal(w->ops->paycode_insert(w, &two, T0), ERR_OK);
    assert_int_equal(w->ops->release_savepoint(w), ERR_OK);
    assert_int_equal(two.id, undone.id);
    assert_int_equal(w->ops->commit(w), ERR_OK);
    assert_int_equal(get(r, &one, &got), ERR_OK);
    assert_int_equal(get(r, &two, &got), ERR_OK);
    assert_int_equal(got.id, two.id);
    assert_int_equal(get(r, &undone, &got), ERR_NOT_FOUND);
    pair_close(&p);
}

/* A code revoked (its row deleted) when it was the newest: the next code
 * must not take its id, which the index has already read past. */
static void the_newest_code_revoked_takes_no_id_with_it(void **state)
{
    struct fx *f = *state;
    struct pair p = pair_open(f);
    struct store *w = p.w, *r = p.r;
    struct paycode revoked = code(), next = code(), got;
    assert_int_equal(w->ops->paycode_insert(w, &revoked, T0), ERR_OK);
    assert_int_equal(get(r, &revoked, &got), ERR_OK);
    assert_int_equal(w->ops->begin(w), ERR_OK);
    assert_int_equal(w->ops->paycodes_revoke(w, 1, 0, T0 + 1), ERR_OK);
    assert_int_equal(w->ops->commit(w), ERR_OK);
    assert_int_equal(get(r, &revoked, &got), ERR_NOT_FOUND);
    assert_int_equal(w->ops->paycode_insert(w, &next, T0 + 2), ERR_OK);
    assert_true(next.id > revoked.id);
    assert_int_equal(get(r, &next, &got), ERR_OK);
    pair_close(&p);
}

/* A request's snapshot from before a code was written does not see it,
 * however far the shared index has read; its next request does. */
static void an_older_snapshot_sees_no_newer_code_and_spoils_nothing(void **state)
{
    struct fx *f = *state;
    struct pair p = pair_open(f);
    struct store *w = p.w, *r = p.r;
    struct paycode before = code(), after = code(), got;
    assert_int_equal(w->ops->paycode_insert(w, &before, T0), ERR_OK);
    assert_int_equal(r->ops->snapshot_begin(r), ERR_OK);
    assert_int_equal(get(r, &before, &got), ERR_OK); /* the snapshot is taken */
    assert_int_equal(w->ops->paycode_insert(w, &after, T0 + 1), ERR_OK);
    assert_int_equal(get(w, &after, &got), ERR_OK); /* the index is past it */
    assert_int_equal(get(r, &after, &got), ERR_NOT_FOUND);
    r->ops->snapshot_end(r);
    assert_int_equal(get(r, &after, &got), ERR_OK);
    assert_int_equal(got.id, after.id);
    pair_close(&p);
}

/* kessaid reads the codes in the table at start, outside any transaction,
 * so that its writer's first code does not read them all while it holds
 * the write lock. */
static void codes_are_read_in_at_start(void **state)
{
    struct fx *f = *state;
    struct store *other = tu_open_store(f->dir);
    struct paycode a = code(), b = code(), got;
    assert_int_equal(other->ops->paycode_insert(other, &a, T0), ERR_OK);
    assert_int_equal(other->ops->paycode_insert(other, &b, T0), ERR_OK);
    struct pair p = pair_open(f);
    size_t n = 99;
    assert_int_equal(p.w->ops->begin(p.w), ERR_OK);
    assert_int_equal(p.w->ops->paycodes_load(p.w, T0, &n), ERR_INVALID_PARAM);
    assert_int_equal(n, 0);
    assert_int_equal(p.w->ops->rollback(p.w), ERR_OK);
    assert_int_equal(p.w->ops->paycodes_load(p.w, T0, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(p.r->ops->paycodes_load(p.r, T0, &n), ERR_OK);
    assert_int_equal(n, 0); /* the memory is shared: read once */
    assert_int_equal(get(p.r, &b, &got), ERR_OK);
    assert_int_equal(got.id, b.id);
    pair_close(&p);
    store_close(other);
}

/* Two customers must never hold the same code: a second row with a hash
 * that a row already has is refused, whoever wrote the first and whether
 * or not it is committed yet. */
static void no_two_rows_carry_one_hash(void **state)
{
    struct fx *f = *state;
    struct store *a = tu_open_store(f->dir), *b = tu_open_store(f->dir);
    struct paycode c = code(), again, got;
    assert_int_equal(get(a, &c, &got), ERR_NOT_FOUND); /* a's index is caught up, without c */
    assert_int_equal(b->ops->paycode_insert(b, &c, T0), ERR_OK);
    again = c;
    assert_int_equal(a->ops->paycode_insert(a, &again, T0 + 1), ERR_CONFLICT);
    /* within one transaction (a group commit of codes) too */
    struct paycode d = code(), d2;
    assert_int_equal(a->ops->begin(a), ERR_OK);
    assert_int_equal(a->ops->paycode_insert(a, &d, T0 + 2), ERR_OK);
    d2 = d;
    assert_int_equal(a->ops->paycode_insert(a, &d2, T0 + 3), ERR_CONFLICT);
    assert_int_equal(a->ops->commit(a), ERR_OK);
    d2 = d;
    assert_int_equal(b->ops->paycode_insert(b, &d2, T0 + 4), ERR_CONFLICT);
    store_close(a);
    store_close(b);
}

/* A database from before migration 25 (the UNIQUE index on the hash)
 * keeps its live codes findable, and new ids go on after them. */
static void codes_written_before_the_migration_are_found(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    char path[600];
    tu_path(path, sizeof path, dir, "kessai.db");
    int before = -1;
    for (int v = 0; v < sq_schema_version; v++)
        if (strstr(sq_migrations[v], "paycodes_new"))
            before = v;
    assert_true(before > 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE schema_version (version INTEGER NOT NULL)", NULL, NULL, NULL),
                     SQLITE_OK);
    for (int v = 0; v < before; v++)
        assert_int_equal(sqlite3_exec(db, sq_migrations[v], NULL, NULL, NULL), SQLITE_OK);
    struct paycode old = code();
    char sql[600];
    snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d);" OWNER_SQL, before);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO paycodes (id, customer_id, device_id, code_hash, created_ms,"
                                        " expires_ms) VALUES (7, 1, 1, ?, ?, ?)",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(q, 1, old.code_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, old.created_ms);
    sqlite3_bind_int64(q, 3, old.expires_ms);
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(db);

    struct store *st = tu_open_store(dir);
    struct paycode got, next = code();
    assert_int_equal(get(st, &old, &got), ERR_OK);
    assert_int_equal(got.id, 7);
    assert_int_equal(st->ops->paycode_insert(st, &next, T0), ERR_OK);
    assert_true(next.id > 7);
    struct paycode dup = old;
    assert_int_equal(st->ops->paycode_insert(st, &dup, T0), ERR_CONFLICT);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_index_finds_every_row_under_its_tag),
        cmocka_unit_test(the_index_forgets_expired_codes_as_it_grows),
        cmocka_unit_test_setup_teardown(a_code_another_process_wrote_is_found, setup, teardown),
        cmocka_unit_test_setup_teardown(a_code_rolled_back_is_never_found_and_hides_no_other, setup, teardown),
        cmocka_unit_test_setup_teardown(a_code_undone_by_its_savepoint_hides_no_other, setup, teardown),
        cmocka_unit_test_setup_teardown(the_newest_code_revoked_takes_no_id_with_it, setup, teardown),
        cmocka_unit_test_setup_teardown(an_older_snapshot_sees_no_newer_code_and_spoils_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(codes_are_read_in_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(no_two_rows_carry_one_hash, setup, teardown),
        cmocka_unit_test(codes_written_before_the_migration_are_found),
    };
    return cmocka_run_group_tests_name("code_index", tests, NULL, NULL);
}
