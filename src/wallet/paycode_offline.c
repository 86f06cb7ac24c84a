/* paycode_offline.c: offline keys and the codes a phone derives from them
 * without signal (paycode.h has the algorithm; docs/paycodes.md a worked
 * example).
 *
 *   paycode_offline_key --> ACTIVE --paycode_offline_key again--> REPLACED (row overwritten)
 *                             |
 *                             +--device_remove, session revoked, freeze, reset... (paycode.h)--> REVOKED
 *                             +--created + PAYCODE_OFFLINE_KEY_LIFETIME_MS--> EXPIRED (implicit)
 *
 * Invariants:
 *  1. The key is shown once and stored only sealed with the master key
 *     (XChaCha20-Poly1305, associated data "offline:dev_…"), so a copy of
 *     the database derives no code, and a sealed key copied onto another
 *     device's row does not open.
 *  2. A code is accepted only for the step it was derived for, within +-1
 *     step of the server's clock (the phone's clock may drift by up to 30 s
 *     either way, and a code shown at the end of a step still pays), and
 *     only while its device is active and its key neither revoked nor past its lifetime.
 *  3. Each (device, step) pays at most once: paycode_consume inserts it in
 *     the payment's transaction under a primary key.
 *
 * The server compares all three candidate codes in constant time: the time
 * a register's request takes says nothing about how close a guess was.
 */
#include "wallet/paycode_internal.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/events.h"
#include "auth/txn.h"
#include "ops/freeze.h"
#include "util/ids.h"
#include "util/luhn.h"

#define OFFLINE_MAC_PREFIX "kessai-offline-v1:"
#define OFFLINE_ID_SPACE 10000000 /* 7 digits */
#define OFFLINE_N_SPACE UINT64_C(1000000000) /* 9 digits */
/* An offline id is drawn at random among 10^7; a collision with another
 * device's only means drawing again. */
#define KEY_TRIES 16

/* "offline:dev_…": the sealed key opens only on its device's row. */
static const char *key_ad(char buf[IDS_BUF + 16], int64_t device_id)
{
    char did[IDS_BUF];
    snprintf(buf, IDS_BUF + 16, "offline:%s", ids_format(did, DEVICE_ID_PREFIX, device_id));
    return buf;
}

void paycode_offline_derive(const uint8_t key[32], int64_t offline_id, int64_t step, char code[PAYCODE_DIGITS + 1])
{
    _Static_assert(crypto_auth_hmacsha256_KEYBYTES == 32, "offline keys are HMAC-SHA256 keys");
    uint8_t msg[sizeof OFFLINE_MAC_PREFIX - 1 + 8], mac[crypto_auth_hmacsha256_BYTES];
    memcpy(msg, OFFLINE_MAC_PREFIX, sizeof OFFLINE_MAC_PREFIX - 1);
    uint64_t s = (uint64_t)step;
    for (int i = 0; i < 8; i++)
        msg[sizeof OFFLINE_MAC_PREFIX - 1 + (size_t)i] = (uint8_t)(s >> (56 - 8 * i));
    crypto_auth_hmacsha256(mac, msg, sizeof msg, key);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | mac[i];
    /* 2^64 mod 10^9 skews the 9 digits by less than one part in 10^10. */
    uint64_t id = (uint64_t)offline_id % OFFLINE_ID_SPACE;
    snprintf(code, PAYCODE_DIGITS + 1, "%c%07" PRIu64 "%09" PRIu64, PAYCODE_OFFLINE_PREFIX, id,
             v % OFFLINE_N_SPACE);
    code[PAYCODE_DIGITS - 1] = (char)('0' + luhn_check_digit(code, PAYCODE_DIGITS - 1));
    code[PAYCODE_DIGITS] = '\0';
    sodium_memzero(mac, sizeof mac);
}

