/* sqlite_staff.c: staff accounts on SQLite. */
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/timeutil.h"

#define STAFF_COLS "id, email, role, password_hash, totp_sealed, totp_confirmed, totp_last_step, disabled, created_ms"

static void read_staff(sqlite3_stmt *q, void *out)
{
    struct staff *s = out;
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(q, 0);
    sq_text(q, 1, s->email, sizeof s->email);
    sq_text(q, 2, s->role, sizeof s->role);
    sq_text(q, 3, s->password_hash, sizeof s->password_hash);
    const void *b = sqlite3_column_blob(q, 4);
    if (b && sqlite3_column_bytes(q, 4) == (int)sizeof s->totp_sealed)
        memcpy(s->totp_sealed, b, sizeof s->totp_sealed);
    s->totp_confirmed = sqlite3_column_int(q, 5);
    s->totp_last_step = sqlite3_column_int64(q, 6);
    s->disabled = sqlite3_column_int(q, 7);
    s->created_ms = sqlite3_column_int64(q, 8);
}

enum err sq_staff_insert(struct store *st, struct staff *s)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO staff (email, role, password_hash, totp_sealed, totp_confirmed, "
                                  "totp_last_step, disabled, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    s->created_ms = time_now_ms();
    sqlite3_bind_text(q, 1, s->email, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, s->password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 4, s->totp_sealed, sizeof s->totp_sealed, SQLITE_STATIC);
    sqlite3_bind_int(q, 5, s->totp_confirmed);
    sqlite3_bind_int64(q, 6, s->totp_last_step);
    sqlite3_bind_int(q, 7, s->disabled);
    sqlite3_bind_int64(q, 8, s->created_ms);
    return sq_step_insert(db, q, ERR_CONFLICT, "staff_insert", &s->id);
}

enum err sq_staff_get_by_email(struct store *st, const char *email, struct staff *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " STAFF_COLS " FROM staff WHERE email = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, email, -1, SQLITE_STATIC);
    return sq_get_one(db, q, ERR_STAFF_NOT_FOUND, read_staff, out);
}

enum err sq_staff_list(struct store *st, int64_t after_id, size_t max, struct staff *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " STAFF_COLS " FROM staff WHERE id > ? ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, sq_limit(max));
    return sq_get_many(db, q, read_staff, out, sizeof *out, max, n);
}

enum err sq_staff_totp_spend(struct store *st, int64_t id, int64_t step)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q =
        sq_stmt(db, "UPDATE staff SET totp_last_step = ? WHERE id = ? AND totp_last_step < ? AND disabled = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, step);
    sqlite3_bind_int64(q, 2, id);
    sqlite3_bind_int64(q, 3, step);
    return sq_step_update(db, q, ERR_CONFLICT, "staff_totp_spend");
}

enum err sq_staff_update(struct store *st, const struct staff *s)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE staff SET password_hash = ?, totp_confirmed = ?, totp_last_step = ?, "
                                  "disabled = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, s->password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, s->totp_confirmed);
    sqlite3_bind_int64(q, 3, s->totp_last_step);
    sqlite3_bind_int(q, 4, s->disabled);
    sqlite3_bind_int64(q, 5, s->id);
    return sq_step_update(db, q, ERR_STAFF_NOT_FOUND, "staff_update");
}

enum err sq_staff_get(struct store *st, int64_t id, struct staff *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " STAFF_COLS " FROM staff WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(db, q, ERR_STAFF_NOT_FOUND, read_staff, out);
}
