/* ledger.h: the double-entry ledger.
 *
 * Invariants (checked by ledger_verify, see verify.c):
 *  1. Every movement of money is a transfer from one account to another, so
 *     the balances of all accounts sum to zero.
 *  2. An account's stored totals equal what its transfers add up to.
 *  3. An account flagged DEBITS_LE_CREDITS never has
 *     debits_posted + debits_pending > credits_posted (never negative).
 *     The flags an account must carry follow from its kind
 *     (ledger_kind_flags): a customer's wallet or points account is always
 *     DEBITS_LE_CREDITS, whatever its stored flags say.
 *  4. A pending transfer is resolved (posted or voided) at most once, and its
 *     state says so.
 *  5. Reversals of a transfer never add up to more than its amount.
 *  6. Transfers are never deleted or changed (but a pending one's state).
 *  7. Each account's transfers form one chain, newest first: the account's
 *     last_transfer_id, then each transfer's debit_prev_id/credit_prev_id
 *     (the side the account is on), down to 0 (an account's history).
 *
 * Pending transfer state machine (two-phase):
 *
 *     submit(PENDING) --> PENDING --submit(POST_PENDING)--> POSTED
 *                            |
 *                            +----submit(VOID_PENDING)--> VOIDED
 *
 * Idempotency: every transfer has a caller-chosen key.  Submitting a key that
 * exists with the same request (same accounts, amount, kind, flags,
 * references, metadata) returns the stored transfer with `replayed` set and
 * moves nothing; with a different request it fails with
 * ERR_IDEMPOTENCY_CONFLICT.  Keys are kept forever (the transfers table is
 * the record), so "at least 24 h" holds.  A request that failed (say,
 * insufficient funds) stored nothing and may be retried with the same key.
 *
 * Linked groups: the transfers of one submission commit together or not at
 * all; the result names the first transfer that failed.
 *
 * All writes that move money go through the group-commit writer (writer.h).
 * The functions here that write (account creation) use their own transaction.
 */
#ifndef KESSAI_LEDGER_LEDGER_H
#define KESSAI_LEDGER_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ledger/types.h"
#include "store/store.h"
#include "util/err.h"

/* Account kinds that hold a customer's money: never negative (invariant 3). */
#define LEDGER_KIND_WALLET "wallet"
#define LEDGER_KIND_POINTS "points"

/* Owner of the system accounts, and their kinds (created by ledger_init). */
#define LEDGER_SYSTEM_OWNER "system"
extern const char *const ledger_system_kinds[];

/* Create the system accounts that do not exist yet.  Idempotent. */
enum err ledger_init(struct store *st);
/* Create an account; *id receives its id.  ERR_CONFLICT if (owner, kind) exists;
 * ERR_INVALID_PARAM if ledger_validate_account refuses it. */
enum err ledger_account_create(struct store *st, const char *owner, const char *kind, uint32_t flags, int64_t *id);
/* The flags every account of this kind must carry (0 for most kinds;
 * DEBITS_LE_CREDITS for LEDGER_KIND_WALLET and LEDGER_KIND_POINTS). */
uint32_t ledger_kind_flags(const char *kind);
/* Check an account's owner, kind and flags as ledger_account_create does:
 * lengths, known flags (not both), and the flags its kind requires. */
enum err ledger_validate_account(const char *owner, const char *kind, uint32_t flags);
/* Look up a system account by kind ("card_receivable", …). */
enum err ledger_system_account(struct store *st, const char *kind, int64_t *id);

/* credits_posted - debits_posted */
int64_t ledger_balance(const struct ledger_account *a);
/* Balance minus pending debits: what can still be spent. */
int64_t ledger_available(const struct ledger_account *a);

/* Check request fields that need no database (lengths, flags, amount range,
 * distinct accounts).  *bad_index names the offending transfer. */
enum err ledger_validate(const struct ledger_transfer *x, size_t n, size_t *bad_index);

struct ledger_verify_report {
    size_t accounts;
    size_t transfers;
    size_t violations; /* 0 means the ledger is sound */
};

/* Recompute every account from the transfers and check invariants 1-5 and 7;
 * re-validate every account and transfer as the writer would, recompute each
 * transfer's request hash (unkeyed: careless edits only), and check the
 * payments, top-ups and fraud reversals against the transfers they name
 * (verify.c, docs/ledger.md).  Read only, in one read snapshot.
 * Each violation is described on one line of `out` (may be NULL).  Returns
 * ERR_OK when the check ran (look at rep->violations), ERR_STORE if it could
 * not read the store. */
enum err ledger_verify(struct store *st, FILE *out, struct ledger_verify_report *rep);

#endif
