/* sqlite_staff_session.c: staff sessions and failed staff sign-ins on
 * SQLite (tables staff_sessions, staff_login_failures, migration 11). */
#include "store/sqlite_internal.h"

enum err sq_staff_session_insert(struct store *st, int64_t staff_id, const uint8_t token_hash[32], int64_t now,
                                 int64_t *id)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO staff_sessions (token_hash, staff_id, created_ms, last_seen_ms) "
                                  "VALUES (?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(q, 1, token_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, staff_id);
    sqlite3_bind_int64(q, 3, now);
    sqlite3_bind_int64(q, 4, now);
    return sq_step_insert(db, q, ERR_STAFF_NOT_FOUND, "staff_session_insert", id);
}

static void read_row(sqlite3_stmt *q, void *out)
{
    struct staff_session_row *r = out;
    r->id = sqlite3_column_int64(q, 0);
    r->staff_id = sqlite3_column_int64(q, 1);
    r->created_ms = sqlite3_column_int64(q, 2);
    r->last_seen_ms = sqlite3_column_int64(q, 3);
    r->revoked_ms = sqlite3_column_int64(q, 4);
}

enum err sq_staff_session_find(struct store *st, const uint8_t token_hash[32], struct staff_session_row *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT id, staff_id, created_ms, last_seen_ms, revoked_ms FROM staff_sessions "
                                  "WHERE token_hash = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(q, 1, token_hash, 32, SQLITE_STATIC);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_row, out);
}

static enum err set_time(struct store *st, const char *sql, int64_t id, int64_t now, const char *what)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, sql);
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, id);
    return sq_step_update(db, q, ERR_NOT_FOUND, what);
}

enum err sq_staff_session_seen(struct store *st, int64_t id, int64_t now)
{
    return set_time(st, "UPDATE staff_sessions SET last_seen_ms = max(last_seen_ms, ?) WHERE id = ?", id, now,
                    "staff_session_seen");
}

enum err sq_staff_session_revoke(struct store *st, int64_t id, int64_t now)
{
    return set_time(st, "UPDATE staff_sessions SET revoked_ms = ? WHERE id = ? AND revoked_ms = 0", id, now,
                    "staff_session_revoke");
}

enum err sq_staff_sessions_end(struct store *st, int64_t staff_id, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE staff_sessions SET revoked_ms = ? WHERE staff_id = ? AND revoked_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, staff_id);
    return sq_step_many(db, q, "staff_sessions_end", NULL);
}

enum err sq_staff_failure_add(struct store *st, int64_t staff_id, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO staff_login_failures (staff_id, at_ms) VALUES (?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, staff_id);
    sqlite3_bind_int64(q, 2, now);
    int64_t rowid;
    return sq_step_insert(db, q, ERR_STAFF_NOT_FOUND, "staff_failure_add", &rowid);
}

enum err sq_staff_failure_count(struct store *st, int64_t staff_id, int64_t since, int64_t *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT count(*) FROM staff_login_failures WHERE staff_id = ? AND at_ms >= ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, staff_id);
    sqlite3_bind_int64(q, 2, since);
    return sq_get_one(db, q, ERR_STORE, sq_read_int64, n);
}

enum err sq_staff_failure_clear(struct store *st, int64_t staff_id)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM staff_login_failures WHERE staff_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, staff_id);
    return sq_step_many(db, q, "staff_failure_clear", NULL);
}
