/* types.h: ledger records, shared by the ledger and the storage interface.
 *
 * Model (after TigerBeetle): an account carries posted and pending debits and
 * credits; its balance is credits_posted - debits_posted.  A transfer moves
 * `amount` from debit_account to credit_account and is immutable, except that
 * a pending transfer's `state` moves once from PENDING to POSTED or VOIDED.
 * All amounts are integer yen.
 */
#ifndef KESSAI_LEDGER_TYPES_H
#define KESSAI_LEDGER_TYPES_H

#include <stdint.h>

#define LEDGER_KEY_MAX 64    /* idempotency key, bytes */
#define LEDGER_OWNER_MAX 63  /* "system", "usr_…", "str_…" */
#define LEDGER_KIND_MAX 31   /* account or transfer kind */
#define LEDGER_META_MAX 511  /* free-form JSON text */
#define LEDGER_CHAIN_MAX 16  /* transfers in one linked group */
#define LEDGER_HASH_BYTES 16 /* request fingerprint for idempotency */

/* Account flags. */
enum {
    /* debits_posted + debits_pending must not exceed credits_posted: the
     * balance can never go negative (customer wallets and points). */
    LEDGER_ACCT_DEBITS_LE_CREDITS = 1u << 0,
    /* the mirror image, for accounts that must never hold a positive balance */
    LEDGER_ACCT_CREDITS_LE_DEBITS = 1u << 1,
};

struct ledger_account {
    int64_t id;
    char owner[LEDGER_OWNER_MAX + 1];
    char kind[LEDGER_KIND_MAX + 1];
    uint32_t flags;
    int64_t debits_posted;
    int64_t credits_posted;
    int64_t debits_pending;
    int64_t credits_pending;
    int64_t created_ms;
    /* The newest transfer on either side of this account (0: none yet): the
     * head of the account's history chain, see ledger_transfer.*_prev_id. */
    int64_t last_transfer_id;
};

/* Transfer flags: at most one of PENDING, POST_PENDING, VOID_PENDING, REVERSAL. */
enum {
    LEDGER_XFER_PENDING = 1u << 0,      /* reserve amount; resolve later */
    LEDGER_XFER_POST_PENDING = 1u << 1, /* post pending_id (amount 0 = all of it) */
    LEDGER_XFER_VOID_PENDING = 1u << 2, /* void pending_id */
    LEDGER_XFER_REVERSAL = 1u << 3,     /* give back (part of) ref_id; accounts are swapped */
};

enum ledger_state {
    LEDGER_STATE_POSTED = 1,
    LEDGER_STATE_PENDING = 2,
    LEDGER_STATE_VOIDED = 3,
};

struct ledger_transfer {
    int64_t id;
    char key[LEDGER_KEY_MAX + 1]; /* idempotency key, unique, required */
    int64_t debit_account;
    int64_t credit_account;
    int64_t amount;
    char kind[LEDGER_KIND_MAX + 1]; /* "topup_card", "payment", "refund", … */
    uint32_t flags;
    int64_t pending_id; /* POST/VOID: the pending transfer resolved */
    int64_t ref_id;     /* REVERSAL: the original transfer */
    int state;          /* enum ledger_state */
    int64_t created_ms;
    char metadata[LEDGER_META_MAX + 1]; /* JSON text or "" */
    uint8_t req_hash[LEDGER_HASH_BYTES];
    /* The debit and the credit account's previous transfer (0: none), set by
     * the ledger when it inserts: each account's transfers form a chain from
     * its last_transfer_id back, so its history needs no index per account
     * (two random B-tree inserts per transfer that would halve the writer). */
    int64_t debit_prev_id;
    int64_t credit_prev_id;
};

#endif
