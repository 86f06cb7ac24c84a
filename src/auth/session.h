/* session.h: customer sessions.
 *
 * A session is a random opaque token (32 bytes, base64url, 43 chars) shown
 * once to the client; the store keeps only its keyed hash.  It is bound to
 * one device: a request must name that device (Kessai-Device: dev_…).  A
 * token presented with another device id, or none, is refused, recorded
 * (session_device_mismatch) and revoked (session_revoked, reason
 * device_mismatch): the app always names its own device, so the token is
 * in someone else's hands, and ending it at once leaves a thief one guess
 * at the device id, not one per id.
 *
 *   session_create (verify e-mail) --> ENROL --mfa_totp_confirm--> FULL
 *   session_create (login) ----------------------------------------> FULL
 *
 *   ENROL/FULL --session_authenticate (each request)--> same state, last_seen = now
 *   ENROL/FULL --now > last_seen + idle or now >= absolute--> EXPIRED   (implicit)
 *   ENROL/FULL --session_revoke / session_revoke_all / device_remove /
 *                password change or reset / e-mail change (other sessions) /
 *                5 wrong mfa_verify codes / presented without its device id--> REVOKED
 *   EXPIRED, REVOKED: final; session_authenticate answers ERR_UNAUTHENTICATED.
 *
 * Freshness: FULL sessions carry mfa_at (the last second-factor check: the
 * login itself, TOTP confirmation, or mfa_verify).  Sensitive operations need
 * now < mfa_at + AUTH_FRESH_MFA_MS, else ERR_FRESH_MFA_REQUIRED.
 *
 * What would hand over the account itself (a new authenticator, new
 * recovery codes, another e-mail address) needs more: a session that began
 * with both factors less than AUTH_SIGNED_IN_MS ago, else
 * ERR_SIGN_IN_REQUIRED.  Whoever holds an unlocked phone holds its session
 * and its authenticator app, so a code from that app proves nothing the
 * phone does not; the password it does not hold.
 */
#ifndef KESSAI_AUTH_SESSION_H
#define KESSAI_AUTH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth_ctx.h"
#include "auth/customer_types.h"
#include "auth/secret_hash.h"

#define SESSION_TOKEN_BUF SECRET_TOKEN_BUF /* 43 chars + NUL */
#define AUTH_FRESH_MFA_MS (300 * 1000)
#define AUTH_SIGNED_IN_MS (600 * 1000)

/* What verify-e-mail and login hand the client (once). */
struct auth_grant {
    char session_token[SESSION_TOKEN_BUF]; /* secret: reply once, never log */
    int64_t session_id;
    int64_t customer_id;
    int64_t device_id;
    enum session_scope scope;
    bool new_device;    /* login only: the device key was not known for the customer */
    int64_t expires_at; /* ms: when the session ends if unused (now + idle, capped by absolute) */
};

/* An authenticated request's view of its session. */
struct auth_session {
    int64_t id;
    int64_t customer_id;
    int64_t device_id;
    enum session_scope scope;
    int64_t created_ms;
    int64_t last_seen_ms;
    int64_t expires_ms;          /* min(last_seen + idle, absolute) after this request */
    int64_t absolute_ms;
    int64_t mfa_at_ms;           /* 0 if never */
    int64_t fresh_until_ms;      /* mfa_at + AUTH_FRESH_MFA_MS, 0 if never */
    int64_t device_new_until_ms; /* the device's new-device cool-down (lower limits until then) */
    int64_t cooldown_until_ms;   /* the customer's post-reset cool-down, 0 if none */
};

/* Resolve a bearer token presented with a device id ("dev_…"; NULL or ""
 * counts as a mismatch) at ctx->now, and mark the session as seen (at
 * most once a minute; through ctx->writer's next group commit, not waited
 * for, when ctx->writer is set, else committed before the return).
 * ERR_UNAUTHENTICATED if the token is unknown, expired (idle or absolute),
 * revoked, its device was removed, or the device id differs (this last case
 * also records session_device_mismatch and revokes the session, committed
 * before the answer).  Fast. */
enum err session_authenticate(const struct auth_ctx *ctx, const char *token, const char *device_id,
                              struct auth_session *out);

enum session_need {
    SESSION_NEED_ANY,   /* enrol or full: /v1/me, TOTP enrolment, /v1/mfa/verify */
    SESSION_NEED_FULL,  /* everything else: ERR_MFA_REQUIRED for an enrol session */
    SESSION_NEED_FRESH, /* full and a second factor within 300 s: ERR_FRESH_MFA_REQUIRED */
    SESSION_NEED_SIGNED_IN, /* fresh, and signed in (password and second factor) within 600 s:
                               ERR_SIGN_IN_REQUIRED */
};
/* Check an authenticated session against what an endpoint needs (pure). */
enum err session_require(const struct auth_session *s, enum session_need need, int64_t now);

struct session_info {
    int64_t id;
    int64_t device_id;
    char device_name[DEVICE_NAME_MAX + 1];
    int64_t created_ms;
    int64_t last_seen_ms;
    bool current; /* the session making the request */
};
#define SESSION_LIST_MAX 100

/* The customer's live sessions (not revoked, not expired), newest first, at
 * most max (extra ones are left out).  Needs a full session. */
enum err session_list(const struct auth_ctx *ctx, const struct auth_session *cur, struct session_info *out,
                      size_t max, size_t *n);
/* Revoke one of the customer's own live sessions (the current one too),
 * and what its device holds to pay without a session: its offline key and
 * unused one-time codes (the phone asks for a new key at its next login).
 * ERR_NOT_FOUND if it is not theirs or no longer live.  Needs full. */
enum err session_revoke(const struct auth_ctx *ctx, const struct auth_session *cur, int64_t session_id);
/* Revoke every session of the customer, the current one included, with
 * every offline key and unused one-time code. Needs full. */
enum err session_revoke_all(const struct auth_ctx *ctx, const struct auth_session *cur);

/* For work done after its request authenticated (in a worker's queue, or
 * in the ledger writer's transaction): the session is still the
 * customer's, not revoked since (a sign-out, a removed device, a freeze, a
 * reset, ...) and not past its absolute end at now.  Read on st: inside
 * the transaction that writes, so nothing it writes outlives a revocation
 * committed first (one committed after it revokes what it wrote).
 * ERR_UNAUTHENTICATED if not. */
enum err session_still_live(struct store *st, int64_t session_id, int64_t customer_id, int64_t now);

/* For the other auth modules, inside the caller's transaction: create a
 * session for (customer, device) with a fresh token, mfa_at = now for FULL
 * (a full session is only ever born from a second-factor check). */
enum err session_create(const struct auth_ctx *ctx, int64_t customer_id, int64_t device_id,
                        enum session_scope scope, struct auth_grant *out);

#endif
