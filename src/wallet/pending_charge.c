/* pending_charge.c: a challenged charge waits for the customer
 * (pending_charge.h has the states and invariants). */
#include "wallet/pending_charge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "auth/mfa.h"
#include "auth/txn.h"
#include "merchant/merchant.h"
#include "merchant/terminal.h"
#include "notify/outbox.h"
#include "ops/freeze.h"
#include "ops/killswitch.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "wallet/payment_internal.h"
#include "wallet/topup.h"

static void set_bad(const char **bad, const char *v)
{
    if (bad)
        *bad = v;
}

static bool is_waiting(const struct pending_op *p) { return strcmp(p->status, PENDING_AWAITING) == 0; }

/* One audit entry about p; extra (may be NULL) is merged into the detail. */
static enum err note(struct store *st, int64_t now, const char *actor, const char *addr, const struct pending_op *p,
                     const char *action, enum audit_outcome outcome, json_t *extra)
{
    char id[IDS_BUF], sid[IDS_BUF];
    json_t *d = json_pack("{s:s, s:I, s:s}", "pending", ids_format(id, PENDING_CHARGE_ID_PREFIX, p->id), "amount",
                          (json_int_t)p->p.amount, "store", ids_format(sid, MERCHANT_STORE_ID_PREFIX, p->p.store_id));
    if (d && extra)
        json_object_update(d, extra);
    json_decref(extra);
    return audit_record(st, now, actor, p->p.customer_id, action, outcome, addr, 0, d);
}

/* The risk engine learns how a waiting charge ended (no store writes). */
static void observe(const struct wallet_ctx *w, const struct pending_op *p, enum risk_outcome outcome)
{
    if (w->risk == NULL)
        return;
    struct merchant_store s;
    struct risk_gate g;
    if (w->a.st->ops->mstore_get(w->a.st, p->p.store_id, &s) != ERR_OK ||
        risk_gate_customer(w, &g, RISK_PAYMENT, p->p.customer_id, p->p.device_id) != ERR_OK)
        return;
    risk_gate_store(&g, &s);
    g.ev.terminal_id = p->p.terminal_id;
    g.ev.amount = p->p.amount;
    risk_gate_observe(w->risk, &g, outcome);
}

/* ---- the charge starts to wait ------------------------------------------- */

static enum err mail_asked(const struct wallet_ctx *w, const struct payment_order *o, const struct pending_op *p)
{
    char body[1024], subject[96], until[TIME_ISO_BUF];
    snprintf(subject, sizeof subject, "Confirm your payment of %lld yen", (long long)p->p.amount);
    snprintf(body, sizeof body,
             "%s asks you to confirm a payment of %lld yen from your kessai wallet.\n\n"
             "Open the kessai app to approve it with your authenticator code, or decline it, before %s.\n"
             "Nothing is paid until you approve; if you do nothing, the payment is cancelled.\n\n"
             "If you are not at this store's register now, decline it: someone may be using your payment code. "
             "Then change your password and contact support.",
             o->counterparty, (long long)p->p.amount, time_iso8601(until, p->expires_ms));
    return notify_enqueue(w->a.st, w->a.master_key, w->a.now, o->payer_email, subject, body);
}

/* The same request as the waiting row's (a retry, with a code of the same customer)? */
static bool same_request(const struct pending_op *p, const struct payment_order *o)
{
    return p->p.kind == PAYMENT_CPM && p->p.terminal_id == o->p.terminal_id && p->p.amount == o->p.amount &&
           strcmp(p->p.items, o->p.items) == 0 && p->p.customer_id == o->p.customer_id;
}

enum err pending_charge_create(const struct wallet_ctx *w, const struct payment_order *o, struct pending_op *out)
{
    struct store *st = w->a.st;
    memset(out, 0, sizeof *out);
    snprintf(out->status, sizeof out->status, "%s", PENDING_AWAITING);
    snprintf(out->xfer_key, sizeof out->xfer_key, "%s", o->x.key);
    out->p = o->p;
    out->p.id = 0;
    out->device_new = o->hit.device_new;
    out->expires_ms = w->a.now + w->a.cfg->charge_confirm_timeout_s * 1000;
    struct risk_gate g = o->gate; /* record() re-points its strings */

