/* staff_session.c: see staff_session.h. */
#include "ops/staff_session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/password.h"
#include "auth/totp.h"
#include "ops/staff.h"
#include "util/email.h"
#include "util/ids.h"

/* Which roles may take each action.  Support helps customers (freezes a
 * stolen account, signs a thief out) but cannot undo a freeze; fraud
 * analysts can; switches stop a service for everyone, so only fraud
 * analysts and administrators hold them.  The audit log names customers
 * and what happened to them: not finance's business.  Fraud reversals
 * (ops/reversal.h) are for fraud analysts, finance and administrators, not
 * support.  The review queue of held payments (wallet/review.h) is a fraud
 * decision: fraud analysts and administrators. */
static const struct {
    enum staff_action action;
    const char *roles[5];
} may[] = {
    {STAFF_READ, {"support", "fraud_analyst", "finance", "administrator", NULL}},
    {STAFF_FREEZE, {"support", "fraud_analyst", "administrator", NULL}},
    {STAFF_UNFREEZE, {"fraud_analyst", "administrator", NULL}},
    {STAFF_SIGN_OUT, {"support", "fraud_analyst", "administrator", NULL}},
    {STAFF_KILLSWITCH, {"fraud_analyst", "administrator", NULL}},
    {STAFF_AUDIT, {"support", "fraud_analyst", "administrator", NULL}},
    {STAFF_RESET_MFA, {"support", "fraud_analyst", "administrator", NULL}},
    {STAFF_REVERSE, {"fraud_analyst", "finance", "administrator", NULL}},
    {STAFF_REVIEW, {"fraud_analyst", "administrator", NULL}},
};

bool staff_may(const char *role, enum staff_action action)
{
    for (size_t i = 0; i < sizeof may / sizeof may[0]; i++)
        if (may[i].action == action)
            for (size_t r = 0; may[i].roles[r]; r++)
                if (strcmp(role, may[i].roles[r]) == 0)
                    return true;
    return false;
}

const char *staff_public_id(int64_t id, char buf[IDS_BUF]) { return ids_format(buf, STAFF_ID_PREFIX, id); }

/* An audit entry (audit/audit.h) whose actor is the staff member, or
 * "system" for an address that is nobody's.  Autocommit: a failure is
 * recorded whatever happens to the request. */
static void event(const struct auth_ctx *a, const char *action, bool ok, int64_t staff_id, const char *reason)
{
    char sid[IDS_BUF];
    json_t *d = reason ? json_pack("{s:s}", "reason", reason) : NULL;
    (void)audit_record(a->st, a->now, staff_id ? staff_public_id(staff_id, sid) : AUDIT_ACTOR_SYSTEM, 0, action,
                       ok ? AUDIT_SUCCESS : AUDIT_FAILURE, a->client_addr, 0, d);
}

/* Before the password is checked, in one write transaction: the failures
 * in the window (*n), and, unless the account is locked already, one more
 * counted at once (*reserved), so that guesses sent together each see the
 * others and at most STAFF_LOGIN_FAILURES_MAX are ever checked.  A success
 * clears it with the rest. */
static enum err reserve_failure(const struct auth_ctx *a, int64_t staff_id, int64_t *n, bool *reserved)
{
    struct store *st = a->st;
    *reserved = false;
    enum err e = st->ops->begin(st);
    if (e != ERR_OK)
        return e;
    e = st->ops->staff_failure_count(st, staff_id, a->now - STAFF_LOCK_MS, n);
    if (e == ERR_OK && *n < STAFF_LOGIN_FAILURES_MAX && (e = st->ops->staff_failure_add(st, staff_id, a->now)) == ERR_OK)
        *reserved = true;
    if (e == ERR_OK && (e = st->ops->commit(st)) == ERR_OK)
        return ERR_OK;
    st->ops->rollback(st);
    *reserved = false;
    return e;
}

/* The code against the staff member's sealed seed; a good code is spent
 * (totp_last_step) so it cannot sign in twice.  Spent by a statement of its
 * own, not by writing back the row read before the Argon2id work: that
 * would undo a disable committed meanwhile, and two sign-ins with one code
 * would both pass.  Either (ERR_CONFLICT) refuses as a wrong code. */
static enum err check_totp(const struct auth_ctx *a, const struct staff *s, const char *code)
{
    uint8_t seed[TOTP_SEED_BYTES];
    if (masterkey_open(a->master_key, s->totp_sealed, sizeof s->totp_sealed, s->email, seed) != ERR_OK)
        return ERR_INTERNAL;
    int64_t step = 0;
    enum err e = totp_check(seed, code, a->now / 1000, s->totp_last_step, &step); /* seconds */
    sodium_memzero(seed, sizeof seed);
    if (e != ERR_OK)
        return e;
    e = a->st->ops->staff_totp_spend(a->st, s->id, step);
    return e == ERR_CONFLICT ? ERR_INVALID_CODE : e;
}

