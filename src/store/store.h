/* store.h: the storage interface.
 *
 * A `struct store` is one connection to the database, used by one thread at a
 * time (the ledger writer owns one; each other user opens its own).  Every
 * operation is a function pointer in `struct store_ops`, so a PostgreSQL
 * implementation (libpq) can fill the same table without changing callers.
 * Implementations embed `struct store` as their first member.
 *
 * Contract for every op:
 *  - returns ERR_OK, a "not found" code named below, ERR_CONFLICT where a
 *    unique key is violated, or ERR_STORE on any database failure (details go
 *    to the log, never to callers);
 *  - output structs are filled completely and owned by the caller;
 *  - inside begin()..commit() all reads see the transaction's own writes.
 *
 * Durability: commit() returns only after the transaction is on stable
 * storage (SQLite: WAL with synchronous=FULL; PostgreSQL: synchronous commit).
 * Nothing is acknowledged to a client before commit() returns ERR_OK.
 */
#ifndef KESSAI_STORE_STORE_H
#define KESSAI_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/customer_types.h"
#include "ledger/types.h"
#include "merchant/types.h"
#include "notify/types.h"
#include "ops/staff_types.h"
#include "util/audit_mac.h"
#include "ops/dispute_types.h"
#include "ops/reversal_types.h"
#include "risk/risk_types.h"
#include "util/err.h"
#include "wallet/pending_types.h"
#include "wallet/wallet_types.h"

struct store;

typedef enum err (*store_account_fn)(void *ctx, const struct ledger_account *a);
typedef enum err (*store_transfer_fn)(void *ctx, const struct ledger_transfer *t);
typedef enum err (*store_risk_history_fn)(void *ctx, const struct risk_history_row *row);

/* A row of a domain table that records money a ledger transfer moved, as
 * ledger_verify cross-checks it against that transfer (money_link_scan). */
struct store_money_link {
    const char *table;   /* "payments", "topups", "reversals" */
    int64_t id;          /* the row's id */
    int64_t transfer_id; /* the transfer it names (a payment: its own id); 0: none */
    int64_t amount;      /* what the row says moved */
    bool moved;          /* its state says the money moved: a payment always, a
                          * top-up SUCCEEDED, a reversal executed */
    uint32_t xfer_flags; /* the transfer's flags: LEDGER_XFER_REVERSAL for a
                          * reversal charged to the store, else 0 */
    int64_t reversed;    /* a payment's refunded: what reversals of its transfer
                          * gave back; -1 for the other tables */
};
typedef enum err (*store_money_link_fn)(void *ctx, const struct store_money_link *l);

struct store_ops {
    const char *name; /* "sqlite", "postgres" */
    void (*close)(struct store *st);

    /* Transactions.  begin() takes the write lock at once (no upgrade
     * deadlocks); savepoints nest inside it. */
    enum err (*begin)(struct store *st);
    /* A read-only snapshot: every read until commit()/rollback() sees the
     * same committed state, while writers go on (used by ledger_verify). */
    enum err (*begin_read)(struct store *st);
    /* The point reads that follow, outside any transaction, share one
     * snapshot until snapshot_end(), or until st writes (begin(),
     * begin_read(), savepoint(), or a write outside a transaction end it first, so code
     * that writes inside needs no care).  One
     * read transaction for a request's dozen reads instead of one each: on
     * SQLite each costs more than its read, and after any commit by another
     * connection each drops the connection's page cache.  Reads see nothing
     * committed after the first of them: never wait for the ledger writer
     * and then read its result inside one.  A no-op inside a transaction.
     * snapshot_end() is safe to call when none is open.  The customer,
     * device and terminal rows read in a snapshot are kept until it ends
     * (a request reads each several times): later reads of the same row
     * cost nothing and see what the snapshot saw. */
    enum err (*snapshot_begin)(struct store *st);
    void (*snapshot_end)(struct store *st);
    enum err (*commit)(struct store *st);
    enum err (*rollback)(struct store *st);
    enum err (*savepoint)(struct store *st);
    enum err (*release_savepoint)(struct store *st);
    enum err (*rollback_savepoint)(struct store *st);
    /* Has any other connection committed since this connection last asked?
     * Lets the ledger writer keep account totals cached between batches
     * while it is the only writer; an implementation that cannot tell
     * (several nodes on one database) must always answer true. */
    enum err (*changed_by_others)(struct store *st, bool *changed);

    /* Ledger accounts.  account_insert sets a->id and a->created_ms. */
    enum err (*account_insert)(struct store *st, struct ledger_account *a);
    enum err (*account_get)(struct store *st, int64_t id, struct ledger_account *out); /* ERR_ACCOUNT_NOT_FOUND */
    enum err (*account_find)(struct store *st, const char *owner, const char *kind,
                             struct ledger_account *out); /* ERR_ACCOUNT_NOT_FOUND */
    /* Overwrite the four totals of account a->id (ledger writer only). */
    enum err (*account_put_totals)(struct store *st, const struct ledger_account *a);
    enum err (*account_scan)(struct store *st, store_account_fn fn, void *ctx); /* stops at first error fn returns */

