/* mfa_reset.c: see mfa_reset.h. */
#include "ops/mfa_reset.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/customer_types.h"
#include "auth/txn.h"
#include "notify/outbox.h"
#include "util/timeutil.h"

/* 1..MFA_RESET_TEXT_MAX bytes without control characters: it is shown to
 * staff and kept in the audit log. */
static bool text_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MFA_RESET_TEXT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static enum err mail_reset(const struct auth_ctx *ctx, const char *to)
{
    char body[640], when[TIME_ISO_BUF];
    snprintf(body, sizeof body,
             "Support reset the second factor of your kessai account at %s, after checking who asked.\n"
             "Every session was signed out and your recovery codes no longer work. To use your wallet again,\n"
             "verify your address from the app and set up your authenticator anew.\n\n"
             "If you did not ask for this, contact support at once: your account may be under attack.",
             time_iso8601(when, ctx->now));
    return notify_enqueue(ctx->st, ctx->master_key, ctx->now, to, "The second factor of your kessai account was reset",
                          body);
}

enum err mfa_reset_by_staff(const struct auth_ctx *ctx, const char *actor, int64_t customer_id, const char *reason,
                            const char *identity_check, const char **bad)
{
    *bad = !text_ok(reason) ? "reason" : !text_ok(identity_check) ? "identity_check" : NULL;
    if (*bad)
        return ERR_INVALID_PARAM;
    struct store *st = ctx->st;
    struct customer c;
    enum err e = auth_begin(ctx);
    if (e != ERR_OK)
        return e;
    e = st->ops->customer_get(st, customer_id, &c);
    if (e == ERR_OK) {
        c.totp_enrolled = c.totp_pending = 0;
        sodium_memzero(c.totp_sealed, sizeof c.totp_sealed);
        sodium_memzero(c.totp_pending_sealed, sizeof c.totp_pending_sealed);
        c.cooldown_until_ms = ctx->now + ctx->cfg->reset_cooldown_s * 1000;
        e = st->ops->customer_update(st, &c);
    }
    if (e == ERR_OK)
        e = st->ops->recovery_codes_replace(st, c.id, NULL, 0, ctx->now);
    int sessions = 0;
    if (e == ERR_OK)
        e = st->ops->session_revoke_many(st, c.id, 0, 0, ctx->now, &sessions);
    if (e == ERR_OK)
        e = st->ops->paycodes_revoke(st, c.id, 0, ctx->now);
    if (e == ERR_OK)
        e = audit_record(st, ctx->now, actor, c.id, "mfa_reset", AUDIT_SUCCESS, ctx->client_addr, 0,
                         json_pack("{s:s, s:s, s:i}", "reason", reason, "identity_check", identity_check,
                                   "sessions_revoked", sessions));
    if (e == ERR_OK)
        e = mail_reset(ctx, c.email);
    sodium_memzero(&c, sizeof c);
    return auth_end(ctx, e == ERR_OK, e);
}
