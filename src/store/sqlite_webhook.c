/* sqlite_webhook.c: merchant webhook endpoints and their deliveries, and
 * customers' live-feed events, on SQLite. */
#include <string.h>

#include "store/sqlite_internal.h"

#define ENDPOINT_COLS "id, merchant_id, url, events, secret_sealed, created_ms, removed_ms"
#define DELIVERY_COLS                                                                                              \
    "id, endpoint_id, event_id, type, body, created_ms, attempts, next_ms, sent_ms, failed_ms, last_status"

static void read_endpoint(sqlite3_stmt *q, void *out)
{
    struct webhook_endpoint *w = out;
    memset(w, 0, sizeof *w);
    w->id = sqlite3_column_int64(q, 0);
    w->merchant_id = sqlite3_column_int64(q, 1);
    sq_text(q, 2, w->url, sizeof w->url);
    sq_text(q, 3, w->events, sizeof w->events);
    /* A sealed secret of any other size stays zero and fails to open. */
    const void *b = sqlite3_column_blob(q, 4);
    if (b && sqlite3_column_bytes(q, 4) == (int)sizeof w->secret_sealed)
        memcpy(w->secret_sealed, b, sizeof w->secret_sealed);
    w->created_ms = sqlite3_column_int64(q, 5);
    w->removed_ms = sqlite3_column_int64(q, 6);
}

static void read_delivery(sqlite3_stmt *q, void *out)
{
    struct webhook_delivery *d = out;
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(q, 0);
    d->endpoint_id = sqlite3_column_int64(q, 1);
    sq_text(q, 2, d->event_id, sizeof d->event_id);
    sq_text(q, 3, d->type, sizeof d->type);
    sq_text(q, 4, d->body, sizeof d->body);
    d->created_ms = sqlite3_column_int64(q, 5);
    d->attempts = sqlite3_column_int(q, 6);
    d->next_ms = sqlite3_column_int64(q, 7);
    d->sent_ms = sqlite3_column_int64(q, 8);
    d->failed_ms = sqlite3_column_int64(q, 9);
    d->last_status = sqlite3_column_int(q, 10);
}

enum err sq_webhook_endpoint_insert(struct store *st, struct webhook_endpoint *w)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO webhook_endpoints (merchant_id, url, events, secret_sealed, "
                                  "created_ms, removed_ms) VALUES (?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, w->merchant_id);
    sqlite3_bind_text(q, 2, w->url, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, w->events, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 4, w->secret_sealed, (int)sizeof w->secret_sealed, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, w->created_ms);
    sqlite3_bind_int64(q, 6, w->removed_ms);
    return sq_step_insert(db, q, ERR_MERCHANT_NOT_FOUND, "webhook_endpoint_insert", &w->id);
}

enum err sq_webhook_endpoint_set_secret(struct store *st, int64_t id, const uint8_t sealed[WEBHOOK_SEALED_LEN])
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE webhook_endpoints SET secret_sealed = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_blob(q, 1, sealed, WEBHOOK_SEALED_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "webhook_endpoint_set_secret");
}

enum err sq_webhook_endpoint_get(struct store *st, int64_t id, struct webhook_endpoint *out)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " ENDPOINT_COLS " FROM webhook_endpoints WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    return sq_get_one(db, q, ERR_NOT_FOUND, read_endpoint, out);
}

enum err sq_webhook_endpoint_list(struct store *st, int64_t merchant_id, bool with_removed, int64_t after_id,
                                  size_t max, struct webhook_endpoint *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " ENDPOINT_COLS " FROM webhook_endpoints "
                                  "WHERE (? = 0 OR merchant_id = ?) AND (? OR removed_ms = 0) AND id > ? "
                                  "ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, merchant_id);
    sqlite3_bind_int64(q, 2, merchant_id);
    sqlite3_bind_int(q, 3, with_removed ? 1 : 0);
    sqlite3_bind_int64(q, 4, after_id);
    sqlite3_bind_int64(q, 5, sq_limit(max));
    return sq_get_many(db, q, read_endpoint, out, sizeof *out, max, n);
}

