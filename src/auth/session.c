/* session.c: customer sessions (state machine in session.h).
 *
 * Invariants:
 *  1. Only the keyed hash of a token is stored; the token leaves this file
 *     once, in the auth_grant of session_create.
 *  2. A session is live iff revoked_ms = 0, now < absolute_ms and
 *     now < last_seen_ms + idle; nothing ever extends absolute_ms.
 *  3. Every write re-reads the row inside the write transaction, except a
 *     request's "touch", which only moves last_seen_ms forward
 *     (session_seen): so a revocation racing a touch is never undone.
 *  4. A FULL session has mfa_at_ms > 0: it was born from, or upgraded by, a
 *     second-factor check.
 */
#include "auth/session.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth/events.h"
#include "auth/txn.h"
#include "util/ids.h"
#include "util/log.h"

/* A request within this long of the last one does not write last_seen: a
 * customer's requests cost one write a minute instead of one each, and the
 * idle time-out (15 minutes by default) ends at most this much early. */
#define TOUCH_GRANULARITY_MS (60 * 1000)

/* The write goes through the ledger writer when there is one (kessaid),
 * and the request does not wait for it.  Written by the request's own
 * thread, it was an fsync'd commit of its own, taking the write lock from
 * the payments: once a minute per active customer, 10,000 customers made
 * it ~500 commits a second, each stalling every connection of that HTTP
 * thread (bench/README.md, tenth session).  A touch lost in a crash only
 * ends the session up to a minute early. */
struct touch {
    int64_t id, now;
};

static enum err touch_hook(void *ctx, struct store *st, const struct ledger_transfer *x,
                           const struct ledger_balances *after, size_t n, bool replayed)
{
    (void)x;
    (void)after;
    (void)n;
    (void)replayed;
    const struct touch *t = ctx;
    return st->ops->session_seen(st, t->id, t->now);
}

static void touch_done(void *ctx, const struct ledger_result *r)
{
    (void)r;
    free(ctx);
}

static enum err touch(const struct auth_ctx *ctx, int64_t id)
{
    if (ctx->writer == NULL) {
        enum err e = auth_begin(ctx);
        if (e == ERR_OK)
            e = ctx->st->ops->session_seen(ctx->st, id, ctx->now);
        return auth_end(ctx, e == ERR_OK, e);
    }
    /* A touch the writer cannot take (stopping, out of memory) is lost as
     * in a crash, and the request goes on. */
    struct touch *t = malloc(sizeof *t);
    if (t == NULL)
        return ERR_OK;
    *t = (struct touch){.id = id, .now = ctx->now};
    if (ledger_writer_submit_hook(ctx->writer, touch_hook, t, touch_done, t) != ERR_OK)
        free(t);
    return ERR_OK;
}

static bool live(const struct auth_ctx *ctx, const struct customer_session *s)
{
    return s->revoked_ms == 0 && ctx->now < s->absolute_ms && ctx->now < s->last_seen_ms + auth_idle_ms(ctx);
}

enum err session_still_live(struct store *st, int64_t session_id, int64_t customer_id, int64_t now)
{
    bool live = false;
    enum err e = st->ops->session_unrevoked(st, session_id, customer_id, now, &live);
    return e == ERR_OK && !live ? ERR_UNAUTHENTICATED : e;
}

static int64_t expires_at(const struct auth_ctx *ctx, const struct customer_session *s)
{
    int64_t idle_end = s->last_seen_ms + auth_idle_ms(ctx);
    return idle_end < s->absolute_ms ? idle_end : s->absolute_ms;
}

enum err session_create(const struct auth_ctx *ctx, int64_t customer_id, int64_t device_id,
                        enum session_scope scope, struct auth_grant *out)
{
    struct customer_session s = {0};
    memset(out, 0, sizeof *out);
    secret_new_token(out->session_token);
    secret_hash_str(ctx->master_key, SECRET_SESSION_TOKEN, out->session_token, s.token_hash);
    s.customer_id = customer_id;
    s.device_id = device_id;
    s.scope = scope;
    s.created_ms = ctx->now;
    s.last_seen_ms = ctx->now;
    s.absolute_ms = ctx->now + auth_absolute_ms(ctx);
    s.mfa_at_ms = scope == SESSION_SCOPE_FULL ? ctx->now : 0;
    enum err e = ctx->st->ops->session_insert(ctx->st, &s);
    if (e != ERR_OK) {
        sodium_memzero(out, sizeof *out);
        return e;
    }
    out->session_id = s.id;
    out->customer_id = customer_id;
    out->device_id = device_id;
    out->scope = scope;
    out->expires_at = expires_at(ctx, &s);
    return ERR_OK;
}

