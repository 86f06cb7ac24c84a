/* review.c: held payments and transfers wait for staff (review.h has the
 * states and invariants). */
#include "wallet/review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "auth/txn.h"
#include "merchant/merchant.h"
#include "notify/outbox.h"
#include "ops/freeze.h"
#include "ops/killswitch.h"
#include "ops/staff.h"
#include "ops/staff_session.h"
#include "util/email.h"
#include "util/json.h"
#include "util/timeutil.h"
#include "util/text.h"
#include "wallet/pay_customer_internal.h"
#include "wallet/payment_internal.h"
#include "wallet/topup.h"

static void set_bad(const char **bad, const char *v)
{
    if (bad)
        *bad = v;
}

static const char *kind_name(int kind) { return kind == PAYMENT_P2P ? "p2p" : "mpm"; }

static enum err note(struct store *st, int64_t now, const char *actor, const char *addr, const struct pending_op *p,
                     const char *action, enum audit_outcome outcome, json_t *extra)
{
    char id[IDS_BUF];
    json_t *d = json_pack("{s:s, s:s, s:I}", "review", ids_format(id, PENDING_REVIEW_ID_PREFIX, p->id), "kind",
                          kind_name(p->p.kind), "amount", (json_int_t)p->p.amount);
    if (d && extra)
        json_object_update(d, extra);
    json_decref(extra);
    return audit_record(st, now, actor, p->p.customer_id, action, outcome, addr, 0, d);
}

static enum err payer_email(struct store *st, int64_t customer_id, char out[EMAIL_MAX + 1])
{
    struct customer c;
    enum err e = st->ops->customer_get(st, customer_id, &c);
    if (e == ERR_OK)
        snprintf(out, EMAIL_MAX + 1, "%s", c.email);
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return e;
}

/* What the customer's mail calls the other side. */
static void other_side(const struct payment_order *o, char *out, size_t n)
{
    if (o->p.kind == PAYMENT_P2P) {
        char masked[EMAIL_MASKED_MAX + 1];
        email_mask(o->payee_email, masked);
        snprintf(out, n, "%s", masked);
    } else {
        snprintf(out, n, "%s", o->counterparty);
    }
}

/* ---- held ------------------------------------------------------------------ */

enum err review_hold(const struct wallet_ctx *w, const struct payment_order *o, bool device_new,
                     struct pending_op *out)
{
    struct store *st = w->a.st;
    memset(out, 0, sizeof *out);
    snprintf(out->status, sizeof out->status, "%s", PENDING_HELD);
    snprintf(out->xfer_key, sizeof out->xfer_key, "%s", o->x.key);
    out->p = o->p;
    out->p.id = 0;
    out->device_new = device_new;
    out->expires_ms = w->a.now + w->a.cfg->review_hold_expiry_s * 1000;
    snprintf(out->message, sizeof out->message, "%s", o->message);
    char who[EMAIL_MAX + MERCHANT_NAME_MAX + 2], body[1024], actor[IDS_BUF], until[TIME_ISO_BUF];
    other_side(o, who, sizeof who);
    snprintf(body, sizeof body,
             "Your %s of %lld yen to %s is held for a check by our fraud team, for your account's protection.\n"
             "Nothing has been paid. You will hear from us when it is decided; you need not send it again.\n"
             "If it is not decided by %s, it lapses and nothing is paid.\n\n"
             "If you did not ask for this, freeze your account in the app, change your password and contact "
             "support.",
             o->p.kind == PAYMENT_P2P ? "transfer" : "payment", (long long)o->p.amount, who,
             time_iso8601(until, out->expires_ms));

