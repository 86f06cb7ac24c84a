/* paycode.h: the codes a customer shows at the register (consumer-presented).
 *
 * Online code (POST /v1/paycodes, FULL session):
 *   "8" + 16 random digits (10^16 > 2^53: more than 50 bits) + Luhn check
 *   digit = 18 digits; valid PAYCODE_TTL_MS, single-use, bound to the
 *   customer and the session's device; the store keeps only its keyed hash
 *   (secret_hash.h, SECRET_PAYCODE).  A session whose device is not a known
 *   (active) device gets ERR_UNAUTHENTICATED.
 *
 * Offline code (derived by the phone without signal; docs/paycodes.md has
 * the algorithm and a worked example a phone developer can reproduce):
 *   at enrolment (POST /v1/paycodes/offline-key, FULL + FRESH) the device
 *   receives a 32-byte key (base64url, shown once; stored sealed) and a
 *   7-digit offline id.  For time step s = floor(unix_seconds / 30):
 *     mac  = HMAC-SHA256(key, "kessai-offline-v1:" || s as 8 bytes big-endian)
 *     n    = first 8 bytes of mac as a big-endian uint64, mod 10^9
 *     code = "9" + offline id (7 digits) + n (9 digits, zero-padded) + Luhn digit
 *   The server accepts a code within +-1 step of its clock, each (device,
 *   step) at most once, only while the device and its key are active (the
 *   key dies with the device), with the lower offline limits.
 *
 * Resolution (by the register's charge) never consumes: consuming happens in
 * the payment's ledger transaction (payment.h), so a code pays at most once
 * even when two registers present it at the same instant.
 *
 * Decided beyond the first draft of this contract:
 *  - Issuing a one-time code is one row written as a hook alone through the
 *    ledger writer (writer.h, n = 0): it shares the group commit and is
 *    durable before the code is returned (w->writer must be set).
 *    paycode_issue answers from the writer's completer, so the HTTP thread
 *    that asked is free meanwhile; paycode_new waits.
 *  - The session's device is checked on every issue (paycode_new and
 *    paycode_offline_key): removed or not the customer's ->
 *    ERR_UNAUTHENTICATED.  So is the session itself, again inside the
 *    transaction that writes the code or the key (session_still_live): a
 *    revocation that commits while the request waits is not followed by
 *    a code or a key that outlives it.  At the register, a code whose device has been
 *    removed since is ERR_INVALID_CODE, online or offline.
 *  - The offline id is 0..9999999, always written as 7 digits (leading
 *    zeros); the API shows it as that 7-digit string.  A new key gets a new
 *    random id; the old key's row is overwritten (it no longer exists).
 *    Removing the device (device_remove), revoking one of its sessions,
 *    revoking all sessions or a staff sign-out, a freeze, a reset, a
 *    password or e-mail change or a second-factor reset revoke its key and
 *    delete its unused one-time codes (store
 *    paycodes_revoke), so neither outlives the session that got it; a key
 *    revoked between a charge's resolve and its commit makes the commit
 *    refuse the code.  A key older than PAYCODE_OFFLINE_KEY_LIFETIME_MS
 *    pays no more.  Each key issue is a security event, offline_key_issued.
 *  - paycode_resolve cannot see that an offline (device, step) was already
 *    used (there is no read op for it): paycode_consume refuses it.  So a
 *    phone pays at most once offline per 30 s step.
 *  - hit.device_new: now < the device's new_until_ms, or now < the
 *    customer's cooldown_until_ms (after a password reset).
 *  - A sealed key that does not open (tampered row, wrong master key) is
 *    ERR_INTERNAL, not ERR_INVALID_CODE: it is no fault of the register's.
 */
#ifndef KESSAI_WALLET_PAYCODE_H
#define KESSAI_WALLET_PAYCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/session.h"
#include "wallet/wallet_ctx.h"

#define PAYCODE_TTL_MS (60 * 1000)
#define PAYCODE_ONLINE_PREFIX '8'
#define PAYCODE_OFFLINE_PREFIX '9'
#define OFFLINE_STEP_S 30
#define OFFLINE_KEY_B64_LEN 43
/* An offline key pays for 30 days from its issue, then the phone asks for a
 * new one (it is online often enough): a key copied off a phone, or left on
 * one no longer used, does not pay for ever. */
