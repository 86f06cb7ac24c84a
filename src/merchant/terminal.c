/* terminal.c: terminals and their sealed secrets (state machine in terminal.h). */
#include "merchant/terminal.h"

#include <sodium.h>
#include <string.h>

#include "util/ids.h"
#include "util/log.h"

/* A key id collision (2^-128 per pair) is not a case to design for, but a
 * retry costs one line and makes ERR_CONFLICT impossible to see. */
#define CREATE_ATTEMPTS 2

enum err terminal_create(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], int64_t store_id,
                         struct merchant_terminal *out, char secret_hex[TERMINAL_SECRET_HEX_BUF])
{
    if (store_id <= 0)
        return ERR_STORE_NOT_FOUND;
    struct merchant_store s;
    enum err e = st->ops->mstore_get(st, store_id, &s);
    if (e != ERR_OK)
        return e;
    uint8_t secret[TERMINAL_SECRET_BYTES];
    struct merchant_terminal t;
    e = ERR_CONFLICT;
    for (int i = 0; i < CREATE_ATTEMPTS && e == ERR_CONFLICT; i++) {
        memset(&t, 0, sizeof t);
        t.store_id = store_id;
        char kid[IDS_BUF];
        ids_random(kid, TERMINAL_KEY_ID_PREFIX);
        _Static_assert(sizeof t.key_id >= sizeof "tk_" + 26, "key id fits");
        memcpy(t.key_id, kid, strlen(kid) + 1);
        randombytes_buf(secret, sizeof secret);
        masterkey_seal(master_key, secret, sizeof secret, t.key_id, t.secret_sealed);
        /* The store foreign key covers a store that vanished since the check. */
        e = st->ops->terminal_insert(st, &t);
    }
    if (e == ERR_OK) {
        sodium_bin2hex(secret_hex, TERMINAL_SECRET_HEX_BUF, secret, sizeof secret);
        *out = t;
    }
    sodium_memzero(secret, sizeof secret);
    return e;
}

enum err terminal_revoke(struct store *st, int64_t id)
{
    if (id <= 0)
        return ERR_TERMINAL_NOT_FOUND;
    return st->ops->terminal_revoke(st, id);
}

static int valid_key_id(const char *key_id)
{
    return key_id != NULL && strnlen(key_id, TERMINAL_KEY_ID_MAX + 1) <= TERMINAL_KEY_ID_MAX;
}

enum err terminal_get_by_key_id(struct store *st, const char *key_id, struct merchant_terminal *out)
{
    if (!valid_key_id(key_id))
        return ERR_TERMINAL_NOT_FOUND;
    return st->ops->terminal_get_by_key_id(st, key_id, out);
}

enum err terminal_secret(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *key_id,
                         uint8_t secret_out[TERMINAL_SECRET_BYTES])
{
    struct merchant_terminal t;
    enum err e = terminal_get_by_key_id(st, key_id, &t);
    if (e != ERR_OK)
        return e;
    if (t.revoked)
        return ERR_TERMINAL_NOT_FOUND;
    if (masterkey_open(master_key, t.secret_sealed, sizeof t.secret_sealed, t.key_id, secret_out) != ERR_OK) {
        char tid[IDS_BUF];
        /* Not the key id as a field: the log redacts anything named *key*. */
        log_event(LOG_ERROR, "terminal_secret_unopenable",
                  json_pack("{s:s}", "terminal", ids_format(tid, TERMINAL_ID_PREFIX, t.id)));
        sodium_memzero(secret_out, TERMINAL_SECRET_BYTES);
        return ERR_INTERNAL;
    }
    return ERR_OK;
}

enum err terminal_list(struct store *st, int64_t store_id, int64_t after_id, size_t max,
                       struct merchant_terminal *out, size_t *n)
{
    if (store_id < 0 || after_id < 0)
        return ERR_INVALID_PARAM;
    if (store_id > 0) {
        struct merchant_store s;
        enum err e = st->ops->mstore_get(st, store_id, &s);
        if (e != ERR_OK)
            return e;
    }
    return st->ops->terminal_list(st, store_id, after_id, max, out, n);
}
