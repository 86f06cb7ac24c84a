#include "ops/staff.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "util/ids.h"

const char *const staff_roles[] = {"support", "fraud_analyst", "finance", "administrator", NULL};

bool staff_role_valid(const char *role)
{
    for (size_t i = 0; staff_roles[i]; i++)
        if (role && strcmp(role, staff_roles[i]) == 0)
            return true;
    return false;
}

const char *staff_status(const struct staff *s)
{
    return s->disabled ? "disabled" : s->totp_confirmed ? "active" : "pending_2fa";
}

/* The audit entry of a change to account s, in the open transaction. */
static enum err record(struct store *st, const char *actor, int64_t now_ms, const char *action,
                       enum audit_outcome outcome, const struct staff *s, bool with_role)
{
    char id[IDS_BUF];
    json_t *detail = json_pack("{s:s}", "staff", ids_format(id, STAFF_ID_PREFIX, s->id));
    if (detail && with_role)
        json_object_set_new(detail, "role", json_string(s->role));
    return audit_record(st, now_ms, actor, 0, action, outcome, NULL, 0, detail);
}

/* Commit the transaction when e is ERR_OK (or keep is set), else roll it
 * back; returns e, or the commit's failure. */
static enum err end(struct store *st, enum err e, bool keep)
{
    if (e == ERR_OK || keep) {
        enum err c = st->ops->commit(st);
        if (c == ERR_OK)
            return e;
        e = c;
    }
    st->ops->rollback(st);
    return e;
}

enum err staff_create(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *actor, int64_t now,
                      const char *email, const char *role, const char *password, struct staff *out,
                      char otpauth[TOTP_URI_MAX], const char **bad, char *reason, size_t n)
{
    struct staff s = {0};
    uint8_t seed[TOTP_SEED_BYTES];
    *bad = NULL;
    if (actor == NULL || actor[0] == '\0') {
        *bad = "actor";
        return ERR_INVALID_PARAM;
    }
    if (email_normalize(email, s.email) != ERR_OK) {
        *bad = "email";
        return ERR_INVALID_PARAM;
    }
    if (!staff_role_valid(role)) {
        *bad = "role";
        return ERR_INVALID_PARAM;
    }
    snprintf(s.role, sizeof s.role, "%s", role);
    enum err e = auth_password_policy(password, s.email, reason, n);
    if (e != ERR_OK) {
        *bad = "password";
        return e;
    }
    if ((e = auth_password_hash(password, s.password_hash)) != ERR_OK)
        return e;
    totp_new_seed(seed);
    masterkey_seal(master_key, seed, sizeof seed, s.email, s.totp_sealed);
    e = totp_uri(seed, "kessai-admin", s.email, otpauth);
    sodium_memzero(seed, sizeof seed);
    if (e == ERR_OK && (e = st->ops->begin(st)) == ERR_OK) {
        e = st->ops->staff_insert(st, &s);
        if (e == ERR_OK)
            e = record(st, actor, now, "staff_created", AUDIT_SUCCESS, &s, true);
        e = end(st, e, false);
    }
    if (e == ERR_OK)
        *out = s;
    else
        sodium_memzero(otpauth, TOTP_URI_MAX);
    sodium_memzero(&s, sizeof s);
    return e;
}

enum err staff_confirm_totp(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *actor,
                            const char *email, const char *code, int64_t now_ms)
{
    char norm[EMAIL_MAX + 1];
    struct staff s;
    uint8_t seed[TOTP_SEED_BYTES];
    if (email_normalize(email, norm) != ERR_OK)
        return ERR_STAFF_NOT_FOUND;
    enum err e = st->ops->begin(st);
    if (e != ERR_OK)
        return e;
    e = st->ops->staff_get_by_email(st, norm, &s);
    if (e != ERR_OK)
        return end(st, e, false);
    if (masterkey_open(master_key, s.totp_sealed, sizeof s.totp_sealed, s.email, seed) != ERR_OK) {
        sodium_memzero(&s, sizeof s);
        return end(st, ERR_INTERNAL, false); /* wrong master key or tampered row: never "invalid code" */
    }
    int64_t step = 0;
    e = totp_check(seed, code, now_ms / 1000, s.totp_last_step, &step);
    sodium_memzero(seed, sizeof seed);
    if (e == ERR_INVALID_CODE) {
        /* A failed second factor is a security event: kept, not rolled back. */
        enum err r = record(st, actor, now_ms, "staff_confirm_failed", AUDIT_FAILURE, &s, false);
        sodium_memzero(&s, sizeof s);
        return r == ERR_OK ? end(st, e, true) : end(st, r, false);
    }
    if (e == ERR_OK) {
        s.totp_confirmed = 1;
        s.totp_last_step = step;
        e = st->ops->staff_update(st, &s);
    }
    if (e == ERR_OK)
        e = record(st, actor, now_ms, "staff_confirmed", AUDIT_SUCCESS, &s, false);
    sodium_memzero(&s, sizeof s);
    return end(st, e, false);
}

enum err staff_set_disabled(struct store *st, const char *actor, const char *email, bool disabled, int64_t now)
{
    char norm[EMAIL_MAX + 1];
    struct staff s;
    if (email_normalize(email, norm) != ERR_OK)
        return ERR_STAFF_NOT_FOUND;
    enum err e = st->ops->begin(st);
    if (e != ERR_OK)
        return e;
    e = st->ops->staff_get_by_email(st, norm, &s);
    if (e == ERR_OK) {
        s.disabled = disabled;
        e = st->ops->staff_update(st, &s);
    }
    /* Ended for good, not paused: enabling the account again must not
     * bring back a token that may be why it was disabled. */
    if (e == ERR_OK && disabled)
        e = st->ops->staff_sessions_end(st, s.id, now);
    if (e == ERR_OK)
        e = record(st, actor, now, disabled ? "staff_disabled" : "staff_enabled", AUDIT_SUCCESS, &s, false);
    sodium_memzero(&s, sizeof s);
    return end(st, e, false);
}
