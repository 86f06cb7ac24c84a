/* customer.h: customer registration, e-mail verification, profile (the
 * password change is password_change.h).
 *
 * Account life:
 *
 *   customer_register --> UNVERIFIED --customer_verify_email--> VERIFIED, no TOTP
 *        (code mailed)       |   ^      (code + password +         (enrol session)
 *                            |   |       device proof)              |   ^
 *                            |   +-- customer_resend /              |   +-- customer_resend, then
 *                            |       register again (new            |       customer_verify_email:
 *                            |       code, old one void;            |       a new enrol session
 *                            |       password replaced)             |       (the lost one ends)
 *                                                                   v
 *                                       mfa_totp_confirm --> ENROLLED (login; no more codes)
 *
 * Verification code (one live per customer; at most CODE_BUDGET_PER_DAY
 * issued per 24 h, code_budget.h):
 *
 *   ISSUED --right code, password and device proof, in time--> USED (deleted)
 *     |----any of them wrong--> ISSUED (tries + 1) --5th failure--> VOID (deleted)
 *     |----now >= issued + 15 min--> EXPIRED
 *     +----new code issued--> VOID
 *
 * Never telling whether an address has an account: registering a VERIFIED
 * address answers ERR_OK like a new one and only mails its owner "someone
 * tried to register with your address"; nothing else changes.  Registering
 * an UNVERIFIED address replaces its password and mails a fresh code: until
 * the mailbox proves ownership nobody owns the account, and a squatter must
 * not be able to hold an address hostage.  Verification needs the current
 * password as well as the code, so the account ends up with a password the
 * mailbox's owner knows: a squatter who re-registered with their own
 * password can make the owner's code useless (until the owner registers
 * again) but can never have it verify the squatter's password.
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
 * DEFERS MAIL (auth_ctx.h), as do customer_resend and customer_verify_email.
 * ERR_OK (also when the address has an account), ERR_INVALID_PARAM (*bad =
 * "email"), ERR_WEAK_PASSWORD (*bad = "password", reason in reason[n]). */
enum err customer_register(const struct auth_ctx *ctx, const char *email, const char *password, const char **bad,
                           char *reason, size_t n);

/* POST /v1/registrations/resend.  ERR_OK always (unless ERR_STORE…); mails a
 * fresh code (within the budget) only if an account with this address has
 * no TOTP enrolled yet (unverified, or verified with its enrolment
 * unfinished). Fast. */
enum err customer_resend(const struct auth_ctx *ctx, const char *email);

/* POST /v1/registrations/verify.  Strings are borrowed; the challenge comes
 * from device_challenge_new and is signed as for login (device.h). */
struct verify_input {
    const char *email;
    const char *password;
    const char *code;
    const char *device_key, *device_name;
    const char *challenge, *signature;
};

/* Check the code, the password and the device's proof of its key; mark the
 * address verified, register the device (not a login: no new-device mail,
 * unless the address was verified before) and open an ENROL session.  For
 * an account verified earlier without TOTP (its enrol session lost) this
 * resumes enrolment: its other sessions end.  SLOW (Argon2id, always, also
 * for an unknown address).
 * ERR_INVALID_PARAM (*bad = "email", "device.public_key" or "device.name":
 * checked before anything else, so a malformed request burns no try),
 * ERR_INVALID_CODE for every other failure, all alike: unknown address,
 * TOTP already enrolled, wrong, expired, used or voided code, wrong
 * password, bad or replayed challenge or signature.  Each is committed as
 * an email_verify_failed event; on an account with a live code each costs
 * a try.  The challenge is consumed whatever the outcome.  out is filled on
 * ERR_OK only. */
enum err customer_verify_email(const struct auth_ctx *ctx, const struct verify_input *in, struct auth_grant *out,
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

#endif
