#include "wallet/payment_feed.h"

#include "notify/feed.h"
#include "util/email.h"
#include "util/ids.h"
#include "wallet/payment.h"

enum err payment_feed_paid(struct store *st, int64_t now, const struct payment *p, const char *counterparty,
                           const char *payer_email, int64_t payer_balance, int64_t payee_balance)
{
    char id[IDS_BUF], who[EMAIL_MASKED_MAX + 1];
    ids_format(id, PAYMENT_ID_PREFIX, p->id);
    if (p->kind != PAYMENT_P2P)
        return feed_queue(st, now, p->customer_id, "payment.debited",
                          json_pack("{s:s, s:I, s:s, s:I}", "payment", id, "amount", (json_int_t)p->amount, "store",
                                    counterparty, "balance_after", (json_int_t)payer_balance));
    email_mask(counterparty, who); /* never the other customer's full address */
    enum err e = feed_queue(st, now, p->customer_id, "p2p.sent",
                            json_pack("{s:s, s:I, s:s, s:I}", "payment", id, "amount", (json_int_t)p->amount, "to", who,
                                      "balance_after", (json_int_t)payer_balance));
    if (e != ERR_OK || p->counterparty_id <= 0)
        return e;
    email_mask(payer_email, who);
    return feed_queue(st, now, p->counterparty_id, "p2p.received",
                      json_pack("{s:s, s:I, s:s, s:I}", "payment", id, "amount", (json_int_t)p->amount, "from", who,
                                "balance_after", (json_int_t)payee_balance));
}

enum err payment_feed_refunded(struct store *st, int64_t now, const struct payment *p, const char *counterparty,
                               int64_t amount, bool is_void, int64_t balance)
{
    char id[IDS_BUF];
    ids_format(id, PAYMENT_ID_PREFIX, p->id);
    return feed_queue(st, now, p->customer_id, "refund.credited",
                      json_pack("{s:s, s:s, s:I, s:s, s:I}", "payment", id, "kind", is_void ? "void" : "refund",
                                "amount", (json_int_t)amount, "from", counterparty, "balance_after",
                                (json_int_t)balance));
}
