/* audit_mac.h: the MAC that chains the audit log's entries (docs/audit-log.md).
 *
 * Every entry of the audit log (table security_events) carries
 *
 *   hash = BLAKE2b-256(key = K_audit, message = M)
 *
 * where K_audit is a 32-byte subkey of the master key,
 *
 *   K_audit = crypto_kdf_derive_from_key(32, subkey id 1, context "kessaiAL", master key)
 *
 * (libsodium: BLAKE2b keyed with the master key, salt = the subkey id as 8
 * bytes little endian followed by 8 zero bytes, personal = "kessaiAL"
 * followed by 8 zero bytes, empty message), and M is the concatenation of
 * these fields, in this order, with no separators:
 *
 *   str("kessai-audit-v1")   the format's name and version
 *   str(prev_hash)           the previous entry's hash: 32 bytes, or 0 bytes
 *                            for the first entry
 *   int(id)                  the entry's number: 1, 2, 3, ... with no gap
 *   int(at_ms)               milliseconds since the Unix epoch
 *   str(actor)               "usr_…", "stf_…", "system", "admin-cli" or ""
 *   int(customer_id)         0 if none
 *   str(kind)                the action: "login_failed", "killswitch_on", …
 *   str(outcome)             "success" or "failure"
 *   str(client_addr)
 *   int(device_id)           0 if none
 *   str(detail)              the detail JSON exactly as stored
 *
 *   int(v) = v as 8 bytes, two's complement, little endian
 *   str(s) = int(length of s in bytes) followed by the bytes of s (UTF-8,
 *            no terminator)
 *
 * Every field has a length or a fixed size, so no two different entries
 * give the same M (moving bytes from one field to the next changes a
 * length).  The id and the previous hash are inside M: an entry copied to
 * another place, a removed entry or two swapped entries break the chain.
 * Without the master key nobody can compute a hash, so someone who can
 * write the database cannot re-forge the chain after editing it.
 */
#ifndef KESSAI_UTIL_AUDIT_MAC_H
#define KESSAI_UTIL_AUDIT_MAC_H

#include <stddef.h>
#include <stdint.h>

#include "util/masterkey.h"

#define AUDIT_KEY_BYTES 32
#define AUDIT_MAC_BYTES 32
#define AUDIT_MAC_VERSION "kessai-audit-v1"

/* A byte string that need not be NUL-terminated (SQLite hands values over
 * with their lengths).  p may be NULL when len is 0. */
struct audit_bytes {
    const void *p;
    size_t len;
};

/* The fields of one entry, as stored. */
struct audit_mac_input {
    struct audit_bytes prev_hash; /* len 0 for the first entry */
    int64_t id;
    int64_t at_ms;
    struct audit_bytes actor;
    int64_t customer_id;
    struct audit_bytes kind;
    struct audit_bytes outcome;
    struct audit_bytes client_addr;
    int64_t device_id;
    struct audit_bytes detail;
};

/* A NUL-terminated string (NULL: empty) as audit_bytes. */
struct audit_bytes audit_str(const char *s);

/* K_audit from the master key.  The caller wipes key (sodium_memzero). */
void audit_key_derive(const uint8_t master_key[MASTERKEY_BYTES], uint8_t key[AUDIT_KEY_BYTES]);

/* hash of one entry under key. */
void audit_mac(const uint8_t key[AUDIT_KEY_BYTES], const struct audit_mac_input *in, uint8_t out[AUDIT_MAC_BYTES]);

#endif
