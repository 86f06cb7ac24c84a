/* mfa.h: the second factor: TOTP enrolment and checks, recovery codes.
 *
 * TOTP enrolment (seed sealed with the master key, associated data the
 * customer's public id "usr_…"):
 *
 *   NONE --mfa_totp_begin--> PENDING --mfa_totp_confirm(first good code)--> ENROLLED
 *                              ^  |                                            |
 *                              |  +--mfa_totp_begin again: new pending seed    |
 *                              +------- mfa_totp_begin (re-enrol, fresh) ------+
 *   While re-enrolling, the enrolled seed stays valid until the new one is
 *   confirmed.  Codes are accepted once (last_step, auth/totp.h).
 *
 * Recovery codes: 10 per customer, "xxxx-xxxx-xxxx" (Crockford base32, 60
 * bits), shown once, stored as keyed hashes, each usable once; generating a
 * new set voids the old one.  Input is accepted in any case, with or without
 * the dashes.
 */
#ifndef KESSAI_AUTH_MFA_H
#define KESSAI_AUTH_MFA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth_ctx.h"
#include "auth/customer_types.h"
#include "auth/session.h"

#define RECOVERY_CODE_COUNT 10
#define RECOVERY_CODE_BUF 15 /* "xxxx-xxxx-xxxx" + NUL */
#define MFA_SESSION_MAX_FAILURES 5
#define TOTP_ISSUER "kessai"

/* POST /v1/mfa/totp: a new pending seed; uri receives otpauth://… (secret:
 * show once, never log).  Allowed for an ENROL session of a customer not yet
 * enrolled, or a FULL session with a fresh second factor (re-enrolment);
 * otherwise ERR_FRESH_MFA_REQUIRED. */
enum err mfa_totp_begin(const struct auth_ctx *ctx, const struct auth_session *cur, char uri[TOTP_URI_MAX]);

/* POST /v1/mfa/totp/confirm: the first code of the pending seed.  On ERR_OK
 * the seed is the customer's, a new set of recovery codes is written to codes
 * (shown once), and the current session becomes FULL with a fresh second
 * factor.  ERR_INVALID_CODE (wrong, or nothing pending), same session rules
 * as mfa_totp_begin. */
enum err mfa_totp_confirm(const struct auth_ctx *ctx, const struct auth_session *cur, const char *code,
                          char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF]);

/* POST /v1/mfa/recovery-codes: a new set (old ones void; the customer is
 * mailed). Needs full + fresh. */
enum err mfa_recovery_regenerate(const struct auth_ctx *ctx, const struct auth_session *cur,
                                 char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF]);

/* POST /v1/mfa/verify: exactly one of totp_code / recovery_code (the other
 * NULL).  On ERR_OK the session's second factor is fresh until
 * *fresh_until (ms).  ERR_INVALID_CODE for a wrong or reused code (recorded
 * as mfa_failed); the 5th consecutive failure on one session revokes it, so
 * a stolen session cannot grind codes.  Any session scope whose customer
 * has TOTP enrolled (else ERR_MFA_REQUIRED). */
enum err mfa_verify(const struct auth_ctx *ctx, const struct auth_session *cur, const char *totp_code,
                    const char *recovery_code, int64_t *fresh_until);

/* For login and reset, inside the caller's transaction: check a second
 * factor of customer c (exactly one of totp_code / recovery_code non-NULL)
 * and, on ERR_OK, consume it (c->totp_last_step is advanced in c and in the
 * store; a recovery code is marked used and the customer mailed, with how
 * many are left).  ERR_INVALID_CODE for anything wrong, including no TOTP
 * enrolled. */
enum err mfa_check_second_factor(const struct auth_ctx *ctx, struct customer *c, const char *totp_code,
                                 const char *recovery_code);

/* Wrong second factors a customer may give in 24 h, counted apart at login
 * (login_mfa_failed: the password was right) and everywhere else
 * (mfa_failed: password reset, mfa_verify): with the password alone, or the
 * mailbox alone, an attacker could otherwise guess at the authenticator for
 * ever, three codes (one step either way) a try.  Apart, so that whoever
 * holds the password cannot use up the owner's reset. */
#define MFA_GUESSES_PER_DAY 25

/* Inside the caller's transaction: how many events of kind ("mfa_failed"
 * or "login_mfa_failed") the customer has in the last 24 h, counted up to
 * MFA_GUESSES_PER_DAY (the budget is spent when *n reaches it). */
enum err mfa_guesses(const struct auth_ctx *ctx, int64_t customer_id, const char *kind, size_t *n);

/* Canonical form of a recovery code typed by a person: 12 lowercase base32
 * characters into out[13]; ERR_INVALID_CODE if it cannot be one. (Pure.) */
enum err mfa_recovery_canon(const char *in, char out[13]);

#endif
