/* payment_core.c: submitting a decided payment, refund or void with
 * everything it writes in the ledger writer's transaction
 * (payment_internal.h has the steps of the hook).
 *
 * Payment states (struct payment; the ledger holds the money):
 *
 *   (none) --payment_submit(PAY): transfer + row, one commit--> PAID
 *   PAID --REFUND (part, <= what remains)--> PAID, refunded += amount
 *   PAID --VOID (within void_window_s: all that remains)--> VOIDED
 *                                    (refunded = amount, voided = 1)
 *   each REFUND and VOID also writes a payment_refunds row naming the
 *   register that gave the money back and its store (any of the merchant's)
 *
 * Invariants:
 *  1. A payment row exists exactly when its transfer does: both are written
 *     in one savepoint of one transaction, with the code's consumption, the
 *     spending counters, the POS nonce, the mail, the merchant's webhook
 *     events and the customers' live-feed events.  So "ok" to a register means the money moved, the code is
 *     spent and the customer (and the merchant's systems) will hear of it
 *     — and a refusal means none of these happened.
 *  2. refunded never exceeds amount: the ledger refuses a reversal above
 *     what remains of its original (apply.c), in the same transaction as
 *     payment_add_refund; and refunded plus what fraud reversals paid from
 *     the fraud-loss account (ops/reversal.h) never exceeds it either (the
 *     hook checks, in that transaction).
 *  3. A retry (the same transfer key and request) changes nothing but the
 *     new request's nonce and answers with the stored payment.
 *  4. The hook runs on the single writer thread: a handful of prepared
 *     statements and one sealed mail per customer; nothing slow.
 */
#include "wallet/payment_internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "notify/outbox.h"
#include "ops/staff.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "wallet/payment_mail.h"
#include "wallet/payment_feed.h"
#include "wallet/payment_webhook.h"

char *payment_public_id(char buf[IDS_BUF], int64_t id) { return ids_format(buf, PAYMENT_ID_PREFIX, id); }

