/* sqlite.c: the embedded store: connection, pragmas, migrations, transactions.
 *
 * Invariants:
 *  1. journal_mode=WAL and synchronous=FULL on every connection: a COMMIT
 *     returns only after the WAL is fsync'd, so "committed" means durable.
 *  2. Statements are prepared once per connection and reset after every use
 *     (sq_done), so no connection holds a stale read snapshot.
 *  3. Migrations run in one IMMEDIATE transaction each; a database whose
 *     schema is newer than this program is refused, never written.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "store/code_index.h"
#include "store/seen_set.h"
#include "store/sqlite_internal.h"
#include "util/log.h"

enum err sq_fail(struct sqlite_store *s, const char *what)
{
    log_event(LOG_ERROR, "store_error",
              json_pack("{s:s, s:s, s:i}", "op", what, "detail", sqlite3_errmsg(s->db), "code",
                        sqlite3_extended_errcode(s->db)));
    return ERR_STORE;
}

static void snapshot_end(struct sqlite_store *s);

/* A statement that writes ends a snapshot first (store.h): inside the
 * snapshot's read transaction its write lock would fail (SQLITE_BUSY_SNAPSHOT)
 * as soon as another connection had committed. */
static sqlite3_stmt *ready(struct sqlite_store *s, sqlite3_stmt *st)
{
    if (s->snapshot && !sqlite3_stmt_readonly(st))
        snapshot_end(s);
    return st;
}

/* The slot of sql's statement, or the free slot where it goes.  The
 * texts are static strings a few bytes apart or more: their addresses'
 * low bits, mixed, spread well. */
static size_t stmt_slot(const struct sqlite_store *s, const char *sql)
{
    uint64_t h = (uint64_t)(uintptr_t)sql * 0x9e3779b97f4a7c15ULL;
    size_t i = (size_t)(h >> 40) & (SQ_STMT_SLOTS - 1);
    while (s->sql[i] != NULL && s->sql[i] != sql)
        i = (i + 1) & (SQ_STMT_SLOTS - 1);
    return i;
}

sqlite3_stmt *sq_stmt(struct sqlite_store *s, const char *sql)
{
    size_t i = stmt_slot(s, sql);
    if (s->sql[i] == sql) {
        sqlite3_clear_bindings(s->stmt[i]);
        return ready(s, s->stmt[i]);
    }
    if (s->nstmt == SQ_MAX_STMTS) {
        log_event(LOG_ERROR, "store_error", json_pack("{s:s}", "detail", "statement cache full"));
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        sq_fail(s, "prepare");
        return NULL;
    }
    s->sql[i] = sql;
    s->stmt[i] = st;
    s->nstmt++;
    return ready(s, st);
}

enum err sq_purge(struct sqlite_store *s, enum sq_purge_table table, int64_t now, const char *sql, int64_t before,
                  const char *what)
{
    int64_t *last = &s->purged_ms[table];
    if (*last != 0 && now - *last < SQ_PURGE_EVERY_MS && now >= *last)
        return ERR_OK;
    *last = now;
    sqlite3_stmt *q = sq_stmt(s, sql);
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, before);
    return sq_step_many(s, q, what, NULL);
}

void sq_done(sqlite3_stmt *stmt)
{
    if (stmt)
        sqlite3_reset(stmt);
}

void sq_text(sqlite3_stmt *st, int col, char *buf, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t len = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (len >= n)
        len = n - 1;
    if (len)
        memcpy(buf, t, len);
    buf[len] = '\0';
}

/* Step a statement expected to return at most one row. */
enum err sq_get_one(struct sqlite_store *s, sqlite3_stmt *q, enum err not_found,
                        void (*read)(sqlite3_stmt *, void *), void *out)
{
    int rc = sqlite3_step(q);
    enum err e = ERR_OK;
    if (rc == SQLITE_ROW)
        read(q, out);
    else if (rc == SQLITE_DONE)
        e = not_found;
    else
        e = sq_fail(s, "select");
    sq_done(q);
    return e;
}

