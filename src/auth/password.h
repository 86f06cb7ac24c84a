/* password.h: password policy and hashing.
 *
 * Policy (NIST SP 800-63B): 12 to 128 characters (Unicode code points), no
 * composition rules, never truncated, refused when cracklib's dictionary or
 * libpwquality's checks call it weak (common words, the user's own name,
 * palindromes, …).
 *
 * Hashing: Argon2id through libsodium, 2 passes over 19 MiB (the OWASP
 * minimum), in the self-describing "$argon2id$v=19$m=…" string format, so the
 * parameters can be raised later and old hashes still verify.  Both calls
 * take tens of milliseconds and much memory on purpose: the server runs them
 * on a bounded worker pool, never on a request thread.
 */
#ifndef KESSAI_AUTH_PASSWORD_H
#define KESSAI_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define AUTH_PASSWORD_MIN_CHARS 12
#define AUTH_PASSWORD_MAX_CHARS 128
#define AUTH_PASSWORD_HASH_MAX 128 /* crypto_pwhash_STRBYTES */

/* ERR_OK, or ERR_WEAK_PASSWORD with a reason a user can act on in
 * reason[n] (never containing the password).  user (may be NULL) is the
 * e-mail address or name the password must not resemble. */
enum err auth_password_policy(const char *password, const char *user, char *reason, size_t n);
/* Hash for storage; ERR_NOMEM if the memory for Argon2id is not available. */
enum err auth_password_hash(const char *password, char out[AUTH_PASSWORD_HASH_MAX]);
/* Constant-time check of password against a stored hash. */
bool auth_password_verify(const char *hash, const char *password);
/* Argon2id of a random, discarded password with the parameters of
 * auth_password_hash: verifying against it costs what a real verify costs,
 * so a call for an address without an account can do the same work as one
 * for an address with one.  No password matches it. */
extern const char AUTH_PASSWORD_DUMMY_HASH[];

#endif
