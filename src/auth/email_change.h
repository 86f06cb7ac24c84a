/* email_change.h: changing the address of an account (POST /v1/email,
 * POST /v1/email/confirm).
 *
 * The address on file is where reset tokens, lock-out and new-device alerts
 * go, so moving it is a takeover's last step: a thief holding a session
 * would move the account to a mailbox they read and then own every recovery
 * path.  Hence: asking needs a fresh second factor (like a password change);
 * the new mailbox must prove itself with a code; the address on file is told
 * when the change is asked for and again when it happens; and the change
 * ends every other session, every offline key and every unused payment
 * code (as a password change).
 *
 * One pending change per customer (table email_changes):
 *
 *   email_change_request --> PENDING (code mailed to the new address,
 *        (fresh 2FA)           |  |    notice "change to X requested" to the
 *                              |  |    address on file)
 *        +---------------------+  +--right code, in time--> CHANGED (row deleted;
 *        |                     |                            other sessions end,
 *        |                     |                            unused reset tokens void,
 *        |                     |                            old address mailed)
 *        |                     +--right code, X taken meanwhile--> VOID, ERR_CONFLICT
 *        |                     +--wrong code--> PENDING (tries + 1) --5th--> VOID
 *        |                     +--now >= asked + 15 min--> EXPIRED
 *        +--email_change_request again--> VOID (replaced), if the day's
 *                                         budget of codes allows (below)
 *
 *   If X already has an account when asked for, the request is answered
 *   exactly the same and the address on file gets the same notice, but the
 *   row is DOOMED: no code is mailed (nothing at all goes to X, whose owner
 *   never asked for anything) and no code ever confirms it; it counts tries
 *   and expires like any other.  So the answer never tells whether X has an
 *   account, and nobody can attach themselves to someone else's address.
 *   (An address held by an unverified registration counts as taken too.)
 *
 * Codes: 6 digits, keyed hash (SECRET_EMAIL_CHANGE_CODE), 15 minutes, 5
 * tries, single use: the registration code's rules (customer.h).  A new
 * request would restart the count of tries, so requests draw on a budget
 * (code_budget.h, purpose "email_change": 5 per customer per 24 h); once it
 * is spent a request stores, replaces and mails nothing (the pending change
 * stays as it was) and records code_budget_exhausted, while its answer is
 * still the same.
 */
#ifndef KESSAI_AUTH_EMAIL_CHANGE_H
#define KESSAI_AUTH_EMAIL_CHANGE_H

#include "auth/auth_ctx.h"
#include "auth/customer.h"
#include "auth/session.h"

#define EMAIL_CHANGE_CODE_TTL_MS EMAIL_CODE_TTL_MS
#define EMAIL_CHANGE_MAX_TRIES EMAIL_CODE_MAX_TRIES

/* What can be refused before anything is stored, answered at once by the
 * handler (the work itself runs after the answer, see email_change_request):
 * ERR_MFA_REQUIRED / ERR_FRESH_MFA_REQUIRED; ERR_INVALID_PARAM if new_email
 * is not an address or is the address already on file (the caller knows
 * its own address: nothing is revealed); ERR_UNAUTHENTICATED if the
 * customer is gone.  On ERR_OK norm holds the normalised address.  Fast,
 * reads only (no transaction). */
enum err email_change_check(const struct auth_ctx *ctx, const struct auth_session *cur, const char *new_email,
                            char norm[EMAIL_MAX + 1]);

/* POST /v1/email: the checks above again at ctx->now (when it was asked:
 * freshness was judged then), under the write lock, and the session must
 * still be live at live_at (when this runs: not revoked, not past its
 * absolute end; ERR_UNAUTHENTICATED), then store the
 * pending change (replacing any other), mail the code to the new address
 * unless it is taken, mail the notice to the address on file and record
 * email_change_requested.  ERR_OK alike for a free and a taken address, and
 * when the code budget is spent (then nothing but code_budget_exhausted is
 * stored).  Fast. */
enum err email_change_request(const struct auth_ctx *ctx, const struct auth_session *cur, const char *new_email,
                              int64_t live_at);

/* POST /v1/email/confirm: the code mailed to the new address, from a FULL
 * session of the same customer (ERR_MFA_REQUIRED otherwise; no fresh second
 * factor needed: the code is the proof).  ERR_INVALID_CODE if there is no
 * pending change, or the code is wrong (a try is counted and committed),
 * expired, used or doomed.  ERR_CONFLICT if, the code being right, another
 * account took the address meanwhile (the change is void).  On ERR_OK the
 * address is switched, every other session of the customer ends, unused
 * reset tokens are voided (they went to the old address), the old address
 * is mailed, email_changed is recorded, and out holds the new profile.
 * Fast. */
enum err email_change_confirm(const struct auth_ctx *ctx, const struct auth_session *cur, const char *code,
                              struct customer_profile *out);

#endif
