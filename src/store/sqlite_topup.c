/* sqlite_topup.c: top-ups and cash top-up codes on SQLite (tables topups
 * and topup_codes, migration 6).  A code is kept only as its keyed hash;
 * a top-up row holds no card data beyond the card's id. */
#include <string.h>

#include "store/sqlite_internal.h"

#define TOPUP_COLS                                                                                                     \
    "id, customer_id, source, status, amount, card_id, device_id, store_id, terminal_id, idem_scope, idem_key, "      \
    "req_hash, gateway_ref, challenge_ref, decline_code, captured, transfer_id, created_ms, updated_ms, "            \
    "balance_after"

static void read_topup(sqlite3_stmt *q, void *out)
{
    struct topup *t = out;
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(q, 0);
    t->customer_id = sqlite3_column_int64(q, 1);
    t->source = sqlite3_column_int(q, 2);
    t->status = sqlite3_column_int(q, 3);
    t->amount = sqlite3_column_int64(q, 4);
    t->card_id = sqlite3_column_int64(q, 5);
    t->device_id = sqlite3_column_int64(q, 6);
    t->store_id = sqlite3_column_int64(q, 7);
    t->terminal_id = sqlite3_column_int64(q, 8);
    sq_text(q, 9, t->idem_scope, sizeof t->idem_scope);
    sq_text(q, 10, t->idem_key, sizeof t->idem_key);
    sq_blob(q, 11, t->req_hash, sizeof t->req_hash);
    sq_text(q, 12, t->gateway_ref, sizeof t->gateway_ref);
    sq_text(q, 13, t->challenge_ref, sizeof t->challenge_ref);
    sq_text(q, 14, t->decline_code, sizeof t->decline_code);
    t->captured = sqlite3_column_int(q, 15);
    t->transfer_id = sqlite3_column_int64(q, 16);
    t->created_ms = sqlite3_column_int64(q, 17);
    t->updated_ms = sqlite3_column_int64(q, 18);
    t->balance_after = sqlite3_column_int64(q, 19); /* NULL: 0, not kept */
}

enum err sq_topup_insert(struct store *st, struct topup *t)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO topups (customer_id, source, status, amount, card_id, device_id, "
                                  "store_id, terminal_id, idem_scope, idem_key, req_hash, gateway_ref, challenge_ref, "
                                  "decline_code, captured, transfer_id, created_ms, updated_ms) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, t->customer_id);
    sqlite3_bind_int(q, 2, t->source);
    sqlite3_bind_int(q, 3, t->status);
    sqlite3_bind_int64(q, 4, t->amount);
    sqlite3_bind_int64(q, 5, t->card_id);
    sqlite3_bind_int64(q, 6, t->device_id);
    sqlite3_bind_int64(q, 7, t->store_id);
    sqlite3_bind_int64(q, 8, t->terminal_id);
    sqlite3_bind_text(q, 9, t->idem_scope, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 10, t->idem_key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 11, t->req_hash, sizeof t->req_hash, SQLITE_STATIC);
    sqlite3_bind_text(q, 12, t->gateway_ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 13, t->challenge_ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 14, t->decline_code, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 15, t->captured);
    sqlite3_bind_int64(q, 16, t->transfer_id);
    sqlite3_bind_int64(q, 17, t->created_ms);
    sqlite3_bind_int64(q, 18, t->updated_ms);
    /* A foreign-key failure (no such customer) is a caller's bug. */
    return sq_step_insert(db, q, ERR_INTERNAL, "topup_insert", &t->id);
}

enum err sq_topup_get(struct store *st, int64_t id, struct topup *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " TOPUP_COLS " FROM topups WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(db, q, ERR_TOPUP_NOT_FOUND, read_topup, out);
}

enum err sq_topup_get_by_idem(struct store *st, const char *scope, const char *key, struct topup *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " TOPUP_COLS " FROM topups WHERE idem_scope = ? AND idem_key = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, scope, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    return sq_get_one(db, q, ERR_TOPUP_NOT_FOUND, read_topup, out);
}

