/* sqlite_internal.h: shared by the SQLite store's files (sqlite.c for the
 * connection, transactions and schema; sqlite_ledger.c; sqlite_merchant.c;
 * sqlite_staff.c; sqlite_customer.c, sqlite_email_change.c, sqlite_session.c,
 * sqlite_audit.c, sqlite_notify.c; and the others named below).
 * Not for use outside src/store/. */
#ifndef KESSAI_STORE_SQLITE_INTERNAL_H
#define KESSAI_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "auth/customer_types.h"
#include "merchant/types.h"
#include "store/store.h"

/* Every SQL text of every op, prepared once per connection, in an
 * open-addressed table keyed by the text's address: SQ_STMT_SLOTS slots
 * (a power of two), at most SQ_MAX_STMTS used so that probes stay short. */
#define SQ_STMT_SLOTS 1024
#define SQ_MAX_STMTS 768

enum sq_purge_table { SQ_PURGE_PAYCODES, SQ_PURGE_POS_NONCES, SQ_PURGE_OFFLINE_USES, SQ_PURGE_TABLES };

struct sqlite_store {
    struct store base; /* must be first */
    sqlite3 *db;
    /* Prepared-once statements, keyed by the address of their static SQL
     * text (NULL: a free slot). */
    const char *sql[SQ_STMT_SLOTS];
    sqlite3_stmt *stmt[SQ_STMT_SLOTS];
    int nstmt;
    int64_t data_version; /* last seen PRAGMA data_version (changed_by_others) */
    bool snapshot;        /* a snapshot_begin() read transaction is open */
    /* Rows read inside that snapshot, kept until it ends (sq_memo_live):
     * it cannot change under them, and one request reads its customer,
     * device and terminal several times (session, code, risk, receipt).
     * Wiped when the snapshot begins and ends: the customer row holds the
     * password hash. */
    struct {
        bool customer_ok, device_ok, terminal_ok;
        struct customer customer;
        struct customer_device device;
        struct merchant_terminal terminal;
    } memo;
    /* When this connection last purged each table of short-lived rows
     * (sq_purge). */
    int64_t purged_ms[SQ_PURGE_TABLES];
    /* The audit log's MAC key (audit_key_set; wiped at close): appends
     * fail until it is set. */
    uint8_t audit_key[AUDIT_KEY_BYTES];
    bool audit_key_set;
    /* What the process keeps in memory of the file (store_memory: the POS
     * nonces seen, sqlite_pos.c; the payment codes' hashes,
     * sqlite_paycode.c): kessaid's, shared by all its connections, or
     * (own_mem) this connection's, made at its first use and freed at
     * close. */
    struct store_memory *mem;
    bool own_mem;
    /* The nonces added by the open transaction, each with the depth of
     * savepoints it was added at: undone with whatever rolls them back
     * (sq_nonces_*), or the set would refuse a nonce the database never
     * kept — a refused charge spends its nonce again on its own. */
    struct sq_claim {
        uint64_t tag;
        int64_t at_ms, seq; /* seq: its row in pos_nonce_log */
        int depth;
    } *claims;
    size_t nclaims, claims_cap;
    int depth; /* savepoints open */
    /* The first paycodes row the open transaction inserted (0: none):
     * rows from it on may still roll back (sqlite_paycode.c). */
    int64_t codes_first;
};

/* What the connections to one database file share in memory (store.h).
 * The POS nonces seen in the last minutes (store/seen_set.h): the rows of
 * pos_nonce_log up to cursor, and the ones their open transactions added
 * (sqlite_pos.c).  The live payment codes (store/code_index.h): the rows of
 * paycodes up to codes_cursor, all committed (sqlite_paycode.c). */
struct store_memory {
    pthread_mutex_t mu;
    struct seen_set *set; /* NULL until the first nonce */
    int64_t cursor;
    pthread_mutex_t codes_mu;
    struct code_index *codes; /* NULL until the first code */
    int64_t codes_cursor;
    int64_t codes_now; /* the latest created_ms read: what "expired" is judged by */
};

