/* reversal.c: fraud reversals with four eyes (ops/reversal.h). */
#include "ops/reversal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "auth/txn.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "notify/feed.h"
#include "notify/outbox.h"
#include "ops/dispute.h"
#include "ops/staff.h"
#include "ops/staff_session.h"
#include "util/json.h"
#include "util/timeutil.h"
#include "util/text.h"
#include "wallet/payment.h"
#include "wallet/payment_webhook.h"
#include "wallet/topup.h"

#define FRAUD_LOSS_ACCOUNT "fraud_losses"
#define XFER_KIND "fraud_reversal"
/* The staff member's own cap looks back this far (a rolling day). */
#define STAFF_WINDOW_MS (INT64_C(24) * 3600 * 1000)

static bool reason_ok(const char *r) { return text_shown_ok(r, REVERSAL_REASON_MAX); }

static void set_bad(const char **bad, const char *v)
{
    if (bad)
        *bad = v;
}

/* What remains of payment p to reverse: its amount less refunds, voids,
 * reversals from the store (all in p->refunded) and compensations. */
static enum err remaining(struct store *st, const struct payment *p, int64_t *out)
{
    int64_t comp = 0;
    enum err e = st->ops->reversal_compensated(st, p->id, &comp);
    if (e == ERR_OK)
        *out = p->amount - p->refunded - comp;
    return e;
}

static enum err record(struct store *st, int64_t now, const char *addr, int64_t staff_id, const struct reversal *r,
                       const char *action, json_t *extra)
{
    char by[IDS_BUF], rid[IDS_BUF], pid[IDS_BUF];
    json_t *d = json_pack("{s:s, s:s, s:I, s:b}", "reversal", ids_format(rid, REVERSAL_ID_PREFIX, r->id), "payment",
                          ids_format(pid, PAYMENT_ID_PREFIX, r->payment_id), "amount", (json_int_t)r->amount,
                          "charge_store", r->charge_store);
    char did[IDS_BUF];
    if (d && r->dispute_id)
        json_object_set_new(d, "dispute", json_string(ids_format(did, DISPUTE_ID_PREFIX, r->dispute_id)));
    if (d && extra)
        json_object_update(d, extra);
    json_decref(extra);
    return audit_record(st, now, staff_public_id(staff_id, by), r->customer_id, action, AUDIT_SUCCESS, addr, 0, d);
}

/* The same request as want's: what the staff member asked for, not what
 * became of it. */
static bool same_request(const struct reversal *want, const struct reversal *got)
{
    return got->payment_id == want->payment_id && got->amount == want->amount &&
           (got->charge_store != 0) == (want->charge_store != 0) && got->dispute_id == want->dispute_id &&
           strcmp(got->reason, want->reason) == 0;
}

/* The reversal want's requester asked for under want's key before, if any:
 * ERR_OK and *found (a retry: answer it, move nothing), ERR_NOT_FOUND (a
 * new request), ERR_IDEMPOTENCY_CONFLICT ("Idempotency-Key": the key was
 * used for another request), or the store's error. */
static enum err retry_of(struct store *st, const struct reversal *want, struct reversal *found, const char **bad)
{
    enum err e = st->ops->reversal_get_by_key(st, want->requested_by, want->idem_key, found);
    if (e == ERR_OK && !same_request(want, found)) {
        set_bad(bad, "Idempotency-Key");
        return ERR_IDEMPOTENCY_CONFLICT;
    }
    return e;
}

/* ---- executing: the hook, in the transfer's transaction ------------------- */

struct job {
    struct reversal r;       /* insert: the row to write; approve: its id */
    bool insert;             /* executed at once: the row is new */
    int64_t alone_max;       /* insert: what may go back of the payment without approval */
    int64_t staff_max;       /* insert: what the requester may give back alone in STAFF_WINDOW_MS */
    int64_t staff_id;        /* who executes it: the requester, or the approver */
    const uint8_t *master_key;
    int64_t now;
    const char *client_addr;
    const char *bad;
    bool replayed;           /* insert: the key's first request moved the money ... */
    struct reversal first;   /* ... and this is its row, the answer */
};

