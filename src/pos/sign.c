/* sign.c: POS request signatures (scheme in pos/sign.h and
 * docs/pos-signing.md).
 *
 * Verification order, each step refusing with ERR_INVALID_SIGNATURE:
 *   1. the header parses (strictly: one canonical spelling per request, so
 *      the string the terminal signed is the one the server rebuilds);
 *   2. ts is within POS_MAX_SKEW_S of the server's clock (cheap, no store);
 *   3. the terminal exists and is not revoked (read on every request: a
 *      revocation stops the next request on every node);
 *   4. the signature matches, compared in constant time;
 *   5. the nonce is new for this terminal: recorded only now, after the
 *      signature proved the request came from the terminal, so unsigned
 *      garbage can neither fill the table nor burn a real terminal's nonces.
 * Invariant: a request accepted once is refused if sent again within
 * 2 * POS_MAX_SKEW_S (nonce kept), and after that its ts is stale (step 2),
 * so no window exists in which a replay passes.
 */
#include "pos/sign.h"

#include <ctype.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "merchant/terminal.h"
#include "util/log.h"
#include "util/timeutil.h"

#define TS_DIGITS_MAX 12 /* up to year 33658: no overflow, no silly values */

/* [A-Za-z0-9_-] */
static bool token_char(int c) { return isascii(c) && (isalnum(c) || c == '_' || c == '-'); }
static bool lower_hex(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* Expect `name=` at *p and copy the value, up to the next ',' (or the end
 * when last), into out (room for max chars).  Advances *p past the comma. */
static bool field(const char **p, const char *name, bool last, char *out, size_t min, size_t max,
                  bool (*ok)(int))
{
    size_t nl = strlen(name);
    if (strncmp(*p, name, nl) != 0 || (*p)[nl] != '=')
        return false;
    const char *v = *p + nl + 1;
    size_t len = 0;
    while (v[len] != '\0' && v[len] != ',') {
        if (len == max || !ok((unsigned char)v[len]))
            return false;
        len++;
    }
    if (len < min)
        return false;
    if (last ? v[len] != '\0' : v[len] != ',')
        return false;
    memcpy(out, v, len);
    out[len] = '\0';
    *p = v + len + (last ? 0 : 1);
    return true;
}

static bool digit(int c) { return c >= '0' && c <= '9'; }

enum err pos_auth_parse(const char *value, struct pos_auth_header *out)
{
    struct pos_auth_header h;
    memset(&h, 0, sizeof h);
    if (value == NULL)
        return ERR_INVALID_SIGNATURE;
    size_t sl = strlen(POS_SIG_SCHEME);
    if (strncmp(value, POS_SIG_SCHEME, sl) != 0 || value[sl] != ' ')
        return ERR_INVALID_SIGNATURE;
    const char *p = value + sl + 1;
    char ts[TS_DIGITS_MAX + 1];
    if (!field(&p, "key_id", false, h.key_id, 1, TERMINAL_KEY_ID_MAX, token_char) ||
        !field(&p, "ts", false, ts, 1, TS_DIGITS_MAX, digit) ||
        !field(&p, "nonce", false, h.nonce, POS_NONCE_MIN, POS_NONCE_MAX, token_char) ||
        !field(&p, "sig", true, h.sig_hex, POS_SIG_HEX_LEN, POS_SIG_HEX_LEN, lower_hex))
        return ERR_INVALID_SIGNATURE;
    /* One spelling per number: "0170…" would sign a different string. */
    if (ts[0] == '0')
        return ERR_INVALID_SIGNATURE;
    int64_t v = 0;
    for (const char *c = ts; *c; c++)
        v = v * 10 + (*c - '0');
    h.ts = v;
    *out = h;
    return ERR_OK;
}

void pos_sign(const uint8_t secret[TERMINAL_SECRET_BYTES], const char *method, const char *path, int64_t ts,
              const char *nonce, const void *body, size_t body_len, char out[POS_SIG_HEX_LEN + 1])
{
    uint8_t body_hash[crypto_hash_sha256_BYTES];
    char body_hex[crypto_hash_sha256_BYTES * 2 + 1];
    crypto_hash_sha256(body_hash, body_len ? body : (const void *)"", body_len);
    sodium_bin2hex(body_hex, sizeof body_hex, body_hash, sizeof body_hash);

    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, secret, TERMINAL_SECRET_BYTES);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)POS_SIG_SCHEME "\n", strlen(POS_SIG_SCHEME) + 1);
    for (const char *m = method; *m; m++) {
        uint8_t c = (uint8_t)toupper((unsigned char)*m);
        crypto_auth_hmacsha256_update(&st, &c, 1);
    }
    char line[32];
    int n = snprintf(line, sizeof line, "\n%lld\n", (long long)ts);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)"\n", 1);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)path, strlen(path));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)line, (size_t)n);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)nonce, strlen(nonce));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)"\n", 1);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)body_hex, strlen(body_hex));
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, POS_SIG_HEX_LEN + 1, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
}

_Static_assert((2 * POS_MAX_SKEW_S + POS_NONCE_GRACE_S) * 1000LL <= STORE_NONCE_WINDOW_MAX_MS,
               "the store must remember nonces for the whole window");

/* A replay verified up to 2 * POS_MAX_SKEW_S after its original must still
 * find it when its own commit comes, and that commit may wait behind the
 * ledger writer's queue or a wallet worker's: the grace covers the wait
 * (and rounding ts to whole seconds). */
static int64_t window_start(int64_t now_ms) { return now_ms - (2 * POS_MAX_SKEW_S + POS_NONCE_GRACE_S) * 1000LL; }

