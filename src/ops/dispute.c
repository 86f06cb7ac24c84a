/* dispute.c: fraud reports (ops/dispute.h). */
#include "ops/dispute.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "auth/txn.h"
#include "notify/outbox.h"
#include "ops/reversal_types.h"
#include "ops/staff.h"
#include "ops/staff_session.h"
#include "util/idem.h"
#include "util/json.h"
#include "util/timeutil.h"
#include "util/text.h"
#include "wallet/history.h"
#include "wallet/wallet_types.h"

/* The ledger account kind of a customer's wallet (wallet/wallet_account.c). */
#define WALLET_KIND "wallet"

static void set_bad(const char **bad, const char *v)
{
    if (bad)
        *bad = v;
}

bool dispute_text_ok(const char *s, size_t max) { return text_shown_ok(s, max); }

/* Did transfer id move customer_id's wallet at all (a top-up, a refund,
 * money received)?  Then it is theirs to see, but not a debit to report. */
static enum err touches_wallet(struct store *st, int64_t customer_id, int64_t id, bool *out)
{
    *out = false;
    char owner[IDS_BUF];
    struct ledger_account acct;
    enum err e = st->ops->account_find(st, ids_format(owner, CUSTOMER_ID_PREFIX, customer_id), WALLET_KIND, &acct);
    if (e == ERR_ACCOUNT_NOT_FOUND)
        return ERR_OK;
    if (e != ERR_OK)
        return e;
    struct ledger_transfer x;
    e = st->ops->transfer_get(st, id, &x);
    if (e == ERR_TRANSFER_NOT_FOUND)
        return ERR_OK;
    if (e == ERR_OK)
        *out = x.debit_account == acct.id || x.credit_account == acct.id;
    return e;
}

/* The checks of a new report, in the filing's transaction.  *replay: the
 * key's first report is in *d. */
static enum err admissible(const struct auth_ctx *a, int64_t customer_id, int64_t payment_id, const char *reason,
                           const char *idem_key, struct dispute *d, bool *replay, const char **bad)
{
    struct store *st = a->st;
    *replay = false;
    enum err e = st->ops->dispute_get_by_key(st, customer_id, idem_key, d);
    if (e == ERR_OK) {
        if (d->payment_id != payment_id || strcmp(d->reason, reason) != 0) {
            set_bad(bad, "Idempotency-Key");
            return ERR_IDEMPOTENCY_CONFLICT;
        }
        *replay = true;
        return ERR_OK;
    }
    if (e != ERR_NOT_FOUND)
        return e;
    set_bad(bad, "transaction_id");
    struct payment p;
    e = st->ops->payment_get(st, payment_id, &p);
    if (e != ERR_OK && e != ERR_NOT_FOUND)
        return e;
    if (e == ERR_NOT_FOUND || p.customer_id != customer_id) {
        bool mine = e == ERR_OK && p.counterparty_id == customer_id;
        if (!mine && (e = touches_wallet(st, customer_id, payment_id, &mine)) != ERR_OK)
            return e;
        return mine ? ERR_NOT_DISPUTABLE : ERR_NOT_FOUND;
    }
    if (a->now - p.created_ms > a->cfg->dispute_window_days * TIME_DAY_MS)
        return ERR_DISPUTE_WINDOW_CLOSED;
    int64_t comp = 0;
    if ((e = st->ops->reversal_compensated(st, p.id, &comp)) != ERR_OK)
        return e;
    if (p.amount - p.refunded - comp <= 0)
        return ERR_NOT_DISPUTABLE; /* given back in full already */
    struct dispute old;
    e = st->ops->dispute_get_by_payment(st, p.id, &old);
    if (e == ERR_OK)
        return ERR_ALREADY_DISPUTED;
    if (e != ERR_NOT_FOUND)
        return e;
    memset(d, 0, sizeof *d);
    d->customer_id = customer_id;
    d->payment_id = p.id;
    d->amount = p.amount;
    snprintf(d->reason, sizeof d->reason, "%s", reason);
    snprintf(d->status, sizeof d->status, "%s", DISPUTE_STATUS_OPEN);
    snprintf(d->idem_key, sizeof d->idem_key, "%s", idem_key);
    d->created_ms = a->now;
    set_bad(bad, NULL);
    return ERR_OK;
}

static json_t *detail(const struct dispute *d)
{
    char id[IDS_BUF], pid[IDS_BUF];
    return json_pack("{s:s, s:s, s:I}", "dispute", ids_format(id, DISPUTE_ID_PREFIX, d->id), "payment",
                     ids_format(pid, PAYMENT_ID_PREFIX, d->payment_id), "amount", (json_int_t)d->amount);
}

