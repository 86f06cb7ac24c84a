/* topup_code.c: the one-time code a customer shows at the register for a
 * cash top-up (POST /v1/topup-codes; used by topup_cash).
 *
 * 17 random digits and a Luhn check digit: 10^17 possible codes, so
 * guessing a live one (at most a few per customer, each living 5 minutes)
 * is hopeless, and the check digit lets the register refuse a mistyped or
 * misscanned code before it reaches the server.  The store keeps only the
 * keyed hash (auth/secret_hash.h, SECRET_TOPUP_CODE), looked up by
 * equality.
 *
 *   topup_code_new --> LIVE --topup_cash (in its transaction)--> USED
 *                        |
 *                        +--now >= expires--> EXPIRED (deleted by a later insert)
 */
#include "wallet/topup_internal.h"

#include <sodium.h>
#include <string.h>

#include "auth/secret_hash.h"
#include "auth/txn.h"
#include "util/luhn.h"

bool topup_code_valid(const char *code)
{
    return code != NULL && strlen(code) == TOPUP_CODE_DIGITS && luhn_valid(code);
}

void topup_code_hash(const struct wallet_ctx *w, const char *code, uint8_t out[32])
{
    _Static_assert(AUTH_HASH_BYTES == 32, "topup_codes.code_hash holds 32 bytes");
    secret_hash(w->a.master_key, SECRET_TOPUP_CODE, code, strlen(code), out);
}

static void new_code(char code[TOPUP_CODE_DIGITS + 1])
{
    luhn_random_digits(code, TOPUP_CODE_DIGITS - 1);
    code[TOPUP_CODE_DIGITS - 1] = (char)('0' + luhn_check_digit(code, TOPUP_CODE_DIGITS - 1));
    code[TOPUP_CODE_DIGITS] = '\0';
}

enum err topup_code_new(const struct wallet_ctx *w, const struct auth_session *cur,
                        char code[TOPUP_CODE_DIGITS + 1], int64_t *expires_ms)
{
    code[0] = '\0';
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e != ERR_OK)
        return e;
    struct topup_code c = {
        .customer_id = cur->customer_id,
        .device_id = cur->device_id,
        .expires_ms = w->a.now + TOPUP_CODE_TTL_MS,
    };
    e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    /* A collision with a live code is a 1 in 10^17 event; retrying beats
     * ever handing two customers the same code. */
    e = ERR_CONFLICT;
    for (int tries = 0; tries < 3 && e == ERR_CONFLICT; tries++) {
        new_code(code);
        topup_code_hash(w, code, c.code_hash);
        e = w->a.st->ops->topup_code_insert(w->a.st, &c, w->a.now);
    }
    e = auth_end(&w->a, e == ERR_OK, e);
    if (e != ERR_OK) {
        sodium_memzero(code, TOPUP_CODE_DIGITS + 1);
        return e;
    }
    *expires_ms = c.expires_ms;
    return ERR_OK;
}