/* Everything pos_verify_why does; the nonce is recorded only when
 * nonce_out is NULL, else copied there for the caller to record. */
static enum err verify(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *method,
                       const char *path, const void *body, size_t body_len, const char *auth_header, int64_t now_ms,
                       struct merchant_terminal *term, const char **why, char *nonce_out)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    struct pos_auth_header h;
    if (pos_auth_parse(auth_header, &h) != ERR_OK) {
        *why = auth_header == NULL ? "missing_header" : "malformed_header";
        return ERR_INVALID_SIGNATURE;
    }
    int64_t now_s = now_ms / 1000;
    if (h.ts < now_s - POS_MAX_SKEW_S) {
        *why = "stale_timestamp";
        return ERR_INVALID_SIGNATURE;
    }
    if (h.ts > now_s + POS_MAX_SKEW_S) {
        *why = "future_timestamp";
        return ERR_INVALID_SIGNATURE;
    }
    struct merchant_terminal t;
    enum err e = terminal_get_by_key_id(st, h.key_id, &t);
    if (e == ERR_TERMINAL_NOT_FOUND) {
        *why = "unknown_terminal";
        return ERR_INVALID_SIGNATURE;
    }
    if (e != ERR_OK) {
        *why = "store_error";
        return e;
    }
    if (t.revoked) {
        *why = "revoked_terminal";
        return ERR_INVALID_SIGNATURE;
    }
    uint8_t secret[TERMINAL_SECRET_BYTES];
    e = terminal_secret(st, master_key, h.key_id, secret);
    if (e == ERR_TERMINAL_NOT_FOUND) { /* revoked since the read above */
        *why = "revoked_terminal";
        return ERR_INVALID_SIGNATURE;
    }
    if (e != ERR_OK) {
        *why = "secret_unavailable";
        return e;
    }
    char want[POS_SIG_HEX_LEN + 1];
    pos_sign(secret, method, path, h.ts, h.nonce, body, body_len, want);
    sodium_memzero(secret, sizeof secret);
    bool match = sodium_memcmp(want, h.sig_hex, POS_SIG_HEX_LEN) == 0;
    sodium_memzero(want, sizeof want);
    if (!match) {
        *why = "bad_signature";
        return ERR_INVALID_SIGNATURE;
    }
    /* A nonce this node holds already is refused before the caller does
     * any work for it; the record below (or the caller's) stays the check. */
    if (st->ops->pos_nonce_seen(st, h.key_id, h.nonce, now_ms, window_start(now_ms))) {
        *why = "replayed_nonce";
        return ERR_INVALID_SIGNATURE;
    }
    if (nonce_out) {
        memcpy(nonce_out, h.nonce, sizeof h.nonce);
        *why = NULL;
        *term = t;
        return ERR_OK;
    }
    e = pos_nonce_record(st, h.key_id, h.nonce, now_ms);
    if (e == ERR_INVALID_SIGNATURE) {
        *why = "replayed_nonce";
        return e;
    }
    if (e != ERR_OK) {
        *why = "store_error";
        return e;
    }
    *why = NULL;
    *term = t;
    return ERR_OK;
}

enum err pos_verify_why(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *method,
                        const char *path, const void *body, size_t body_len, const char *auth_header,
                        int64_t now_ms, struct merchant_terminal *term, const char **why)
{
    return verify(st, master_key, method, path, body, body_len, auth_header, now_ms, term, why, NULL);
}

enum err pos_verify_deferred(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *method,
                             const char *path, const void *body, size_t body_len, const char *auth_header,
                             int64_t now_ms, struct merchant_terminal *term, char nonce[POS_NONCE_MAX + 1],
                             const char **why)
{
    return verify(st, master_key, method, path, body, body_len, auth_header, now_ms, term, why, nonce);
}

enum err pos_verify(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const char *method,
                    const char *path, const void *body, size_t body_len, const char *auth_header, int64_t now_ms,
                    struct merchant_terminal *term)
{
    return pos_verify_why(st, master_key, method, path, body, body_len, auth_header, now_ms, term, NULL);
}

void pos_log_refused(enum err e, const char *why, const char *kid, const char *request_id, const char *client)
{
    json_t *f = json_pack("{s:s}", "reason", why ? why : "unknown");
    /* The key id is public (it names the terminal, proves nothing); the
     * field is not called "key_id" because the logger redacts anything
     * named like a key. */
    if (f && request_id)
        json_object_set_new(f, "request_id", json_string(request_id));
    if (f && client)
        json_object_set_new(f, "client", json_string(client));
    if (f && kid)
        json_object_set_new(f, "terminal_kid", json_string(kid));
    log_event(e == ERR_INVALID_SIGNATURE ? LOG_WARN : LOG_ERROR, "pos_auth_refused", f);
}

enum err pos_nonce_record(struct store *st, const char *key_id, const char *nonce, int64_t now_ms)
{
    enum err e = st->ops->pos_nonce_insert(st, key_id, nonce, now_ms, window_start(now_ms));
    return e == ERR_CONFLICT ? ERR_INVALID_SIGNATURE : e;
}

enum err pos_nonces_load(struct store *st, int64_t now_ms)
{
    size_t n = 0;
    int64_t t0 = time_now_ms();
    enum err e = st->ops->pos_nonces_load(st, now_ms, window_start(now_ms), &n);
    if (e == ERR_OK)
        log_event(LOG_INFO, "pos_nonces_loaded",
                  json_pack("{s:I, s:I}", "nonces", (json_int_t)n, "ms", (json_int_t)(time_now_ms() - t0)));
    return e;
}
