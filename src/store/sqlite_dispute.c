/* sqlite_dispute.c: customers' fraud reports on SQLite (table disputes,
 * migration 14; ops/dispute.h).
 *
 * The UNIQUE payment_id makes "one report per payment" hold even when two
 * filings race; UNIQUE (customer_id, idem_key) finds a retried filing.
 * dispute_decide moves a row out of "open" exactly once (the UPDATE's
 * "AND status = 'open'" is the guard, in the caller's transaction).
 */
#include "store/sqlite_internal.h"

#define DS_COLS                                                                                                      \
    "id, customer_id, payment_id, amount, reason, status, idem_key, created_ms, decided_by, decided_ms, note, "      \
    "reversal_id"

static void read_dispute(sqlite3_stmt *q, void *out)
{
    struct dispute *d = out;
    d->id = sqlite3_column_int64(q, 0);
    d->customer_id = sqlite3_column_int64(q, 1);
    d->payment_id = sqlite3_column_int64(q, 2);
    d->amount = sqlite3_column_int64(q, 3);
    sq_text(q, 4, d->reason, sizeof d->reason);
    sq_text(q, 5, d->status, sizeof d->status);
    sq_text(q, 6, d->idem_key, sizeof d->idem_key);
    d->created_ms = sqlite3_column_int64(q, 7);
    d->decided_by = sqlite3_column_int64(q, 8);
    d->decided_ms = sqlite3_column_int64(q, 9);
    sq_text(q, 10, d->note, sizeof d->note);
    d->reversal_id = sqlite3_column_int64(q, 11);
}

enum err sq_dispute_insert(struct store *st, struct dispute *d)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO disputes (customer_id, payment_id, amount, reason, status, idem_key, "
                                 "created_ms, decided_by, decided_ms, note, reversal_id) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, d->customer_id);
    sqlite3_bind_int64(q, 2, d->payment_id);
    sqlite3_bind_int64(q, 3, d->amount);
    sqlite3_bind_text(q, 4, d->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, d->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, d->idem_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, d->created_ms);
    sqlite3_bind_int64(q, 8, d->decided_by);
    sqlite3_bind_int64(q, 9, d->decided_ms);
    sqlite3_bind_text(q, 10, d->note, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 11, d->reversal_id);
    return sq_step_insert(s, q, ERR_CONFLICT, "dispute_insert", &d->id);
}

enum err sq_dispute_get(struct store *st, int64_t id, struct dispute *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " DS_COLS " FROM disputes WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(s, q, ERR_NOT_FOUND, read_dispute, out);
}

enum err sq_dispute_get_by_key(struct store *st, int64_t customer_id, const char *idem_key, struct dispute *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " DS_COLS " FROM disputes WHERE customer_id = ? AND idem_key = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_text(q, 2, idem_key, -1, SQLITE_STATIC);
    return sq_get_one(s, q, ERR_NOT_FOUND, read_dispute, out);
}

enum err sq_dispute_get_by_payment(struct store *st, int64_t payment_id, struct dispute *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " DS_COLS " FROM disputes WHERE payment_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, payment_id);
    return sq_get_one(s, q, ERR_NOT_FOUND, read_dispute, out);
}

enum err sq_dispute_decide(struct store *st, int64_t id, const char *status, int64_t decided_by, int64_t decided_ms,
                           const char *note, int64_t reversal_id)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "UPDATE disputes SET status = ?, decided_by = ?, decided_ms = ?, note = ?, "
                                 "reversal_id = ? WHERE id = ? AND status = 'open'");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, decided_by);
    sqlite3_bind_int64(q, 3, decided_ms);
    sqlite3_bind_text(q, 4, note ? note : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, reversal_id);
    sqlite3_bind_int64(q, 6, id);
    int changes = 0;
    enum err e = sq_step_many(s, q, "dispute_decide", &changes);
    if (e != ERR_OK || changes == 1)
        return e;
    struct dispute d;
    e = sq_dispute_get(st, id, &d);
    return e == ERR_OK ? ERR_CONFLICT : e;
}

enum err sq_dispute_list(struct store *st, int64_t customer_id, const char *status, int64_t before_id, size_t max,
                         struct dispute *out, size_t *n)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " DS_COLS " FROM disputes WHERE (?1 = 0 OR customer_id = ?1) "
                                 "AND (?2 = '' OR status = ?2) AND (?3 = 0 OR id < ?3) ORDER BY id DESC LIMIT ?4");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_text(q, 2, status ? status : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, before_id);
    sqlite3_bind_int64(q, 4, sq_limit(max));
    return sq_get_many(s, q, read_dispute, out, sizeof *out, max, n);
}