/* s->mem, or (none given at open) its own, made now.  ERR_NOMEM. */
enum err sq_memory_ready(struct sqlite_store *s);
/* sq_memory_ready for reading a whole table into it at start: only
 * outside a transaction (else ERR_INVALID_PARAM), where every row read is
 * committed. */
enum err sq_memory_to_load(struct sqlite_store *s);

/* The transaction hooks of the claims (sqlite.c calls them). */
/* ROLLBACK TO the innermost savepoint (at depth s->depth) succeeded, or the
 * whole transaction rolled back (depth 0): forget the nonces added since. */
void sq_nonces_undo(struct sqlite_store *s, int depth);
/* The innermost savepoint was released, or the transaction committed
 * (then autocommit is back and the claims are kept for good). */
void sq_nonces_released(struct sqlite_store *s);

static inline struct sqlite_store *sq(struct store *st) { return (struct sqlite_store *)st; }

/* In a transaction holding the write lock (BEGIN IMMEDIATE, or one that
 * has written). */
static inline bool sq_writing(const struct sqlite_store *s)
{
    return sqlite3_txn_state(s->db, "main") == SQLITE_TXN_WRITE;
}

/* Rows may be kept (memo) and served: a snapshot is open and SQLite has not
 * ended its read transaction behind our back (it rolls back on some I/O
 * errors). */
static inline bool sq_memo_live(const struct sqlite_store *s)
{
    return s->snapshot && !sqlite3_get_autocommit(s->db);
}

/* Tables whose rows outlive their use and are deleted in bulk: a row past
 * its time is inert (every reader checks the time), so deleting it may
 * wait.  Deleting expired rows on every insert cost a random B-tree page
 * per row (the paycode hash, the POS nonce); once every
 * SQ_PURGE_EVERY_MS per connection, one delete takes thousands of rows and
 * each index page is written once for all of them. */
#define SQ_PURGE_EVERY_MS 10000
/* When table's purge is due on this connection (the time is noted): run
 * sql, a DELETE whose one parameter is bound to before.  ERR_OK if not due. */
enum err sq_purge(struct sqlite_store *s, enum sq_purge_table table, int64_t now, const char *sql, int64_t before,
                  const char *what);

/* The statement for `sql` (a string literal or other static text), prepared on
 * first use, with bindings cleared.  NULL (and logged) on failure.
 * Every user must call sq_done() on it before returning: a SELECT left
 * mid-way keeps a read snapshot open, which would hide later commits from
 * this connection and stop WAL checkpoints. */
sqlite3_stmt *sq_stmt(struct sqlite_store *s, const char *sql);
/* Reset a statement obtained from sq_stmt (NULL-safe). */
void sq_done(sqlite3_stmt *stmt);
/* Log the connection's last error under `what` and return ERR_STORE. */
enum err sq_fail(struct sqlite_store *s, const char *what);
/* Copy column col as text into buf (size n), truncating safely; "" if NULL. */
void sq_text(sqlite3_stmt *st, int col, char *buf, size_t n);

/* Step a statement expected to return at most one row into out with read;
 * not_found when there is none. */
enum err sq_get_one(struct sqlite_store *s, sqlite3_stmt *q, enum err not_found, void (*read)(sqlite3_stmt *, void *),
                    void *out);
/* Read up to max rows into out, an array of elements of `size` bytes. */
enum err sq_get_many(struct sqlite_store *s, sqlite3_stmt *q, void (*read)(sqlite3_stmt *, void *), void *out,
                     size_t size, size_t max, size_t *n);
/* Row readers for a single integer column (int / int64_t out). */
void sq_read_int(sqlite3_stmt *q, void *out);
void sq_read_int64(sqlite3_stmt *q, void *out);
/* LIMIT for a size_t maximum. */
sqlite3_int64 sq_limit(size_t max);
/* Step an INSERT: ERR_OK and *id, fk_err on a foreign-key failure,
 * ERR_CONFLICT on any other constraint (a duplicate key). */