/* Read up to max rows of q (already bound) into out, an array of elements
 * of `size` bytes. */
enum err sq_get_many(struct sqlite_store *s, sqlite3_stmt *q, void (*read)(sqlite3_stmt *, void *), void *out,
                         size_t size, size_t max, size_t *n)
{
    enum err e = ERR_OK;
    size_t k = 0;
    int rc = SQLITE_DONE;
    while (k < max && (rc = sqlite3_step(q)) == SQLITE_ROW)
        read(q, (char *)out + k++ * size);
    if (k < max && rc != SQLITE_DONE)
        e = sq_fail(s, "list");
    sq_done(q);
    *n = e == ERR_OK ? k : 0;
    return e;
}

void sq_read_int(sqlite3_stmt *q, void *out) { *(int *)out = sqlite3_column_int(q, 0); }
void sq_read_int64(sqlite3_stmt *q, void *out) { *(int64_t *)out = sqlite3_column_int64(q, 0); }

/* LIMIT takes an int64; a size_t beyond it is as good as "all". */
sqlite3_int64 sq_limit(size_t max) { return max > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)max; }

/* Step an INSERT; map constraint failures: a foreign key means the parent
 * row is gone (fk_err), anything else a duplicate key (ERR_CONFLICT). */
enum err sq_step_insert(struct sqlite_store *s, sqlite3_stmt *q, enum err fk_err, const char *what,
                            int64_t *id)
{
    int rc = sqlite3_step(q);
    int xrc = sqlite3_extended_errcode(s->db);
    sq_done(q);
    if (rc == SQLITE_CONSTRAINT)
        return xrc == SQLITE_CONSTRAINT_FOREIGNKEY ? fk_err : ERR_CONFLICT;
    if (rc != SQLITE_DONE)
        return sq_fail(s, what);
    *id = sqlite3_last_insert_rowid(s->db);
    return ERR_OK;
}

/* Step an UPDATE of one row by id; not_found if no row has that id.  SQLite
 * counts matched rows even when the value does not change, so setting a
 * flag twice is not "not found". */
enum err sq_step_update(struct sqlite_store *s, sqlite3_stmt *q, enum err not_found, const char *what)
{
    int rc = sqlite3_step(q);
    sq_done(q);
    if (rc != SQLITE_DONE)
        return sq_fail(s, what);
    return sqlite3_changes(s->db) == 1 ? ERR_OK : not_found;
}

enum err store_memory_new(struct store_memory **out)
{
    struct store_memory *m = calloc(1, sizeof *m);
    if (m == NULL)
        return ERR_NOMEM;
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->codes_mu, NULL);
    *out = m;
    return ERR_OK;
}

void store_memory_free(struct store_memory *m)
{
    if (m == NULL)
        return;
    seen_set_free(m->set);
    code_index_free(m->codes);
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->codes_mu);
    free(m);
}

enum err sq_memory_to_load(struct sqlite_store *s)
{
    /* Outside a transaction each read sees committed rows only. */
    if (!sqlite3_get_autocommit(s->db) && !s->snapshot)
        return ERR_INVALID_PARAM;
    return sq_memory_ready(s);
}

enum err sq_memory_ready(struct sqlite_store *s)
{
    if (s->mem != NULL)
        return ERR_OK;
    enum err e = store_memory_new(&s->mem);
    s->own_mem = e == ERR_OK;
    return e;
}

static enum err exec(struct sqlite_store *s, const char *sql, const char *what)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? ERR_OK : sq_fail(s, what);
}

/* Every rollback of a whole transaction: the rollback hook, for one
 * forced by an error (SQLite calls it after the write lock is released,
 * and not for ROLLBACK TO), and before an explicit one or a close. */
static void rolled_back(void *ctx)
{
    struct sqlite_store *s = ctx;
    sq_nonces_undo(s, 0);
    s->depth = 0;
    s->codes_first = 0;
}

