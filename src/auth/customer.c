/* customer.c: registration, e-mail verification, profile, password change
 * (state machines in customer.h).
 *
 * Invariants:
 *  1. Registration does the same work whatever the address: policy check,
 *     one Argon2id hash, one transaction, one mail (a code, or "someone
 *     tried" to a verified owner); its answer never depends on the address
 *     having an account.
 *  2. A verification code exists only as a keyed hash in email_codes, at
 *     most one per customer, and is deleted when used, voided or replaced.
 *  3. Slow work (Argon2id) happens before the write transaction begins, so
 *     no write lock is ever held across it.
 */
#include "auth/customer.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth_mail.h"
#include "auth/device.h"
#include "auth/events.h"
#include "auth/secret_hash.h"
#include "auth/txn.h"

/* Issue a fresh verification code for c (voiding any other) and mail it. */
static enum err issue_code(const struct auth_ctx *ctx, const struct customer *c)
{
    char code[EMAIL_CODE_DIGITS + 1];
    struct email_code ec = {0};
    snprintf(code, sizeof code, "%06u", (unsigned)randombytes_uniform(1000000));
    ec.customer_id = c->id;
    secret_hash_str(ctx->master_key, SECRET_EMAIL_CODE, code, ec.code_hash);
    ec.expires_ms = ctx->now + EMAIL_CODE_TTL_MS;
    enum err e = ctx->st->ops->email_code_put(ctx->st, &ec);
    if (e == ERR_OK)
        e = auth_mail_verification_code(ctx, c->email, code);
    sodium_memzero(code, sizeof code);
    return e;
}

enum err customer_register(const struct auth_ctx *ctx, const char *email, const char *password, const char **bad,
                           char *reason, size_t n)
{
    struct customer c = {0};
    char hash[AUTH_PASSWORD_HASH_MAX];
    *bad = NULL;
    if (email == NULL || email_normalize(email, c.email) != ERR_OK) {
        *bad = "email";
        return ERR_INVALID_PARAM;
    }
    enum err e = auth_password_policy(password ? password : "", c.email, reason, n);
    if (e != ERR_OK) {
        *bad = "password";
        return e;
    }
    if ((e = auth_password_hash(password, hash)) != ERR_OK)
        return e;
    if ((e = auth_begin(ctx)) != ERR_OK)
        goto cleanup;
    struct customer old;
    e = ctx->st->ops->customer_get_by_email(ctx->st, c.email, &old);
    if (e == ERR_NOT_FOUND) {
        memcpy(c.password_hash, hash, sizeof c.password_hash);
        c.created_ms = ctx->now;
        e = ctx->st->ops->customer_insert(ctx->st, &c);
        if (e == ERR_OK)
            e = issue_code(ctx, &c);
        if (e == ERR_OK)
            e = sec_event_record(ctx->st, ctx->now, c.id, SEC_REGISTERED, SEC_SUCCESS, ctx->client_addr, 0, NULL);
    } else if (e == ERR_OK && old.email_verified) {
        /* Taken: tell the owner, change nothing, answer as for a new one. */
        e = auth_mail_register_attempt(ctx, old.email);
        if (e == ERR_OK)
            e = sec_event_record(ctx->st, ctx->now, old.id, SEC_REGISTERED, SEC_FAILURE, ctx->client_addr, 0,
                                 json_pack("{s:s}", "reason", "address_taken"));
    } else if (e == ERR_OK) {
        /* Unverified: nobody has proved the mailbox yet; the newest
         * registration wins and must prove it with the newest code. */
        memcpy(old.password_hash, hash, sizeof old.password_hash);
        e = ctx->st->ops->customer_update(ctx->st, &old);
        if (e == ERR_OK)
            e = issue_code(ctx, &old);
        if (e == ERR_OK)
            e = sec_event_record(ctx->st, ctx->now, old.id, SEC_REGISTERED, SEC_SUCCESS, ctx->client_addr, 0,
                                 json_pack("{s:s}", "reason", "registration_repeated"));
    }
    e = auth_end(ctx, e == ERR_OK, e);
cleanup:
    sodium_memzero(hash, sizeof hash);
    return e;
}

enum err customer_resend(const struct auth_ctx *ctx, const char *email)
{
    char norm[EMAIL_MAX + 1];
    struct customer c;
    if (email == NULL || email_normalize(email, norm) != ERR_OK)
        return ERR_OK;
    enum err e = auth_begin(ctx);
    if (e != ERR_OK)
        return e;
    e = ctx->st->ops->customer_get_by_email(ctx->st, norm, &c);
    if (e == ERR_OK && !c.email_verified)
        e = issue_code(ctx, &c);
    else if (e == ERR_NOT_FOUND || e == ERR_OK)
        return auth_end(ctx, false, ERR_OK);
    return auth_end(ctx, e == ERR_OK, e);
}

/* Check code against c's live code, counting a wrong one.  ERR_OK (code
 * deleted), ERR_INVALID_CODE (state to commit), or a store error. */
