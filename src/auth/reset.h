/* reset.h: password reset.
 *
 * A reset token is 32 random bytes (base64url) mailed only to the verified
 * address on file, stored as a keyed hash, valid 30 minutes, single-use.
 *
 *   reset_request --> ISSUED --reset_complete(token, 2nd factor ok)--> USED
 *                      |  |--wrong 2nd factor--> ISSUED (tries + 1; a typo does
 *                      |  |                      not burn it) --5th--> VOID
 *                      |  +--reset_request again--> VOID (one live token)
 *                      +--now >= issued + 30 min--> EXPIRED
 *
 * Completing sets the password, ends every session, clears the lock-out,
 * sets the reset cool-down (now + reset_cooldown_s) and mails the customer.
 * Past MFA_GUESSES_PER_DAY (auth/mfa.h) wrong second factors of the customer in 24 h
 * (mfa_failed events), completing answers ERR_RATE_LIMITED without checking
 * the code: each new token restarts its count of tries.
 */
#ifndef KESSAI_AUTH_RESET_H
#define KESSAI_AUTH_RESET_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth_ctx.h"

#define RESET_TOKEN_TTL_MS (30 * 60 * 1000)
#define RESET_TOKEN_MAX_TRIES 5

/* POST /v1/password-reset: only the address; ERR_OK whether or not an
 * account exists (a token is mailed to the address on file only if it is
 * verified).  Fast.  DEFERS MAIL (auth_ctx.h). */
enum err reset_request(const struct auth_ctx *ctx, const char *email);

/* POST /v1/password-reset/complete.  SLOW (Argon2id).  Exactly one of
 * totp_code / recovery_code non-NULL.  ERR_INVALID_TOKEN (wrong, used,
 * voided or expired token), ERR_WEAK_PASSWORD (reason in reason[n]; the
 * token stays usable), ERR_INVALID_CODE (wrong second factor; token stays
 * usable until RESET_TOKEN_MAX_TRIES), ERR_RATE_LIMITED (the customer's
 * MFA_GUESSES_PER_DAY (auth/mfa.h) wrong second factors are used up; nothing
 * checked). */
enum err reset_complete(const struct auth_ctx *ctx, const char *token, const char *new_password,
                        const char *totp_code, const char *recovery_code, char *reason, size_t n);

#endif
