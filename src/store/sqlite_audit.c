/* sqlite_audit.c: the audit log on SQLite: table security_events, its MAC
 * chain and its searches (store.h; the format is util/audit_mac.h, the
 * design docs/audit-log.md).
 *
 * Invariants:
 *  1. Every entry is appended by ONE INSERT statement that computes its id
 *     (the last id + 1), reads the last entry's hash and computes the new
 *     entry's MAC (kessai_audit_mac, a SQL function of this connection).
 *     SQLite runs a writing statement under the database's write lock, so
 *     appends from any connection, thread or process, inside a transaction
 *     or not, are ordered: ids have no gaps and every prev_hash is the hash
 *     of the entry before.  (Reading the last hash in C and inserting after
 *     would let two connections chain onto the same entry.)
 *  2. No entry is appended without the key: the op refuses with
 *     ERR_INTERNAL, and the SQL function raises an error of its own.
 *  3. Entries are never updated, with one exception: the entries written
 *     before migration 10 get their prev_hash and hash when the operator
 *     says so (`kessai audit backfill`, sq_audit_backfill), in one
 *     IMMEDIATE transaction that deletes migration 10's marker row
 *     (audit_backfill) and appends an "audit_chain_started" entry, so it
 *     happens once per database and leaves a trace in the chain itself.
 *     Until then no connection given the key opens (ERR_AUDIT_UNCHAINED):
 *     nothing is appended onto unchained entries.
 *
 * Searches pick the statement whose WHERE leads with the most selective
 * filter given (customer, actor, kind, time), so SQLite walks that index
 * (migration 10); the other filters are checked on the rows it finds, and
 * "+at_ms" keeps the time index out of the plans that have a better one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "store/sqlite_internal.h"
#include "util/log.h"
#include "util/timeutil.h"

#define EVENT_COLS "id, at_ms, customer_id, kind, outcome, client_addr, device_id, detail, actor, prev_hash, hash"
#define BACKFILL_PAGE 64

/* A hash column: copy at most AUDIT_MAC_BYTES, return the stored length. */
static size_t read_hash(sqlite3_stmt *q, int col, uint8_t out[AUDIT_MAC_BYTES])
{
    memset(out, 0, AUDIT_MAC_BYTES);
    const void *b = sqlite3_column_blob(q, col);
    size_t len = b ? (size_t)sqlite3_column_bytes(q, col) : 0;
    if (len)
        memcpy(out, b, len < AUDIT_MAC_BYTES ? len : AUDIT_MAC_BYTES);
    return len;
}

/* Whether column col reads back whole into a field of n bytes: no NUL
 * inside, and short enough. */
static bool text_exact(sqlite3_stmt *q, int col, size_t n)
{
    const char *t = (const char *)sqlite3_column_text(q, col);
    size_t len = t ? (size_t)sqlite3_column_bytes(q, col) : 0;
    return len < n && (t == NULL || strlen(t) == len);
}

/* Whether every column is stored as the type kessai writes: a value
 * retyped in place (a kind as a BLOB of the same bytes, a customer id as
 * 7.25) reads back the same, so the MAC matches, yet no search finds it. */
static bool typed(sqlite3_stmt *q)
{
    static const int integers[] = {0, 1, 2, 6}, texts[] = {3, 4, 5, 7, 8};
    for (size_t i = 0; i < sizeof integers / sizeof integers[0]; i++)
        if (sqlite3_column_type(q, integers[i]) != SQLITE_INTEGER)
            return false;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (sqlite3_column_type(q, texts[i]) != SQLITE_TEXT)
            return false;
    return true;
}

static void read_event(sqlite3_stmt *q, void *out)
{
    struct security_event *e = out;
    memset(e, 0, sizeof *e);
    e->text_inexact = !typed(q) || !text_exact(q, 3, sizeof e->kind) || !text_exact(q, 4, sizeof e->outcome) ||
                      !text_exact(q, 5, sizeof e->client_addr) || !text_exact(q, 7, sizeof e->detail) ||
                      !text_exact(q, 8, sizeof e->actor);
    e->id = sqlite3_column_int64(q, 0);
    e->at_ms = sqlite3_column_int64(q, 1);
    e->customer_id = sqlite3_column_int64(q, 2);
    sq_text(q, 3, e->kind, sizeof e->kind);
    sq_text(q, 4, e->outcome, sizeof e->outcome);
    sq_text(q, 5, e->client_addr, sizeof e->client_addr);
    e->device_id = sqlite3_column_int64(q, 6);
    sq_text(q, 7, e->detail, sizeof e->detail);
    sq_text(q, 8, e->actor, sizeof e->actor);
    e->prev_hash_len = read_hash(q, 9, e->prev_hash);
    e->hash_len = read_hash(q, 10, e->hash);
}

