/* review_sweeper.h: kessaid's background thread that runs review_sweep
 * (review.h) every interval, on its own store connection, so that a held
 * payment nobody looks at still lapses and its customer is told (a read
 * would expire it too; this is for the ones nobody reads).
 *
 *   WAITING --interval over--> SWEEPING (review_sweep until none is left) --> WAITING
 *   WAITING/SWEEPING --review_sweeper_stop--> STOPPED (after the round)
 *
 * A round's failure is logged and retried next round.
 */
#ifndef KESSAI_WALLET_REVIEW_SWEEPER_H
#define KESSAI_WALLET_REVIEW_SWEEPER_H

#include <stdint.h>

#include "wallet/wallet_ctx.h"

struct review_sweeper;

/* Start the thread; it takes ownership of st.  tmpl gives everything but
 * the connection and the clock (its a.st and a.now are ignored); what it
 * points to (config, master key, writer, wake) must outlive the thread.
 * ERR_NOMEM / ERR_INTERNAL if it cannot start (st stays the caller's). */
enum err review_sweeper_start(struct store *st, const struct wallet_ctx *tmpl, int64_t interval_ms,
                              struct review_sweeper **out);
/* Stop promptly (a round in progress finishes), join, close the store.
 * NULL-safe.  Call before stopping the ledger writer. */
void review_sweeper_stop(struct review_sweeper *r);

#endif
