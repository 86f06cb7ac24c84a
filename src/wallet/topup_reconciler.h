/* topup_reconciler.h: kessaid's background thread that runs topup_reconcile
 * (topup.h) every interval, on its own store connection, for top-ups left
 * untouched for at least min_age_ms (a request still driving its own
 * top-up is left to finish it).
 *
 *   WAITING --interval over--> RECONCILING (one topup_reconcile) --> WAITING
 *   WAITING/RECONCILING --topup_reconciler_stop--> STOPPED (after the round)
 *
 * A round's failures are logged by topup_reconcile and retried next round.
 */
#ifndef KESSAI_WALLET_TOPUP_RECONCILER_H
#define KESSAI_WALLET_TOPUP_RECONCILER_H

#include <stdint.h>

#include "wallet/wallet_ctx.h"

struct topup_reconciler;

/* Start the thread; it takes ownership of st.  tmpl gives everything but
 * the connection and the clock (its a.st and a.now are ignored); what it
 * points to (config, master key, gateway, writer, sender) must outlive the
 * thread.  ERR_NOMEM / ERR_INTERNAL if it cannot start (st stays the
 * caller's). */
enum err topup_reconciler_start(struct store *st, const struct wallet_ctx *tmpl, int64_t interval_ms,
                                int64_t min_age_ms, struct topup_reconciler **out);
/* Stop promptly (a round in progress finishes), join, close the store.
 * NULL-safe.  Call before stopping the ledger writer and closing the gateway. */
void topup_reconciler_stop(struct topup_reconciler *r);

#endif