enum err sq_step_insert(struct sqlite_store *s, sqlite3_stmt *q, enum err fk_err, const char *what, int64_t *id);
/* Step an UPDATE of one row: not_found if no row matched. */
enum err sq_step_update(struct sqlite_store *s, sqlite3_stmt *q, enum err not_found, const char *what);

/* ledger ops (sqlite_ledger.c) */
enum err sq_account_insert(struct store *st, struct ledger_account *a);
enum err sq_account_get(struct store *st, int64_t id, struct ledger_account *out);
enum err sq_account_find(struct store *st, const char *owner, const char *kind, struct ledger_account *out);
enum err sq_account_put_totals(struct store *st, const struct ledger_account *a);
enum err sq_account_scan(struct store *st, store_account_fn fn, void *ctx);
enum err sq_transfer_insert(struct store *st, struct ledger_transfer *t);
enum err sq_transfer_get(struct store *st, int64_t id, struct ledger_transfer *out);
enum err sq_transfer_get_by_key(struct store *st, const char *key, struct ledger_transfer *out);
enum err sq_transfer_set_state(struct store *st, int64_t id, int state);
enum err sq_transfer_sum_reversals(struct store *st, int64_t ref_id, int64_t *sum);
enum err sq_transfer_scan(struct store *st, store_transfer_fn fn, void *ctx);
enum err sq_money_link_scan(struct store *st, store_money_link_fn fn, void *ctx);

/* merchant ops (sqlite_merchant.c) */
enum err sq_merchant_insert(struct store *st, struct merchant *m);
enum err sq_merchant_get(struct store *st, int64_t id, struct merchant *out);
enum err sq_merchant_list(struct store *st, int64_t after_id, size_t max, struct merchant *out, size_t *n);
enum err sq_mstore_insert(struct store *st, struct merchant_store *s);
enum err sq_mstore_get(struct store *st, int64_t id, struct merchant_store *out);
enum err sq_mstore_list(struct store *st, int64_t merchant_id, int64_t after_id, size_t max,
                        struct merchant_store *out, size_t *n);
enum err sq_mstore_set_active(struct store *st, int64_t id, int active);
enum err sq_terminal_insert(struct store *st, struct merchant_terminal *t);
enum err sq_terminal_get_by_key_id(struct store *st, const char *key_id, struct merchant_terminal *out);
enum err sq_terminal_list(struct store *st, int64_t store_id, int64_t after_id, size_t max,
                          struct merchant_terminal *out, size_t *n);
enum err sq_terminal_revoke(struct store *st, int64_t id);

/* staff ops (sqlite_staff.c) */
enum err sq_staff_insert(struct store *st, struct staff *s);
enum err sq_staff_get_by_email(struct store *st, const char *email, struct staff *out);
enum err sq_staff_list(struct store *st, int64_t after_id, size_t max, struct staff *out, size_t *n);
enum err sq_staff_update(struct store *st, const struct staff *s);
enum err sq_staff_totp_spend(struct store *st, int64_t id, int64_t step);
enum err sq_staff_get(struct store *st, int64_t id, struct staff *out);
/* staff sessions (sqlite_staff_session.c) */
enum err sq_staff_session_insert(struct store *st, int64_t staff_id, const uint8_t token_hash[32], int64_t now,
                                 int64_t *id);
enum err sq_staff_session_find(struct store *st, const uint8_t token_hash[32], struct staff_session_row *out);
enum err sq_staff_session_seen(struct store *st, int64_t id, int64_t now);
enum err sq_staff_session_revoke(struct store *st, int64_t id, int64_t now);
enum err sq_staff_sessions_end(struct store *st, int64_t staff_id, int64_t now);
enum err sq_staff_failure_add(struct store *st, int64_t staff_id, int64_t now);
enum err sq_staff_failure_count(struct store *st, int64_t staff_id, int64_t since, int64_t *n);
enum err sq_staff_failure_clear(struct store *st, int64_t staff_id);

