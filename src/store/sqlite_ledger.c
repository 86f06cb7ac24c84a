/* sqlite_ledger.c: accounts and transfers on SQLite.  Every value is bound;
 * every statement is reset (sq_done) before the function returns. */
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/timeutil.h"

#define ACCOUNT_COLS                                                                                        \
    "id, owner, kind, flags, debits_posted, credits_posted, debits_pending, credits_pending, created_ms, " \
    "last_transfer"
#define TRANSFER_COLS                                                                                          \
    "id, key, debit_account, credit_account, amount, kind, flags, coalesce(pending_id, 0), coalesce(ref_id, 0), " \
    "state, created_ms, metadata, req_hash, debit_prev, credit_prev"

static void read_account(sqlite3_stmt *st, struct ledger_account *a)
{
    a->id = sqlite3_column_int64(st, 0);
    sq_text(st, 1, a->owner, sizeof a->owner);
    sq_text(st, 2, a->kind, sizeof a->kind);
    a->flags = (uint32_t)sqlite3_column_int64(st, 3);
    a->debits_posted = sqlite3_column_int64(st, 4);
    a->credits_posted = sqlite3_column_int64(st, 5);
    a->debits_pending = sqlite3_column_int64(st, 6);
    a->credits_pending = sqlite3_column_int64(st, 7);
    a->created_ms = sqlite3_column_int64(st, 8);
    a->last_transfer_id = sqlite3_column_int64(st, 9);
}

static void read_transfer(sqlite3_stmt *st, struct ledger_transfer *t)
{
    t->id = sqlite3_column_int64(st, 0);
    sq_text(st, 1, t->key, sizeof t->key);
    t->debit_account = sqlite3_column_int64(st, 2);
    t->credit_account = sqlite3_column_int64(st, 3);
    t->amount = sqlite3_column_int64(st, 4);
    sq_text(st, 5, t->kind, sizeof t->kind);
    t->flags = (uint32_t)sqlite3_column_int64(st, 6);
    t->pending_id = sqlite3_column_int64(st, 7);
    t->ref_id = sqlite3_column_int64(st, 8);
    t->state = sqlite3_column_int(st, 9);
    t->created_ms = sqlite3_column_int64(st, 10);
    sq_text(st, 11, t->metadata, sizeof t->metadata);
    memset(t->req_hash, 0, sizeof t->req_hash);
    const void *h = sqlite3_column_blob(st, 12);
    int hl = sqlite3_column_bytes(st, 12);
    if (h && hl == (int)sizeof t->req_hash)
        memcpy(t->req_hash, h, sizeof t->req_hash);
    t->debit_prev_id = sqlite3_column_int64(st, 13);
    t->credit_prev_id = sqlite3_column_int64(st, 14);
}

static void read_account_v(sqlite3_stmt *st, void *out) { read_account(st, out); }
static void read_transfer_v(sqlite3_stmt *st, void *out) { read_transfer(st, out); }

enum err sq_account_insert(struct store *st, struct ledger_account *a)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO accounts (owner, kind, flags, created_ms) VALUES (?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    a->created_ms = time_now_ms();
    sqlite3_bind_text(q, 1, a->owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, a->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, a->flags);
    sqlite3_bind_int64(q, 4, a->created_ms);
    enum err e = sq_step_insert(s, q, ERR_CONFLICT, "account_insert", &a->id);
    if (e != ERR_OK)
        return e;
    a->debits_posted = a->credits_posted = a->debits_pending = a->credits_pending = 0;
    a->last_transfer_id = 0;
    return ERR_OK;
}

enum err sq_account_get(struct store *st, int64_t id, struct ledger_account *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(s, q, ERR_ACCOUNT_NOT_FOUND, read_account_v, out);
}

enum err sq_account_find(struct store *st, const char *owner, const char *kind, struct ledger_account *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " ACCOUNT_COLS " FROM accounts WHERE owner = ? AND kind = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
    return sq_get_one(s, q, ERR_ACCOUNT_NOT_FOUND, read_account_v, out);
}

enum err sq_account_put_totals(struct store *st, const struct ledger_account *a)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "UPDATE accounts SET debits_posted = ?, credits_posted = ?, debits_pending = ?, "
                                 "credits_pending = ?, last_transfer = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, a->debits_posted);
    sqlite3_bind_int64(q, 2, a->credits_posted);
    sqlite3_bind_int64(q, 3, a->debits_pending);
    sqlite3_bind_int64(q, 4, a->credits_pending);
    sqlite3_bind_int64(q, 5, a->last_transfer_id);
    sqlite3_bind_int64(q, 6, a->id);
    return sq_step_update(s, q, ERR_ACCOUNT_NOT_FOUND, "account_put_totals");
}

enum err sq_account_scan(struct store *st, store_account_fn fn, void *ctx)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY id");
    if (q == NULL)
        return ERR_STORE;
    enum err e = ERR_OK;
    int rc;
    struct ledger_account a;
    while (e == ERR_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        read_account(q, &a);
        e = fn(ctx, &a);
    }
    if (e == ERR_OK && rc != SQLITE_DONE)
        e = sq_fail(s, "account_scan");
    sq_done(q);
    return e;
}