enum err sq_topup_update(struct store *st, const struct topup *t)
{
    struct sqlite_store *db = sq(st);
    /* balance_after is written once, by the credit (a copy of the row read
     * before it must not erase it). */
    sqlite3_stmt *q = sq_stmt(db, "UPDATE topups SET status = ?, gateway_ref = ?, challenge_ref = ?, "
                                  "decline_code = ?, captured = ?, transfer_id = ?, updated_ms = ?, "
                                  "balance_after = coalesce(?, balance_after) WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, t->status);
    sqlite3_bind_text(q, 2, t->gateway_ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, t->challenge_ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, t->decline_code, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 5, t->captured);
    sqlite3_bind_int64(q, 6, t->transfer_id);
    sqlite3_bind_int64(q, 7, t->updated_ms);
    if (t->balance_after > 0)
        sqlite3_bind_int64(q, 8, t->balance_after);
    else
        sqlite3_bind_null(q, 8);
    sqlite3_bind_int64(q, 9, t->id);
    return sq_step_update(db, q, ERR_TOPUP_NOT_FOUND, "topup_update");
}

/* The index topups_customer (customer_id, created_ms) narrows to the
 * customer's recent rows; device and card filter the few left. */
enum err sq_topup_sum(struct store *st, int64_t customer_id, int64_t device_id, int64_t card_id, int64_t since_ms,
                      int64_t *sum)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT coalesce(sum(amount), 0) FROM topups WHERE customer_id = ? "
                                  "AND created_ms >= ? AND status <> 5 AND (?3 = 0 OR device_id = ?3) "
                                  "AND (?4 = 0 OR card_id IN (SELECT id FROM cards WHERE customer_id = ?1 "
                                  "AND fingerprint = (SELECT fingerprint FROM cards WHERE id = ?4)))");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_int64(q, 2, since_ms);
    sqlite3_bind_int64(q, 3, device_id);
    sqlite3_bind_int64(q, 4, card_id);
    return sq_get_one(db, q, ERR_STORE, sq_read_int64, sum);
}

enum err sq_topup_sum_unsettled(struct store *st, int64_t customer_id, int64_t *sum)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT coalesce(sum(amount), 0) FROM topups WHERE customer_id = ? "
                                  "AND status IN (1, 2, 3)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    return sq_get_one(db, q, ERR_STORE, sq_read_int64, sum);
}

/* The index topups_customer narrows to the customer's rows. */
enum err sq_topup_expire_challenges(struct store *st, int64_t customer_id, int64_t updated_before,
                                    const char *decline_code, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE topups SET status = 5, challenge_ref = '', decline_code = ?, "
                                  "updated_ms = ? WHERE customer_id = ? AND status = 2 AND updated_ms <= ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, decline_code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    sqlite3_bind_int64(q, 3, customer_id);
    sqlite3_bind_int64(q, 4, updated_before);
    return sq_step_many(db, q, "topup_expire_challenges", NULL);
}

enum err sq_topup_list(struct store *st, int64_t customer_id, int64_t before_id, size_t max, struct topup *out,
                       size_t *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " TOPUP_COLS " FROM topups WHERE customer_id = ? "
                                  "AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_int64(q, 2, before_id);
    sqlite3_bind_int64(q, 3, sq_limit(max));
    return sq_get_many(db, q, read_topup, out, sizeof *out, max, n);
}

enum err sq_topup_list_unfinished(struct store *st, int64_t after_id, int64_t updated_before, size_t max,
                                  struct topup *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    /* The WHERE clause repeats the partial index topups_unfinished's, so the
     * scan touches only unfinished rows however many top-ups exist.  Cash
     * top-ups have nothing to capture. */
    sqlite3_stmt *q = sq_stmt(db, "SELECT " TOPUP_COLS " FROM topups WHERE (status IN (1, 3) OR "
                                  "(status = 4 AND captured = 0 AND source = 1)) AND id > ? AND updated_ms < ? "
                                  "ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, updated_before);
    sqlite3_bind_int64(q, 3, sq_limit(max));
    return sq_get_many(db, q, read_topup, out, sizeof *out, max, n);
}

static void read_code(sqlite3_stmt *q, void *out)
{
    struct topup_code *c = out;
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(q, 0);
    c->customer_id = sqlite3_column_int64(q, 1);
    c->device_id = sqlite3_column_int64(q, 2);
    sq_blob(q, 3, c->code_hash, sizeof c->code_hash);
    c->expires_ms = sqlite3_column_int64(q, 4);
    c->used_ms = sqlite3_column_int64(q, 5);
}

enum err sq_topup_code_insert(struct store *st, struct topup_code *c, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM topup_codes WHERE expires_ms <= ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    enum err e = sq_step_many(db, q, "topup_code_purge", NULL);
    if (e != ERR_OK)
        return e;
    q = sq_stmt(db, "INSERT INTO topup_codes (customer_id, device_id, code_hash, expires_ms, used_ms) "
                    "VALUES (?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, c->customer_id);
    sqlite3_bind_int64(q, 2, c->device_id);
    sqlite3_bind_blob(q, 3, c->code_hash, sizeof c->code_hash, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, c->expires_ms);
    sqlite3_bind_int64(q, 5, c->used_ms);
    return sq_step_insert(db, q, ERR_INTERNAL, "topup_code_insert", &c->id);
}

enum err sq_topup_code_get(struct store *st, const uint8_t hash[32], struct topup_code *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT id, customer_id, device_id, code_hash, expires_ms, used_ms "
                                  "FROM topup_codes WHERE code_hash = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(q, 1, hash, 32, SQLITE_STATIC);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_code, out);
}

enum err sq_topup_code_use(struct store *st, int64_t id, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE topup_codes SET used_ms = ? WHERE id = ? AND used_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "topup_code_use");
}
