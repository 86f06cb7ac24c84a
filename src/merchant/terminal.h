/* terminal.h: a store's POS terminals and their signing secrets.
 *
 * A terminal signs its requests with HMAC-SHA256 under a 32-byte secret.
 * The terminal is known publicly by two names: its row id ("trm_…", used by
 * staff to list and revoke it) and its key id ("tk_…" + 26 random chars,
 * sent by the terminal with every signed request).
 *
 * Secret lifecycle:
 *
 *   terminal_create --> ACTIVE --terminal_revoke--> REVOKED (final)
 *        |                |
 *        |                +--terminal_secret--> plaintext (for checking a signature)
 *        +--> plaintext hex, returned once to the creator
 *
 *  1. The plaintext secret is never stored: the row holds it sealed with the
 *     master key (XChaCha20-Poly1305), with the key id as associated data, so
 *     a sealed secret copied onto another terminal's row does not open.
 *  2. terminal_create hands the plaintext (hex) to its caller exactly once;
 *     nothing can show it again.  A lost secret means a new terminal.
 *  3. A revoked terminal's secret is never opened again (terminal_secret
 *     answers ERR_TERMINAL_NOT_FOUND), so its signatures stop verifying at
 *     once on every node.  Revocation cannot be undone.
 *
 * Callers own every buffer; plaintext secrets should be wiped
 * (sodium_memzero) as soon as they have been used.
 */
#ifndef KESSAI_MERCHANT_TERMINAL_H
#define KESSAI_MERCHANT_TERMINAL_H

#include <stddef.h>
#include <stdint.h>

#include "merchant/types.h"
#include "store/store.h"
#include "util/err.h"
#include "util/masterkey.h"

#define TERMINAL_ID_PREFIX "trm"
#define TERMINAL_KEY_ID_PREFIX "tk"
/* Hex of the secret plus NUL. */
#define TERMINAL_SECRET_HEX_BUF (TERMINAL_SECRET_BYTES * 2 + 1)

/* Create a terminal for store_id (ERR_STORE_NOT_FOUND if none).  *out gets
 * the row (its sealed secret included), secret_hex the plaintext secret as
 * 64 lowercase hex digits.  An inactive store may get terminals: a store is
 * fitted out before it opens. */
enum err terminal_create(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], int64_t store_id,
                         struct merchant_terminal *out, char secret_hex[TERMINAL_SECRET_HEX_BUF]);
/* ERR_TERMINAL_NOT_FOUND if no such terminal; revoking twice succeeds. */
enum err terminal_revoke(struct store *st, int64_t id);
/* Open the secret of the active terminal key_id into secret_out.
 * ERR_TERMINAL_NOT_FOUND if there is no such terminal or it is revoked;
 * ERR_INTERNAL (and an error log line) if the sealed secret does not open:
 * a different master key, or a row that was tampered with. */
enum err terminal_secret(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *key_id,
                         uint8_t secret_out[TERMINAL_SECRET_BYTES]);
/* The terminal's row, revoked or not (ERR_TERMINAL_NOT_FOUND). */
enum err terminal_get_by_key_id(struct store *st, const char *key_id, struct merchant_terminal *out);
/* One page of terminals with id > after_id, of one store (store_id > 0;
 * ERR_STORE_NOT_FOUND if it does not exist) or of all (store_id 0). */
enum err terminal_list(struct store *st, int64_t store_id, int64_t after_id, size_t max,
                       struct merchant_terminal *out, size_t *n);

#endif
