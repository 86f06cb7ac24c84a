/* sqlite_payment.c: payments, their register refunds, spending counters
 * and freezes on SQLite (tables payments, spend_counters, freezes;
 * migration 7; payment_refunds, migration 27).
 *
 * Most of these run inside the ledger writer's batch transaction (the
 * payment's hook, wallet/payment_internal.h): each is one prepared
 * statement on a primary key, so the single writer stays fast.
 * spend_add checks and adds in one statement (an upsert whose update only
 * happens under the limit), so no read-then-write window exists even
 * outside the writer.
 */
#include <string.h>

#include "store/sqlite_internal.h"

#define PAYMENT_COLS                                                                                                   \
    "id, kind, customer_id, device_id, merchant_id, store_id, terminal_id, counterparty_id, amount, refunded, "      \
    "voided, offline, items, created_ms, balance_after, code_tag"

static void read_payment(sqlite3_stmt *q, void *out)
{
    struct payment *p = out;
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(q, 0);
    p->kind = sqlite3_column_int(q, 1);
    p->customer_id = sqlite3_column_int64(q, 2);
    p->device_id = sqlite3_column_int64(q, 3);
    p->merchant_id = sqlite3_column_int64(q, 4);
    p->store_id = sqlite3_column_int64(q, 5);
    p->terminal_id = sqlite3_column_int64(q, 6);
    p->counterparty_id = sqlite3_column_int64(q, 7);
    p->amount = sqlite3_column_int64(q, 8);
    p->refunded = sqlite3_column_int64(q, 9);
    p->voided = sqlite3_column_int(q, 10);
    p->offline = sqlite3_column_int(q, 11);
    sq_text(q, 12, p->items, sizeof p->items);
    p->created_ms = sqlite3_column_int64(q, 13);
    p->balance_after = sqlite3_column_type(q, 14) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 14);
    p->code_tag = sqlite3_column_int64(q, 15);
}

enum err sq_payment_insert(struct store *st, const struct payment *p)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO payments (" PAYMENT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                  "?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, p->id);
    sqlite3_bind_int(q, 2, p->kind);
    sqlite3_bind_int64(q, 3, p->customer_id);
    sqlite3_bind_int64(q, 4, p->device_id);
    sqlite3_bind_int64(q, 5, p->merchant_id);
    sqlite3_bind_int64(q, 6, p->store_id);
    sqlite3_bind_int64(q, 7, p->terminal_id);
    sqlite3_bind_int64(q, 8, p->counterparty_id);
    sqlite3_bind_int64(q, 9, p->amount);
    sqlite3_bind_int64(q, 10, p->refunded);
    sqlite3_bind_int(q, 11, p->voided);
    sqlite3_bind_int(q, 12, p->offline);
    sqlite3_bind_text(q, 13, p->items, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 14, p->created_ms);
    if (p->balance_after >= 0)
        sqlite3_bind_int64(q, 15, p->balance_after);
    else
        sqlite3_bind_null(q, 15);
    sqlite3_bind_int64(q, 16, p->code_tag);
    int64_t id;
    return sq_step_insert(db, q, ERR_CONFLICT, "payment_insert", &id);
}

enum err sq_payment_get(struct store *st, int64_t id, struct payment *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " PAYMENT_COLS " FROM payments WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_payment, out);
}

enum err sq_payment_add_refund(struct store *st, int64_t id, int64_t amount, int is_void)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE payments SET refunded = refunded + ?, voided = max(voided, ?) WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, amount);
    sqlite3_bind_int(q, 2, is_void ? 1 : 0);
    sqlite3_bind_int64(q, 3, id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "payment_add_refund");
}

/* Through payments_p2p_pair (migration 19), a partial index the planner
 * uses only when the query names its kind as a literal. */
_Static_assert(PAYMENT_P2P == 3, "payments_p2p_pair is WHERE kind = 3");
enum err sq_payment_p2p_sent(struct store *st, int64_t from, int64_t to, int64_t min_amount, bool *sent)
{
    struct sqlite_store *db = sq(st);
    *sent = false;
    sqlite3_stmt *q = sq_stmt(db, "SELECT 1 FROM payments WHERE customer_id = ? AND kind = 3 AND counterparty_id = ? "
                                  "AND amount - refunded >= ? LIMIT 1");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, from);
    sqlite3_bind_int64(q, 2, to);
    sqlite3_bind_int64(q, 3, min_amount);
    int rc = sqlite3_step(q);
    enum err e = ERR_OK;
    if (rc == SQLITE_ROW)
        *sent = true;
    else if (rc != SQLITE_DONE)
        e = sq_fail(db, "payment_p2p_sent");
    sq_done(q);
    return e;
}

