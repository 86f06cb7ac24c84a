/* staff_session.h: staff sign-in to the admin API, and what each role may do.
 *
 * Staff are not customers: their own table (ops/staff.h), their own
 * sessions (table staff_sessions), their own header-less bearer tokens.
 * Signing in takes the address, the password and a TOTP code together
 * (there is no password-only step to probe); a code is accepted once.
 *
 *   staff_login(email, password, totp) --> session (token shown once)
 *   session --each request, staff_authenticate--> same, last_seen = now
 *   session --now > last_seen + STAFF_IDLE_MS or now >= created + STAFF_ABSOLUTE_MS--> EXPIRED
 *   session --staff_logout, account disabled--> REVOKED / refused
 *
 * Guessing: STAFF_LOGIN_FAILURES_MAX consecutive failed sign-ins of one
 * address within STAFF_LOCK_MS lock it for the rest of that window, also
 * for the right password (a success clears the count).  Each sign-in is
 * counted as a failure before its password is checked (and uncounted by its
 * success), so guesses sent together cannot all be checked against one
 * count: at most STAFF_LOGIN_FAILURES_MAX are.  Every sign-in, failure and lock-out is an
 * audit entry (audit/audit.h: staff_login_succeeded, staff_login_failed
 * with the reason, staff_locked; actor "stf_…", or "system" for an address
 * that is nobody's).  An unknown
 * address costs the same Argon2id as a known one, and every refusal is the
 * same ERR_INVALID_CREDENTIALS, so an answer tells nothing about which part
 * was wrong or whether the address is locked.
 *
 * Roles (staff_may): every endpoint names one action; the table in
 * staff_session.c says which roles may take it.
 *
 * Login is SLOW (Argon2id): run it on the auth workers.  Tokens are secrets:
 * the store keeps their keyed hash only (SECRET_STAFF_TOKEN).
 */
#ifndef KESSAI_OPS_STAFF_SESSION_H
#define KESSAI_OPS_STAFF_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth_ctx.h"
#include "auth/secret_hash.h"
#include "ops/staff_types.h"
#include "util/ids.h"

#define STAFF_IDLE_MS (30 * 60 * 1000)
#define STAFF_ABSOLUTE_MS (12 * 60 * 60 * 1000)
#define STAFF_LOGIN_FAILURES_MAX 5
#define STAFF_LOCK_MS (15 * 60 * 1000)

/* What a staff member may do through the admin API. */
enum staff_action {
    STAFF_READ,             /* who am I, lists */
    STAFF_FREEZE,           /* freeze a customer's account */
    STAFF_UNFREEZE,         /* unfreeze one (the customer cannot) */
    STAFF_SIGN_OUT,         /* end every session of a customer */
    STAFF_KILLSWITCH,       /* turn operator switches on and off */
    STAFF_AUDIT,            /* search the audit log */
    STAFF_RESET_MFA,        /* reset a customer's second factor after an identity check */
    STAFF_REVERSE,          /* request, approve and reject fraud reversals (ops/reversal.h) */
    STAFF_REVIEW,           /* approve or reject held payments and transfers (wallet/review.h) */
};

bool staff_may(const char *role, enum staff_action action);

struct staff_session {
    int64_t id;
    int64_t staff_id;
    char email[EMAIL_MAX + 1];
    char role[STAFF_ROLE_MAX + 1];
    int64_t created_ms;
    int64_t last_seen_ms;
    int64_t expires_ms; /* min(last_seen + idle, created + absolute) after this request */
};

/* Sign in.  token receives the new session's bearer token (secret).
 * ERR_INVALID_CREDENTIALS (unknown address, wrong password or code, a
 * disabled, unconfirmed or locked account: all alike), ERR_STORE. */
enum err staff_login(const struct auth_ctx *a, const char *email, const char *password, const char *totp,
                     char token[SECRET_TOKEN_BUF], struct staff_session *out);

/* A bearer token at a->now: ERR_UNAUTHENTICATED if unknown, expired,
 * revoked, or its staff member is disabled.  Marks the session seen (at
 * most once a minute: a write). */
enum err staff_authenticate(const struct auth_ctx *a, const char *token, struct staff_session *out);

/* End the caller's session. */
enum err staff_logout(const struct auth_ctx *a, const struct staff_session *cur);

/* "stf_…" of a staff id (util/ids.h), for events and audit detail. */
const char *staff_public_id(int64_t id, char buf[IDS_BUF]);

#endif