    /* Ledger transfers.  transfer_insert sets t->id; ERR_CONFLICT if t->key exists. */
    enum err (*transfer_insert)(struct store *st, struct ledger_transfer *t);
    enum err (*transfer_get)(struct store *st, int64_t id, struct ledger_transfer *out); /* ERR_TRANSFER_NOT_FOUND */
    enum err (*transfer_get_by_key)(struct store *st, const char *key,
                                    struct ledger_transfer *out); /* ERR_TRANSFER_NOT_FOUND */
    /* The one mutation a transfer allows: a pending transfer's state. */
    enum err (*transfer_set_state)(struct store *st, int64_t id, int state);
    /* Sum of amounts of REVERSAL transfers whose ref_id is ref_id (0 if none). */
    enum err (*transfer_sum_reversals)(struct store *st, int64_t ref_id, int64_t *sum);
    enum err (*transfer_scan)(struct store *st, store_transfer_fn fn, void *ctx); /* in id order */
    /* Every row of payments, topups and reversals as a store_money_link, one
     * at a time (nothing kept); stops at the first error fn returns.  Read
     * only: ledger_verify calls it inside its begin_read() snapshot. */
    enum err (*money_link_scan)(struct store *st, store_money_link_fn fn, void *ctx);

    /* Merchants, stores, terminals.  Inserts set created_ms; an insert with
     * id 0 lets the store choose the id, one with id > 0 keeps it (stores get
     * random ids chosen by the caller, so that the store's ledger account can
     * be named after its public id in the same transaction, and so that ids
     * do not reveal how many stores exist).  ERR_CONFLICT if the id is taken. */
    enum err (*merchant_insert)(struct store *st, struct merchant *m);
    enum err (*merchant_get)(struct store *st, int64_t id, struct merchant *out); /* ERR_MERCHANT_NOT_FOUND */
    enum err (*merchant_list)(struct store *st, int64_t after_id, size_t max, struct merchant *out, size_t *n);
    enum err (*mstore_insert)(struct store *st, struct merchant_store *s);
    enum err (*mstore_get)(struct store *st, int64_t id, struct merchant_store *out); /* ERR_STORE_NOT_FOUND */
    /* merchant_id 0 lists stores of every merchant. */
    enum err (*mstore_list)(struct store *st, int64_t merchant_id, int64_t after_id, size_t max,
                            struct merchant_store *out, size_t *n);
    enum err (*mstore_set_active)(struct store *st, int64_t id, int active); /* ERR_STORE_NOT_FOUND */
    enum err (*terminal_insert)(struct store *st, struct merchant_terminal *t); /* ERR_CONFLICT on key_id */
    enum err (*terminal_get_by_key_id)(struct store *st, const char *key_id,
                                       struct merchant_terminal *out); /* ERR_TERMINAL_NOT_FOUND */
    /* store_id 0 lists terminals of every store. */
    enum err (*terminal_list)(struct store *st, int64_t store_id, int64_t after_id, size_t max,
                              struct merchant_terminal *out, size_t *n);
    enum err (*terminal_revoke)(struct store *st, int64_t id); /* ERR_TERMINAL_NOT_FOUND */

    /* Staff.  staff_insert sets id and created_ms; ERR_CONFLICT on email. */
    enum err (*staff_insert)(struct store *st, struct staff *s);
    enum err (*staff_get_by_email)(struct store *st, const char *email, struct staff *out); /* ERR_STAFF_NOT_FOUND */
    enum err (*staff_list)(struct store *st, int64_t after_id, size_t max, struct staff *out, size_t *n);
    /* Overwrite password_hash, totp_confirmed, totp_last_step, disabled of s->id. */
    enum err (*staff_update)(struct store *st, const struct staff *s); /* ERR_STAFF_NOT_FOUND */
    /* Spend a sign-in's TOTP step: set totp_last_step = step only if it is
     * newer and the staff member is not disabled (one statement: a disable
     * or another sign-in with the same code in between wins).  ERR_CONFLICT
     * if not. */
    enum err (*staff_totp_spend)(struct store *st, int64_t id, int64_t step);
    enum err (*staff_get)(struct store *st, int64_t id, struct staff *out); /* ERR_STAFF_NOT_FOUND */
    /* Staff sessions (ops/staff_session.h), found by the token's keyed hash. */
    enum err (*staff_session_insert)(struct store *st, int64_t staff_id, const uint8_t token_hash[32], int64_t now,
                                     int64_t *id);
    enum err (*staff_session_find)(struct store *st, const uint8_t token_hash[32],
                                   struct staff_session_row *out); /* ERR_NOT_FOUND */
    enum err (*staff_session_seen)(struct store *st, int64_t id, int64_t now);
    enum err (*staff_session_revoke)(struct store *st, int64_t id, int64_t now);
    /* Revoke every unrevoked session of the staff member (a disable). */
    enum err (*staff_sessions_end)(struct store *st, int64_t staff_id, int64_t now);
    /* Failed sign-ins of a staff member: one row each; count those since. */
    enum err (*staff_failure_add)(struct store *st, int64_t staff_id, int64_t now);
    enum err (*staff_failure_count)(struct store *st, int64_t staff_id, int64_t since, int64_t *n);
    enum err (*staff_failure_clear)(struct store *st, int64_t staff_id); /* after a successful sign-in */

