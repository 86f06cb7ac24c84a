/* gateway_test_db.c: the test processor's vault in SQLite (gateway_test_db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/log.h"
#include "wallet/gateway_test_db.h"

#define STMT_CACHE 24

struct gtdb {
    sqlite3 *db;
    /* Prepared once, found again by the address of their SQL text (every
     * statement is a string literal in this file). */
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[STMT_CACHE];
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS tokens ("
    " token TEXT PRIMARY KEY, behaviour TEXT NOT NULL, brand TEXT NOT NULL, last4 TEXT NOT NULL,"
    " exp_month INTEGER NOT NULL, exp_year INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
    " card_key BLOB);"
    "CREATE TABLE IF NOT EXISTS challenges ("
    " ref TEXT PRIMARY KEY, token TEXT NOT NULL, auth_ref TEXT NOT NULL, salt BLOB NOT NULL,"
    " code_hash BLOB NOT NULL, wrong INTEGER NOT NULL, state INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, email TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS holders ("
    " card_key BLOB PRIMARY KEY, email TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS authorizations ("
    " ref TEXT PRIMARY KEY, idem_key TEXT NOT NULL UNIQUE, token TEXT NOT NULL, amount INTEGER NOT NULL,"
    " status TEXT NOT NULL, decline TEXT NOT NULL, challenge_ref TEXT NOT NULL,"
    " captured INTEGER NOT NULL, refunded INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS refunds ("
    " idem_key TEXT PRIMARY KEY, auth_ref TEXT NOT NULL, amount INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
    "PRAGMA user_version = 2;";

/* A file written by a build before card holders (user_version 1) gets their
 * columns; its tokens have no PAN key, so they have no holder. */
static const char upgrade_1[] = "ALTER TABLE tokens ADD COLUMN card_key BLOB;"
                                "ALTER TABLE challenges ADD COLUMN email TEXT NOT NULL DEFAULT '';";

static enum err fail(struct gtdb *db, const char *what)
{
    log_event(LOG_ERROR, "test_gateway_db_error",
              json_pack("{s:s, s:s}", "op", what, "detail", sqlite3_errmsg(db->db)));
    return ERR_STORE;
}

static enum err exec(struct gtdb *db, const char *sql, const char *what)
{
    return sqlite3_exec(db->db, sql, NULL, NULL, NULL) == SQLITE_OK ? ERR_OK : fail(db, what);
}

/* The cached statement for sql, reset and unbound; NULL on failure (logged). */
static sqlite3_stmt *stmt(struct gtdb *db, const char *sql)
{
    int i = 0;
    for (; i < STMT_CACHE && db->cache[i].sql != NULL; i++) {
        if (db->cache[i].sql == sql) {
            sqlite3_reset(db->cache[i].st);
            sqlite3_clear_bindings(db->cache[i].st);
            return db->cache[i].st;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        fail(db, "prepare");
        return NULL;
    }
    if (i < STMT_CACHE) {
        db->cache[i].sql = sql;
        db->cache[i].st = st;
        return st;
    }
    /* More statements than slots is a programming error in this file. */
    sqlite3_finalize(st);
    log_event(LOG_ERROR, "test_gateway_db_error", json_pack("{s:s}", "op", "statement cache full"));
    return NULL;
}

/* Run a statement that returns no row. */
static enum err step_done(struct gtdb *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    enum err e = rc == SQLITE_DONE ? ERR_OK : fail(db, what);
    sqlite3_reset(st);
    return e;
}

/* Step to the first row: ERR_OK (row ready), ERR_NOT_FOUND (reset), ERR_STORE. */
static enum err step_row(struct gtdb *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ERR_NOT_FOUND : fail(db, what);
}

static void col_text(sqlite3_stmt *st, int col, char *out, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, n, "%s", t ? (const char *)t : "");
}

static void col_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t n)
{
    const void *b = sqlite3_column_blob(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    memset(out, 0, n);
    if (b != NULL)
        memcpy(out, b, len < n ? len : n);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static enum err err_from_symbol(const char *s)
{
    for (int e = 1; e < ERR__COUNT; e++)
        if (strcmp(err_symbol((enum err)e), s) == 0)
            return (enum err)e;
    return ERR_CARD_DECLINED; /* a decline whose reason this build does not know */
}

/* PRAGMA user_version (0 for a new file or on failure). */
static int user_version(struct gtdb *db)
{
    sqlite3_stmt *st = NULL;
    int v = 0;
    if (sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

enum err gtdb_open(const char *path, struct gtdb **out)
{
    struct gtdb *db = calloc(1, sizeof *db);
    if (db == NULL)
        return ERR_NOMEM;
    enum err e = ERR_OK;
    int rc = sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        e = db->db ? fail(db, "open") : ERR_STORE;
        goto fail;
    }
    sqlite3_busy_timeout(db->db, 10000);
    e = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", "pragmas");
    /* One transaction: an upgrade stopped half-way (a crash, a full disk)
     * leaves the file as it was, to be upgraded at the next start, never
     * with one column added and user_version still 1 (which no later
     * start could get past).  The version is read inside it, so two
     * processes opening an old file do not both upgrade it. */
    if (e == ERR_OK)
        e = gtdb_begin(db);
    if (e == ERR_OK && user_version(db) == 1)
        e = exec(db, upgrade_1, "upgrade");
    if (e == ERR_OK)
        e = exec(db, schema, "schema");
    if (e == ERR_OK)
        e = gtdb_commit(db);
    if (e != ERR_OK) {
        gtdb_rollback(db);
        goto fail;
    }
    *out = db;
    return ERR_OK;
fail:
    gtdb_close(db);
    return e;
}

void gtdb_close(struct gtdb *db)
{
    if (db == NULL)
        return;
    for (int i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(db->cache[i].st);
    sqlite3_close(db->db);
    free(db);
}

enum err gtdb_begin(struct gtdb *db)
{
    return exec(db, "BEGIN IMMEDIATE", "begin");
}

enum err gtdb_commit(struct gtdb *db)
{
    return exec(db, "COMMIT", "commit");
}

void gtdb_rollback(struct gtdb *db)
{
    if (!sqlite3_get_autocommit(db->db))
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- tokens ---- */

enum err gtdb_token_insert(struct gtdb *db, const struct gtdb_token *t)
{
    sqlite3_stmt *st = stmt(db, "INSERT INTO tokens (token, behaviour, brand, last4, exp_month, exp_year, created_ms,"
                                " card_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (st == NULL)
        return ERR_STORE;
    bind_text(st, 1, t->token);
    bind_text(st, 2, t->behaviour);
    bind_text(st, 3, t->brand);
    bind_text(st, 4, t->last4);
    sqlite3_bind_int(st, 5, t->exp_month);
    sqlite3_bind_int(st, 6, t->exp_year);
    sqlite3_bind_int64(st, 7, t->created_ms);
    if (t->has_card_key)
        sqlite3_bind_blob(st, 8, t->card_key, sizeof t->card_key, SQLITE_STATIC);
    return step_done(db, st, "token_insert");
}

enum err gtdb_token_get(struct gtdb *db, const char *token, struct gtdb_token *out)
{
    sqlite3_stmt *st = stmt(db, "SELECT token, behaviour, brand, last4, exp_month, exp_year, created_ms, card_key"
                                " FROM tokens WHERE token = ?");
    if (st == NULL)
        return ERR_STORE;
    bind_text(st, 1, token);
    enum err e = step_row(db, st, "token_get");
    if (e != ERR_OK)
        return e;
    col_text(st, 0, out->token, sizeof out->token);
    col_text(st, 1, out->behaviour, sizeof out->behaviour);
    col_text(st, 2, out->brand, sizeof out->brand);
    col_text(st, 3, out->last4, sizeof out->last4);
    out->exp_month = sqlite3_column_int(st, 4);
    out->exp_year = sqlite3_column_int(st, 5);
    out->created_ms = sqlite3_column_int64(st, 6);
    out->has_card_key = sqlite3_column_bytes(st, 7) == (int)sizeof out->card_key;
    col_blob(st, 7, out->card_key, sizeof out->card_key);
    sqlite3_reset(st);
    return ERR_OK;
}

/* ---- card holders ---- */

enum err gtdb_holder_get(struct gtdb *db, const uint8_t card_key[GTDB_HASH_BYTES], char email[EMAIL_MAX + 1])
{
    sqlite3_stmt *st = stmt(db, "SELECT email FROM holders WHERE card_key = ?");
    if (st == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(st, 1, card_key, GTDB_HASH_BYTES, SQLITE_STATIC);
    enum err e = step_row(db, st, "holder_get");
    if (e != ERR_OK)
        return e;
    col_text(st, 0, email, EMAIL_MAX + 1);
    sqlite3_reset(st);
    return ERR_OK;
}

enum err gtdb_holder_set(struct gtdb *db, const uint8_t card_key[GTDB_HASH_BYTES], const char *email, int64_t now_ms)
{
    sqlite3_stmt *st = stmt(db, "INSERT OR IGNORE INTO holders (card_key, email, created_ms) VALUES (?, ?, ?)");
    if (st == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(st, 1, card_key, GTDB_HASH_BYTES, SQLITE_STATIC);
    bind_text(st, 2, email);
    sqlite3_bind_int64(st, 3, now_ms);
    return step_done(db, st, "holder_set");
}

/* ---- 3-D Secure challenges ---- */

enum err gtdb_challenge_insert(struct gtdb *db, const struct gtdb_challenge *c)
{
    sqlite3_stmt *st = stmt(db, "INSERT INTO challenges (ref, token, auth_ref, salt, code_hash, wrong, state,"
                                " expires_ms, created_ms, email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (st == NULL)
        return ERR_STORE;
    bind_text(st, 1, c->ref);
    bind_text(st, 2, c->token);
    bind_text(st, 3, c->auth_ref);
    sqlite3_bind_blob(st, 4, c->salt, sizeof c->salt, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, c->code_hash, sizeof c->code_hash, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, c->wrong);
    sqlite3_bind_int(st, 7, c->state);
    sqlite3_bind_int64(st, 8, c->expires_ms);
    sqlite3_bind_int64(st, 9, c->created_ms);
    bind_text(st, 10, c->email);
    return step_done(db, st, "challenge_insert");
}

enum err gtdb_challenge_get(struct gtdb *db, const char *ref, struct gtdb_challenge *out)
{
    sqlite3_stmt *st = stmt(db, "SELECT ref, token, auth_ref, salt, code_hash, wrong, state, expires_ms, created_ms,"
                                " email FROM challenges WHERE ref = ?");
    if (st == NULL)
        return ERR_STORE;
    bind_text(st, 1, ref);
    enum err e = step_row(db, st, "challenge_get");
    if (e != ERR_OK)
        return e;
    col_text(st, 0, out->ref, sizeof out->ref);
    col_text(st, 1, out->token, sizeof out->token);
    col_text(st, 2, out->auth_ref, sizeof out->auth_ref);
    col_blob(st, 3, out->salt, sizeof out->salt);
    col_blob(st, 4, out->code_hash, sizeof out->code_hash);
    out->wrong = sqlite3_column_int(st, 5);
    out->state = sqlite3_column_int(st, 6);
    out->expires_ms = sqlite3_column_int64(st, 7);
    out->created_ms = sqlite3_column_int64(st, 8);
    col_text(st, 9, out->email, sizeof out->email);
    sqlite3_reset(st);
    return ERR_OK;
}

enum err gtdb_challenge_update(struct gtdb *db, const struct gtdb_challenge *c)
{
    sqlite3_stmt *st = stmt(db, "UPDATE challenges SET wrong = ?, state = ? WHERE ref = ?");
    if (st == NULL)
        return ERR_STORE;
    sqlite3_bind_int(st, 1, c->wrong);
    sqlite3_bind_int(st, 2, c->state);
    bind_text(st, 3, c->ref);
    return step_done(db, st, "challenge_update");
}

/* ---- authorizations ---- */

#define AUTH_COLS "ref, idem_key, token, amount, status, decline, challenge_ref, captured, refunded, created_ms"

static void auth_read(sqlite3_stmt *st, struct gtdb_auth *out)
{
    char decline[DECLINE_CODE_MAX + 1];
    col_text(st, 0, out->ref, sizeof out->ref);
    col_text(st, 1, out->idem_key, sizeof out->idem_key);
    col_text(st, 2, out->token, sizeof out->token);
    out->amount = sqlite3_column_int64(st, 3);
    col_text(st, 4, out->status, sizeof out->status);
    col_text(st, 5, decline, sizeof decline);
    out->decline = decline[0] ? err_from_symbol(decline) : ERR_OK;
    col_text(st, 6, out->challenge_ref, sizeof out->challenge_ref);
    out->captured = sqlite3_column_int64(st, 7);
    out->refunded = sqlite3_column_int64(st, 8);
    out->created_ms = sqlite3_column_int64(st, 9);
}

static const char *decline_symbol(enum err e)
{
    return e == ERR_OK ? "" : err_symbol(e);
}

enum err gtdb_auth_insert(struct gtdb *db, const struct gtdb_auth *a)
{
    sqlite3_stmt *st = stmt(db, "INSERT INTO authorizations (" AUTH_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (st == NULL)
        return ERR_STORE;
    bind_text(st, 1, a->ref);
    bind_text(st, 2, a->idem_key);
    bind_text(st, 3, a->token);
    sqlite3_bind_int64(st, 4, a->amount);
    bind_text(st, 5, a->status);
    bind_text(st, 6, decline_symbol(a->decline));
    bind_text(st, 7, a->challenge_ref);
    sqlite3_bind_int64(st, 8, a->captured);
    sqlite3_bind_int64(st, 9, a->refunded);
    sqlite3_bind_int64(st, 10, a->created_ms);
    return step_done(db, st, "auth_insert");
}

static enum err auth_get(struct gtdb *db, sqlite3_stmt *st, const char *value, struct gtdb_auth *out)
{
    if (st == NULL)
        return ERR_STORE;
    bind_text(st, 1, value);
    enum err e = step_row(db, st, "auth_get");
    if (e != ERR_OK)
        return e;
    auth_read(st, out);
    sqlite3_reset(st);
    return ERR_OK;
}

enum err gtdb_auth_by_key(struct gtdb *db, const char *idem_key, struct gtdb_auth *out)
{
    return auth_get(db, stmt(db, "SELECT " AUTH_COLS " FROM authorizations WHERE idem_key = ?"), idem_key, out);
}

enum err gtdb_auth_by_ref(struct gtdb *db, const char *ref, struct gtdb_auth *out)
{
    return auth_get(db, stmt(db, "SELECT " AUTH_COLS " FROM authorizations WHERE ref = ?"), ref, out);
}

enum err gtdb_auth_update(struct gtdb *db, const struct gtdb_auth *a)
{
    sqlite3_stmt *st =
        stmt(db, "UPDATE authorizations SET status = ?, decline = ?, captured = ?, refunded = ? WHERE ref = ?");
    if (st == NULL)
        return ERR_STORE;
    bind_text(st, 1, a->status);
    bind_text(st, 2, decline_symbol(a->decline));
    sqlite3_bind_int64(st, 3, a->captured);
    sqlite3_bind_int64(st, 4, a->refunded);
    bind_text(st, 5, a->ref);
    return step_done(db, st, "auth_update");
}

/* ---- refunds ---- */

enum err gtdb_refund_insert(struct gtdb *db, const struct gtdb_refund *r)
{
    sqlite3_stmt *st = stmt(db, "INSERT INTO refunds (idem_key, auth_ref, amount, created_ms) VALUES (?, ?, ?, ?)");
    if (st == NULL)
        return ERR_STORE;
    bind_text(st, 1, r->idem_key);
    bind_text(st, 2, r->auth_ref);
    sqlite3_bind_int64(st, 3, r->amount);
    sqlite3_bind_int64(st, 4, r->created_ms);
    return step_done(db, st, "refund_insert");
}

enum err gtdb_refund_by_key(struct gtdb *db, const char *idem_key, struct gtdb_refund *out)
{
    sqlite3_stmt *st = stmt(db, "SELECT idem_key, auth_ref, amount, created_ms FROM refunds WHERE idem_key = ?");
    if (st == NULL)
        return ERR_STORE;
    bind_text(st, 1, idem_key);
    enum err e = step_row(db, st, "refund_get");
    if (e != ERR_OK)
        return e;
    col_text(st, 0, out->idem_key, sizeof out->idem_key);
    col_text(st, 1, out->auth_ref, sizeof out->auth_ref);
    out->amount = sqlite3_column_int64(st, 2);
    out->created_ms = sqlite3_column_int64(st, 3);
    sqlite3_reset(st);
    return ERR_OK;
}