/* Run one cached, parameterless statement to completion. */
static enum err step_cached(struct sqlite_store *s, const char *sql, const char *what)
{
    sqlite3_stmt *st = sq_stmt(s, sql);
    if (st == NULL)
        return ERR_STORE;
    int rc = sqlite3_step(st);
    sq_done(st);
    return rc == SQLITE_DONE ? ERR_OK : sq_fail(s, what);
}

/* The snapshot is over (ended, or a transaction took its place). */
static void snapshot_forget(struct sqlite_store *s)
{
    s->snapshot = false;
    sodium_memzero(&s->memo, sizeof s->memo);
}

static void snapshot_end(struct sqlite_store *s)
{
    if (!s->snapshot)
        return;
    snapshot_forget(s);
    /* Nothing was written in it: a failed COMMIT leaves nothing to keep. */
    if (step_cached(s, "COMMIT", "snapshot_end") != ERR_OK && !sqlite3_get_autocommit(s->db))
        (void)step_cached(s, "ROLLBACK", "snapshot_end");
}

static void sq_snapshot_end(struct store *st) { snapshot_end(sq(st)); }

static enum err sq_snapshot_begin(struct store *st)
{
    struct sqlite_store *s = sq(st);
    if (s->snapshot || !sqlite3_get_autocommit(s->db))
        return ERR_OK;
    snapshot_forget(s); /* nothing kept from before may be served in it */
    enum err e = step_cached(s, "BEGIN DEFERRED", "snapshot_begin");
    s->snapshot = e == ERR_OK;
    return e;
}

static enum err sq_begin(struct store *st)
{
    sq_snapshot_end(st);
    enum err e = step_cached(sq(st), "BEGIN IMMEDIATE", "begin");
    if (e == ERR_OK) {
        sq(st)->depth = 0;
        sq(st)->codes_first = 0;
    }
    return e;
}

/* Deferred: the snapshot is taken by the first read; WAL lets the writer go on. */
static enum err sq_begin_read(struct store *st)
{
    sq_snapshot_end(st);
    return step_cached(sq(st), "BEGIN DEFERRED", "begin_read");
}
static enum err sq_commit(struct store *st)
{
    snapshot_forget(sq(st));
    enum err e = step_cached(sq(st), "COMMIT", "commit");
    if (e == ERR_OK) {
        sq_nonces_released(sq(st));
        sq(st)->codes_first = 0;
    }
    return e;
}
/* SQLite counts SAVEPOINT as read-only, so ready() would not end a snapshot
 * for it, and the first write after it would commit the savepoint along
 * with the snapshot: end it here, as begin() does. */
static enum err sq_savepoint(struct store *st)
{
    sq_snapshot_end(st);
    enum err e = step_cached(sq(st), "SAVEPOINT sp", "savepoint");
    if (e == ERR_OK)
        sq(st)->depth++;
    return e;
}
static enum err sq_release(struct store *st)
{
    enum err e = step_cached(sq(st), "RELEASE sp", "release");
    if (e == ERR_OK) {
        sq(st)->depth--;
        sq_nonces_released(sq(st));
        if (sqlite3_get_autocommit(sq(st)->db))
            sq(st)->codes_first = 0; /* that savepoint was the transaction */
    }
    return e;
}

static enum err sq_rollback(struct store *st)
{
    snapshot_forget(sq(st));
    /* After some errors SQLite has already rolled back; that is not a failure. */
    if (sqlite3_get_autocommit(sq(st)->db))
        return ERR_OK;
    /* The nonces go first, while this transaction still holds the write
     * lock: once it is released another process may commit the same nonce,
     * and a catch-up that found it here still would not keep it. */
    rolled_back(sq(st));
    return step_cached(sq(st), "ROLLBACK", "rollback");
}

static enum err sq_rollback_savepoint(struct store *st)
{
    enum err e = step_cached(sq(st), "ROLLBACK TO sp", "rollback_savepoint");
    if (e != ERR_OK)
        return e;
    sq_nonces_undo(sq(st), sq(st)->depth);
    return sq_release(st);
}