/* Shared helpers of the customer files. */
/* Copy a BLOB column of exactly n bytes into out; zeros otherwise. */
void sq_blob(sqlite3_stmt *q, int col, uint8_t *out, size_t n);
/* Step a statement changing any number of rows; *changes (may be NULL). */
enum err sq_step_many(struct sqlite_store *s, sqlite3_stmt *q, const char *what, int *changes);

/* customer ops (sqlite_customer.c) */
enum err sq_customer_insert(struct store *st, struct customer *c);
enum err sq_customer_get(struct store *st, int64_t id, struct customer *out);
enum err sq_customer_get_by_email(struct store *st, const char *email, struct customer *out);
enum err sq_customer_update(struct store *st, const struct customer *c);
enum err sq_customer_set_email(struct store *st, int64_t id, const char *email);
enum err sq_email_code_put(struct store *st, const struct email_code *c);
enum err sq_email_code_get(struct store *st, int64_t customer_id, struct email_code *out);
enum err sq_email_code_set_tries(struct store *st, int64_t customer_id, int tries);
enum err sq_email_code_delete(struct store *st, int64_t customer_id);
enum err sq_recovery_codes_replace(struct store *st, int64_t customer_id, const uint8_t (*hashes)[AUTH_HASH_BYTES], size_t n, int64_t now);
enum err sq_recovery_code_use(struct store *st, int64_t customer_id, const uint8_t hash[AUTH_HASH_BYTES], int64_t now);
enum err sq_recovery_codes_left(struct store *st, int64_t customer_id, int *n);
enum err sq_device_insert(struct store *st, struct customer_device *d);
enum err sq_device_get(struct store *st, int64_t id, struct customer_device *out);
enum err sq_device_find(struct store *st, int64_t customer_id, const char *public_key, struct customer_device *out);
enum err sq_device_touch(struct store *st, int64_t id, int64_t last_seen_ms);
enum err sq_device_remove(struct store *st, int64_t id, int64_t now);
enum err sq_device_list(struct store *st, int64_t customer_id, int64_t after_id, size_t max, struct customer_device *out, size_t *n);

/* pending address changes (sqlite_email_change.c) */
enum err sq_email_change_put(struct store *st, const struct email_change *c);
enum err sq_email_change_get(struct store *st, int64_t customer_id, struct email_change *out);
enum err sq_email_change_set_tries(struct store *st, int64_t customer_id, int tries);
enum err sq_email_change_delete(struct store *st, int64_t customer_id);
enum err sq_code_issue_insert(struct store *st, int64_t customer_id, const char *purpose, int64_t now,
                              int64_t purge_before);
enum err sq_code_issue_count(struct store *st, int64_t customer_id, const char *purpose, int64_t since_ms, int *n);

/* session, challenge, reset and throttle ops (sqlite_session.c) */
enum err sq_session_insert(struct store *st, struct customer_session *s);
enum err sq_session_get(struct store *st, int64_t id, struct customer_session *out);
enum err sq_session_unrevoked(struct store *st, int64_t id, int64_t customer_id, int64_t now_ms, bool *out);
enum err sq_session_get_by_token(struct store *st, const uint8_t token_hash[AUTH_HASH_BYTES], struct customer_session *out);
enum err sq_session_update(struct store *st, const struct customer_session *s);
enum err sq_session_seen(struct store *st, int64_t id, int64_t now);
enum err sq_session_list_live(struct store *st, int64_t customer_id, int64_t now, int64_t seen_after, size_t max, struct customer_session *out, size_t *n);
enum err sq_session_revoke_many(struct store *st, int64_t customer_id, int64_t device_id, int64_t except_id, int64_t now, int *n);
enum err sq_challenge_insert(struct store *st, const uint8_t hash[AUTH_HASH_BYTES], int64_t expires_ms, int64_t now);
enum err sq_challenge_consume(struct store *st, const uint8_t hash[AUTH_HASH_BYTES], int64_t now);
enum err sq_reset_token_insert(struct store *st, struct reset_token *t);
enum err sq_reset_token_get(struct store *st, const uint8_t hash[AUTH_HASH_BYTES], struct reset_token *out);
enum err sq_reset_token_update(struct store *st, const struct reset_token *t);
enum err sq_reset_tokens_void(struct store *st, int64_t customer_id);
enum err sq_auth_failure_insert(struct store *st, int kind, const char *source, const uint8_t email_hash[AUTH_HASH_BYTES], int64_t now, int64_t purge_before);
enum err sq_auth_failure_distinct(struct store *st, int kind, const char *source, int64_t since_ms, int *n);
enum err sq_source_block_put(struct store *st, int kind, const char *source, int64_t until_ms);
enum err sq_source_block_get(struct store *st, int kind, const char *source, int64_t *until_ms);