    /* Customers (auth/customer_types.h).  Every time (created_ms, now, …)
     * comes from the caller, whose clock tests can set. */
    enum err (*customer_insert)(struct store *st, struct customer *c); /* sets id; ERR_CONFLICT on email */
    enum err (*customer_get)(struct store *st, int64_t id, struct customer *out); /* ERR_NOT_FOUND */
    enum err (*customer_get_by_email)(struct store *st, const char *email,
                                      struct customer *out); /* ERR_NOT_FOUND; email normalised */
    /* Overwrite every field of c->id but email and created_ms. */
    enum err (*customer_update)(struct store *st, const struct customer *c); /* ERR_NOT_FOUND */
    /* The one way an address changes (auth/email_change.h): ERR_CONFLICT if
     * another customer has email, ERR_NOT_FOUND if id does not exist. */
    enum err (*customer_set_email)(struct store *st, int64_t id, const char *email);

    /* E-mail verification codes: at most one per customer. */
    enum err (*email_code_put)(struct store *st, const struct email_code *c); /* replaces the customer's code */
    enum err (*email_code_get)(struct store *st, int64_t customer_id, struct email_code *out); /* ERR_NOT_FOUND */
    enum err (*email_code_set_tries)(struct store *st, int64_t customer_id, int tries); /* ERR_NOT_FOUND */
    enum err (*email_code_delete)(struct store *st, int64_t customer_id); /* ERR_OK also if there is none */

    /* Pending changes of address: at most one per customer. */
    enum err (*email_change_put)(struct store *st, const struct email_change *c); /* replaces the customer's */
    enum err (*email_change_get)(struct store *st, int64_t customer_id,
                                 struct email_change *out); /* ERR_NOT_FOUND */
    enum err (*email_change_set_tries)(struct store *st, int64_t customer_id, int tries); /* ERR_NOT_FOUND */
    enum err (*email_change_delete)(struct store *st, int64_t customer_id); /* ERR_OK also if there is none */

    /* Codes issued (verification, change of address): one row per code
     * mailed.  insert also deletes every row older than purge_before. */
    enum err (*code_issue_insert)(struct store *st, int64_t customer_id, const char *purpose, int64_t now,
                                  int64_t purge_before);
    /* How many codes of this purpose the customer was issued at or after since_ms. */
    enum err (*code_issue_count)(struct store *st, int64_t customer_id, const char *purpose, int64_t since_ms,
                                 int *n);

    /* Recovery codes (hashes).  replace deletes the customer's old set. */
    enum err (*recovery_codes_replace)(struct store *st, int64_t customer_id,
                                       const uint8_t (*hashes)[AUTH_HASH_BYTES], size_t n, int64_t now);
    /* Mark the customer's unused code with this hash used; ERR_NOT_FOUND if none. */
    enum err (*recovery_code_use)(struct store *st, int64_t customer_id, const uint8_t hash[AUTH_HASH_BYTES],
                                  int64_t now);
    enum err (*recovery_codes_left)(struct store *st, int64_t customer_id, int *n);

    /* Devices.  "Active": removed_ms = 0; a key is active at most once per customer. */
    enum err (*device_insert)(struct store *st, struct customer_device *d); /* sets id; ERR_CONFLICT */
    enum err (*device_get)(struct store *st, int64_t id, struct customer_device *out); /* ERR_NOT_FOUND */
    enum err (*device_find)(struct store *st, int64_t customer_id, const char *public_key,
                            struct customer_device *out); /* active only; ERR_NOT_FOUND */
    enum err (*device_touch)(struct store *st, int64_t id, int64_t last_seen_ms); /* ERR_NOT_FOUND */
    enum err (*device_remove)(struct store *st, int64_t id, int64_t now); /* ERR_NOT_FOUND unless active */
    /* Active devices of a customer in id order, after after_id. */
    enum err (*device_list)(struct store *st, int64_t customer_id, int64_t after_id, size_t max,
                            struct customer_device *out, size_t *n);

    /* Sessions.  Reads fill device_name from the device. */
    enum err (*session_insert)(struct store *st, struct customer_session *s); /* sets id; ERR_CONFLICT */
    enum err (*session_get)(struct store *st, int64_t id, struct customer_session *out); /* ERR_NOT_FOUND */
    /* Whether session id is customer_id's, not revoked and before its
     * absolute end at now_ms (false if there is no such session): one row
     * read, for the ledger writer's hot path. */
    enum err (*session_unrevoked)(struct store *st, int64_t id, int64_t customer_id, int64_t now_ms, bool *out);
    enum err (*session_get_by_token)(struct store *st, const uint8_t token_hash[AUTH_HASH_BYTES],
                                     struct customer_session *out); /* ERR_NOT_FOUND */
    /* Overwrite scope, last_seen_ms, mfa_at_ms, mfa_failures, revoked_ms of s->id. */
    enum err (*session_update)(struct store *st, const struct customer_session *s); /* ERR_NOT_FOUND */
    /* last_seen_ms = max(last_seen_ms, now) and nothing else, so it can
     * never undo a revocation; ERR_OK also when the row is gone. */
    enum err (*session_seen)(struct store *st, int64_t id, int64_t now);
    /* Unrevoked sessions of a customer with absolute_ms > now and
     * last_seen_ms > seen_after, newest first. */
    enum err (*session_list_live)(struct store *st, int64_t customer_id, int64_t now, int64_t seen_after,
                                  size_t max, struct customer_session *out, size_t *n);
    /* Revoke (revoked_ms = now) every unrevoked session of the customer, or
     * only those of device_id when it is not 0, except except_id (0: none).
     * *n (may be NULL) receives how many. */
    enum err (*session_revoke_many)(struct store *st, int64_t customer_id, int64_t device_id, int64_t except_id,
                                    int64_t now, int *n);

