/* sqlite_reversal.c: fraud reversals on SQLite (table reversals,
 * migrations 13, 14, 17, 26; ops/reversal.h).
 *
 * A row is written when a reversal is requested (pending) or executed at
 * once; reversal_decide moves it out of pending exactly once (the UPDATE's
 * "AND status = 'pending'" is the guard, in the transaction that moves the
 * money).  The unique index reversals_key (requested_by, idem_key) lets
 * one request's retries, even racing, write one row; rows from before it
 * have no key (NULL, read as "").
 */
#include "store/sqlite_internal.h"

#define RV_COLS                                                                                                      \
    "id, payment_id, customer_id, amount, charge_store, reason, status, requested_by, decided_by, created_ms, "      \
    "decided_ms, transfer_id, dispute_id, idem_key"

static void read_reversal(sqlite3_stmt *q, void *out)
{
    struct reversal *r = out;
    r->id = sqlite3_column_int64(q, 0);
    r->payment_id = sqlite3_column_int64(q, 1);
    r->customer_id = sqlite3_column_int64(q, 2);
    r->amount = sqlite3_column_int64(q, 3);
    r->charge_store = sqlite3_column_int(q, 4) != 0;
    sq_text(q, 5, r->reason, sizeof r->reason);
    sq_text(q, 6, r->status, sizeof r->status);
    r->requested_by = sqlite3_column_int64(q, 7);
    r->decided_by = sqlite3_column_int64(q, 8);
    r->created_ms = sqlite3_column_int64(q, 9);
    r->decided_ms = sqlite3_column_int64(q, 10);
    r->transfer_id = sqlite3_column_int64(q, 11);
    r->dispute_id = sqlite3_column_int64(q, 12);
    sq_text(q, 13, r->idem_key, sizeof r->idem_key);
}

enum err sq_reversal_insert(struct store *st, struct reversal *r)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO reversals (payment_id, customer_id, amount, charge_store, reason, "
                                 "status, requested_by, decided_by, created_ms, decided_ms, transfer_id, dispute_id, "
                                 "idem_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, r->payment_id);
    sqlite3_bind_int64(q, 2, r->customer_id);
    sqlite3_bind_int64(q, 3, r->amount);
    sqlite3_bind_int(q, 4, r->charge_store ? 1 : 0);
    sqlite3_bind_text(q, 5, r->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, r->status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, r->requested_by);
    sqlite3_bind_int64(q, 8, r->decided_by);
    sqlite3_bind_int64(q, 9, r->created_ms);
    sqlite3_bind_int64(q, 10, r->decided_ms);
    sqlite3_bind_int64(q, 11, r->transfer_id);
    sqlite3_bind_int64(q, 12, r->dispute_id);
    if (r->idem_key[0])
        sqlite3_bind_text(q, 13, r->idem_key, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 13);
    return sq_step_insert(s, q, ERR_CONFLICT, "reversal_insert", &r->id);
}

enum err sq_reversal_get(struct store *st, int64_t id, struct reversal *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " RV_COLS " FROM reversals WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(s, q, ERR_NOT_FOUND, read_reversal, out);
}

enum err sq_reversal_get_by_key(struct store *st, int64_t staff_id, const char *idem_key, struct reversal *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " RV_COLS " FROM reversals WHERE requested_by = ? AND idem_key = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, staff_id);
    sqlite3_bind_text(q, 2, idem_key, -1, SQLITE_STATIC);
    return sq_get_one(s, q, ERR_NOT_FOUND, read_reversal, out);
}

enum err sq_reversal_decide(struct store *st, int64_t id, const char *status, int64_t decided_by, int64_t decided_ms,
                            int64_t transfer_id)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "UPDATE reversals SET status = ?, decided_by = ?, decided_ms = ?, transfer_id = ? "
                                 "WHERE id = ? AND status = 'pending'");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, decided_by);
    sqlite3_bind_int64(q, 3, decided_ms);
    sqlite3_bind_int64(q, 4, transfer_id);
    sqlite3_bind_int64(q, 5, id);
    int changes = 0;
    enum err e = sq_step_many(s, q, "reversal_decide", &changes);
    if (e != ERR_OK || changes == 1)
        return e;
    struct reversal r;
    e = sq_reversal_get(st, id, &r);
    return e == ERR_OK ? ERR_CONFLICT : e;
}

enum err sq_reversal_list(struct store *st, const char *status, int64_t before_id, size_t max, struct reversal *out,
                          size_t *n)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " RV_COLS " FROM reversals WHERE (?1 = '' OR status = ?1) "
                                 "AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, status ? status : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, before_id);
    sqlite3_bind_int64(q, 3, sq_limit(max));
    return sq_get_many(s, q, read_reversal, out, sizeof *out, max, n);
}

enum err sq_reversal_compensated(struct store *st, int64_t payment_id, int64_t *sum)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT coalesce(sum(amount), 0) FROM reversals "
                                 "WHERE payment_id = ? AND status = 'executed' AND charge_store = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, payment_id);
    *sum = 0;
    return sq_get_one(s, q, ERR_STORE, sq_read_int64, sum);
}

enum err sq_reversal_unapproved(struct store *st, int64_t payment_id, int64_t *sum)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT coalesce(sum(amount), 0) FROM reversals "
                                 "WHERE payment_id = ? AND status = 'executed' AND decided_by = requested_by");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, payment_id);
    *sum = 0;
    return sq_get_one(s, q, ERR_STORE, sq_read_int64, sum);
}

enum err sq_reversal_staff_unapproved(struct store *st, int64_t staff_id, int64_t since_ms, int64_t *sum)
{
    struct sqlite_store *s = sq(st);
    /* reversals_staff (migration 17) holds (requested_by, created_ms): an
     * executed-at-once row was created when it was decided. */
    sqlite3_stmt *q = sq_stmt(s, "SELECT coalesce(sum(amount), 0) FROM reversals "
                                 "WHERE requested_by = ?1 AND created_ms >= ?2 AND status = 'executed' "
                                 "AND decided_by = requested_by");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, staff_id);
    sqlite3_bind_int64(q, 2, since_ms);
    *sum = 0;
    return sq_get_one(s, q, ERR_STORE, sq_read_int64, sum);
}