enum err staff_login(const struct auth_ctx *a, const char *email, const char *password, const char *totp,
                     char token[SECRET_TOKEN_BUF], struct staff_session *out)
{
    memset(out, 0, sizeof *out);
    token[0] = '\0';
    struct store *st = a->st;
    char norm[EMAIL_MAX + 1];
    struct staff s;
    bool found = email_normalize(email, norm) == ERR_OK && st->ops->staff_get_by_email(st, norm, &s) == ERR_OK;
    int64_t n = 0;
    bool reserved = false;
    enum err e = found ? reserve_failure(a, s.id, &n, &reserved) : ERR_OK;
    if (e != ERR_OK)
        return e;
    /* Argon2id always: an unknown address takes as long as a known one. */
    bool password_ok = auth_password_verify(found ? s.password_hash : AUTH_PASSWORD_DUMMY_HASH, password);
    if (!found) {
        event(a, "staff_login_failed", false, 0, "unknown_address");
        return ERR_INVALID_CREDENTIALS;
    }
    const char *why = !reserved ? "locked"
                      : s.disabled                  ? "disabled"
                      : !s.totp_confirmed           ? "not_confirmed"
                      : !password_ok                ? "password"
                                                    : NULL;
    if (why == NULL && (e = check_totp(a, &s, totp)) != ERR_OK) {
        if (e != ERR_INVALID_CODE) {
            /* Counted (reserve_failure): on file, so a lock it causes is explained. */
            event(a, "staff_login_failed", false, s.id, "internal");
            return e;
        }
        /* The code may have been refused because the account was disabled
         * during the password check: the log says which. */
        struct staff now;
        bool disabled = st->ops->staff_get_by_email(st, norm, &now) == ERR_OK && now.disabled;
        sodium_memzero(&now, sizeof now);
        why = disabled ? "disabled" : "totp";
    }
    if (why) {
        /* Counted already (reserve_failure); while locked nothing is
         * counted: the lock ends on time. */
        event(a, "staff_login_failed", false, s.id, why);
        if (reserved && n + 1 == STAFF_LOGIN_FAILURES_MAX)
            event(a, "staff_locked", false, s.id, NULL);
        return ERR_INVALID_CREDENTIALS;
    }
    /* Failures before a success do not add up to a later lock-out (as for
     * customers: the counter is of consecutive failures). */
    if ((e = st->ops->staff_failure_clear(st, s.id)) != ERR_OK)
        return e;
    uint8_t hash[AUTH_HASH_BYTES];
    secret_new_token(token);
    secret_hash_str(a->master_key, SECRET_STAFF_TOKEN, token, hash);
    if ((e = st->ops->staff_session_insert(st, s.id, hash, a->now, &out->id)) != ERR_OK) {
        sodium_memzero(token, SECRET_TOKEN_BUF);
        return e;
    }
    event(a, "staff_login_succeeded", true, s.id, NULL);
    out->staff_id = s.id;
    snprintf(out->email, sizeof out->email, "%s", s.email);
    snprintf(out->role, sizeof out->role, "%s", s.role);
    out->created_ms = out->last_seen_ms = a->now;
    out->expires_ms = a->now + STAFF_IDLE_MS;
    return ERR_OK;
}

enum err staff_authenticate(const struct auth_ctx *a, const char *token, struct staff_session *out)
{
    memset(out, 0, sizeof *out);
    if (token == NULL || token[0] == '\0')
        return ERR_UNAUTHENTICATED;
    struct store *st = a->st;
    uint8_t hash[AUTH_HASH_BYTES];
    secret_hash_str(a->master_key, SECRET_STAFF_TOKEN, token, hash);
    struct staff_session_row r;
    struct staff s;
    enum err e = st->ops->staff_session_find(st, hash, &r);
    if (e == ERR_OK)
        e = st->ops->staff_get(st, r.staff_id, &s);
    if (e == ERR_NOT_FOUND || e == ERR_STAFF_NOT_FOUND)
        return ERR_UNAUTHENTICATED;
    if (e != ERR_OK)
        return e;
    int64_t absolute = r.created_ms + STAFF_ABSOLUTE_MS, idle = r.last_seen_ms + STAFF_IDLE_MS;
    if (r.revoked_ms != 0 || s.disabled || a->now >= absolute || a->now > idle)
        return ERR_UNAUTHENTICATED;
    /* "Last seen" to the minute: a write per request would race payments for the lock. */
    if (a->now - r.last_seen_ms >= 60 * 1000 && (e = st->ops->staff_session_seen(st, r.id, a->now)) != ERR_OK)
        return e;
    out->id = r.id;
    out->staff_id = s.id;
    snprintf(out->email, sizeof out->email, "%s", s.email);
    snprintf(out->role, sizeof out->role, "%s", s.role);
    out->created_ms = r.created_ms;
    out->last_seen_ms = a->now;
    out->expires_ms = a->now + STAFF_IDLE_MS < absolute ? a->now + STAFF_IDLE_MS : absolute;
    return ERR_OK;
}

enum err staff_logout(const struct auth_ctx *a, const struct staff_session *cur)
{
    enum err e = a->st->ops->staff_session_revoke(a->st, cur->id, a->now);
    return e == ERR_NOT_FOUND ? ERR_OK : e;
}