    /* Login challenges (hashes).  insert also deletes expired ones. */
    enum err (*challenge_insert)(struct store *st, const uint8_t hash[AUTH_HASH_BYTES], int64_t expires_ms,
                                 int64_t now);
    /* Delete the challenge; ERR_OK only if it existed and expires_ms > now,
     * else ERR_NOT_FOUND (an expired one is deleted too). */
    enum err (*challenge_consume)(struct store *st, const uint8_t hash[AUTH_HASH_BYTES], int64_t now);

    /* Password-reset tokens (hashes).  insert deletes the customer's other
     * unused tokens and sets t->id. */
    enum err (*reset_token_insert)(struct store *st, struct reset_token *t);
    enum err (*reset_token_get)(struct store *st, const uint8_t hash[AUTH_HASH_BYTES],
                                struct reset_token *out); /* ERR_NOT_FOUND */
    enum err (*reset_token_update)(struct store *st, const struct reset_token *t); /* used_ms, tries */
    /* Delete the customer's unused tokens (ERR_OK also if none): they were
     * mailed to an address that is no longer on file. */
    enum err (*reset_tokens_void)(struct store *st, int64_t customer_id);

    /* Failed-login sources and blocks (auth/throttle.h); kind: enum auth_source_kind. */
    /* Record one failure; rows older than purge_before (all sources) go. */
    enum err (*auth_failure_insert)(struct store *st, int kind, const char *source,
                                    const uint8_t email_hash[AUTH_HASH_BYTES], int64_t now, int64_t purge_before);
    /* Distinct email hashes of a source's failures at or after since_ms. */
    enum err (*auth_failure_distinct)(struct store *st, int kind, const char *source, int64_t since_ms, int *n);
    enum err (*source_block_put)(struct store *st, int kind, const char *source, int64_t until_ms); /* upsert */
    enum err (*source_block_get)(struct store *st, int kind, const char *source,
                                 int64_t *until_ms); /* ERR_NOT_FOUND */

    /* The audit log: security events and staff actions (audit/audit.h,
     * docs/audit-log.md), append-only, each entry chained to the one before
     * by a MAC keyed with a subkey of the master key (util/audit_mac.h).
     *
     * audit_key_set gives this connection that key; call it once, right
     * after opening and outside a transaction.  A database with entries
     * written before the chain existed (migration 10) and not yet chained
     * is refused (ERR_AUDIT_UNCHAINED, logged audit_backfill_pending):
     * only the operator's audit_backfill chains them.  Without a key,
     * security_event_insert fails with ERR_INTERNAL (and logs why): an
     * entry is never written unchained. */
    enum err (*audit_key_set)(struct store *st, const uint8_t key[AUDIT_KEY_BYTES]);
    /* Give this connection the key and chain those older entries as they
     * read now, in one transaction, appending an "audit_chain_started"
     * entry; *legacy = how many were chained.  ERR_NOT_FOUND: nothing waits
     * to be chained.  ERR_CONFLICT: the marker was there but entries are
     * already chained (put back by hand): the marker is removed and
     * nothing is signed (logged audit_backfill_refused). */
    enum err (*audit_backfill)(struct store *st, const uint8_t key[AUDIT_KEY_BYTES], int64_t *legacy);
    /* Append e (its id, prev_hash and hash are ignored) and set e->id,
     * e->prev_hash and e->hash.  The new id (the last one + 1), the previous
     * entry's hash and the MAC are computed by the one INSERT statement, so
     * appends from any number of connections, threads and processes, in a
     * transaction or not, form one chain. */
    enum err (*security_event_insert)(struct store *st, struct security_event *e);
    /* Triggers and views in the database file: kessai makes none, so each
     * is someone else's (a trigger can throw an audit entry away).  *count
     * of them, the first one's name into first[n]. */
    enum err (*schema_foreign)(struct store *st, char *first, size_t n, int64_t *count);
    /* customer_id 0 lists every customer's; id order after after_id. */
    enum err (*security_event_list)(struct store *st, int64_t customer_id, int64_t after_id, size_t max,
                                    struct security_event *out, size_t *n);
    /* Entries matching every filter f sets, newest first, with id <
     * before_id (0: from the newest): the cursor of the next page is the
     * last id returned. */
    enum err (*security_event_search)(struct store *st, const struct security_event_filter *f, int64_t before_id,
                                      size_t max, struct security_event *out, size_t *n);

