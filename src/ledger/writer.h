/* writer.h: the group-commit ledger writer.
 *
 * One thread owns a store connection and applies every money-moving request.
 * Callers on any thread submit a linked group of transfers with a completion
 * callback; the writer takes everything queued (up to batch_max transfers),
 * applies each group inside one transaction, commits once (durably), and only
 * then calls each group's callback with its own outcome.  A group that fails
 * (insufficient funds, conflict, …) changes nothing and does not affect the
 * others in the batch; if the commit itself fails, every group in the batch
 * is told ERR_STORE and nothing of the batch was applied.
 *
 *   submit() --> queue --> [writer: BEGIN; apply g1..gN; COMMIT(fsync)]
 *                                   --> [completer thread: callbacks, in commit order]
 *
 * Invariants:
 *  1. A callback reporting ERR_OK runs after the commit holding its transfers
 *     returned ERR_OK: "ok" is never said of anything not on disk.
 *  2. Every submitted group gets exactly one callback, including at stop.
 *  3. Callbacks run on one completer thread, in commit order, while the
 *     writer already applies the next batch; they must be short and must not
 *     submit-and-wait (that would deadlock the completer).  They may submit.
 */
#ifndef KESSAI_LEDGER_WRITER_H
#define KESSAI_LEDGER_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/apply.h"
#include "ledger/types.h"
#include "store/store.h"
#include "util/err.h"

struct ledger_writer;

struct ledger_result {
    enum err err;        /* ERR_OK if the whole group committed */
    size_t failed_index; /* when err != ERR_OK: the transfer that failed */
    bool replayed;       /* every transfer already existed with this request */
    size_t n;
    const struct ledger_transfer *xfers; /* as stored (ids, state, time); valid during the callback only */
    const struct ledger_balances *after; /* when ERR_OK: balances after each transfer; callback only */
};

typedef void (*ledger_done_fn)(void *ctx, const struct ledger_result *res);

struct ledger_writer_opts {
    size_t batch_max; /* most transfers per commit; 1 disables grouping */
    /* Called after each commit attempt with the number of groups and the time
     * the transaction took (metrics).  May be NULL. */
    void (*on_commit)(void *ctx, size_t groups, size_t transfers, int64_t commit_ns);
    void *on_commit_ctx;
};

/* Start the writer and completer threads.  On success the writer owns st
 * (closed by ledger_writer_stop); on failure st stays the caller's. */
enum err ledger_writer_start(struct store *st, const struct ledger_writer_opts *opts, struct ledger_writer **out);

/* Queue a linked group of n (1..LEDGER_CHAIN_MAX) transfers; xfers is copied.
 * Fields used: key, debit_account, credit_account, amount, kind, flags,
 * pending_id, ref_id, metadata.  done is called exactly once, on the completer
 * thread — also when the request fails validation, so callers have one
 * path.  Returns ERR_SHUTTING_DOWN (and does not call done) once stopping. */
enum err ledger_writer_submit(struct ledger_writer *w, const struct ledger_transfer *xfers, size_t n,
                              ledger_done_fn done, void *ctx);

/* The same, with work that must commit together with the group or not at
 * all (apply.h, ledger_hook_fn): hook(hook_ctx, …) runs on the writer
 * thread inside the batch transaction, after the group applied; its
 * business error undoes the group and reaches done() (failed_index = n).
 * It must be quick — it holds the one writer — and must not submit.
 * hook_ctx must live until done() is called.  With n = 0 the group is the
 * hook alone: any durable write (a payment code, say) that should share
 * the group commit instead of paying for a commit of its own. */
enum err ledger_writer_submit_hooked(struct ledger_writer *w, const struct ledger_transfer *xfers, size_t n,
                                     ledger_hook_fn hook, void *hook_ctx, ledger_done_fn done, void *ctx);
/* The group that is the hook alone (n = 0). */
enum err ledger_writer_submit_hook(struct ledger_writer *w, ledger_hook_fn hook, void *hook_ctx, ledger_done_fn done,
                                   void *ctx);

/* Blocking wrapper: submit and wait.  On return xfers[] holds the stored
 * transfers (when ERR_OK), *failed_index and *replayed are set (either may be NULL). */
enum err ledger_writer_submit_wait(struct ledger_writer *w, struct ledger_transfer *xfers, size_t n,
                                   size_t *failed_index, bool *replayed);
/* The same with a hook (ledger_writer_submit_hooked); hook_ctx may live on
 * the caller's stack.  Not for use on the completer thread. */
enum err ledger_writer_submit_hooked_wait(struct ledger_writer *w, struct ledger_transfer *xfers, size_t n,
                                          ledger_hook_fn hook, void *hook_ctx, size_t *failed_index,
                                          bool *replayed);

/* Refuse new submissions, apply and commit everything queued, call every
 * callback, join the thread, close the store, free w. */
void ledger_writer_stop(struct ledger_writer *w);

#endif