enum err sq_payment_list_store(struct store *st, int64_t store_id, int64_t after_id, size_t max,
                               struct payment *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " PAYMENT_COLS " FROM payments WHERE store_id = ? AND id > ? "
                                  "ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, store_id);
    sqlite3_bind_int64(q, 2, after_id);
    sqlite3_bind_int64(q, 3, sq_limit(max));
    return sq_get_many(db, q, read_payment, out, sizeof *out, max, n);
}

enum err sq_payment_refund_insert(struct store *st, const struct payment_refund *r)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO payment_refunds (id, payment_id, customer_id, store_id, terminal_id, "
                                  "amount, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, r->id);
    sqlite3_bind_int64(q, 2, r->payment_id);
    sqlite3_bind_int64(q, 3, r->customer_id);
    sqlite3_bind_int64(q, 4, r->store_id);
    sqlite3_bind_int64(q, 5, r->terminal_id);
    sqlite3_bind_int64(q, 6, r->amount);
    sqlite3_bind_int64(q, 7, r->created_ms);
    int64_t id;
    return sq_step_insert(db, q, ERR_CONFLICT, "payment_refund_insert", &id);
}

enum err sq_payment_last_refund(struct store *st, int64_t customer_id, int64_t store_id, int64_t except_payment_id,
                                int64_t since_ms, int64_t *at_ms)
{
    struct sqlite_store *db = sq(st);
    /* The refunding store's refunds to the customer (payment_refunds_payer):
     * a handful of rows. */
    sqlite3_stmt *q = sq_stmt(db, "SELECT coalesce(max(created_ms), 0) FROM payment_refunds "
                                  "WHERE customer_id = ?1 AND store_id = ?2 AND created_ms >= ?4 "
                                  "AND payment_id <> ?3");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_int64(q, 2, store_id);
    sqlite3_bind_int64(q, 3, except_payment_id);
    sqlite3_bind_int64(q, 4, since_ms);
    *at_ms = 0;
    return sq_get_one(db, q, ERR_STORE, sq_read_int64, at_ms);
}

enum err sq_spend_add(struct store *st, int64_t customer_id, const char *period, int64_t amount, int64_t limit,
                      bool *ok)
{
    struct sqlite_store *db = sq(st);
    /* A counter never goes below zero: a refund of a payment counted
     * before the counter existed gives back nothing. */
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO spend_counters (customer_id, period, total) "
                                  "SELECT ?1, ?2, max(?3, 0) WHERE ?3 <= ?4 "
                                  "ON CONFLICT (customer_id, period) DO UPDATE SET total = max(total + ?3, 0) "
                                  "WHERE total + ?3 <= ?4");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_text(q, 2, period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, amount);
    sqlite3_bind_int64(q, 4, limit);
    int changes = 0;
    enum err e = sq_step_many(db, q, "spend_add", &changes);
    if (e == ERR_OK)
        *ok = changes == 1;
    return e;
}

enum err sq_spend_get(struct store *st, int64_t customer_id, const char *period, int64_t *total)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT total FROM spend_counters WHERE customer_id = ? AND period = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_text(q, 2, period, -1, SQLITE_STATIC);
    *total = 0;
    enum err e = sq_get_one(db, q, ERR_NOT_FOUND, sq_read_int64, total);
    return e == ERR_NOT_FOUND ? ERR_OK : e;
}

/* ---- freezes ---- */

static void read_freeze(sqlite3_stmt *q, void *out)
{
    struct freeze *f = out;
    memset(f, 0, sizeof *f);
    f->customer_id = sqlite3_column_int64(q, 0);
    f->frozen_ms = sqlite3_column_int64(q, 1);
    f->by_customer = sqlite3_column_int(q, 2);
    sq_text(q, 3, f->reason, sizeof f->reason);
    sq_text(q, 4, f->set_by, sizeof f->set_by);
}

enum err sq_freeze_get(struct store *st, int64_t customer_id, struct freeze *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT customer_id, frozen_ms, by_customer, reason, set_by FROM freezes "
                                  "WHERE customer_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_freeze, out);
}

enum err sq_freeze_put(struct store *st, const struct freeze *f)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO freezes (customer_id, frozen_ms, by_customer, reason, set_by) "
                                  "VALUES (?, ?, ?, ?, ?) ON CONFLICT (customer_id) DO UPDATE SET "
                                  "frozen_ms = excluded.frozen_ms, by_customer = excluded.by_customer, "
                                  "reason = excluded.reason, set_by = excluded.set_by");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, f->customer_id);
    sqlite3_bind_int64(q, 2, f->frozen_ms);
    sqlite3_bind_int(q, 3, f->by_customer ? 1 : 0);
    sqlite3_bind_text(q, 4, f->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, f->set_by, -1, SQLITE_STATIC);
    return sq_step_many(db, q, "freeze_put", NULL);
}

enum err sq_freeze_delete(struct store *st, int64_t customer_id)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM freezes WHERE customer_id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "freeze_delete");
}
