/* secret_hash.h: keyed hashes of tokens, codes and challenges.
 *
 * The store keeps only hashes of what the server merely compares (session and
 * reset tokens, e-mail codes (registration and change of address), recovery
 * codes, login challenges).  They are
 * BLAKE2b-256 keyed with a subkey derived from the master key
 * (crypto_kdf_derive_from_key, context "kessaiSH", one subkey id per purpose),
 * so a stolen database alone cannot be used to test guesses of a 6-digit code
 * offline, and a hash of one purpose never matches another.
 * Compare results with sodium_memcmp (constant time), or look them up by
 * equality in the store (the hash is uniformly random).
 */
#ifndef KESSAI_AUTH_SECRET_HASH_H
#define KESSAI_AUTH_SECRET_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "auth/customer_types.h"
#include "util/masterkey.h"

enum secret_purpose {
    SECRET_SESSION_TOKEN = 1,
    SECRET_EMAIL_CODE = 2,
    SECRET_RECOVERY_CODE = 3,
    SECRET_LOGIN_CHALLENGE = 4,
    SECRET_RESET_TOKEN = 5,
    SECRET_EMAIL_ID = 6, /* e-mail addresses in the stuffing counters: not kept in the clear */
    SECRET_EMAIL_CHANGE_CODE = 7,
    SECRET_CARD_FINGERPRINT = 8, /* the PAN's digits: the same card on several accounts (wallet/card.h) */
    SECRET_TOPUP_CODE = 9,       /* cash top-up codes (wallet/topup.h) */
    SECRET_PAYCODE = 10,         /* one-time payment codes (wallet/paycode.h) */
    SECRET_GUESSED_CODE = 11,    /* bad codes a register presented, counted per terminal (wallet/payment.h) */
    SECRET_STAFF_TOKEN = 12,     /* staff session tokens (ops/staff_session.h) */
    SECRET_PAID_CODE = 13,       /* the code that paid, a tag on its payment (wallet/payment.c) */
};

void secret_hash(const uint8_t master_key[MASTERKEY_BYTES], enum secret_purpose purpose, const void *data,
                 size_t len, uint8_t out[AUTH_HASH_BYTES]);
/* The same for a NUL-terminated string. */
void secret_hash_str(const uint8_t master_key[MASTERKEY_BYTES], enum secret_purpose purpose, const char *s,
                     uint8_t out[AUTH_HASH_BYTES]);

/* 32 random bytes as base64url without padding (43 chars + NUL): session and
 * reset tokens, login challenges. */
#define SECRET_TOKEN_BUF 44
void secret_new_token(char out[SECRET_TOKEN_BUF]);

#endif