/* ---- kessai_audit_mac(prev_hash, id, at_ms, actor, customer_id, kind,
 *      outcome, client_addr, device_id, detail) ---------------------------- */

static struct audit_bytes arg_bytes(sqlite3_value *v)
{
    const void *p = sqlite3_value_type(v) == SQLITE_BLOB ? sqlite3_value_blob(v) : (const void *)sqlite3_value_text(v);
    return (struct audit_bytes){p, p ? (size_t)sqlite3_value_bytes(v) : 0};
}

static void mac_fn(sqlite3_context *c, int argc, sqlite3_value **v)
{
    struct sqlite_store *s = sqlite3_user_data(c);
    if (argc != 10 || !s->audit_key_set) {
        sqlite3_result_error(c, "kessai_audit_mac: this connection has no audit key", -1);
        return;
    }
    struct audit_mac_input in = {
        .prev_hash = sqlite3_value_type(v[0]) == SQLITE_NULL ? (struct audit_bytes){NULL, 0} : arg_bytes(v[0]),
        .id = sqlite3_value_int64(v[1]),
        .at_ms = sqlite3_value_int64(v[2]),
        .actor = arg_bytes(v[3]),
        .customer_id = sqlite3_value_int64(v[4]),
        .kind = arg_bytes(v[5]),
        .outcome = arg_bytes(v[6]),
        .client_addr = arg_bytes(v[7]),
        .device_id = sqlite3_value_int64(v[8]),
        .detail = arg_bytes(v[9]),
    };
    uint8_t out[AUDIT_MAC_BYTES];
    audit_mac(s->audit_key, &in, out);
    sqlite3_result_blob(c, out, sizeof out, SQLITE_TRANSIENT);
}

enum err sq_audit_register(struct sqlite_store *s)
{
    /* DIRECTONLY: callable from this program's own statements only, never
     * from a trigger or view someone slipped into the database file. */
    int rc = sqlite3_create_function_v2(s->db, "kessai_audit_mac", 10,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, s, mac_fn, NULL, NULL,
                                        NULL);
    return rc == SQLITE_OK ? ERR_OK : sq_fail(s, "audit_register");
}

/* ---- appending ------------------------------------------------------------ */

enum err sq_security_event_insert(struct store *st, struct security_event *e)
{
    struct sqlite_store *db = sq(st);
    if (!db->audit_key_set) {
        /* A programming error (a connection opened without audit_key_set),
         * never a reason to write an entry outside the chain. */
        log_event(LOG_ERROR, "audit_no_key", json_pack("{s:s}", "kind", e->kind));
        return ERR_INTERNAL;
    }
    /* Invariant 1: the last entry (if any) joined to a one-row table, so
     * that the first entry gets id 1 and a NULL prev_hash. */
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO security_events (id, at_ms, customer_id, kind, outcome, client_addr, "
                                  "device_id, detail, actor, prev_hash, hash) "
                                  "SELECT coalesce(l.id, 0) + 1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, l.hash, "
                                  "kessai_audit_mac(l.hash, coalesce(l.id, 0) + 1, ?1, ?8, ?2, ?3, ?4, ?5, ?6, ?7) "
                                  "FROM (SELECT 1) LEFT JOIN "
                                  "(SELECT id, hash FROM security_events ORDER BY id DESC LIMIT 1) AS l "
                                  "RETURNING id, prev_hash, hash");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, e->at_ms);
    sqlite3_bind_int64(q, 2, e->customer_id);
    sqlite3_bind_text(q, 3, e->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, e->outcome, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, e->client_addr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, e->device_id);
    sqlite3_bind_text(q, 7, e->detail, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 8, e->actor, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    bool written = rc == SQLITE_ROW;
    if (written) {
        e->id = sqlite3_column_int64(q, 0);
        e->prev_hash_len = read_hash(q, 1, e->prev_hash);
        e->hash_len = read_hash(q, 2, e->hash);
        rc = sqlite3_step(q);
    }
    enum err err = rc == SQLITE_DONE ? ERR_OK : sq_fail(db, "security_event_insert");
    sq_done(q);
    if (err == ERR_OK && !written) {
        /* Done without a row: something in the file (a trigger) threw the
         * entry away.  The change it records must not commit without it. */
        log_event(LOG_ERROR, "audit_entry_not_written", json_pack("{s:s}", "kind", e->kind));
        err = ERR_INTERNAL;
    }
    return err;
}

static void read_foreign(sqlite3_stmt *q, void *out)
{
    struct {
        char *first;
        size_t n;
        int64_t count;
    } *f = out;
    f->count = sqlite3_column_int64(q, 0);
    sq_text(q, 1, f->first, f->n);
}