/* Fill the request's view from a live session row. */
static enum err fill_view(const struct auth_ctx *ctx, const struct customer_session *s, struct auth_session *out)
{
    struct customer_device d;
    struct customer c;
    int64_t cooldown_until_ms = 0;
    enum err e = ctx->st->ops->device_get(ctx->st, s->device_id, &d);
    if (e == ERR_OK)
        e = ctx->st->ops->customer_get(ctx->st, s->customer_id, &c);
    if (e == ERR_OK)
        cooldown_until_ms = c.cooldown_until_ms;
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    if (e == ERR_NOT_FOUND)
        return ERR_UNAUTHENTICATED;
    if (e != ERR_OK)
        return e;
    if (d.removed_ms != 0)
        return ERR_UNAUTHENTICATED; /* device_remove revokes too; belt and braces */
    memset(out, 0, sizeof *out);
    out->id = s->id;
    out->customer_id = s->customer_id;
    out->device_id = s->device_id;
    out->scope = s->scope == SESSION_SCOPE_FULL ? SESSION_SCOPE_FULL : SESSION_SCOPE_ENROL;
    out->created_ms = s->created_ms;
    out->last_seen_ms = s->last_seen_ms;
    out->expires_ms = expires_at(ctx, s);
    out->absolute_ms = s->absolute_ms;
    out->mfa_at_ms = s->mfa_at_ms;
    out->fresh_until_ms = s->mfa_at_ms ? s->mfa_at_ms + AUTH_FRESH_MFA_MS : 0;
    out->device_new_until_ms = d.new_until_ms;
    out->cooldown_until_ms = cooldown_until_ms;
    return ERR_OK;
}

/* The token of s was presented without s's device id: whoever presents it
 * is not the app on that phone (which always names its device), so the
 * token is in someone else's hands.  Refused, and the session ends at once:
 * a thief who guesses device ids gets one guess, not one per id. */
static enum err revoke_mismatch(const struct auth_ctx *ctx, const struct customer_session *s, int64_t presented)
{
    char sid[IDS_BUF];
    struct customer_session row;
    enum err e = auth_begin(ctx);
    if (e != ERR_OK)
        return e;
    ids_format(sid, SESSION_ID_PREFIX, s->id);
    e = sec_event_record(ctx->st, ctx->now, s->customer_id, SEC_SESSION_DEVICE_MISMATCH, SEC_FAILURE,
                         ctx->client_addr, presented,
                         json_pack("{s:s, s:I}", "session_id", sid, "session_device", (json_int_t)s->device_id));
    /* Re-read under the write lock (invariant 3); revoked once. */
    if (e == ERR_OK)
        e = ctx->st->ops->session_get(ctx->st, s->id, &row);
    if (e == ERR_OK && row.revoked_ms == 0) {
        row.revoked_ms = ctx->now;
        e = ctx->st->ops->session_update(ctx->st, &row);
        if (e == ERR_OK)
            e = sec_event_record(ctx->st, ctx->now, s->customer_id, SEC_SESSION_REVOKED, SEC_SUCCESS,
                                 ctx->client_addr, s->device_id,
                                 json_pack("{s:s, s:s}", "session_id", sid, "reason", "device_mismatch"));
    }
    return auth_end(ctx, e == ERR_OK, e);
}

