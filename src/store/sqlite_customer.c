/* sqlite_customer.c: customers, e-mail codes, recovery codes and devices on
 * SQLite. */
#include <string.h>

#include "store/sqlite_internal.h"

/* Copy a BLOB column of exactly n bytes into out; anything else leaves out
 * zeroed (a NULL seed column, a corrupted row: the caller sees zeros, which
 * open/compare as wrong, never as right). */
void sq_blob(sqlite3_stmt *q, int col, uint8_t *out, size_t n)
{
    const void *b = sqlite3_column_blob(q, col);
    if (b && sqlite3_column_bytes(q, col) == (int)n)
        memcpy(out, b, n);
    else
        memset(out, 0, n);
}

#define CUSTOMER_COLS                                                                                      \
    "id, email, password_hash, email_verified, totp_enrolled, totp_sealed, totp_pending, totp_pending_sealed, " \
    "totp_last_step, failed_logins, locked_until_ms, cooldown_until_ms, created_ms"

static void read_customer(sqlite3_stmt *q, void *out)
{
    struct customer *c = out;
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(q, 0);
    sq_text(q, 1, c->email, sizeof c->email);
    sq_text(q, 2, c->password_hash, sizeof c->password_hash);
    c->email_verified = sqlite3_column_int(q, 3);
    c->totp_enrolled = sqlite3_column_int(q, 4);
    sq_blob(q, 5, c->totp_sealed, sizeof c->totp_sealed);
    c->totp_pending = sqlite3_column_int(q, 6);
    sq_blob(q, 7, c->totp_pending_sealed, sizeof c->totp_pending_sealed);
    c->totp_last_step = sqlite3_column_int64(q, 8);
    c->failed_logins = sqlite3_column_int(q, 9);
    c->locked_until_ms = sqlite3_column_int64(q, 10);
    c->cooldown_until_ms = sqlite3_column_int64(q, 11);
    c->created_ms = sqlite3_column_int64(q, 12);
}

/* A sealed seed column is NULL unless its flag says it holds one. */
static void bind_sealed(sqlite3_stmt *q, int col, int present, const uint8_t *b, size_t n)
{
    if (present)
        sqlite3_bind_blob(q, col, b, (int)n, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, col);
}

enum err sq_customer_insert(struct store *st, struct customer *c)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO customers (email, password_hash, email_verified, totp_enrolled, "
                                  "totp_sealed, totp_pending, totp_pending_sealed, totp_last_step, failed_logins, "
                                  "locked_until_ms, cooldown_until_ms, created_ms) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, c->email, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, c->password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, c->email_verified);
    sqlite3_bind_int(q, 4, c->totp_enrolled);
    bind_sealed(q, 5, c->totp_enrolled, c->totp_sealed, sizeof c->totp_sealed);
    sqlite3_bind_int(q, 6, c->totp_pending);
    bind_sealed(q, 7, c->totp_pending, c->totp_pending_sealed, sizeof c->totp_pending_sealed);
    sqlite3_bind_int64(q, 8, c->totp_last_step);
    sqlite3_bind_int(q, 9, c->failed_logins);
    sqlite3_bind_int64(q, 10, c->locked_until_ms);
    sqlite3_bind_int64(q, 11, c->cooldown_until_ms);
    sqlite3_bind_int64(q, 12, c->created_ms);
    return sq_step_insert(db, q, ERR_CONFLICT, "customer_insert", &c->id);
}

enum err sq_customer_get(struct store *st, int64_t id, struct customer *out)
{
    struct sqlite_store *db = sq(st);
    if (sq_memo_live(db) && db->memo.customer_ok && db->memo.customer.id == id) {
        *out = db->memo.customer;
        return ERR_OK;
    }
    sqlite3_stmt *q = sq_stmt(db, "SELECT " CUSTOMER_COLS " FROM customers WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    enum err e = sq_get_one(db, q, ERR_NOT_FOUND, read_customer, out);
    if (e == ERR_OK && sq_memo_live(db)) {
        db->memo.customer = *out;
        db->memo.customer_ok = true;
    }
    return e;
}

enum err sq_customer_get_by_email(struct store *st, const char *email, struct customer *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " CUSTOMER_COLS " FROM customers WHERE email = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, email, -1, SQLITE_STATIC);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_customer, out);
}

