/* login.c: the login decision (order of checks in login.h).
 *
 * Invariants:
 *  1. Exactly one Argon2id verify per attempt that is not refused by a
 *     source block, whether or not the address has an account: unknown
 *     addresses verify against DUMMY_HASH (same parameters as real hashes),
 *     so timing does not tell them apart.
 *  2. Every failure, whatever its reason, returns ERR_INVALID_CREDENTIALS and
 *     commits its counting (account, sources) and its login_failed event; the
 *     reason goes only to the event's detail.
 *  3. The challenge is consumed by every attempt that names it; the second
 *     factor is consumed only by an attempt that succeeds.
 *  4. A FULL session is created only after password, device proof and second
 *     factor all passed, on an unlocked, verified, enrolled account.
 *  5. The risk engine is asked before the Argon2id verify (login_risk.h):
 *     a refusal is the same whatever the password, and costs no hashing.
 *  6. With the right password, a wrong second factor counts toward the
 *     customer's MFA_GUESSES_PER_DAY at login (auth/mfa.h; apart from the
 *     reset's); once they are used up the code is not checked, except from
 *     a device of the account's that proved its key (the owner's phone): a
 *     leaked password buys 25 guesses a day, not 10 every 30 minutes for
 *     ever, and cannot lock the owner out.
 */
#include "auth/login.h"

#include <sodium.h>
#include <string.h>

#include "auth/auth_mail.h"
#include "auth/device.h"
#include "auth/events.h"
#include "auth/login_risk.h"
#include "auth/mfa.h"
#include "auth/throttle.h"
#include "auth/txn.h"
#include "util/email.h"

/* Argon2id of a random, discarded password with the parameters of
 * auth/password.c: verifying against it costs what a real verify costs. */
static const char DUMMY_HASH[] =
    "$argon2id$v=19$m=19456,t=2,p=1$sW6R3gkav1dYFelZRZrO1Q$fBztqbNfv2XJKPjEJaBwe0fZKs1RNm+UQX7SQtRJryk";

/* A new device's name when the client sent none that can be shown. */
#define UNNAMED_DEVICE "unnamed device"

/* A failed login, counted against the account and the sources.  The device
 * key is a source only if the request proved it holds it (proven): a public
 * key is no secret, and a stranger naming the owner's with a bad signature
 * must not get the owner's phone blocked. */
static enum err fail(const struct auth_ctx *ctx, const struct login_input *in, bool proven, struct customer *c,
                     const char *reason)
{
    enum err e = ERR_OK;
    if (c && strcmp(reason, "locked") != 0)
        e = throttle_account_failed(ctx, c, THROTTLE_LOGIN, 0);
    if (e == ERR_OK)
        e = throttle_login_failed(ctx, in->email, proven ? in->device_key : NULL);
    if (e == ERR_OK) {
        json_t *detail = json_pack("{s:s}", "reason", reason);
        uint8_t pk[32];
        /* A public key is no secret, and names the device for the fraud desk. */
        if (device_key_parse(in->device_key, pk) == ERR_OK)
            json_object_set_new(detail, "device_key", json_string(in->device_key));
        e = sec_event_record(ctx->st, ctx->now, c ? c->id : 0, SEC_LOGIN_FAILED, SEC_FAILURE, ctx->client_addr, 0,
                             detail);
    }
    return auth_end_deferred(ctx, e == ERR_OK, e == ERR_OK ? ERR_INVALID_CREDENTIALS : e);
}

/* The right password with a wrong second factor: a login_mfa_failed
 * (toward MFA_GUESSES_PER_DAY) as well as a failed login, and the owner
 * hears of the first of the day: whoever typed it knows the password. */
static enum err wrong_second_factor(const struct auth_ctx *ctx, const struct login_input *in, struct customer *c,
                                    bool first_today)
{
    const char *method = in->totp_code ? "totp" : "recovery_code";
    enum err e = sec_event_record(ctx->st, ctx->now, c->id, SEC_LOGIN_MFA_FAILED, SEC_FAILURE, ctx->client_addr, 0,
                                  json_pack("{s:s}", "method", method));
    if (e == ERR_OK && first_today)
        e = auth_mail_password_known(ctx, c->email);
    if (e != ERR_OK)
        return auth_end_deferred(ctx, false, e);
    return fail(ctx, in, true, c, in->totp_code ? "wrong_totp_code" : "wrong_recovery_code");
}

/* Steps 2-4 of login.h for the account *c of the address (found false:
 * nobody's).  *c is the caller's, re-read here and wiped by the caller:
 * no copy of its password hash or sealed seed is left on this frame. */
static enum err verify_and_sign_in(const struct auth_ctx *ctx, const struct login_input *in, bool found,
                                   struct customer *c, struct auth_grant *out)
{
    struct customer_device d;
    bool is_new = false;
    enum err e;
    bool password_ok = auth_password_verify(found ? c->password_hash : DUMMY_HASH, in->password ? in->password : "");
    password_ok = password_ok && found;