enum err session_authenticate(const struct auth_ctx *ctx, const char *token, const char *device_id,
                              struct auth_session *out)
{
    struct customer_session s;
    uint8_t h[AUTH_HASH_BYTES];
    int64_t did = 0;
    if (token == NULL || strlen(token) != SESSION_TOKEN_BUF - 1)
        return ERR_UNAUTHENTICATED;
    secret_hash_str(ctx->master_key, SECRET_SESSION_TOKEN, token, h);
    enum err e = ctx->st->ops->session_get_by_token(ctx->st, h, &s);
    if (e != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_UNAUTHENTICATED : e;
    if (!live(ctx, &s)) {
        /* A revoked token used again ("sign out everywhere", a reset, a
         * removed device): someone may have kept it.  A log line, not an
         * entry: a write per replayed request would be an attacker's to
         * multiply. */
        if (s.revoked_ms != 0) {
            char sid[IDS_BUF], cid[IDS_BUF];
            log_event(LOG_WARN, "session_revoked_token_used",
                      json_pack("{s:s, s:s, s:s}", "session", ids_format(sid, SESSION_ID_PREFIX, s.id), "customer",
                                ids_format(cid, CUSTOMER_ID_PREFIX, s.customer_id), "client_addr",
                                ctx->client_addr ? ctx->client_addr : ""));
        }
        return ERR_UNAUTHENTICATED;
    }
    if (device_id == NULL || ids_parse(device_id, DEVICE_ID_PREFIX, &did) != ERR_OK || did != s.device_id) {
        e = revoke_mismatch(ctx, &s, did);
        return e == ERR_OK ? ERR_UNAUTHENTICATED : e;
    }
    if (ctx->now - s.last_seen_ms >= TOUCH_GRANULARITY_MS) {
        if ((e = touch(ctx, s.id)) != ERR_OK)
            return e;
        s.last_seen_ms = ctx->now;
    }
    return fill_view(ctx, &s, out);
}

enum err session_require(const struct auth_session *s, enum session_need need, int64_t now)
{
    if (need == SESSION_NEED_ANY)
        return ERR_OK;
    if (s->scope != SESSION_SCOPE_FULL)
        return ERR_MFA_REQUIRED;
    /* An old session first: a second factor now would not be enough. */
    if (need == SESSION_NEED_SIGNED_IN && now >= s->created_ms + AUTH_SIGNED_IN_MS)
        return ERR_SIGN_IN_REQUIRED;
    if (need != SESSION_NEED_FULL && (s->mfa_at_ms == 0 || now >= s->fresh_until_ms))
        return ERR_FRESH_MFA_REQUIRED;
    return ERR_OK;
}

enum err session_list(const struct auth_ctx *ctx, const struct auth_session *cur, struct session_info *out,
                      size_t max, size_t *n)
{
    *n = 0;
    enum err e = session_require(cur, SESSION_NEED_FULL, ctx->now);
    if (e != ERR_OK)
        return e;
    if (max > SESSION_LIST_MAX)
        max = SESSION_LIST_MAX;
    struct customer_session rows[SESSION_LIST_MAX];
    size_t k = 0;
    e = ctx->st->ops->session_list_live(ctx->st, cur->customer_id, ctx->now, ctx->now - auth_idle_ms(ctx), max, rows,
                                        &k);
    if (e != ERR_OK)
        return e;
    for (size_t i = 0; i < k; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].id = rows[i].id;
        out[i].device_id = rows[i].device_id;
        memcpy(out[i].device_name, rows[i].device_name, sizeof out[i].device_name);
        out[i].created_ms = rows[i].created_ms;
        out[i].last_seen_ms = rows[i].last_seen_ms;
        out[i].current = rows[i].id == cur->id;
    }
    *n = k;
    return ERR_OK;
}

enum err session_revoke(const struct auth_ctx *ctx, const struct auth_session *cur, int64_t session_id)
{
    struct customer_session s;
    char sid[IDS_BUF];
    enum err e = session_require(cur, SESSION_NEED_FULL, ctx->now);
    if (e != ERR_OK)
        return e;
    if ((e = auth_begin(ctx)) != ERR_OK)
        return e;
    e = ctx->st->ops->session_get(ctx->st, session_id, &s);
    /* Another customer's session is "not found": ids reveal nothing. */
    if (e == ERR_OK && (s.customer_id != cur->customer_id || !live(ctx, &s)))
        e = ERR_NOT_FOUND;
    if (e == ERR_OK) {
        s.revoked_ms = ctx->now;
        e = ctx->st->ops->session_update(ctx->st, &s);
    }
    /* A session revoked is a phone its owner no longer trusts: what it
     * holds to pay without a session (offline key, a code on screen) must
     * not outlive it. */
    if (e == ERR_OK && s.device_id != 0) /* (0 would mean all devices) */
        e = ctx->st->ops->paycodes_revoke(ctx->st, cur->customer_id, s.device_id, ctx->now);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, cur->customer_id, SEC_SESSION_REVOKED, SEC_SUCCESS, ctx->client_addr,
                             cur->device_id,
                             json_pack("{s:s}", "session_id", ids_format(sid, SESSION_ID_PREFIX, session_id)));
    return auth_end(ctx, e == ERR_OK, e);
}

enum err session_revoke_all(const struct auth_ctx *ctx, const struct auth_session *cur)
{
    int n = 0;
    enum err e = session_require(cur, SESSION_NEED_FULL, ctx->now);
    if (e != ERR_OK)
        return e;
    if ((e = auth_begin(ctx)) != ERR_OK)
        return e;
    e = ctx->st->ops->session_revoke_many(ctx->st, cur->customer_id, 0, 0, ctx->now, &n);
    if (e == ERR_OK)
        e = ctx->st->ops->paycodes_revoke(ctx->st, cur->customer_id, 0, ctx->now);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, cur->customer_id, SEC_SESSION_REVOKED, SEC_SUCCESS, ctx->client_addr,
                             cur->device_id, json_pack("{s:s, s:i}", "scope", "all", "sessions", n));
    return auth_end(ctx, e == ERR_OK, e);
}