    enum err e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    e = st->ops->pending_op_insert(st, out);
    bool taken = e == ERR_CONFLICT;
    if (e == ERR_OK)
        e = note(st, w->a.now, audit_customer_actor(actor, o->p.customer_id), w->a.client_addr, out, "review_held",
                 AUDIT_SUCCESS, NULL);
    if (e == ERR_OK)
        e = notify_enqueue(st, w->a.master_key, w->a.now, o->payer_email, "Your payment is held for a check", body);
    e = auth_end(&w->a, e == ERR_OK, e);
    if (!taken)
        return e;
    /* A retry of the held request: the row as it is. */
    struct pending_op cur;
    e = st->ops->pending_op_get_by_key(st, o->x.key, &cur);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && (cur.p.kind != o->p.kind || cur.p.amount != o->p.amount ||
                                               cur.p.customer_id != o->p.customer_id ||
                                               cur.p.store_id != o->p.store_id ||
                                               cur.p.counterparty_id != o->p.counterparty_id ||
                                               strcmp(cur.message, o->message) != 0)))
        return ERR_IDEMPOTENCY_CONFLICT;
    if (e == ERR_OK)
        *out = cur;
    return e;
}

enum err review_kept(struct store *st, const char *key, bool *kept)
{
    struct pending_op p;
    enum err e = st->ops->pending_op_get_by_key(st, key, &p);
    *kept = e == ERR_OK && p.p.kind != PAYMENT_CPM;
    return e == ERR_NOT_FOUND ? ERR_OK : e;
}

/* ---- expiry, decided by whoever looks first ------------------------------- */

/* What the lapse mail calls the other side: the store's name, or the
 * recipient's masked address ("" if it cannot be read: the mail goes
 * without it). */
static void other_side_of(struct store *st, const struct pending_op *p, char *out, size_t n)
{
    out[0] = '\0';
    if (p->p.kind == PAYMENT_P2P) {
        struct customer c;
        if (st->ops->customer_get(st, p->p.counterparty_id, &c) == ERR_OK) {
            char masked[EMAIL_MASKED_MAX + 1];
            email_mask(c.email, masked);
            snprintf(out, n, " to %s", masked);
        }
        sodium_memzero(&c, sizeof c);
    } else {
        struct merchant_store s;
        if (st->ops->mstore_get(st, p->p.store_id, &s) == ERR_OK)
            snprintf(out, n, " to %s", s.name);
    }
}

/* Held and past expires_ms: expired, once (the UPDATE's "status = 'held'"
 * guard: a racing approval, rejection or other reader decides first or
 * not at all), with the audit entry review_expired (actor "system") and
 * the customer's mail in the same transaction; then *p as it is now. */
static enum err settle(const struct wallet_ctx *w, struct pending_op *p, bool *expired)
{
    if (expired)
        *expired = false;
    if (strcmp(p->status, PENDING_HELD) != 0 || p->expires_ms == 0 || w->a.now < p->expires_ms)
        return ERR_OK;
    struct store *st = w->a.st;
    char email[EMAIL_MAX + 1], who[EMAIL_MAX + MERCHANT_NAME_MAX + 8], body[768], held_at[TIME_ISO_BUF];
    enum err e = payer_email(st, p->p.customer_id, email);
    if (e != ERR_OK)
        return e;
    other_side_of(st, p, who, sizeof who);
    snprintf(body, sizeof body,
             "Your held %s of %lld yen%s (held for a check on %s) has lapsed: it was not decided in time, so "
             "it was not made.\n"
             "Nothing was taken; your balance is unchanged. If you still want to make it, send it again.",
             p->p.kind == PAYMENT_P2P ? "transfer" : "payment", (long long)p->p.amount, who,
             time_iso8601(held_at, p->p.created_ms));
    if ((e = auth_begin(&w->a)) != ERR_OK)
        return e;
    e = st->ops->pending_op_decide(st, p->id, PENDING_HELD, PENDING_EXPIRED, w->a.now, 0, 0, "timeout", 0);
    bool mine = e == ERR_OK;
    char until[TIME_ISO_BUF];
    if (e == ERR_OK)
        e = note(st, w->a.now, AUDIT_ACTOR_SYSTEM, "", p, "review_expired", AUDIT_FAILURE,
                 json_pack("{s:s}", "expired_at", time_iso8601(until, p->expires_ms)));
    if (e == ERR_OK)
        e = notify_enqueue(st, w->a.master_key, w->a.now, email, "Your held payment has lapsed", body);
    e = auth_end(&w->a, e == ERR_OK, e);
    sodium_memzero(email, sizeof email);
    if (e == ERR_CONFLICT)
        e = ERR_OK; /* decided meanwhile: approved, rejected, or expired by another reader */
    if (e != ERR_OK)
        return e;
    if (expired)
        *expired = mine;
    return st->ops->pending_op_get(st, p->id, p);
}

