/* wallet_ctx.h: what every card and top-up call needs.
 *
 * Domain code knows nothing of HTTP: the caller (src/api/, kessaid's
 * start-up reconciliation, the tests) fills one wallet_ctx per call.  The
 * embedded auth_ctx brings the store connection, master key, settings,
 * clock, client address and mail sender, with the rules of auth/auth_ctx.h:
 * each call runs its own transactions on a.st (none may be open), mail is
 * queued in the transaction that makes the change it announces, and errors
 * are enum err values.
 *
 * Calls marked SLOW talk to the card gateway and/or wait for the ledger
 * writer's durable commit: run them on the wallet worker pool, never on an
 * HTTP thread.  No transaction is ever held open across a gateway call.
 */
#ifndef KESSAI_WALLET_WALLET_CTX_H
#define KESSAI_WALLET_WALLET_CTX_H

#include "auth/auth_ctx.h"
#include "ledger/writer.h"
#include "risk/risk.h"
#include "wallet/gateway.h"
#include "wallet/guess_pending.h"

struct wallet_ctx {
    struct auth_ctx a;             /* st, master_key, cfg (topup_* limits), mail, now, client_addr */
    struct gateway *gw;            /* the card processor */
    struct ledger_writer *writer;  /* every credit goes through it */
    /* kessaid's risk engine (risk/risk.h): every flow that moves money or
     * links a card asks it first (wallet/risk_gate.h).  NULL: no scoring
     * (unit-test fixtures, the top-up reconciler, which only finishes what
     * was already admitted). */
    struct risk *risk;
    /* kessaid's bad codes in flight (wallet/guess_pending.h): with it, a
     * charge's bad code is handed back for the caller to count with the
     * request's nonce (payment_charge); NULL (tests, tools): counted at
     * once, in a transaction of its own. */
    struct guess_pending *guesses;
    /* Test hook, NULL in production: called at named points of a top-up
     * ("topup_authorized": the gateway said yes, nothing credited yet);
     * kessaid sets it only when KESSAI_TEST_CRASH_AT names the point, and
     * then exits at once without cleanup, to prove reconciliation. */
    void (*crash_point)(const char *point);
};

#endif
