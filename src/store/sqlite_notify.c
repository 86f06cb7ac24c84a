/* sqlite_notify.c: the mail outbox on SQLite (security events: sqlite_audit.c). */
#include <string.h>

#include "store/sqlite_internal.h"

static void read_outbox(sqlite3_stmt *q, void *out)
{
    struct outbox_msg *m = out;
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(q, 0);
    sq_text(q, 1, m->ref, sizeof m->ref);
    const void *b = sqlite3_column_blob(q, 2);
    int len = sqlite3_column_bytes(q, 2);
    /* An oversized row cannot have been written by outbox_insert; leaving it
     * empty makes it fail to open, which the deliverer reports. */
    if (b && len > 0 && (size_t)len <= sizeof m->sealed) {
        memcpy(m->sealed, b, (size_t)len);
        m->sealed_len = (size_t)len;
    }
    m->created_ms = sqlite3_column_int64(q, 3);
    m->sent_ms = sqlite3_column_int64(q, 4);
    m->attempts = sqlite3_column_int(q, 5);
    m->next_ms = sqlite3_column_int64(q, 6);
    m->failed_ms = sqlite3_column_int64(q, 7);
}

enum err sq_outbox_insert(struct store *st, struct outbox_msg *m)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "INSERT INTO outbox (ref, sealed, created_ms, sent_ms) VALUES (?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, m->ref, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, m->sealed, (int)m->sealed_len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, m->created_ms);
    sqlite3_bind_int64(q, 4, m->sent_ms);
    return sq_step_insert(db, q, ERR_STORE, "outbox_insert", &m->id);
}

enum err sq_outbox_pending(struct store *st, int64_t after_id, int64_t now, size_t max, struct outbox_msg *out,
                           size_t *n)
{
    struct sqlite_store *db = sq(st);
    /* The partial index outbox_pending holds only what is still to go, so
     * sent and given-up mail costs nothing here; messages waiting out
     * their back-off are skipped by the filter. */
    sqlite3_stmt *q = sq_stmt(db, "SELECT id, ref, sealed, created_ms, sent_ms, attempts, next_ms, failed_ms "
                                  "FROM outbox WHERE sent_ms = 0 AND failed_ms = 0 AND id > ? AND next_ms <= ? "
                                  "ORDER BY id LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, now);
    sqlite3_bind_int64(q, 3, sq_limit(max));
    return sq_get_many(db, q, read_outbox, out, sizeof *out, max, n);
}

enum err sq_outbox_mark_sent(struct store *st, int64_t id, int64_t now)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q = sq_stmt(db, "UPDATE outbox SET sent_ms = ? WHERE id = ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now > 0 ? now : 1);
    sqlite3_bind_int64(q, 2, id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "outbox_mark_sent");
}

enum err sq_outbox_mark_failed(struct store *st, int64_t id, int attempts, int64_t next_ms, int64_t failed_ms)
{
    struct sqlite_store *db = sq(st);
    sqlite3_stmt *q =
        sq_stmt(db, "UPDATE outbox SET attempts = ?, next_ms = ?, failed_ms = ? WHERE id = ? AND sent_ms = 0");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int(q, 1, attempts);
    sqlite3_bind_int64(q, 2, next_ms);
    sqlite3_bind_int64(q, 3, failed_ms);
    sqlite3_bind_int64(q, 4, id);
    return sq_step_update(db, q, ERR_NOT_FOUND, "outbox_mark_failed");
}
