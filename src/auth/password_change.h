/* password_change.h: changing the password from a signed-in session
 * (POST /v1/password).
 *
 * A session can be stolen (a phone left unlocked, malware) while the
 * password is not; the change-password form must then not become an oracle
 * for guessing it.  So a wrong current password counts exactly as a failed
 * login does: against the account's counter of throttle.h, 10 in a row lock
 * the account for 30 minutes and mail the owner, and while the account is
 * locked even the right current password is refused.
 *
 *   password_change --session full + fresh?--no--> ERR_MFA_REQUIRED / ERR_FRESH_MFA_REQUIRED
 *        |
 *        +--Argon2id verify of the current password (always, locked or not)
 *        |
 *        +--account locked ---------------> ERR_INVALID_CREDENTIALS, password_change_failed
 *        |                                   (reason "locked"; not counted)
 *        +--current password wrong --------> ERR_INVALID_CREDENTIALS, password_change_failed
 *        |                                   (counted: the 10th locks, owner mailed, account_locked)
 *        +--new password weak ------------> ERR_WEAK_PASSWORD (nothing stored)
 *        +--session ended meanwhile ------> ERR_UNAUTHENTICATED (nothing stored, nothing counted)
 *        +--otherwise: new hash stored, failure counter cleared, every other
 *           session ends, owner mailed, password_changed recorded.
 */
#ifndef KESSAI_AUTH_PASSWORD_CHANGE_H
#define KESSAI_AUTH_PASSWORD_CHANGE_H

#include <stddef.h>

#include "auth/auth_ctx.h"
#include "auth/session.h"

/* SLOW (one or two Argon2id).  Needs full + fresh (ERR_MFA_REQUIRED /
 * ERR_FRESH_MFA_REQUIRED).  ERR_INVALID_CREDENTIALS if current is wrong or
 * the account is locked (the failure and its counting are committed),
 * ERR_WEAK_PASSWORD (reason in reason[n]), ERR_UNAUTHENTICATED if the
 * customer is gone or cur's session has ended meanwhile (checked again in
 * the write transaction).  On ERR_OK every other session of the customer
 * ends and the customer is mailed.  A refusal DEFERS MAIL (auth_ctx.h), as
 * login does: the lock-out notice never slows the answer that caused it. */
enum err password_change(const struct auth_ctx *ctx, const struct auth_session *cur, const char *current,
                         const char *new_password, char *reason, size_t n);

#endif
