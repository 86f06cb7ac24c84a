/* sqlite_session.c: sessions, login challenges, reset tokens and login
 * throttling state on SQLite. */
#include <string.h>

#include "store/sqlite_internal.h"

#define SESSION_COLS                                                                                    \
    "s.id, s.customer_id, s.device_id, s.token_hash, s.scope, s.created_ms, s.last_seen_ms, s.absolute_ms, " \
    "s.mfa_at_ms, s.mfa_failures, s.revoked_ms, d.name"
#define SESSION_FROM " FROM sessions s JOIN devices d ON d.id = s.device_id "

static void read_session(sqlite3_stmt *q, void *out)
{
    struct customer_session *s = out;
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(q, 0);
    s->customer_id = sqlite3_column_int64(q, 1);
    s->device_id = sqlite3_column_int64(q, 2);
    sq_blob(q, 3, s->token_hash, sizeof s->token_hash);
    s->scope = sqlite3_column_int(q, 4);
    s->created_ms = sqlite3_column_int64(q, 5);
    s->last_seen_ms = sqlite3_column_int64(q, 6);
    s->absolute_ms = sqlite3_column_int64(q, 7);
    s->mfa_at_ms = sqlite3_column_int64(q, 8);
    s->mfa_failures = sqlite3_column_int(q, 9);
    s->revoked_ms = sqlite3_column_int64(q, 10);
    sq_text(q, 11, s->device_name, sizeof s->device_name);
}

enum err sq_session_insert(struct store *st, struct customer_session *s)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO sessions (customer_id, device_id, token_hash, scope, created_ms, "
                                  "last_seen_ms, absolute_ms, mfa_at_ms, mfa_failures, revoked_ms) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, s->customer_id);
    sqlite3_bind_int64(q, 2, s->device_id);
    sqlite3_bind_blob(q, 3, s->token_hash, sizeof s->token_hash, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, s->scope);
    sqlite3_bind_int64(q, 5, s->created_ms);
    sqlite3_bind_int64(q, 6, s->last_seen_ms);
    sqlite3_bind_int64(q, 7, s->absolute_ms);
    sqlite3_bind_int64(q, 8, s->mfa_at_ms);
    sqlite3_bind_int(q, 9, s->mfa_failures);
    sqlite3_bind_int64(q, 10, s->revoked_ms);
    return sq_step_insert(db, q, ERR_NOT_FOUND, "session_insert", &s->id);
}

enum err sq_session_get(struct store *st, int64_t id, struct customer_session *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " SESSION_COLS SESSION_FROM "WHERE s.id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_session, out);
}

static void read_flag(sqlite3_stmt *q, void *out) { *(bool *)out = sqlite3_column_int(q, 0) != 0; }

enum err sq_session_unrevoked(struct store *st, int64_t id, int64_t customer_id, int64_t now_ms, bool *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q =
        sq_stmt(db, "SELECT revoked_ms = 0 AND customer_id = ? AND absolute_ms > ? FROM sessions WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_int64(q, 2, now_ms);
    sqlite3_bind_int64(q, 3, id);
    *out = false;
    enum err e = sq_get_one(db, q, ERR_NOT_FOUND, read_flag, out);
    return e == ERR_NOT_FOUND ? ERR_OK : e;
}

enum err sq_session_get_by_token(struct store *st, const uint8_t token_hash[AUTH_HASH_BYTES],
                                 struct customer_session *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " SESSION_COLS SESSION_FROM "WHERE s.token_hash = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(q, 1, token_hash, AUTH_HASH_BYTES, SQLITE_STATIC);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_session, out);
}

enum err sq_session_update(struct store *st, const struct customer_session *s)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE sessions SET scope = ?, last_seen_ms = ?, mfa_at_ms = ?, mfa_failures = ?, "
                                  "revoked_ms = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, s->scope);
    sqlite3_bind_int64(q, 2, s->last_seen_ms);
    sqlite3_bind_int64(q, 3, s->mfa_at_ms);
    sqlite3_bind_int(q, 4, s->mfa_failures);
    sqlite3_bind_int64(q, 5, s->revoked_ms);
    sqlite3_bind_int64(q, 6, s->id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "session_update");
}

enum err sq_session_seen(struct store *st, int64_t id, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE sessions SET last_seen_ms = max(last_seen_ms, ?) WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, id);
    return sq_step_many(db, q, "session_seen", NULL);
}

enum err sq_session_list_live(struct store *st, int64_t customer_id, int64_t now, int64_t seen_after, size_t max,
                              struct customer_session *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " SESSION_COLS SESSION_FROM
                                  "WHERE s.customer_id = ? AND s.revoked_ms = 0 AND s.absolute_ms > ? "
                                  "AND s.last_seen_ms > ? ORDER BY s.id DESC LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_int64(q, 2, now);
    sqlite3_bind_int64(q, 3, seen_after);
    sqlite3_bind_int64(q, 4, sq_limit(max));
    return sq_get_many(db, q, read_session, out, sizeof *out, max, n);
}

enum err sq_session_revoke_many(struct store *st, int64_t customer_id, int64_t device_id, int64_t except_id,
                                int64_t now, int *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE sessions SET revoked_ms = ? WHERE customer_id = ? AND revoked_ms = 0 "
                                  "AND (? = 0 OR device_id = ?) AND id != ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now > 0 ? now : 1);
    sqlite3_bind_int64(q, 2, customer_id);
    sqlite3_bind_int64(q, 3, device_id);
    sqlite3_bind_int64(q, 4, device_id);
    sqlite3_bind_int64(q, 5, except_id);
    return sq_step_many(db, q, "session_revoke_many", n);
}