    /* Cards (wallet/card.h).  card_insert sets id. */
    enum err (*card_insert)(struct store *st, struct card *c);
    enum err (*card_get)(struct store *st, int64_t id, struct card *out); /* ERR_CARD_NOT_FOUND */
    /* Overwrite status, challenge_ref, linked_ms, removed_ms of c->id. */
    enum err (*card_update)(struct store *st, const struct card *c); /* ERR_CARD_NOT_FOUND */
    /* A customer's cards with the given status (0: PENDING and ACTIVE), id order after after_id. */
    enum err (*card_list)(struct store *st, int64_t customer_id, int status, int64_t after_id, size_t max,
                          struct card *out, size_t *n);
    /* Distinct customers other than except_customer holding a card with this
     * fingerprint in status PENDING, ACTIVE or REMOVED (ever linked or linking). */
    enum err (*card_fingerprint_customers)(struct store *st, const uint8_t fp[CARD_FINGERPRINT_BYTES],
                                           int64_t except_customer, int *n);
    /* Card-link attempts: insert sets a->id and deletes rows older than
     * purge_before; an attempt is counted before the gateway is asked and
     * its outcome set after. */
    enum err (*card_attempt_insert)(struct store *st, struct card_attempt *a, int64_t purge_before);
    enum err (*card_attempt_set_outcome)(struct store *st, int64_t id, int outcome); /* ERR_NOT_FOUND */
    /* Attempts since since_ms with outcome (0: any; CARD_ATTEMPT_COUNT_PENDING:
     * those still CARD_ATTEMPT_PENDING) by one customer
     * (customer_id > 0), one device (device_id > 0: every device row with
     * that row's public key, i.e. the phone across all its accounts) or one
     * address (client_addr non-NULL); exactly one selector is set. */
    enum err (*card_attempt_count)(struct store *st, int64_t customer_id, int64_t device_id, const char *client_addr,
                                   int outcome, int64_t since_ms, int *n);

    /* Top-ups (wallet/topup.h).  insert sets id; ERR_CONFLICT if
     * (idem_scope, idem_key) exists. */
    enum err (*topup_insert)(struct store *st, struct topup *t);
    enum err (*topup_get)(struct store *st, int64_t id, struct topup *out); /* ERR_TOPUP_NOT_FOUND */
    enum err (*topup_get_by_idem)(struct store *st, const char *scope, const char *key,
                                  struct topup *out); /* ERR_TOPUP_NOT_FOUND */
    /* Overwrite status, gateway_ref, challenge_ref, decline_code, captured,
     * transfer_id, updated_ms of t->id. */
    enum err (*topup_update)(struct store *st, const struct topup *t); /* ERR_TOPUP_NOT_FOUND */
    /* Sum of amounts of a customer's top-ups created at or after since_ms and
     * not FAILED; device_id > 0 narrows to that device, card_id > 0 to that
     * card: every row of the customer's with its fingerprint (a card linked
     * again, or twice, is the same card). */
    enum err (*topup_sum)(struct store *st, int64_t customer_id, int64_t device_id, int64_t card_id,
                          int64_t since_ms, int64_t *sum);
    /* Sum of amounts of a customer's top-ups in CREATED, REQUIRES_ACTION or
     * AUTHORIZED (money on its way into the wallet). */
    enum err (*topup_sum_unsettled)(struct store *st, int64_t customer_id, int64_t *sum);
    /* FAILED with decline_code every REQUIRES_ACTION top-up of the customer
     * last updated at or before updated_before (its 3-D Secure code is dead). */
    enum err (*topup_expire_challenges)(struct store *st, int64_t customer_id, int64_t updated_before,
                                        const char *decline_code, int64_t now);
    /* A customer's top-ups, newest first, with id < before_id (0: from the newest). */
    enum err (*topup_list)(struct store *st, int64_t customer_id, int64_t before_id, size_t max, struct topup *out,
                           size_t *n);
    /* Top-ups in CREATED or AUTHORIZED, or SUCCEEDED and not captured, in id
     * order after after_id, updated before updated_before (reconciliation). */
    enum err (*topup_list_unfinished)(struct store *st, int64_t after_id, int64_t updated_before, size_t max,
                                      struct topup *out, size_t *n);

    /* Cash top-up codes (hashes).  insert sets id and deletes expired codes. */
    enum err (*topup_code_insert)(struct store *st, struct topup_code *c, int64_t now);
    enum err (*topup_code_get)(struct store *st, const uint8_t hash[32], struct topup_code *out); /* ERR_NOT_FOUND */
    /* Mark used; ERR_NOT_FOUND unless it exists and was unused. */
    enum err (*topup_code_use)(struct store *st, int64_t id, int64_t now);

