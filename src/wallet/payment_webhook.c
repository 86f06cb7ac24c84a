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

static enum err queue(struct store *st, int64_t now, int64_t merchant_id, const char *type, int64_t transfer_id,
                      json_t *data)
{
    if (data == NULL)
        return ERR_NOMEM;
    char evt[IDS_BUF];
    enum err e = webhook_queue(st, now, merchant_id, type, ids_format(evt, WEBHOOK_EVENT_ID_PREFIX, transfer_id), data);
    json_decref(data);
    return e;
}

enum err payment_webhook_paid(struct store *st, int64_t now, const struct payment *p, const char *store_name)
{
    if (p->kind == PAYMENT_P2P || p->merchant_id <= 0)
        return ERR_OK;
    return queue(st, now, p->merchant_id, WEBHOOK_PAYMENT_SUCCEEDED, p->id,
                 json_pack("{s:o}", "charge", charge_json(p, store_name)));
}

enum err payment_webhook_reversed(struct store *st, int64_t now, const struct payment *p, const char *store_name,
                                  int64_t refund_id, int64_t amount, int64_t created_ms, bool is_void)
{
    if (p->kind == PAYMENT_P2P || p->merchant_id <= 0)
        return ERR_OK;
    char rid[IDS_BUF], at[TIME_ISO_BUF];
    return queue(st, now, p->merchant_id, is_void ? WEBHOOK_CHARGE_VOIDED : WEBHOOK_REFUND_SUCCEEDED, refund_id,
                 json_pack("{s:{s:s, s:s, s:I, s:s}, s:o}", "refund", "id",
                           ids_format(rid, PAYMENT_REFUND_ID_PREFIX, refund_id), "kind", is_void ? "void" : "refund",
                           "amount", (json_int_t)amount, "created_at", time_iso8601(at, created_ms), "charge",
                           charge_json(p, store_name)));
}
