/* sign.h: POS request signatures (docs/pos-signing.md has a worked example).
 *
 * Every request to /pos/v1/ carries one header:
 *
 *   Authorization: KESSAI-HMAC-SHA256 key_id=<tk_…>,ts=<unix seconds>,nonce=<16..64 chars [A-Za-z0-9_-]>,sig=<64 hex>
 *
 * sig = lowercase hex of HMAC-SHA256(secret, canonical), where secret is
 * the terminal's 32-byte secret (the 64 hex digits shown at creation,
 * decoded) and canonical is these six lines joined by "\n" (no trailing
 * newline):
 *
 *   KESSAI-HMAC-SHA256
 *   <METHOD, upper case>
 *   <path, without the query string, as sent (percent-encoding decoded)>
 *   <ts, decimal>
 *   <nonce>
 *   <lowercase hex SHA-256 of the body bytes as sent (of "" when empty)>
 *
 * The server refuses (ERR_INVALID_SIGNATURE, 401, all alike) a missing or
 * malformed header, an unknown or revoked terminal, a wrong signature, a ts
 * more than POS_MAX_SKEW_S away from its clock, and a nonce the terminal
 * has used within the last 2 * POS_MAX_SKEW_S (kept in the store, a
 * little longer, so every node refuses a replay).  The nonce is recorded
 * only after the signature verified, so unsigned garbage cannot fill the
 * table.  A nonce this process holds already (store.h pos_nonce_seen) is
 * refused right after the signature, by every verify below, so that a
 * replay costs its caller no work; one only another node holds is refused
 * when it is recorded.
 */
#ifndef KESSAI_POS_SIGN_H
#define KESSAI_POS_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "merchant/types.h"
#include "store/store.h"
#include "util/err.h"

#define POS_SIG_SCHEME "KESSAI-HMAC-SHA256"
#define POS_MAX_SKEW_S 300
/* How long past 2 * POS_MAX_SKEW_S a nonce is kept: the wait between a
 * request's verification and the commit that spends its nonce that a
 * replay is still refused after (pos_nonce_record).  Assumed, not
 * enforced: commits take milliseconds, and only a queue stalled for a
 * minute would outlast it (docs/pos-signing.md). */
#define POS_NONCE_GRACE_S 60
#define POS_NONCE_MIN 16
#define POS_NONCE_MAX 64
#define POS_SIG_HEX_LEN 64

struct pos_auth_header {
    char key_id[TERMINAL_KEY_ID_MAX + 1];
    int64_t ts;
    char nonce[POS_NONCE_MAX + 1];
    char sig_hex[POS_SIG_HEX_LEN + 1];
};

/* Parse the header value (strict: the four fields, in this order, nothing
 * else).  ERR_INVALID_SIGNATURE on any deviation. */
enum err pos_auth_parse(const char *value, struct pos_auth_header *out);

/* The signature (lowercase hex, NUL-terminated) of a request: what a POS
 * computes and what the server recomputes. */
void pos_sign(const uint8_t secret[TERMINAL_SECRET_BYTES], const char *method, const char *path, int64_t ts,
              const char *nonce, const void *body, size_t body_len, char out[POS_SIG_HEX_LEN + 1]);

/* Verify a request: parse, time window, terminal active, signature
 * (constant-time compare), then record the nonce (own statement; the
 * caller's transaction if one is open).  *term receives the terminal.
 * ERR_INVALID_SIGNATURE for every refusal; ERR_STORE / ERR_INTERNAL. */
enum err pos_verify(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *method,
                    const char *path, const void *body, size_t body_len, const char *auth_header, int64_t now_ms,
                    struct merchant_terminal *term);
/* The same, with *why (may be NULL) set to a short static reason for the
 * refusal, for the caller's log and never for the client:
 * "missing_header", "malformed_header", "stale_timestamp",
 * "future_timestamp", "unknown_terminal", "revoked_terminal",
 * "bad_signature", "replayed_nonce" (or "store_error",
 * "secret_unavailable" with ERR_STORE / ERR_INTERNAL); NULL on ERR_OK. */
enum err pos_verify_why(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *method,
                        const char *path, const void *body, size_t body_len, const char *auth_header,
                        int64_t now_ms, struct merchant_terminal *term, const char **why);

/* The same checks without recording the nonce: it is copied to nonce, and
 * the caller MUST record it (pos_nonce_record) in the
 * transaction that acts on the request, refusing the request if it was
 * seen — a charge records it with its payment (wallet/payment.h), so no
 * statement of its own is spent on it, and a replay still cannot act
 * twice.  Nothing is written here. */
enum err pos_verify_deferred(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *method,
                             const char *path, const void *body, size_t body_len, const char *auth_header,
                             int64_t now_ms, struct merchant_terminal *term, char nonce[POS_NONCE_MAX + 1],
                             const char **why);

/* The one log line of a refused POS request, "pos_auth_refused" (warn for
 * ERR_INVALID_SIGNATURE, else error): the reason why, the terminal's key id
 * kid, the request id and the client address, each left out when NULL.
 * Never the signature, the secret or the body. */
void pos_log_refused(enum err e, const char *why, const char *kid, const char *request_id, const char *client);

/* Record a verified request's nonce at now_ms (pos_nonce_insert, dropping
 * those past the window): ERR_INVALID_SIGNATURE if the terminal used it
 * already, else ERR_OK or the store's error. */
enum err pos_nonce_record(struct store *st, const char *key_id, const char *nonce, int64_t now_ms);

/* At start-up, before any request: read the nonces still in the window
 * into memory (store.h pos_nonces_load), logging how many and how long it
 * took ("pos_nonces_loaded").  ERR_STORE or ERR_NOMEM. */
enum err pos_nonces_load(struct store *st, int64_t now_ms);

#endif
