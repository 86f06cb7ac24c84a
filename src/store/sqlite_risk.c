/* sqlite_risk.c: the risk engine's decisions (table risk_decisions,
 * migration 12) and the recent history its warm-up replays.
 *
 * Decisions are appended (the id is the row id) and read back per customer
 * through risk_decisions_customer (customer_id, id), newest first.
 *
 * The history scan reads four tables without adding an index to any:
 *  - payments: no index on created_ms (payments are written by every
 *    charge; an index is a random B-tree page per payment), but ids are
 *    ledger transfer ids, assigned in commit order, so the newest rows are
 *    walked by id downwards and the walk stops at the first row older than
 *    since_ms by more than SCAN_SLACK_MS (a payment's time is taken just
 *    before its commit, so times and ids agree to within that);
 *  - topups: the same, by id (an autoincrement in creation order);
 *  - payment_refunds: the same, by id (the refund's transfer id);
 *  - card_attempts: through card_attempts_age (at_ms).
 */
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/err.h"

#define SCAN_SLACK_MS (5 * 60 * 1000)

#define RD_COLS "id, at_ms, kind, customer_id, device_id, store_id, amount, decision, score, reasons, ref"

static void read_decision(sqlite3_stmt *q, void *out)
{
    struct risk_decision_row *d = out;
    d->id = sqlite3_column_int64(q, 0);
    d->at_ms = sqlite3_column_int64(q, 1);
    sq_text(q, 2, d->kind, sizeof d->kind);
    d->customer_id = sqlite3_column_int64(q, 3);
    d->device_id = sqlite3_column_int64(q, 4);
    d->store_id = sqlite3_column_int64(q, 5);
    d->amount = sqlite3_column_int64(q, 6);
    sq_text(q, 7, d->decision, sizeof d->decision);
    d->score = sqlite3_column_int(q, 8);
    sq_text(q, 9, d->reasons, sizeof d->reasons);
    sq_text(q, 10, d->ref, sizeof d->ref);
}

enum err sq_risk_decision_insert(struct store *st, struct risk_decision_row *d)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO risk_decisions (at_ms, kind, customer_id, device_id, store_id, amount, "
                                 "decision, score, reasons, ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, d->at_ms);
    sqlite3_bind_text(q, 2, d->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, d->customer_id);
    sqlite3_bind_int64(q, 4, d->device_id);
    sqlite3_bind_int64(q, 5, d->store_id);
    sqlite3_bind_int64(q, 6, d->amount);
    sqlite3_bind_text(q, 7, d->decision, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 8, d->score);
    sqlite3_bind_text(q, 9, d->reasons, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 10, d->ref, -1, SQLITE_STATIC);
    return sq_step_insert(s, q, ERR_STORE, "risk_decision_insert", &d->id);
}

enum err sq_risk_decision_list(struct store *st, int64_t customer_id, int64_t before_id, size_t max,
                               struct risk_decision_row *out, size_t *n)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT " RD_COLS " FROM risk_decisions WHERE customer_id = ? AND id < ? "
                                 "ORDER BY id DESC LIMIT ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, customer_id);
    sqlite3_bind_int64(q, 2, before_id > 0 ? before_id : INT64_MAX);
    sqlite3_bind_int64(q, 3, sq_limit(max));
    return sq_get_many(s, q, read_decision, out, sizeof *out, max, n);
}

/* Columns every history query starts with, in this order: at_ms,
 * customer_id, the customer's created_ms, device_id, the device's public
 * key. */
static void read_common(sqlite3_stmt *q, struct risk_history_row *h)
{
    h->at_ms = sqlite3_column_int64(q, 0);
    h->customer_id = sqlite3_column_int64(q, 1);
    h->customer_created_ms = sqlite3_column_int64(q, 2);
    h->device_id = sqlite3_column_int64(q, 3);
    sq_text(q, 4, h->device_public_key, sizeof h->device_public_key);
}

/* The store's category and place, from columns col (present), col + 1..3. */
static void read_store(sqlite3_stmt *q, int col, struct risk_history_row *h)
{
    h->has_location = sqlite3_column_int(q, col) != 0;
    sq_text(q, col + 1, h->category, sizeof h->category);
    h->lat_e6 = sqlite3_column_int64(q, col + 2);
    h->lon_e6 = sqlite3_column_int64(q, col + 3);
}