enum err review_sweep(const struct wallet_ctx *w, size_t *expired)
{
    if (expired)
        *expired = 0;
    struct pending_op *ps = calloc(REVIEW_SWEEP_BATCH, sizeof *ps);
    if (ps == NULL)
        return ERR_NOMEM;
    size_t n = 0;
    enum err e = w->a.st->ops->pending_op_lapsed(w->a.st, PENDING_HELD, w->a.now, REVIEW_SWEEP_BATCH, ps, &n);
    /* One that cannot be settled now (its payer unreadable) must not keep
     * the others waiting: the first failure is returned after the rest. */
    enum err first = e;
    for (size_t i = 0; e == ERR_OK && i < n; i++) {
        bool mine = false;
        if (ps[i].p.kind == PAYMENT_CPM)
            continue; /* a register's charge: pending_charge settles its own */
        enum err one = settle(w, &ps[i], &mine);
        if (one == ERR_OK && mine && expired)
            (*expired)++;
        if (first == ERR_OK)
            first = one;
    }
    free(ps);
    return first;
}

/* ---- staff ----------------------------------------------------------------- */

enum err review_get(const struct wallet_ctx *w, int64_t id, struct pending_op *out)
{
    enum err e = w->a.st->ops->pending_op_get(w->a.st, id, out);
    if (e == ERR_OK && out->p.kind == PAYMENT_CPM)
        return ERR_NOT_FOUND; /* a register's charge is not a review */
    return e == ERR_OK ? settle(w, out, NULL) : e;
}

enum err review_list(const struct wallet_ctx *w, const char *status, int64_t before_id, size_t max,
                     struct pending_op *out, size_t *n)
{
    *n = 0;
    if (status == NULL)
        status = "";
    if (strcmp(status, "pending") == 0)
        status = PENDING_HELD;
    if (status[0] && strcmp(status, PENDING_HELD) != 0 && strcmp(status, PENDING_APPROVED) != 0 &&
        strcmp(status, PENDING_REJECTED) != 0 && strcmp(status, PENDING_EXPIRED) != 0)
        return ERR_INVALID_PARAM;
    if (max > REVIEW_LIST_MAX)
        max = REVIEW_LIST_MAX;
    /* Filtered on the status as of now (a lapsed one is expired, not
     * held), then each lapsed one recorded as such (its mail with it). */
    enum err e = w->a.st->ops->pending_op_list(w->a.st, false, 0, status, before_id, w->a.now, max, out, n);
    for (size_t i = 0; e == ERR_OK && i < *n; i++)
        e = settle(w, &out[i], NULL);
    return e;
}

/* The order that makes p now, as mpm_pay or p2p_send would have: the same
 * key, accounts and metadata, the checks of the moment. */
