#include "ops/staff.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

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

enum err staff_create(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *email,
                      const char *role, const char *password, struct staff *out, char otpauth[TOTP_URI_MAX],
                      const char **bad, char *reason, size_t n)
{
    struct staff s = {0};
    uint8_t seed[TOTP_SEED_BYTES];
    *bad = NULL;
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
    if (e == ERR_OK)
        e = st->ops->staff_insert(st, &s);
    if (e == ERR_OK)
        *out = s;
    else
        sodium_memzero(otpauth, TOTP_URI_MAX);
    return e;
}

enum err staff_confirm_totp(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *email,
                            const char *code, int64_t now)
{
    char norm[EMAIL_MAX + 1];
    struct staff s;
    uint8_t seed[TOTP_SEED_BYTES];
    if (email_normalize(email, norm) != ERR_OK)
        return ERR_STAFF_NOT_FOUND;
    enum err e = st->ops->staff_get_by_email(st, norm, &s);
    if (e != ERR_OK)
        return e;
    if (masterkey_open(master_key, s.totp_sealed, sizeof s.totp_sealed, s.email, seed) != ERR_OK)
        return ERR_INTERNAL; /* wrong master key or tampered row: never "invalid code" */
    int64_t step = 0;
    e = totp_check(seed, code, now, s.totp_last_step, &step);
    sodium_memzero(seed, sizeof seed);
    if (e != ERR_OK)
        return e;
    s.totp_confirmed = 1;
    s.totp_last_step = step;
    return st->ops->staff_update(st, &s);
}

enum err staff_set_disabled(struct store *st, const char *email, bool disabled)
{
    char norm[EMAIL_MAX + 1];
    struct staff s;
    if (email_normalize(email, norm) != ERR_OK)
        return ERR_STAFF_NOT_FOUND;
    enum err e = st->ops->staff_get_by_email(st, norm, &s);
    if (e != ERR_OK)
        return e;
    s.disabled = disabled;
    return st->ops->staff_update(st, &s);
}
