/* password_change.c: changing the password of a signed-in customer (state
 * machine in password_change.h).
 *
 * Invariants:
 *  1. Every request that reaches the password check runs one Argon2id
 *     verify, locked account or not, so the time taken does not tell a
 *     locked account from a wrong password.
 *  2. A wrong current password is counted against the account in the
 *     transaction that records it (throttle_account_failed), the same
 *     counter as failed logins; it is never answered before it is counted.
 *  3. The password is set only if, inside the write transaction, the
 *     session is still live, the account is not locked and the hash the
 *     current password was verified against is still the one on file.
 *  4. Slow work (Argon2id) happens before the write transaction begins, so
 *     no write lock is ever held across it.
 */
#include "auth/password_change.h"

#include <sodium.h>
#include <string.h>

#include "auth/auth_mail.h"
#include "auth/events.h"
#include "auth/password.h"
#include "auth/throttle.h"
#include "auth/txn.h"

/* Inside the transaction: refuse, counting a wrong password (not a locked
 * account: failures while locked do not count, as for login). */
static enum err refuse(const struct auth_ctx *ctx, const struct auth_session *cur, struct customer *c,
                       const char *reason)
{
    enum err e = ERR_OK;
    if (strcmp(reason, "locked") != 0)
        e = throttle_account_failed(ctx, c, THROTTLE_PASSWORD_CHANGE, cur->device_id);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, c->id, SEC_PASSWORD_CHANGE_FAILED, SEC_FAILURE, ctx->client_addr,
                             cur->device_id, json_pack("{s:s}", "reason", reason));
    /* Deferred like login's failures: the lock-out notice of the 10th must
     * not make that one answer slower than the other nine. */
    return auth_end_deferred(ctx, e == ERR_OK, e == ERR_OK ? ERR_INVALID_CREDENTIALS : e);
}

enum err password_change(const struct auth_ctx *ctx, const struct auth_session *cur, const char *current,
                         const char *new_password, char *reason, size_t n)
{
    struct customer c;
    char hash[AUTH_PASSWORD_HASH_MAX], verified[AUTH_PASSWORD_HASH_MAX];
    int ended = 0;
    enum err e = session_require(cur, SESSION_NEED_FRESH, ctx->now);
    if (e != ERR_OK)
        return e;
    if ((e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, &c)) != ERR_OK) {
        e = e == ERR_NOT_FOUND ? ERR_UNAUTHENTICATED : e;
        goto cleanup;
    }
    /* Invariant 1: verified whether or not the account is locked. */
    bool right = current != NULL && auth_password_verify(c.password_hash, current);
    memcpy(verified, c.password_hash, sizeof verified);
    bool hashed = false;
    if (right && !throttle_account_locked(ctx, &c)) {
        /* The current password is right: a weak new one is the owner's
         * mistake, refused without counting anything. */
        if ((e = auth_password_policy(new_password ? new_password : "", c.email, reason, n)) != ERR_OK)
            goto cleanup;
        if ((e = auth_password_hash(new_password, hash)) != ERR_OK)
            goto cleanup;
        hashed = true;
    }
    if ((e = auth_begin(ctx)) != ERR_OK)
        goto cleanup;
    /* It was read before the Argon2id work (and, over HTTP, before the job
     * waited in the workers' queue): an ended session must neither set a
     * password nor end the owner's other sessions. */
    e = session_still_live(ctx->st, cur->id, cur->customer_id, ctx->now);
    if (e == ERR_OK)
        e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, &c);
    if (e != ERR_OK) {
        e = auth_end(ctx, false, e == ERR_NOT_FOUND ? ERR_UNAUTHENTICATED : e);
        goto cleanup;
    }
    /* Re-read: a lock may have started, or the password changed, during the
     * Argon2id; a verify against a hash that was replaced proves nothing. */
    if (strcmp(verified, c.password_hash) != 0)
        right = false;
    /* right && !hashed: locked when first read, the lock over since; the
     * password was right all the same, so not a failure to count. */
    if (throttle_account_locked(ctx, &c) || (right && !hashed)) {
        e = refuse(ctx, cur, &c, "locked");
        goto cleanup;
    }
    if (!right) {
        e = refuse(ctx, cur, &c, "wrong_password");
        goto cleanup;
    }
    memcpy(c.password_hash, hash, sizeof c.password_hash);
    c.failed_logins = 0; /* the right password, as a successful login proves it */
    e = ctx->st->ops->customer_update(ctx->st, &c);
    if (e == ERR_OK)
        e = ctx->st->ops->session_revoke_many(ctx->st, c.id, 0, cur->id, ctx->now, &ended);
    /* Offline keys and unused codes as well, this device's included: it
     * asks for new ones. */
    if (e == ERR_OK)
        e = ctx->st->ops->paycodes_revoke(ctx->st, c.id, 0, ctx->now);
    if (e == ERR_OK)
        e = auth_mail_password_changed(ctx, c.email);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, c.id, SEC_PASSWORD_CHANGED, SEC_SUCCESS, ctx->client_addr,
                             cur->device_id, json_pack("{s:i}", "sessions_ended", ended));
    e = auth_end(ctx, e == ERR_OK, e);
cleanup:
    /* Every copy of a hash: the new one, the verified one, c's. */
    sodium_memzero(hash, sizeof hash);
    sodium_memzero(verified, sizeof verified);
    sodium_memzero(&c, sizeof c);
    return e;
}
