/* keys.c: the 64-bit keys the engine counts things by.
 *
 * A device is a row per (customer, public key) in the store; the engine
 * wants the phone itself, under every account it signs in to, so its key
 * is a hash of the public key.  A card is its keyed fingerprint (already a
 * BLAKE2b of the PAN under a secret key: its first 8 bytes are as good an
 * id as the whole).  An address is what one client controls: an IPv4
 * address or an IPv6 /64 (auth/throttle.c counts the same way).
 */
#include "risk/risk_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>

/* Never 0 (0 means "none" everywhere in the engine). */
static int64_t nonzero(uint64_t k)
{
    return (int64_t)(k == 0 ? 1 : k);
}

int64_t risk_device_key(const char *public_key)
{
    if (public_key == NULL || *public_key == '\0')
        return 0;
    uint8_t h[crypto_generichash_BYTES_MIN];
    crypto_generichash(h, sizeof h, (const unsigned char *)public_key, strlen(public_key), NULL, 0);
    uint64_t k;
    memcpy(&k, h, sizeof k);
    return nonzero(k);
}

int64_t risk_card_fp(const uint8_t fingerprint[CARD_FINGERPRINT_BYTES])
{
    uint64_t k;
    memcpy(&k, fingerprint, sizeof k);
    return nonzero(k);
}

int64_t risk_addr_key(const char *addr)
{
    if (addr == NULL || *addr == '\0')
        return 0;
    char buf[INET6_ADDRSTRLEN + 4];
    size_t len = strlen(addr);
    if (len >= sizeof buf)
        return 0;
    memcpy(buf, addr, len + 1);
    if (len > 3 && strcmp(buf + len - 3, "/64") == 0)
        buf[len - 3] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    uint64_t v;
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        v = (UINT64_C(4) << 32) | ntohl(a4.s_addr);
    } else if (inet_pton(AF_INET6, buf, &a6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            uint32_t x;
            memcpy(&x, &a6.s6_addr[12], 4);
            v = (UINT64_C(4) << 32) | ntohl(x);
        } else {
            memcpy(&v, a6.s6_addr, 8); /* the /64 */
        }
    } else {
        return 0;
    }
    return nonzero(risk_mix(v ^ UINT64_C(0x6164647200000000)));
}
