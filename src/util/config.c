#include "util/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/money.h"

enum ctype { C_STR, C_INT };

struct setting {
    const char *section;
    const char *key;
    enum ctype type;
    size_t offset;
    size_t size;      /* C_STR buffer size */
    int64_t min, max; /* C_INT bounds */
};

#define STR(sec, k) {sec, #k, C_STR, offsetof(struct config, k), sizeof(((struct config *)0)->k), 0, 0}
#define INT(sec, k, lo, hi) {sec, #k, C_INT, offsetof(struct config, k), 0, lo, hi}
/* [risk]: the fields of struct risk_config, keys prefixed "risk_" so that
 * every key (and KESSAI_ name) stays unique. */
#define RISK_INT(k, lo, hi) {"risk", "risk_" #k, C_INT, offsetof(struct config, risk.k), 0, lo, hi}
#define RISK_STR(k)                                                                                                  \
    {"risk", "risk_" #k, C_STR, offsetof(struct config, risk.k), sizeof(((struct config *)0)->risk.k), 0, 0}
#define SCORE_MAX 1000      /* one rule's score */
#define THRESHOLD_MAX 10000 /* a decision's score */
#define WINDOW(k) RISK_INT(k, 60, RISK_WINDOW_MAX_S)

/* A new row needs its line in docs/configuration.md (the table of its
 * section; [risk]: docs/risk.md), or test_util fails. */
static const struct setting settings[] = {
    STR("server", listen),
    STR("server", data_dir),
    STR("server", log_level),
    INT("server", threads, 0, 256),
    INT("server", max_body_bytes, 1024, 16 * 1024 * 1024),
    INT("server", max_connections, 1, 1000000),
    INT("server", max_connections_per_ip, 1, 1000000),
    INT("server", connection_timeout_s, 1, 3600),
    INT("server", header_memory_bytes, 8 * 1024, 1024 * 1024),
    INT("ledger", ledger_batch_max, 1, 65536),
    INT("auth", auth_workers, 0, 64),
    INT("auth", session_idle_s, 60, 86400),
    INT("auth", session_absolute_s, 300, 30 * 86400),
    INT("auth", new_device_cooldown_s, 0, 30 * 86400),
    INT("auth", reset_cooldown_s, 0, 30 * 86400),
    INT("wallet", wallet_workers, 0, 256),
    INT("wallet", topup_balance_cap, 1, 1000000000),
    INT("wallet", topup_max, 1, 1000000000),
    INT("wallet", topup_daily_max, 1, 1000000000),
    INT("wallet", topup_monthly_max, 1, 1000000000),
    INT("wallet", topup_new_device_daily_max, 0, 1000000000),
    INT("wallet", topup_new_card_daily_max, 0, 1000000000),
    INT("wallet", card_new_s, 0, 365 * 86400),
    INT("wallet", topup_mfa_threshold, 0, 1000000000),
    INT("payments", pay_max, 1, 1000000000),
    INT("payments", pay_daily_max, 1, 1000000000),
    INT("payments", pay_monthly_max, 1, 1000000000),
    INT("payments", pay_new_device_daily_max, 0, 1000000000),
    INT("payments", pay_mfa_threshold, 0, 1000000000),
    INT("payments", offline_pay_max, 0, 1000000000),
    INT("payments", offline_daily_max, 0, 1000000000),
    INT("payments", p2p_max, 1, 1000000000),
    INT("payments", p2p_daily_max, 1, 1000000000),
    INT("payments", p2p_mfa_threshold, 0, 1000000000),
    INT("payments", void_window_s, 0, 86400),
    INT("payments", charge_confirm_timeout_s, 1, 3600),
    STR("mail", smtp_url),
    STR("mail", smtp_from),
    STR("mail", smtp_user),
    STR("mail", smtp_password),
    INT("operations", reversal_approval_threshold, 0, 1000000000),
    INT("operations", reversal_staff_unapproved_daily, 0, 1000000000),
    INT("operations", dispute_window_days, 1, 3650),
    INT("risk", review_hold_expiry_s, 60, 30 * 86400),
    INT("risk", review_sweep_interval_s, 1, 3600),
    RISK_INT(challenge_score, 1, THRESHOLD_MAX),
    RISK_INT(hold_score, 1, THRESHOLD_MAX),
    RISK_INT(deny_score, 1, THRESHOLD_MAX),
    RISK_INT(max_keys, RISK_MAX_KEYS_MIN, RISK_MAX_KEYS_MAX),
    RISK_INT(new_device_score, 0, SCORE_MAX),
    RISK_INT(password_reset_score, 0, SCORE_MAX),
    RISK_INT(account_new_s, 0, 365 * 86400),
    RISK_INT(velocity_score, 0, SCORE_MAX),
    WINDOW(velocity_customer_window_s),
    RISK_INT(velocity_customer_count, 1, 10000000),
    RISK_INT(velocity_customer_amount, 1, MONEY_MAX),
    WINDOW(velocity_device_window_s),
    RISK_INT(velocity_device_count, 1, 10000000),
    RISK_INT(velocity_device_amount, 1, MONEY_MAX),
    WINDOW(velocity_card_window_s),
    RISK_INT(velocity_card_count, 1, 10000000),
    RISK_INT(velocity_card_amount, 1, MONEY_MAX),
    WINDOW(velocity_store_window_s),
    RISK_INT(velocity_store_count, 1, 10000000),
    RISK_INT(velocity_store_amount, 1, MONEY_MAX),
    WINDOW(velocity_terminal_window_s),
    RISK_INT(velocity_terminal_count, 1, 10000000),
    RISK_INT(velocity_terminal_amount, 1, MONEY_MAX),
    RISK_STR(resale_categories),
    WINDOW(resale_window_s),
    RISK_INT(resale_min_amount, 0, MONEY_MAX),
    RISK_INT(resale_score, 0, SCORE_MAX),
    RISK_INT(travel_max_kmh, 1, 100000),
    RISK_INT(travel_min_km, 0, 20000),
    RISK_INT(travel_score, 0, SCORE_MAX),
    RISK_INT(shared_device_accounts, 1, RISK_SET_THRESHOLD_MAX),
    WINDOW(shared_device_window_s),
    RISK_INT(shared_device_score, 0, SCORE_MAX),
    RISK_INT(shared_addr_accounts, 1, RISK_SET_THRESHOLD_MAX),
    WINDOW(shared_addr_window_s),
    RISK_INT(shared_addr_score, 0, SCORE_MAX),
    RISK_INT(login_shared_device_accounts, 1, RISK_SET_THRESHOLD_MAX),
    RISK_INT(login_shared_device_score, 0, SCORE_MAX),
    RISK_INT(login_shared_addr_accounts, 1, RISK_SET_THRESHOLD_MAX),
    RISK_INT(login_shared_addr_score, 0, SCORE_MAX),
    RISK_INT(card_declines, 0, 1000),
    WINDOW(card_window_s),
    RISK_INT(card_cards, 1, RISK_SET_THRESHOLD_MAX),
    WINDOW(card_cards_window_s),
    RISK_INT(fan_in_senders, 1, RISK_SET_THRESHOLD_MAX),
    WINDOW(fan_in_window_s),
    RISK_INT(fan_in_score, 0, SCORE_MAX),
    RISK_INT(refund_count, 1, 10000000),
    RISK_INT(refund_amount, 1, MONEY_MAX),
    WINDOW(refund_window_s),
    RISK_INT(refund_score, 0, SCORE_MAX),
    RISK_INT(new_payee_amount, 1, MONEY_MAX),
    RISK_INT(new_payee_score, 0, SCORE_MAX),
    WINDOW(mule_window_s),
    RISK_INT(mule_min_inflow, 1, MONEY_MAX),
    RISK_INT(mule_share, 0, 100),
    RISK_INT(mule_score, 0, SCORE_MAX),
    WINDOW(refund_fast_s),
    RISK_INT(refund_fast_score, 0, SCORE_MAX),
    WINDOW(refund_payer_window_s),
    RISK_INT(refund_payer_score, 0, SCORE_MAX),
};

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    snprintf(c->data_dir, sizeof c->data_dir, "./var");
    snprintf(c->log_level, sizeof c->log_level, "info");
    c->threads = 0;
    c->max_body_bytes = 64 * 1024;
    c->max_connections = 4096;
    c->max_connections_per_ip = 1024;
    c->connection_timeout_s = 30;
    c->header_memory_bytes = 32 * 1024;
    c->ledger_batch_max = 8192;
    c->auth_workers = 0;
    c->session_idle_s = 15 * 60;
    c->session_absolute_s = 12 * 3600;
    c->new_device_cooldown_s = 24 * 3600;
    c->reset_cooldown_s = 24 * 3600;
    c->wallet_workers = 16; /* they mostly wait (gateway, group commit), so more than one per core */
    c->topup_balance_cap = 100000;
    c->topup_max = 50000;
    c->topup_daily_max = 100000;
    c->topup_monthly_max = 300000;
    c->topup_new_device_daily_max = 10000;
    c->topup_new_card_daily_max = 20000;
    c->card_new_s = 3 * 86400;
    c->topup_mfa_threshold = 30000;
    c->pay_max = 100000;
    c->pay_daily_max = 200000;
    c->pay_monthly_max = 500000;
    c->pay_new_device_daily_max = 20000;
    c->pay_mfa_threshold = 30000;
    c->offline_pay_max = 5000;
    c->offline_daily_max = 10000;
    c->p2p_max = 50000;
    c->p2p_daily_max = 50000;
    c->p2p_mfa_threshold = 10000;
    c->void_window_s = 600;
    c->charge_confirm_timeout_s = 120;
    c->reversal_approval_threshold = 10000;
    c->reversal_staff_unapproved_daily = 30000;
    c->dispute_window_days = 60;
    c->review_hold_expiry_s = 86400;
    c->review_sweep_interval_s = 60;
    risk_config_defaults(&c->risk);
}

