/* code_budget.h: how many mailed codes a customer may be issued per purpose.
 *
 * A code allows EMAIL_CODE_MAX_TRIES guesses and a new code resets that
 * count, so without a cap on codes "resend" would buy unlimited guesses at a
 * 6-digit code.  With at most CODE_BUDGET_PER_DAY codes per customer and
 * purpose in any 24 h window, an attacker gets at most 5 x 5 = 25 guesses a
 * day out of 10^6.
 *
 * The window slides: a code counts for 24 h after it was issued (table
 * code_issues, one row per code; rows older than the window are purged as new
 * ones are written).
 */
#ifndef KESSAI_AUTH_CODE_BUDGET_H
#define KESSAI_AUTH_CODE_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth_ctx.h"

#define CODE_BUDGET_PER_DAY 5
#define CODE_BUDGET_WINDOW_MS (24LL * 60 * 60 * 1000)

/* Purposes (the code_issues.purpose column). */
#define CODE_PURPOSE_VERIFY_EMAIL "verify_email"
#define CODE_PURPOSE_EMAIL_CHANGE "email_change"

/* Take one code from customer_id's budget for purpose, in the caller's open
 * transaction on ctx->st (the count and the insert must be atomic with the
 * code itself, so a rollback also returns the unit).  *granted = true: a
 * unit was taken and the caller may issue one code; false: the budget is
 * spent, issue nothing (a code_budget_exhausted security event, detail
 * {"purpose"}, was recorded here, so callers need not).  ERR_OK, or a
 * store error (then *granted = false). */
enum err code_budget_take(const struct auth_ctx *ctx, int64_t customer_id, const char *purpose, bool *granted);

#endif
