/* paycode.c: the one-time payment code (paycode.h), and resolving and
 * consuming any presented code.
 *
 *   paycode_new --> LIVE --paycode_consume (in the payment's transaction)--> USED
 *                    |
 *                    +--now >= expires_ms (created + 60 s)--> EXPIRED (purged by a later insert)
 *                    +--its device removed, a session of its device revoked, a freeze,
 *                       reset, password change... (paycode.h)--> DELETED (store paycodes_revoke)
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
 *     of its own, and none is handed out before it is durable.  Nothing
 *     waits for it: the code reaches its caller from the writer's completer
 *     (paycode_issue), so no thread is held per code in flight.
 */
#include "wallet/paycode_internal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth/secret_hash.h"
#include "util/log.h"
#include "util/luhn.h"
#include "util/timeutil.h"

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
    luhn_random_digits(code + 1, PAYCODE_DIGITS - 2);
    code[PAYCODE_DIGITS - 1] = (char)('0' + luhn_check_digit(code, PAYCODE_DIGITS - 1));
    code[PAYCODE_DIGITS] = '\0';
}

/* ---- issuing through the writer: a hook alone ---------------------------- */

/* One issue in flight: lives from paycode_issue until its done() returned. */
struct issue {
    struct paycode c; /* the row the hook inserts */
    int64_t session_id;
    char code[PAYCODE_DIGITS + 1];
    int64_t now;
    int tries;
    const uint8_t *master_key;
    struct ledger_writer *writer;
    paycode_issued_fn done;
    void *ctx;
};

static void issue_free(struct issue *is)
{
    sodium_memzero(is, sizeof *is);
    free(is);
}

static enum err issue_hook(void *ctx, struct store *st, const struct ledger_transfer *x,
                           const struct ledger_balances *after, size_t n, bool replayed)
{
    (void)x;
    (void)after;
    (void)n;
    (void)replayed;
    struct issue *is = ctx;
    /* The session was checked on the HTTP thread; a revocation committed
     * since (it deletes the session's unused codes) must not be followed
     * by a code that outlives it. */
    enum err e = session_still_live(st, is->session_id, is->c.customer_id, is->now);
    return e == ERR_OK ? st->ops->paycode_insert(st, &is->c, is->now) : e;
}

static void issue_committed(void *ctx, const struct ledger_result *r);

/* A fresh code for is, submitted: the group is the hook alone. */
static enum err issue_submit(struct issue *is)
{
    new_code(is->code);
    secret_hash(is->master_key, SECRET_PAYCODE, is->code, PAYCODE_DIGITS, is->c.code_hash);
    is->tries++;
    return ledger_writer_submit_hook(is->writer, issue_hook, is, issue_committed, is);
}

/* On the completer thread, once the code's row is durable (or refused). */
static void issue_committed(void *ctx, const struct ledger_result *r)
{
    struct issue *is = ctx;
    enum err e = r->err;
    /* A hash collision with a live code (1 in 10^16 a code): another code
     * beats ever handing two customers the same one. */
    if (e == ERR_CONFLICT && is->tries < ISSUE_TRIES && issue_submit(is) == ERR_OK)
        return;
    if (e == ERR_CONFLICT)
        e = ERR_INTERNAL;
    is->done(is->ctx, e, e == ERR_OK ? is->code : NULL, is->c.expires_ms);
    issue_free(is);
}

/* The session's device, active and the customer's: else ERR_UNAUTHENTICATED
 * (the session authenticated, but its device has just been removed).  On
 * the HTTP path this reads in the session's snapshot, so it sees what
 * authentication saw; a device removed after that is caught when the code
 * is used (paycode_hit_device). */
static enum err require_device(const struct wallet_ctx *w, const struct auth_session *cur)
{
    struct customer_device d;
    enum err e = w->a.st->ops->device_get(w->a.st, cur->device_id, &d);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && (d.customer_id != cur->customer_id || d.removed_ms != 0)))
        return ERR_UNAUTHENTICATED;
    return e;
}

enum err paycode_issue(const struct wallet_ctx *w, const struct auth_session *cur, paycode_issued_fn done,
                       void *ctx)
{
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e == ERR_OK)
        e = require_device(w, cur);
    if (e != ERR_OK)
        return e;
    if (w->writer == NULL)
        return ERR_INTERNAL;
    struct issue *is = calloc(1, sizeof *is);
    if (is == NULL)
        return ERR_NOMEM;
    *is = (struct issue){
        .c = {.customer_id = cur->customer_id,
              .device_id = cur->device_id,
              .created_ms = w->a.now,
              .expires_ms = w->a.now + PAYCODE_TTL_MS},
        .session_id = cur->id,
        .now = w->a.now,
        .master_key = w->a.master_key,
        .writer = w->writer,
        .done = done,
        .ctx = ctx,
    };
    e = issue_submit(is);
    if (e != ERR_OK)
        issue_free(is);
    return e;
}

enum err paycode_load(struct store *st, int64_t now_ms)
{
    size_t n = 0;
    int64_t t0 = time_now_ms();
    enum err e = st->ops->paycodes_load(st, now_ms, &n);
    if (e == ERR_OK)
        log_event(LOG_INFO, "paycodes_loaded",
                  json_pack("{s:I, s:I}", "codes", (json_int_t)n, "ms", (json_int_t)(time_now_ms() - t0)));
    return e;
}

/* paycode_new: paycode_issue, waited for. */
struct issue_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    enum err err;
    char *code;
    int64_t expires_ms;
};

static void issue_waited(void *ctx, enum err e, const char *code, int64_t expires_ms)
{
    struct issue_wait *iw = ctx;
    pthread_mutex_lock(&iw->mu);
    iw->err = e;
    if (e == ERR_OK) {
        memcpy(iw->code, code, PAYCODE_DIGITS + 1);
        iw->expires_ms = expires_ms;
    }
    iw->done = true;
    pthread_cond_signal(&iw->cv);
    pthread_mutex_unlock(&iw->mu);
}

enum err paycode_new(const struct wallet_ctx *w, const struct auth_session *cur, char code[PAYCODE_DIGITS + 1],
                     int64_t *expires_ms)
{
    code[0] = '\0';
    struct issue_wait iw = {.code = code};
    pthread_mutex_init(&iw.mu, NULL);
    pthread_cond_init(&iw.cv, NULL);
    enum err e = paycode_issue(w, cur, issue_waited, &iw);
    if (e == ERR_OK) {
        pthread_mutex_lock(&iw.mu);
        while (!iw.done)
            pthread_cond_wait(&iw.cv, &iw.mu);
        pthread_mutex_unlock(&iw.mu);
        e = iw.err;
    }
    pthread_mutex_destroy(&iw.mu);
    pthread_cond_destroy(&iw.cv);
    if (e == ERR_OK)
        *expires_ms = iw.expires_ms;
    return e;
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
        e = st->ops->offline_use_insert(st, hit->device_id, hit->offline_id, hit->offline_step, now,
                                        now - PAYCODE_OFFLINE_USE_KEEP_MS);
        return e == ERR_CONFLICT || e == ERR_NOT_FOUND ? ERR_INVALID_CODE : e;
    }
    e = st->ops->paycode_use(st, hit->paycode_id, now);
    return e == ERR_NOT_FOUND ? ERR_INVALID_CODE : e;
}
