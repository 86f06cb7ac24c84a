/* login.h: the full login decision (POST /v1/login).
 *
 * Order of checks, each failure answered the same way (ERR_INVALID_CREDENTIALS)
 * so that nothing tells which one failed or whether the address has an account:
 *   1. source blocked for credential stuffing (client address or device key)
 *      -> ERR_RATE_LIMITED with *retry_after_s, before any hashing;
 *      then (login_attempt_scored) the risk engine: ERR_RISK_DENIED before
 *      any hashing, whatever the password;
 *   2. Argon2id verify of the password, always: against the stored hash, or a
 *      fixed dummy hash when the address is unknown or malformed;
 *   3. in one transaction: the device proof (challenge consumed whatever
 *      happens), the lock-out (while locked even the right password fails),
 *      e-mail verified and TOTP enrolled, then the second factor (TOTP,
 *      replay-safe, or a recovery code), consumed only when all else passed,
 *      and not even checked once the customer's MFA_GUESSES_PER_DAY wrong
 *      second factors (auth/mfa.h) are used up; a wrong one is also an
 *      mfa_failed, and the first of the day mails the owner that the
 *      password was used;
 *   4. failure: the account's consecutive-failure counter (10 -> locked for
 *      30 min, owner mailed, account_locked), the source's stuffing counter
 *      (throttle.h), login_failed recorded;
 *      success: counter cleared, device found or registered (new device:
 *      owner mailed, new_device), a FULL session with a fresh second factor,
 *      login_succeeded recorded.
 */
#ifndef KESSAI_AUTH_LOGIN_H
#define KESSAI_AUTH_LOGIN_H

#include <stdint.h>

#include "auth/auth_ctx.h"
#include "auth/session.h"

struct login_input {
    const char *email;
    const char *password;
    const char *totp_code;     /* exactly one of totp_code / recovery_code is non-NULL */
    const char *recovery_code;
    const char *device_key;    /* base64url Ed25519 public key */
    const char *device_name;   /* used when the device is new */
    const char *challenge;     /* from device_challenge_new, as received */
    const char *signature;     /* base64url Ed25519 signature (device.h) */
};

/* SLOW (one Argon2id verify, always).  DEFERS MAIL (auth_ctx.h): the 10th
 * failure's lock-out notice, or a new device's notice, is left queued for
 * the background deliverer.  ERR_OK and *out; ERR_INVALID_CREDENTIALS;
 * ERR_RATE_LIMITED with *retry_after_s (seconds, >= 1) when the source is
 * blocked.  NULL fields of in count as wrong, never crash. */
enum err login_attempt(const struct auth_ctx *ctx, const struct login_input *in, struct auth_grant *out,
                       int64_t *retry_after_s);

struct risk;
/* login_attempt, scored by the risk engine risk (NULL: not scored, which
 * is login_attempt): after step 1 and the account lookup, before step 2
 * (auth/login_risk.h).  Adds ERR_RISK_DENIED: refused for the account's
 * protection (deny, or hold), decided without the password, recorded
 * (risk_denied / risk_held), the same answer whatever was typed. */
enum err login_attempt_scored(const struct auth_ctx *ctx, struct risk *risk, const struct login_input *in,
                              struct auth_grant *out, int64_t *retry_after_s);

#endif
