/* types.h: merchants, their stores and the stores' POS terminals.
 *
 * A merchant owns stores; a store owns terminals and one ledger account
 * ("merchant_payable") that payments at the store credit.  A terminal is known
 * by a public key id and holds an HMAC secret that the store keeps sealed with
 * the master key (see util/masterkey.h); the plaintext is shown once, when the
 * terminal is created.
 */
#ifndef KESSAI_MERCHANT_TYPES_H
#define KESSAI_MERCHANT_TYPES_H

#include <stdint.h>

#include "util/masterkey.h"

#define MERCHANT_NAME_MAX 127
#define MERCHANT_ADDRESS_MAX 255
#define MERCHANT_CATEGORY_MAX 31
#define TERMINAL_KEY_ID_MAX 31
#define TERMINAL_SECRET_BYTES 32
#define TERMINAL_SEALED_BYTES (TERMINAL_SECRET_BYTES + MASTERKEY_SEAL_OVERHEAD)

struct merchant {
    int64_t id;
    char name[MERCHANT_NAME_MAX + 1];
    int64_t created_ms;
};

struct merchant_store {
    int64_t id;
    int64_t merchant_id;
    char name[MERCHANT_NAME_MAX + 1];
    char address[MERCHANT_ADDRESS_MAX + 1];
    int64_t lat_e6; /* latitude in micro-degrees: exact, comparable, no floats in storage */
    int64_t lon_e6;
    char category[MERCHANT_CATEGORY_MAX + 1];
    int active;
    int64_t payable_account; /* ledger account credited by payments here */
    int64_t created_ms;
};

struct merchant_terminal {
    int64_t id;
    int64_t store_id;
    char key_id[TERMINAL_KEY_ID_MAX + 1];
    uint8_t secret_sealed[TERMINAL_SEALED_BYTES];
    int revoked;
    int64_t created_ms;
};

#endif
