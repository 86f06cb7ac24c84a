#include "wallet/wallet_feed.h"

#include "notify/feed.h"
#include "util/ids.h"

enum err wallet_feed_card_linked(struct store *st, int64_t now, const struct card *c)
{
    char id[IDS_BUF];
    return feed_queue(st, now, c->customer_id, "card.linked",
                      json_pack("{s:s, s:s, s:s}", "card", ids_format(id, CARD_ID_PREFIX, c->id), "brand", c->brand,
                                "last4", c->last4));
}

enum err wallet_feed_topup_credited(struct store *st, int64_t now, const struct topup *t, const char *source,
                                    int64_t balance)
{
    char id[IDS_BUF];
    return feed_queue(st, now, t->customer_id, "topup.credited",
                      json_pack("{s:s, s:I, s:s, s:I}", "topup", ids_format(id, TOPUP_ID_PREFIX, t->id), "amount",
                                (json_int_t)t->amount, "source", source, "balance_after", (json_int_t)balance));
}
