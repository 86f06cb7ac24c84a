/* audit_mac.c: the audit chain's MAC (util/audit_mac.h states the format). */
#include "util/audit_mac.h"

#include <sodium.h>
#include <string.h>

/* crypto_kdf contexts are exactly 8 bytes; "AL": audit log. */
#define KDF_CONTEXT "kessaiAL"
#define KDF_SUBKEY_AUDIT 1

struct audit_bytes audit_str(const char *s) { return (struct audit_bytes){s, s ? strlen(s) : 0}; }

void audit_key_derive(const uint8_t master_key[MASTERKEY_BYTES], uint8_t key[AUDIT_KEY_BYTES])
{
    _Static_assert(crypto_kdf_KEYBYTES == MASTERKEY_BYTES, "master key is a kdf key");
    _Static_assert(AUDIT_KEY_BYTES == crypto_generichash_KEYBYTES, "audit key size");
    crypto_kdf_derive_from_key(key, AUDIT_KEY_BYTES, KDF_SUBKEY_AUDIT, KDF_CONTEXT, master_key);
}

static void put_int(crypto_generichash_state *h, int64_t v)
{
    uint64_t u = (uint64_t)v;
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(u >> (8 * i));
    crypto_generichash_update(h, le, sizeof le);
}

static void put_str(crypto_generichash_state *h, struct audit_bytes b)
{
    put_int(h, (int64_t)b.len);
    if (b.len)
        crypto_generichash_update(h, b.p, b.len);
}

void audit_mac(const uint8_t key[AUDIT_KEY_BYTES], const struct audit_mac_input *in, uint8_t out[AUDIT_MAC_BYTES])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, key, AUDIT_KEY_BYTES, AUDIT_MAC_BYTES);
    put_str(&h, audit_str(AUDIT_MAC_VERSION));
    put_str(&h, in->prev_hash);
    put_int(&h, in->id);
    put_int(&h, in->at_ms);
    put_str(&h, in->actor);
    put_int(&h, in->customer_id);
    put_str(&h, in->kind);
    put_str(&h, in->outcome);
    put_str(&h, in->client_addr);
    put_int(&h, in->device_id);
    put_str(&h, in->detail);
    crypto_generichash_final(&h, out, AUDIT_MAC_BYTES);
    sodium_memzero(&h, sizeof h);
}