static enum err sq_changed_by_others(struct store *st, bool *changed)
{
    struct sqlite_store *s = sq(st);
    sqlite3_stmt *q = sq_stmt(s, "PRAGMA data_version");
    if (q == NULL)
        return ERR_STORE;
    int rc = sqlite3_step(q);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sq_done(q);
    if (rc != SQLITE_ROW)
        return sq_fail(s, "data_version");
    *changed = v != s->data_version;
    s->data_version = v;
    return ERR_OK;
}

static void sq_close(struct store *st)
{
    struct sqlite_store *s = sq(st);
    rolled_back(s); /* closing rolls back what is open; SQLite does not promise the hook then */
    for (size_t i = 0; i < SQ_STMT_SLOTS; i++)
        sqlite3_finalize(s->stmt[i]); /* NULL: a no-op */
    sqlite3_close(s->db);
    snapshot_forget(s);
    sodium_memzero(s->audit_key, sizeof s->audit_key);
    if (s->own_mem)
        store_memory_free(s->mem);
    free(s->claims);
    free(s);
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .begin_read = sq_begin_read,
    .snapshot_begin = sq_snapshot_begin,
    .snapshot_end = sq_snapshot_end,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .savepoint = sq_savepoint,
    .release_savepoint = sq_release,
    .rollback_savepoint = sq_rollback_savepoint,
    .changed_by_others = sq_changed_by_others,
    .account_insert = sq_account_insert,
    .account_get = sq_account_get,
    .account_find = sq_account_find,
    .account_put_totals = sq_account_put_totals,
    .account_scan = sq_account_scan,
    .transfer_insert = sq_transfer_insert,
    .transfer_get = sq_transfer_get,
    .transfer_get_by_key = sq_transfer_get_by_key,
    .transfer_set_state = sq_transfer_set_state,
    .transfer_sum_reversals = sq_transfer_sum_reversals,
    .transfer_scan = sq_transfer_scan,
    .money_link_scan = sq_money_link_scan,
    .merchant_insert = sq_merchant_insert,
    .merchant_get = sq_merchant_get,
    .merchant_list = sq_merchant_list,
    .mstore_insert = sq_mstore_insert,
    .mstore_get = sq_mstore_get,
    .mstore_list = sq_mstore_list,
    .mstore_set_active = sq_mstore_set_active,
    .terminal_insert = sq_terminal_insert,
    .terminal_get_by_key_id = sq_terminal_get_by_key_id,
    .terminal_list = sq_terminal_list,
    .terminal_revoke = sq_terminal_revoke,
    .staff_insert = sq_staff_insert,
    .staff_get_by_email = sq_staff_get_by_email,
    .staff_list = sq_staff_list,
    .staff_update = sq_staff_update,
    .staff_totp_spend = sq_staff_totp_spend,
    .staff_get = sq_staff_get,
    .staff_session_insert = sq_staff_session_insert,
    .staff_session_find = sq_staff_session_find,
    .staff_session_seen = sq_staff_session_seen,
    .staff_session_revoke = sq_staff_session_revoke,
    .staff_sessions_end = sq_staff_sessions_end,
    .staff_failure_add = sq_staff_failure_add,
    .staff_failure_count = sq_staff_failure_count,
    .staff_failure_clear = sq_staff_failure_clear,
    .customer_insert = sq_customer_insert,
    .customer_get = sq_customer_get,
    .customer_get_by_email = sq_customer_get_by_email,
    .customer_update = sq_customer_update,
    .customer_set_email = sq_customer_set_email,
    .email_code_put = sq_email_code_put,
    .email_code_get = sq_email_code_get,
    .email_code_set_tries = sq_email_code_set_tries,
    .email_code_delete = sq_email_code_delete,
    .email_change_put = sq_email_change_put,
    .email_change_get = sq_email_change_get,
    .email_change_set_tries = sq_email_change_set_tries,
    .email_change_delete = sq_email_change_delete,
    .code_issue_insert = sq_code_issue_insert,
    .code_issue_count = sq_code_issue_count,
    .recovery_codes_replace = sq_recovery_codes_replace,
    .recovery_code_use = sq_recovery_code_use,
    .recovery_codes_left = sq_recovery_codes_left,
    .device_insert = sq_device_insert,
    .device_get = sq_device_get,
    .device_find = sq_device_find,
    .device_touch = sq_device_touch,
    .device_remove = sq_device_remove,
    .device_list = sq_device_list,
    .session_insert = sq_session_insert,
    .session_get = sq_session_get,
    .session_unrevoked = sq_session_unrevoked,
    .session_get_by_token = sq_session_get_by_token,
    .session_update = sq_session_update,
    .session_seen = sq_session_seen,
    .session_list_live = sq_session_list_live,
    .session_revoke_many = sq_session_revoke_many,
    .challenge_insert = sq_challenge_insert,
    .challenge_consume = sq_challenge_consume,
    .reset_token_insert = sq_reset_token_insert,
    .reset_token_get = sq_reset_token_get,
    .reset_token_update = sq_reset_token_update,
    .reset_tokens_void = sq_reset_tokens_void,
    .auth_failure_insert = sq_auth_failure_insert,
    .auth_failure_distinct = sq_auth_failure_distinct,
    .source_block_put = sq_source_block_put,
    .source_block_get = sq_source_block_get,
    .card_insert = sq_card_insert,
    .card_get = sq_card_get,
    .card_update = sq_card_update,
    .card_list = sq_card_list,
    .card_fingerprint_customers = sq_card_fingerprint_customers,
    .card_attempt_insert = sq_card_attempt_insert,
    .card_attempt_set_outcome = sq_card_attempt_set_outcome,
    .card_attempt_count = sq_card_attempt_count,
    .topup_insert = sq_topup_insert,
    .topup_get = sq_topup_get,
    .topup_get_by_idem = sq_topup_get_by_idem,
    .topup_update = sq_topup_update,
    .topup_sum = sq_topup_sum,
    .topup_sum_unsettled = sq_topup_sum_unsettled,
    .topup_expire_challenges = sq_topup_expire_challenges,
    .topup_list = sq_topup_list,
    .topup_list_unfinished = sq_topup_list_unfinished,
    .topup_code_insert = sq_topup_code_insert,
    .topup_code_get = sq_topup_code_get,
    .topup_code_use = sq_topup_code_use,
    .audit_key_set = sq_audit_key_set,
    .audit_backfill = sq_audit_backfill,
    .security_event_insert = sq_security_event_insert,
    .schema_foreign = sq_schema_foreign,
    .security_event_list = sq_security_event_list,
    .security_event_search = sq_security_event_search,
    .outbox_insert = sq_outbox_insert,
    .outbox_pending = sq_outbox_pending,
    .outbox_mark_sent = sq_outbox_mark_sent,
    .outbox_mark_failed = sq_outbox_mark_failed,
    .webhook_endpoint_insert = sq_webhook_endpoint_insert,
    .webhook_endpoint_set_secret = sq_webhook_endpoint_set_secret,
    .webhook_endpoint_get = sq_webhook_endpoint_get,
    .webhook_endpoint_list = sq_webhook_endpoint_list,
    .webhook_endpoint_remove = sq_webhook_endpoint_remove,
    .webhook_delivery_insert = sq_webhook_delivery_insert,
    .webhook_delivery_pending = sq_webhook_delivery_pending,
    .webhook_delivery_update = sq_webhook_delivery_update,
    .feed_event_insert = sq_feed_event_insert,
    .feed_event_list = sq_feed_event_list,
    .feed_event_list_all = sq_feed_event_list_all,
    .feed_event_last = sq_feed_event_last,
    .reversal_insert = sq_reversal_insert,
    .reversal_get = sq_reversal_get,
    .reversal_get_by_key = sq_reversal_get_by_key,
    .reversal_decide = sq_reversal_decide,
    .reversal_list = sq_reversal_list,
    .reversal_compensated = sq_reversal_compensated,
    .reversal_unapproved = sq_reversal_unapproved,
    .reversal_staff_unapproved = sq_reversal_staff_unapproved,
    .pending_op_insert = sq_pending_op_insert,
    .pending_op_get = sq_pending_op_get,
    .pending_op_get_by_key = sq_pending_op_get_by_key,
    .pending_op_decide = sq_pending_op_decide,
    .pending_op_list = sq_pending_op_list,
    .pending_op_lapsed = sq_pending_op_lapsed,
    .dispute_insert = sq_dispute_insert,
    .dispute_get = sq_dispute_get,
    .dispute_get_by_key = sq_dispute_get_by_key,
    .dispute_get_by_payment = sq_dispute_get_by_payment,
    .dispute_decide = sq_dispute_decide,
    .dispute_list = sq_dispute_list,
    .killswitch_get = sq_killswitch_get,
    .killswitch_put = sq_killswitch_put,
    .killswitch_list = sq_killswitch_list,
    .pos_nonce_insert = sq_pos_nonce_insert,
    .pos_nonce_seen = sq_pos_nonce_seen,
    .pos_nonces_load = sq_pos_nonces_load,
    .paycode_insert = sq_paycode_insert,
    .paycode_get = sq_paycode_get,
    .paycode_use = sq_paycode_use,
    .paycodes_load = sq_paycodes_load,
    .offline_key_put = sq_offline_key_put,
    .offline_key_get = sq_offline_key_get,
    .paycodes_revoke = sq_paycodes_revoke,
    .offline_use_insert = sq_offline_use_insert,
    .payment_insert = sq_payment_insert,
    .payment_get = sq_payment_get,
    .payment_add_refund = sq_payment_add_refund,
    .payment_p2p_sent = sq_payment_p2p_sent,
    .payment_list_store = sq_payment_list_store,
    .payment_refund_insert = sq_payment_refund_insert,
    .payment_last_refund = sq_payment_last_refund,
    .spend_add = sq_spend_add,
    .spend_get = sq_spend_get,
    .freeze_get = sq_freeze_get,
    .freeze_put = sq_freeze_put,
    .freeze_delete = sq_freeze_delete,
    .risk_decision_insert = sq_risk_decision_insert,
    .risk_decision_list = sq_risk_decision_list,
    .risk_history_scan = sq_risk_history_scan,
};