static enum err mail(struct store *st, const uint8_t *master_key, int64_t now, int64_t customer_id,
                     const char *subject, const char *body)
{
    struct customer c;
    enum err e = st->ops->customer_get(st, customer_id, &c);
    char to[EMAIL_MAX + 1];
    snprintf(to, sizeof to, "%s", e == ERR_OK ? c.email : "");
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    if (e != ERR_OK)
        return e;
    return notify_enqueue(st, master_key, now, to, subject, body);
}

static enum err filed(const struct auth_ctx *a, int64_t device_id, struct dispute *d)
{
    struct store *st = a->st;
    enum err e = st->ops->dispute_insert(st, d);
    if (e == ERR_CONFLICT)
        return ERR_ALREADY_DISPUTED; /* a concurrent filing won the payment's one report */
    char actor[IDS_BUF], id[IDS_BUF], tid[IDS_BUF], when[TIME_ISO_BUF], body[768];
    if (e == ERR_OK)
        e = audit_record(st, a->now, audit_customer_actor(actor, d->customer_id), d->customer_id, "dispute_filed",
                         AUDIT_SUCCESS, a->client_addr, device_id, detail(d));
    if (e != ERR_OK)
        return e;
    snprintf(body, sizeof body,
             "We received your report %s: you told us that transaction %s of %lld yen is not yours (%s).\n"
             "Our fraud team will look into it and write to you with the outcome.\n\n"
             "If you did not send this report, contact support at once.",
             ids_format(id, DISPUTE_ID_PREFIX, d->id), ids_format(tid, HISTORY_ID_PREFIX, d->payment_id),
             (long long)d->amount, time_iso8601(when, a->now));
    return mail(st, a->master_key, a->now, d->customer_id, "We received your fraud report", body);
}

enum err dispute_file(const struct auth_ctx *a, int64_t customer_id, int64_t device_id, int64_t payment_id,
                      const char *reason, const char *idem_key, struct dispute *out, bool *replayed,
                      const char **bad)
{
    set_bad(bad, NULL);
    *replayed = false;
    if (!dispute_text_ok(reason, DISPUTE_REASON_MAX)) {
        set_bad(bad, "reason");
        return ERR_INVALID_PARAM;
    }
    if (!idem_key_valid(idem_key)) {
        set_bad(bad, "Idempotency-Key");
        return ERR_INVALID_PARAM;
    }
    enum err e = auth_begin(a);
    if (e != ERR_OK)
        return e;
    struct dispute d;
    bool replay = false;
    e = admissible(a, customer_id, payment_id, reason, idem_key, &d, &replay, bad);
    if (e == ERR_OK && !replay)
        e = filed(a, device_id, &d);
    e = auth_end(a, e == ERR_OK, e);
    if (e == ERR_OK) {
        *out = d;
        *replayed = replay;
        return ERR_OK;
    }
    if (e == ERR_NOT_FOUND || e == ERR_NOT_DISPUTABLE || e == ERR_ALREADY_DISPUTED ||
        e == ERR_DISPUTE_WINDOW_CLOSED) {
        /* Refused: on record (autocommit), a customer probing others' ids shows. */
        char actor[IDS_BUF], tid[IDS_BUF];
        (void)audit_record(a->st, a->now, audit_customer_actor(actor, customer_id), customer_id, "dispute_filed",
                           AUDIT_FAILURE, a->client_addr, device_id,
                           json_pack("{s:s, s:s}", "error", err_symbol(e), "transaction",
                                     ids_format(tid, HISTORY_ID_PREFIX, payment_id)));
    }
    return e;
}

enum err dispute_get_own(struct store *st, int64_t customer_id, int64_t id, struct dispute *out)
{
    enum err e = st->ops->dispute_get(st, id, out);
    if (e == ERR_OK && out->customer_id != customer_id)
        return ERR_NOT_FOUND;
    return e;
}