    enum err e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    if (o->nonce[0]) {
        e = pos_nonce_record(st, o->nonce_key_id, o->nonce, w->a.now);
    }
    if (e == ERR_OK)
        e = paycode_consume(st, &o->hit, w->a.now);
    bool taken = false;
    if (e == ERR_OK) {
        e = st->ops->pending_op_insert(st, out);
        taken = e == ERR_CONFLICT;
    }
    if (e == ERR_OK && g.on)
        e = risk_gate_record(st, w->a.now, &g, o->x.key);
    char tid[IDS_BUF], until[TIME_ISO_BUF];
    if (e == ERR_OK)
        e = note(st, w->a.now, ids_format(tid, TERMINAL_ID_PREFIX, o->p.terminal_id), w->a.client_addr, out,
                 "pending_charge_created", AUDIT_SUCCESS,
                 json_pack("{s:s}", "expires_at", time_iso8601(until, out->expires_ms)));
    if (e == ERR_OK)
        e = mail_asked(w, o, out);
    e = auth_end_deferred(&w->a, e == ERR_OK, e);
    if (!taken)
        return e;
    /* The key waits already (a retry that presented a fresh code): that
     * charge is the answer, and this code stays unspent.  The rollback
     * took this request's nonce with it: spent now on its own, or a
     * captured copy could pay with the fresh code under another key (a
     * refusal spends it on the caller's way out). */
    struct pending_op cur;
    e = pending_charge_by_key(w, o->x.key, &cur);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && !same_request(&cur, o)))
        return ERR_IDEMPOTENCY_CONFLICT;
    if (e == ERR_OK && o->nonce[0])
        e = pos_nonce_record(st, o->nonce_key_id, o->nonce, w->a.now);
    if (e == ERR_OK)
        *out = cur;
    return e;
}

/* ---- expiry, decided by whoever reads ------------------------------------ */

static enum err settle(const struct wallet_ctx *w, struct pending_op *p)
{
    if (!is_waiting(p) || w->a.now < p->expires_ms)
        return ERR_OK;
    struct store *st = w->a.st;
    enum err e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    e = st->ops->pending_op_decide(st, p->id, PENDING_AWAITING, PENDING_EXPIRED, w->a.now, 0, 0, "timeout", 0);
    bool mine = e == ERR_OK;
    if (e == ERR_OK)
        e = note(st, w->a.now, AUDIT_ACTOR_SYSTEM, "", p, "pending_charge_expired", AUDIT_FAILURE, NULL);
    e = auth_end_deferred(&w->a, e == ERR_OK, e);
    if (e == ERR_CONFLICT)
        e = ERR_OK; /* decided meanwhile by another reader, or answered */
    if (e != ERR_OK)
        return e;
    if (mine)
        observe(w, p, RISK_FAILED);
    return st->ops->pending_op_get(st, p->id, p);
}

enum err pending_charge_by_key(const struct wallet_ctx *w, const char *key, struct pending_op *out)
{
    enum err e = w->a.st->ops->pending_op_get_by_key(w->a.st, key, out);
    if (e == ERR_OK && out->p.kind != PAYMENT_CPM)
        e = ERR_NOT_FOUND;
    return e == ERR_OK ? settle(w, out) : e;
}

/* ---- reading --------------------------------------------------------------- */

enum err pending_charge_get_for_terminal(const struct wallet_ctx *w, const struct merchant_terminal *term,
                                         int64_t id, struct pending_op *out)
{
    struct store *st = w->a.st;
    struct merchant_store mine;
    enum err e = st->ops->mstore_get(st, term->store_id, &mine);
    if (e == ERR_STORE_NOT_FOUND)
        return ERR_PAYMENT_NOT_FOUND;
    if (e == ERR_OK && !mine.active)
        return ERR_STORE_NOT_FOUND; /* a closed store's registers read no charge (as payments) */
    if (e == ERR_OK)
        e = st->ops->pending_op_get(st, id, out);
    /* Another merchant's charge is not theirs to see (as payments). */
    if (e == ERR_NOT_FOUND || (e == ERR_OK && (out->p.kind != PAYMENT_CPM || out->p.merchant_id != mine.merchant_id))) {
        payment_not_theirs_log(term, "read", PENDING_CHARGE_ID_PREFIX, id, e == ERR_OK);
        return ERR_PAYMENT_NOT_FOUND;
    }
    return e == ERR_OK ? settle(w, out) : e;
}

