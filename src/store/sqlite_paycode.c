/* sqlite_paycode.c: payment codes on SQLite (tables paycodes, offline_keys
 * and offline_code_uses, migration 7; paycodes rebuilt by migration 25).
 *
 * A one-time code is kept only as its keyed hash; an offline key only
 * sealed.  Consuming is a conditional UPDATE (one-time codes) or an INSERT
 * whose primary key is (device, step) (offline codes): whichever of two
 * concurrent charges commits second changes no row or hits the key, so a
 * code pays at most once on any number of nodes.  Each insert purges what
 * can never match again, in bulk (sq_purge), so the tables stay as small as
 * the codes alive.
 *
 * Finding a code by its hash.  A UNIQUE index on the hash cost every code a
 * random leaf of its B-tree (a fifth of all pages the WAL wrote in the
 * bench, bench/README.md).  Instead the rows stay in the order written
 * (AUTOINCREMENT: no committed row's id is given again, even after it is
 * deleted, so rows commit in id order)
 * and each process keeps the hashes in memory (code_index.h, shared in
 * struct store_memory): before a lookup, the index reads the rows written
 * after its cursor, by any process, and a lookup then reads the row it
 * names by id and checks the whole hash, so the row stays the truth (spent,
 * expired, revoked, gone).
 *
 * The cursor passes only committed rows, or a row rolled back would be
 * skipped when its id is given again.  A connection's own rows from the
 * first its open transaction inserted (codes_first) may roll back; every
 * row before them is committed: a read transaction sees only committed
 * rows, and a write transaction that has inserted holds the write lock.  So
 * catching up stops at codes_first, and a connection searches its own rows
 * from there by a scan (a group commit's few codes).
 *
 * No two rows may carry one hash (two customers with the same code), which
 * the UNIQUE index guaranteed: an insert first looks the hash up in the
 * index, caught up while this transaction holds the write lock (or before
 * it takes it: SQLite then refuses the write if anyone committed since),
 * and in its own rows, and answers ERR_CONFLICT as the index did.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/code_index.h"
#include "store/sqlite_internal.h"
#include "util/timeutil.h"

static void read_paycode(sqlite3_stmt *q, void *out)
{
    struct paycode *c = out;
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(q, 0);
    c->customer_id = sqlite3_column_int64(q, 1);
    c->device_id = sqlite3_column_int64(q, 2);
    sq_blob(q, 3, c->code_hash, sizeof c->code_hash);
    c->created_ms = sqlite3_column_int64(q, 4);
    c->expires_ms = sqlite3_column_int64(q, 5);
    c->used_ms = sqlite3_column_int64(q, 6);
}

/* Index entries are dropped 10 s after their code expired by this
 * process's clock (the time its latest insert was given, else the wall
 * clock): a lookup's time may lag that a little, and a dropped entry must
 * be of a code no lookup could still take for live.  Never another node's
 * clock, nor the latest time ever seen: a clock ahead, or one stepped
 * back, would drop live codes. */
#define CODES_KEEP_MS (10 * 1000LL)
/* Rows one hash may name in the index: one, unless 64-bit tags collide. */
#define CODES_PER_TAG 8

static uint64_t tag_of(const uint8_t hash[32])
{
    uint64_t t;
    memcpy(&t, hash, sizeof t);
    return t;
}

/* Own rows that may still roll back start here (INT64_MAX: none). */
static int64_t own_first(struct sqlite_store *s)
{
    if (sqlite3_get_autocommit(s->db))
        s->codes_first = 0; /* the transaction ended, however */
    return s->codes_first ? s->codes_first : INT64_MAX;
}

/* Under m->codes_mu: the rows after the cursor and before `below` into the
 * index (*added of them, unless NULL), the cursor past them. */
static enum err catch_up(struct sqlite_store *s, struct store_memory *m, int64_t below, int64_t now, size_t *added)
{
    if (m->codes == NULL) {
        enum err e = code_index_new(&m->codes);
        if (e != ERR_OK)
            return e;
    }
    sqlite3_stmt *q = sq_stmt(s, "SELECT id, code_hash, expires_ms FROM paycodes WHERE id > ? AND id < ? ORDER BY id");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, m->codes_cursor);
    sqlite3_bind_int64(q, 2, below);
    enum err e = ERR_OK;
    int rc = SQLITE_DONE;
    while (e == ERR_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        uint8_t h[32];
        sq_blob(q, 1, h, sizeof h);
        int64_t id = sqlite3_column_int64(q, 0);
        e = code_index_add(m->codes, tag_of(h), id, sqlite3_column_int64(q, 2), now - CODES_KEEP_MS);
        if (e == ERR_OK) {
            m->codes_cursor = id;
            if (added)
                (*added)++;
        }
    }
    sq_done(q);
    if (e == ERR_OK && rc != SQLITE_DONE)
        e = sq_fail(s, "paycode_catch_up");
    return e;
}