enum err sq_transfer_insert(struct store *st, struct ledger_transfer *t)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO transfers (key, debit_account, credit_account, amount, kind, flags, "
                                 "pending_id, ref_id, state, created_ms, metadata, req_hash, debit_prev, credit_prev) "
                                 "VALUES (?, ?, ?, ?, ?, ?, nullif(?, 0), nullif(?, 0), ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, t->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, t->debit_account);
    sqlite3_bind_int64(q, 3, t->credit_account);
    sqlite3_bind_int64(q, 4, t->amount);
    sqlite3_bind_text(q, 5, t->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, t->flags);
    sqlite3_bind_int64(q, 7, t->pending_id);
    sqlite3_bind_int64(q, 8, t->ref_id);
    sqlite3_bind_int(q, 9, t->state);
    sqlite3_bind_int64(q, 10, t->created_ms);
    sqlite3_bind_text(q, 11, t->metadata, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 12, t->req_hash, sizeof t->req_hash, SQLITE_STATIC);
    sqlite3_bind_int64(q, 13, t->debit_prev_id);
    sqlite3_bind_int64(q, 14, t->credit_prev_id);
    return sq_step_insert(s, q, ERR_CONFLICT, "transfer_insert", &t->id);
}

enum err sq_transfer_get(struct store *st, int64_t id, struct ledger_transfer *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " TRANSFER_COLS " FROM transfers WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(s, q, ERR_TRANSFER_NOT_FOUND, read_transfer_v, out);
}

enum err sq_transfer_get_by_key(struct store *st, const char *key, struct ledger_transfer *out)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " TRANSFER_COLS " FROM transfers WHERE key = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    return sq_get_one(s, q, ERR_TRANSFER_NOT_FOUND, read_transfer_v, out);
}

enum err sq_transfer_set_state(struct store *st, int64_t id, int state)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "UPDATE transfers SET state = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, state);
    sqlite3_bind_int64(q, 2, id);
    return sq_step_update(s, q, ERR_TRANSFER_NOT_FOUND, "transfer_set_state");
}

enum err sq_transfer_sum_reversals(struct store *st, int64_t ref_id, int64_t *sum)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT coalesce(sum(amount), 0) FROM transfers WHERE ref_id = ? AND flags & ? != 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, ref_id);
    sqlite3_bind_int64(q, 2, LEDGER_XFER_REVERSAL);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *sum = sqlite3_column_int64(q, 0);
    sq_done(q);
    return rc == SQLITE_ROW ? ERR_OK : sq_fail(s, "transfer_sum_reversals");
}

enum err sq_transfer_scan(struct store *st, store_transfer_fn fn, void *ctx)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " TRANSFER_COLS " FROM transfers ORDER BY id");
    if (q == NULL)
        return ERR_STORE;
    enum err e = ERR_OK;
    int rc;
    struct ledger_transfer t;
    while (e == ERR_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        read_transfer(q, &t);
        e = fn(ctx, &t);
    }
    if (e == ERR_OK && rc != SQLITE_DONE)
        e = sq_fail(s, "transfer_scan");
    sq_done(q);
    return e;
}

/* One statement for the three tables (SQ_MAX_STMTS): each part walks its
 * table in rowid order, nothing is sorted or joined, so the scan costs a
 * read of those tables and no memory.  Reversals: status 'executed' as in
 * sqlite_reversal.c. */
enum err sq_money_link_scan(struct store *st, store_money_link_fn fn, void *ctx)
{
    static const char *const tables[] = {"payments", "topups", "reversals"};
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT 0, id, id, amount, 1, 0, refunded FROM payments "
                                 "UNION ALL SELECT 1, id, transfer_id, amount, status = ?1, 0, -1 FROM topups "
                                 "UNION ALL SELECT 2, id, transfer_id, amount, status = 'executed', "
                                 "charge_store != 0, -1 FROM reversals");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, TOPUP_SUCCEEDED);
    enum err e = ERR_OK;
    int rc;
    while (e == ERR_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int t = sqlite3_column_int(q, 0);
        struct store_money_link l = {
            .table = tables[t >= 0 && t <= 2 ? t : 0],
            .id = sqlite3_column_int64(q, 1),
            .transfer_id = sqlite3_column_int64(q, 2),
            .amount = sqlite3_column_int64(q, 3),
            .moved = sqlite3_column_int(q, 4) != 0,
            .xfer_flags = sqlite3_column_int(q, 5) ? LEDGER_XFER_REVERSAL : 0,
            .reversed = sqlite3_column_int64(q, 6),
        };
        e = fn(ctx, &l);
    }
    if (e == ERR_OK && rc != SQLITE_DONE)
        e = sq_fail(s, "money_link_scan");
    sq_done(q);
    return e;
}