enum err dispute_reject(const struct auth_ctx *a, int64_t staff_id, int64_t id, const char *note,
                        struct dispute *out, const char **bad)
{
    set_bad(bad, NULL);
    if (!dispute_text_ok(note, DISPUTE_NOTE_MAX)) {
        set_bad(bad, "note");
        return ERR_INVALID_PARAM;
    }
    struct store *st = a->st;
    enum err e = auth_begin(a);
    if (e != ERR_OK)
        return e;
    struct dispute d;
    e = st->ops->dispute_get(st, id, &d);
    if (e == ERR_OK)
        e = st->ops->dispute_decide(st, id, DISPUTE_STATUS_REJECTED, staff_id, a->now, note, 0);
    char by[IDS_BUF], did[IDS_BUF], tid[IDS_BUF], body[768];
    if (e == ERR_OK) {
        snprintf(d.status, sizeof d.status, "%s", DISPUTE_STATUS_REJECTED);
        d.decided_by = staff_id;
        d.decided_ms = a->now;
        snprintf(d.note, sizeof d.note, "%s", note);
        json_t *x = detail(&d);
        json_object_set_new(x, "note", json_string(note));
        e = audit_record(st, a->now, staff_public_id(staff_id, by), d.customer_id, "dispute_rejected", AUDIT_SUCCESS,
                         a->client_addr, 0, x);
    }
    if (e == ERR_OK) {
        snprintf(body, sizeof body,
                 "We looked into your report %s about transaction %s of %lld yen and closed it without a refund.\n"
                 "Our note: %s\n\nIf you have more to tell us, contact support.",
                 ids_format(did, DISPUTE_ID_PREFIX, d.id), ids_format(tid, HISTORY_ID_PREFIX, d.payment_id),
                 (long long)d.amount, note);
        e = mail(st, a->master_key, a->now, d.customer_id, "Your fraud report is closed", body);
    }
    e = auth_end(a, e == ERR_OK, e);
    if (e == ERR_OK)
        *out = d;
    return e;
}

enum err dispute_check_reversal(struct store *st, int64_t id, int64_t payment_id)
{
    struct dispute d;
    enum err e = st->ops->dispute_get(st, id, &d);
    if (e != ERR_OK)
        return e;
    if (d.payment_id != payment_id)
        return ERR_INVALID_PARAM;
    return strcmp(d.status, DISPUTE_STATUS_OPEN) == 0 ? ERR_OK : ERR_CONFLICT;
}

enum err dispute_resolve(struct store *st, const uint8_t *master_key, int64_t now, const char *client_addr,
                         int64_t id, int64_t staff_id, int64_t reversal_id, int64_t amount)
{
    struct dispute d;
    enum err e = st->ops->dispute_get(st, id, &d);
    if (e == ERR_OK)
        e = st->ops->dispute_decide(st, id, DISPUTE_STATUS_RESOLVED, staff_id, now, "", reversal_id);
    if (e != ERR_OK)
        return e;
    d.id = id;
    d.reversal_id = reversal_id;
    char by[IDS_BUF], did[IDS_BUF], rid[IDS_BUF], tid[IDS_BUF], body[768];
    json_t *x = detail(&d);
    json_object_set_new(x, "reversal", json_string(ids_format(rid, REVERSAL_ID_PREFIX, reversal_id)));
    json_object_set_new(x, "refunded", json_integer(amount));
    e = audit_record(st, now, staff_public_id(staff_id, by), d.customer_id, "dispute_resolved", AUDIT_SUCCESS,
                     client_addr, 0, x);
    if (e != ERR_OK)
        return e;
    snprintf(body, sizeof body,
             "We looked into your report %s about transaction %s and agree it was not yours:\n"
             "we gave back %lld yen to your wallet.",
             ids_format(did, DISPUTE_ID_PREFIX, id), ids_format(tid, HISTORY_ID_PREFIX, d.payment_id),
             (long long)amount);
    return mail(st, master_key, now, d.customer_id, "Your fraud report is resolved", body);
}

json_t *dispute_json(const struct dispute *d, bool staff)
{
    char id[IDS_BUF], tid[IDS_BUF], pid[IDS_BUF];
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o}", "id",
                          ids_format(id, DISPUTE_ID_PREFIX, d->id), "transaction_id",
                          ids_format(tid, HISTORY_ID_PREFIX, d->payment_id), "payment_id",
                          ids_format(pid, PAYMENT_ID_PREFIX, d->payment_id), "amount", (json_int_t)d->amount, "reason",
                          d->reason, "status", d->status, "created_at", json_time_or_null(d->created_ms), "decided_at",
                          json_time_or_null(d->decided_ms), "note", d->note[0] ? json_string(d->note) : json_null(),
                          "reversal", json_id_or_null(REVERSAL_ID_PREFIX, d->reversal_id));
    if (o && staff) {
        char cid[IDS_BUF];
        if (json_object_set_new(o, "customer", json_string(ids_format(cid, CUSTOMER_ID_PREFIX, d->customer_id))) !=
                0 ||
            json_object_set_new(o, "decided_by", json_id_or_null(STAFF_ID_PREFIX, d->decided_by)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