/* ---- login challenges ---- */

enum err sq_challenge_insert(struct store *st, const uint8_t hash[AUTH_HASH_BYTES], int64_t expires_ms, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM login_challenges WHERE expires_ms <= ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    enum err e = sq_step_many(db, q, "challenge_purge", NULL);
    if (e != ERR_OK)
        return e;
    q = sq_stmt(db, "INSERT INTO login_challenges (challenge_hash, expires_ms) VALUES (?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(q, 1, hash, AUTH_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, expires_ms);
    int64_t id = 0;
    return sq_step_insert(db, q, ERR_CONFLICT, "challenge_insert", &id);
}

enum err sq_challenge_consume(struct store *st, const uint8_t hash[AUTH_HASH_BYTES], int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM login_challenges WHERE challenge_hash = ? RETURNING expires_ms");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(q, 1, hash, AUTH_HASH_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    int64_t expires = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    /* Run RETURNING to completion so the DELETE takes effect. */
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(q);
    sq_done(q);
    if (rc != SQLITE_DONE)
        return sq_fail(db, "challenge_consume");
    return expires > now ? ERR_OK : ERR_NOT_FOUND;
}

/* ---- reset tokens ---- */

static void read_reset(sqlite3_stmt *q, void *out)
{
    struct reset_token *t = out;
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(q, 0);
    t->customer_id = sqlite3_column_int64(q, 1);
    sq_blob(q, 2, t->token_hash, sizeof t->token_hash);
    t->created_ms = sqlite3_column_int64(q, 3);
    t->expires_ms = sqlite3_column_int64(q, 4);
    t->used_ms = sqlite3_column_int64(q, 5);
    t->tries = sqlite3_column_int(q, 6);
}

enum err sq_reset_token_insert(struct store *st, struct reset_token *t)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM reset_tokens WHERE customer_id = ? AND used_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, t->customer_id);
    enum err e = sq_step_many(db, q, "reset_token_void", NULL);
    if (e != ERR_OK)
        return e;
    q = sq_stmt(db, "INSERT INTO reset_tokens (customer_id, token_hash, created_ms, expires_ms, used_ms, tries) "
                    "VALUES (?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, t->customer_id);
    sqlite3_bind_blob(q, 2, t->token_hash, sizeof t->token_hash, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, t->created_ms);
    sqlite3_bind_int64(q, 4, t->expires_ms);
    sqlite3_bind_int64(q, 5, t->used_ms);
    sqlite3_bind_int(q, 6, t->tries);
    return sq_step_insert(db, q, ERR_NOT_FOUND, "reset_token_insert", &t->id);
}

enum err sq_reset_token_get(struct store *st, const uint8_t hash[AUTH_HASH_BYTES], struct reset_token *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT id, customer_id, token_hash, created_ms, expires_ms, used_ms, tries "
                                  "FROM reset_tokens WHERE token_hash = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(q, 1, hash, AUTH_HASH_BYTES, SQLITE_STATIC);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_reset, out);
}

enum err sq_reset_token_update(struct store *st, const struct reset_token *t)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE reset_tokens SET used_ms = ?, tries = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, t->used_ms);
    sqlite3_bind_int(q, 2, t->tries);
    sqlite3_bind_int64(q, 3, t->id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "reset_token_update");
}

enum err sq_reset_tokens_void(struct store *st, int64_t customer_id)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM reset_tokens WHERE customer_id = ? AND used_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    return sq_step_many(db, q, "reset_tokens_void", NULL);
}

/* ---- failed logins and source blocks ---- */

enum err sq_auth_failure_insert(struct store *st, int kind, const char *source,
                                const uint8_t email_hash[AUTH_HASH_BYTES], int64_t now, int64_t purge_before)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM auth_failures WHERE at_ms < ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, purge_before);
    enum err e = sq_step_many(db, q, "auth_failure_purge", NULL);
    if (e != ERR_OK)
        return e;
    q = sq_stmt(db, "INSERT INTO auth_failures (source_kind, source, email_hash, at_ms) VALUES (?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, kind);
    sqlite3_bind_text(q, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, email_hash, AUTH_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, now);
    int64_t id = 0;
    return sq_step_insert(db, q, ERR_STORE, "auth_failure_insert", &id);
}


enum err sq_auth_failure_distinct(struct store *st, int kind, const char *source, int64_t since_ms, int *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT count(DISTINCT email_hash) FROM auth_failures "
                                  "WHERE source_kind = ? AND source = ? AND at_ms >= ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, kind);
    sqlite3_bind_text(q, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, since_ms);
    return sq_get_one(db, q, ERR_STORE, sq_read_int, n);
}

enum err sq_source_block_put(struct store *st, int kind, const char *source, int64_t until_ms)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO source_blocks (source_kind, source, until_ms) VALUES (?, ?, ?) "
                                  "ON CONFLICT (source_kind, source) DO UPDATE SET until_ms = excluded.until_ms");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, kind);
    sqlite3_bind_text(q, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, until_ms);
    return sq_step_many(db, q, "source_block_put", NULL);
}

enum err sq_source_block_get(struct store *st, int kind, const char *source, int64_t *until_ms)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT until_ms FROM source_blocks WHERE source_kind = ? AND source = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, kind);
    sqlite3_bind_text(q, 2, source, -1, SQLITE_STATIC);
    return sq_get_one(db, q, ERR_NOT_FOUND, sq_read_int64, until_ms);
}
