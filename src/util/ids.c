#include "util/ids.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz"; /* Crockford */
#define ID_CHARS 13 /* 13 * 5 = 65 bits >= 64 */

static int decode_char(char c)
{
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

char *ids_format(char buf[IDS_BUF], const char *prefix, int64_t id)
{
    uint64_t v = (uint64_t)id;
    size_t plen = strnlen(prefix, IDS_PREFIX_MAX);
    memcpy(buf, prefix, plen);
    buf[plen] = '_';
    for (int i = ID_CHARS - 1; i >= 0; i--) {
        buf[plen + 1 + (size_t)i] = alphabet[v & 31];
        v >>= 5;
    }
    buf[plen + 1 + ID_CHARS] = '\0';
    return buf;
}

enum err ids_parse(const char *s, const char *prefix, int64_t *out)
{
    size_t plen = strlen(prefix);
    if (s == NULL || strncmp(s, prefix, plen) != 0 || s[plen] != '_' || strlen(s + plen + 1) != ID_CHARS)
        return ERR_INVALID_PARAM;
    const char *p = s + plen + 1;
    /* 13 chars carry 65 bits; the first holds bits 60-64, of which a positive
     * int64 can only set bits 60-62: at most 7. */
    uint64_t v = 0;
    for (int i = 0; i < ID_CHARS; i++) {
        int d = decode_char(p[i]);
        if (d < 0 || (i == 0 && d > 7))
            return ERR_INVALID_PARAM;
        v = (v << 5) | (uint64_t)d;
    }
    if (v == 0 || v > (uint64_t)INT64_MAX)
        return ERR_INVALID_PARAM;
    *out = (int64_t)v;
    return ERR_OK;
}

char *ids_random(char buf[IDS_BUF], const char *prefix)
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    size_t plen = strnlen(prefix, IDS_PREFIX_MAX);
    memcpy(buf, prefix, plen);
    buf[plen] = '_';
    /* 26 chars * 5 bits = 130 bits: take bits from a small accumulator. */
    unsigned acc = 0, bits = 0;
    size_t in = 0, o = plen + 1;
    for (int i = 0; i < 26; i++) {
        if (bits < 5) {
            acc = (acc << 8) | (in < sizeof raw ? raw[in++] : 0);
            bits += 8;
        }
        buf[o++] = alphabet[(acc >> (bits - 5)) & 31];
        bits -= 5;
    }
    buf[o] = '\0';
    sodium_memzero(raw, sizeof raw);
    return buf;
}
