/* throttle.c: account lock-out and credential-stuffing blocks (throttle.h).
 *
 * Invariants:
 *  1. Counters and blocks live in the store, so they survive restarts and
 *     every node sees the same ones.
 *  2. A lock-out or a block only ever starts inside the transaction that
 *     records the failure crossing the threshold, so "the 10th failure" is
 *     counted exactly once even with concurrent logins.
 *  3. E-mail addresses are counted by keyed hash: the table of attempts
 *     never becomes a list of the addresses an attacker tried.
 *  4. A client address is counted as what one client controls: an IPv4
 *     address, or an IPv6 /64 (as the per-address token bucket does,
 *     api/ratelimit.h), so rotating through the 2^64 addresses of one
 *     subscriber's prefix does not reset the count or escape a block.
 */
#include "auth/throttle.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth_mail.h"
#include "auth/device.h"
#include "auth/events.h"
#include "auth/secret_hash.h"
#include "util/email.h"

/* The source key of a client address (invariant 4): "a.b.c.d" for IPv4
 * (IPv4-mapped IPv6 included), "p:q:r:s::/64" for other IPv6, the text
 * itself for anything else ("unknown"). */
static const char *addr_source(const char *addr, char out[CLIENT_ADDR_MAX + 1])
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1 && inet_ntop(AF_INET, &a4, out, CLIENT_ADDR_MAX + 1))
        return out;
    if (inet_pton(AF_INET6, addr, &a6) != 1)
        return addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6))
        return inet_ntop(AF_INET, &a6.s6_addr[12], out, CLIENT_ADDR_MAX + 1) ? out : addr;
    char net[INET6_ADDRSTRLEN];
    memset(a6.s6_addr + 8, 0, 8);
    if (inet_ntop(AF_INET6, &a6, net, sizeof net) == NULL)
        return addr;
    snprintf(out, CLIENT_ADDR_MAX + 1, "%s/64", net);
    return out;
}

const char *throttle_addr_key(const char *addr, char out[CLIENT_ADDR_MAX + 1])
{
    return addr_source(addr, out);
}

static int64_t retry_after_s(int64_t until_ms, int64_t now)
{
    int64_t s = (until_ms - now + 999) / 1000;
    return s < 1 ? 1 : s;
}

static enum err check_one(const struct auth_ctx *ctx, int kind, const char *source, int64_t *until)
{
    int64_t u = 0;
    enum err e = ctx->st->ops->source_block_get(ctx->st, kind, source, &u);
    if (e == ERR_NOT_FOUND)
        return ERR_OK;
    if (e != ERR_OK)
        return e;
    if (u > ctx->now && u > *until)
        *until = u;
    return ERR_OK;
}

enum err throttle_check(const struct auth_ctx *ctx, const char *device_key, int64_t *retry_after)
{
    uint8_t pk[32];
    char src[CLIENT_ADDR_MAX + 1];
    int64_t until = 0;
    enum err e = ERR_OK;
    *retry_after = 0;
    if (ctx->client_addr && *ctx->client_addr)
        e = check_one(ctx, AUTH_SOURCE_ADDR, addr_source(ctx->client_addr, src), &until);
    if (e == ERR_OK && device_key_parse(device_key, pk) == ERR_OK)
        e = check_one(ctx, AUTH_SOURCE_DEVICE_KEY, device_key, &until);
    if (e != ERR_OK)
        return e;
    if (until == 0)
        return ERR_OK;
    *retry_after = retry_after_s(until, ctx->now);
    return ERR_RATE_LIMITED;
}

/* Record one failure of a source; block it if it now crosses the line. */
static enum err failed_from(const struct auth_ctx *ctx, int kind, const char *source,
                            const uint8_t email_hash[AUTH_HASH_BYTES])
{
    struct store *st = ctx->st;
    int n = 0;
    enum err e = st->ops->auth_failure_insert(st, kind, source, email_hash, ctx->now,
                                              ctx->now - THROTTLE_STUFFING_WINDOW_MS);
    if (e == ERR_OK)
        e = st->ops->auth_failure_distinct(st, kind, source, ctx->now - THROTTLE_STUFFING_WINDOW_MS, &n);
    if (e != ERR_OK || n < THROTTLE_STUFFING_EMAILS)
        return e;
    int64_t until = 0;
    e = st->ops->source_block_get(st, kind, source, &until);
    if (e == ERR_OK && until > ctx->now)
        return ERR_OK; /* already blocked: one event per block */
    if (e != ERR_OK && e != ERR_NOT_FOUND)
        return e;
    e = st->ops->source_block_put(st, kind, source, ctx->now + THROTTLE_BLOCK_MS);
    if (e == ERR_OK)
        e = sec_event_record(st, ctx->now, 0, SEC_CREDENTIAL_STUFFING_BLOCKED, SEC_FAILURE, ctx->client_addr, 0,
                             json_pack("{s:s, s:s, s:i, s:I}", "source_kind",
                                       kind == AUTH_SOURCE_ADDR ? "client_address" : "device_key", "source", source,
                                       "distinct_emails", n, "blocked_until_ms",
                                       (json_int_t)(ctx->now + THROTTLE_BLOCK_MS)));
    return e;
}

enum err throttle_login_failed(const struct auth_ctx *ctx, const char *email, const char *device_key)
{
    char norm[EMAIL_MAX + 1];
    uint8_t eh[AUTH_HASH_BYTES], pk[32];
    char src[CLIENT_ADDR_MAX + 1];
    /* Count the canonical address when there is one, so "A@x" and "a@x"
     * are one address; anything else counts as typed. */
    const char *id = email_normalize(email ? email : "", norm) == ERR_OK ? norm : (email ? email : "");
    secret_hash_str(ctx->master_key, SECRET_EMAIL_ID, id, eh);
    enum err e = ERR_OK;
    if (ctx->client_addr && *ctx->client_addr)
        e = failed_from(ctx, AUTH_SOURCE_ADDR, addr_source(ctx->client_addr, src), eh);
    if (e == ERR_OK && device_key_parse(device_key, pk) == ERR_OK)
        e = failed_from(ctx, AUTH_SOURCE_DEVICE_KEY, device_key, eh);
    return e;
}

bool throttle_account_locked(const struct auth_ctx *ctx, const struct customer *c)
{
    return c->locked_until_ms > ctx->now;
}

enum err throttle_account_failed(const struct auth_ctx *ctx, struct customer *c, enum throttle_cause cause,
                                 int64_t device_id)
{
    if (throttle_account_locked(ctx, c))
        return ERR_OK; /* failures while locked neither extend nor count */
    bool locked_now = false;
    c->failed_logins++;
    if (c->failed_logins >= THROTTLE_LOCK_AFTER) {
        c->failed_logins = 0;
        c->locked_until_ms = ctx->now + THROTTLE_LOCK_MS;
        locked_now = true;
    }
    enum err e = ctx->st->ops->customer_update(ctx->st, c);
    if (e != ERR_OK || !locked_now)
        return e;
    /* The owner hears of it in the same transaction that starts the lock,
     * so exactly one notice per lock-out. */
    e = auth_mail_locked(ctx, c->email, c->locked_until_ms, cause == THROTTLE_PASSWORD_CHANGE);
    if (e == ERR_OK)
        e = sec_event_record(ctx->st, ctx->now, c->id, SEC_ACCOUNT_LOCKED, SEC_SUCCESS, ctx->client_addr, device_id,
                             json_pack("{s:I, s:s}", "locked_until_ms", (json_int_t)c->locked_until_ms, "cause",
                                       cause == THROTTLE_PASSWORD_CHANGE ? "password_change" : "login"));
    return e;
}
