/* mfa_reset.h: staff reset a customer's second factor (a lost phone).
 *
 * After support has checked who is asking (the check is recorded in words:
 * what was asked and matched), the customer's TOTP seed, any pending
 * enrolment and every recovery code are deleted, every session ends, every
 * offline-payment key is revoked and every unused payment code deleted (a
 * thief's phone may hold them), and the
 * account cools down as after a password reset (lower limits).  The
 * customer then enrols anew: the verification step again (password and
 * device proof, POST /v1/registrations/resend + /verify) and a new
 * authenticator.  One transaction; an audit entry (mfa_reset, actor the
 * staff member, detail: reason and identity_check) and a mail to the
 * customer's address, so a reset asked by an impostor cannot go unnoticed.
 */
#ifndef KESSAI_OPS_MFA_RESET_H
#define KESSAI_OPS_MFA_RESET_H

#include <stdint.h>

#include "auth/auth_ctx.h"

#define MFA_RESET_TEXT_MAX 200

/* ERR_NOT_FOUND (no such customer), ERR_INVALID_PARAM (*bad names the empty,
 * too long or control-character field), ERR_STORE. */
enum err mfa_reset_by_staff(const struct auth_ctx *ctx, const char *actor, int64_t customer_id, const char *reason,
                            const char *identity_check, const char **bad);

#endif