/* the audit log: security events and staff actions (sqlite_audit.c) */
/* Register kessai_audit_mac() on a new connection. */
enum err sq_audit_register(struct sqlite_store *s);
enum err sq_audit_key_set(struct store *st, const uint8_t key[AUDIT_KEY_BYTES]);
enum err sq_audit_backfill(struct store *st, const uint8_t key[AUDIT_KEY_BYTES], int64_t *legacy);
enum err sq_schema_foreign(struct store *st, char *first, size_t n, int64_t *count);
enum err sq_security_event_insert(struct store *st, struct security_event *e);
enum err sq_security_event_list(struct store *st, int64_t customer_id, int64_t after_id, size_t max, struct security_event *out, size_t *n);
enum err sq_security_event_search(struct store *st, const struct security_event_filter *f, int64_t before_id,
                                  size_t max, struct security_event *out, size_t *n);

/* outbox (sqlite_notify.c) */
enum err sq_outbox_insert(struct store *st, struct outbox_msg *m);
enum err sq_outbox_pending(struct store *st, int64_t after_id, int64_t now, size_t max, struct outbox_msg *out,
                           size_t *n);
enum err sq_outbox_mark_sent(struct store *st, int64_t id, int64_t now);
enum err sq_outbox_mark_failed(struct store *st, int64_t id, int attempts, int64_t next_ms, int64_t failed_ms);

/* merchant webhooks (sqlite_webhook.c) */
enum err sq_webhook_endpoint_insert(struct store *st, struct webhook_endpoint *w);
enum err sq_webhook_endpoint_set_secret(struct store *st, int64_t id, const uint8_t sealed[WEBHOOK_SEALED_LEN]);
enum err sq_webhook_endpoint_get(struct store *st, int64_t id, struct webhook_endpoint *out);
enum err sq_webhook_endpoint_list(struct store *st, int64_t merchant_id, bool with_removed, int64_t after_id,
                                  size_t max, struct webhook_endpoint *out, size_t *n);
enum err sq_webhook_endpoint_remove(struct store *st, int64_t id, int64_t now);
enum err sq_webhook_delivery_insert(struct store *st, struct webhook_delivery *d);
enum err sq_webhook_delivery_pending(struct store *st, int64_t after_id, int64_t now, size_t max,
                                     struct webhook_delivery *out, size_t *n);
enum err sq_webhook_delivery_update(struct store *st, const struct webhook_delivery *d);
enum err sq_feed_event_insert(struct store *st, struct feed_event *e);
enum err sq_feed_event_list(struct store *st, int64_t customer_id, int64_t after_id, size_t max,
                            struct feed_event *out, size_t *n);
enum err sq_feed_event_list_all(struct store *st, int64_t after_id, size_t max, struct feed_event *out, size_t *n);
enum err sq_feed_event_last(struct store *st, int64_t customer_id, int64_t *id);

/* operations waiting before they move money (sqlite_pending.c) */
enum err sq_pending_op_insert(struct store *st, struct pending_op *p);
enum err sq_pending_op_get(struct store *st, int64_t id, struct pending_op *out);
enum err sq_pending_op_get_by_key(struct store *st, const char *key, struct pending_op *out);
enum err sq_pending_op_decide(struct store *st, int64_t id, const char *from, const char *to, int64_t decided_ms,
                              int64_t decided_by, int64_t payment_id, const char *reason, int64_t live_at);