static enum err check_code(const struct auth_ctx *ctx, const struct customer *c, const char *code)
{
    struct email_code ec;
    uint8_t h[AUTH_HASH_BYTES];
    enum err e = ctx->st->ops->email_code_get(ctx->st, c->id, &ec);
    if (e != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_INVALID_CODE : e;
    if (ctx->now >= ec.expires_ms) {
        e = ctx->st->ops->email_code_delete(ctx->st, c->id);
        return e == ERR_OK ? ERR_INVALID_CODE : e;
    }
    secret_hash_str(ctx->master_key, SECRET_EMAIL_CODE, code ? code : "", h);
    if (sodium_memcmp(h, ec.code_hash, sizeof h) == 0)
        return ctx->st->ops->email_code_delete(ctx->st, c->id);
    if (ec.tries + 1 >= EMAIL_CODE_MAX_TRIES)
        e = ctx->st->ops->email_code_delete(ctx->st, c->id);
    else
        e = ctx->st->ops->email_code_set_tries(ctx->st, c->id, ec.tries + 1);
    return e == ERR_OK ? ERR_INVALID_CODE : e;
}

enum err customer_verify_email(const struct auth_ctx *ctx, const char *email, const char *code,
                               const char *device_key, const char *device_name, struct auth_grant *out,
                               const char **bad)
{
    char norm[EMAIL_MAX + 1];
    uint8_t pk[32];
    struct customer c;
    struct customer_device d;
    bool is_new = false;
    *bad = NULL;
    if (email == NULL || email_normalize(email, norm) != ERR_OK)
        *bad = "email";
    else if (device_key_parse(device_key, pk) != ERR_OK)
        *bad = "device.public_key";
    else if (!device_name_valid(device_name))
        *bad = "device.name";
    if (*bad)
        return ERR_INVALID_PARAM;
    enum err e = auth_begin(ctx);
    if (e != ERR_OK)
        return e;
    e = ctx->st->ops->customer_get_by_email(ctx->st, norm, &c);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && c.email_verified))
        return auth_end(ctx, false, ERR_INVALID_CODE);
    if (e == ERR_OK)
        e = check_code(ctx, &c, code);
    if (e == ERR_INVALID_CODE)
        return auth_end(ctx, true, ERR_INVALID_CODE); /* keep the counted try */
    if (e == ERR_OK) {
        c.email_verified = 1;
        e = ctx->st->ops->customer_update(ctx->st, &c);
    }
    /* The first device: registered with the account itself, so no
     * "new sign-in" mail; it still starts in the new-device cool-down. */
    if (e == ERR_OK)
        e = device_register(ctx, c.id, device_key, device_name, &d, &is_new);
    if (e == ERR_OK)
        e = session_create(ctx, c.id, d.id, SESSION_SCOPE_ENROL, out);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, c.id, SEC_EMAIL_VERIFIED, SEC_SUCCESS, ctx->client_addr, d.id, NULL);
    e = auth_end(ctx, e == ERR_OK, e);
    if (e != ERR_OK)
        sodium_memzero(out, sizeof *out);
    return e;
}

enum err customer_profile(const struct auth_ctx *ctx, const struct auth_session *cur, struct customer_profile *out)
{
    struct customer c;
    int left = 0;
    enum err e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, &c);
    if (e == ERR_OK)
        e = ctx->st->ops->recovery_codes_left(ctx->st, c.id, &left);
    if (e != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_UNAUTHENTICATED : e;
    memset(out, 0, sizeof *out);
    out->id = c.id;
    memcpy(out->email, c.email, sizeof out->email);
    out->email_verified = c.email_verified != 0;
    out->totp_enrolled = c.totp_enrolled != 0;
    out->recovery_codes_left = left;
    out->created_ms = c.created_ms;
    return ERR_OK;
}

enum err customer_change_password(const struct auth_ctx *ctx, const struct auth_session *cur, const char *current,
                                  const char *new_password, char *reason, size_t n)
{
    struct customer c;
    char hash[AUTH_PASSWORD_HASH_MAX];
    int ended = 0;
    enum err e = session_require(cur, SESSION_NEED_FRESH, ctx->now);
    if (e != ERR_OK)
        return e;
    if ((e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, &c)) != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_UNAUTHENTICATED : e;
    if (current == NULL || !auth_password_verify(c.password_hash, current))
        return ERR_INVALID_CREDENTIALS;
    if ((e = auth_password_policy(new_password ? new_password : "", c.email, reason, n)) != ERR_OK)
        return e;
    if ((e = auth_password_hash(new_password, hash)) != ERR_OK)
        return e;
    if ((e = auth_begin(ctx)) != ERR_OK)
        goto cleanup;
    /* cur was read before the two Argon2id (and, over HTTP, before the job
     * waited in the workers' queue): a sign-out everywhere, a removed device
     * or a reset may have ended the session since.  An ended session must
     * not set a password and end the owner's other sessions. */
    struct customer_session live;
    e = ctx->st->ops->session_get(ctx->st, cur->id, &live);
    if (e == ERR_NOT_FOUND ||
        (e == ERR_OK && (live.revoked_ms != 0 || live.customer_id != cur->customer_id || ctx->now >= live.absolute_ms)))
        e = ERR_UNAUTHENTICATED;
    if (e == ERR_OK)
        e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, &c);
    if (e == ERR_OK) {
        memcpy(c.password_hash, hash, sizeof c.password_hash);
        e = ctx->st->ops->customer_update(ctx->st, &c);
    }
    if (e == ERR_OK)
        e = ctx->st->ops->session_revoke_many(ctx->st, c.id, 0, cur->id, ctx->now, &ended);
    if (e == ERR_OK)
        e = auth_mail_password_changed(ctx, c.email);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, c.id, SEC_PASSWORD_CHANGED, SEC_SUCCESS, ctx->client_addr,
                             cur->device_id, json_pack("{s:i}", "sessions_ended", ended));
    e = auth_end(ctx, e == ERR_OK, e);
cleanup:
    sodium_memzero(hash, sizeof hash);
    return e;
}
