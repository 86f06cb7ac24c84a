#include "risk/risk_config.h"

#include <stdio.h>
#include <string.h>

void risk_config_defaults(struct risk_config *c)
{
    memset(c, 0, sizeof *c);
    c->challenge_score = 50;
    c->hold_score = 80;
    c->deny_score = 120;
    /* About 300 bytes a key, resident only as keys come into use (the
     * arrays are mapped once, zero pages until written): up to ~300 MB for
     * the ~150,000 customers active within a day's windows that fit (a
     * customer is about 6 keys: the account, the phone twice, cards, the
     * address and stores shared with others). */
    c->max_keys = 1048576;
    /* Either alone is an ordinary new phone or a forgotten password; both
     * together are the take-over of the wallet this project replaces. */
    c->new_device_score = 25;
    c->password_reset_score = 25;
    c->account_new_s = 7 * 86400;
    c->velocity_score = 30;
    /* Money moving in and out of one wallet; the per-payment and daily
     * limits of the wallet (pay_max 100,000, topup_daily_max 100,000) stay
     * the hard caps, these catch the pace. */
    c->velocity_customer_window_s = 3600;
    c->velocity_customer_count = 10;
    c->velocity_customer_amount = 150000;
    /* One phone across every account it signs in to. */
    c->velocity_device_window_s = 3600;
    c->velocity_device_count = 15;
    c->velocity_device_amount = 200000;
    /* One card's top-ups, on any account. */
    c->velocity_card_window_s = 86400;
    c->velocity_card_count = 5;
    c->velocity_card_amount = 100000;
    /* A busy station store takes a payment every few seconds. */
    c->velocity_store_window_s = 600;
    c->velocity_store_count = 1000;
    c->velocity_store_amount = 5000000;
    c->velocity_terminal_window_s = 600;
    c->velocity_terminal_count = 200;
    c->velocity_terminal_amount = 1000000;
    /* Store categories (merchant.h) where stolen balances were spent, and
     * the item category a register sends for e-cigarette cartridges. */
    snprintf(c->resale_categories, sizeof c->resale_categories, "tobacco,giftcards,electronics,e_cigarette");
    c->resale_window_s = 1800;
    c->resale_min_amount = 5000;
    c->resale_score = 40;
    c->travel_max_kmh = 300;
    c->travel_min_km = 30;
    c->travel_score = 60;
    c->shared_device_accounts = 3;
    c->shared_device_window_s = 86400;
    c->shared_device_score = 40;
    /* Mobile carriers put many subscribers behind one IPv4 address (CGNAT):
     * a weak signal, a high threshold. */
    c->shared_addr_accounts = 10;
    c->shared_addr_window_s = 3600;
    c->shared_addr_score = 20;
    /* Logins: a phone trying a fourth account in a day is working through
     * a list; an address is refused only at the most a set can see (15),
     * so that a carrier's shared address still lets its customers in while
     * a stuffing run slow enough to pass auth/throttle.h (5 failed
     * addresses in 10 minutes) is stopped within the hour.  The scores are
     * the deny line: a login has nothing smaller to ask for (the second
     * factor is always required). */
    c->login_shared_device_accounts = 3;
    c->login_shared_device_score = 120;
    c->login_shared_addr_accounts = 15;
    c->login_shared_addr_score = 120;
    /* As wallet/card_limits.h: the 5th decline in an hour blocks the source. */
    c->card_declines = 4;
    c->card_window_s = 3600;
    c->card_cards = 3;
    c->card_cards_window_s = 86400;
    c->fan_in_senders = 3;
    c->fan_in_window_s = 86400;
    c->fan_in_score = 80;
    c->refund_count = 20;
    c->refund_amount = 300000;
    c->refund_window_s = 3600;
    c->refund_score = 80;
    /* An authorised-push-payment scam: the victim, talked into it, sends
     * with their own phone and second factor to an account opened for the
     * purpose.  Friends send each other a few thousand yen; a first
     * transfer of 10,000 or more to a days-old account waits for review. */
    c->new_payee_amount = 10000;
    c->new_payee_score = 80;
    /* A mule passes the money on within hours (before the victim reports
     * it); a window of a day is not escaped by waiting an hour.  The
     * inflow threshold is the large-transfer amount above: a sum held when
     * sent in one piece is held too when it arrives in pieces (smurfing)
     * and more than half of it (beyond the account's own top-ups) leaves
     * again within the day. */
    c->mule_window_s = 86400;
    c->mule_min_inflow = 10000;
    c->mule_share = 50;
    c->mule_score = 80;
    /* A clerk's accomplice keeps the gift cards and gets the money back: a
     * genuine return of them is rare within a day (gift cards and tobacco
     * are not returned at all) and one of cheap goods stays quiet. */
    c->refund_fast_s = 86400;
    c->refund_fast_score = 80;
    /* Returning twice to one store within a month is rare; cycling the
     * same money through one accomplice is the scheme. */
    c->refund_payer_window_s = 30 * 86400;
    c->refund_payer_score = 80;
}