static enum err mail_to(const struct job *j, struct store *st, int64_t customer_id, const char *subject,
                        const char *body)
{
    struct customer c;
    enum err e = st->ops->customer_get(st, customer_id, &c);
    char to[EMAIL_MAX + 1];
    snprintf(to, sizeof to, "%s", e == ERR_OK ? c.email : "");
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    if (e != ERR_OK)
        return e;
    return notify_enqueue(st, j->master_key, j->now, to, subject, body);
}

/* The payer gets the money back.  Taken from the store's payable, it needs
 * no notice; taken back from the recipient of a transfer, it is a debit of
 * a customer's wallet, and every debit is notified: the recipient may be
 * innocent and must learn it to contest it. */
static enum err mail(const struct job *j, struct store *st, const struct payment *p,
                     const struct ledger_balances *after)
{
    char body[768], when[TIME_ISO_BUF], pid[IDS_BUF];
    ids_format(pid, PAYMENT_ID_PREFIX, j->r.payment_id);
    time_iso8601(when, j->now);
    snprintf(body, sizeof body,
             "We gave back %lld yen of your payment %s at %s, after our investigation of fraud on your account.\n"
             "Your balance is now %lld yen.\n\n"
             "If you have questions, contact support.",
             (long long)j->r.amount, pid, when, (long long)after->credit);
    enum err e = mail_to(j, st, j->r.customer_id, "Money back to your kessai wallet", body);
    if (e != ERR_OK || !j->r.charge_store || p->kind != PAYMENT_P2P)
        return e;
    snprintf(body, sizeof body,
             "We took back %lld yen of the transfer %s you received, at %s, after an investigation of fraud "
             "reported by its sender.\n"
             "Your balance is now %lld yen.\n\n"
             "If you think this is wrong, contact support.",
             (long long)j->r.amount, pid, when, (long long)after->debit);
    return mail_to(j, st, p->counterparty_id, "Money taken back from your kessai wallet", body);
}

/* The wallets' live feeds (notify/feed.h), as the mails above: the payer's
 * credit, and a transfer's recipient's debit when it is taken back. */
static enum err feed(const struct job *j, struct store *st, const struct payment *p,
                     const struct ledger_balances *after)
{
    char rid[IDS_BUF], pid[IDS_BUF];
    ids_format(rid, REVERSAL_ID_PREFIX, j->r.id);
    ids_format(pid, PAYMENT_ID_PREFIX, j->r.payment_id);
    enum err e = feed_queue(st, j->now, j->r.customer_id, "reversal.credited",
                            json_pack("{s:s, s:s, s:I, s:I}", "reversal", rid, "payment", pid, "amount",
                                      (json_int_t)j->r.amount, "balance_after", (json_int_t)after->credit));
    if (e != ERR_OK || !j->r.charge_store || p->kind != PAYMENT_P2P)
        return e;
    return feed_queue(st, j->now, p->counterparty_id, "reversal.debited",
                      json_pack("{s:s, s:s, s:I, s:I}", "reversal", rid, "payment", pid, "amount",
                                (json_int_t)j->r.amount, "balance_after", (json_int_t)after->debit));
}

/* Taken back from a store's payable: its merchant hears of it as of a
 * refund (refund.succeeded, refund kind "reversal", payment_webhook.h), in
 * this transaction.  A P2P transfer concerns no merchant. */