void payment_transfer_key(char out[LEDGER_KEY_MAX + 1], const char *kind, const char *scope, const char *idem_key)
{
    int n = snprintf(out, LEDGER_KEY_MAX + 1, "%s:%s:%s", kind, scope, idem_key);
    if (n >= 0 && n <= LEDGER_KEY_MAX)
        return;
    uint8_t h[24];
    char b64[sodium_base64_ENCODED_LEN(sizeof h, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    crypto_generichash(h, sizeof h, (const uint8_t *)idem_key, strlen(idem_key), NULL, 0);
    sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(out, LEDGER_KEY_MAX + 1, "%s:%s:~%s", kind, scope, b64);
}

/* ---- periods and limits -------------------------------------------------- */

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

#define JST_OFFSET_MS (9 * 3600 * 1000LL)

void payment_period(char out[PAYMENT_PERIOD_MAX + 1], const char *prefix, char unit, int64_t ms)
{
    int64_t local = ms + JST_OFFSET_MS;
    int64_t days = local >= 0 ? local / TIME_DAY_MS : (local - TIME_DAY_MS + 1) / TIME_DAY_MS;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (unit == 'm')
        snprintf(out, PAYMENT_PERIOD_MAX + 1, "%s:m:%04" PRId64 "%02d", prefix, y, m);
    else
        snprintf(out, PAYMENT_PERIOD_MAX + 1, "%s:d:%04" PRId64 "%02d%02d", prefix, y, m, d);
}

static void add_limit(struct payment_order *o, const char *prefix, char unit, int64_t ms, int64_t max,
                      const char *name)
{
    if (o->nlimits >= PAYMENT_LIMITS_MAX)
        return;
    struct payment_limit *l = &o->limits[o->nlimits++];
    payment_period(l->period, prefix, unit, ms);
    l->max = max;
    l->name = name;
    l->refusal = ERR_LIMIT_EXCEEDED;
}

void payment_limits_pay(const struct config *cfg, struct payment_order *o, int64_t now, bool device_new,
                        bool offline)
{
    o->nlimits = 0;
    int64_t day_max = cfg->pay_daily_max;
    const char *day_name = "daily";
    /* While the device cools down the day's total (wherever it was spent)
     * stays under the lower limit: a thief's fresh login cannot drain the
     * wallet before the owner reads the new-device mail. */
    if (device_new && cfg->pay_new_device_daily_max < day_max) {
        day_max = cfg->pay_new_device_daily_max;
        day_name = "new_device";
    }
    add_limit(o, PAYMENT_PERIOD_PAY, 'd', now, day_max, day_name);
    add_limit(o, PAYMENT_PERIOD_PAY, 'm', now, cfg->pay_monthly_max, "monthly");
    if (offline)
        add_limit(o, PAYMENT_PERIOD_OFFLINE, 'd', now, cfg->offline_daily_max, "offline_daily");
}

void payment_limits_qr(const struct config *cfg, struct payment_order *o, int64_t now, bool device_new,
                       bool fresh)
{
    payment_limits_pay(cfg, o, now, device_new, false);
    /* Counted with a fresh factor too, as P2P's day is: what passes the
     * threshold is the day's total, however it was reached. */
    add_limit(o, PAYMENT_PERIOD_QR, 'd', now, fresh ? INT64_MAX : cfg->pay_mfa_threshold, NULL);
    if (!fresh)
        o->limits[o->nlimits - 1].refusal = ERR_FRESH_MFA_REQUIRED;
}

void payment_limits_p2p(const struct config *cfg, struct payment_order *o, int64_t now, bool device_new,
                        bool fresh)
{
    o->nlimits = 0;
    /* The fresh second factor a new device needs is no brake right after
     * a thief's login (the login itself made it fresh): the day's transfers
     * stay under the new-device limit too. */
    if (device_new && cfg->pay_new_device_daily_max < cfg->p2p_daily_max)
        add_limit(o, PAYMENT_PERIOD_P2P, 'd', now, cfg->pay_new_device_daily_max, "new_device");
    else if (!fresh && cfg->p2p_mfa_threshold < cfg->p2p_daily_max) {
        /* In the writer's transaction, so transfers racing each other
         * cannot together pass it either. */
        add_limit(o, PAYMENT_PERIOD_P2P, 'd', now, cfg->p2p_mfa_threshold, NULL);
        o->limits[o->nlimits - 1].refusal = ERR_FRESH_MFA_REQUIRED;
    } else
        add_limit(o, PAYMENT_PERIOD_P2P, 'd', now, cfg->p2p_daily_max, "p2p_daily");
}

/* The counters p was counted in (limits of its day and month). */
static void limits_of(struct payment_order *o, const struct payment *p)
{
    o->nlimits = 0;
    if (p->kind == PAYMENT_P2P) {
        add_limit(o, PAYMENT_PERIOD_P2P, 'd', p->created_ms, INT64_MAX, "p2p_daily");
        return;
    }
    add_limit(o, PAYMENT_PERIOD_PAY, 'd', p->created_ms, INT64_MAX, "daily");
    add_limit(o, PAYMENT_PERIOD_PAY, 'm', p->created_ms, INT64_MAX, "monthly");
    if (p->offline)
        add_limit(o, PAYMENT_PERIOD_OFFLINE, 'd', p->created_ms, INT64_MAX, "offline_daily");
    if (p->kind == PAYMENT_MPM)
        add_limit(o, PAYMENT_PERIOD_QR, 'd', p->created_ms, INT64_MAX, NULL);
}

enum err payment_limits_give_back(struct store *st, const struct payment *p, int64_t amount)
{
    struct payment_order *o = calloc(1, sizeof *o);
    if (o == NULL)
        return ERR_NOMEM;
    limits_of(o, p);
    enum err e = ERR_OK;
    for (size_t i = 0; i < o->nlimits && e == ERR_OK; i++) {
        bool ok = false;
        e = st->ops->spend_add(st, p->customer_id, o->limits[i].period, -amount, INT64_MAX, &ok);
    }
    free(o);
    return e;
}


/* ---- the hook ------------------------------------------------------------ */

struct job {
    struct payment_order o;
    const uint8_t *master_key;
    const struct config *cfg;
    const struct notify_wake *wake; /* woken after a commit that queued mail; NULL: the submitter delivers */
    struct ledger_writer *writer;   /* for the nonce of a refused request (spend_nonce) */
    /* Who asked, for a replay's log line (written on the completer thread). */
    char request_id[IDS_BUF];
    char client_addr[CLIENT_ADDR_MAX + 1];
    payment_done_fn done;
    void *ctx;
    /* Set by the hook (writer thread), read by on_done (completer thread):
     * the writer's queue mutex orders the two. */
    const char *bad;
    bool mailed;
    struct payment_receipt r;
    /* A refusal waiting for its nonce's own commit (spend_nonce). */
    enum err refused;
    const char *refused_bad;
};

static enum err record_nonce(struct store *st, const struct payment_order *o)
{
    if (o->nonce[0] == '\0')
        return ERR_OK;
    return pos_nonce_record(st, o->nonce_key_id, o->nonce, o->now);
}

/* Steps 4 (limits): every counter or none (the savepoint undoes the others). */
static enum err count(struct job *j, struct store *st, int64_t amount)
{
    const struct payment_order *o = &j->o;
    for (size_t i = 0; i < o->nlimits; i++) {
        bool ok = false;
        enum err e = st->ops->spend_add(st, o->p.customer_id, o->limits[i].period, amount,
                                        o->limits[i].max, &ok);
        if (e != ERR_OK)
            return e;
        if (!ok) {
            j->bad = o->limits[i].name;
            return o->limits[i].refusal;
        }
    }
    return ERR_OK;
}

/* Step 6.  A mail that cannot be queued fails the payment: "every debit is
 * notified" is a promise, not a best effort. */
static enum err mail(struct job *j, struct store *st, const struct ledger_balances *after)
{
    const struct payment_order *o = &j->o;
    struct auth_ctx a = {.st = st, .master_key = j->master_key, .cfg = j->cfg, .now = o->now, .client_addr = ""};
    enum err e = ERR_OK;
    if (o->op == PAYMENT_OP_PAY && o->p.kind == PAYMENT_P2P) {
        if (o->payer_email[0])
            e = payment_mail_p2p_sent(&a, o->payer_email, o->x.amount, o->payee_email, o->message, after->debit);
        if (e == ERR_OK && o->payee_email[0])
            e = payment_mail_p2p_received(&a, o->payee_email, o->x.amount, o->payer_email, o->message,
                                          after->credit);
    } else if (o->payer_email[0]) {
        if (o->op == PAYMENT_OP_PAY)
            e = payment_mail_paid(&a, o->payer_email, o->x.amount, o->counterparty, o->p.offline != 0,
                                  after->debit);
        else
            e = payment_mail_refunded(&a, o->payer_email, j->r.refund_amount, o->counterparty,
                                      o->op == PAYMENT_OP_VOID, after->credit);
    }
    if (e == ERR_OK)
        j->mailed = true;
    return e;
}

/* Step 5b: the waiting row, once (its guard is the UPDATE's status). */
static enum err pending_made(struct job *j, struct store *st, int64_t payment_id)
{
    const struct payment_order *o = &j->o;
    enum err e = st->ops->pending_op_decide(st, o->pending.id, o->pending.from, o->pending.to, o->now,
                                            o->pending.staff_id, payment_id, "", o->pending.live_at);
    if (e == ERR_NOT_FOUND)
        e = ERR_CONFLICT;
    if (e != ERR_OK) {
        if (e == ERR_CONFLICT)
            j->bad = "status";
        return e;
    }
    char actor[IDS_BUF], oid[IDS_BUF], pid[IDS_BUF];
    if (o->pending.staff_id != 0)
        ids_format(actor, STAFF_ID_PREFIX, o->pending.staff_id);
    else
        audit_customer_actor(actor, o->p.customer_id);
    ids_format(oid, o->p.kind == PAYMENT_CPM ? PENDING_CHARGE_ID_PREFIX : PENDING_REVIEW_ID_PREFIX, o->pending.id);
    return audit_record(st, o->now, actor, o->p.customer_id, o->pending.action, AUDIT_SUCCESS, "", 0,
                        json_pack("{s:s, s:s, s:I}", "pending", oid, "payment",
                                  ids_format(pid, PAYMENT_ID_PREFIX, payment_id), "amount", (json_int_t)o->x.amount));
}

static enum err hook_pay(struct job *j, struct store *st, const struct ledger_transfer *x,
                         const struct ledger_balances *after, bool replayed)
{
    const struct payment_order *o = &j->o;
    enum err e;
    j->r.balance_after = after->debit;
    if (replayed && o->pending.id != 0) {
        j->bad = "status";
        return ERR_CONFLICT; /* its key paid already: it was made */
    }
    if (replayed) {
        e = st->ops->payment_get(st, x->id, &j->r.p);
        if (e == ERR_NOT_FOUND)
            return ERR_IDEMPOTENCY_CONFLICT; /* the key moved money, but not as a payment */
        if (e != ERR_OK)
            return e;
        if (j->r.p.kind != o->p.kind || strcmp(j->r.p.items, o->p.items) != 0)
            return ERR_IDEMPOTENCY_CONFLICT;
        if (j->r.p.balance_after >= 0) /* the first receipt's, not the wallet's now */
            j->r.balance_after = j->r.p.balance_after;
        return ERR_OK;
    }
    if (o->session_id != 0 && (e = session_still_live(st, o->session_id, o->p.customer_id, o->now)) != ERR_OK)
        return e;
    if (o->consume && (e = paycode_consume(st, &o->hit, o->now)) != ERR_OK) {
        if (e == ERR_INVALID_CODE)
            j->bad = "code";
        return e;
    }
    if ((e = count(j, st, x->amount)) != ERR_OK)
        return e;
    j->r.p = o->p;
    j->r.p.id = x->id;
    j->r.p.amount = x->amount;
    j->r.p.refunded = 0;
    j->r.p.voided = 0;
    j->r.p.balance_after = after->debit;
    e = st->ops->payment_insert(st, &j->r.p);
    if (e == ERR_CONFLICT)
        return ERR_IDEMPOTENCY_CONFLICT;
    if (e != ERR_OK)
        return e;
    if (j->o.gate.pending && (e = risk_gate_record(st, o->now, &j->o.gate, o->x.key)) != ERR_OK)
        return e;
    if (o->pending.id != 0 && (e = pending_made(j, st, x->id)) != ERR_OK)
        return e;
    if ((e = payment_webhook_paid(st, o->now, &j->r.p, o->counterparty)) != ERR_OK)
        return e;
    e = payment_feed_paid(st, o->now, &j->r.p, o->p.kind == PAYMENT_P2P ? o->payee_email : o->counterparty,
                          o->payer_email, after->debit, after->credit);
    if (e != ERR_OK)
        return e;
    return mail(j, st, after);
}

static enum err hook_refund(struct job *j, struct store *st, const struct ledger_transfer *x,
                            const struct ledger_balances *after, bool replayed)
{
    const struct payment_order *o = &j->o;
    bool is_void = o->op == PAYMENT_OP_VOID;
    enum err e;
    j->r.balance_after = after->credit; /* a reversal credits the wallet */
    j->r.refund_id = x->id;
    j->r.refund_amount = x->amount;
    j->r.refund_created_ms = x->created_ms;
    if (x->ref_id != o->p.id)
        return ERR_IDEMPOTENCY_CONFLICT;
    if (!replayed) {
        /* The ledger bounds reversals of the original; a fraud reversal
         * from the fraud-loss account is not one, so it is checked here,
         * in the transaction (ops/reversal.c checks the other way). */
        struct payment cur;
        int64_t comp = 0;
        e = st->ops->payment_get(st, o->p.id, &cur);
        if (e == ERR_NOT_FOUND)
            return ERR_PAYMENT_NOT_FOUND;
        if (e == ERR_OK)
            e = st->ops->reversal_compensated(st, o->p.id, &comp);
        if (e != ERR_OK)
            return e;
        if (x->amount > cur.amount - cur.refunded - comp) {
            j->bad = "amount";
            return ERR_REVERSAL_EXCEEDS_ORIGINAL;
        }
        e = st->ops->payment_add_refund(st, o->p.id, x->amount, is_void);
        if (e == ERR_OK) {
            struct payment_refund rr = {.id = x->id,
                                        .payment_id = o->p.id,
                                        .customer_id = o->p.customer_id,
                                        .store_id = o->by_store_id,
                                        .terminal_id = o->by_terminal_id,
                                        .amount = x->amount,
                                        .created_ms = o->now};
            e = st->ops->payment_refund_insert(st, &rr);
        }
        if (e == ERR_NOT_FOUND)
            return ERR_PAYMENT_NOT_FOUND;
        if (e == ERR_OK)
            e = payment_limits_give_back(st, &o->p, x->amount);
        if (e == ERR_OK && j->o.gate.pending)
            e = risk_gate_record(st, o->now, &j->o.gate, o->x.key);
        if (e != ERR_OK)
            return e;
    }
    e = st->ops->payment_get(st, o->p.id, &j->r.p);
    if (e == ERR_NOT_FOUND)
        return ERR_PAYMENT_NOT_FOUND;
    if (e != ERR_OK || replayed)
        return e;
    e = payment_webhook_reversed(st, o->now, &j->r.p, o->counterparty, x->id, x->amount, x->created_ms, is_void);
    if (e == ERR_OK)
        e = payment_feed_refunded(st, o->now, &j->r.p, o->counterparty, x->amount, is_void, after->credit);
    if (e != ERR_OK)
        return e;
    return mail(j, st, after);
}

static enum err hook(void *ctx, struct store *st, const struct ledger_transfer *x,
                     const struct ledger_balances *after, size_t n, bool replayed)
{
    struct job *j = ctx;
    j->bad = NULL;
    j->mailed = false;
    if (n != 1)
        return ERR_INTERNAL;
    enum err e = record_nonce(st, &j->o);
    if (e != ERR_OK)
        return e;
    return j->o.op == PAYMENT_OP_PAY ? hook_pay(j, st, x, after, replayed) : hook_refund(j, st, x, after, replayed);
}

/* ---- submitting ---------------------------------------------------------- */

/* The parameter a ledger refusal is about. */
static const char *ledger_bad(enum err e)
{
    switch (e) {
    case ERR_INSUFFICIENT_FUNDS:
    case ERR_REVERSAL_EXCEEDS_ORIGINAL:
    case ERR_OVERFLOW:
        return "amount";
    case ERR_IDEMPOTENCY_CONFLICT:
        return "Idempotency-Key";
    default:
        return NULL;
    }
}

static void finish(struct job *j)
{
    sodium_memzero(j, sizeof *j);
    free(j);
}

/* The nonce of a refused request, alone in a group of its own (n = 0): the
 * refusal rolled back the group that held it, and a request refused now
 * (funds, a freeze, a switch, a limit) must not be replayable once the
 * reason is gone.  Seen already: nothing to do. */
static enum err nonce_hook(void *ctx, struct store *st, const struct ledger_transfer *x,
                           const struct ledger_balances *after, size_t n, bool replayed)
{
    (void)x, (void)after, (void)n, (void)replayed;
    struct job *j = ctx;
    enum err e = record_nonce(st, &j->o);
    return e == ERR_INVALID_SIGNATURE ? ERR_OK : e;
}

/* The refusal is answered only once its nonce is durable (or could not be
 * recorded: the answer is the refusal all the same). */
static void nonce_done(void *ctx, const struct ledger_result *res)
{
    struct job *j = ctx;
    if (res->err != ERR_OK)
        log_event(LOG_WARN, "pos_nonce_not_recorded",
                  json_pack("{s:s, s:s}", "terminal_kid", j->o.nonce_key_id, "error", err_symbol(res->err)));
    j->done(j->ctx, j->refused, j->refused_bad, NULL);
    finish(j);
}

/* From the completer thread (writer.h: callbacks may submit).  true: the
 * refusal is answered by nonce_done. */
static bool spend_nonce(struct job *j, enum err e, const char *bad)
{
    if (j->o.nonce[0] == '\0' || j->writer == NULL || e == ERR_INVALID_SIGNATURE)
        return false;
    j->refused = e;
    j->refused_bad = bad;
    return ledger_writer_submit_hook(j->writer, nonce_hook, j, nonce_done, j) == ERR_OK;
}

static void on_done(void *ctx, const struct ledger_result *res)
{
    struct job *j = ctx;
    /* The windows learn what happened (a few µs; no store). */
    if (res->err == ERR_OK && !res->replayed)
        risk_gate_observe(j->o.risk, &j->o.gate, RISK_DONE);
    else if (res->err != ERR_OK)
        risk_gate_observe(j->o.risk, &j->o.gate, RISK_FAILED);
    else
        risk_gate_release(j->o.risk, &j->o.gate); /* a retry: counted when it paid */
    if (res->err == ERR_OK) {
        j->r.replayed = res->replayed;
        if (j->o.p.kind != PAYMENT_P2P)
            snprintf(j->r.store_name, sizeof j->r.store_name, "%s", j->o.counterparty);
        if (j->mailed && !res->replayed && j->wake && j->wake->wake)
            j->wake->wake(j->wake->ctx);
        j->done(j->ctx, ERR_OK, NULL, &j->r);
    } else {
        /* The hook's own refusal names its parameter; the ledger's are
         * about the amount or the key. */
        const char *bad = res->failed_index == res->n && j->bad ? j->bad : ledger_bad(res->err);
        if (res->err == ERR_INVALID_SIGNATURE) { /* a replay */
            bad = NULL;
            pos_log_refused(res->err, "replayed_nonce", j->o.nonce_key_id, j->request_id[0] ? j->request_id : NULL,
                            j->client_addr[0] ? j->client_addr : NULL);
        }
        if (spend_nonce(j, res->err, bad))
            return;
        j->done(j->ctx, res->err, bad, NULL);
    }
    finish(j);
}

static enum err submit(const struct wallet_ctx *w, const struct payment_order *o, bool wake,
                       payment_done_fn done, void *ctx)
{
    struct job *j = NULL;
    enum err e = o->op < PAYMENT_OP_PAY || o->op > PAYMENT_OP_VOID || o->nlimits > PAYMENT_LIMITS_MAX ? ERR_INVALID_PARAM
                 : (j = calloc(1, sizeof *j)) == NULL                                                  ? ERR_NOMEM
                                                                                                        : ERR_OK;
    if (e != ERR_OK) {
        struct risk_gate g = o->gate; /* nothing happened */
        risk_gate_release(o->risk, &g);
        return e;
    }
    j->o = *o;
    j->master_key = w->a.master_key;
    j->cfg = w->a.cfg;
    j->wake = wake ? w->a.wake : NULL;
    j->writer = w->writer;
    snprintf(j->request_id, sizeof j->request_id, "%s", w->a.request_id ? w->a.request_id : "");
    snprintf(j->client_addr, sizeof j->client_addr, "%s", w->a.client_addr ? w->a.client_addr : "");
    j->done = done;
    j->ctx = ctx;
    e = ledger_writer_submit_hooked(w->writer, &j->o.x, 1, hook, j, on_done, j);
    if (e != ERR_OK) {
        risk_gate_release(j->o.risk, &j->o.gate); /* nothing happened */
        free(j);
    }
    return e;
}

enum err payment_submit(const struct wallet_ctx *w, const struct payment_order *o, payment_done_fn done,
                        void *ctx)
{
    return submit(w, o, true, done, ctx);
}

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    enum err e;
    const char *bad;
    struct payment_receipt *out;
};

static void wake_waiter(void *ctx, enum err e, const char *bad, const struct payment_receipt *r)
{
    struct waiter *wt = ctx;
    if (e == ERR_OK)
        *wt->out = *r;
    pthread_mutex_lock(&wt->mu);
    wt->e = e;
    wt->bad = bad;
    wt->done = true;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

enum err payment_submit_wait(const struct wallet_ctx *w, const struct payment_order *o,
                             struct payment_receipt *out, const char **bad)
{
    struct waiter wt = {.out = out};
    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cv, NULL);
    memset(out, 0, sizeof *out);
    enum err e = submit(w, o, false, wake_waiter, &wt);
    if (e == ERR_OK) {
        pthread_mutex_lock(&wt.mu);
        while (!wt.done)
            pthread_cond_wait(&wt.cv, &wt.mu);
        pthread_mutex_unlock(&wt.mu);
        e = wt.e;
        if (bad)
            *bad = wt.bad;
    }
    pthread_mutex_destroy(&wt.mu);
    pthread_cond_destroy(&wt.cv);
    if (e == ERR_OK && !out->replayed) {
        /* Like auth_end: deliver on this thread's connection, or ask the
         * deliverer.  A delivery failure leaves the mail queued. */
        if (w->a.mail)
            (void)notify_deliver_pending(w->a.st, w->a.master_key, w->a.mail, w->a.now, NULL);
        else if (w->a.wake && w->a.wake->wake)
            w->a.wake->wake(w->a.wake->ctx);
    }
    return e;
}
