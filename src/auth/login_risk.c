/* login_risk.c: see login_risk.h. */
#include "auth/login_risk.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "util/email.h"
#include "util/log.h"

#define REF "login"

/* A negative key no real account id can take, the same for every spelling
 * of one address. */
static int64_t stand_in(const char *email)
{
    char norm[EMAIL_MAX + 1];
    const char *s = email ? email : "";
    if (email_normalize(s, norm) == ERR_OK)
        s = norm;
    uint8_t h[8];
    crypto_generichash(h, sizeof h, (const uint8_t *)s, strlen(s), NULL, 0);
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof h; i++)
        v = v << 8 | h[i];
    return -(int64_t)(v >> 1) - 1;
}

static const char *action_of(enum risk_verdict v)
{
    switch (v) {
    case RISK_DENY:
        return "risk_denied";
    case RISK_HOLD:
        return "risk_held";
    default:
        return "risk_challenged";
    }
}

/* The row and its audit entry, both or neither. */
static enum err record(const struct auth_ctx *ctx, struct login_risk *lr)
{
    struct store *st = ctx->st;
    struct risk_event ev = lr->ev;
    ev.customer_id = lr->customer_id; /* never the stand-in */
    char reasons[RISK_REASONS_JSON_MAX + 1];
    if (risk_reasons_json(&lr->d, reasons, sizeof reasons) != ERR_OK)
        snprintf(reasons, sizeof reasons, "[]");
    int64_t id = 0;
    char actor[IDS_BUF];
    enum err e = st->ops->begin(st);
    if (e != ERR_OK)
        return e;
    e = risk_record(st, &ev, &lr->d, REF, &id);
    if (e == ERR_OK) {
        json_t *why = json_loads(reasons, 0, NULL);
        e = audit_record(st, ctx->now, audit_customer_actor(actor, lr->customer_id), lr->customer_id,
                         action_of(lr->d.verdict), lr->d.verdict == RISK_CHALLENGE ? AUDIT_SUCCESS : AUDIT_FAILURE,
                         lr->client_addr, ev.device_id,
                         json_pack("{s:s, s:s, s:i, s:I, s:o}", "kind", "login", "ref", REF, "score", lr->d.score,
                                   "decision", (json_int_t)id, "reasons", why ? why : json_array()));
    }
    if (e == ERR_OK)
        e = st->ops->commit(st);
    else
        st->ops->rollback(st);
    if (e != ERR_OK)
        log_event(LOG_ERROR, "risk_record_failed", json_pack("{s:s}", "error", err_symbol(e)));
    return e;
}

enum err login_risk_check(const struct auth_ctx *ctx, struct risk *r, const struct customer *c, const char *email,
                          const char *device_key, struct login_risk *lr)
{
    memset(lr, 0, sizeof lr[0]);
    if (r == NULL)
        return ERR_OK;
    lr->on = true;
    snprintf(lr->client_addr, sizeof lr->client_addr, "%s", ctx->client_addr ? ctx->client_addr : "");
    lr->ev.kind = RISK_LOGIN;
    lr->ev.at_ms = ctx->now;
    lr->ev.client_addr = lr->client_addr;
    lr->ev.device_key = risk_device_key(device_key);
    /* A device the account has not seen (or nobody's account) is new. */
    lr->ev.flags = RISK_F_DEVICE_NEW;
    if (c == NULL) {
        lr->ev.customer_id = stand_in(email);
    } else {
        lr->customer_id = c->id;
        lr->ev.customer_id = c->id;
        struct customer_device d;
        enum err e = device_key ? ctx->st->ops->device_find(ctx->st, c->id, device_key, &d) : ERR_NOT_FOUND;
        if (e == ERR_OK) {
            lr->ev.device_id = d.id;
            if (ctx->now >= d.new_until_ms)
                lr->ev.flags = 0;
        } else if (e != ERR_NOT_FOUND) {
            return e;
        }
        if (ctx->now < c->cooldown_until_ms)
            lr->ev.flags |= RISK_F_PASSWORD_RESET;
        if (risk_account_is_new(&ctx->cfg->risk, c->created_ms, ctx->now))
            lr->ev.flags |= RISK_F_ACCOUNT_NEW;
    }
    enum err e = risk_evaluate(r, &lr->ev, &lr->d);
    if (e != ERR_OK)
        return e;
    if (lr->d.verdict == RISK_ALLOW)
        return ERR_OK;
    if ((e = record(ctx, lr)) != ERR_OK)
        return e;
    if (lr->d.verdict == RISK_CHALLENGE)
        return ERR_OK; /* the second factor is part of every login */
    login_risk_observe(r, lr, false);
    return ERR_RISK_DENIED;
}

void login_risk_observe(struct risk *r, struct login_risk *lr, bool ok)
{
    if (r == NULL || !lr->on)
        return;
    lr->ev.client_addr = lr->client_addr;
    (void)risk_observe(r, &lr->ev, ok ? RISK_DONE : RISK_FAILED);
}