enum err config_check(const struct config *c, char errbuf[CONFIG_ERRBUF])
{
    return risk_config_check(&c->risk, errbuf, CONFIG_ERRBUF);
}

static enum err set_value(struct config *c, const struct setting *s, const char *value, char *errbuf)
{
    char *field = (char *)c + s->offset;
    if (s->type == C_STR) {
        size_t len = strlen(value);
        if (len == 0 || len >= s->size) {
            snprintf(errbuf, CONFIG_ERRBUF, "%s: value must be 1 to %zu characters", s->key, s->size - 1);
            return ERR_INVALID_PARAM;
        }
        char why[160];
        if (strcmp(s->key, "risk_resale_categories") == 0 && risk_categories_check(value, why, sizeof why) != ERR_OK) {
            snprintf(errbuf, CONFIG_ERRBUF, "%s: %s", s->key, why);
            return ERR_INVALID_PARAM; /* before the copy: a refused value changes nothing */
        }
        memcpy(field, value, len + 1);
        if (strcmp(s->key, "log_level") == 0 && log_level_parse(value) < 0) {
            snprintf(errbuf, CONFIG_ERRBUF, "log_level: expected debug, info, warn or error");
            return ERR_INVALID_PARAM;
        }
        return ERR_OK;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || v < s->min || v > s->max) {
        snprintf(errbuf, CONFIG_ERRBUF, "%s: expected an integer from %lld to %lld", s->key, (long long)s->min,
                 (long long)s->max);
        return ERR_INVALID_PARAM;
    }
    *(int64_t *)field = v;
    return ERR_OK;
}

