/* sqlite_email_change.c: pending changes of a customer's address on SQLite
 * (table email_changes, migration 4). */
#include <string.h>

#include "store/sqlite_internal.h"

static void read_email_change(sqlite3_stmt *q, void *out)
{
    struct email_change *c = out;
    memset(c, 0, sizeof *c);
    c->customer_id = sqlite3_column_int64(q, 0);
    sq_text(q, 1, c->new_email, sizeof c->new_email);
    sq_blob(q, 2, c->code_hash, sizeof c->code_hash);
    c->created_ms = sqlite3_column_int64(q, 3);
    c->expires_ms = sqlite3_column_int64(q, 4);
    c->tries = sqlite3_column_int(q, 5);
    c->doomed = sqlite3_column_int(q, 6);
}

enum err sq_email_change_put(struct store *st, const struct email_change *c)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT OR REPLACE INTO email_changes (customer_id, new_email, code_hash, "
                                  "created_ms, expires_ms, tries, doomed) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, c->customer_id);
    sqlite3_bind_text(q, 2, c->new_email, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, c->code_hash, sizeof c->code_hash, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, c->created_ms);
    sqlite3_bind_int64(q, 5, c->expires_ms);
    sqlite3_bind_int(q, 6, c->tries);
    sqlite3_bind_int(q, 7, c->doomed);
    int64_t id = 0;
    return sq_step_insert(db, q, ERR_NOT_FOUND, "email_change_put", &id);
}

enum err sq_email_change_get(struct store *st, int64_t customer_id, struct email_change *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT customer_id, new_email, code_hash, created_ms, expires_ms, tries, doomed "
                                  "FROM email_changes WHERE customer_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_email_change, out);
}

enum err sq_email_change_set_tries(struct store *st, int64_t customer_id, int tries)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE email_changes SET tries = ? WHERE customer_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, tries);
    sqlite3_bind_int64(q, 2, customer_id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "email_change_set_tries");
}

enum err sq_email_change_delete(struct store *st, int64_t customer_id)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM email_changes WHERE customer_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    return sq_step_many(db, q, "email_change_delete", NULL);
}