    /* Fraud reversals (ops/reversal.h).  insert sets id; ERR_CONFLICT if
     * the requester used the idempotency key before.  get_by_key: the
     * reversal staff_id requested under idem_key (ERR_NOT_FOUND).  decide
     * moves a pending one to status (ERR_CONFLICT unless it was pending;
     * ERR_NOT_FOUND if there is none).  list: status "" for all, newest
     * first, ids below before_id (0: from the newest).  compensated: the sum
     * of the executed reversals of payment_id paid from the fraud-loss
     * account. */
    enum err (*reversal_insert)(struct store *st, struct reversal *r);
    enum err (*reversal_get)(struct store *st, int64_t id, struct reversal *out); /* ERR_NOT_FOUND */
    enum err (*reversal_get_by_key)(struct store *st, int64_t staff_id, const char *idem_key,
                                    struct reversal *out);
    enum err (*reversal_decide)(struct store *st, int64_t id, const char *status, int64_t decided_by,
                                int64_t decided_ms, int64_t transfer_id);
    enum err (*reversal_list)(struct store *st, const char *status, int64_t before_id, size_t max,
                              struct reversal *out, size_t *n);
    enum err (*reversal_compensated)(struct store *st, int64_t payment_id, int64_t *sum);
    /* The sum of the executed reversals of payment_id nobody approved
     * (executed at once: decided_by = requested_by). */
    enum err (*reversal_unapproved)(struct store *st, int64_t payment_id, int64_t *sum);
    /* The same over every payment, for the reversals staff_id requested
     * (and so executed alone) at or after since_ms. */
    enum err (*reversal_staff_unapproved)(struct store *st, int64_t staff_id, int64_t since_ms, int64_t *sum);
    /* Operations waiting before they move money (wallet/pending_types.h).
     * insert sets id; ERR_CONFLICT when xfer_key exists.  decide moves the
     * row from status `from` to `to` with decided_ms, decided_by, p.id =
     * payment_id and reason, exactly once: ERR_CONFLICT unless it was in
     * `from` (and, live_at != 0, expires_ms > live_at); ERR_NOT_FOUND if
     * there is none.  list: charges (cpm true: kind PAYMENT_CPM) or held
     * ones (cpm false), of customer_id (0: anyone's), in status ("" any),
     * newest first, ids below before_id (0: from the newest); now != 0: the
     * status as of now (a waiting row, held or pending_confirmation, at or
     * past its expires_ms counts as expired; the row itself is unchanged).
     * lapsed: rows in status whose expires_ms (not 0) is at or before now,
     * soonest lapsed first, up to max. */
    enum err (*pending_op_insert)(struct store *st, struct pending_op *p);
    enum err (*pending_op_get)(struct store *st, int64_t id, struct pending_op *out);            /* ERR_NOT_FOUND */
    enum err (*pending_op_get_by_key)(struct store *st, const char *key, struct pending_op *out); /* ERR_NOT_FOUND */
    enum err (*pending_op_decide)(struct store *st, int64_t id, const char *from, const char *to, int64_t decided_ms,
                                  int64_t decided_by, int64_t payment_id, const char *reason, int64_t live_at);
    enum err (*pending_op_list)(struct store *st, bool cpm, int64_t customer_id, const char *status,
                                int64_t before_id, int64_t now, size_t max, struct pending_op *out, size_t *n);
    enum err (*pending_op_lapsed)(struct store *st, const char *status, int64_t now, size_t max,
                                  struct pending_op *out, size_t *n);
    /* Fraud reports (ops/dispute.h).  insert sets id; ERR_CONFLICT if the
     * payment is disputed already or the customer used the key before.
     * get_by_key: the customer's dispute filed with idem_key (ERR_NOT_FOUND).
     * get_by_payment: ERR_NOT_FOUND if none.  decide moves an open one to
     * status (ERR_CONFLICT unless it was open; ERR_NOT_FOUND if none).
     * list: customer_id 0 for everyone's, status "" for all, newest first,
     * ids below before_id (0: from the newest). */
    enum err (*dispute_insert)(struct store *st, struct dispute *d);
    enum err (*dispute_get)(struct store *st, int64_t id, struct dispute *out); /* ERR_NOT_FOUND */
    enum err (*dispute_get_by_key)(struct store *st, int64_t customer_id, const char *idem_key,
                                   struct dispute *out);
    enum err (*dispute_get_by_payment)(struct store *st, int64_t payment_id, struct dispute *out);
    enum err (*dispute_decide)(struct store *st, int64_t id, const char *status, int64_t decided_by,
                               int64_t decided_ms, const char *note, int64_t reversal_id);
    enum err (*dispute_list)(struct store *st, int64_t customer_id, const char *status, int64_t before_id,
                             size_t max, struct dispute *out, size_t *n);
    /* Operator switches (ops/killswitch.h). */
    enum err (*killswitch_get)(struct store *st, const char *name, struct killswitch *out); /* ERR_NOT_FOUND */
    enum err (*killswitch_put)(struct store *st, const struct killswitch *k);           /* upsert */
    /* Rows named after `after` ("" from the first), in name order, at most max. */
    enum err (*killswitch_list)(struct store *st, const char *after, size_t max, struct killswitch *out, size_t *n);

    /* POS request nonces (pos/sign.h): ERR_CONFLICT if (key_id, nonce) was
     * seen since purge_before (up to a minute earlier; at most
     * STORE_NONCE_WINDOW_MAX_MS back); the insert is undone with the transaction
     * or savepoint it was made in.  Also deletes rows older than
     * purge_before, from time to time (in bulk: keeping an inert row longer
     * is harmless). */
    enum err (*pos_nonce_insert)(struct store *st, const char *key_id, const char *nonce, int64_t now,
                                 int64_t purge_before);
    /* Whether the nonces in memory (the process's shared set, else this
     * connection's own) hold (key_id, nonce) as seen since purge_before
     * already (by the rules of pos_nonce_insert), reading nothing from the
     * store: a refusal that costs no work.  true means the insert would
     * refuse it, unless the transaction that recorded it (committed or
     * still open) rolls back; false only that it is not known here
     * (another node's nonce is learned by the insert, which stays the
     * check). */
    bool (*pos_nonce_seen)(struct store *st, const char *key_id, const char *nonce, int64_t now,
                           int64_t purge_before);
    /* Read the nonces recorded since `since` (*count of them) into memory
     * before the first request, outside any transaction (else
     * ERR_INVALID_PARAM): then the first insert does not read them all
     * while it holds the write lock, which other nodes' writers wait for.
     * Optional to call: without it, that is what the first insert does. */
    enum err (*pos_nonces_load)(struct store *st, int64_t now, int64_t since, size_t *count);

