/* reset.c: password reset (state machine in reset.h).
 *
 * Invariants:
 *  1. A reset token is mailed only to customers.email of a verified account,
 *     never to an address from the request (the request carries nothing
 *     else), and stored only as a keyed hash.
 *  2. A token completes at most once (used_ms set in the transaction that
 *     sets the password) and never after its 30 minutes.
 *  3. Completion ends every session of the customer in the same transaction
 *     as the new password.
 *  4. At most MFA_GUESSES_PER_DAY wrong second factors per customer in
 *     24 h (counted as mfa_failed events, whatever asked but a login): each token allows
 *     RESET_TOKEN_MAX_TRIES and a new one restarts that count, so without
 *     this the mailbox alone would buy unlimited guesses at the
 *     authenticator.  Counted per answer, not per token, so that a stranger
 *     asking for tokens cannot stop the owner's own reset.
 */
#include "auth/reset.h"

#include <sodium.h>
#include <string.h>

#include "auth/auth_mail.h"
#include "auth/events.h"
#include "auth/mfa.h"
#include "auth/secret_hash.h"
#include "auth/txn.h"
#include "util/email.h"
#include "util/timeutil.h"

enum err reset_request(const struct auth_ctx *ctx, const char *email)
{
    char norm[EMAIL_MAX + 1], token[SECRET_TOKEN_BUF];
    struct customer c;
    struct reset_token t = {0};
    if (email == NULL || email_normalize(email, norm) != ERR_OK)
        return ERR_OK;
    enum err e = auth_begin(ctx);
    if (e != ERR_OK)
        return e;
    e = ctx->st->ops->customer_get_by_email(ctx->st, norm, &c);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && !c.email_verified)) {
        sodium_memzero(&c, sizeof c);
        return auth_end_deferred(ctx, false, ERR_OK);
    }
    if (e == ERR_OK) {
        secret_new_token(token);
        t.customer_id = c.id;
        secret_hash_str(ctx->master_key, SECRET_RESET_TOKEN, token, t.token_hash);
        t.created_ms = ctx->now;
        t.expires_ms = ctx->now + RESET_TOKEN_TTL_MS;
        e = ctx->st->ops->reset_token_insert(ctx->st, &t);
        if (e == ERR_OK)
            e = auth_mail_reset_token(ctx, c.email, token);
        sodium_memzero(token, sizeof token);
    }
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, c.id, SEC_RESET_REQUESTED, SEC_SUCCESS, ctx->client_addr, 0, NULL);
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return auth_end_deferred(ctx, e == ERR_OK, e);
}

/* Find a usable token; ERR_INVALID_TOKEN otherwise. */
static enum err find_token(const struct auth_ctx *ctx, const char *token, struct reset_token *t)
{
    uint8_t h[AUTH_HASH_BYTES];
    if (token == NULL || strlen(token) != SECRET_TOKEN_BUF - 1)
        return ERR_INVALID_TOKEN;
    secret_hash_str(ctx->master_key, SECRET_RESET_TOKEN, token, h);
    enum err e = ctx->st->ops->reset_token_get(ctx->st, h, t);
    if (e == ERR_NOT_FOUND)
        return ERR_INVALID_TOKEN;
    if (e != ERR_OK)
        return e;
    if (t->used_ms != 0 || ctx->now >= t->expires_ms || t->tries >= RESET_TOKEN_MAX_TRIES)
        return ERR_INVALID_TOKEN;
    return ERR_OK;
}

enum err reset_complete(const struct auth_ctx *ctx, const char *token, const char *new_password,
                        const char *totp_code, const char *recovery_code, char *reason, size_t n)
{
    struct reset_token t;
    struct customer c;
    char hash[AUTH_PASSWORD_HASH_MAX];
    int ended = 0;
    /* Cheap checks first, so a bad token costs no Argon2id. */
    enum err e = find_token(ctx, token, &t);
    if (e == ERR_OK)
        e = ctx->st->ops->customer_get(ctx->st, t.customer_id, &c);
    if (e == ERR_OK)
        e = auth_password_policy(new_password ? new_password : "", c.email, reason, n);
    if (e != ERR_OK) {
        e = e == ERR_NOT_FOUND ? ERR_INVALID_TOKEN : e;
        goto cleanup;
    }
    if ((e = auth_password_hash(new_password, hash)) != ERR_OK)
        goto cleanup;
    if ((e = auth_begin(ctx)) != ERR_OK)
        goto cleanup;
    /* Again under the write lock: a concurrent completion may have won. */
    e = find_token(ctx, token, &t);
    if (e == ERR_OK)
        e = ctx->st->ops->customer_get(ctx->st, t.customer_id, &c);
    if (e != ERR_OK) {
        e = auth_end(ctx, false, e == ERR_NOT_FOUND ? ERR_INVALID_TOKEN : e);
        goto cleanup;
    }
    /* Invariant 4, under the write lock: past the day's wrong answers the
     * code is not even checked. */
    size_t wrong = 0;
    e = mfa_guesses(ctx, c.id, "mfa_failed", &wrong);
    if (e != ERR_OK || wrong >= MFA_GUESSES_PER_DAY) {
        e = auth_end(ctx, false, e == ERR_OK ? ERR_RATE_LIMITED : e);
        goto cleanup;
    }
    enum err check = mfa_check_second_factor(ctx, &c, totp_code, recovery_code);
    if (check == ERR_INVALID_CODE) {
        t.tries++;
        e = ctx->st->ops->reset_token_update(ctx->st, &t);
        if (e == ERR_OK)
            e = sec_event_record(ctx->st, ctx->now, c.id, SEC_MFA_FAILED, SEC_FAILURE, ctx->client_addr, 0,
                                 json_pack("{s:s}", "during", "password_reset"));
        e = auth_end(ctx, e == ERR_OK, e == ERR_OK ? ERR_INVALID_CODE : e);
        goto cleanup;
    }
    e = check;
    if (e == ERR_OK) {
        t.used_ms = ctx->now;
        e = ctx->st->ops->reset_token_update(ctx->st, &t);
    }
    if (e == ERR_OK) {
        memcpy(c.password_hash, hash, sizeof c.password_hash);
        c.failed_logins = 0;
        c.locked_until_ms = 0;
        c.cooldown_until_ms = ctx->now + ctx->cfg->reset_cooldown_s * 1000;
        e = ctx->st->ops->customer_update(ctx->st, &c);
    }
    if (e == ERR_OK)
        e = ctx->st->ops->session_revoke_many(ctx->st, c.id, 0, 0, ctx->now, &ended);
    /* Whoever took the account may hold an offline key or a fresh code:
     * every one goes too. */
    if (e == ERR_OK)
        e = ctx->st->ops->paycodes_revoke(ctx->st, c.id, 0, ctx->now);
    if (e == ERR_OK)
        e = auth_mail_reset_completed(ctx, c.email);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, c.id, SEC_RESET_COMPLETED, SEC_SUCCESS, ctx->client_addr, 0,
                             json_pack("{s:i, s:s}", "sessions_ended", ended, "second_factor",
                                       totp_code ? "totp" : "recovery_code"));
    e = auth_end(ctx, e == ERR_OK, e);
cleanup:
    /* The new hash went into c as well. */
    sodium_memzero(hash, sizeof hash);
    sodium_memzero(&c, sizeof c);
    return e;
}