#define COMMON_JOINS(t)                                                                                              \
    " LEFT JOIN customers c ON c.id = " t ".customer_id LEFT JOIN devices d ON d.id = " t ".device_id"
#define STORE_COLS "s.id IS NOT NULL, coalesce(s.category, ''), coalesce(s.lat_e6, 0), coalesce(s.lon_e6, 0)"

/* What a row reader makes of the row it was given. */
enum row_verdict { ROW_USE, ROW_SKIP, ROW_STOP };

/* A table walked by id downwards: rows newer than since_ms are used, and
 * the walk stops once they are older by more than SCAN_SLACK_MS. */
static enum row_verdict by_id_window(const struct risk_history_row *h, int64_t since_ms)
{
    if (h->at_ms < since_ms - SCAN_SLACK_MS)
        return ROW_STOP;
    return h->at_ms < since_ms ? ROW_SKIP : ROW_USE;
}

static enum row_verdict read_payment(sqlite3_stmt *q, int64_t since_ms, struct risk_history_row *h)
{
    enum row_verdict v = by_id_window(h, since_ms);
    if (v != ROW_USE)
        return v;
    h->kind = sqlite3_column_int(q, 5) == PAYMENT_P2P ? RISK_P2P : RISK_PAYMENT;
    h->outcome = RISK_DONE;
    h->store_id = sqlite3_column_int64(q, 6);
    h->terminal_id = sqlite3_column_int64(q, 7);
    h->amount = sqlite3_column_int64(q, 8);
    h->counterparty_id = sqlite3_column_int64(q, 9);
    read_store(q, 10, h);
    h->counterparty_created_ms = sqlite3_column_int64(q, 14);
    return ROW_USE;
}

/* A failed top-up counts as a card decline when the issuer said no. */
static bool issuer_declined(const char *code)
{
    const enum err declines[] = {ERR_CARD_DECLINED, ERR_CARD_INSUFFICIENT_FUNDS, ERR_CARD_EXPIRED, ERR_INCORRECT_CVC};
    for (size_t i = 0; i < sizeof declines / sizeof declines[0]; i++)
        if (strcmp(code, err_symbol(declines[i])) == 0)
            return true;
    return false;
}

static enum row_verdict read_topup(sqlite3_stmt *q, int64_t since_ms, struct risk_history_row *h)
{
    enum row_verdict v = by_id_window(h, since_ms);
    if (v != ROW_USE)
        return v;
    char decline[DECLINE_CODE_MAX + 1];
    sq_text(q, 6, decline, sizeof decline);
    int status = sqlite3_column_int(q, 5);
    if (status == TOPUP_SUCCEEDED || status == TOPUP_AUTHORIZED) /* charged: credited now or by the reconciler */
        h->outcome = RISK_DONE;
    else if (issuer_declined(decline))
        h->outcome = RISK_DECLINED;
    else
        return ROW_SKIP; /* refused by kessai itself: not an issuer's answer */
    h->kind = RISK_TOPUP;
    h->store_id = sqlite3_column_int64(q, 7);
    h->terminal_id = sqlite3_column_int64(q, 8);
    h->amount = sqlite3_column_int64(q, 9);
    if (sqlite3_column_bytes(q, 10) == CARD_FINGERPRINT_BYTES) {
        h->has_card = true;
        memcpy(h->card_fingerprint, sqlite3_column_blob(q, 10), CARD_FINGERPRINT_BYTES);
    }
    read_store(q, 11, h);
    return ROW_USE;
}

/* A refund or void a register gave, counted at the register's store. */
static enum row_verdict read_refund(sqlite3_stmt *q, int64_t since_ms, struct risk_history_row *h)
{
    enum row_verdict v = by_id_window(h, since_ms);
    if (v != ROW_USE)
        return v;
    h->kind = RISK_REFUND;
    h->outcome = RISK_DONE;
    h->store_id = sqlite3_column_int64(q, 5);
    h->terminal_id = sqlite3_column_int64(q, 6);
    h->amount = sqlite3_column_int64(q, 7);
    return ROW_USE;
}

