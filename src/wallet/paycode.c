/* paycode.c: the one-time payment code (paycode.h), and resolving and
 * consuming any presented code.
 *
 *   paycode_new --> LIVE --paycode_consume (in the payment's transaction)--> USED
 *                    |
 *                    +--now >= expires_ms (created + 60 s)--> EXPIRED (purged by a later insert)
 *                    +--its device removed--> refused by paycode_resolve
 *
 * Invariants:
 *  1. The code exists only in the reply: the store holds its keyed hash
 *     (SECRET_PAYCODE), looked up by equality, so a copy of the database
 *     names no code, and a guess cannot be checked offline.
 *  2. A code pays at most once: consuming is a conditional UPDATE in the
 *     payment's own transaction (sqlite_paycode.c), so the second of two
 *     concurrent charges finds it used and its whole payment is undone.
 *  3. Issuing rides the ledger writer's group commit (a hook alone,
 *     writer.h): at thousands of codes a second, no code pays for a commit
 *     of its own, and none is handed out before it is durable.
 */
#include "wallet/paycode_internal.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "auth/secret_hash.h"
#include "util/luhn.h"

/* A hash collision with a live code is a 1 in 10^16 event; retrying beats
 * ever handing two customers the same code. */
#define ISSUE_TRIES 3

static void code_hash(const struct wallet_ctx *w, const char *code, uint8_t out[32])
{
    _Static_assert(AUTH_HASH_BYTES == 32, "paycodes.code_hash holds 32 bytes");
    secret_hash(w->a.master_key, SECRET_PAYCODE, code, PAYCODE_DIGITS, out);
}

/* "8", 16 digits from the CSPRNG (uniform: no modulo bias), Luhn digit. */
static void new_code(char code[PAYCODE_DIGITS + 1])
{
    code[0] = PAYCODE_ONLINE_PREFIX;
    for (size_t i = 1; i < PAYCODE_DIGITS - 1; i++)
        code[i] = (char)('0' + randombytes_uniform(10));
    code[PAYCODE_DIGITS - 1] = (char)('0' + luhn_check_digit(code, PAYCODE_DIGITS - 1));
    code[PAYCODE_DIGITS] = '\0';
}

/* ---- issuing through the writer: a hook alone, waited for here ---------- */

struct issue {
    struct paycode c; /* written by the hook (id) */
    int64_t now;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    enum err err;
};

static enum err issue_hook(void *ctx, struct store *st, const struct ledger_transfer *x,
                           const struct ledger_balances *after, size_t n, bool replayed)
{
    (void)x;
    (void)after;
    (void)n;
    (void)replayed;
    struct issue *is = ctx;
    return st->ops->paycode_insert(st, &is->c, is->now);
}

static void issue_done(void *ctx, const struct ledger_result *r)
{
    struct issue *is = ctx;
    pthread_mutex_lock(&is->mu);
    is->err = r->err;
    is->done = true;
    pthread_cond_signal(&is->cv);
    pthread_mutex_unlock(&is->mu);
}

/* Insert c durably through the writer; ERR_CONFLICT on a hash collision. */
static enum err issue(const struct wallet_ctx *w, struct paycode *c)
{
    struct issue is = {.c = *c, .now = w->a.now};
    pthread_mutex_init(&is.mu, NULL);
    pthread_cond_init(&is.cv, NULL);
    /* n = 0: xfers is not read, but is never NULL (memcpy's contract). */
    static const struct ledger_transfer none;
    enum err e = ledger_writer_submit_hooked(w->writer, &none, 0, issue_hook, &is, issue_done, &is);
    if (e == ERR_OK) {
        pthread_mutex_lock(&is.mu);
        while (!is.done)
            pthread_cond_wait(&is.cv, &is.mu);
        pthread_mutex_unlock(&is.mu);
        e = is.err;
    }
    pthread_mutex_destroy(&is.mu);
    pthread_cond_destroy(&is.cv);
    if (e == ERR_OK)
        *c = is.c;
    return e;
}

/* The session's device, active and the customer's: else ERR_UNAUTHENTICATED
 * (the session authenticated, but its device has just been removed). */
static enum err require_device(const struct wallet_ctx *w, const struct auth_session *cur)
{
    struct customer_device d;
    enum err e = w->a.st->ops->device_get(w->a.st, cur->device_id, &d);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && (d.customer_id != cur->customer_id || d.removed_ms != 0)))
        return ERR_UNAUTHENTICATED;
    return e;
}