static enum err schema_version(struct sqlite_store *s, int *version)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st, NULL) !=
        SQLITE_OK)
        return sq_fail(s, "schema_version");
    int rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? ERR_OK : sq_fail(s, "schema_version");
}

static enum err migrate(struct sqlite_store *s)
{
    enum err e = exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", "migrate");
    for (;;) {
        int v = 0;
        if (e == ERR_OK)
            e = exec(s, "BEGIN IMMEDIATE", "migrate");
        if (e == ERR_OK)
            e = schema_version(s, &v);
        if (e != ERR_OK)
            break;
        if (v >= sq_schema_version) {
            e = exec(s, "COMMIT", "migrate");
            if (e == ERR_OK && v > sq_schema_version) {
                log_event(LOG_ERROR, "store_schema_too_new",
                          json_pack("{s:i, s:i}", "found", v, "supported", sq_schema_version));
                e = ERR_STORE;
            }
            return e;
        }
        char bump[64];
        snprintf(bump, sizeof bump, "INSERT INTO schema_version VALUES (%d)", v + 1);
        e = exec(s, sq_migrations[v], "migrate");
        if (e == ERR_OK)
            e = exec(s, bump, "migrate");
        if (e == ERR_OK)
            e = exec(s, "COMMIT", "migrate");
        if (e == ERR_OK)
            log_event(LOG_INFO, "store_migrated", json_pack("{s:i}", "version", v + 1));
    }
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return e;
}