#define PAYCODE_COLUMNS "SELECT id, customer_id, device_id, code_hash, created_ms, expires_ms, used_ms FROM paycodes "

/* The row with this hash: by the index, else among this transaction's own
 * rows.  now: an insert's time (0 for a lookup).  ERR_NOT_FOUND. */
static enum err find(struct sqlite_store *s, const uint8_t hash[32], int64_t now, struct paycode *out)
{
    enum err e = sq_memory_ready(s);
    if (e != ERR_OK)
        return e;
    struct store_memory *m = s->mem;
    int64_t first = own_first(s), ids[CODES_PER_TAG];
    size_t n = 0;
    pthread_mutex_lock(&m->codes_mu);
    if (now != 0)
        m->codes_now = now;
    e = catch_up(s, m, first, m->codes_now ? m->codes_now : time_now_ms(), NULL);
    if (e == ERR_OK)
        n = code_index_find(m->codes, tag_of(hash), ids, CODES_PER_TAG);
    pthread_mutex_unlock(&m->codes_mu);
    if (e != ERR_OK)
        return e;
    if (n > CODES_PER_TAG)
        n = CODES_PER_TAG; /* 64-bit tags colliding eight times: not in this universe */
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *q = sq_stmt(s, PAYCODE_COLUMNS "WHERE id = ?");
        if (q == NULL)
            return ERR_STORE;
        sqlite3_bind_int64(q, 1, ids[i]);
        e = sq_get_one(s, q, ERR_NOT_FOUND, read_paycode, out);
        if (e == ERR_OK && sodium_memcmp(out->code_hash, hash, 32) == 0)
            return ERR_OK;
        if (e != ERR_OK && e != ERR_NOT_FOUND)
            return e;
    }
    if (first == INT64_MAX)
        return ERR_NOT_FOUND;
    sqlite3_stmt *q = sq_stmt(s, PAYCODE_COLUMNS "WHERE id >= ? AND code_hash = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, first);
    sqlite3_bind_blob(q, 2, hash, 32, SQLITE_STATIC);
    return sq_get_one(s, q, ERR_NOT_FOUND, read_paycode, out);
}

enum err sq_paycodes_load(struct store *st, int64_t now, size_t *count)
{
    struct sqlite_store *s = sq(st);
    *count = 0;
    enum err e = sq_memory_to_load(s);
    if (e != ERR_OK)
        return e;
    struct store_memory *m = s->mem;
    pthread_mutex_lock(&m->codes_mu);
    m->codes_now = now;
    e = catch_up(s, m, INT64_MAX, now, count);
    pthread_mutex_unlock(&m->codes_mu);
    return e;
}

/* The hash's check and the insert, in the caller's write transaction. */
static enum err insert(struct sqlite_store *db, struct paycode *c, int64_t now)
{
    /* Expired codes go in bulk (sq_purge), by the expires_ms index. */
    enum err e = sq_purge(db, SQ_PURGE_PAYCODES, now, "DELETE FROM paycodes WHERE expires_ms <= ?", now,
                          "paycode_purge");
    if (e != ERR_OK)
        return e;
    struct paycode same;
    e = find(db, c->code_hash, now, &same);
    if (e == ERR_OK)
        return ERR_CONFLICT;
    if (e != ERR_NOT_FOUND)
        return e;
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO paycodes (customer_id, device_id, code_hash, created_ms, expires_ms, used_ms) "
                    "VALUES (?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, c->customer_id);
    sqlite3_bind_int64(q, 2, c->device_id);
    sqlite3_bind_blob(q, 3, c->code_hash, sizeof c->code_hash, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, c->created_ms);
    sqlite3_bind_int64(q, 5, c->expires_ms);
    sqlite3_bind_int64(q, 6, c->used_ms);
    e = sq_step_insert(db, q, ERR_NOT_FOUND, "paycode_insert", &c->id);
    if (e == ERR_OK && db->codes_first == 0)
        db->codes_first = c->id;
    return e;
}

/* Outside a write transaction (a tool, a test) in one of its own: the check
 * and the insert must not have another process's insert between them. */
enum err sq_paycode_insert(struct store *st, struct paycode *c, int64_t now)
{
    struct sqlite_store *db = sq(st);
    if (!sq_writing(db)) {
        enum err e = st->ops->begin(st);
        if (e == ERR_OK)
            e = insert(db, c, now);
        if (e == ERR_OK)
            e = st->ops->commit(st);
        if (e != ERR_OK)
            st->ops->rollback(st);
        return e;
    }
    return insert(db, c, now);
}

enum err sq_paycode_get(struct store *st, const uint8_t hash[32], struct paycode *out)
{
    return find(sq(st), hash, 0, out);
}