/* Card attempts are selected by time in SQL (card_attempts_age). */
static enum row_verdict read_card_attempt(sqlite3_stmt *q, int64_t since_ms, struct risk_history_row *h)
{
    (void)since_ms;
    int outcome = sqlite3_column_int(q, 5);
    h->kind = RISK_CARD_LINK;
    h->outcome = outcome == CARD_ATTEMPT_DECLINED || outcome == CARD_ATTEMPT_CVC ? RISK_DECLINED
                 : outcome == CARD_ATTEMPT_OK                                    ? RISK_DONE
                                                                                 : RISK_FAILED;
    sq_text(q, 6, h->client_addr, sizeof h->client_addr);
    return ROW_USE;
}

/* Step q (prepared, bound) to its end or the reader's ROW_STOP, handing fn
 * every row the reader uses; what names the query in a failure. */
static enum err scan(struct sqlite_store *s, sqlite3_stmt *q, const char *what, int64_t since_ms,
                     enum row_verdict (*read)(sqlite3_stmt *, int64_t, struct risk_history_row *),
                     store_risk_history_fn fn, void *ctx)
{
    if (q == NULL)
        return ERR_STORE;
    enum err e = ERR_OK;
    int rc = SQLITE_DONE;
    while (e == ERR_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct risk_history_row h;
        memset(&h, 0, sizeof h);
        read_common(q, &h);
        enum row_verdict v = read(q, since_ms, &h);
        if (v == ROW_STOP)
            break;
        if (v == ROW_USE)
            e = fn(ctx, &h);
    }
    if (e == ERR_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        e = sq_fail(s, what);
    sq_done(q);
    return e;
}

enum err sq_risk_history_scan(struct store *st, int64_t since_ms, store_risk_history_fn fn, void *ctx)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "SELECT p.created_ms, p.customer_id, coalesce(c.created_ms, 0), p.device_id, "
                                 "coalesce(d.public_key, ''), p.kind, p.store_id, p.terminal_id, p.amount, "
                                 "p.counterparty_id, " STORE_COLS ", coalesce(r.created_ms, 0) FROM payments p"
                                 COMMON_JOINS("p") " LEFT JOIN stores s ON s.id = p.store_id AND p.store_id != 0"
                                 " LEFT JOIN customers r ON r.id = p.counterparty_id AND p.counterparty_id != 0"
                                 " ORDER BY p.id DESC");
    enum err e = scan(s, q, "risk_history_payments", since_ms, read_payment, fn, ctx);
    if (e != ERR_OK)
        return e;
    q = sq_stmt(s, "SELECT t.created_ms, t.customer_id, coalesce(c.created_ms, 0), t.device_id, "
                   "coalesce(d.public_key, ''), t.status, t.decline_code, t.store_id, t.terminal_id, "
                   "t.amount, k.fingerprint, " STORE_COLS " FROM topups t" COMMON_JOINS("t")
                   " LEFT JOIN cards k ON k.id = t.card_id AND t.card_id != 0"
                   " LEFT JOIN stores s ON s.id = t.store_id AND t.store_id != 0"
                   " WHERE t.status IN (3, 4, 5) ORDER BY t.id DESC"); /* AUTHORIZED, SUCCEEDED, FAILED */
    e = scan(s, q, "risk_history_topups", since_ms, read_topup, fn, ctx);
    if (e != ERR_OK)
        return e;
    q = sq_stmt(s, "SELECT created_ms, customer_id, 0, 0, '', store_id, terminal_id, amount FROM payment_refunds"
                   " ORDER BY id DESC");
    e = scan(s, q, "risk_history_refunds", since_ms, read_refund, fn, ctx);
    if (e != ERR_OK)
        return e;
    q = sq_stmt(s, "SELECT a.at_ms, a.customer_id, coalesce(c.created_ms, 0), a.device_id, "
                   "coalesce(d.public_key, ''), a.outcome, a.client_addr FROM card_attempts a"
                   COMMON_JOINS("a") " WHERE a.at_ms >= ?");
    if (q != NULL)
        sqlite3_bind_int64(q, 1, since_ms);
    return scan(s, q, "risk_history_card_attempts", since_ms, read_card_attempt, fn, ctx);
}