/* SQLite's memory statistics put one process-wide mutex around every
 * allocation of every connection; nothing here reads them, and with an HTTP
 * thread per core and the ledger writer all allocating, that mutex is
 * contended (bench/README.md, tenth session).  Must run before SQLite is
 * first used, hence once, here. */
static void sqlite_configure(void)
{
    /* Refused only if SQLite was used already: then it is slower, and
     * test_ledger's guard on SQLite's allocations fails. */
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        log_event(LOG_WARN, "sqlite_memstatus_on", NULL);
}

/* A connection to path opened with flags (the SQLITE_OPEN_* access ones),
 * waiting for another's write lock rather than failing, its SQL
 * functions registered.  *out NULL on failure (logged). */
static enum err connect_to(const char *path, int flags, struct sqlite_store **out)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    pthread_once(&configured, sqlite_configure);
    *out = NULL;
    struct sqlite_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    s->base.ops = &sqlite_ops;
    if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        log_event(LOG_ERROR, "store_open_failed",
                  json_pack("{s:s, s:s}", "path", path, "detail", s->db ? sqlite3_errmsg(s->db) : "no memory"));
        sq_close(&s->base);
        return ERR_STORE;
    }
    /* Another connection (the CLI, a second writer) may hold the write lock
     * briefly; wait for it rather than fail. */
    sqlite3_busy_timeout(s->db, 10000);
    enum err e = exec(s, "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=268435456;",
                      "pragmas");
    if (e == ERR_OK)
        e = sq_audit_register(s);
    if (e != ERR_OK) {
        sq_close(&s->base);
        return e;
    }
    *out = s;
    return ERR_OK;
}

