/* sqlite_paycode.c: payment codes on SQLite (tables paycodes, offline_keys
 * and offline_code_uses, migration 7).
 *
 * A one-time code is kept only as its keyed hash, looked up by equality
 * (UNIQUE index); an offline key only sealed.  Consuming is a conditional
 * UPDATE (one-time codes) or an INSERT whose primary key is (device, step)
 * (offline codes): whichever of two concurrent charges commits second
 * changes no row or hits the key, so a code pays at most once on any number
 * of nodes.  Each insert purges what can never match again, so the tables
 * stay as small as the codes alive.
 */
#include <string.h>

#include "store/sqlite_internal.h"

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

enum err sq_paycode_insert(struct store *st, struct paycode *c, int64_t now)
{
    struct sqlite_store *db = sq(st);
    /* Expired codes go in bulk (sq_purge), by the expires_ms index. */
    enum err e = sq_purge(db, SQ_PURGE_PAYCODES, now, "DELETE FROM paycodes WHERE expires_ms <= ?", now,
                          "paycode_purge");
    if (e != ERR_OK)
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
    return sq_step_insert(db, q, ERR_NOT_FOUND, "paycode_insert", &c->id);
}

enum err sq_paycode_get(struct store *st, const uint8_t hash[32], struct paycode *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT id, customer_id, device_id, code_hash, created_ms, expires_ms, used_ms "
                                  "FROM paycodes WHERE code_hash = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(q, 1, hash, 32, SQLITE_STATIC);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_paycode, out);
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
