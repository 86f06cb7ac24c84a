/* apply.h: applying linked groups of transfers inside one store transaction
 * (internal to src/ledger; the writer is its only production caller).
 *
 * A batch caches the accounts it touches: totals change in memory and are
 * written once per account by ledger_batch_flush, just before commit, so a
 * batch of N transfers costs one UPDATE per distinct account, not 2N.  The
 * cache outlives the batch (saving the SELECTs of hot accounts) as long as
 * the writer calls ledger_batch_begin at the start of every transaction.
 * Invariant: inside a transaction the cache is the truth for every account in
 * it; only this writer writes account totals, and when anything else may
 * have written (another connection committed), the cache is dropped.
 */
#ifndef KESSAI_LEDGER_APPLY_H
#define KESSAI_LEDGER_APPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "ledger/types.h"
#include "store/store.h"

struct ledger_batch;

struct ledger_batch *ledger_batch_new(void);
void ledger_batch_free(struct ledger_batch *b);
/* Start a transaction's work: drop the cache if another connection has
 * committed since the last batch, or if it has grown past its bound. */
enum err ledger_batch_begin(struct ledger_batch *b, struct store *st);
/* Forget every cached account (after a rollback: it may hold totals that
 * never reached the store). */
void ledger_batch_reset(struct ledger_batch *b);

/* Posted balances (credits_posted - debits_posted) of a transfer's two
 * accounts right after it was applied (for a replayed transfer: now). */
struct ledger_balances {
    int64_t debit;
    int64_t credit;
};

/* Work that must commit with a group's transfers or not at all (writer.h,
 * ledger_writer_submit_hooked): called after every transfer of the group
 * applied, inside the group's savepoint.  x[] as stored, after[i] the
 * balances after x[i]; replayed when the whole group already existed.  A
 * business error undoes the group (its transfers, totals and the hook's own
 * writes); ERR_STORE fails the transaction. */
typedef enum err (*ledger_hook_fn)(void *ctx, struct store *st, const struct ledger_transfer *x,
                                   const struct ledger_balances *after, size_t n, bool replayed);

/* Apply one linked group within the open transaction.  On ERR_OK, x[] holds
 * the stored rows, after[] (n entries) their balances, and *replayed tells
 * whether all of them already existed.  hook (may be NULL) then runs as
 * above.  On a business error (insufficient funds, conflict, the hook's
 * refusal, …) nothing of the group remains, in the store or the cache, and
 * *failed names the transfer (n when the hook refused).
 * ERR_STORE means the transaction is unusable and must be rolled back. */
enum err ledger_batch_apply(struct ledger_batch *b, struct store *st, struct ledger_transfer *x, size_t n,
                            ledger_hook_fn hook, void *hook_ctx, struct ledger_balances *after, size_t *failed,
                            bool *replayed);

/* Write the totals of every account changed since the last reset. */
enum err ledger_batch_flush(struct ledger_batch *b, struct store *st);

/* BLAKE2b-128 fingerprint of a transfer request (for idempotency). */
void ledger_request_hash(const struct ledger_transfer *x, uint8_t out[LEDGER_HASH_BYTES]);
/* Does the stored transfer t carry the fingerprint of a request that could
 * have produced it (ledger_verify)?  The ledger fingerprints the request as
 * sent, then fills in what a request may leave at 0 (the accounts of a
 * POST, VOID or REVERSAL, the amount of a POST or VOID), so each of those
 * fields is tried as stored and as 0: at most 8 hashes, 1 for a plain or
 * pending transfer.  The fingerprint is unkeyed: it shows a row edited by
 * someone who did not also recompute it, nothing more. */
bool ledger_request_hash_matches(const struct ledger_transfer *t);

#endif
