/* customer.c: registration, e-mail verification, profile (state machines in
 * customer.h).
 *
 * Invariants:
 *  1. Registration does the same work whatever the address: policy check,
 *     one Argon2id hash, one transaction, one mail (a code, or "someone
 *     tried" to a verified owner; none once the code budget is spent); its
 *     answer never depends on the address having an account.
 *  2. A verification code exists only as a keyed hash in email_codes, at
 *     most one per customer, and is deleted when used, voided or replaced;
 *     at most CODE_BUDGET_PER_DAY are issued per customer in 24 h.
 *  3. Slow work (Argon2id) happens before the write transaction begins, so
 *     no write lock is ever held across it.
 *  4. Verification runs one Argon2id verify and commits one
 *     email_verify_failed or email_verified event whatever the address,
 *     and answers every failure ERR_INVALID_CODE.  An ENROL session is
 *     created only after the code, the current password and a fresh device
 *     proof all passed, on an account without TOTP.
 */
#include "auth/customer.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth_mail.h"
#include "auth/code_budget.h"
#include "auth/device.h"
#include "auth/events.h"
#include "auth/secret_hash.h"
#include "auth/txn.h"

/* Issue a fresh verification code for c (voiding any other) and mail it,
 * if c's daily code budget allows (code_budget.h): a new code restarts the
 * try count, so an unlimited supply would mean unlimited guesses.  With the
 * budget spent nothing is issued or mailed (the live code, if any, stays)
 * and code_budget_take has recorded why. */
static enum err issue_code(const struct auth_ctx *ctx, const struct customer *c)
{
    char code[EMAIL_CODE_DIGITS + 1];
    struct email_code ec = {0};
    bool granted = false;
    enum err e = code_budget_take(ctx, c->id, CODE_PURPOSE_VERIFY_EMAIL, &granted);
    if (e != ERR_OK || !granted)
        return e;
    snprintf(code, sizeof code, "%06u", (unsigned)randombytes_uniform(1000000));
    ec.customer_id = c->id;
    secret_hash_str(ctx->master_key, SECRET_EMAIL_CODE, code, ec.code_hash);
    ec.expires_ms = ctx->now + EMAIL_CODE_TTL_MS;
    e = ctx->st->ops->email_code_put(ctx->st, &ec);
    if (e == ERR_OK)
        e = auth_mail_verification_code(ctx, c->email, code);
    sodium_memzero(code, sizeof code);
    return e;
}

/* May a code (still) be issued to and verified for c?  Before the address
 * is verified, and after it as long as no TOTP is enrolled: such a customer
 * has no way to log in (login needs the second factor), so the mailbox plus
 * the password must be able to open a new enrol session. */
static bool awaits_enrolment(const struct customer *c)
{
    return !c->email_verified || !c->totp_enrolled;
}

enum err customer_register(const struct auth_ctx *ctx, const char *email, const char *password, const char **bad,
                           char *reason, size_t n)
{
    struct customer c = {0}, old;
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
        goto cleanup;
    if ((e = auth_begin(ctx)) != ERR_OK)
        goto cleanup;
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
         * registration sets the password, and verification needs both it
         * and the newest code (which only the mailbox has).  The password
         * is replaced even when the code budget is spent: the codes
         * already mailed are in the owner's mailbox, so the owner
         * registering again can still finish with one of them. */
        memcpy(old.password_hash, hash, sizeof old.password_hash);
        e = ctx->st->ops->customer_update(ctx->st, &old);
        if (e == ERR_OK)
            e = issue_code(ctx, &old);
        if (e == ERR_OK)
            e = sec_event_record(ctx->st, ctx->now, old.id, SEC_REGISTERED, SEC_SUCCESS, ctx->client_addr, 0,
                                 json_pack("{s:s}", "reason", "registration_repeated"));
    }
    e = auth_end_deferred(ctx, e == ERR_OK, e);
cleanup:
    /* The new hash went into c or old as well. */
    sodium_memzero(hash, sizeof hash);
    sodium_memzero(&c, sizeof c);
    sodium_memzero(&old, sizeof old);
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
    if (e == ERR_OK && awaits_enrolment(&c))
        e = issue_code(ctx, &c);
    else if (e == ERR_NOT_FOUND || e == ERR_OK) {
        sodium_memzero(&c, sizeof c);
        return auth_end_deferred(ctx, false, ERR_OK);
    }
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return auth_end_deferred(ctx, e == ERR_OK, e);
}