#define PAYCODE_OFFLINE_KEY_LIFETIME_MS (30LL * 24 * 3600 * 1000)
/* How long a used offline (device, step) is remembered: far past the 90 s
 * a step's code can still be accepted, with room for skewed node clocks. */
#define PAYCODE_OFFLINE_USE_KEEP_MS (10 * 60 * 1000)

/* The answer of paycode_issue, on the ledger writer's completer thread
 * (keep it short): ERR_OK with the 18 digits in code (valid during the
 * call only; the caller's copies are its to wipe) and expires_ms = now +
 * PAYCODE_TTL_MS; else ERR_STORE, ERR_SHUTTING_DOWN, ERR_INTERNAL and code
 * NULL. */
typedef void (*paycode_issued_fn)(void *ctx, enum err e, const char *code, int64_t expires_ms);

/* POST /v1/paycodes: checks the session and its device on this thread
 * (ERR_MFA_REQUIRED for an enrol session, ERR_UNAUTHENTICATED for a removed
 * device), then submits the code's row to the writer's group commit.
 * ERR_OK: done(ctx, …) will be called exactly once, maybe before this
 * returns; any other value is the answer, and done is not called. */
enum err paycode_issue(const struct wallet_ctx *w, const struct auth_session *cur, paycode_issued_fn done,
                       void *ctx);

/* Read the payment codes in the store into memory (store.h paycodes_load),
 * logged as paycodes_loaded: kessaid does it at start, before it takes a
 * request. */
enum err paycode_load(struct store *st, int64_t now_ms);

/* paycode_issue, waited for (tests, tools; not on the completer thread). */
enum err paycode_new(const struct wallet_ctx *w, const struct auth_session *cur, char code[PAYCODE_DIGITS + 1],
                     int64_t *expires_ms);

/* POST /v1/paycodes/offline-key: a new key for the session's device (any
 * old one is revoked).  key_b64 gets the key (secret: show once).  Needs a
 * FRESH session (ERR_FRESH_MFA_REQUIRED) and an account not frozen
 * (ERR_ACCOUNT_FROZEN); runs its own transaction. */
enum err paycode_offline_key(const struct wallet_ctx *w, const struct auth_session *cur,
                             char key_b64[OFFLINE_KEY_B64_LEN + 1], int64_t *offline_id);

/* What a code presented at a register stands for. */
struct paycode_hit {
    int64_t customer_id;
    int64_t device_id;
    bool offline;
    int64_t paycode_id;   /* online: the row to consume */
    int64_t offline_step; /* offline: the step to record as used */
    int64_t offline_id;   /* offline: the key that made the code (it must still be the device's) */
    bool device_new;      /* the device is in its new-device cool-down */
};

/* Resolve a presented code (18 digits, Luhn-valid, known prefix) without
 * consuming it: ERR_OK and *hit, or ERR_INVALID_CODE (malformed, unknown,
 * expired, used, from a removed device or a revoked or expired key,
 * outside +-1 step). */
enum err paycode_resolve(const struct wallet_ctx *w, const char *code, struct paycode_hit *hit);

/* Inside the payment's transaction: consume what hit names.  ERR_INVALID_CODE
 * if it was consumed meanwhile (the second of two concurrent charges). */
enum err paycode_consume(struct store *st, const struct paycode_hit *hit, int64_t now);

/* For the phone side and the tests: the offline code of key for step. */
void paycode_offline_derive(const uint8_t key[32], int64_t offline_id, int64_t step, char code[PAYCODE_DIGITS + 1]);

/* Rendering for the app: QR (libqrencode) and Code 128 (libzint) as SVG
 * documents; *svg is malloc'd (caller frees).  ERR_NOMEM / ERR_INTERNAL. */
enum err paycode_qr_svg(const char *code, char **svg);
enum err paycode_barcode_svg(const char *code, char **svg);

#endif
