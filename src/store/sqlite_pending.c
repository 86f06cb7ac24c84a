/* sqlite_pending.c: operations waiting before they move money on SQLite
 * (table pending_ops, migration 14; wallet/pending_types.h).
 *
 * pending_op_decide moves a row out of its waiting state exactly once: the
 * UPDATE's "AND status = ?" (and, for a charge being approved, "AND
 * expires_ms > ?": a charge being approved, a held one approved or
 * rejected) is the guard, in the transaction that moves the money or
 * records the refusal.
 */
#include "store/sqlite_internal.h"

#include <string.h>

#define PO_COLS                                                                                                      \
    "id, kind, status, xfer_key, customer_id, device_id, merchant_id, store_id, terminal_id, counterparty_id, "      \
    "amount, offline, items, message, device_new, created_ms, expires_ms, decided_ms, decided_by, payment_id, "      \
    "reason, code_tag"

static void read_op(sqlite3_stmt *q, void *out)
{
    struct pending_op *p = out;
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(q, 0);
    p->p.kind = sqlite3_column_int(q, 1);
    sq_text(q, 2, p->status, sizeof p->status);
    sq_text(q, 3, p->xfer_key, sizeof p->xfer_key);
    p->p.customer_id = sqlite3_column_int64(q, 4);
    p->p.device_id = sqlite3_column_int64(q, 5);
    p->p.merchant_id = sqlite3_column_int64(q, 6);
    p->p.store_id = sqlite3_column_int64(q, 7);
    p->p.terminal_id = sqlite3_column_int64(q, 8);
    p->p.counterparty_id = sqlite3_column_int64(q, 9);
    p->p.amount = sqlite3_column_int64(q, 10);
    p->p.offline = sqlite3_column_int(q, 11);
    sq_text(q, 12, p->p.items, sizeof p->p.items);
    sq_text(q, 13, p->message, sizeof p->message);
    p->device_new = sqlite3_column_int(q, 14);
    p->p.created_ms = sqlite3_column_int64(q, 15);
    p->expires_ms = sqlite3_column_int64(q, 16);
    p->decided_ms = sqlite3_column_int64(q, 17);
    p->decided_by = sqlite3_column_int64(q, 18);
    p->p.id = sqlite3_column_int64(q, 19);
    sq_text(q, 20, p->reason, sizeof p->reason);
    p->p.code_tag = sqlite3_column_int64(q, 21);
}

enum err sq_pending_op_insert(struct store *st, struct pending_op *p)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO pending_ops (kind, status, xfer_key, customer_id, device_id, "
                                 "merchant_id, store_id, terminal_id, counterparty_id, amount, offline, items, "
                                 "message, device_new, created_ms, expires_ms, code_tag) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, p->p.kind);
    sqlite3_bind_text(q, 2, p->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, p->xfer_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, p->p.customer_id);
    sqlite3_bind_int64(q, 5, p->p.device_id);
    sqlite3_bind_int64(q, 6, p->p.merchant_id);
    sqlite3_bind_int64(q, 7, p->p.store_id);
    sqlite3_bind_int64(q, 8, p->p.terminal_id);
    sqlite3_bind_int64(q, 9, p->p.counterparty_id);
    sqlite3_bind_int64(q, 10, p->p.amount);
    sqlite3_bind_int(q, 11, p->p.offline ? 1 : 0);
    sqlite3_bind_text(q, 12, p->p.items, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 13, p->message, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 14, p->device_new ? 1 : 0);
    sqlite3_bind_int64(q, 15, p->p.created_ms);
    sqlite3_bind_int64(q, 16, p->expires_ms);
    sqlite3_bind_int64(q, 17, p->p.code_tag);
    return sq_step_insert(s, q, ERR_CONFLICT, "pending_op_insert", &p->id);
}

enum err sq_pending_op_get(struct store *st, int64_t id, struct pending_op *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " PO_COLS " FROM pending_ops WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(s, q, ERR_NOT_FOUND, read_op, out);
}

enum err sq_pending_op_get_by_key(struct store *st, const char *key, struct pending_op *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " PO_COLS " FROM pending_ops WHERE xfer_key = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    return sq_get_one(s, q, ERR_NOT_FOUND, read_op, out);
}

enum err sq_pending_op_decide(struct store *st, int64_t id, const char *from, const char *to, int64_t decided_ms,
                              int64_t decided_by, int64_t payment_id, const char *reason, int64_t live_at)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "UPDATE pending_ops SET status = ?, decided_ms = ?, decided_by = ?, "
                                 "payment_id = ?, reason = ? "
                                 "WHERE id = ? AND status = ? AND (?8 = 0 OR expires_ms > ?8)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, decided_ms);
    sqlite3_bind_int64(q, 3, decided_by);
    sqlite3_bind_int64(q, 4, payment_id);
    sqlite3_bind_text(q, 5, reason ? reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, id);
    sqlite3_bind_text(q, 7, from, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 8, live_at);
    int changes = 0;
    enum err e = sq_step_many(s, q, "pending_op_decide", &changes);
    if (e != ERR_OK || changes == 1)
        return e;
    struct pending_op p;
    e = sq_pending_op_get(st, id, &p);
    return e == ERR_OK ? ERR_CONFLICT : e;
}

/* The status a reader sees at ?7 (0: as stored): a waiting row past its
 * expires_ms is expired, whether or not anyone has recorded it yet. */
#define PO_STATUS_AT                                                                                                 \
    "(CASE WHEN ?7 > 0 AND status IN ('" PENDING_HELD "', '" PENDING_AWAITING "') AND expires_ms <= ?7 "           \
    "THEN '" PENDING_EXPIRED "' ELSE status END)"

enum err sq_pending_op_list(struct store *st, bool cpm, int64_t customer_id, const char *status, int64_t before_id,
                            int64_t now, size_t max, struct pending_op *out, size_t *n)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " PO_COLS " FROM pending_ops WHERE ((?1 = 1) = (kind = ?2)) "
                                 "AND (?3 = 0 OR customer_id = ?3) AND (?4 = '' OR " PO_STATUS_AT " = ?4) "
                                 "AND (?5 = 0 OR id < ?5) ORDER BY id DESC LIMIT ?6");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, cpm ? 1 : 0);
    sqlite3_bind_int(q, 2, PAYMENT_CPM);
    sqlite3_bind_int64(q, 3, customer_id);
    sqlite3_bind_text(q, 4, status ? status : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, before_id);
    sqlite3_bind_int64(q, 6, sq_limit(max));
    sqlite3_bind_int64(q, 7, now);
    return sq_get_many(s, q, read_op, out, sizeof *out, max, n);
}

enum err sq_pending_op_lapsed(struct store *st, const char *status, int64_t now, size_t max, struct pending_op *out,
                              size_t *n)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " PO_COLS " FROM pending_ops WHERE status = ? AND expires_ms > 0 "
                                 "AND expires_ms <= ? ORDER BY expires_ms, id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    sqlite3_bind_int64(q, 3, sq_limit(max));
    return sq_get_many(s, q, read_op, out, sizeof *out, max, n);
}