enum err paycode_offline_key(const struct wallet_ctx *w, const struct auth_session *cur,
                             char key_b64[OFFLINE_KEY_B64_LEN + 1], int64_t *offline_id)
{
    key_b64[0] = '\0';
    enum err e = session_require(cur, SESSION_NEED_FRESH, w->a.now);
    if (e != ERR_OK)
        return e;
    struct store *st = w->a.st;
    uint8_t key[32];
    randombytes_buf(key, sizeof key);
    struct offline_key k = {.device_id = cur->device_id, .customer_id = cur->customer_id, .created_ms = w->a.now};
    char ad[IDS_BUF + 16];
    masterkey_seal(w->a.master_key, key, sizeof key, key_ad(ad, k.device_id), k.key_sealed);
    if ((e = auth_begin(&w->a)) != ERR_OK) {
        sodium_memzero(key, sizeof key);
        return e;
    }
    /* The session must still be live and its device the customer's and
     * active (either may have ended since the session was checked: the
     * request waited for a worker): read inside the transaction, so a key
     * never outlives a revocation that commits while it is being made. */
    struct customer_device d;
    e = session_still_live(st, cur->id, cur->customer_id, w->a.now);
    if (e == ERR_OK)
        e = st->ops->device_get(st, cur->device_id, &d);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && (d.customer_id != cur->customer_id || d.removed_ms != 0)))
        e = ERR_UNAUTHENTICATED;
    /* The freeze revoked every key; one issued during it (whoever signs in
     * meanwhile) would outlive the unfreeze. */
    if (e == ERR_OK)
        e = freeze_check(st, cur->customer_id);
    if (e == ERR_OK) {
        e = ERR_CONFLICT;
        for (int tries = 0; tries < KEY_TRIES && e == ERR_CONFLICT; tries++) {
            k.offline_id = (int64_t)randombytes_uniform(OFFLINE_ID_SPACE);
            e = st->ops->offline_key_put(st, &k);
        }
        if (e == ERR_CONFLICT)
            e = ERR_INTERNAL;
    }
    if (e == ERR_OK) {
        char oid[16];
        snprintf(oid, sizeof oid, "%07" PRId64, k.offline_id);
        e = sec_event_record(st, w->a.now, cur->customer_id, SEC_OFFLINE_KEY_ISSUED, SEC_SUCCESS, w->a.client_addr,
                             cur->device_id, json_pack("{s:s}", "offline_id", oid));
    }
    e = auth_end(&w->a, e == ERR_OK, e);
    if (e == ERR_OK) {
        _Static_assert(OFFLINE_KEY_B64_LEN + 1 ==
                           sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                       "key buffer");
        sodium_bin2base64(key_b64, OFFLINE_KEY_B64_LEN + 1, key, sizeof key,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        *offline_id = k.offline_id;
    }
    sodium_memzero(key, sizeof key);
    return e;
}

enum err paycode_resolve_offline(const struct wallet_ctx *w, const char *code, struct paycode_hit *hit)
{
    int64_t offline_id = 0;
    for (size_t i = 1; i <= 7; i++)
        offline_id = offline_id * 10 + (code[i] - '0');
    struct offline_key k;
    enum err e = w->a.st->ops->offline_key_get(w->a.st, offline_id, &k);
    if (e == ERR_NOT_FOUND ||
        (e == ERR_OK && (k.revoked_ms != 0 || w->a.now >= k.created_ms + PAYCODE_OFFLINE_KEY_LIFETIME_MS)))
        return ERR_INVALID_CODE;
    if (e != ERR_OK)
        return e;
    uint8_t key[32];
    char ad[IDS_BUF + 16];
    /* A row that does not open was tampered with or moved: not the
     * register's fault, and not a code to accept. */
    if (masterkey_open(w->a.master_key, k.key_sealed, sizeof k.key_sealed, key_ad(ad, k.device_id), key) != ERR_OK)
        return ERR_INTERNAL;
    int64_t now_step = w->a.now / 1000 / OFFLINE_STEP_S;
    int64_t step = -1;
    for (int64_t s = now_step - 1; s <= now_step + 1; s++) {
        char want[PAYCODE_DIGITS + 1];
        paycode_offline_derive(key, offline_id, s, want);
        /* No early exit: the three comparisons take the same time whatever matched. */
        if (sodium_memcmp(want, code, PAYCODE_DIGITS) == 0)
            step = s;
        sodium_memzero(want, sizeof want);
    }
    sodium_memzero(key, sizeof key);
    if (step < 0)
        return ERR_INVALID_CODE;
    e = paycode_hit_device(w, k.customer_id, k.device_id, hit);
    if (e != ERR_OK)
        return e;
    hit->offline = true;
    hit->offline_step = step;
    hit->offline_id = offline_id;
    return ERR_OK;
}
