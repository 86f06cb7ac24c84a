/* risk_config.h: the risk engine's thresholds and scores (docs/risk.md).
 *
 * Plain data, so that util/config.h can embed it: every field is one row of
 * the settings table in util/config.c, section [risk], key "risk_" + the
 * field's name (risk_challenge_score, env KESSAI_RISK_CHALLENGE_SCORE), with
 * its bounds there.  What the bounds cannot say (the three decision scores
 * in order, the list of high-resale categories) risk_config_check says.
 *
 * Threshold convention: a rule fires when the observed value is ABOVE its
 * threshold ("may have 10 payments an hour": the 11th fires); the two
 * timing rules say otherwise where they do (a purchase WITHIN
 * resale_window_s of a top-up).  A score of 0 switches its rule off.
 * Windows are in seconds; amounts in yen.
 */
#ifndef KESSAI_RISK_RISK_CONFIG_H
#define KESSAI_RISK_RISK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define RISK_CATEGORIES_STR 256 /* the comma-separated list, as configured */
#define RISK_CATEGORIES_MAX 16  /* names in it */
#define RISK_CATEGORY_MAX 32    /* bytes of one name: [a-z0-9_-], as items' categories (docs/payments.md) */
#define RISK_WINDOW_MAX_S (30 * 86400)
#define RISK_MAX_KEYS_MIN 64
#define RISK_MAX_KEYS_MAX (16 * 1024 * 1024)
/* "Accounts per device", "cards per device", "new senders per recipient"
 * are counted in a set of RISK_SET_SIZE members per key: a threshold must
 * leave room to see one more. */
#define RISK_SET_SIZE 16
#define RISK_SET_THRESHOLD_MAX (RISK_SET_SIZE - 1)

struct risk_config {
    /* decision: total score -> verdict (challenge <= hold <= deny) */
    int64_t challenge_score;
    int64_t hold_score;
    int64_t deny_score;
    int64_t max_keys; /* keys tracked in memory (customers, devices, cards, stores, …); the oldest go first */
    /* new device or recently reset password (flags the caller sets) */
    int64_t new_device_score;
    int64_t password_reset_score;
    int64_t account_new_s; /* an account younger than this is "new" (RISK_F_ACCOUNT_NEW; risk_account_is_new) */
    /* velocity: count and amount per key over a sliding window */
    int64_t velocity_score; /* per threshold crossed */
    int64_t velocity_customer_window_s;
    int64_t velocity_customer_count;
    int64_t velocity_customer_amount;
    int64_t velocity_device_window_s;
    int64_t velocity_device_count;
    int64_t velocity_device_amount;
    int64_t velocity_card_window_s;
    int64_t velocity_card_count;
    int64_t velocity_card_amount;
    int64_t velocity_store_window_s;
    int64_t velocity_store_count;
    int64_t velocity_store_amount;
    int64_t velocity_terminal_window_s;
    int64_t velocity_terminal_count;
    int64_t velocity_terminal_amount;
    /* a top-up, then within the window a payment at a high-resale category */
    char resale_categories[RISK_CATEGORIES_STR]; /* "tobacco,giftcards,electronics,e_cigarette" */
    int64_t resale_window_s;
    int64_t resale_min_amount; /* smaller purchases (a pack of cigarettes) stay quiet */
    int64_t resale_score;
    /* impossible travel between two stores */
    int64_t travel_max_kmh; /* faster than the Shinkansen: 300 */
    int64_t travel_min_km;  /* nearer than this is never impossible (coordinates, clocks) */
    int64_t travel_score;
    /* one device or one address used by many accounts */
    int64_t shared_device_accounts;
    int64_t shared_device_window_s;
    int64_t shared_device_score;
    int64_t shared_addr_accounts;
    int64_t shared_addr_window_s;
    int64_t shared_addr_score;
    /* the same rules for a login (same windows), where they mean credential
     * stuffing: the attempts fail (every login needs the second factor), so
     * a firing refuses the attempt outright (docs/risk.md) */
    int64_t login_shared_device_accounts;
    int64_t login_shared_device_score;
    int64_t login_shared_addr_accounts;
    int64_t login_shared_addr_score;
    /* card testing: always deny (a hard rule, no score) */
    int64_t card_declines;  /* declines per customer, device or address in card_window_s */
    int64_t card_window_s;
    int64_t card_cards;     /* distinct cards per customer or device in card_cards_window_s */
    int64_t card_cards_window_s;
    /* P2P fan-in: many new accounts sending to one (money mule) */
    int64_t fan_in_senders;
    int64_t fan_in_window_s;
    int64_t fan_in_score;
    /* refunds at one store */
    int64_t refund_count;
    int64_t refund_amount;
    int64_t refund_window_s;
    int64_t refund_score;
    /* P2P: a large first transfer to a new account (a scam's payee) */
    int64_t new_payee_amount; /* at least this fires */
    int64_t new_payee_score;
    /* a new account passing on what it received by P2P (a money mule) */
    int64_t mule_window_s;
    int64_t mule_min_inflow; /* P2P received in the window, at least */
    int64_t mule_share;      /* percent of it the account may send or spend (net of its own top-ups) */
    int64_t mule_score;
    /* a refund of high-resale goods (resale_categories, at least
     * resale_min_amount) soon after the charge; the store refunding the
     * same payer again */
    int64_t refund_fast_s;
    int64_t refund_fast_score;
    int64_t refund_payer_window_s;
    int64_t refund_payer_score;
};

/* The defaults of docs/risk.md: ordinary customers (a few payments a day at
 * nearby stores, a weekly top-up, money to a friend) are allowed. */
void risk_config_defaults(struct risk_config *c);

/* ERR_OK if the list is 1 to RISK_CATEGORIES_MAX comma-separated names of
 * 1 to RISK_CATEGORY_MAX characters of [a-z0-9_-]; else ERR_INVALID_PARAM
 * and a message in errbuf (n bytes). */
enum err risk_categories_check(const char *list, char *errbuf, size_t n);

/* Everything the settings table cannot check on its own, naming the setting
 * in errbuf: ERR_INVALID_PARAM if the decision scores are out of order or
 * the category list is malformed. */
enum err risk_config_check(const struct risk_config *c, char *errbuf, size_t n);

/* Is an account created at created_ms new at now (account_new_s)? */
int risk_account_is_new(const struct risk_config *c, int64_t created_ms, int64_t now);

#endif
