/* config.h: settings for kessaid and kessai.
 *
 * Precedence, lowest first: built-in defaults, the INI file (--config FILE,
 * parsed by libinih), KESSAI_* environment variables, command-line flags.
 * Every setting is one row of the table in config.c with its section, key,
 * type and bounds; the environment name is KESSAI_ + the key in capitals
 * (data_dir -> KESSAI_DATA_DIR).  A value out of bounds or of the wrong type
 * is an error naming the setting, never silently clamped.  Every row is
 * documented for operators in docs/configuration.md ([risk]: docs/risk.md);
 * tests/unit/test_util.c fails when one is not.
 */
#ifndef KESSAI_UTIL_CONFIG_H
#define KESSAI_UTIL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "risk/risk_config.h" /* plain data: the [risk] settings */
#include "util/err.h"

#define CONFIG_STR 512
#define CONFIG_ERRBUF 256

struct config {
    char listen[CONFIG_STR];   /* HOST:PORT, e.g. 127.0.0.1:8080 */
    char data_dir[CONFIG_STR]; /* SQLite store and master key live here */
    char log_level[16];
    int64_t threads;           /* HTTP worker threads; 0 = one per core */
    int64_t max_body_bytes;
    int64_t max_connections;
    int64_t max_connections_per_ip;
    int64_t connection_timeout_s;
    int64_t header_memory_bytes; /* per-connection memory for headers */
    int64_t ledger_batch_max;    /* most transfers per durable commit */
    int64_t auth_workers;        /* threads for password hashing; 0 = one per core */
    int64_t session_idle_s;
    int64_t session_absolute_s;
    int64_t new_device_cooldown_s;
    int64_t reset_cooldown_s;
    /* wallet: top-up limits in yen (wallet/topup.h) */
    int64_t wallet_workers;           /* threads for card, top-up and payment work (mostly waiting); 0 = one per core */
    int64_t topup_balance_cap;        /* wallet balance after a top-up */
    int64_t topup_max;                /* one top-up */
    int64_t topup_daily_max;          /* top-ups of one account in 24 h */
    int64_t topup_monthly_max;        /* top-ups of one account in 30 days */
    int64_t topup_new_device_daily_max; /* 24 h total while the device (or account, after a reset) cools down */
    int64_t topup_new_card_daily_max;   /* 24 h total from a card linked less than card_new_s ago */
    int64_t card_new_s;               /* how long a newly linked card counts as new */
    int64_t topup_mfa_threshold;      /* a card top-up above this needs a fresh second factor */
    /* payments (wallet/payment.h): limits in yen per customer */
    int64_t pay_max;                  /* one payment at a store (code or store QR) */
    int64_t pay_daily_max;            /* payments in the calendar day (JST) */
    int64_t pay_monthly_max;          /* payments in the calendar month (JST) */
    int64_t pay_new_device_daily_max; /* day total while the paying device (or account, after a reset) cools down */
    int64_t pay_mfa_threshold;        /* a store-QR payment above this needs a fresh second factor */
    int64_t offline_pay_max;          /* one payment with an offline code */
    int64_t offline_daily_max;        /* offline-code payments in the day */
    int64_t p2p_max;                  /* one transfer to another customer */
    int64_t p2p_daily_max;            /* transfers sent in the day */
    int64_t p2p_mfa_threshold;        /* the day's transfers above this need a fresh second factor */
    int64_t void_window_s;            /* a register may void its charge this long after it */
    int64_t charge_confirm_timeout_s; /* a challenged register charge waits this long for the customer */
    /* mail (notify/smtp.h): smtp_url "" delivers into DATA_DIR/mail (notify/mailspool.h) */
    char smtp_url[256];      /* smtp://host[:port] (STARTTLS) or smtps://host[:port] */
    char smtp_from[256];     /* the sender address of every message */
    char smtp_user[256];     /* "" : no authentication */
    char smtp_password[256]; /* better given as KESSAI_SMTP_PASSWORD than in the file */
    /* operations (ops/reversal.h) */
    int64_t reversal_approval_threshold; /* a fraud reversal above this (yen) waits for a second staff member */
    /* what one staff member may give back without a second one in 24 h,
     * over all payments (yen): past it every reversal waits for approval */
    int64_t reversal_staff_unapproved_daily;
    int64_t dispute_window_days;         /* a customer may report a payment this many days after it (ops/dispute.h) */
    /* the review queue (wallet/review.h; section [risk], no risk_ prefix:
     * not a rule's threshold) */
    int64_t review_hold_expiry_s;    /* a held payment or transfer lapses this long after it was held */
    int64_t review_sweep_interval_s; /* how often kessaid expires lapsed ones and mails their customers */
    /* the risk engine (risk/risk_config.h; section [risk], keys risk_*) */
    struct risk_config risk;
};

void config_defaults(struct config *c);
/* What single settings cannot show: settings that contradict each other
 * (risk_config_check).  ERR_INVALID_PARAM naming the setting in errbuf. */
enum err config_check(const struct config *c, char errbuf[CONFIG_ERRBUF]);
/* Set one key ("listen", "data_dir", …); the section is optional (NULL). */
enum err config_set(struct config *c, const char *section, const char *key, const char *value,
                    char errbuf[CONFIG_ERRBUF]);
/* Load an INI file; unknown keys and unreadable files are errors. */
enum err config_load_file(struct config *c, const char *path, char errbuf[CONFIG_ERRBUF]);
/* Apply every KESSAI_* variable that names a known key. */
enum err config_load_env(struct config *c, char errbuf[CONFIG_ERRBUF]);
/* The settings table, for whoever must list every setting (the test that
 * keeps docs/configuration.md complete): config_setting_count() rows, row i
 * (< count) has key config_setting_name(i, &section); section may be NULL.
 * NULL for i out of range.  The strings are static. */
size_t config_setting_count(void);
const char *config_setting_name(size_t i, const char **section);
/* Split c->listen into host (buffer of hostlen) and port. */
enum err config_listen_addr(const struct config *c, char *host, size_t hostlen, uint16_t *port);

#endif