/* The customer's own waiting charge id, settled. */
static enum err customers(const struct wallet_ctx *w, const struct auth_session *cur, int64_t id,
                          struct pending_op *out)
{
    enum err e = w->a.st->ops->pending_op_get(w->a.st, id, out);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && (out->p.kind != PAYMENT_CPM || out->p.customer_id != cur->customer_id)))
        return ERR_PAYMENT_NOT_FOUND;
    return e == ERR_OK ? settle(w, out) : e;
}

enum err pending_charge_list(const struct wallet_ctx *w, const struct auth_session *cur, struct pending_op *out,
                             size_t max, size_t *n)
{
    *n = 0;
    if (max > PENDING_CHARGE_LIST_MAX)
        max = PENDING_CHARGE_LIST_MAX;
    enum err e = w->a.st->ops->pending_op_list(w->a.st, true, cur->customer_id, "", 0, 0, max, out, n);
    for (size_t i = 0; e == ERR_OK && i < *n; i++)
        e = settle(w, &out[i]);
    return e;
}

/* ---- the customer answers -------------------------------------------------- */

/* An answer to a charge that is not the customer's (another's, or none):
 * refused as unknown, and on record as theirs, so someone working through
 * ids shows in the audit log. */
static void not_theirs(const struct wallet_ctx *w, const struct auth_session *cur, int64_t id, const char *answer)
{
    char actor[IDS_BUF], pid[IDS_BUF];
    enum err e = audit_record(w->a.st, w->a.now, audit_customer_actor(actor, cur->customer_id), cur->customer_id,
                              "pending_charge_refused", AUDIT_FAILURE, w->a.client_addr, cur->device_id,
                              json_pack("{s:s, s:s, s:s}", "pending", ids_format(pid, PENDING_CHARGE_ID_PREFIX, id),
                                        "answer", answer, "error", err_symbol(ERR_PAYMENT_NOT_FOUND)));
    if (e != ERR_OK)
        log_event(LOG_ERROR, "audit_failed", json_pack("{s:s}", "error", err_symbol(e)));
}

/* Waiting -> declined (by the customer, or because the money refused the
 * approval: reason names why), with its audit entry. */
static enum err declined(const struct wallet_ctx *w, struct pending_op *p, const char *reason)
{
    struct store *st = w->a.st;
    enum err e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    e = st->ops->pending_op_decide(st, p->id, PENDING_AWAITING, PENDING_DECLINED, w->a.now, 0, 0, reason, 0);
    char actor[IDS_BUF];
    if (e == ERR_OK)
        e = note(st, w->a.now, audit_customer_actor(actor, p->p.customer_id), w->a.client_addr, p,
                 "pending_charge_declined", AUDIT_SUCCESS, json_pack("{s:s}", "reason", reason));
    e = auth_end_deferred(&w->a, e == ERR_OK, e); /* no mail: nothing to deliver on this thread */
    if (e == ERR_OK)
        observe(w, p, RISK_FAILED);
    enum err r = st->ops->pending_op_get(st, p->id, p);
    return e != ERR_OK ? e : r;
}

enum err pending_charge_decline(const struct wallet_ctx *w, const struct auth_session *cur, int64_t id,
                                struct pending_op *out, const char **bad)
{
    set_bad(bad, NULL);
    enum err e = customers(w, cur, id, out);
    if (e == ERR_PAYMENT_NOT_FOUND)
        not_theirs(w, cur, id, "decline");
    if (e == ERR_OK && !is_waiting(out))
        e = ERR_CONFLICT;
    if (e == ERR_OK)
        e = declined(w, out, "declined_by_customer");
    if (e == ERR_CONFLICT)
        set_bad(bad, "status");
    return e;
}

