/* sqlite_card.c: cards and card-link attempts on SQLite (tables cards and
 * card_attempts, migration 6).  No column can hold a PAN or a CVV: a card is
 * its gateway token, public facts and keyed fingerprint (wallet_types.h). */
#include <string.h>

#include "store/sqlite_internal.h"

#define CARD_COLS                                                                                                      \
    "id, customer_id, status, token, brand, last4, exp_month, exp_year, fingerprint, challenge_ref, created_ms, "      \
    "linked_ms, removed_ms"

static void read_card(sqlite3_stmt *q, void *out)
{
    struct card *c = out;
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(q, 0);
    c->customer_id = sqlite3_column_int64(q, 1);
    c->status = sqlite3_column_int(q, 2);
    sq_text(q, 3, c->token, sizeof c->token);
    sq_text(q, 4, c->brand, sizeof c->brand);
    sq_text(q, 5, c->last4, sizeof c->last4);
    c->exp_month = sqlite3_column_int(q, 6);
    c->exp_year = sqlite3_column_int(q, 7);
    sq_blob(q, 8, c->fingerprint, sizeof c->fingerprint);
    sq_text(q, 9, c->challenge_ref, sizeof c->challenge_ref);
    c->created_ms = sqlite3_column_int64(q, 10);
    c->linked_ms = sqlite3_column_int64(q, 11);
    c->removed_ms = sqlite3_column_int64(q, 12);
}

enum err sq_card_insert(struct store *st, struct card *c)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO cards (customer_id, status, token, brand, last4, exp_month, exp_year, "
                                  "fingerprint, challenge_ref, created_ms, linked_ms, removed_ms) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, c->customer_id);
    sqlite3_bind_int(q, 2, c->status);
    sqlite3_bind_text(q, 3, c->token, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, c->brand, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, c->last4, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 6, c->exp_month);
    sqlite3_bind_int(q, 7, c->exp_year);
    sqlite3_bind_blob(q, 8, c->fingerprint, sizeof c->fingerprint, SQLITE_STATIC);
    sqlite3_bind_text(q, 9, c->challenge_ref, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 10, c->created_ms);
    sqlite3_bind_int64(q, 11, c->linked_ms);
    sqlite3_bind_int64(q, 12, c->removed_ms);
    return sq_step_insert(db, q, ERR_NOT_FOUND, "card_insert", &c->id);
}

enum err sq_card_get(struct store *st, int64_t id, struct card *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " CARD_COLS " FROM cards WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(db, q, ERR_CARD_NOT_FOUND, read_card, out);
}

enum err sq_card_update(struct store *st, const struct card *c)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q =
        sq_stmt(db, "UPDATE cards SET status = ?, challenge_ref = ?, linked_ms = ?, removed_ms = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, c->status);
    sqlite3_bind_text(q, 2, c->challenge_ref, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, c->linked_ms);
    sqlite3_bind_int64(q, 4, c->removed_ms);
    sqlite3_bind_int64(q, 5, c->id);
    return sq_step_update(db, q, ERR_CARD_NOT_FOUND, "card_update");
}

enum err sq_card_list(struct store *st, int64_t customer_id, int status, int64_t after_id, size_t max,
                      struct card *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    /* One statement for both selections: status 0 means "PENDING or ACTIVE". */
    sqlite3_stmt *q = sq_stmt(db, "SELECT " CARD_COLS " FROM cards WHERE customer_id = ? "
                                  "AND (status = ?2 OR (?2 = 0 AND status IN (1, 2))) AND id > ? ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_int(q, 2, status);
    sqlite3_bind_int64(q, 3, after_id);
    sqlite3_bind_int64(q, 4, sq_limit(max));
    return sq_get_many(db, q, read_card, out, sizeof *out, max, n);
}

enum err sq_card_fingerprint_customers(struct store *st, const uint8_t fp[CARD_FINGERPRINT_BYTES],
                                       int64_t except_customer, int *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT count(DISTINCT customer_id) FROM cards WHERE fingerprint = ? "
                                  "AND customer_id <> ? AND status IN (1, 2, 4)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(q, 1, fp, CARD_FINGERPRINT_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, except_customer);
    return sq_get_one(db, q, ERR_STORE, sq_read_int, n);
}

enum err sq_card_attempt_insert(struct store *st, struct card_attempt *a, int64_t purge_before)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "DELETE FROM card_attempts WHERE at_ms < ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, purge_before);
    enum err e = sq_step_many(db, q, "card_attempt_purge", NULL);
    if (e != ERR_OK)
        return e;
    q = sq_stmt(db, "INSERT INTO card_attempts (customer_id, device_id, client_addr, outcome, at_ms) "
                    "VALUES (?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, a->customer_id);
    sqlite3_bind_int64(q, 2, a->device_id);
    sqlite3_bind_text(q, 3, a->client_addr, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, a->outcome);
    sqlite3_bind_int64(q, 5, a->at_ms);
    return sq_step_insert(db, q, ERR_NOT_FOUND, "card_attempt_insert", &a->id);
}

enum err sq_card_attempt_set_outcome(struct store *st, int64_t id, int outcome)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE card_attempts SET outcome = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, outcome);
    sqlite3_bind_int64(q, 2, id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "card_attempt_set_outcome");
}

/* Three statements, one per selector, so each can use its own index.
 * ?3 is the outcome, ?4 true for any outcome. */
static const char count_by_customer[] = "SELECT count(*) FROM card_attempts WHERE customer_id = ? AND at_ms >= ? "
                                        "AND (?4 OR outcome = ?3)";
/* A device is the phone, not one account's row for it: card testers sign in
 * to many accounts from one phone, and every account sees the same key.
 * (No index on devices.public_key: this runs once per link attempt, on a
 * table of a few rows per customer.) */
static const char count_by_device[] = "SELECT count(*) FROM card_attempts WHERE device_id IN "
                                      "(SELECT id FROM devices WHERE public_key = "
                                      "(SELECT public_key FROM devices WHERE id = ?1)) AND at_ms >= ?2 "
                                      "AND (?4 OR outcome = ?3)";
static const char count_by_addr[] = "SELECT count(*) FROM card_attempts WHERE client_addr = ? AND at_ms >= ? "
                                    "AND (?4 OR outcome = ?3)";

enum err sq_card_attempt_count(struct store *st, int64_t customer_id, int64_t device_id, const char *client_addr,
                               int outcome, int64_t since_ms, int *n)
{
    struct sqlite_store *db = sq(st);
    int selectors = (customer_id > 0) + (device_id > 0) + (client_addr != NULL);
    if (selectors != 1)
        return ERR_INTERNAL; /* a caller's bug, not a storage state */
    const char *sql = customer_id > 0 ? count_by_customer : device_id > 0 ? count_by_device : count_by_addr;
    sqlite3_stmt *q = sq_stmt(db, sql);
    if (q == NULL)
        return ERR_STORE;
    if (client_addr != NULL)
        sqlite3_bind_text(q, 1, client_addr, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(q, 1, customer_id > 0 ? customer_id : device_id);
    sqlite3_bind_int64(q, 2, since_ms);
    sqlite3_bind_int(q, 3, outcome == CARD_ATTEMPT_COUNT_PENDING ? CARD_ATTEMPT_PENDING : outcome);
    sqlite3_bind_int(q, 4, outcome == 0);
    return sq_get_one(db, q, ERR_STORE, sq_read_int, n);
}
