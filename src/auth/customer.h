/* customer.h: customer registration, e-mail verification, profile, password
 * change.
 *
 * Account life:
 *
 *   customer_register --> UNVERIFIED --customer_verify_email(code)--> VERIFIED
 *        (code mailed)       |   ^                                    (enrol session;
 *                            |   +-- customer_resend / register again  TOTP next:
 *                            |       (new code, old one void)          mfa.h)
 *
 * Verification code (one live per customer):
 *
 *   ISSUED --right code, in time--> USED (deleted)
 *     |----wrong code--> ISSUED (tries + 1) --5th wrong--> VOID (deleted)
 *     |----now >= issued + 15 min--> EXPIRED
 *     +----new code issued--> VOID
 *
 * Never telling whether an address has an account: registering a VERIFIED
 * address answers ERR_OK like a new one and only mails its owner "someone
 * tried to register with your address"; nothing else changes.  Registering
 * an UNVERIFIED address replaces its password and mails a fresh code: until
 * the mailbox proves ownership nobody owns the account, and a squatter must
 * not be able to hold an address hostage (the password alone never yields a
 * full session, so a racing registrant gains nothing).
 */
#ifndef KESSAI_AUTH_CUSTOMER_H
#define KESSAI_AUTH_CUSTOMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth_ctx.h"
#include "auth/customer_types.h"
#include "auth/session.h"

#define EMAIL_CODE_DIGITS 6
#define EMAIL_CODE_TTL_MS (15 * 60 * 1000)
#define EMAIL_CODE_MAX_TRIES 5

/* POST /v1/registrations.  SLOW (Argon2id, always, also for a taken address).
 * ERR_OK (also when the address has an account), ERR_INVALID_PARAM (*bad =
 * "email"), ERR_WEAK_PASSWORD (*bad = "password", reason in reason[n]). */
enum err customer_register(const struct auth_ctx *ctx, const char *email, const char *password, const char **bad,
                           char *reason, size_t n);

/* POST /v1/registrations/resend.  ERR_OK always (unless ERR_STORE…); mails a
 * fresh code only if an unverified account has this address. Fast. */
enum err customer_resend(const struct auth_ctx *ctx, const char *email);

/* POST /v1/registrations/verify: check the code, mark the address verified,
 * register the device (not a login: no new-device mail) and open an ENROL
 * session.  Fast.
 * ERR_INVALID_PARAM (*bad = "email", "device.public_key" or "device.name":
 * checked before the code, so a malformed request burns no try),
 * ERR_INVALID_CODE (unknown address, already verified, wrong, expired, used
 * or voided code).  out is filled on ERR_OK only. */
enum err customer_verify_email(const struct auth_ctx *ctx, const char *email, const char *code,
                               const char *device_key, const char *device_name, struct auth_grant *out,
                               const char **bad);

/* GET /v1/me. */
struct customer_profile {
    int64_t id;
    char email[EMAIL_MAX + 1];
    bool email_verified;
    bool totp_enrolled;
    int recovery_codes_left;
    int64_t created_ms;
};
/* Any session scope. ERR_UNAUTHENTICATED if the customer is gone. */
enum err customer_profile(const struct auth_ctx *ctx, const struct auth_session *cur, struct customer_profile *out);

/* POST /v1/password.  SLOW (two Argon2id).  Needs full + fresh
 * (ERR_MFA_REQUIRED / ERR_FRESH_MFA_REQUIRED).  ERR_INVALID_CREDENTIALS if
 * current is wrong, ERR_WEAK_PASSWORD (reason in reason[n]),
 * ERR_UNAUTHENTICATED if cur's session has ended meanwhile (checked again in
 * the write transaction).  On ERR_OK every other session of the customer
 * ends and the customer is mailed. */
enum err customer_change_password(const struct auth_ctx *ctx, const struct auth_session *cur, const char *current,
                                  const char *new_password, char *reason, size_t n);

#endif