static enum err order_of(const struct wallet_ctx *w, const struct pending_op *p, int64_t staff_id,
                         struct payment_order *o, const char **bad, struct killswitch *sw)
{
    struct store *st = w->a.st;
    memset(o, 0, sizeof *o);
    int64_t wallet = 0, payee_created_ms = 0;
    enum err e = freeze_check(st, p->p.customer_id);
    if (e == ERR_OK)
        e = wallet_account(st, p->p.customer_id, &wallet);
    if (e == ERR_OK)
        e = payer_email(st, p->p.customer_id, o->payer_email);
    if (e != ERR_OK)
        return e;
    o->op = PAYMENT_OP_PAY;
    o->now = w->a.now;
    o->p = p->p;
    o->p.id = 0;
    o->p.created_ms = w->a.now; /* paid now */
    snprintf(o->x.key, sizeof o->x.key, "%s", p->xfer_key);
    o->x.debit_account = wallet;
    o->x.amount = p->p.amount;
    if (p->p.kind == PAYMENT_P2P) {
        static const char *const switches[] = {KILLSWITCH_P2P, NULL};
        if ((e = killswitch_check(st, switches, sw)) != ERR_OK)
            return e;
        struct customer r;
        e = st->ops->customer_get(st, p->p.counterparty_id, &r);
        if (e == ERR_OK) {
            snprintf(o->payee_email, sizeof o->payee_email, "%s", r.email);
            payee_created_ms = r.created_ms;
        }
        sodium_memzero(&r, sizeof r);
        if (e == ERR_OK && freeze_check(st, p->p.counterparty_id) == ERR_ACCOUNT_FROZEN)
            e = ERR_RECIPIENT_NOT_FOUND;
        if (e == ERR_NOT_FOUND || e == ERR_RECIPIENT_NOT_FOUND) {
            set_bad(bad, "to");
            return ERR_RECIPIENT_NOT_FOUND;
        }
        if (e == ERR_OK)
            e = wallet_account(st, p->p.counterparty_id, &o->x.credit_account);
        if (e == ERR_OK)
            e = p2p_metadata(p->p.customer_id, p->p.counterparty_id, p->message, o->x.metadata);
        if (e != ERR_OK)
            return e;
        snprintf(o->x.kind, sizeof o->x.kind, "%s", PAYMENT_XFER_P2P);
        snprintf(o->message, sizeof o->message, "%s", p->message);
        payment_limits_p2p(w->a.cfg, o, w->a.now, p->device_new != 0, true); /* staff approved it */
    } else {
        struct merchant_store s;
        if ((e = st->ops->mstore_get(st, p->p.store_id, &s)) != ERR_OK)
            return e;
        if (!s.active)
            return ERR_STORE_NOT_FOUND;
        if ((e = killswitch_check_scoped(st, KILLSWITCH_PAYMENTS, s.merchant_id, s.id, sw)) != ERR_OK)
            return e;
        if ((e = payment_store_metadata(&s, o->x.metadata)) != ERR_OK)
            return e;
        o->x.credit_account = s.payable_account;
        snprintf(o->x.kind, sizeof o->x.kind, "%s", PAYMENT_XFER_PAYMENT);
        snprintf(o->counterparty, sizeof o->counterparty, "%s", s.name);
        payment_limits_qr(w->a.cfg, o, w->a.now, p->device_new != 0, true); /* staff approved it */
    }
    /* The decision (hold) is on file since the request; the engine's
     * windows learn only what was made (RISK_DONE from the completer). */
    if (w->risk && risk_gate_customer(w, &o->gate, p->p.kind == PAYMENT_P2P ? RISK_P2P : RISK_PAYMENT,
                                      p->p.customer_id, p->p.device_id) == ERR_OK) {
        o->gate.ev.amount = p->p.amount;
        o->gate.ev.counterparty_id = p->p.counterparty_id;
        /* A new recipient's inflow counts once the money moves
         * (mule_pass_through); the read failing, the flags stay off: the
         * transfer is staff's decision already, only the window misses it. */
        if (p->p.kind == PAYMENT_P2P && risk_gate_payee(w, &o->gate, p->p.counterparty_id, payee_created_ms) != ERR_OK)
            o->gate.ev.flags &= ~(unsigned)(RISK_F_PAYEE_NEW | RISK_F_PAYEE_FIRST);
        o->risk = w->risk;
    }
    o->pending.id = p->id;
    o->pending.from = PENDING_HELD;
    o->pending.to = PENDING_APPROVED;
    o->pending.action = "review_approved";
    o->pending.staff_id = staff_id;
    o->pending.live_at = w->a.now; /* the guard: not at or after expires_ms, even if nobody expired it yet */
    return ERR_OK;
}