enum err config_set(struct config *c, const char *section, const char *key, const char *value,
                    char errbuf[CONFIG_ERRBUF])
{
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const struct setting *s = &settings[i];
        if (strcmp(s->key, key) == 0 && (section == NULL || strcmp(section, s->section) == 0))
            return set_value(c, s, value, errbuf);
    }
    snprintf(errbuf, CONFIG_ERRBUF, "unknown setting %s%s%s", section ? section : "", section ? "." : "", key);
    return ERR_INVALID_PARAM;
}

/* Turn "msg" into "prefix: msg" in place, truncating at the buffer's end. */
static void prefix_error(char *errbuf, const char *prefix)
{
    size_t plen = strlen(prefix) + 2;
    if (plen >= CONFIG_ERRBUF)
        plen = CONFIG_ERRBUF - 1;
    size_t mlen = strnlen(errbuf, CONFIG_ERRBUF - 1);
    if (plen + mlen >= CONFIG_ERRBUF)
        mlen = CONFIG_ERRBUF - 1 - plen;
    memmove(errbuf + plen, errbuf, mlen);
    errbuf[plen + mlen] = '\0';
    memcpy(errbuf, prefix, plen - 2);
    memcpy(errbuf + plen - 2, ": ", 2);
}

struct ini_ctx {
    struct config *c;
    char *errbuf;
    enum err e;
};

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *ctx = user;
    if (ctx->e != ERR_OK)
        return 0;
    ctx->e = config_set(ctx->c, section, name, value, ctx->errbuf);
    return ctx->e == ERR_OK;
}

enum err config_load_file(struct config *c, const char *path, char errbuf[CONFIG_ERRBUF])
{
    struct ini_ctx ctx = {c, errbuf, ERR_OK};
    int rc = ini_parse(path, on_ini_entry, &ctx);
    if (rc == -1) {
        snprintf(errbuf, CONFIG_ERRBUF, "cannot open config file %s", path);
        return ERR_IO;
    }
    if (ctx.e != ERR_OK) {
        prefix_error(errbuf, path);
        return ctx.e;
    }
    if (rc != 0) {
        snprintf(errbuf, CONFIG_ERRBUF, "%s: syntax error on line %d", path, rc);
        return ERR_INVALID_PARAM;
    }
    return ERR_OK;
}

enum err config_load_env(struct config *c, char errbuf[CONFIG_ERRBUF])
{
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        char name[64] = "KESSAI_";
        size_t n = strlen(name);
        for (const char *k = settings[i].key; *k && n + 1 < sizeof name; k++)
            name[n++] = (char)toupper((unsigned char)*k);
        name[n] = '\0';
        const char *v = getenv(name);
        if (v == NULL)
            continue;
        enum err e = set_value(c, &settings[i], v, errbuf);
        if (e != ERR_OK) {
            prefix_error(errbuf, name);
            return e;
        }
    }
    return ERR_OK;
}

size_t config_setting_count(void) { return sizeof settings / sizeof settings[0]; }

const char *config_setting_name(size_t i, const char **section)
{
    if (i >= config_setting_count())
        return NULL;
    if (section)
        *section = settings[i].section;
    return settings[i].key;
}

enum err config_listen_addr(const struct config *c, char *host, size_t hostlen, uint16_t *port)
{
    const char *colon = strrchr(c->listen, ':');
    if (colon == NULL || colon == c->listen || (size_t)(colon - c->listen) >= hostlen)
        return ERR_INVALID_PARAM;
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end != '\0' || p < 0 || p > 65535)
        return ERR_INVALID_PARAM;
    memcpy(host, c->listen, (size_t)(colon - c->listen));
    host[colon - c->listen] = '\0';
    *port = (uint16_t)p;
    return ERR_OK;
}
