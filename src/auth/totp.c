#include "auth/totp.h"

#include <liboath/oath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void totp_new_seed(uint8_t seed[TOTP_SEED_BYTES]) { randombytes_buf(seed, TOTP_SEED_BYTES); }

/* Percent-encode everything but unreserved characters (RFC 3986). */
static int encode(const char *in, char *out, size_t n)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            if (o + 1 >= n)
                return -1;
            out[o++] = (char)*p;
        } else {
            if (o + 3 >= n)
                return -1;
            snprintf(out + o, 4, "%%%02X", *p);
            o += 3;
        }
    }
    out[o] = '\0';
    return 0;
}

enum err totp_uri(const uint8_t seed[TOTP_SEED_BYTES], const char *issuer, const char *account,
                  char out[TOTP_URI_MAX])
{
    char *b32 = NULL;
    size_t b32len = 0;
    char iss[3 * TOTP_ISSUER_MAX + 1], acc[3 * TOTP_ACCOUNT_MAX + 1];
    if (strlen(issuer) > TOTP_ISSUER_MAX || strlen(account) > TOTP_ACCOUNT_MAX || encode(issuer, iss, sizeof iss) != 0 ||
        encode(account, acc, sizeof acc) != 0)
        return ERR_INVALID_PARAM;
    if (oath_base32_encode((const char *)seed, TOTP_SEED_BYTES, &b32, &b32len) != OATH_OK)
        return ERR_NOMEM;
    /* Authenticator apps expect the secret without '=' padding. */
    while (b32len > 0 && b32[b32len - 1] == '=')
        b32[--b32len] = '\0';
    int w = snprintf(out, TOTP_URI_MAX, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
                     iss, acc, b32, iss, TOTP_DIGITS, TOTP_STEP_SECONDS);
    sodium_memzero(b32, b32len);
    free(b32);
    return (w > 0 && w < TOTP_URI_MAX) ? ERR_OK : ERR_INVALID_PARAM;
}

enum err totp_check(const uint8_t seed[TOTP_SEED_BYTES], const char *code, int64_t now, int64_t last_step,
                    int64_t *step)
{
    if (code == NULL || strlen(code) != TOTP_DIGITS || strspn(code, "0123456789") != TOTP_DIGITS)
        return ERR_INVALID_CODE;
    int pos = 0;
    uint64_t counter = 0;
    int rc = oath_totp_validate3((const char *)seed, TOTP_SEED_BYTES, (time_t)now, TOTP_STEP_SECONDS, 0, 1, &pos,
                                 &counter, code);
    if (rc < 0 || (int64_t)counter <= last_step)
        return ERR_INVALID_CODE;
    *step = (int64_t)counter;
    return ERR_OK;
}

enum err totp_code(const uint8_t seed[TOTP_SEED_BYTES], int64_t now, char out[TOTP_DIGITS + 1])
{
    return oath_totp_generate((const char *)seed, TOTP_SEED_BYTES, (time_t)now, TOTP_STEP_SECONDS, 0, TOTP_DIGITS,
                              out) == OATH_OK
               ? ERR_OK
               : ERR_INTERNAL;
}
