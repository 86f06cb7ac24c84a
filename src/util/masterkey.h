/* masterkey.h: the master key and sealing of secrets at rest.
 *
 * The master key is 32 random bytes in a file outside the database (mode 0600,
 * created on first start).  Secrets the server must read back (terminal HMAC
 * secrets, TOTP seeds, webhook secrets) are sealed with it using
 * XChaCha20-Poly1305 (libsodium), with a random 24-byte nonce per seal and the
 * row's identity as associated data, so a sealed value copied to another row
 * does not open.  Tokens and codes the server only compares are hashed instead,
 * never sealed.
 */
#ifndef KESSAI_UTIL_MASTERKEY_H
#define KESSAI_UTIL_MASTERKEY_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define MASTERKEY_BYTES 32
/* Sealed size = plaintext + MASTERKEY_SEAL_OVERHEAD (nonce + tag). */
#define MASTERKEY_SEAL_OVERHEAD (24 + 16)

/* Read the key from path; if the file does not exist, create it (0600) with a
 * fresh random key.  ERR_IO if it exists with the wrong size or is readable
 * by group/others (a leaked key must not go unnoticed). */
enum err masterkey_load_or_create(const char *path, uint8_t key[MASTERKEY_BYTES]);

/* out must hold len + MASTERKEY_SEAL_OVERHEAD bytes. */
void masterkey_seal(const uint8_t key[MASTERKEY_BYTES], const uint8_t *plain, size_t len, const char *ad,
                    uint8_t *out);
/* out must hold sealed_len - MASTERKEY_SEAL_OVERHEAD bytes; ERR_INVALID_PARAM
 * if the value was tampered with, sealed under another key or another ad. */
enum err masterkey_open(const uint8_t key[MASTERKEY_BYTES], const uint8_t *sealed, size_t sealed_len,
                        const char *ad, uint8_t *out);

#endif