static enum err webhook(const struct job *j, struct store *st, const struct ledger_transfer *x)
{
    struct payment p; /* as it is now, the reversal counted in refunded */
    enum err e = st->ops->payment_get(st, j->r.payment_id, &p);
    if (e != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_PAYMENT_NOT_FOUND : e;
    if (p.kind == PAYMENT_P2P)
        return ERR_OK;
    struct merchant_store ms;
    if ((e = st->ops->mstore_get(st, p.store_id, &ms)) != ERR_OK)
        return e;
    return payment_webhook_fraud_reversed(st, j->now, &p, ms.name, x->id, x->amount, x->created_ms, j->r.id);
}

static enum err hook(void *ctx, struct store *st, const struct ledger_transfer *x, const struct ledger_balances *after,
                     size_t n, bool replayed)
{
    struct job *j = ctx;
    j->bad = NULL;
    j->replayed = false;
    if (n != 1)
        return ERR_INTERNAL;
    enum err e;
    if (replayed && j->insert) {
        /* The request's key moved this money already (a retry racing its
         * first): answer the first's row, written with the transfer. */
        e = retry_of(st, &j->r, &j->first, &j->bad);
        if (e == ERR_NOT_FOUND)
            return ERR_CONFLICT;
        j->replayed = e == ERR_OK;
        return e;
    }
    if (replayed)
        return ERR_CONFLICT; /* this reversal's money moved already */
    if (!j->insert) {
        struct reversal cur;
        if ((e = st->ops->reversal_get(st, j->r.id, &cur)) != ERR_OK)
            return e;
        if (strcmp(cur.status, REVERSAL_STATUS_PENDING) != 0)
            return ERR_CONFLICT;
        j->r = cur;
    }
    struct payment p;
    if ((e = st->ops->payment_get(st, j->r.payment_id, &p)) != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_PAYMENT_NOT_FOUND : e;
    int64_t left = 0;
    if ((e = remaining(st, &p, &left)) != ERR_OK)
        return e;
    if (x->amount != j->r.amount)
        return ERR_INTERNAL;
    if (j->r.amount > left) {
        j->bad = "amount";
        return ERR_REVERSAL_EXCEEDS_ORIGINAL;
    }
    if (j->insert) {
        /* Again in the transaction: a request racing another of the same
         * payment does not slip past four eyes. */
        int64_t alone = 0;
        if ((e = st->ops->reversal_unapproved(st, p.id, &alone)) != ERR_OK)
            return e;
        if (j->r.amount > j->alone_max - alone) {
            j->bad = "amount";
            return ERR_CONFLICT;
        }
        /* ... nor one racing the same staff member's request of another. */
        if ((e = st->ops->reversal_staff_unapproved(st, j->staff_id, j->now - STAFF_WINDOW_MS, &alone)) != ERR_OK)
            return e;
        if (j->r.amount > j->staff_max - alone) {
            j->bad = "amount";
            return ERR_CONFLICT;
        }
    }
    if (j->r.charge_store && (e = st->ops->payment_add_refund(st, p.id, j->r.amount, 0)) != ERR_OK)
        return e;
    if ((e = payment_limits_give_back(st, &p, j->r.amount)) != ERR_OK)
        return e;
    if (j->insert) {
        snprintf(j->r.status, sizeof j->r.status, "%s", REVERSAL_STATUS_EXECUTED);
        j->r.decided_by = j->staff_id;
        j->r.decided_ms = j->now;
        j->r.transfer_id = x->id;
        if ((e = st->ops->reversal_insert(st, &j->r)) != ERR_OK)
            return e;
        e = record(st, j->now, j->client_addr, j->staff_id, &j->r, "reversal_requested",
                   json_pack("{s:s}", "reason", j->r.reason));
    } else {
        if ((e = st->ops->reversal_decide(st, j->r.id, REVERSAL_STATUS_EXECUTED, j->staff_id, j->now, x->id)) !=
            ERR_OK)
            return e;
        snprintf(j->r.status, sizeof j->r.status, "%s", REVERSAL_STATUS_EXECUTED);
        j->r.decided_by = j->staff_id;
        j->r.decided_ms = j->now;
        j->r.transfer_id = x->id;
        e = record(st, j->now, j->client_addr, j->staff_id, &j->r, "reversal_approved", NULL);
    }
    if (e == ERR_OK) {
        char tid[IDS_BUF];
        e = record(st, j->now, j->client_addr, j->staff_id, &j->r, "reversal_executed",
                   json_pack("{s:s}", "transfer", ids_format(tid, "txn", x->id)));
    }
    if (e == ERR_OK && j->r.charge_store)
        e = webhook(j, st, x);
    if (e == ERR_OK && j->r.dispute_id) {
        /* the report this reversal answers: resolved with the money */
        e = dispute_resolve(st, j->master_key, j->now, j->client_addr, j->r.dispute_id, j->staff_id, j->r.id,
                            j->r.amount);
        if (e == ERR_CONFLICT || e == ERR_NOT_FOUND) {
            j->bad = "dispute_id";
            e = ERR_CONFLICT; /* rejected or resolved meanwhile: no money for it */
        }
    }
    if (e == ERR_OK)
        e = mail(j, st, &p, after);
    if (e == ERR_OK)
        e = feed(j, st, &p, after);
    return e;
}

/* The transfer that gives r's money back (key unique to it). */
static enum err transfer_for(struct store *st, const struct reversal *r, const struct payment *p, const char *key,
                             struct ledger_transfer *x)
{
    memset(x, 0, sizeof *x);
    snprintf(x->key, sizeof x->key, "%s", key);
    snprintf(x->kind, sizeof x->kind, "%s", XFER_KIND);
    x->amount = r->amount;
    char pid[IDS_BUF], reason[64];
    snprintf(reason, sizeof reason, "%s", "fraud reversal");
    if (r->charge_store) {
        x->flags = LEDGER_XFER_REVERSAL;
        x->ref_id = p->id; /* the ledger takes the accounts from the original, swapped */
    } else {
        enum err e = ledger_system_account(st, FRAUD_LOSS_ACCOUNT, &x->debit_account);
        if (e == ERR_OK)
            e = wallet_account(st, p->customer_id, &x->credit_account);
        if (e != ERR_OK)
            return e;
    }
    json_t *m = json_pack("{s:s, s:s}", "payment", ids_format(pid, PAYMENT_ID_PREFIX, p->id), "memo", reason);
    if (m == NULL)
        return ERR_NOMEM;
    char *txt = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (txt == NULL)
        return ERR_NOMEM;
    snprintf(x->metadata, sizeof x->metadata, "%s", txt);
    free(txt);
    return ERR_OK;
}

static const char *ledger_bad(enum err e)
{
    if (e == ERR_IDEMPOTENCY_CONFLICT)
        return "Idempotency-Key"; /* the key's transfer moved other money */
    return e == ERR_INSUFFICIENT_FUNDS || e == ERR_REVERSAL_EXCEEDS_ORIGINAL || e == ERR_OVERFLOW ? "amount" : NULL;
}

static enum err execute(const struct auth_ctx *a, struct ledger_writer *w, struct job *j, const struct payment *p,
                        const char *key, const char **bad)
{
    struct ledger_transfer x;
    enum err e = transfer_for(a->st, &j->r, p, key, &x);
    if (e != ERR_OK)
        return e;
    size_t failed = 0;
    e = ledger_writer_submit_hooked_wait(w, &x, 1, hook, j, &failed, NULL);
    if (e != ERR_OK) {
        set_bad(bad, failed == 1 ? j->bad : ledger_bad(e));
        return e;
    }
    if (!j->replayed)
        auth_deliver(a); /* the mail is committed: send it now, or ask the deliverer */
    return ERR_OK;
}

/* A new request that failed on a conflict may have lost a race with a
 * retry of itself under the same key (the unique row, or the ledger key):
 * then the winner's row is the answer.  Otherwise e stands. */
static enum err after_race(struct store *st, const struct reversal *want, enum err e, struct reversal *out,
                           bool *replayed, const char **bad)
{
    if (e != ERR_CONFLICT && e != ERR_IDEMPOTENCY_CONFLICT)
        return e;
    const char *why = NULL;
    enum err r = retry_of(st, want, out, &why);
    if (r == ERR_OK)
        *replayed = true;
    if (r == ERR_OK || r == ERR_IDEMPOTENCY_CONFLICT) {
        set_bad(bad, why);
        return r;
    }
    return e;
}

enum err reversal_request(const struct auth_ctx *a, struct ledger_writer *w, int64_t staff_id, int64_t payment_id,
                          int64_t amount, const char *reason, bool charge_store, int64_t dispute_id,
                          const char *idem_key, struct reversal *out, bool *replayed, const char **bad)
{
    set_bad(bad, NULL);
    *replayed = false;
    struct store *st = a->st;
    if (amount <= 0) {
        set_bad(bad, "amount");
        return ERR_AMOUNT_INVALID;
    }
    if (!reason_ok(reason)) {
        set_bad(bad, "reason");
        return ERR_INVALID_PARAM;
    }
    if (!idem_key_valid(idem_key)) {
        set_bad(bad, "Idempotency-Key");
        return ERR_INVALID_PARAM;
    }
    struct job j = {.insert = true, .alone_max = a->cfg->reversal_approval_threshold,
                    .staff_max = a->cfg->reversal_staff_unapproved_daily, .staff_id = staff_id,
                    .master_key = a->master_key, .now = a->now, .client_addr = a->client_addr};
    j.r.payment_id = payment_id;
    j.r.amount = amount;
    j.r.charge_store = charge_store;
    j.r.dispute_id = dispute_id;
    snprintf(j.r.reason, sizeof j.r.reason, "%s", reason);
    snprintf(j.r.status, sizeof j.r.status, "%s", REVERSAL_STATUS_PENDING);
    j.r.requested_by = staff_id;
    j.r.created_ms = a->now;
    snprintf(j.r.idem_key, sizeof j.r.idem_key, "%s", idem_key);

    /* A retry: the first's answer as it stands now, before anything is
     * checked again (its money moved: what remains is less now). */
    enum err e = retry_of(st, &j.r, out, bad);
    if (e == ERR_OK)
        *replayed = true;
    if (e != ERR_NOT_FOUND)
        return e;

    struct payment p;
    e = st->ops->payment_get(st, payment_id, &p);
    if (e != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_PAYMENT_NOT_FOUND : e;
    j.r.customer_id = p.customer_id;
    int64_t left = 0;
    if ((e = remaining(st, &p, &left)) != ERR_OK)
        return e;
    if (amount > left) {
        set_bad(bad, "amount");
        return ERR_REVERSAL_EXCEEDS_ORIGINAL;
    }
    if (dispute_id && (e = dispute_check_reversal(st, dispute_id, p.id)) != ERR_OK) {
        set_bad(bad, "dispute_id");
        return e;
    }
    /* Four eyes apply to what goes back of one payment without approval,
     * not to each request: ten small ones are one large one.  And to what
     * one staff member gives back alone over all payments in a day: ten
     * small ones on ten payments are one large one too. */
    int64_t alone = 0, staff_alone = 0;
    if ((e = st->ops->reversal_unapproved(st, p.id, &alone)) != ERR_OK)
        return e;
    if ((e = st->ops->reversal_staff_unapproved(st, staff_id, a->now - STAFF_WINDOW_MS, &staff_alone)) != ERR_OK)
        return e;
    const char *because = amount > a->cfg->reversal_approval_threshold - alone               ? "payment_threshold"
                          : amount > a->cfg->reversal_staff_unapproved_daily - staff_alone ? "staff_daily"
                                                                                             : NULL;

    if (because == NULL) {
        /* At once, under a ledger key of the staff member's Idempotency-Key:
         * a retry racing this one replays the transfer (hook: the row). */
        char sid[IDS_BUF], key[LEDGER_KEY_MAX + 1];
        payment_transfer_key(key, "reversal", staff_public_id(staff_id, sid), idem_key);
        e = execute(a, w, &j, &p, key, bad);
        if (e == ERR_OK) {
            *out = j.replayed ? j.first : j.r;
            *replayed = j.replayed;
            return ERR_OK;
        }
        return after_race(st, &j.r, e, out, replayed, bad);
    }
    if ((e = auth_begin(a)) != ERR_OK)
        return e;
    e = st->ops->reversal_insert(st, &j.r); /* ERR_CONFLICT: a retry's row won */
    if (e == ERR_OK)
        e = record(st, a->now, a->client_addr, staff_id, &j.r, "reversal_requested",
                   json_pack("{s:s, s:b, s:s, s:I}", "reason", j.r.reason, "needs_approval", 1, "approval_because",
                             because, "staff_unapproved_24h", (json_int_t)staff_alone));
    e = auth_end(a, e == ERR_OK, e);
    if (e == ERR_OK) {
        *out = j.r;
        return ERR_OK;
    }
    return after_race(st, &j.r, e, out, replayed, bad);
}

enum err reversal_approve(const struct auth_ctx *a, struct ledger_writer *w, int64_t staff_id, int64_t id,
                          struct reversal *out, const char **bad)
{
    set_bad(bad, NULL);
    struct store *st = a->st;
    struct job j = {.staff_id = staff_id, .master_key = a->master_key, .now = a->now, .client_addr = a->client_addr};
    enum err e = st->ops->reversal_get(st, id, &j.r);
    if (e != ERR_OK)
        return e;
    if (strcmp(j.r.status, REVERSAL_STATUS_PENDING) != 0)
        return ERR_CONFLICT;
    if (j.r.requested_by == staff_id) {
        set_bad(bad, "approver");
        return ERR_FORBIDDEN;
    }
    struct payment p;
    if ((e = st->ops->payment_get(st, j.r.payment_id, &p)) != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_PAYMENT_NOT_FOUND : e;
    char rid[IDS_BUF], key[LEDGER_KEY_MAX + 1];
    snprintf(key, sizeof key, "reversal:%s", ids_format(rid, REVERSAL_ID_PREFIX, id));
    if ((e = execute(a, w, &j, &p, key, bad)) == ERR_OK)
        *out = j.r;
    return e;
}

enum err reversal_reject(const struct auth_ctx *a, int64_t staff_id, int64_t id, const char *reason,
                         struct reversal *out, const char **bad)
{
    set_bad(bad, NULL);
    if (!reason_ok(reason)) {
        set_bad(bad, "reason");
        return ERR_INVALID_PARAM;
    }
    struct store *st = a->st;
    enum err e = auth_begin(a);
    if (e != ERR_OK)
        return e;
    struct reversal r;
    e = st->ops->reversal_get(st, id, &r);
    if (e == ERR_OK)
        e = st->ops->reversal_decide(st, id, REVERSAL_STATUS_REJECTED, staff_id, a->now, 0);
    if (e == ERR_OK) {
        snprintf(r.status, sizeof r.status, "%s", REVERSAL_STATUS_REJECTED);
        r.decided_by = staff_id;
        r.decided_ms = a->now;
        e = record(st, a->now, a->client_addr, staff_id, &r, "reversal_rejected", json_pack("{s:s}", "reason", reason));
    }
    e = auth_end(a, e == ERR_OK, e);
    if (e == ERR_OK)
        *out = r;
    return e;
}

json_t *reversal_json(const struct reversal *r)
{
    char id[IDS_BUF], pid[IDS_BUF], cid[IDS_BUF], by[IDS_BUF];
    return json_pack("{s:s, s:s, s:s, s:I, s:b, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "id",
                     ids_format(id, REVERSAL_ID_PREFIX, r->id), "payment", ids_format(pid, PAYMENT_ID_PREFIX, r->payment_id),
                     "customer", ids_format(cid, CUSTOMER_ID_PREFIX, r->customer_id), "amount", (json_int_t)r->amount,
                     "charge_store", r->charge_store, "reason", r->reason, "status", r->status, "requested_by",
                     ids_format(by, STAFF_ID_PREFIX, r->requested_by), "decided_by",
                     json_id_or_null(STAFF_ID_PREFIX, r->decided_by), "created_at", json_time_or_null(r->created_ms),
                     "decided_at", json_time_or_null(r->decided_ms), "transfer", json_id_or_null("txn", r->transfer_id),
                     "dispute", json_id_or_null(DISPUTE_ID_PREFIX, r->dispute_id));
}
