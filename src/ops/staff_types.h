/* staff_types.h: operator staff accounts (fraud, support, finance, admins).
 * Separate from customers: own table, own login, mandatory TOTP. */
#ifndef KESSAI_OPS_STAFF_TYPES_H
#define KESSAI_OPS_STAFF_TYPES_H

#include <stdint.h>

#include "auth/password.h"
#include "auth/totp.h"
#include "util/email.h"
#include "util/masterkey.h"

#define STAFF_ROLE_MAX 23
#define STAFF_TOTP_SEALED_BYTES (TOTP_SEED_BYTES + MASTERKEY_SEAL_OVERHEAD)

struct staff {
    int64_t id;
    char email[EMAIL_MAX + 1];
    char role[STAFF_ROLE_MAX + 1]; /* support | fraud_analyst | finance | administrator */
    char password_hash[AUTH_PASSWORD_HASH_MAX];
    uint8_t totp_sealed[STAFF_TOTP_SEALED_BYTES];
    int totp_confirmed;     /* 0 until the first code proves the app holds the seed */
    int64_t totp_last_step; /* step of the last accepted code: no code works twice */
    int disabled;
    int64_t created_ms;
};

/* A staff session as stored (ops/staff_session.h); the token is kept as its
 * keyed hash only. */
struct staff_session_row {
    int64_t id;
    int64_t staff_id;
    int64_t created_ms;
    int64_t last_seen_ms;
    int64_t revoked_ms; /* 0 while live */
};

#endif
