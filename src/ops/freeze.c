/* freeze.c: freezing a customer's account (ops/freeze.h).
 *
 *   NOT FROZEN --freeze_self (customer) / freeze_set_by_staff(true)--> FROZEN
 *   FROZEN --freeze_set_by_staff(false) (staff only)--> NOT FROZEN
 *
 * Invariants:
 *  1. Frozen exactly while a freezes row exists; every path that moves
 *     money out of a wallet or into it from outside (payments, top-ups,
 *     transfers) reads it before it submits (freeze_check), so a freeze
 *     takes effect on the next request on every node.
 *  2. Freezing ends the thief's sessions with it: every session but the
 *     caller's (the customer's own freeze) or every session (staff).
 *  3. Each change is an audit entry (actor: the customer, or the staff
 *     member) and a mail to the customer, in the transaction that makes it.
 *  4. Freezing an account already frozen keeps the first freeze (who and
 *     why): a customer cannot overwrite the reason staff gave.
 */
#include "ops/freeze.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "auth/events.h"
#include "auth/txn.h"
#include "notify/outbox.h"
#include "util/email.h"
#include "util/timeutil.h"

enum err freeze_check(struct store *st, int64_t customer_id)
{
    struct freeze f;
    enum err e = st->ops->freeze_get(st, customer_id, &f);
    if (e == ERR_NOT_FOUND)
        return ERR_OK;
    return e == ERR_OK ? ERR_ACCOUNT_FROZEN : e;
}

/* 0..200 bytes of UTF-8 without control characters (it is mailed and
 * shown to staff). */
static bool reason_ok(const char *r)
{
    if (r == NULL)
        return true;
    size_t len = strlen(r);
    if (len > sizeof ((struct freeze *)0)->reason - 1)
        return false;
    for (const unsigned char *p = (const unsigned char *)r; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    json_t *s = json_string(r); /* NULL unless valid UTF-8 */
    json_decref(s);
    return s != NULL;
}

static enum err mail_frozen(const struct auth_ctx *ctx, const char *to, bool by_customer)
{
    char body[768], when[TIME_ISO_BUF];
    snprintf(body, sizeof body,
             "Your kessai account was frozen at %s%s.\n"
             "It can no longer pay, top up or send money, and every other session was signed out.\n"
             "You can still sign in, read your history and receive refunds.\n\n"
             "Only support can unfreeze it: contact them when it is safe again.",
             time_iso8601(when, ctx->now), by_customer ? " from the app" : " by support");
    return notify_enqueue(ctx->st, ctx->master_key, ctx->now, to, "Your kessai account is frozen", body);
}

static enum err mail_unfrozen(const struct auth_ctx *ctx, const char *to)
{
    char body[512], when[TIME_ISO_BUF];
    snprintf(body, sizeof body,
             "Support unfroze your kessai account at %s: it can pay, top up and send money again.\n\n"
             "If you did not ask for this, contact support at once.",
             time_iso8601(when, ctx->now));
    return notify_enqueue(ctx->st, ctx->master_key, ctx->now, to, "Your kessai account is unfrozen", body);
}

/* Inside the caller's transaction: freeze c (unless frozen already), end
 * its sessions but except_session, record (as actor) and mail. */
static enum err freeze_in_txn(const struct auth_ctx *ctx, const char *actor, const struct customer *c,
                              bool by_customer, const char *reason, const char *set_by, int64_t except_session,
                              int64_t device_id)
{
    struct store *st = ctx->st;
    struct freeze f;
    enum err e = st->ops->freeze_get(st, c->id, &f);
    if (e == ERR_OK)
        return ERR_OK; /* invariant 4 */
    if (e != ERR_NOT_FOUND)
        return e;
    memset(&f, 0, sizeof f);
    f.customer_id = c->id;
    f.frozen_ms = ctx->now;
    f.by_customer = by_customer;
    snprintf(f.reason, sizeof f.reason, "%s", reason ? reason : "");
    snprintf(f.set_by, sizeof f.set_by, "%s", set_by);
    if ((e = st->ops->freeze_put(st, &f)) != ERR_OK)
        return e;
    if ((e = st->ops->session_revoke_many(st, c->id, 0, except_session, ctx->now, NULL)) != ERR_OK)
        return e;
    /* A frozen account pays nothing anyway; but a stolen phone's offline
     * key would pay again after the unfreeze: it goes, with every code. */
    if ((e = st->ops->paycodes_revoke(st, c->id, 0, ctx->now)) != ERR_OK)
        return e;
    json_t *detail = json_pack("{s:s, s:s}", "by", by_customer ? "customer" : "staff", "reason", f.reason);
    if (detail && !by_customer)
        json_object_set_new(detail, "set_by", json_string(f.set_by));
    e = audit_record(st, ctx->now, actor, c->id, sec_event_name(SEC_ACCOUNT_FROZEN), AUDIT_SUCCESS, ctx->client_addr,
                     device_id, detail);
    if (e == ERR_OK)
        e = mail_frozen(ctx, c->email, by_customer);
    return e;
}

enum err freeze_self(const struct auth_ctx *ctx, const struct auth_session *cur, const char *reason)
{
    enum err e = session_require(cur, SESSION_NEED_FULL, ctx->now);
    if (e != ERR_OK)
        return e;
    if (!reason_ok(reason))
        return ERR_INVALID_PARAM;
    struct customer c;
    if ((e = auth_begin(ctx)) != ERR_OK)
        return e;
    e = ctx->st->ops->customer_get(ctx->st, cur->customer_id, &c);
    char actor[IDS_BUF];
    if (e == ERR_OK)
        e = freeze_in_txn(ctx, audit_customer_actor(actor, c.id), &c, true, reason, "customer", cur->id,
                          cur->device_id);
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return auth_end(ctx, e == ERR_OK, e);
}

enum err freeze_set_by_staff(const struct auth_ctx *ctx, const char *actor, const char *email, bool frozen,
                             const char *reason, const char *set_by)
{
    char norm[EMAIL_MAX + 1];
    if (email == NULL || email_normalize(email, norm) != ERR_OK)
        return ERR_NOT_FOUND;
    if (reason == NULL || reason[0] == '\0' || !reason_ok(reason) || set_by == NULL || set_by[0] == '\0' ||
        strlen(set_by) >= sizeof ((struct freeze *)0)->set_by || actor == NULL || actor[0] == '\0')
        return ERR_INVALID_PARAM;
    struct customer c;
    enum err e = auth_begin(ctx);
    if (e != ERR_OK)
        return e;
    e = ctx->st->ops->customer_get_by_email(ctx->st, norm, &c);
    if (e == ERR_OK && frozen) {
        e = freeze_in_txn(ctx, actor, &c, false, reason, set_by, 0, 0);
    } else if (e == ERR_OK) {
        e = ctx->st->ops->freeze_delete(ctx->st, c.id);
        if (e == ERR_NOT_FOUND) {
            sodium_memzero(&c, sizeof c);
            return auth_end(ctx, false, ERR_OK); /* not frozen: nothing to do, nothing to tell */
        }
        if (e == ERR_OK)
            e = audit_record(ctx->st, ctx->now, actor, c.id, sec_event_name(SEC_ACCOUNT_UNFROZEN), AUDIT_SUCCESS,
                             ctx->client_addr, 0, json_pack("{s:s, s:s}", "by", set_by, "reason", reason));
        if (e == ERR_OK)
            e = mail_unfrozen(ctx, c.email);
    }
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return auth_end(ctx, e == ERR_OK, e);
}