enum err sq_pending_op_list(struct store *st, bool cpm, int64_t customer_id, const char *status, int64_t before_id,
                            int64_t now, size_t max, struct pending_op *out, size_t *n);
enum err sq_pending_op_lapsed(struct store *st, const char *status, int64_t now, size_t max, struct pending_op *out,
                              size_t *n);
/* fraud reversals (sqlite_reversal.c) */
enum err sq_reversal_insert(struct store *st, struct reversal *r);
enum err sq_reversal_get(struct store *st, int64_t id, struct reversal *out);
enum err sq_reversal_get_by_key(struct store *st, int64_t staff_id, const char *idem_key, struct reversal *out);
enum err sq_reversal_decide(struct store *st, int64_t id, const char *status, int64_t decided_by, int64_t decided_ms,
                            int64_t transfer_id);
enum err sq_reversal_list(struct store *st, const char *status, int64_t before_id, size_t max, struct reversal *out,
                          size_t *n);
enum err sq_reversal_compensated(struct store *st, int64_t payment_id, int64_t *sum);
enum err sq_reversal_unapproved(struct store *st, int64_t payment_id, int64_t *sum);
enum err sq_reversal_staff_unapproved(struct store *st, int64_t staff_id, int64_t since_ms, int64_t *sum);
/* fraud reports (sqlite_dispute.c) */
enum err sq_dispute_insert(struct store *st, struct dispute *d);
enum err sq_dispute_get(struct store *st, int64_t id, struct dispute *out);
enum err sq_dispute_get_by_key(struct store *st, int64_t customer_id, const char *idem_key, struct dispute *out);
enum err sq_dispute_get_by_payment(struct store *st, int64_t payment_id, struct dispute *out);
enum err sq_dispute_decide(struct store *st, int64_t id, const char *status, int64_t decided_by, int64_t decided_ms,
                           const char *note, int64_t reversal_id);
enum err sq_dispute_list(struct store *st, int64_t customer_id, const char *status, int64_t before_id, size_t max,
                         struct dispute *out, size_t *n);
/* operator switches (sqlite_killswitch.c) */
enum err sq_killswitch_get(struct store *st, const char *name, struct killswitch *out);
enum err sq_killswitch_put(struct store *st, const struct killswitch *k);
enum err sq_killswitch_list(struct store *st, const char *after, size_t max, struct killswitch *out, size_t *n);

/* cards and card-link attempts (sqlite_card.c) */
enum err sq_card_insert(struct store *st, struct card *c);
enum err sq_card_get(struct store *st, int64_t id, struct card *out);
enum err sq_card_update(struct store *st, const struct card *c);
enum err sq_card_list(struct store *st, int64_t customer_id, int status, int64_t after_id, size_t max,
                      struct card *out, size_t *n);
enum err sq_card_fingerprint_customers(struct store *st, const uint8_t fp[CARD_FINGERPRINT_BYTES],
                                       int64_t except_customer, int *n);
enum err sq_card_attempt_insert(struct store *st, struct card_attempt *a, int64_t purge_before);
enum err sq_card_attempt_set_outcome(struct store *st, int64_t id, int outcome);
enum err sq_card_attempt_count(struct store *st, int64_t customer_id, int64_t device_id, const char *client_addr,
                               int outcome, int64_t since_ms, int *n);

/* top-ups and cash top-up codes (sqlite_topup.c) */
enum err sq_topup_insert(struct store *st, struct topup *t);
enum err sq_topup_get(struct store *st, int64_t id, struct topup *out);
enum err sq_topup_get_by_idem(struct store *st, const char *scope, const char *key, struct topup *out);
enum err sq_topup_update(struct store *st, const struct topup *t);
enum err sq_topup_sum(struct store *st, int64_t customer_id, int64_t device_id, int64_t card_id, int64_t since_ms,
                      int64_t *sum);
