/* freeze.h: freezing a customer's account.
 *
 * A frozen account cannot pay, top up or send money (ERR_ACCOUNT_FROZEN);
 * it can still sign in, read its history and receive refunds.  The customer
 * can freeze their own account from the app (POST /v1/freeze, FULL session:
 * a phone thief can freeze, which only protects the owner) but only staff
 * can unfreeze (`kessai admin customer unfreeze EMAIL --reason TEXT`; the
 * admin API comes with issue 6).  Staff can also freeze
 * (`kessai admin customer freeze EMAIL --reason TEXT`).  Freezing also ends
 * every session but the caller's (a thief's sessions die with it), and
 * revokes every offline key and unused payment code (a thief's phone holds
 * them; wallet/paycode.h issues no key while frozen).
 * Every change is an entry of the audit log (actor: the customer, or the
 * staff member) and is mailed to the customer.
 */
#ifndef KESSAI_OPS_FREEZE_H
#define KESSAI_OPS_FREEZE_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth_ctx.h"
#include "auth/session.h"
#include "wallet/wallet_types.h"

/* ERR_OK if not frozen, ERR_ACCOUNT_FROZEN if it is (reads; the caller's transaction if open). */
enum err freeze_check(struct store *st, int64_t customer_id);
/* The customer freezes their own account. */
enum err freeze_self(const struct auth_ctx *ctx, const struct auth_session *cur, const char *reason);
/* Staff (CLI): freeze or unfreeze by e-mail.  actor: who acted, as the
 * audit log names them ("admin-cli", "stf_…"); set_by: as the freeze row
 * shows it ("cli:ana").  ERR_NOT_FOUND if no such customer. */
enum err freeze_set_by_staff(const struct auth_ctx *ctx, const char *actor, const char *email, bool frozen,
                             const char *reason, const char *set_by);

#endif