enum err sq_paycode_use(struct store *st, int64_t id, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE paycodes SET used_ms = ? WHERE id = ? AND used_ms = 0 AND expires_ms > ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, id);
    sqlite3_bind_int64(q, 3, now);
    return sq_step_update(db, q, ERR_NOT_FOUND, "paycode_use");
}

static void read_offline_key(sqlite3_stmt *q, void *out)
{
    struct offline_key *k = out;
    memset(k, 0, sizeof *k);
    k->device_id = sqlite3_column_int64(q, 0);
    k->customer_id = sqlite3_column_int64(q, 1);
    k->offline_id = sqlite3_column_int64(q, 2);
    sq_blob(q, 3, k->key_sealed, sizeof k->key_sealed);
    k->created_ms = sqlite3_column_int64(q, 4);
    k->revoked_ms = sqlite3_column_int64(q, 5);
}

enum err sq_offline_key_put(struct store *st, const struct offline_key *k)
{
    struct sqlite_store *db = sq(st);
    /* An upsert on the device, never INSERT OR REPLACE: REPLACE would also
     * delete another device's row whose offline_id the new one collides
     * with, where the caller needs ERR_CONFLICT to draw another id. */
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO offline_keys (device_id, customer_id, offline_id, key_sealed, "
                                  "created_ms, revoked_ms) VALUES (?, ?, ?, ?, ?, ?) "
                                  "ON CONFLICT (device_id) DO UPDATE SET customer_id = excluded.customer_id, "
                                  "offline_id = excluded.offline_id, key_sealed = excluded.key_sealed, "
                                  "created_ms = excluded.created_ms, revoked_ms = excluded.revoked_ms");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, k->device_id);
    sqlite3_bind_int64(q, 2, k->customer_id);
    sqlite3_bind_int64(q, 3, k->offline_id);
    sqlite3_bind_blob(q, 4, k->key_sealed, sizeof k->key_sealed, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, k->created_ms);
    sqlite3_bind_int64(q, 6, k->revoked_ms);
    int64_t rowid;
    return sq_step_insert(db, q, ERR_NOT_FOUND, "offline_key_put", &rowid);
}

enum err sq_offline_key_get(struct store *st, int64_t offline_id, struct offline_key *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT device_id, customer_id, offline_id, key_sealed, created_ms, revoked_ms "
                                  "FROM offline_keys WHERE offline_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, offline_id);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_offline_key, out);
}

/* Two statements of the caller's transaction.  Keys by device (primary
 * key) or customer (index); codes by a scan: the table holds only the last
 * minute's codes, and an index would slow every code issued for the sake
 * of the rare revocation. */
enum err sq_paycodes_revoke(struct store *st, int64_t customer_id, int64_t device_id, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, device_id != 0 ? "UPDATE offline_keys SET revoked_ms = ?1 WHERE device_id = ?3 "
                                                   "AND customer_id = ?2 AND revoked_ms = 0"
                                                 : "UPDATE offline_keys SET revoked_ms = ?1 WHERE customer_id = ?2 "
                                                   "AND revoked_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, customer_id);
    if (device_id != 0)
        sqlite3_bind_int64(q, 3, device_id);
    enum err e = sq_step_many(db, q, "offline_key_revoke", NULL);
    if (e != ERR_OK)
        return e;
    q = sq_stmt(db, "DELETE FROM paycodes WHERE customer_id = ?1 AND (?2 = 0 OR device_id = ?2) AND used_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_int64(q, 2, device_id);
    return sq_step_many(db, q, "paycodes_revoke", NULL);
}

enum err sq_offline_use_insert(struct store *st, int64_t device_id, int64_t offline_id, int64_t step, int64_t now,
                               int64_t purge_before)
{
    struct sqlite_store *db = sq(st);
    /* No index on at_ms: the table holds only the last few minutes of
     * offline payments, and offline payments are the rare case. */
    enum err e = sq_purge(db, SQ_PURGE_OFFLINE_USES, now, "DELETE FROM offline_code_uses WHERE at_ms < ?",
                          purge_before, "offline_use_purge");
    if (e != ERR_OK)
        return e;
    /* Only while the key that made the code lives: one revoked or replaced
     * after the code was resolved (its device removed, its sessions ended)
     * must not pay in this commit. */
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO offline_code_uses (device_id, step, at_ms) SELECT ?1, ?2, ?3 "
                                  "WHERE EXISTS (SELECT 1 FROM offline_keys WHERE device_id = ?1 "
                                  "AND offline_id = ?4 AND revoked_ms = 0)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, device_id);
    sqlite3_bind_int64(q, 2, step);
    sqlite3_bind_int64(q, 3, now);
    sqlite3_bind_int64(q, 4, offline_id);
    int64_t rowid;
    e = sq_step_insert(db, q, ERR_CONFLICT, "offline_use_insert", &rowid);
    return e == ERR_OK && sqlite3_changes(db->db) == 0 ? ERR_NOT_FOUND : e;
}
