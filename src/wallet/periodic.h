/* periodic.h: a kessaid background thread that runs round(ctx, w) every
 * interval, on its own store connection: finishing half-done top-ups
 * (topup_reconcile, topup.h), recording held payments that lapsed unread
 * (review_sweep, review.h).
 *
 *   WAITING --interval over--> ROUND (round(ctx, w), w.a.now the time) --> WAITING
 *   WAITING/ROUND --periodic_stop--> STOPPED (after the round)
 *
 * A round logs its own failures; the next round retries.
 */
#ifndef KESSAI_WALLET_PERIODIC_H
#define KESSAI_WALLET_PERIODIC_H

#include <stdint.h>

#include "wallet/wallet_ctx.h"

struct periodic;

typedef void (*periodic_round_fn)(void *ctx, const struct wallet_ctx *w);

/* Start the thread (name: up to 15 characters shown); it takes ownership
 * of st.  tmpl gives everything but the connection and the clock (its a.st
 * and a.now are ignored); what it points to (config, master key, gateway,
 * writer, sender), and ctx, must outlive the thread.  ERR_NOMEM /
 * ERR_INTERNAL if it cannot start (st stays the caller's). */
enum err periodic_start(struct store *st, const struct wallet_ctx *tmpl, const char *name, int64_t interval_ms,
                        periodic_round_fn round, void *ctx, struct periodic **out);
/* Stop promptly (a round in progress finishes), join, close the store.
 * NULL-safe.  Call before stopping the ledger writer and closing the
 * gateway. */
void periodic_stop(struct periodic *p);

#endif
