/* mfa.c: TOTP enrolment and checks, recovery codes (state machine in mfa.h).
 *
 * Invariants:
 *  1. A TOTP seed is in the clear only in a local buffer of this file, zeroed
 *     before return; at rest it is sealed with associated data "usr_<id>",
 *     so a sealed seed copied into another customer's row does not open.
 *  2. A TOTP code is accepted only if its step is newer than
 *     customers.totp_last_step, which is advanced in the same transaction.
 *  3. A recovery code is consumed by one UPDATE … WHERE used_ms = 0, so two
 *     concurrent uses cannot both succeed.
 *  4. A session's second factor becomes fresh only here (mfa_verify,
 *     mfa_totp_confirm) and in login (session_create FULL).
 */
#include "auth/mfa.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

#include "auth/auth_mail.h"
#include "auth/events.h"
#include "auth/secret_hash.h"
#include "auth/txn.h"
#include "util/timeutil.h"

/* Crockford base32, lowercase: no i, l, o, u to misread. */
static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

enum err mfa_recovery_canon(const char *in, char out[13])
{
    size_t k = 0;
    if (in == NULL)
        return ERR_INVALID_CODE;
    for (const char *p = in; *p; p++) {
        char c = (char)tolower((unsigned char)*p);
        if (c == '-' || c == ' ')
            continue;
        if (c == 'i' || c == 'l')
            c = '1';
        else if (c == 'o')
            c = '0';
        if (k == 12 || c == '\0' || strchr(alphabet, c) == NULL)
            return ERR_INVALID_CODE;
        out[k++] = c;
    }
    out[k] = '\0';
    return k == 12 ? ERR_OK : ERR_INVALID_CODE;
}

/* A new set of codes for customer_id, the old one void. */
static enum err new_recovery_codes(const struct auth_ctx *ctx, int64_t customer_id,
                                   char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF])
{
    uint8_t hashes[RECOVERY_CODE_COUNT][AUTH_HASH_BYTES];
    for (int i = 0; i < RECOVERY_CODE_COUNT; i++) {
        char canon[13];
        for (int j = 0; j < 12; j++)
            canon[j] = alphabet[randombytes_uniform(32)];
        canon[12] = '\0';
        snprintf(codes[i], RECOVERY_CODE_BUF, "%.4s-%.4s-%.4s", canon, canon + 4, canon + 8);
        secret_hash_str(ctx->master_key, SECRET_RECOVERY_CODE, canon, hashes[i]);
        sodium_memzero(canon, sizeof canon);
    }
    enum err e = ctx->st->ops->recovery_codes_replace(ctx->st, customer_id, (const uint8_t(*)[AUTH_HASH_BYTES])hashes,
                                                      RECOVERY_CODE_COUNT, ctx->now);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, customer_id, SEC_RECOVERY_CODES_GENERATED, SEC_SUCCESS,
                             ctx->client_addr, 0, json_pack("{s:i}", "count", RECOVERY_CODE_COUNT));
    return e;
}

static void wipe_codes(char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF])
{
    sodium_memzero(codes, (size_t)RECOVERY_CODE_COUNT * RECOVERY_CODE_BUF);
}

/* Enrolment is open to an ENROL session of a customer without TOTP, or to a
 * FULL session: signed in a moment ago to begin (session.h: a new
 * authenticator hands over the account), fresh to confirm (the pending
 * seed was begun so; a sign-in a few seconds too old must not void the
 * secret just scanned). */
static enum err may_enrol(const struct auth_ctx *ctx, const struct auth_session *cur, const struct customer *c,
                          enum session_need full)
{
    if (cur->scope == SESSION_SCOPE_ENROL)
        return c->totp_enrolled ? ERR_FRESH_MFA_REQUIRED : ERR_OK;
    return session_require(cur, full, ctx->now);
}

static enum err load_customer(const struct auth_ctx *ctx, const struct auth_session *cur, struct customer *c)
{
    enum err e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, c);
    return e == ERR_NOT_FOUND ? ERR_UNAUTHENTICATED : e;
}

