/* login_risk.h: the risk engine's word on a login (risk/risk.h,
 * docs/risk.md "Logins").  Internal to auth/login.c and the tests.
 *
 *   login_risk_check    after the source check and the account lookup,
 *                       BEFORE the password is verified: evaluate, and
 *                       record a decision other than allow
 *   ... the login goes on (or not) ...
 *   login_risk_observe  the windows learn the attempt: done or failed
 *
 * Invariants:
 *  1. A refusal (deny, or hold: a login has no review queue) is decided
 *     before Argon2id runs and whatever the password, so its answer,
 *     ERR_RISK_DENIED, and its timing are the same for the right and a
 *     wrong password; nothing is verified, counted or consumed (no
 *     lock-out count, no challenge used).
 *  2. It is also the same for an address nobody has: the engine counts
 *     such an address under a stand-in account key (a hash of the address,
 *     in memory only), so a refusal does not tell that an account exists.
 *  3. Every decision but allow is a row of risk_decisions (kind login, ref
 *     "login") and an audit entry in one transaction of its own:
 *     risk_denied / risk_held (outcome failure) or risk_challenged; actor
 *     the account ("usr_…"), or "system" for an address nobody has.
 *  4. A challenge lets the login go on: every login already requires the
 *     second factor (TOTP or a recovery code) on every device, known or
 *     new, so the challenge is answered by the login itself.
 *
 * r NULL: no scoring (every call a no-op, ERR_OK), as in unit fixtures.
 */
#ifndef KESSAI_AUTH_LOGIN_RISK_H
#define KESSAI_AUTH_LOGIN_RISK_H

#include <stdbool.h>

#include "auth/auth_ctx.h"
#include "auth/customer_types.h"
#include "risk/risk.h"

struct login_risk {
    bool on;
    int64_t customer_id; /* the account, 0 for an address nobody has (ev has the stand-in) */
    struct risk_event ev;
    char client_addr[CLIENT_ADDR_MAX + 1];
    struct risk_decision d;
};

/* c: the account the address names (NULL: nobody's); email: the address
 * as typed (the stand-in key when c is NULL; may be NULL); device_key: the
 * public key sent (may be NULL).  ERR_OK (go on), ERR_RISK_DENIED
 * (refused, recorded, observed as failed), or the store's error when the
 * decision could not be recorded (then the login is refused with it). */
enum err login_risk_check(const struct auth_ctx *ctx, struct risk *r, const struct customer *c, const char *email,
                          const char *device_key, struct login_risk *lr);

/* The outcome: ok (a session was made) or not. */
void login_risk_observe(struct risk *r, struct login_risk *lr, bool ok);

#endif
