/* idem.h: the shape of an idempotency key (DESIGN.md, API conventions).
 *
 * Every money-moving request carries a client-chosen key; the domain keeps
 * it with what it did (topup.h, payment.h) and the API reads it from the
 * Idempotency-Key header (api/idempotency.h).  Both, and the built-in test
 * processor (gateway_test.c, which kessai calls with its own "tpu_…" keys),
 * accept exactly the same keys: 1..IDEM_KEY_MAX printable ASCII characters
 * without space (0x21..0x7e), so that a key can be stored, logged by
 * length only and compared byte for byte.  UUIDs, ULIDs and base64url
 * strings all fit.
 */
#ifndef KESSAI_UTIL_IDEM_H
#define KESSAI_UTIL_IDEM_H

#include <stdbool.h>

#define IDEM_KEY_MAX 64

/* key is 1..IDEM_KEY_MAX characters in 0x21..0x7e (false for NULL). */
bool idem_key_valid(const char *key);

#endif