enum err sq_webhook_endpoint_remove(struct store *st, int64_t id, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE webhook_endpoints SET removed_ms = ? WHERE id = ? AND removed_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now > 0 ? now : 1);
    sqlite3_bind_int64(q, 2, id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "webhook_endpoint_remove");
}

enum err sq_webhook_delivery_insert(struct store *st, struct webhook_delivery *d)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO webhook_deliveries (endpoint_id, event_id, type, body, created_ms, "
                                  "attempts, next_ms, sent_ms, failed_ms, last_status) "
                                  "VALUES (?, ?, ?, ?, ?, 0, ?, 0, 0, 0)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, d->endpoint_id);
    sqlite3_bind_text(q, 2, d->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, d->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, d->body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, d->created_ms);
    sqlite3_bind_int64(q, 6, d->next_ms);
    return sq_step_insert(db, q, ERR_NOT_FOUND, "webhook_delivery_insert", &d->id);
}

enum err sq_webhook_delivery_pending(struct store *st, int64_t after_id, int64_t now, size_t max,
                                     struct webhook_delivery *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT " DELIVERY_COLS " FROM webhook_deliveries "
                                  "WHERE sent_ms = 0 AND failed_ms = 0 AND id > ? AND next_ms <= ? "
                                  "ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, now);
    sqlite3_bind_int64(q, 3, sq_limit(max));
    return sq_get_many(db, q, read_delivery, out, sizeof *out, max, n);
}

enum err sq_webhook_delivery_update(struct store *st, const struct webhook_delivery *d)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE webhook_deliveries SET attempts = ?, next_ms = ?, sent_ms = ?, "
                                  "failed_ms = ?, last_status = ? WHERE id = ? AND sent_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, d->attempts);
    sqlite3_bind_int64(q, 2, d->next_ms);
    sqlite3_bind_int64(q, 3, d->sent_ms);
    sqlite3_bind_int64(q, 4, d->failed_ms);
    sqlite3_bind_int(q, 5, d->last_status);
    sqlite3_bind_int64(q, 6, d->id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "webhook_delivery_update");
}

/* ---- customers' live feed (notify/feed.h) -------------------------------- */

static void read_feed_event(sqlite3_stmt *q, void *out)
{
    struct feed_event *e = out;
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(q, 0);
    e->customer_id = sqlite3_column_int64(q, 1);
    sq_text(q, 2, e->type, sizeof e->type);
    sq_text(q, 3, e->body, sizeof e->body);
    e->created_ms = sqlite3_column_int64(q, 4);
}

enum err sq_feed_event_insert(struct store *st, struct feed_event *e)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q =
        sq_stmt(db, "INSERT INTO customer_events (customer_id, type, body, created_ms) VALUES (?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, e->customer_id);
    sqlite3_bind_text(q, 2, e->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, e->body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, e->created_ms);
    return sq_step_insert(db, q, ERR_STORE, "feed_event_insert", &e->id);
}

enum err sq_feed_event_list(struct store *st, int64_t customer_id, int64_t after_id, size_t max,
                            struct feed_event *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT id, customer_id, type, body, created_ms FROM customer_events "
                                  "WHERE customer_id = ? AND id > ? ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_int64(q, 2, after_id);
    sqlite3_bind_int64(q, 3, sq_limit(max));
    return sq_get_many(db, q, read_feed_event, out, sizeof *out, max, n);
}

enum err sq_feed_event_list_all(struct store *st, int64_t after_id, size_t max, struct feed_event *out, size_t *n)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "SELECT id, customer_id, type, body, created_ms FROM customer_events "
                                  "WHERE id > ? ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, sq_limit(max));
    return sq_get_many(db, q, read_feed_event, out, sizeof *out, max, n);
}

enum err sq_feed_event_last(struct store *st, int64_t customer_id, int64_t *id)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = customer_id > 0 ? sq_stmt(db, "SELECT coalesce(max(id), 0) FROM customer_events WHERE "
                                                    "customer_id = ?")
                                      : sq_stmt(db, "SELECT coalesce(max(id), 0) FROM customer_events");
    if (q == NULL)
        return ERR_STORE;
    if (customer_id > 0)
        sqlite3_bind_int64(q, 1, customer_id);
    *id = 0;
    return sq_get_one(db, q, ERR_STORE, sq_read_int64, id);
}
