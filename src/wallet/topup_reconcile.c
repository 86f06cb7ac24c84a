/* topup_reconcile.c: finishing top-ups that a crash, a lost connection or a
 * gateway outage left half-way (topup.h: topup_reconcile).
 *
 * kessaid runs it once at start-up for every unfinished row, before it
 * serves, and then every minute for rows untouched for 30 s (a live request
 * is normally done long before).  Every step is idempotent by the top-up
 * (topup_steps.c), so finishing a row that a request is still driving is
 * harmless: one of the two moves it, the other finds it moved.
 *
 *   CREATED    --> authorize again with the key "tpu_…" (the gateway
 *                  returns the authorization it already gave, if any);
 *                  FAILED instead while a kill switch stops card top-ups
 *                  (topup_steps.c), or when the processor still fails and
 *                  the row is TOPUP_CREATED_MAX_MS old ("gateway_error":
 *                  it stops holding room under the balance cap; whatever
 *                  the processor may have reserved is never captured)
 *   AUTHORIZED --> credit (the ledger returns the transfer it already has)
 *   SUCCEEDED, not captured --> capture
 *
 * One row failing (gateway down, say) does not stop the others; it is
 * logged and tried again next time.
 */
#include "wallet/topup_internal.h"

#include "util/log.h"

#define RECONCILE_BATCH 32

enum err topup_reconcile(const struct wallet_ctx *w, int64_t older_than_ms, size_t *finished)
{
    size_t moved = 0;
    int64_t after = 0;
    enum err e = ERR_OK;
    for (;;) {
        struct topup batch[RECONCILE_BATCH];
        size_t n = 0;
        e = w->a.st->ops->topup_list_unfinished(w->a.st, after, older_than_ms, RECONCILE_BATCH, batch, &n);
        if (e != ERR_OK)
            break;
        for (size_t i = 0; i < n; i++) {
            struct topup *t = &batch[i];
            after = t->id;
            int status = t->status, captured = t->captured;
            enum err de = topup_drive(w, t, NULL, NULL);
            if (de != ERR_OK && t->status == TOPUP_CREATED && t->created_ms <= w->a.now - TOPUP_CREATED_MAX_MS) {
                topup_log("topup_given_up", t, de);
                de = topup_fail(w, t, TOPUP_CREATED, ERR_GATEWAY);
            }
            if (t->status != status || t->captured != captured)
                moved++;
            if (de != ERR_OK && t->status != TOPUP_FAILED)
                topup_log("topup_reconcile_failed", t, de);
        }
        if (n < RECONCILE_BATCH)
            break;
    }
    if (finished)
        *finished = moved;
    if (moved > 0)
        log_event(LOG_INFO, "topup_reconciled", json_pack("{s:I}", "finished", (json_int_t)moved));
    return e;
}
