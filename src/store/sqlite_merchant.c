/* sqlite_merchant.c: merchants, stores and terminals on SQLite.
 *
 * Every value is bound, never spliced into SQL; every statement is reset
 * (sq_done) before the function returns.  Lists are keyset-paginated: rows
 * with id > after_id in id order, at most `max` of them, so a page costs the
 * same however deep the cursor is (OFFSET would rescan every earlier row).
 * Filtered and unfiltered lists are separate statements so that the filtered
 * one can use its index (an "? = 0 OR col = ?" condition would defeat it).
 *
 * Ids: an insert with id > 0 uses that id (merchant_store_create chooses a
 * store's id before inserting, see merchant.c); with id 0 SQLite assigns the
 * next one.
 */
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/timeutil.h"

#define MERCHANT_COLS "id, name, created_ms"
#define STORE_COLS "id, merchant_id, name, address, lat_e6, lon_e6, category, active, payable_account, created_ms"
#define TERMINAL_COLS "id, store_id, key_id, secret_sealed, revoked, created_ms"

static void read_merchant(sqlite3_stmt *q, void *out)
{
    struct merchant *m = out;
    m->id = sqlite3_column_int64(q, 0);
    sq_text(q, 1, m->name, sizeof m->name);
    m->created_ms = sqlite3_column_int64(q, 2);
}

static void read_mstore(sqlite3_stmt *q, void *out)
{
    struct merchant_store *s = out;
    s->id = sqlite3_column_int64(q, 0);
    s->merchant_id = sqlite3_column_int64(q, 1);
    sq_text(q, 2, s->name, sizeof s->name);
    sq_text(q, 3, s->address, sizeof s->address);
    s->lat_e6 = sqlite3_column_int64(q, 4);
    s->lon_e6 = sqlite3_column_int64(q, 5);
    sq_text(q, 6, s->category, sizeof s->category);
    s->active = sqlite3_column_int(q, 7) != 0;
    s->payable_account = sqlite3_column_int64(q, 8);
    s->created_ms = sqlite3_column_int64(q, 9);
}

static void read_terminal(sqlite3_stmt *q, void *out)
{
    struct merchant_terminal *t = out;
    t->id = sqlite3_column_int64(q, 0);
    t->store_id = sqlite3_column_int64(q, 1);
    sq_text(q, 2, t->key_id, sizeof t->key_id);
    /* A sealed value of the wrong size cannot open; leave it zeroed so
     * masterkey_open fails rather than reading past the column. */
    memset(t->secret_sealed, 0, sizeof t->secret_sealed);
    const void *b = sqlite3_column_blob(q, 3);
    if (b && sqlite3_column_bytes(q, 3) == (int)sizeof t->secret_sealed)
        memcpy(t->secret_sealed, b, sizeof t->secret_sealed);
    t->revoked = sqlite3_column_int(q, 4) != 0;
    t->created_ms = sqlite3_column_int64(q, 5);
}

/* NULL lets SQLite pick the next rowid. */
static void bind_id(sqlite3_stmt *q, int col, int64_t id)
{
    if (id > 0)
        sqlite3_bind_int64(q, col, id);
    else
        sqlite3_bind_null(q, col);
}

enum err sq_merchant_insert(struct store *st, struct merchant *m)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO merchants (id, name, created_ms) VALUES (?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    int64_t now = time_now_ms();
    bind_id(q, 1, m->id);
    sqlite3_bind_text(q, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now);
    int64_t id = 0;
    enum err e = sq_step_insert(s, q, ERR_CONFLICT, "merchant_insert", &id);
    if (e == ERR_OK) {
        m->id = id;
        m->created_ms = now;
    }
    return e;
}

enum err sq_merchant_get(struct store *st, int64_t id, struct merchant *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " MERCHANT_COLS " FROM merchants WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(s, q, ERR_MERCHANT_NOT_FOUND, read_merchant, out);
}

enum err sq_merchant_list(struct store *st, int64_t after_id, size_t max, struct merchant *out, size_t *n)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " MERCHANT_COLS " FROM merchants WHERE id > ? ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, sq_limit(max));
    return sq_get_many(s, q, read_merchant, out, sizeof *out, max, n);
}