/* Does code match customer_id's live code?  An expired code is deleted
 * (state to commit).  *exists tells whether a live code remains for
 * count_try.  ERR_OK or a store error. */
static enum err match_code(const struct auth_ctx *ctx, int64_t customer_id, const char *code, bool *exists,
                           bool *match, struct email_code *ec)
{
    uint8_t h[AUTH_HASH_BYTES];
    *exists = *match = false;
    enum err e = ctx->st->ops->email_code_get(ctx->st, customer_id, ec);
    if (e != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_OK : e;
    if (ctx->now >= ec->expires_ms)
        return ctx->st->ops->email_code_delete(ctx->st, customer_id);
    *exists = true;
    secret_hash_str(ctx->master_key, SECRET_EMAIL_CODE, code ? code : "", h);
    *match = sodium_memcmp(h, ec->code_hash, sizeof h) == 0;
    return ERR_OK;
}

/* A failed attempt on a live code costs one of its tries, whatever failed
 * (code, password or device proof): otherwise a wrong password would be a
 * free way to try codes. */
static enum err count_try(const struct auth_ctx *ctx, const struct email_code *ec)
{
    if (ec->tries + 1 >= EMAIL_CODE_MAX_TRIES)
        return ctx->st->ops->email_code_delete(ctx->st, ec->customer_id);
    return ctx->st->ops->email_code_set_tries(ctx->st, ec->customer_id, ec->tries + 1);
}

/* Record a failed verification, commit (tries and event are kept) and
 * answer ERR_INVALID_CODE, the same for every reason. */
static enum err verify_fail(const struct auth_ctx *ctx, const struct verify_input *in, int64_t customer_id,
                            const char *reason)
{
    json_t *detail = json_pack("{s:s, s:s}", "reason", reason, "device_key", in->device_key);
    enum err e = sec_event_record(ctx->st, ctx->now, customer_id, SEC_EMAIL_VERIFY_FAILED, SEC_FAILURE,
                                  ctx->client_addr, 0, detail);
    return auth_end_deferred(ctx, e == ERR_OK, e == ERR_OK ? ERR_INVALID_CODE : e);
}

/* customer_verify_email on the caller's c, which the caller wipes. */
static enum err verify_email(const struct auth_ctx *ctx, const struct verify_input *in, struct auth_grant *out,
                             const char **bad, struct customer *c)
{
    char norm[EMAIL_MAX + 1];
    uint8_t pk[32];
    struct customer_device d;
    struct email_code ec;
    bool found = false, is_new = false, exists = false, match = false;
    memset(out, 0, sizeof *out);
    *bad = NULL;
    if (in->email == NULL || email_normalize(in->email, norm) != ERR_OK)
        *bad = "email";
    else if (device_key_parse(in->device_key, pk) != ERR_OK)
        *bad = "device.public_key";
    else if (!device_name_valid(in->device_name))
        *bad = "device.name";
    if (*bad)
        return ERR_INVALID_PARAM;
    enum err e = ctx->st->ops->customer_get_by_email(ctx->st, norm, c);
    if (e != ERR_OK && e != ERR_NOT_FOUND)
        return e;
    found = e == ERR_OK;
    /* Always one Argon2id, before the transaction (no write lock is held
     * across it): for an unknown address against the dummy hash, so the
     * time taken does not tell whether the address has an account. */
    bool password_ok =
        auth_password_verify(found ? c->password_hash : AUTH_PASSWORD_DUMMY_HASH, in->password ? in->password : "");
    password_ok = password_ok && found;

    if ((e = auth_begin(ctx)) != ERR_OK)
        return e;
    /* Consumed whatever happens next, so a proof is never replayed. */
    enum err proof = device_check_proof(ctx, in->device_key, in->challenge, in->signature);
    if (proof != ERR_OK && proof != ERR_INVALID_CREDENTIALS)
        return auth_end_deferred(ctx, false, proof);
    /* Re-read inside the transaction: a registration may have replaced the
     * password during the Argon2id, and a verify against the hash it
     * replaced proves nothing. */
    if (found) {
        /* c is unchanged since the verify: its hash is the one verified. */
        char verified[AUTH_PASSWORD_HASH_MAX];
        memcpy(verified, c->password_hash, sizeof verified);
        e = ctx->st->ops->customer_get(ctx->st, c->id, c);
        password_ok = password_ok && e == ERR_OK && strcmp(verified, c->password_hash) == 0;
        sodium_memzero(verified, sizeof verified);
        if (e != ERR_OK && e != ERR_NOT_FOUND)
            return auth_end_deferred(ctx, false, e);
        found = e == ERR_OK;
    }
    /* Unknown address or enrolled account: no code can match.  Still one
     * event and a commit, as for a wrong code, so that neither the answer
     * nor the work tells that an account is waiting for verification. */
    if (!found)
        return verify_fail(ctx, in, 0, "unknown_email");
    if (!awaits_enrolment(c))
        return verify_fail(ctx, in, c->id, "totp_enrolled");
    if ((e = match_code(ctx, c->id, in->code, &exists, &match, &ec)) != ERR_OK)
        return auth_end_deferred(ctx, false, e);
    if (!(match && password_ok && proof == ERR_OK)) {
        if (exists && (e = count_try(ctx, &ec)) != ERR_OK)
            return auth_end_deferred(ctx, false, e);
        return verify_fail(ctx, in, c->id,
                           !exists  ? "no_code"
                           : !match ? "wrong_code"
                           : !password_ok ? "wrong_password"
                                          : "device_proof");
    }

    bool resumed = c->email_verified != 0;
    e = ctx->st->ops->email_code_delete(ctx->st, c->id);
    if (e == ERR_OK && !resumed) {
        c->email_verified = 1;
        e = ctx->st->ops->customer_update(ctx->st, c);
    }
    /* A first device is registered with the account itself, so no "new
     * sign-in" mail; it still starts in the new-device cool-down.  When an
     * unfinished enrolment is resumed the address was verified before, so
     * a device new to the account is announced there as on login. */
    if (e == ERR_OK)
        e = device_register(ctx, c->id, in->device_key, in->device_name, &d, &is_new);
    if (e == ERR_OK && resumed && is_new)
        e = auth_mail_new_device(ctx, c->email, d.name);
    if (e == ERR_OK && resumed && is_new)
        e = sec_event_record(ctx->st, ctx->now, c->id, SEC_NEW_DEVICE, SEC_SUCCESS, ctx->client_addr, d.id,
                             json_pack("{s:s, s:I}", "name", d.name, "new_until_ms", (json_int_t)d.new_until_ms));
    /* An earlier enrol session (lost, or on a phone no longer in the
     * owner's hands) must not go on to enrol TOTP beside the new one. */
    int ended = 0;
    if (e == ERR_OK && resumed)
        e = ctx->st->ops->session_revoke_many(ctx->st, c->id, 0, 0, ctx->now, &ended);
    if (e == ERR_OK)
        e = session_create(ctx, c->id, d.id, SESSION_SCOPE_ENROL, out);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, c->id, SEC_EMAIL_VERIFIED, SEC_SUCCESS, ctx->client_addr, d.id,
                             resumed ? json_pack("{s:s, s:i}", "reason", "enrolment_resumed", "sessions_ended", ended)
                                     : NULL);
    e = auth_end_deferred(ctx, e == ERR_OK, e);
    if (e != ERR_OK)
        sodium_memzero(out, sizeof *out);
    return e;
}

enum err customer_verify_email(const struct auth_ctx *ctx, const struct verify_input *in, struct auth_grant *out,
                               const char **bad)
{
    struct customer c;
    memset(&c, 0, sizeof c);
    enum err e = verify_email(ctx, in, out, bad, &c);
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return e;
}

enum err customer_profile(const struct auth_ctx *ctx, const struct auth_session *cur, struct customer_profile *out)
{
    struct customer c;
    int left = 0;
    enum err e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, &c);
    if (e == ERR_OK)
        e = ctx->st->ops->recovery_codes_left(ctx->st, c.id, &left);
    if (e == ERR_OK) {
        memset(out, 0, sizeof *out);
        out->id = c.id;
        memcpy(out->email, c.email, sizeof out->email);
        out->email_verified = c.email_verified != 0;
        out->totp_enrolled = c.totp_enrolled != 0;
        out->recovery_codes_left = left;
        out->created_ms = c.created_ms;
    }
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return e == ERR_NOT_FOUND ? ERR_UNAUTHENTICATED : e;
}
