/* staff.h: operator staff accounts.
 *
 * A staff member has an e-mail address, one role, a password (policy and
 * hashing of auth/password.h) and a TOTP second factor that is mandatory:
 *
 *   staff_create --> PENDING_2FA --staff_confirm_totp(first good code)--> ACTIVE
 *                         |                                                 |
 *                         +---------------- staff_set_disabled -------------+--> DISABLED
 *
 * Only ACTIVE staff may sign in (admin API, a later issue).  The TOTP seed is
 * generated here, sealed with the master key (associated data: the e-mail),
 * and revealed once, as an otpauth:// URI, to the person being enrolled.
 *
 * Every change is an entry of the audit log (audit/audit.h), appended in
 * the change's transaction with the actor the caller names ("admin-cli",
 * "stf_…") and the account as {"staff":"stf_…"} in the detail:
 * "staff_created" (with the role), "staff_confirmed", "staff_confirm_failed"
 * (a wrong or reused code: outcome failure), "staff_disabled",
 * "staff_enabled".
 */
#ifndef KESSAI_OPS_STAFF_H
#define KESSAI_OPS_STAFF_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/staff_types.h"
#include "store/store.h"
#include "util/err.h"

/* Public ids of staff accounts: "stf_…" (util/ids.h), e.g. list cursors. */
#define STAFF_ID_PREFIX "stf"

/* "support", "fraud_analyst", "finance", "administrator"; staff_roles
 * lists them, NULL-terminated, for messages and help. */
extern const char *const staff_roles[];
bool staff_role_valid(const char *role);

/* Create a staff member pending TOTP confirmation, at now (ms).  Errors:
 * ERR_INVALID_PARAM (email, role or actor; *bad names which),
 * ERR_WEAK_PASSWORD (reason in reason[n]), ERR_CONFLICT (email taken).
 * otpauth receives the enrolment URI. */
enum err staff_create(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *actor, int64_t now,
                      const char *email, const char *role, const char *password, struct staff *out,
                      char otpauth[TOTP_URI_MAX], const char **bad, char *reason, size_t n);

/* Prove the authenticator app holds the seed; activates the account, at
 * now_ms (the audit entry's time to the millisecond, so it never sorts
 * before the create's; TOTP's step from its seconds).  ERR_INVALID_CODE
 * for a wrong or reused code (recorded as a failure), ERR_STAFF_NOT_FOUND. */
enum err staff_confirm_totp(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *actor,
                            const char *email, const char *code, int64_t now_ms);

/* Disable or enable, at now (ms); a disable ends every session of the
 * staff member for good (enabling again brings none back).
 * ERR_STAFF_NOT_FOUND. */
enum err staff_set_disabled(struct store *st, const char *actor, const char *email, bool disabled, int64_t now);

/* "pending_2fa", "active" or "disabled". */
const char *staff_status(const struct staff *s);

#endif