enum err mfa_totp_begin(const struct auth_ctx *ctx, const struct auth_session *cur, char uri[TOTP_URI_MAX])
{
    struct customer c;
    uint8_t seed[TOTP_SEED_BYTES];
    char ad[IDS_BUF];
    enum err e = auth_begin(ctx);
    if (e != ERR_OK)
        return e;
    if ((e = load_customer(ctx, cur, &c)) == ERR_OK)
        e = may_enrol(ctx, cur, &c, SESSION_NEED_SIGNED_IN);
    if (e == ERR_OK) {
        totp_new_seed(seed);
        masterkey_seal(ctx->master_key, seed, sizeof seed, auth_customer_ad(ad, c.id), c.totp_pending_sealed);
        c.totp_pending = 1;
        e = totp_uri(seed, TOTP_ISSUER, c.email, uri);
        sodium_memzero(seed, sizeof seed);
    }
    if (e == ERR_OK)
        e = ctx->st->ops->customer_update(ctx->st, &c);
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seeds */
    e = auth_end(ctx, e == ERR_OK, e);
    if (e != ERR_OK)
        sodium_memzero(uri, TOTP_URI_MAX);
    return e;
}

/* Check code against a sealed seed of c; on ERR_OK *step is its step. */
static enum err check_totp(const struct auth_ctx *ctx, const struct customer *c, const uint8_t *sealed,
                           const char *code, int64_t *step)
{
    uint8_t seed[TOTP_SEED_BYTES];
    char ad[IDS_BUF];
    if (masterkey_open(ctx->master_key, sealed, CUSTOMER_TOTP_SEALED_BYTES, auth_customer_ad(ad, c->id), seed) !=
        ERR_OK)
        return ERR_INTERNAL; /* wrong master key or tampered row: never "invalid code" */
    enum err e = totp_check(seed, code, ctx->now / 1000, c->totp_last_step, step);
    sodium_memzero(seed, sizeof seed);
    return e;
}

enum err mfa_totp_confirm(const struct auth_ctx *ctx, const struct auth_session *cur, const char *code,
                          char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF])
{
    struct customer c;
    struct customer_session s;
    int64_t step = 0;
    enum err e = auth_begin(ctx);
    if (e != ERR_OK)
        return e;
    if ((e = load_customer(ctx, cur, &c)) == ERR_OK)
        e = may_enrol(ctx, cur, &c, SESSION_NEED_FRESH);
    if (e == ERR_OK && !c.totp_pending)
        e = ERR_INVALID_CODE;
    if (e == ERR_OK)
        e = check_totp(ctx, &c, c.totp_pending_sealed, code, &step);
    if (e == ERR_OK) {
        memcpy(c.totp_sealed, c.totp_pending_sealed, sizeof c.totp_sealed);
        sodium_memzero(c.totp_pending_sealed, sizeof c.totp_pending_sealed);
        c.totp_enrolled = 1;
        c.totp_pending = 0;
        c.totp_last_step = step;
        e = ctx->st->ops->customer_update(ctx->st, &c);
    }
    if (e == ERR_OK)
        e = new_recovery_codes(ctx, c.id, codes);
    if (e == ERR_OK)
        e = ctx->st->ops->session_get(ctx->st, cur->id, &s);
    if (e == ERR_OK) {
        s.scope = SESSION_SCOPE_FULL;
        s.mfa_at_ms = ctx->now;
        s.mfa_failures = 0;
        e = ctx->st->ops->session_update(ctx->st, &s);
    }
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, c.id, SEC_TOTP_ENROLLED, SEC_SUCCESS, ctx->client_addr,
                             cur->device_id, NULL);
    /* A full session replaced the authenticator (and the recovery codes):
     * the quietest way to keep an account taken over, so never silent. */
    if (e == ERR_OK && cur->scope == SESSION_SCOPE_FULL)
        e = auth_mail_authenticator_replaced(ctx, c.email);
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    e = auth_end(ctx, e == ERR_OK, e);
    if (e != ERR_OK)
        wipe_codes(codes);
    return e;
}

enum err mfa_recovery_regenerate(const struct auth_ctx *ctx, const struct auth_session *cur,
                                 char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF])
{
    enum err e = session_require(cur, SESSION_NEED_SIGNED_IN, ctx->now);
    if (e != ERR_OK)
        return e;
    if ((e = auth_begin(ctx)) != ERR_OK)
        return e;
    e = new_recovery_codes(ctx, cur->customer_id, codes);
    struct customer c;
    if (e == ERR_OK && (e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, &c)) == ERR_OK)
        e = auth_mail_recovery_codes_replaced(ctx, c.email);
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    e = auth_end(ctx, e == ERR_OK, e);
    if (e != ERR_OK)
        wipe_codes(codes);
    return e;
}