enum err review_approve(const struct wallet_ctx *w, int64_t staff_id, int64_t id, struct pending_op *out,
                        struct payment_receipt *r, const char **bad, struct killswitch *sw)
{
    set_bad(bad, NULL);
    memset(r, 0, sizeof *r);
    struct killswitch ignored;
    if (sw == NULL)
        sw = &ignored;
    memset(sw, 0, sizeof *sw);
    enum err e = review_get(w, id, out);
    if (e != ERR_OK)
        return e;
    if (strcmp(out->status, PENDING_HELD) != 0) {
        set_bad(bad, "status");
        return ERR_CONFLICT;
    }
    struct payment_order *o = malloc(sizeof *o);
    if (o == NULL)
        return ERR_NOMEM;
    e = order_of(w, out, staff_id, o, bad, sw);
    if (e == ERR_OK)
        e = payment_submit_wait(w, o, r, bad);
    sodium_memzero(o, sizeof *o);
    free(o);
    if (e == ERR_INSUFFICIENT_FUNDS)
        set_bad(bad, "amount");
    if (e == ERR_CONFLICT)
        set_bad(bad, "status");
    enum err g = review_get(w, id, out); /* one that lapsed meanwhile is recorded expired */
    return e != ERR_OK ? e : g;
}

static bool reason_ok(const char *r) { return text_shown_ok(r, PENDING_REASON_MAX); }

enum err review_reject(const struct wallet_ctx *w, int64_t staff_id, int64_t id, const char *reason,
                       struct pending_op *out, const char **bad)
{
    set_bad(bad, NULL);
    if (!reason_ok(reason)) {
        set_bad(bad, "reason");
        return ERR_INVALID_PARAM;
    }
    struct store *st = w->a.st;
    enum err e = review_get(w, id, out);
    if (e != ERR_OK)
        return e;
    char email[EMAIL_MAX + 1], body[768], by[IDS_BUF];
    if ((e = payer_email(st, out->p.customer_id, email)) != ERR_OK)
        return e;
    snprintf(body, sizeof body,
             "Your %s of %lld yen, held for a check, was not made: our fraud team declined it.\n"
             "Nothing was paid; your balance is unchanged.\n\n"
             "If you did ask for it, contact support.",
             out->p.kind == PAYMENT_P2P ? "transfer" : "payment", (long long)out->p.amount);
    if ((e = auth_begin(&w->a)) != ERR_OK)
        return e;
    /* A lapsed one is expired, not rejected (its own mail says so). */
    e = st->ops->pending_op_decide(st, id, PENDING_HELD, PENDING_REJECTED, w->a.now, staff_id, 0, reason,
                                   out->expires_ms ? w->a.now : 0);
    if (e == ERR_OK)
        e = note(st, w->a.now, staff_public_id(staff_id, by), w->a.client_addr, out, "review_rejected",
                 AUDIT_SUCCESS, json_pack("{s:s}", "reason", reason));
    if (e == ERR_OK)
        e = notify_enqueue(st, w->a.master_key, w->a.now, email, "Your held payment was not made", body);
    e = auth_end(&w->a, e == ERR_OK, e);
    if (e == ERR_CONFLICT)
        set_bad(bad, "status");
    enum err g = review_get(w, id, out);
    return e != ERR_OK ? e : g;
}

/* ---- JSON ------------------------------------------------------------------ */

json_t *review_json(const struct pending_op *p)
{
    char id[IDS_BUF], cid[IDS_BUF];
    bool p2p = p->p.kind == PAYMENT_P2P;
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                     ids_format(id, PENDING_REVIEW_ID_PREFIX, p->id), "kind", kind_name(p->p.kind), "status",
                     p->status, "customer", ids_format(cid, CUSTOMER_ID_PREFIX, p->p.customer_id), "amount",
                     (json_int_t)p->p.amount, "store",
                     json_id_or_null(MERCHANT_STORE_ID_PREFIX, p2p ? 0 : p->p.store_id), "to", json_id_or_null(CUSTOMER_ID_PREFIX, p2p ? p->p.counterparty_id : 0), "message", p->message,
                     "created_at", json_time_or_null(p->p.created_ms), "expires_at",
                     json_time_or_null(p->expires_ms), "decided_at", json_time_or_null(p->decided_ms),
                     "decided_by", json_id_or_null(STAFF_ID_PREFIX, p->decided_by), "payment",
                     json_id_or_null(PAYMENT_ID_PREFIX, p->p.id), "reason",
                     p->reason[0] ? json_string(p->reason) : json_null());
}
