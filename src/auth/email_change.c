/* email_change.c: changing the address of an account (state machine in
 * email_change.h).
 *
 * Invariants:
 *  1. customers.email changes only in email_change_confirm, in the
 *     transaction that deletes the pending row whose code was right, and
 *     only to that row's address; a doomed row never gets there.
 *  2. The code exists only as a keyed hash in email_changes and is mailed
 *     only to the row's new address; the address on file gets notices,
 *     never the code (a thief reading the owner's mail learns nothing that
 *     helps, and the owner learns of the attempt).
 *  3. A request for a taken address does what a request for a free one
 *     does (a row, a notice, an event), minus the code mail: nothing in the
 *     answer, the store's shape or the requester's events tells them apart.
 *  4. Switching the address ends every other session and voids unused
 *     reset tokens in the same transaction.
 *  5. At most CODE_BUDGET_PER_DAY pending changes (codes) are issued per
 *     customer in 24 h (code_budget.h): with EMAIL_CHANGE_MAX_TRIES each,
 *     a session holder gets at most 25 guesses a day at a 6-digit code.
 */
#include "auth/email_change.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth_mail.h"
#include "auth/code_budget.h"
#include "auth/events.h"
#include "auth/secret_hash.h"
#include "auth/txn.h"

enum err email_change_check(const struct auth_ctx *ctx, const struct auth_session *cur, const char *new_email,
                            char norm[EMAIL_MAX + 1])
{
    struct customer c;
    enum err e = session_require(cur, SESSION_NEED_SIGNED_IN, ctx->now);
    if (e != ERR_OK)
        return e;
    if (new_email == NULL || email_normalize(new_email, norm) != ERR_OK)
        return ERR_INVALID_PARAM;
    if ((e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, &c)) != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_UNAUTHENTICATED : e;
    e = strcmp(c.email, norm) == 0 ? ERR_INVALID_PARAM : ERR_OK;
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return e;
}

/* Inside the transaction: store a fresh pending change for c and mail. */
static enum err issue(const struct auth_ctx *ctx, const struct customer *c, const char *norm, bool doomed)
{
    char code[EMAIL_CODE_DIGITS + 1];
    struct email_change ec = {0};
    snprintf(code, sizeof code, "%06u", (unsigned)randombytes_uniform(1000000));
    ec.customer_id = c->id;
    snprintf(ec.new_email, sizeof ec.new_email, "%s", norm);
    secret_hash_str(ctx->master_key, SECRET_EMAIL_CHANGE_CODE, code, ec.code_hash);
    ec.created_ms = ctx->now;
    ec.expires_ms = ctx->now + EMAIL_CHANGE_CODE_TTL_MS;
    ec.doomed = doomed;
    enum err e = ctx->st->ops->email_change_put(ctx->st, &ec);
    if (e == ERR_OK && !doomed)
        e = auth_mail_email_change_code(ctx, norm, code);
    sodium_memzero(code, sizeof code);
    if (e == ERR_OK)
        e = auth_mail_email_change_requested(ctx, c->email, norm);
    return e;
}

enum err email_change_request(const struct auth_ctx *ctx, const struct auth_session *cur, const char *new_email,
                              int64_t live_at)
{
    char norm[EMAIL_MAX + 1];
    struct customer c, other;
    enum err e = email_change_check(ctx, cur, new_email, norm);
    if (e != ERR_OK)
        return e;
    if ((e = auth_begin(ctx)) != ERR_OK)
        return e;
    /* The handler answers before this runs: the session may have been
     * revoked, or the address changed, in between. */
    e = session_still_live(ctx->st, cur->id, cur->customer_id, live_at);
    if (e == ERR_OK)
        e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, &c);
    if (e == ERR_NOT_FOUND)
        e = ERR_UNAUTHENTICATED;
    if (e == ERR_OK && strcmp(c.email, norm) == 0)
        e = ERR_INVALID_PARAM;
    if (e != ERR_OK) {
        sodium_memzero(&c, sizeof c);
        return auth_end(ctx, false, e);
    }
    /* Invariant 5: a new request replaces the pending change and its count
     * of tries, so each one must come out of the daily budget.  Spent:
     * nothing is stored or mailed, the pending change (if any) stays as it
     * is, and code_budget_take has recorded code_budget_exhausted.  Taken
     * and free addresses alike (invariant 3). */
    bool granted = false;
    if ((e = code_budget_take(ctx, c.id, CODE_PURPOSE_EMAIL_CHANGE, &granted)) != ERR_OK || !granted) {
        sodium_memzero(&c, sizeof c);
        return auth_end(ctx, e == ERR_OK, e);
    }
    e = ctx->st->ops->customer_get_by_email(ctx->st, norm, &other);
    bool taken = e == ERR_OK;
    sodium_memzero(&other, sizeof other); /* only whether it exists matters */
    if (e == ERR_OK || e == ERR_NOT_FOUND)
        e = issue(ctx, &c, norm, taken);
    /* The same row for a free and a taken address (invariant 3). */
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, c.id, SEC_EMAIL_CHANGE_REQUESTED, SEC_SUCCESS, ctx->client_addr,
                             cur->device_id, json_pack("{s:s}", "new_email", norm));
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return auth_end(ctx, e == ERR_OK, e);
}

