#include "wallet/payment_webhook.h"

#include "notify/webhook.h"
#include "merchant/merchant.h"
#include "util/ids.h"
#include "util/timeutil.h"
#include "wallet/payment.h"

static const char *status_name(const struct payment *p)
{
    if (p->voided)
        return "voided";
    if (p->refunded >= p->amount)
        return "refunded";
    return p->refunded > 0 ? "partially_refunded" : "succeeded";
}

/* The charge as the register's receipt shows it (pos_charges.c). */
static json_t *charge_json(const struct payment *p, const char *store_name)
{
    char id[IDS_BUF], sid[IDS_BUF], at[TIME_ISO_BUF];
    json_t *items = p->items[0] ? json_loads(p->items, 0, NULL) : json_array();
    if (items == NULL)
        items = json_array();
    return json_pack("{s:s, s:s, s:I, s:I, s:s, s:{s:s, s:s}, s:s, s:o}", "id", ids_format(id, PAYMENT_ID_PREFIX, p->id),
                     "kind", p->kind == PAYMENT_MPM ? "mpm" : "cpm", "amount", (json_int_t)p->amount, "refunded",
                     (json_int_t)p->refunded, "status", status_name(p), "store", "id",
                     ids_format(sid, MERCHANT_STORE_ID_PREFIX, p->store_id), "name", store_name, "created_at",
                     time_iso8601(at, p->created_ms), "items", items);
}

/* What an event is about, for its data builder (webhook_data_fn). */
struct event_of {
    const struct payment *p;
    const char *store_name;
    int64_t refund_id, amount, created_ms; /* reversals only */
    const char *kind;                      /* "refund", "void" or "reversal" */
    int64_t reversal_id;                   /* kind "reversal": the staff's fraud reversal */
};

static json_t *paid_data(const void *arg)
{
    const struct event_of *a = arg;
    return json_pack("{s:o}", "charge", charge_json(a->p, a->store_name));
}

static json_t *reversed_data(const void *arg)
{
    const struct event_of *a = arg;
    char rid[IDS_BUF], at[TIME_ISO_BUF], rev[IDS_BUF];
    json_t *d = json_pack("{s:{s:s, s:s, s:I, s:s}, s:o}", "refund", "id",
                          ids_format(rid, PAYMENT_REFUND_ID_PREFIX, a->refund_id), "kind", a->kind, "amount",
                          (json_int_t)a->amount, "created_at", time_iso8601(at, a->created_ms), "charge",
                          charge_json(a->p, a->store_name));
    if (d && a->reversal_id &&
        json_object_set_new(json_object_get(d, "refund"), "reversal",
                            json_string(ids_format(rev, REVERSAL_ID_PREFIX, a->reversal_id))) != 0) {
        json_decref(d);
        return NULL;
    }
    return d;
}

static enum err queue(struct store *st, int64_t now, const char *type, int64_t event_id, webhook_data_fn data,
                      const struct event_of *a)
{
    if (a->p->kind == PAYMENT_P2P || a->p->merchant_id <= 0)
        return ERR_OK;
    char evt[IDS_BUF];
    return webhook_queue(st, now, a->p->merchant_id, type, ids_format(evt, WEBHOOK_EVENT_ID_PREFIX, event_id), data,
                         a);
}

enum err payment_webhook_paid(struct store *st, int64_t now, const struct payment *p, const char *store_name)
{
    const struct event_of a = {.p = p, .store_name = store_name};
    return queue(st, now, WEBHOOK_PAYMENT_SUCCEEDED, p->id, paid_data, &a);
}

enum err payment_webhook_reversed(struct store *st, int64_t now, const struct payment *p, const char *store_name,
                                  int64_t refund_id, int64_t amount, int64_t created_ms, bool is_void)
{
    const struct event_of a = {
        .p = p, .store_name = store_name, .refund_id = refund_id, .amount = amount, .created_ms = created_ms,
        .kind = is_void ? "void" : "refund"};
    return queue(st, now, is_void ? WEBHOOK_CHARGE_VOIDED : WEBHOOK_REFUND_SUCCEEDED, refund_id, reversed_data, &a);
}

enum err payment_webhook_fraud_reversed(struct store *st, int64_t now, const struct payment *p,
                                        const char *store_name, int64_t refund_id, int64_t amount,
                                        int64_t created_ms, int64_t reversal_id)
{
    const struct event_of a = {
        .p = p, .store_name = store_name, .refund_id = refund_id, .amount = amount, .created_ms = created_ms,
        .kind = "reversal", .reversal_id = reversal_id};
    return queue(st, now, WEBHOOK_REFUND_SUCCEEDED, refund_id, reversed_data, &a);
}