enum err sq_mstore_insert(struct store *st, struct merchant_store *ms)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO stores (id, merchant_id, name, address, lat_e6, lon_e6, category, "
                                 "active, payable_account, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    int64_t now = time_now_ms();
    bind_id(q, 1, ms->id);
    sqlite3_bind_int64(q, 2, ms->merchant_id);
    sqlite3_bind_text(q, 3, ms->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, ms->address, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, ms->lat_e6);
    sqlite3_bind_int64(q, 6, ms->lon_e6);
    sqlite3_bind_text(q, 7, ms->category, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 8, ms->active != 0);
    sqlite3_bind_int64(q, 9, ms->payable_account);
    sqlite3_bind_int64(q, 10, now);
    /* The foreign key may name the account rather than the merchant; the
     * domain checks both exist first, so the merchant is the likelier one. */
    int64_t id = 0;
    enum err e = sq_step_insert(s, q, ERR_MERCHANT_NOT_FOUND, "mstore_insert", &id);
    if (e == ERR_OK) {
        ms->id = id;
        ms->created_ms = now;
    }
    return e;
}

enum err sq_mstore_get(struct store *st, int64_t id, struct merchant_store *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " STORE_COLS " FROM stores WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(s, q, ERR_STORE_NOT_FOUND, read_mstore, out);
}

enum err sq_mstore_list(struct store *st, int64_t merchant_id, int64_t after_id, size_t max,
                        struct merchant_store *out, size_t *n)
{
    static const char all[] = "SELECT " STORE_COLS " FROM stores WHERE id > ?1 ORDER BY id LIMIT ?2";
    static const char one[] =
        "SELECT " STORE_COLS " FROM stores WHERE merchant_id = ?3 AND id > ?1 ORDER BY id LIMIT ?2";
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, merchant_id ? one : all);
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, sq_limit(max));
    if (merchant_id)
        sqlite3_bind_int64(q, 3, merchant_id);
    return sq_get_many(s, q, read_mstore, out, sizeof *out, max, n);
}

enum err sq_mstore_set_active(struct store *st, int64_t id, int active)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "UPDATE stores SET active = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, active != 0);
    sqlite3_bind_int64(q, 2, id);
    return sq_step_update(s, q, ERR_STORE_NOT_FOUND, "mstore_set_active");
}

enum err sq_terminal_insert(struct store *st, struct merchant_terminal *t)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO terminals (id, store_id, key_id, secret_sealed, revoked, created_ms) "
                                 "VALUES (?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    int64_t now = time_now_ms();
    bind_id(q, 1, t->id);
    sqlite3_bind_int64(q, 2, t->store_id);
    sqlite3_bind_text(q, 3, t->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 4, t->secret_sealed, sizeof t->secret_sealed, SQLITE_STATIC);
    sqlite3_bind_int(q, 5, t->revoked != 0);
    sqlite3_bind_int64(q, 6, now);
    int64_t id = 0;
    enum err e = sq_step_insert(s, q, ERR_STORE_NOT_FOUND, "terminal_insert", &id);
    if (e == ERR_OK) {
        t->id = id;
        t->created_ms = now;
    }
    return e;
}

enum err sq_terminal_get_by_key_id(struct store *st, const char *key_id, struct merchant_terminal *out)
{
    struct sqlite_store *s = sq(st);
    if (sq_memo_live(s) && s->memo.terminal_ok && strcmp(s->memo.terminal.key_id, key_id) == 0) {
        *out = s->memo.terminal;
        return ERR_OK;
    }
    sqlite3_stmt *q = sq_stmt(s, "SELECT " TERMINAL_COLS " FROM terminals WHERE key_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, key_id, -1, SQLITE_STATIC);
    enum err e = sq_get_one(s, q, ERR_TERMINAL_NOT_FOUND, read_terminal, out);
    if (e == ERR_OK && sq_memo_live(s)) {
        s->memo.terminal = *out;
        s->memo.terminal_ok = true;
    }
    return e;
}

enum err sq_terminal_list(struct store *st, int64_t store_id, int64_t after_id, size_t max,
                          struct merchant_terminal *out, size_t *n)
{
    static const char all[] = "SELECT " TERMINAL_COLS " FROM terminals WHERE id > ?1 ORDER BY id LIMIT ?2";
    static const char one[] =
        "SELECT " TERMINAL_COLS " FROM terminals WHERE store_id = ?3 AND id > ?1 ORDER BY id LIMIT ?2";
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, store_id ? one : all);
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, sq_limit(max));
    if (store_id)
        sqlite3_bind_int64(q, 3, store_id);
    return sq_get_many(s, q, read_terminal, out, sizeof *out, max, n);
}

enum err sq_terminal_revoke(struct store *st, int64_t id)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "UPDATE terminals SET revoked = 1 WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_step_update(s, q, ERR_TERMINAL_NOT_FOUND, "terminal_revoke");
}
