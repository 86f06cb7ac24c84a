/* device.h: customer devices (Ed25519 keys held by the phone).
 *
 * A device's identity is its Ed25519 public key (32 bytes, base64url without
 * padding); the server numbers it per customer ("dev_…").  To sign in, a
 * device signs a server challenge:
 *
 *   signature = Ed25519(secret key, "kessai-login-v1:" || challenge)
 *
 * where challenge is the base64url text as issued.  Challenge life:
 *
 *   device_challenge_new --> ISSUED --device_check_proof (any outcome)--> CONSUMED
 *                              |
 *                              +--now >= issued + 2 min--> EXPIRED (purged later)
 *
 * A key not yet known (or removed) for the customer is a new device: it is
 * registered with new_until = now + new_device_cooldown_s and the customer
 * is mailed "new sign-in from NAME at ADDRESS".
 *
 *   device_register --> ACTIVE --device_remove--> REMOVED (its sessions end;
 *                                                  the key is new again later)
 */
#ifndef KESSAI_AUTH_DEVICE_H
#define KESSAI_AUTH_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth_ctx.h"
#include "auth/customer_types.h"
#include "auth/secret_hash.h"
#include "auth/session.h"

#define LOGIN_CHALLENGE_BUF SECRET_TOKEN_BUF
#define LOGIN_CHALLENGE_TTL_MS (120 * 1000)
#define DEVICE_SIG_PREFIX "kessai-login-v1:"

/* POST /v1/login/challenge: a fresh single-use challenge; *expires_at in ms.
 * Fast; ERR_STORE only. */
enum err device_challenge_new(const struct auth_ctx *ctx, char out[LOGIN_CHALLENGE_BUF], int64_t *expires_at);

/* Validation helpers (pure). */
/* Decode a base64url (no padding) Ed25519 public key; ERR_INVALID_PARAM if it
 * is not exactly 32 bytes in canonical form. */
enum err device_key_parse(const char *b64, uint8_t pk[32]);
/* 1..DEVICE_NAME_MAX bytes of text fit to show (util/text.h: no control,
 * invisible or direction-changing characters): it names the phone in the
 * owner's "new sign-in" mail. */
bool device_name_valid(const char *name);

/* Inside the caller's transaction: consume the challenge (whatever the
 * outcome, so it can never be replayed) and verify the signature by key.
 * ERR_INVALID_CREDENTIALS if the challenge is unknown, used or expired, or
 * the key or signature is malformed or wrong. */
enum err device_check_proof(const struct auth_ctx *ctx, const char *public_key, const char *challenge,
                            const char *signature);

/* Inside the caller's transaction: find the customer's active device with
 * this key (touching last_seen), or register it as new (new_until = now +
 * new_device_cooldown_s) and set *is_new.  Mail and events are the caller's. */
enum err device_register(const struct auth_ctx *ctx, int64_t customer_id, const char *public_key,
                         const char *name, struct customer_device *out, bool *is_new);

struct device_info {
    int64_t id;
    char name[DEVICE_NAME_MAX + 1];
    int64_t first_seen_ms;
    int64_t last_seen_ms;
    int64_t new_until_ms;
    bool current; /* the device of the requesting session */
};
#define DEVICE_LIST_MAX 100

/* GET /v1/devices: the customer's active devices, oldest first. Needs full. */
enum err device_list(const struct auth_ctx *ctx, const struct auth_session *cur, struct device_info *out,
                     size_t max, size_t *n);
/* DELETE /v1/devices/{id}: remove one of the customer's devices and end its
 * sessions (the current one too, if it is this device).  Needs full + fresh
 * (ERR_MFA_REQUIRED / ERR_FRESH_MFA_REQUIRED); ERR_NOT_FOUND if not theirs. */
enum err device_remove(const struct auth_ctx *ctx, const struct auth_session *cur, int64_t device_id);

#endif
