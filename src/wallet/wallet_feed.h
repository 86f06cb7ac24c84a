/* wallet_feed.h: the customers' live-feed events of cards and top-ups
 * (notify/feed.h), written in the same transaction as their mail (like
 * wallet_mail.h): "card.linked" (brand, last four digits: what the app
 * shows anyway) and "topup.credited" (amount, where from, balance after).
 * Returns feed_queue's result. */
#ifndef KESSAI_WALLET_WALLET_FEED_H
#define KESSAI_WALLET_WALLET_FEED_H

#include <stdint.h>

#include "store/store.h"
#include "wallet/wallet_types.h"

enum err wallet_feed_card_linked(struct store *st, int64_t now, const struct card *c);
enum err wallet_feed_topup_credited(struct store *st, int64_t now, const struct topup *t, const char *source,
                                    int64_t balance);

#endif
