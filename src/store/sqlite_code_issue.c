/* sqlite_code_issue.c: codes issued per customer and purpose on SQLite
 * (table code_issues, migration 5). */
#include "store/sqlite_internal.h"

enum err sq_code_issue_insert(struct store *st, int64_t customer_id, const char *purpose, int64_t now,
                              int64_t purge_before)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM code_issues WHERE at_ms < ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, purge_before);
    enum err e = sq_step_many(db, q, "code_issue_purge", NULL);
    if (e != ERR_OK)
        return e;
    q = sq_stmt(db, "INSERT INTO code_issues (customer_id, purpose, at_ms) VALUES (?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_text(q, 2, purpose, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now);
    int64_t id;
    return sq_step_insert(db, q, ERR_NOT_FOUND, "code_issue_insert", &id);
}

enum err sq_code_issue_count(struct store *st, int64_t customer_id, const char *purpose, int64_t since_ms, int *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT count(*) FROM code_issues WHERE customer_id = ? AND purpose = ? "
                                  "AND at_ms >= ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_text(q, 2, purpose, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, since_ms);
    return sq_get_one(db, q, ERR_STORE, sq_read_int, n);
}
