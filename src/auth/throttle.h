/* throttle.h: stored throttling of logins: account lock-out and
 * credential-stuffing blocks (the per-address token bucket is src/http's).
 *
 * Account lock-out: 10 consecutive wrong passwords (failed logins, and wrong
 * current passwords of a password change) lock the account for 30 minutes
 * (customers.locked_until) and mail the owner; the counter restarts at 0
 * when the lock starts and is cleared by a successful login, a password
 * change or a completed reset.
 *
 * Credential stuffing: every failed login is recorded against its sources
 * (client address: IPv4 address or IPv6 /64, IPv4-mapped counted as IPv4;
 * device key if well-formed) with a keyed hash of the
 * e-mail address tried.  A source that failed for >= 5 distinct addresses
 * within 10 minutes is blocked for 1 hour (source_blocks, seen by every
 * node), and credential_stuffing_blocked is recorded.
 *
 *   source: CLEAR --5th distinct address within 10 min--> BLOCKED --1 h--> CLEAR
 */
#ifndef KESSAI_AUTH_THROTTLE_H
#define KESSAI_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth_ctx.h"
#include "auth/customer_types.h"

#define THROTTLE_LOCK_AFTER 10
#define THROTTLE_LOCK_MS (30 * 60 * 1000)
#define THROTTLE_STUFFING_EMAILS 5
#define THROTTLE_STUFFING_WINDOW_MS (10 * 60 * 1000)
#define THROTTLE_BLOCK_MS (60 * 60 * 1000)

/* Is ctx->client_addr or device_key (may be NULL) blocked?  ERR_OK if not;
 * ERR_RATE_LIMITED with *retry_after_s (>= 1) if so.  Fast, no transaction
 * needed: callers may use it to refuse before queueing Argon2id work. */
enum err throttle_check(const struct auth_ctx *ctx, const char *device_key, int64_t *retry_after_s);

/* Inside the caller's transaction: record a failed login for email (the raw
 * input; "" if none) from ctx->client_addr and device_key (NULL or malformed:
 * ignored), blocking a source that crosses the threshold. */
enum err throttle_login_failed(const struct auth_ctx *ctx, const char *email, const char *device_key);

/* What a wrong password was typed into: both count against the same
 * account counter, so a thief holding a session cannot guess the current
 * password at the change-password form once login has locked them out,
 * nor the other way round. */
enum throttle_cause { THROTTLE_LOGIN, THROTTLE_PASSWORD_CHANGE };

/* Inside the caller's transaction: count one wrong password against c
 * (already loaded, written back here; failures while locked neither count
 * nor extend the lock).  When this failure starts a lock-out, the owner is
 * mailed (auth_mail_locked) and account_locked is recorded with device_id
 * (0 if none) and detail {locked_until_ms, cause: "login" or
 * "password_change"}, all in the same transaction. */
enum err throttle_account_failed(const struct auth_ctx *ctx, struct customer *c, enum throttle_cause cause,
                                 int64_t device_id);

/* The key a client address is counted and blocked under: an IPv4 address
 * (IPv4-mapped included), an IPv6 /64 ("p:q:r:s::/64"), else the text as
 * given.  Returns out, or addr itself.  Pure; the card-testing defence
 * (wallet/card.h) counts addresses the same way. */
const char *throttle_addr_key(const char *addr, char out[CLIENT_ADDR_MAX + 1]);

/* Is c locked at ctx->now? (Pure.) */
bool throttle_account_locked(const struct auth_ctx *ctx, const struct customer *c);

#endif