enum err sq_schema_foreign(struct store *st, char *first, size_t n, int64_t *count)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT count(*), coalesce(min(name), '') FROM sqlite_master "
                                  "WHERE type IN ('trigger', 'view')");
    if (q == NULL)
        return ERR_STORE;
    struct {
        char *first;
        size_t n;
        int64_t count;
    } f = {first, n, 0};
    enum err e = sq_get_one(db, q, ERR_STORE, read_foreign, &f);
    *count = f.count;
    return e;
}

/* ---- the key, and chaining the entries older than the chain ---------------- */

static enum err chain_legacy(struct sqlite_store *s, int64_t upto, int64_t *n)
{
    struct security_event *page = calloc(BACKFILL_PAGE, sizeof *page);
    if (page == NULL)
        return ERR_NOMEM;
    uint8_t prev[AUDIT_MAC_BYTES];
    size_t prev_len = 0;
    int64_t after = 0;
    enum err e = ERR_OK;
    *n = 0;
    for (;;) {
        size_t got = 0;
        sqlite3_stmt *q = sq_stmt(s, "SELECT " EVENT_COLS " FROM security_events WHERE id > ? AND id <= ? "
                                     "ORDER BY id LIMIT ?");
        if (q == NULL) {
            e = ERR_STORE;
            break;
        }
        sqlite3_bind_int64(q, 1, after);
        sqlite3_bind_int64(q, 2, upto);
        sqlite3_bind_int64(q, 3, BACKFILL_PAGE);
        if ((e = sq_get_many(s, q, read_event, page, sizeof *page, BACKFILL_PAGE, &got)) != ERR_OK || got == 0)
            break;
        for (size_t i = 0; e == ERR_OK && i < got; i++) {
            struct security_event *r = &page[i];
            struct audit_mac_input in = {
                .prev_hash = {prev, prev_len},
                .id = r->id,
                .at_ms = r->at_ms,
                .actor = audit_str(r->actor),
                .customer_id = r->customer_id,
                .kind = audit_str(r->kind),
                .outcome = audit_str(r->outcome),
                .client_addr = audit_str(r->client_addr),
                .device_id = r->device_id,
                .detail = audit_str(r->detail),
            };
            uint8_t h[AUDIT_MAC_BYTES];
            audit_mac(s->audit_key, &in, h);
            sqlite3_stmt *u = sq_stmt(s, "UPDATE security_events SET prev_hash = ?, hash = ? WHERE id = ?");
            if (u == NULL) {
                e = ERR_STORE;
                break;
            }
            if (prev_len)
                sqlite3_bind_blob(u, 1, prev, (int)prev_len, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(u, 1);
            sqlite3_bind_blob(u, 2, h, sizeof h, SQLITE_TRANSIENT);
            sqlite3_bind_int64(u, 3, r->id);
            e = sq_step_update(s, u, ERR_STORE, "audit_backfill");
            memcpy(prev, h, sizeof h);
            prev_len = sizeof h;
            after = r->id;
            ++*n;
        }
        if (e != ERR_OK || got < BACKFILL_PAGE)
            break;
    }
    sodium_memzero(page, BACKFILL_PAGE * sizeof *page);
    free(page);
    return e;
}

static void set_key(struct sqlite_store *s, const uint8_t key[AUDIT_KEY_BYTES])
{
    memcpy(s->audit_key, key, AUDIT_KEY_BYTES);
    s->audit_key_set = true;
}

/* Whether migration 10's marker is there (ERR_OK, *upto set), or not
 * (ERR_NOT_FOUND). */
static enum err marker(struct sqlite_store *s, int64_t *upto)
{
    sqlite3_stmt *q = sq_stmt(s, "SELECT upto FROM audit_backfill");
    return q ? sq_get_one(s, q, ERR_NOT_FOUND, sq_read_int64, upto) : ERR_STORE;
}

/* Invariant 3, by the operator's command only: chaining signs whatever the
 * rows say when it runs, so it never happens as a side effect of opening
 * the database (a log rewritten without the key, the marker put back,
 * would be signed by the next kessaid to start). */
enum err sq_audit_backfill(struct store *st, const uint8_t key[AUDIT_KEY_BYTES], int64_t *legacy)
{
    struct sqlite_store *s = sq(st);
    set_key(s, key);
    *legacy = 0;
    enum err e = st->ops->begin(st);
    if (e != ERR_OK)
        return e;
    int64_t upto = 0;
    if ((e = marker(s, &upto)) == ERR_OK) {
        /* Entries with a hash mean the chain has begun: chaining again
         * would sign whatever the rows say now.  The marker was put back:
         * it goes, and nothing is signed. */
        sqlite3_stmt *q = sq_stmt(s, "SELECT count(*) FROM security_events WHERE hash IS NOT NULL");
        int64_t hashed = 0;
        e = q ? sq_get_one(s, q, ERR_STORE, sq_read_int64, &hashed) : ERR_STORE;
        if (e == ERR_OK && hashed > 0)
            log_event(LOG_ERROR, "audit_backfill_refused",
                      json_pack("{s:I, s:I}", "upto", (json_int_t)upto, "chained_entries", (json_int_t)hashed));
        else if (e == ERR_OK)
            e = chain_legacy(s, upto, legacy);
        if (e == ERR_OK) {
            q = sq_stmt(s, "DELETE FROM audit_backfill");
            e = q ? sq_step_many(s, q, "audit_backfill", NULL) : ERR_STORE;
        }
        if (e == ERR_OK && hashed == 0) {
            struct security_event ev;
            memset(&ev, 0, sizeof ev);
            ev.at_ms = time_now_ms();
            snprintf(ev.kind, sizeof ev.kind, "audit_chain_started");
            snprintf(ev.outcome, sizeof ev.outcome, "success");
            snprintf(ev.actor, sizeof ev.actor, "system");
            snprintf(ev.detail, sizeof ev.detail, "{\"legacy_entries\":%lld}", (long long)*legacy);
            e = sq_security_event_insert(st, &ev);
        }
        if (e == ERR_OK && hashed > 0)
            e = ERR_CONFLICT;
    }
    enum err c = e == ERR_OK || e == ERR_CONFLICT ? st->ops->commit(st) : ERR_OK;
    if (c != ERR_OK || (e != ERR_OK && e != ERR_CONFLICT)) {
        st->ops->rollback(st);
        return c != ERR_OK ? c : e;
    }
    if (e == ERR_OK)
        log_event(LOG_INFO, "audit_backfilled", json_pack("{s:I}", "legacy_entries", (json_int_t)*legacy));
    return e;
}

enum err sq_audit_key_set(struct store *st, const uint8_t key[AUDIT_KEY_BYTES])
{
    struct sqlite_store *s = sq(st);
    set_key(s, key);
    int64_t upto = 0;
    enum err e = marker(s, &upto);
    if (e == ERR_NOT_FOUND)
        return ERR_OK;
    if (e == ERR_OK) {
        log_event(LOG_ERROR, "audit_backfill_pending", json_pack("{s:I}", "upto", (json_int_t)upto));
        e = ERR_AUDIT_UNCHAINED;
    }
    return e;
}

/* ---- reading --------------------------------------------------------------- */

enum err sq_security_event_list(struct store *st, int64_t customer_id, int64_t after_id, size_t max,
                                struct security_event *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " EVENT_COLS " FROM security_events WHERE (? = 0 OR customer_id = ?) "
                                  "AND id > ? ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_int64(q, 2, customer_id);
    sqlite3_bind_int64(q, 3, after_id);
    sqlite3_bind_int64(q, 4, sq_limit(max));
    return sq_get_many(db, q, read_event, out, sizeof *out, max, n);
}

/* Every filter, in a form no index serves (see the top of the file). */
#define SEARCH_REST                                                                                          \
    " AND +at_ms >= ?4 AND +at_ms < ?5 AND id < ?6 AND (?1 = 0 OR customer_id = ?1)"                       \
    " AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR kind = ?3) ORDER BY id DESC LIMIT ?7"

static const char *const search_sql[] = {
    "SELECT " EVENT_COLS " FROM security_events WHERE customer_id = ?1" SEARCH_REST,
    "SELECT " EVENT_COLS " FROM security_events WHERE actor = ?2" SEARCH_REST,
    "SELECT " EVENT_COLS " FROM security_events WHERE kind = ?3" SEARCH_REST,
    "SELECT " EVENT_COLS " FROM security_events WHERE at_ms >= ?4 AND at_ms < ?5" SEARCH_REST,
    "SELECT " EVENT_COLS " FROM security_events WHERE 1" SEARCH_REST,
};

enum err sq_security_event_search(struct store *st, const struct security_event_filter *f, int64_t before_id,
                                  size_t max, struct security_event *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    bool actor = f->actor && f->actor[0], kind = f->kind && f->kind[0];
    size_t which = f->customer_id ? 0 : actor ? 1 : kind ? 2 : (f->since_ms || f->until_ms) ? 3 : 4;
    sqlite3_stmt *q = sq_stmt(db, search_sql[which]);
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, f->customer_id);
    if (actor)
        sqlite3_bind_text(q, 2, f->actor, -1, SQLITE_STATIC);
    if (kind)
        sqlite3_bind_text(q, 3, f->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, f->since_ms ? f->since_ms : INT64_MIN);
    sqlite3_bind_int64(q, 5, f->until_ms ? f->until_ms : INT64_MAX);
    sqlite3_bind_int64(q, 6, before_id > 0 ? before_id : INT64_MAX);
    sqlite3_bind_int64(q, 7, sq_limit(max));
    return sq_get_many(db, q, read_event, out, sizeof *out, max, n);
}
