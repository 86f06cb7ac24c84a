/* sqlite_killswitch.c: operator switches on SQLite (table killswitches,
 * migration 6).
 *
 * One row per switch ever set; turning a switch off keeps its row (on_ = 0)
 * so the list shows who switched it last and when.  killswitch_get is the
 * hot path (every top-up reads it): a primary-key lookup on a WITHOUT ROWID
 * table, no cache, so a switch set by any node is seen by the next request
 * on every node.
 */
#include "store/sqlite_internal.h"

#define KS_COLS "name, on_, reason, set_by, set_ms"

static void read_killswitch(sqlite3_stmt *q, void *out)
{
    struct killswitch *k = out;
    sq_text(q, 0, k->name, sizeof k->name);
    k->on = sqlite3_column_int(q, 1) != 0;
    sq_text(q, 2, k->reason, sizeof k->reason);
    sq_text(q, 3, k->set_by, sizeof k->set_by);
    k->set_ms = sqlite3_column_int64(q, 4);
}

enum err sq_killswitch_get(struct store *st, const char *name, struct killswitch *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " KS_COLS " FROM killswitches WHERE name = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    return sq_get_one(s, q, ERR_NOT_FOUND, read_killswitch, out);
}

enum err sq_killswitch_put(struct store *st, const struct killswitch *k)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO killswitches (" KS_COLS ") VALUES (?, ?, ?, ?, ?) "
                                 "ON CONFLICT (name) DO UPDATE SET on_ = excluded.on_, reason = excluded.reason, "
                                 "set_by = excluded.set_by, set_ms = excluded.set_ms");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, k->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, k->on ? 1 : 0);
    sqlite3_bind_text(q, 3, k->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, k->set_by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, k->set_ms);
    return sq_step_many(s, q, "killswitch_put", NULL);
}

enum err sq_killswitch_list(struct store *st, const char *after, size_t max, struct killswitch *out, size_t *n)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " KS_COLS " FROM killswitches WHERE name > ? ORDER BY name LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, after, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, sq_limit(max));
    return sq_get_many(s, q, read_killswitch, out, sizeof *out, max, n);
}