/* The end of an open: s as the caller's store, or closed on error. */
static enum err opened(struct sqlite_store *s, enum err e, struct store **out)
{
    if (e != ERR_OK) {
        sq_close(&s->base);
        return e;
    }
    *out = &s->base;
    return ERR_OK;
}

enum err store_open_sqlite(const char *path, struct store **out)
{
    struct sqlite_store *s = NULL;
    enum err e = connect_to(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s);
    if (e != ERR_OK)
        return e;
    sqlite3_rollback_hook(s->db, rolled_back, s);
    /* Checkpoints every 10,000 pages (40 MB of WAL) rather than SQLite's
     * 1,000: whichever connection's commit crosses the mark runs one (in
     * practice the ledger writer, which makes most commits), and most WAL
     * frames are the same few pages written again and again (the newest
     * leaves of the append-mostly tables), which a checkpoint copies once
     * however often they were written: 13 % less writer time per charge
     * (bench/README.md). */
    e = exec(s,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
             "PRAGMA wal_autocheckpoint=10000;",
             "pragmas");
    if (e == ERR_OK)
        e = migrate(s);
    return opened(s, e, out);
}

enum err store_open_sqlite_readonly(const char *path, struct store **out)
{
    struct sqlite_store *s = NULL;
    enum err e = connect_to(path, SQLITE_OPEN_READONLY, &s);
    if (e != ERR_OK)
        return e;
    int v = 0;
    e = schema_version(s, &v);
    if (e == ERR_OK && v != sq_schema_version) {
        log_event(LOG_ERROR, v < sq_schema_version ? "store_schema_too_old" : "store_schema_too_new",
                  json_pack("{s:i, s:i}", "found", v, "supported", sq_schema_version));
        e = v < sq_schema_version ? ERR_SCHEMA_OLD : ERR_STORE;
    }
    return opened(s, e, out);
}

enum err store_open_sqlite_audited(const char *path, const uint8_t *audit_key, struct store_memory *mem,
                                   struct store **out)
{
    struct store *st = NULL;
    enum err e = store_open_sqlite(path, &st);
    if (e == ERR_OK && audit_key != NULL)
        e = st->ops->audit_key_set(st, audit_key);
    if (e == ERR_OK)
        sq(st)->mem = mem;
    if (e != ERR_OK) {
        store_close(st);
        return e;
    }
    *out = st;
    return ERR_OK;
}

void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}