    /* Payment codes (wallet/paycode.h).  insert sets id and, from time to
     * time, deletes expired codes in bulk (readers check expires_ms). */
    enum err (*paycode_insert)(struct store *st, struct paycode *c, int64_t now);
    enum err (*paycode_get)(struct store *st, const uint8_t hash[32], struct paycode *out); /* ERR_NOT_FOUND */
    /* Read the codes in the table into memory before the first request,
     * outside any transaction (else ERR_INVALID_PARAM; *count of them):
     * then the first code's insert does not read them all while it holds
     * the write lock, which other nodes' writers wait for.  Optional to
     * call: without it, that is what the first lookup or insert does. */
    enum err (*paycodes_load)(struct store *st, int64_t now, size_t *count);
    /* Mark used; ERR_NOT_FOUND unless it exists, is unused and expires_ms > now. */
    enum err (*paycode_use)(struct store *st, int64_t id, int64_t now);
    /* Offline keys: put replaces the device's key. */
    enum err (*offline_key_put)(struct store *st, const struct offline_key *k); /* ERR_CONFLICT on offline_id */
    enum err (*offline_key_get)(struct store *st, int64_t offline_id, struct offline_key *out); /* ERR_NOT_FOUND */
    /* Nothing the customer's device (device_id 0: any of its devices) was
     * given pays any more: its offline key is revoked and its unused
     * one-time codes deleted (a session revoked, the device removed, a
     * reset); ERR_OK if there were none. */
    enum err (*paycodes_revoke)(struct store *st, int64_t customer_id, int64_t device_id, int64_t now);
    /* An offline code (device, step) pays at most once: ERR_CONFLICT if used,
     * ERR_NOT_FOUND if the device's key (offline_id) was revoked or replaced
     * meanwhile; insert also deletes rows older than purge_before, from time
     * to time. */
    enum err (*offline_use_insert)(struct store *st, int64_t device_id, int64_t offline_id, int64_t step,
                                   int64_t now, int64_t purge_before);

    /* Payments (wallet/payment.h): inserted with the ledger transfer whose id they take. */
    enum err (*payment_insert)(struct store *st, const struct payment *p); /* ERR_CONFLICT if the id exists */
    enum err (*payment_get)(struct store *st, int64_t id, struct payment *out); /* ERR_NOT_FOUND */
    /* Add amount to refunded (and set voided when void); the ledger has already bounded it. */
    enum err (*payment_add_refund)(struct store *st, int64_t id, int64_t amount, int is_void); /* ERR_NOT_FOUND */
    /* Whether customer `from` ever sent `to` at least min_amount yen in one
     * P2P transfer (what of it was given back not counted): risk, a first
     * large transfer to a new account; *sent false when never. */
    enum err (*payment_p2p_sent)(struct store *st, int64_t from, int64_t to, int64_t min_amount, bool *sent);
    /* A store's payments with id > after_id, oldest first (the POS feed). */
    enum err (*payment_list_store)(struct store *st, int64_t store_id, int64_t after_id, size_t max,
                                   struct payment *out, size_t *n);
    /* A register's refund or void, recorded in the reversal's transaction
     * (ERR_CONFLICT if its id exists).  last_refund: when a register of
     * store_id (the refunding store, whichever store took the payment)
     * last gave customer_id money back at or after since_ms, for a payment
     * other than except_payment_id; *at_ms 0 if none did (the risk rule
     * refund_repeat_payer). */
    enum err (*payment_refund_insert)(struct store *st, const struct payment_refund *r);
    enum err (*payment_last_refund)(struct store *st, int64_t customer_id, int64_t store_id,
                                    int64_t except_payment_id, int64_t since_ms, int64_t *at_ms);
    /* Spending counters: add amount to (customer, period) if the new total
     * stays <= limit; *ok false (nothing added) otherwise. */
    enum err (*spend_add)(struct store *st, int64_t customer_id, const char *period, int64_t amount, int64_t limit,
                          bool *ok);
    enum err (*spend_get)(struct store *st, int64_t customer_id, const char *period, int64_t *total); /* 0 if none */

    /* Freezes (ops/freeze.h). */
    enum err (*freeze_get)(struct store *st, int64_t customer_id, struct freeze *out); /* ERR_NOT_FOUND */
    enum err (*freeze_put)(struct store *st, const struct freeze *f);                 /* upsert */
    enum err (*freeze_delete)(struct store *st, int64_t customer_id);                 /* ERR_NOT_FOUND */

    /* Risk decisions (risk/risk.h): append-only; insert sets d->id. */
    enum err (*risk_decision_insert)(struct store *st, struct risk_decision_row *d);
    /* A customer's decisions, newest first, with id < before_id (0: from the newest). */
    enum err (*risk_decision_list)(struct store *st, int64_t customer_id, int64_t before_id, size_t max,
                                   struct risk_decision_row *out, size_t *n);
    /* What the risk engine replays after a restart (risk_warm), in no
     * particular order: payments and transfers, succeeded top-ups and those
     * the card issuer declined, card-link attempts and registers' refunds
     * (payment_refunds), each at or after
     * since_ms.  Stops at the first error fn returns.  Best run inside
     * begin_read() for one snapshot. */
    enum err (*risk_history_scan)(struct store *st, int64_t since_ms, store_risk_history_fn fn, void *ctx);

