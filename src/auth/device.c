/* device.c: devices and their login proofs (state machines in device.h).
 *
 * Invariants:
 *  1. A challenge is stored only as a keyed hash and is deleted by the first
 *     proof that names it, whatever that proof's outcome: no replay, and no
 *     second guess at a signature over the same challenge.
 *  2. A key is stored in canonical base64url (decoded and re-encoded), so
 *     two spellings of one key are one device.
 */
#include "auth/device.h"

#include <sodium.h>
#include <string.h>

#include "auth/events.h"
#include "auth/txn.h"
#include "util/ids.h"
#include "util/text.h"

_Static_assert(crypto_sign_PUBLICKEYBYTES == 32, "Ed25519 public key");
#define SIG_B64_MAX 90 /* 64 bytes base64url = 86 chars */

enum err device_challenge_new(const struct auth_ctx *ctx, char out[LOGIN_CHALLENGE_BUF], int64_t *expires_at)
{
    uint8_t h[AUTH_HASH_BYTES];
    secret_new_token(out);
    secret_hash_str(ctx->master_key, SECRET_LOGIN_CHALLENGE, out, h);
    *expires_at = ctx->now + LOGIN_CHALLENGE_TTL_MS;
    enum err e = auth_begin(ctx);
    if (e != ERR_OK)
        return e;
    e = ctx->st->ops->challenge_insert(ctx->st, h, *expires_at, ctx->now);
    e = auth_end(ctx, e == ERR_OK, e);
    if (e != ERR_OK)
        sodium_memzero(out, LOGIN_CHALLENGE_BUF);
    return e;
}

/* Decode exactly n bytes of canonical base64url without padding. */
static enum err b64_exact(const char *b64, uint8_t *out, size_t n)
{
    size_t len = 0;
    const char *end = NULL;
    char again[128];
    if (b64 == NULL || strlen(b64) != sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1 ||
        sizeof again < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
        return ERR_INVALID_PARAM;
    if (sodium_base642bin(out, n, b64, strlen(b64), NULL, &len, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) !=
            0 ||
        len != n || *end != '\0')
        return ERR_INVALID_PARAM;
    /* Unused low bits of the last character must be zero (canonical form). */
    sodium_bin2base64(again, sizeof again, out, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return strcmp(again, b64) == 0 ? ERR_OK : ERR_INVALID_PARAM;
}

enum err device_key_parse(const char *b64, uint8_t pk[32]) { return b64_exact(b64, pk, 32); }

bool device_name_valid(const char *name) { return text_shown_ok(name, DEVICE_NAME_MAX); }

enum err device_check_proof(const struct auth_ctx *ctx, const char *public_key, const char *challenge,
                            const char *signature)
{
    uint8_t h[AUTH_HASH_BYTES], pk[32], sig[crypto_sign_BYTES];
    if (challenge == NULL || strlen(challenge) != LOGIN_CHALLENGE_BUF - 1)
        return ERR_INVALID_CREDENTIALS;
    secret_hash_str(ctx->master_key, SECRET_LOGIN_CHALLENGE, challenge, h);
    enum err e = ctx->st->ops->challenge_consume(ctx->st, h, ctx->now);
    if (e != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_INVALID_CREDENTIALS : e;
    if (device_key_parse(public_key, pk) != ERR_OK || b64_exact(signature, sig, sizeof sig) != ERR_OK)
        return ERR_INVALID_CREDENTIALS;
    size_t plen = strlen(DEVICE_SIG_PREFIX), clen = strlen(challenge);
    uint8_t msg[sizeof DEVICE_SIG_PREFIX + LOGIN_CHALLENGE_BUF];
    memcpy(msg, DEVICE_SIG_PREFIX, plen);
    memcpy(msg + plen, challenge, clen);
    return crypto_sign_verify_detached(sig, msg, plen + clen, pk) == 0 ? ERR_OK : ERR_INVALID_CREDENTIALS;
}

enum err device_register(const struct auth_ctx *ctx, int64_t customer_id, const char *public_key,
                         const char *name, struct customer_device *out, bool *is_new)
{
    uint8_t pk[32];
    *is_new = false;
    if (device_key_parse(public_key, pk) != ERR_OK || !device_name_valid(name))
        return ERR_INVALID_PARAM;
    enum err e = ctx->st->ops->device_find(ctx->st, customer_id, public_key, out);
    if (e == ERR_OK) {
        out->last_seen_ms = ctx->now;
        return ctx->st->ops->device_touch(ctx->st, out->id, ctx->now);
    }
    if (e != ERR_NOT_FOUND)
        return e;
    memset(out, 0, sizeof *out);
    out->customer_id = customer_id;
    memcpy(out->public_key, public_key, DEVICE_KEY_B64_LEN);
    memcpy(out->name, name, strlen(name) + 1);
    out->first_seen_ms = ctx->now;
    out->last_seen_ms = ctx->now;
    out->new_until_ms = ctx->now + ctx->cfg->new_device_cooldown_s * 1000;
    e = ctx->st->ops->device_insert(ctx->st, out);
    if (e == ERR_OK)
        *is_new = true;
    return e;
}

enum err device_list(const struct auth_ctx *ctx, const struct auth_session *cur, struct device_info *out,
                     size_t max, size_t *n)
{
    *n = 0;
    enum err e = session_require(cur, SESSION_NEED_FULL, ctx->now);
    if (e != ERR_OK)
        return e;
    if (max > DEVICE_LIST_MAX)
        max = DEVICE_LIST_MAX;
    struct customer_device rows[DEVICE_LIST_MAX];
    size_t k = 0;
    if ((e = ctx->st->ops->device_list(ctx->st, cur->customer_id, 0, max, rows, &k)) != ERR_OK)
        return e;
    for (size_t i = 0; i < k; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].id = rows[i].id;
        memcpy(out[i].name, rows[i].name, sizeof out[i].name);
        out[i].first_seen_ms = rows[i].first_seen_ms;
        out[i].last_seen_ms = rows[i].last_seen_ms;
        out[i].new_until_ms = rows[i].new_until_ms;
        out[i].current = rows[i].id == cur->device_id;
    }
    *n = k;
    return ERR_OK;
}

enum err device_remove(const struct auth_ctx *ctx, const struct auth_session *cur, int64_t device_id)
{
    struct customer_device d;
    char did[IDS_BUF];
    int ended = 0;
    enum err e = session_require(cur, SESSION_NEED_FRESH, ctx->now);
    if (e != ERR_OK)
        return e;
    if ((e = auth_begin(ctx)) != ERR_OK)
        return e;
    e = ctx->st->ops->device_get(ctx->st, device_id, &d);
    if (e == ERR_OK && (d.customer_id != cur->customer_id || d.removed_ms != 0))
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        e = ctx->st->ops->device_remove(ctx->st, device_id, ctx->now);
    if (e == ERR_OK)
        e = ctx->st->ops->session_revoke_many(ctx->st, cur->customer_id, device_id, 0, ctx->now, &ended);
    /* Its offline key and unused codes die with it (wallet/paycode.h). */
    if (e == ERR_OK)
        e = ctx->st->ops->paycodes_revoke(ctx->st, cur->customer_id, device_id, ctx->now);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, cur->customer_id, SEC_DEVICE_REMOVED, SEC_SUCCESS, ctx->client_addr,
                             cur->device_id,
                             json_pack("{s:s, s:i}", "device_id", ids_format(did, DEVICE_ID_PREFIX, device_id),
                                       "sessions_ended", ended));
    return auth_end(ctx, e == ERR_OK, e);
}
