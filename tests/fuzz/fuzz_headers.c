/* fuzz_headers.c: the request headers kessai parses itself, as an attacker
 * may send them: a register's signature (pos_auth_parse), a bearer token
 * (api_bearer_token) and an Idempotency-Key (idem_key_valid).  One
 * spelling each: what a parser accepts must print back to the same bytes
 * (a second spelling of one signature would be a second signed string),
 * and what it accepts holds only the characters its header allows. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/authn.h"
#include "pos/sign.h"
#include "util/idem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    struct pos_auth_header h;
    if (pos_auth_parse(s, &h) == ERR_OK) {
        char back[512];
        snprintf(back, sizeof back, "%s key_id=%s,ts=%" PRId64 ",nonce=%s,sig=%s", POS_SIG_SCHEME, h.key_id, h.ts,
                 h.nonce, h.sig_hex);
        if (strcmp(back, s) != 0 || h.ts <= 0)
            abort();
    }

    const char *token = api_bearer_token(s);
    if (token != NULL) {
        size_t n = strlen(token);
        if (n == 0 || token < s || token + n != s + strlen(s) ||
            strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != n)
            abort();
    }

    if (idem_key_valid(s)) {
        size_t n = strlen(s);
        if (n == 0 || n > IDEM_KEY_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if (s[i] < 0x21 || s[i] > 0x7e)
                abort();
    }
    free(s);
    return 0;
}