enum err paycode_new(const struct wallet_ctx *w, const struct auth_session *cur, char code[PAYCODE_DIGITS + 1],
                     int64_t *expires_ms)
{
    code[0] = '\0';
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e == ERR_OK)
        e = require_device(w, cur);
    if (e != ERR_OK)
        return e;
    if (w->writer == NULL)
        return ERR_INTERNAL;
    struct paycode c = {
        .customer_id = cur->customer_id,
        .device_id = cur->device_id,
        .created_ms = w->a.now,
        .expires_ms = w->a.now + PAYCODE_TTL_MS,
    };
    e = ERR_CONFLICT;
    for (int tries = 0; tries < ISSUE_TRIES && e == ERR_CONFLICT; tries++) {
        new_code(code);
        code_hash(w, code, c.code_hash);
        e = issue(w, &c);
    }
    if (e != ERR_OK) {
        sodium_memzero(code, PAYCODE_DIGITS + 1);
        return e == ERR_CONFLICT ? ERR_INTERNAL : e;
    }
    *expires_ms = c.expires_ms;
    return ERR_OK;
}

/* ---- at the register ------------------------------------------------------ */

enum err paycode_hit_device(const struct wallet_ctx *w, int64_t customer_id, int64_t device_id,
                            struct paycode_hit *hit)
{
    struct store *st = w->a.st;
    struct customer_device d;
    enum err e = st->ops->device_get(st, device_id, &d);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && (d.customer_id != customer_id || d.removed_ms != 0)))
        return ERR_INVALID_CODE;
    if (e != ERR_OK)
        return e;
    struct customer c;
    e = st->ops->customer_get(st, customer_id, &c);
    if (e == ERR_NOT_FOUND)
        return ERR_INVALID_CODE;
    if (e != ERR_OK)
        return e;
    hit->customer_id = customer_id;
    hit->device_id = device_id;
    hit->device_new = w->a.now < d.new_until_ms || w->a.now < c.cooldown_until_ms;
    sodium_memzero(&c, sizeof c); /* holds the sealed TOTP seed and password hash */
    return ERR_OK;
}

static enum err resolve_online(const struct wallet_ctx *w, const char *code, struct paycode_hit *hit)
{
    uint8_t h[32];
    code_hash(w, code, h);
    struct paycode c;
    enum err e = w->a.st->ops->paycode_get(w->a.st, h, &c);
    if (e == ERR_NOT_FOUND)
        return ERR_INVALID_CODE;
    if (e != ERR_OK)
        return e;
    /* Expired at exactly created + 60 s (paycode_use agrees: expires_ms > now). */
    if (c.used_ms != 0 || w->a.now >= c.expires_ms)
        return ERR_INVALID_CODE;
    e = paycode_hit_device(w, c.customer_id, c.device_id, hit);
    if (e == ERR_OK)
        hit->paycode_id = c.id;
    return e;
}

enum err paycode_resolve(const struct wallet_ctx *w, const char *code, struct paycode_hit *hit)
{
    memset(hit, 0, sizeof *hit);
    if (code == NULL || strnlen(code, PAYCODE_DIGITS + 1) != PAYCODE_DIGITS || !luhn_valid(code))
        return ERR_INVALID_CODE;
    enum err e = ERR_INVALID_CODE;
    if (code[0] == PAYCODE_ONLINE_PREFIX)
        e = resolve_online(w, code, hit);
    else if (code[0] == PAYCODE_OFFLINE_PREFIX)
        e = paycode_resolve_offline(w, code, hit);
    if (e != ERR_OK)
        memset(hit, 0, sizeof *hit);
    return e;
}

enum err paycode_consume(struct store *st, const struct paycode_hit *hit, int64_t now)
{
    enum err e;
    if (hit->offline) {
        e = st->ops->offline_use_insert(st, hit->device_id, hit->offline_step, now, now - PAYCODE_OFFLINE_USE_KEEP_MS);
        return e == ERR_CONFLICT ? ERR_INVALID_CODE : e;
    }
    e = st->ops->paycode_use(st, hit->paycode_id, now);
    return e == ERR_NOT_FOUND ? ERR_INVALID_CODE : e;
}