/* Check code against the customer's pending change, counting a wrong one.
 * ERR_OK (row deleted, *ec filled), ERR_INVALID_CODE (state to commit), or
 * a store error. */
static enum err check_code(const struct auth_ctx *ctx, int64_t customer_id, const char *code,
                           struct email_change *ec)
{
    uint8_t h[AUTH_HASH_BYTES];
    struct store *st = ctx->st;
    enum err e = st->ops->email_change_get(st, customer_id, ec);
    if (e != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_INVALID_CODE : e;
    if (ctx->now >= ec->expires_ms) {
        e = st->ops->email_change_delete(st, customer_id);
        return e == ERR_OK ? ERR_INVALID_CODE : e;
    }
    secret_hash_str(ctx->master_key, SECRET_EMAIL_CHANGE_CODE, code ? code : "", h);
    /* Compared even when doomed, so both cases take the same path. */
    bool right = sodium_memcmp(h, ec->code_hash, sizeof h) == 0;
    if (right && !ec->doomed)
        return st->ops->email_change_delete(st, customer_id);
    if (ec->tries + 1 >= EMAIL_CHANGE_MAX_TRIES)
        e = st->ops->email_change_delete(st, customer_id);
    else
        e = st->ops->email_change_set_tries(st, customer_id, ec->tries + 1);
    return e == ERR_OK ? ERR_INVALID_CODE : e;
}

/* Inside the transaction, the code being right: move c to ec's address. */
static enum err switch_address(const struct auth_ctx *ctx, const struct auth_session *cur, struct customer *c,
                               const struct email_change *ec)
{
    struct store *st = ctx->st;
    struct customer other;
    char old[EMAIL_MAX + 1];
    int ended = 0;
    enum err e = st->ops->customer_get_by_email(st, ec->new_email, &other);
    sodium_memzero(&other, sizeof other); /* only whether it exists matters */
    if (e == ERR_OK)
        e = ERR_CONFLICT;
    else if (e == ERR_NOT_FOUND)
        e = st->ops->customer_set_email(st, c->id, ec->new_email);
    if (e != ERR_OK)
        return e;
    memcpy(old, c->email, sizeof old);
    memcpy(c->email, ec->new_email, sizeof c->email);
    e = st->ops->session_revoke_many(st, c->id, 0, cur->id, ctx->now, &ended);
    /* As a password change: every offline key and unused code goes. */
    if (e == ERR_OK)
        e = st->ops->paycodes_revoke(st, c->id, 0, ctx->now);
    if (e == ERR_OK)
        e = st->ops->reset_tokens_void(st, c->id);
    /* To the old address: if this was not its owner, they must hear of it,
     * and the new address is the thief's. */
    if (e == ERR_OK)
        e = auth_mail_email_changed(ctx, old, c->email);
    if (e == ERR_OK)
        e = sec_event_record(st, ctx->now, c->id, SEC_EMAIL_CHANGED, SEC_SUCCESS, ctx->client_addr, cur->device_id,
                             json_pack("{s:s, s:s, s:i}", "old_email", old, "new_email", c->email, "sessions_ended",
                                       ended));
    return e;
}

enum err email_change_confirm(const struct auth_ctx *ctx, const struct auth_session *cur, const char *code,
                              struct customer_profile *out)
{
    struct email_change ec;
    struct customer c;
    enum err e = session_require(cur, SESSION_NEED_FULL, ctx->now);
    if (e != ERR_OK)
        return e;
    if ((e = auth_begin(ctx)) != ERR_OK)
        return e;
    e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, &c);
    if (e != ERR_OK)
        return auth_end(ctx, false, e == ERR_NOT_FOUND ? ERR_UNAUTHENTICATED : e);
    e = check_code(ctx, c.id, code, &ec);
    if (e == ERR_INVALID_CODE) {
        /* On file with the counted try (kept): a session holder guessing. */
        e = sec_event_record(ctx->st, ctx->now, c.id, SEC_EMAIL_CHANGED, SEC_FAILURE, ctx->client_addr,
                             cur->device_id, json_pack("{s:s}", "reason", "wrong_code"));
        sodium_memzero(&c, sizeof c);
        return auth_end(ctx, e == ERR_OK, e == ERR_OK ? ERR_INVALID_CODE : e);
    }
    if (e == ERR_OK)
        e = switch_address(ctx, cur, &c, &ec);
    if (e == ERR_CONFLICT) {
        /* Taken since it was asked for: the change is void (its row is
         * already deleted), and that is kept. */
        e = sec_event_record(ctx->st, ctx->now, c.id, SEC_EMAIL_CHANGED, SEC_FAILURE, ctx->client_addr,
                             cur->device_id, json_pack("{s:s}", "reason", "address_taken"));
        sodium_memzero(&c, sizeof c);
        return auth_end(ctx, e == ERR_OK, e == ERR_OK ? ERR_CONFLICT : e);
    }
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    if ((e = auth_end(ctx, e == ERR_OK, e)) != ERR_OK)
        return e;
    return customer_profile(ctx, cur, out);
}