enum err sq_customer_update(struct store *st, const struct customer *c)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE customers SET password_hash = ?, email_verified = ?, totp_enrolled = ?, "
                                  "totp_sealed = ?, totp_pending = ?, totp_pending_sealed = ?, totp_last_step = ?, "
                                  "failed_logins = ?, locked_until_ms = ?, cooldown_until_ms = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, c->password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, c->email_verified);
    sqlite3_bind_int(q, 3, c->totp_enrolled);
    bind_sealed(q, 4, c->totp_enrolled, c->totp_sealed, sizeof c->totp_sealed);
    sqlite3_bind_int(q, 5, c->totp_pending);
    bind_sealed(q, 6, c->totp_pending, c->totp_pending_sealed, sizeof c->totp_pending_sealed);
    sqlite3_bind_int64(q, 7, c->totp_last_step);
    sqlite3_bind_int(q, 8, c->failed_logins);
    sqlite3_bind_int64(q, 9, c->locked_until_ms);
    sqlite3_bind_int64(q, 10, c->cooldown_until_ms);
    sqlite3_bind_int64(q, 11, c->id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "customer_update");
}

enum err sq_customer_set_email(struct store *st, int64_t id, const char *email)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE customers SET email = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, email, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, id);
    /* The UNIQUE index on email is the last word on "taken" (callers look
     * first, but a PostgreSQL store with several writers needs this). */
    int rc = sqlite3_step(q);
    sq_done(q);
    if (rc == SQLITE_CONSTRAINT)
        return ERR_CONFLICT;
    if (rc != SQLITE_DONE)
        return sq_fail(db, "customer_set_email");
    return sqlite3_changes(db->db) == 1 ? ERR_OK : ERR_NOT_FOUND;
}

/* ---- e-mail codes ---- */

static void read_email_code(sqlite3_stmt *q, void *out)
{
    struct email_code *c = out;
    memset(c, 0, sizeof *c);
    c->customer_id = sqlite3_column_int64(q, 0);
    sq_blob(q, 1, c->code_hash, sizeof c->code_hash);
    c->expires_ms = sqlite3_column_int64(q, 2);
    c->tries = sqlite3_column_int(q, 3);
}

enum err sq_email_code_put(struct store *st, const struct email_code *c)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT OR REPLACE INTO email_codes (customer_id, code_hash, expires_ms, tries) "
                                  "VALUES (?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, c->customer_id);
    sqlite3_bind_blob(q, 2, c->code_hash, sizeof c->code_hash, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, c->expires_ms);
    sqlite3_bind_int(q, 4, c->tries);
    int64_t id = 0;
    return sq_step_insert(db, q, ERR_NOT_FOUND, "email_code_put", &id);
}

enum err sq_email_code_get(struct store *st, int64_t customer_id, struct email_code *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q =
        sq_stmt(db, "SELECT customer_id, code_hash, expires_ms, tries FROM email_codes WHERE customer_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_email_code, out);
}

enum err sq_email_code_set_tries(struct store *st, int64_t customer_id, int tries)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE email_codes SET tries = ? WHERE customer_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, tries);
    sqlite3_bind_int64(q, 2, customer_id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "email_code_set_tries");
}

/* Step a statement that changes any number of rows; *changes if wanted. */
enum err sq_step_many(struct sqlite_store *s, sqlite3_stmt *q, const char *what, int *changes)
{
    int rc = sqlite3_step(q);
    sq_done(q);
    if (rc != SQLITE_DONE)
        return sq_fail(s, what);
    if (changes)
        *changes = sqlite3_changes(s->db);
    return ERR_OK;
}

enum err sq_email_code_delete(struct store *st, int64_t customer_id)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM email_codes WHERE customer_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    return sq_step_many(db, q, "email_code_delete", NULL);
}

/* ---- recovery codes ---- */

enum err sq_recovery_codes_replace(struct store *st, int64_t customer_id, const uint8_t (*hashes)[AUTH_HASH_BYTES],
                                   size_t n, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM recovery_codes WHERE customer_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    enum err e = sq_step_many(db, q, "recovery_codes_delete", NULL);
    for (size_t i = 0; e == ERR_OK && i < n; i++) {
        q = sq_stmt(db, "INSERT INTO recovery_codes (customer_id, code_hash, created_ms) VALUES (?, ?, ?)");
        if (q == NULL)
            return ERR_STORE;
        sqlite3_bind_int64(q, 1, customer_id);
        sqlite3_bind_blob(q, 2, hashes[i], AUTH_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, now);
        int64_t id = 0;
        e = sq_step_insert(db, q, ERR_NOT_FOUND, "recovery_code_insert", &id);
    }
    return e;
}

