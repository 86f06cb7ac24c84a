#include "wallet/payment_feed.h"

#include "notify/feed.h"
#include "util/email.h"
#include "util/ids.h"
#include "wallet/payment.h"

static enum err queue(struct store *st, int64_t now, int64_t customer_id, const char *type, json_t *data)
{
    if (data == NULL)
        return ERR_NOMEM;
    enum err e = feed_queue(st, now, customer_id, type, data);
    json_decref(data);
    return e;
}

enum err payment_feed_paid(struct store *st, int64_t now, const struct payment *p, const char *counterparty,
                           const char *payer_email, int64_t payer_balance, int64_t payee_balance)
{
    char id[IDS_BUF], who[EMAIL_MASKED_MAX + 1];
    ids_format(id, PAYMENT_ID_PREFIX, p->id);
    if (p->kind != PAYMENT_P2P)
        return queue(st, now, p->customer_id, "payment.debited",
                     json_pack("{s:s, s:I, s:s, s:I}", "payment", id, "amount", (json_int_t)p->amount, "store",
                               counterparty, "balance_after", (json_int_t)payer_balance));
    email_mask(counterparty, who); /* never the other customer's full address */
    enum err e = queue(st, now, p->customer_id, "p2p.sent",
                       json_pack("{s:s, s:I, s:s, s:I}", "payment", id, "amount", (json_int_t)p->amount, "to", who,
                                 "balance_after", (json_int_t)payer_balance));
    if (e != ERR_OK || p->counterparty_id <= 0)
        return e;
    email_mask(payer_email, who);
    return queue(st, now, p->counterparty_id, "p2p.received",
                 json_pack("{s:s, s:I, s:s, s:I}", "payment", id, "amount", (json_int_t)p->amount, "from", who,
                           "balance_after", (json_int_t)payee_balance));
}

enum err payment_feed_refunded(struct store *st, int64_t now, const struct payment *p, const char *counterparty,
                               int64_t amount, bool is_void, int64_t balance)
{
    char id[IDS_BUF];
    return queue(st, now, p->customer_id, "refund.credited",
                 json_pack("{s:s, s:s, s:I, s:s, s:I}", "payment", ids_format(id, PAYMENT_ID_PREFIX, p->id), "kind",
                           is_void ? "void" : "refund", "amount", (json_int_t)amount, "from", counterparty,
                           "balance_after", (json_int_t)balance));
}