    /* Outbox (notify/outbox.h).  insert sets m->id; ERR_CONFLICT on ref. */
    enum err (*outbox_insert)(struct store *st, struct outbox_msg *m);
    /* Unsent messages, not given up, due at now (next_ms <= now), in id
     * order after after_id. */
    enum err (*outbox_pending)(struct store *st, int64_t after_id, int64_t now, size_t max, struct outbox_msg *out,
                               size_t *n);
    enum err (*outbox_mark_sent)(struct store *st, int64_t id, int64_t now); /* ERR_NOT_FOUND */
    /* A failed attempt of an unsent message: its count, when it is due
     * again, and failed_ms > 0 when it is given up.  ERR_NOT_FOUND if it
     * was sent meanwhile (by another deliverer). */
    enum err (*outbox_mark_failed)(struct store *st, int64_t id, int attempts, int64_t next_ms, int64_t failed_ms);

    /* Merchant webhooks (notify/webhook.h).  insert sets w->id (the sealed
     * secret is set after, under its id: set_secret). */
    enum err (*webhook_endpoint_insert)(struct store *st, struct webhook_endpoint *w);
    enum err (*webhook_endpoint_set_secret)(struct store *st, int64_t id,
                                            const uint8_t sealed[WEBHOOK_SEALED_LEN]); /* ERR_NOT_FOUND */
    enum err (*webhook_endpoint_get)(struct store *st, int64_t id, struct webhook_endpoint *out); /* ERR_NOT_FOUND */
    /* Endpoints with id > after_id, of one merchant (merchant_id > 0) or
     * of all; removed ones too when with_removed. */
    enum err (*webhook_endpoint_list)(struct store *st, int64_t merchant_id, bool with_removed, int64_t after_id,
                                      size_t max, struct webhook_endpoint *out, size_t *n);
    enum err (*webhook_endpoint_remove)(struct store *st, int64_t id, int64_t now); /* ERR_NOT_FOUND if none or removed */
    /* insert sets d->id; ERR_CONFLICT if the endpoint has the event already. */
    enum err (*webhook_delivery_insert)(struct store *st, struct webhook_delivery *d);
    /* Unsent deliveries, not given up, due at now, in id order after after_id. */
    enum err (*webhook_delivery_pending)(struct store *st, int64_t after_id, int64_t now, size_t max,
                                         struct webhook_delivery *out, size_t *n);
    /* The outcome of an attempt: attempts, next_ms, sent_ms, failed_ms and
     * last_status of d.  ERR_NOT_FOUND if it was sent meanwhile. */
    enum err (*webhook_delivery_update)(struct store *st, const struct webhook_delivery *d);

    /* Customers' live feed (notify/feed.h).  insert sets e->id. */
    enum err (*feed_event_insert)(struct store *st, struct feed_event *e);
    /* A customer's events with id > after_id, oldest first. */
    enum err (*feed_event_list)(struct store *st, int64_t customer_id, int64_t after_id, size_t max,
                                struct feed_event *out, size_t *n);
    /* Every customer's events with id > after_id, oldest first. */
    enum err (*feed_event_list_all)(struct store *st, int64_t after_id, size_t max, struct feed_event *out,
                                    size_t *n);
    /* The newest event id of one customer (customer_id > 0) or of all (0); 0 if none. */
    enum err (*feed_event_last)(struct store *st, int64_t customer_id, int64_t *id);
};

struct store {
    const struct store_ops *ops;
};

/* Open (creating and migrating if needed) the SQLite store at path.
 * ERR_STORE if the file cannot be opened or its schema is newer than this
 * program knows. */
enum err store_open_sqlite(const char *path, struct store **out);

/* The same file opened to read only, for the commands that inspect a
 * database (ledger verify, audit verify), perhaps a copy kept as evidence:
 * nothing in it is migrated or written (any write fails), and the audit
 * chain is not extended (SQLite may still add -wal and -shm files beside a
 * WAL database).  ERR_SCHEMA_OLD (logged
 * store_schema_too_old) for a database an older kessai wrote, which only a
 * writing open upgrades; ERR_STORE for a newer one or no file at all. */
enum err store_open_sqlite_readonly(const char *path, struct store **out);

/* What a process keeps in memory of one SQLite file: the POS nonces seen
 * and the live payment codes' hashes.  The store keeps both tables in the
 * order written, which costs no random page as a unique index did, and
 * each connection's check first reads what others wrote since.  One copy
 * per connection would work, but each holds minutes of nonces and a
 * minute of codes: kessaid makes one for all its connections and frees it
 * after them.  A connection opened without makes its own at its first
 * use.  ERR_NOMEM. */
struct store_memory;
/* How far back a nonce is remembered, at most: what memory is sized for. */
#define STORE_NONCE_WINDOW_MAX_MS (11 * 60 * 1000LL)
enum err store_memory_new(struct store_memory **out);
void store_memory_free(struct store_memory *n); /* NULL-safe */

/* store_open_sqlite, then audit_key_set(audit_key) unless audit_key is
 * NULL, sharing mem unless NULL: how kessaid opens every connection. */
enum err store_open_sqlite_audited(const char *path, const uint8_t *audit_key, struct store_memory *mem,
                                   struct store **out);

/* Convenience: st->ops->close(st), NULL-safe. */
void store_close(struct store *st);

#endif