/* The order that makes the payment now, as payment_charge would have. */
static enum err order_of(const struct wallet_ctx *w, const struct pending_op *p, const struct merchant_store *s,
                         struct payment_order *o)
{
    struct store *st = w->a.st;
    memset(o, 0, sizeof *o);
    char owner[IDS_BUF];
    struct ledger_account wallet;
    enum err e = st->ops->account_find(st, ids_format(owner, CUSTOMER_ID_PREFIX, p->p.customer_id), "wallet", &wallet);
    if (e == ERR_ACCOUNT_NOT_FOUND)
        return ERR_INSUFFICIENT_FUNDS;
    if (e != ERR_OK)
        return e;
    struct customer c;
    e = st->ops->customer_get(st, p->p.customer_id, &c);
    if (e == ERR_OK)
        snprintf(o->payer_email, sizeof o->payer_email, "%s", c.email);
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    if (e != ERR_OK || (e = payment_store_metadata(s, o->x.metadata)) != ERR_OK)
        return e;
    o->op = PAYMENT_OP_PAY;
    o->now = w->a.now;
    o->p = p->p;
    o->p.id = 0;
    o->p.created_ms = w->a.now; /* paid now: the void window and the day's limits count from here */
    snprintf(o->x.key, sizeof o->x.key, "%s", p->xfer_key);
    o->x.debit_account = wallet.id;
    o->x.credit_account = s->payable_account;
    o->x.amount = p->p.amount;
    snprintf(o->x.kind, sizeof o->x.kind, "%s", PAYMENT_XFER_PAYMENT);
    payment_limits_pay(w->a.cfg, o, w->a.now, p->device_new != 0, p->p.offline != 0);
    snprintf(o->counterparty, sizeof o->counterparty, "%s", s->name);
    /* The decision was written when the charge started to wait; the engine
     * only learns the outcome now (RISK_DONE from the completer).  A failed
     * read refuses: the approval is judged again (judged_again), never
     * waved through unjudged. */
    if (w->risk) {
        if ((e = risk_gate_customer(w, &o->gate, RISK_PAYMENT, p->p.customer_id, p->p.device_id)) != ERR_OK)
            return e;
        risk_gate_store(&o->gate, s);
        risk_gate_items(&o->gate, p->p.items);
        o->gate.ev.terminal_id = p->p.terminal_id;
        o->gate.ev.amount = p->p.amount;
        o->risk = w->risk;
    }
    o->pending.id = p->id;
    o->pending.from = PENDING_AWAITING;
    o->pending.to = PENDING_SUCCEEDED;
    o->pending.action = "pending_charge_approved";
    o->pending.live_at = w->a.now;
    return ERR_OK;
}

/* Refusals of the money that end the charge: the register must not wait
 * for an answer that cannot change. */
static bool final_refusal(enum err e)
{
    return e == ERR_INSUFFICIENT_FUNDS || e == ERR_LIMIT_EXCEEDED || e == ERR_ACCOUNT_FROZEN || e == ERR_SUSPENDED ||
           e == ERR_STORE_NOT_FOUND || e == ERR_RISK_HELD || e == ERR_RISK_DENIED;
}

/* The engine judged the charge when it started to wait, on the windows of
 * then; what happened since counts too: a mule has a charge wait, has the
 * money sent, then approves (mule_pass_through).  The second factor was
 * just given, so a challenge is answered; a hold or deny refuses, its
 * decision and audit entry written as any refusal's (the caller declines
 * the charge, which the engine observes as failed). */
static enum err judged_again(const struct wallet_ctx *w, struct payment_order *o)
{
    if (o->risk == NULL || !o->gate.on)
        return ERR_OK;
    enum err v = risk_gate_decide(w, &o->gate, false, true);
    if (v != ERR_RISK_HELD && v != ERR_RISK_DENIED)
        return v;
    risk_gate_release(w->risk, &o->gate); /* the decline is observed (observe) */
    enum err e = auth_begin(&w->a);
    if (e == ERR_OK)
        e = risk_gate_record(w->a.st, w->a.now, &o->gate, o->x.key);
    e = auth_end(&w->a, e == ERR_OK, e);
    return e != ERR_OK ? e : v;
}