enum err mfa_check_second_factor(const struct auth_ctx *ctx, struct customer *c, const char *totp_code,
                                 const char *recovery_code)
{
    if ((totp_code == NULL) == (recovery_code == NULL) || !c->totp_enrolled)
        return ERR_INVALID_CODE;
    if (totp_code) {
        int64_t step = 0;
        enum err e = check_totp(ctx, c, c->totp_sealed, totp_code, &step);
        if (e != ERR_OK)
            return e;
        c->totp_last_step = step;
        return ctx->st->ops->customer_update(ctx->st, c);
    }
    char canon[13];
    uint8_t h[AUTH_HASH_BYTES];
    if (mfa_recovery_canon(recovery_code, canon) != ERR_OK) {
        sodium_memzero(canon, sizeof canon); /* what it took of the code before it stopped */
        return ERR_INVALID_CODE;
    }
    secret_hash_str(ctx->master_key, SECRET_RECOVERY_CODE, canon, h);
    sodium_memzero(canon, sizeof canon);
    enum err e = ctx->st->ops->recovery_code_use(ctx->st, c->id, h, ctx->now);
    if (e == ERR_NOT_FOUND)
        return ERR_INVALID_CODE;
    /* Used in the caller's transaction: the mail goes exactly when the code
     * is spent. */
    int left = 0;
    if (e == ERR_OK)
        e = ctx->st->ops->recovery_codes_left(ctx->st, c->id, &left);
    return e == ERR_OK ? auth_mail_recovery_code_used(ctx, c->email, left) : e;
}

enum err mfa_guesses(const struct auth_ctx *ctx, int64_t customer_id, const char *kind, size_t *n)
{
    struct security_event_filter wrong = {.customer_id = customer_id, .kind = kind, .since_ms = ctx->now - TIME_DAY_MS};
    struct security_event seen[MFA_GUESSES_PER_DAY];
    *n = 0;
    return ctx->st->ops->security_event_search(ctx->st, &wrong, 0, MFA_GUESSES_PER_DAY, seen, n);
}

enum err mfa_verify(const struct auth_ctx *ctx, const struct auth_session *cur, const char *totp_code,
                    const char *recovery_code, int64_t *fresh_until)
{
    struct customer c;
    struct customer_session s;
    *fresh_until = 0;
    enum err e = auth_begin(ctx);
    if (e != ERR_OK)
        return e;
    if ((e = load_customer(ctx, cur, &c)) == ERR_OK && !c.totp_enrolled)
        e = ERR_MFA_REQUIRED;
    if (e == ERR_OK)
        e = ctx->st->ops->session_get(ctx->st, cur->id, &s);
    if (e == ERR_OK && s.revoked_ms != 0)
        e = ERR_UNAUTHENTICATED;
    if (e != ERR_OK) {
        sodium_memzero(&c, sizeof c);
        return auth_end(ctx, false, e == ERR_NOT_FOUND ? ERR_UNAUTHENTICATED : e);
    }
    enum err check = mfa_check_second_factor(ctx, &c, totp_code, recovery_code);
    if (check != ERR_OK && check != ERR_INVALID_CODE) {
        sodium_memzero(&c, sizeof c);
        return auth_end(ctx, false, check);
    }
    if (check == ERR_OK) {
        s.mfa_at_ms = ctx->now;
        s.mfa_failures = 0;
        *fresh_until = ctx->now + AUTH_FRESH_MFA_MS;
    } else if (++s.mfa_failures >= MFA_SESSION_MAX_FAILURES) {
        s.revoked_ms = ctx->now;
    }
    e = ctx->st->ops->session_update(ctx->st, &s);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, c.id, check == ERR_OK ? SEC_MFA_VERIFIED : SEC_MFA_FAILED,
                             check == ERR_OK ? SEC_SUCCESS : SEC_FAILURE, ctx->client_addr, cur->device_id,
                             json_pack("{s:s}", "method", totp_code ? "totp" : "recovery_code"));
    if (e == ERR_OK && s.revoked_ms != 0)
        e = sec_event_record(ctx->st, ctx->now, c.id, SEC_SESSION_REVOKED, SEC_SUCCESS, ctx->client_addr,
                             cur->device_id, json_pack("{s:s}", "reason", "too_many_mfa_failures"));
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    e = auth_end(ctx, e == ERR_OK, e == ERR_OK ? check : e);
    if (e != ERR_OK)
        *fresh_until = 0;
    return e;
}