static int category_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

enum err risk_categories_check(const char *list, char *errbuf, size_t n)
{
    size_t names = 0, len = 0;
    for (const char *p = list;; p++) {
        if (*p == ',' || *p == '\0') {
            if (len == 0) {
                snprintf(errbuf, n, "expected comma-separated category names, found an empty one");
                return ERR_INVALID_PARAM;
            }
            if (++names > RISK_CATEGORIES_MAX) {
                snprintf(errbuf, n, "at most %d categories", RISK_CATEGORIES_MAX);
                return ERR_INVALID_PARAM;
            }
            len = 0;
            if (*p == '\0')
                return ERR_OK;
            continue;
        }
        if (!category_char(*p) || ++len > RISK_CATEGORY_MAX) {
            snprintf(errbuf, n, "a category is 1 to %d characters of a-z, 0-9, _ and -", RISK_CATEGORY_MAX);
            return ERR_INVALID_PARAM;
        }
    }
}

enum err risk_config_check(const struct risk_config *c, char *errbuf, size_t n)
{
    /* What the engine itself relies on (a window to divide, a set large
     * enough to see one account more than allowed), for callers that fill
     * the struct without the settings table (tests, the benchmark).  The
     * table's bounds are the same or narrower. */
    const struct {
        const char *name;
        int64_t v, lo, hi;
    } need[] = {
        {"risk_max_keys", c->max_keys, RISK_MAX_KEYS_MIN, RISK_MAX_KEYS_MAX},
        {"risk_velocity_customer_window_s", c->velocity_customer_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_velocity_device_window_s", c->velocity_device_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_velocity_card_window_s", c->velocity_card_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_velocity_store_window_s", c->velocity_store_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_velocity_terminal_window_s", c->velocity_terminal_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_resale_window_s", c->resale_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_shared_device_window_s", c->shared_device_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_shared_addr_window_s", c->shared_addr_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_card_window_s", c->card_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_card_cards_window_s", c->card_cards_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_fan_in_window_s", c->fan_in_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_refund_window_s", c->refund_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_mule_window_s", c->mule_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_mule_share", c->mule_share, 0, 100},
        {"risk_refund_fast_s", c->refund_fast_s, 1, RISK_WINDOW_MAX_S},
        {"risk_refund_payer_window_s", c->refund_payer_window_s, 1, RISK_WINDOW_MAX_S},
        {"risk_shared_device_accounts", c->shared_device_accounts, 1, RISK_SET_THRESHOLD_MAX},
        {"risk_shared_addr_accounts", c->shared_addr_accounts, 1, RISK_SET_THRESHOLD_MAX},
        {"risk_login_shared_device_accounts", c->login_shared_device_accounts, 1, RISK_SET_THRESHOLD_MAX},
        {"risk_login_shared_addr_accounts", c->login_shared_addr_accounts, 1, RISK_SET_THRESHOLD_MAX},
        {"risk_card_cards", c->card_cards, 1, RISK_SET_THRESHOLD_MAX},
        {"risk_fan_in_senders", c->fan_in_senders, 1, RISK_SET_THRESHOLD_MAX},
        {"risk_travel_max_kmh", c->travel_max_kmh, 1, 100000},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (need[i].v < need[i].lo || need[i].v > need[i].hi) {
            snprintf(errbuf, n, "%s: expected an integer from %lld to %lld", need[i].name, (long long)need[i].lo,
                     (long long)need[i].hi);
            return ERR_INVALID_PARAM;
        }
    }
    char why[160];
    if (risk_categories_check(c->resale_categories, why, sizeof why) != ERR_OK) {
        snprintf(errbuf, n, "risk_resale_categories: %s", why);
        return ERR_INVALID_PARAM;
    }
    if (c->challenge_score > c->hold_score) {
        snprintf(errbuf, n, "risk_challenge_score: must not exceed risk_hold_score (%lld)", (long long)c->hold_score);
        return ERR_INVALID_PARAM;
    }
    if (c->hold_score > c->deny_score) {
        snprintf(errbuf, n, "risk_hold_score: must not exceed risk_deny_score (%lld)", (long long)c->deny_score);
        return ERR_INVALID_PARAM;
    }
    return ERR_OK;
}

int risk_account_is_new(const struct risk_config *c, int64_t created_ms, int64_t now)
{
    return now - created_ms < c->account_new_s * 1000;
}