enum err pending_charge_approve(const struct wallet_ctx *w, const struct auth_session *cur, int64_t id,
                                const char *totp_code, struct pending_op *out, struct payment_receipt *r,
                                const char **bad, struct killswitch *sw)
{
    struct store *st = w->a.st;
    set_bad(bad, NULL);
    memset(r, 0, sizeof *r);
    struct killswitch ignored;
    if (sw == NULL)
        sw = &ignored;
    memset(sw, 0, sizeof *sw);
    enum err e = customers(w, cur, id, out);
    if (e == ERR_PAYMENT_NOT_FOUND)
        not_theirs(w, cur, id, "approve");
    if (e != ERR_OK)
        return e;
    if (!is_waiting(out)) {
        set_bad(bad, "status");
        return ERR_CONFLICT;
    }
    /* The second factor, as POST /v1/mfa/verify: a wrong code is recorded
     * and counts towards the session's revocation. */
    int64_t fresh_until = 0;
    e = mfa_verify(&w->a, cur, totp_code, NULL, &fresh_until);
    if (e == ERR_INVALID_CODE)
        set_bad(bad, "totp_code");
    if (e != ERR_OK)
        return e;

    struct merchant_store s;
    e = st->ops->mstore_get(st, out->p.store_id, &s);
    if (e == ERR_OK && !s.active)
        e = ERR_STORE_NOT_FOUND;
    if (e == ERR_OK)
        e = freeze_check(st, out->p.customer_id);
    if (e == ERR_OK)
        e = killswitch_check_scoped(st, KILLSWITCH_PAYMENTS, s.merchant_id, s.id, sw);
    struct payment_order *o = NULL;
    if (e == ERR_OK && (o = malloc(sizeof *o)) == NULL)
        e = ERR_NOMEM;
    if (e == ERR_OK)
        e = order_of(w, out, &s, o);
    if (e == ERR_OK)
        e = judged_again(w, o);
    if (e == ERR_OK)
        e = payment_submit_wait(w, o, r, bad);
    if (o) {
        sodium_memzero(o, sizeof *o);
        free(o);
    }
    if (e == ERR_INSUFFICIENT_FUNDS)
        set_bad(bad, "amount");
    if (final_refusal(e)) {
        const char *keep = bad ? *bad : NULL;
        enum err d = declined(w, out, err_symbol(e));
        if (d != ERR_OK && d != ERR_CONFLICT)
            log_event(LOG_ERROR, "pending_charge_decline_failed", json_pack("{s:s}", "error", err_symbol(d)));
        set_bad(bad, keep);
        return e;
    }
    enum err g = st->ops->pending_op_get(st, id, out);
    if (e == ERR_CONFLICT)
        set_bad(bad, "status");
    return e != ERR_OK ? e : g;
}

/* ---- JSON ------------------------------------------------------------------ */

json_t *pending_charge_json(const struct pending_op *p, const char *store_name)
{
    char id[IDS_BUF], sid[IDS_BUF], pid[IDS_BUF], created[TIME_ISO_BUF], expires[TIME_ISO_BUF];
    json_t *items = p->p.items[0] ? json_loads(p->p.items, 0, NULL) : json_array();
    if (items == NULL)
        items = json_array();
    json_t *store = json_pack("{s:s}", "id", ids_format(sid, MERCHANT_STORE_ID_PREFIX, p->p.store_id));
    if (store && store_name && store_name[0])
        json_object_set_new(store, "name", json_string(store_name));
    bool declined_ = strcmp(p->status, PENDING_DECLINED) == 0;
    return json_pack("{s:s, s:s, s:I, s:s, s:o, s:s, s:s, s:o, s:o, s:o}", "id",
                     ids_format(id, PENDING_CHARGE_ID_PREFIX, p->id), "kind", "cpm", "amount",
                     (json_int_t)p->p.amount, "status", p->status, "store", store ? store : json_object(),
                     "created_at", time_iso8601(created, p->p.created_ms), "expires_at",
                     time_iso8601(expires, p->expires_ms), "items", items, "payment",
                     p->p.id ? json_string(ids_format(pid, PAYMENT_ID_PREFIX, p->p.id)) : json_null(),
                     "decline_reason", declined_ && p->reason[0] ? json_string(p->reason) : json_null());
}