enum err sq_recovery_code_use(struct store *st, int64_t customer_id, const uint8_t hash[AUTH_HASH_BYTES],
                              int64_t now)
{
    struct sqlite_store *db = sq(st);
    /* One statement: two concurrent uses of the same code cannot both win. */
    sqlite3_stmt *q = sq_stmt(db, "UPDATE recovery_codes SET used_ms = ? WHERE id = (SELECT id FROM recovery_codes "
                                  "WHERE customer_id = ? AND code_hash = ? AND used_ms = 0 LIMIT 1)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, customer_id);
    sqlite3_bind_blob(q, 3, hash, AUTH_HASH_BYTES, SQLITE_STATIC);
    return sq_step_update(db, q, ERR_NOT_FOUND, "recovery_code_use");
}


enum err sq_recovery_codes_left(struct store *st, int64_t customer_id, int *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT count(*) FROM recovery_codes WHERE customer_id = ? AND used_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    return sq_get_one(db, q, ERR_STORE, sq_read_int, n);
}

/* ---- devices ---- */

#define DEVICE_COLS "id, customer_id, public_key, name, first_seen_ms, last_seen_ms, new_until_ms, removed_ms"

static void read_device(sqlite3_stmt *q, void *out)
{
    struct customer_device *d = out;
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(q, 0);
    d->customer_id = sqlite3_column_int64(q, 1);
    sq_text(q, 2, d->public_key, sizeof d->public_key);
    sq_text(q, 3, d->name, sizeof d->name);
    d->first_seen_ms = sqlite3_column_int64(q, 4);
    d->last_seen_ms = sqlite3_column_int64(q, 5);
    d->new_until_ms = sqlite3_column_int64(q, 6);
    d->removed_ms = sqlite3_column_int64(q, 7);
}

enum err sq_device_insert(struct store *st, struct customer_device *d)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO devices (customer_id, public_key, name, first_seen_ms, last_seen_ms, "
                                  "new_until_ms, removed_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, d->customer_id);
    sqlite3_bind_text(q, 2, d->public_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, d->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, d->first_seen_ms);
    sqlite3_bind_int64(q, 5, d->last_seen_ms);
    sqlite3_bind_int64(q, 6, d->new_until_ms);
    sqlite3_bind_int64(q, 7, d->removed_ms);
    return sq_step_insert(db, q, ERR_NOT_FOUND, "device_insert", &d->id);
}

enum err sq_device_get(struct store *st, int64_t id, struct customer_device *out)
{
    struct sqlite_store *db = sq(st);
    if (sq_memo_live(db) && db->memo.device_ok && db->memo.device.id == id) {
        *out = db->memo.device;
        return ERR_OK;
    }
    sqlite3_stmt *q = sq_stmt(db, "SELECT " DEVICE_COLS " FROM devices WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    enum err e = sq_get_one(db, q, ERR_NOT_FOUND, read_device, out);
    if (e == ERR_OK && sq_memo_live(db)) {
        db->memo.device = *out;
        db->memo.device_ok = true;
    }
    return e;
}

enum err sq_device_find(struct store *st, int64_t customer_id, const char *public_key, struct customer_device *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " DEVICE_COLS
                                  " FROM devices WHERE customer_id = ? AND public_key = ? AND removed_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_text(q, 2, public_key, -1, SQLITE_STATIC);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_device, out);
}

enum err sq_device_touch(struct store *st, int64_t id, int64_t last_seen_ms)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE devices SET last_seen_ms = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, last_seen_ms);
    sqlite3_bind_int64(q, 2, id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "device_touch");
}

enum err sq_device_remove(struct store *st, int64_t id, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE devices SET removed_ms = ? WHERE id = ? AND removed_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now > 0 ? now : 1);
    sqlite3_bind_int64(q, 2, id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "device_remove");
}

enum err sq_device_list(struct store *st, int64_t customer_id, int64_t after_id, size_t max,
                        struct customer_device *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " DEVICE_COLS " FROM devices WHERE customer_id = ? AND removed_ms = 0 "
                                  "AND id > ? ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_int64(q, 2, after_id);
    sqlite3_bind_int64(q, 3, sq_limit(max));
    return sq_get_many(db, q, read_device, out, sizeof *out, max, n);
}