    if ((e = auth_begin(ctx)) != ERR_OK)
        return e;
    enum err proof = device_check_proof(ctx, in->device_key, in->challenge, in->signature);
    if (proof != ERR_OK && proof != ERR_INVALID_CREDENTIALS)
        return auth_end_deferred(ctx, false, proof);
    bool proven = proof == ERR_OK;
    /* Re-read inside the transaction: counters may have moved meanwhile,
     * and so may the password (a reset or change completed during the
     * Argon2id): a verify against the hash it replaced proves nothing. */
    if (found) {
        char verified[AUTH_PASSWORD_HASH_MAX];
        memcpy(verified, c->password_hash, sizeof verified);
        e = ctx->st->ops->customer_get(ctx->st, c->id, c);
        bool same = e == ERR_OK && strcmp(verified, c->password_hash) == 0;
        sodium_memzero(verified, sizeof verified);
        if (e != ERR_OK)
            return auth_end_deferred(ctx, false, e == ERR_NOT_FOUND ? ERR_INVALID_CREDENTIALS : e);
        if (!same)
            password_ok = false;
    }
    if (!found)
        return fail(ctx, in, proven, NULL, "unknown_email");
    if (throttle_account_locked(ctx, c))
        return fail(ctx, in, proven, c, "locked");
    if (!password_ok)
        return fail(ctx, in, proven, c, "wrong_password");
    if (!proven)
        return fail(ctx, in, proven, c, "device_proof");
    if (!c->email_verified)
        return fail(ctx, in, proven, c, "email_unverified");
    if (!c->totp_enrolled)
        return fail(ctx, in, proven, c, "totp_not_enrolled");
    /* Invariant 6: the password is right, so the day's guesses at the
     * second factor are counted, and capped but for the owner's own phone
     * (a device of the account's, proven by its signature). */
    size_t earlier = 0;
    struct customer_device own;
    if ((e = mfa_guesses(ctx, c->id, "login_mfa_failed", &earlier)) != ERR_OK)
        return auth_end_deferred(ctx, false, e);
    if (earlier >= MFA_GUESSES_PER_DAY) {
        e = ctx->st->ops->device_find(ctx->st, c->id, in->device_key, &own);
        if (e == ERR_NOT_FOUND)
            return fail(ctx, in, proven, c, "second_factor_guesses");
        if (e != ERR_OK)
            return auth_end_deferred(ctx, false, e);
    }
    e = mfa_check_second_factor(ctx, c, in->totp_code, in->recovery_code);
    if (e == ERR_INVALID_CODE)
        return wrong_second_factor(ctx, in, c, earlier == 0);
    if (e != ERR_OK)
        return auth_end_deferred(ctx, false, e);

    c->failed_logins = 0;
    e = ctx->st->ops->customer_update(ctx->st, c);
    const char *name = device_name_valid(in->device_name) ? in->device_name : UNNAMED_DEVICE;
    if (e == ERR_OK)
        e = device_register(ctx, c->id, in->device_key, name, &d, &is_new);
    if (e == ERR_OK && is_new)
        e = auth_mail_new_device(ctx, c->email, d.name);
    if (e == ERR_OK && is_new)
        e = sec_event_record(ctx->st, ctx->now, c->id, SEC_NEW_DEVICE, SEC_SUCCESS, ctx->client_addr, d.id,
                             json_pack("{s:s, s:I}", "name", d.name, "new_until_ms", (json_int_t)d.new_until_ms));
    if (e == ERR_OK)
        e = session_create(ctx, c->id, d.id, SESSION_SCOPE_FULL, out);
    if (e == ERR_OK) {
        out->new_device = is_new;
        e = sec_event_record(ctx->st, ctx->now, c->id, SEC_LOGIN_SUCCEEDED, SEC_SUCCESS, ctx->client_addr, d.id,
                             json_pack("{s:s, s:b}", "second_factor", in->totp_code ? "totp" : "recovery_code",
                                       "new_device", is_new));
    }
    e = auth_end_deferred(ctx, e == ERR_OK, e);
    if (e != ERR_OK)
        sodium_memzero(out, sizeof *out);
    return e;
}

enum err login_attempt_scored(const struct auth_ctx *ctx, struct risk *risk, const struct login_input *in,
                              struct auth_grant *out, int64_t *retry_after_s)
{
    char norm[EMAIL_MAX + 1];
    struct customer c;
    bool found = false;
    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);
    *retry_after_s = 0;
    enum err e = throttle_check(ctx, in->device_key, retry_after_s);
    if (e != ERR_OK)
        return e;
    if (in->email && email_normalize(in->email, norm) == ERR_OK) {
        e = ctx->st->ops->customer_get_by_email(ctx->st, norm, &c);
        if (e != ERR_OK && e != ERR_NOT_FOUND) {
            sodium_memzero(&c, sizeof c); /* whatever a failed read left in it */
            return e;
        }
        found = e == ERR_OK;
    }
    /* Before the password is verified: a refusal cannot depend on it. */
    struct login_risk lr;
    e = login_risk_check(ctx, risk, found ? &c : NULL, in->email, in->device_key, &lr);
    if (e == ERR_OK) {
        e = verify_and_sign_in(ctx, in, found, &c, out);
        login_risk_observe(risk, &lr, e == ERR_OK);
    }
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return e;
}

enum err login_attempt(const struct auth_ctx *ctx, const struct login_input *in, struct auth_grant *out,
                       int64_t *retry_after_s)
{
    return login_attempt_scored(ctx, NULL, in, out, retry_after_s);
}
