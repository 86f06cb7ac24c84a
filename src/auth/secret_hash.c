#include "auth/secret_hash.h"

#include <sodium.h>
#include <string.h>

/* crypto_kdf contexts are exactly 8 bytes. */
#define KDF_CONTEXT "kessaiSH"

void secret_hash(const uint8_t master_key[MASTERKEY_BYTES], enum secret_purpose purpose, const void *data,
                 size_t len, uint8_t out[AUTH_HASH_BYTES])
{
    uint8_t subkey[crypto_generichash_KEYBYTES];
    _Static_assert(crypto_kdf_KEYBYTES == MASTERKEY_BYTES, "master key is a kdf key");
    _Static_assert(AUTH_HASH_BYTES >= crypto_generichash_BYTES_MIN, "hash size");
    crypto_kdf_derive_from_key(subkey, sizeof subkey, (uint64_t)purpose, KDF_CONTEXT, master_key);
    crypto_generichash(out, AUTH_HASH_BYTES, data, len, subkey, sizeof subkey);
    sodium_memzero(subkey, sizeof subkey);
}

void secret_hash_str(const uint8_t master_key[MASTERKEY_BYTES], enum secret_purpose purpose, const char *s,
                     uint8_t out[AUTH_HASH_BYTES])
{
    secret_hash(master_key, purpose, s, s ? strlen(s) : 0, out);
}

void secret_new_token(char out[SECRET_TOKEN_BUF])
{
    uint8_t raw[32];
    _Static_assert(SECRET_TOKEN_BUF == sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                   "token buffer");
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, SECRET_TOKEN_BUF, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}