enum err sq_topup_sum_unsettled(struct store *st, int64_t customer_id, int64_t *sum);
enum err sq_topup_expire_challenges(struct store *st, int64_t customer_id, int64_t updated_before,
                                    const char *decline_code, int64_t now);
enum err sq_topup_list(struct store *st, int64_t customer_id, int64_t before_id, size_t max, struct topup *out,
                       size_t *n);
enum err sq_topup_list_unfinished(struct store *st, int64_t after_id, int64_t updated_before, size_t max,
                                  struct topup *out, size_t *n);
enum err sq_topup_code_insert(struct store *st, struct topup_code *c, int64_t now);
enum err sq_topup_code_get(struct store *st, const uint8_t hash[32], struct topup_code *out);
enum err sq_topup_code_use(struct store *st, int64_t id, int64_t now);

/* POS request nonces (sqlite_pos.c) */
enum err sq_pos_nonces_load(struct store *st, int64_t now, int64_t since, size_t *count);
enum err sq_pos_nonce_insert(struct store *st, const char *key_id, const char *nonce, int64_t now,
                             int64_t purge_before);
bool sq_pos_nonce_seen(struct store *st, const char *key_id, const char *nonce, int64_t now, int64_t purge_before);

/* payment codes and offline keys (sqlite_paycode.c) */
enum err sq_paycode_insert(struct store *st, struct paycode *c, int64_t now);
enum err sq_paycode_get(struct store *st, const uint8_t hash[32], struct paycode *out);
enum err sq_paycode_use(struct store *st, int64_t id, int64_t now);
enum err sq_paycodes_load(struct store *st, int64_t now, size_t *count);
enum err sq_offline_key_put(struct store *st, const struct offline_key *k);
enum err sq_offline_key_get(struct store *st, int64_t offline_id, struct offline_key *out);
enum err sq_paycodes_revoke(struct store *st, int64_t customer_id, int64_t device_id, int64_t now);
enum err sq_offline_use_insert(struct store *st, int64_t device_id, int64_t offline_id, int64_t step, int64_t now,
                               int64_t purge_before);

/* payments, spending counters and freezes (sqlite_payment.c) */
enum err sq_payment_insert(struct store *st, const struct payment *p);
enum err sq_payment_get(struct store *st, int64_t id, struct payment *out);
enum err sq_payment_add_refund(struct store *st, int64_t id, int64_t amount, int is_void);
enum err sq_payment_p2p_sent(struct store *st, int64_t from, int64_t to, int64_t min_amount, bool *sent);
enum err sq_payment_list_store(struct store *st, int64_t store_id, int64_t after_id, size_t max,
                               struct payment *out, size_t *n);
enum err sq_payment_refund_insert(struct store *st, const struct payment_refund *r);
enum err sq_payment_last_refund(struct store *st, int64_t customer_id, int64_t store_id, int64_t except_payment_id,
                                int64_t since_ms, int64_t *at_ms);
enum err sq_spend_add(struct store *st, int64_t customer_id, const char *period, int64_t amount, int64_t limit,
                      bool *ok);
enum err sq_spend_get(struct store *st, int64_t customer_id, const char *period, int64_t *total);
enum err sq_freeze_get(struct store *st, int64_t customer_id, struct freeze *out);
enum err sq_freeze_put(struct store *st, const struct freeze *f);
enum err sq_freeze_delete(struct store *st, int64_t customer_id);

/* risk decisions and the engine's warm-up history (sqlite_risk.c) */
enum err sq_risk_decision_insert(struct store *st, struct risk_decision_row *d);
enum err sq_risk_decision_list(struct store *st, int64_t customer_id, int64_t before_id, size_t max,
                               struct risk_decision_row *out, size_t *n);
enum err sq_risk_history_scan(struct store *st, int64_t since_ms, store_risk_history_fn fn, void *ctx);

/* schema (sqlite_schema.c): migrations[i] upgrades version i to i+1. */
extern const char *const sq_migrations[];
extern const int sq_schema_version;

#endif
