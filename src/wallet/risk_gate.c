/* risk_gate.c: see risk_gate.h. */
#include "wallet/risk_gate.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "util/log.h"

/* The borrowed pointers of the event, at the gate's own copies (the gate
 * may have been copied since it was filled). */
static void point(struct risk_gate *g)
{
    g->ev.client_addr = g->client_addr;
    g->ev.category = g->category[0] ? g->category : NULL;
    for (size_t i = 0; i < RISK_GATE_ITEMS_MAX; i++)
        g->item_ptrs[i] = g->items[i];
    g->ev.item_categories = g->ev.n_items ? g->item_ptrs : NULL;
}

enum err risk_gate_customer(const struct wallet_ctx *w, struct risk_gate *g, enum risk_kind kind,
                            int64_t customer_id, int64_t device_id)
{
    memset(g, 0, sizeof *g);
    if (w->risk == NULL)
        return ERR_OK;
    g->on = true;
    g->ev.kind = kind;
    g->ev.at_ms = w->a.now;
    g->ev.customer_id = customer_id;
    g->ev.device_id = device_id;
    snprintf(g->client_addr, sizeof g->client_addr, "%s", w->a.client_addr ? w->a.client_addr : "");
    struct store *st = w->a.st;
    enum err e = ERR_OK;
    if (device_id != 0) {
        struct customer_device d;
        e = st->ops->device_get(st, device_id, &d);
        if (e == ERR_OK) {
            g->ev.device_key = risk_device_key(d.public_key);
            if (w->a.now < d.new_until_ms)
                g->ev.flags |= RISK_F_DEVICE_NEW;
        }
        if (e == ERR_NOT_FOUND)
            e = ERR_OK;
    }
    if (e == ERR_OK && customer_id != 0) {
        struct customer c;
        e = st->ops->customer_get(st, customer_id, &c);
        if (e == ERR_OK) {
            if (w->a.now < c.cooldown_until_ms)
                g->ev.flags |= RISK_F_PASSWORD_RESET;
            if (risk_account_is_new(&w->a.cfg->risk, c.created_ms, w->a.now))
                g->ev.flags |= RISK_F_ACCOUNT_NEW;
        }
        sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
        if (e == ERR_NOT_FOUND)
            e = ERR_OK;
    }
    point(g);
    return e;
}

enum err risk_gate_payee(const struct wallet_ctx *w, struct risk_gate *g, int64_t payee_id, int64_t payee_created_ms)
{
    if (!g->on)
        return ERR_OK;
    g->ev.counterparty_id = payee_id;
    if (!risk_account_is_new(&w->a.cfg->risk, payee_created_ms, w->a.now))
        return ERR_OK;
    g->ev.flags |= RISK_F_PAYEE_NEW;
    bool sent = true;
    /* Only a transfer as large as the rule's makes a payee one paid
     * before: "first send 100 yen to check the account" is a scammer's
     * line, and would otherwise clear the large one that follows. */
    enum err e = w->a.st->ops->payment_p2p_sent(w->a.st, g->ev.customer_id, payee_id,
                                                w->a.cfg->risk.new_payee_amount, &sent);
    if (e == ERR_OK && !sent)
        g->ev.flags |= RISK_F_PAYEE_FIRST;
    return e;
}

void risk_gate_store(struct risk_gate *g, const struct merchant_store *s)
{
    g->ev.store_id = s->id;
    snprintf(g->category, sizeof g->category, "%s", s->category);
    g->ev.has_location = true;
    g->ev.lat_e6 = s->lat_e6;
    g->ev.lon_e6 = s->lon_e6;
    point(g);
}

void risk_gate_items(struct risk_gate *g, const char *items_json)
{
    g->ev.n_items = 0;
    if (!g->on || items_json == NULL || items_json[0] == '\0')
        return;
    json_t *a = json_loads(items_json, 0, NULL);
    size_t i;
    json_t *it;
    json_array_foreach(a, i, it)
    {
        const char *c = json_string_value(json_object_get(it, "category"));
        if (c == NULL || g->ev.n_items >= RISK_GATE_ITEMS_MAX)
            continue;
        snprintf(g->items[g->ev.n_items++], sizeof g->items[0], "%s", c);
    }
    json_decref(a);
    point(g);
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

enum err risk_gate_record(struct store *st, int64_t now, struct risk_gate *g, const char *ref)
{
    if (!g->on || g->d.verdict == RISK_ALLOW)
        return ERR_OK;
    /* A ledger key may be longer than a stored ref: its beginning names
     * the flow and the caller, enough to find the request. */
    char short_ref[RISK_REF_MAX + 1];
    snprintf(short_ref, sizeof short_ref, "%s", ref ? ref : "");
    char reasons[RISK_REASONS_JSON_MAX + 1];
    if (risk_reasons_json(&g->d, reasons, sizeof reasons) != ERR_OK)
        snprintf(reasons, sizeof reasons, "[]"); /* cannot happen: 16 reasons fit */
    json_t *why = json_loads(reasons, 0, NULL);
    int64_t id = 0;
    point(g);
    enum err e = risk_record(st, &g->ev, &g->d, short_ref, &id);
    if (e != ERR_OK) {
        json_decref(why);
        return e;
    }
    /* The detail names the rules and what they saw, never a secret (the
     * event holds none: device and card are hashes). */
    char actor[IDS_BUF];
    return audit_record(st, now, audit_customer_actor(actor, g->ev.customer_id), g->ev.customer_id,
                        action_of(g->d.verdict), AUDIT_FAILURE, g->client_addr, g->ev.device_id,
                        json_pack("{s:s, s:s, s:i, s:I, s:I, s:o}", "kind", risk_kind_name(g->ev.kind), "ref",
                                  short_ref, "score", g->d.score, "amount", (json_int_t)g->ev.amount, "decision",
                                  (json_int_t)id, "reasons", why ? why : json_array()));
}

enum err risk_gate_decide(const struct wallet_ctx *w, struct risk_gate *g, bool can_challenge, bool fresh)
{
    if (w->risk == NULL || !g->on)
        return ERR_OK;
    point(g);
    enum err e = risk_admit(w->risk, &g->ev, &g->d);
    if (e != ERR_OK)
        return e; /* an event of no known kind: a bug of the caller's, not the customer's */
    switch (g->d.verdict) {
    case RISK_ALLOW:
        return ERR_OK;
    case RISK_DENY:
        return ERR_RISK_DENIED;
    case RISK_HOLD:
        return ERR_RISK_HELD;
    default: /* challenge */
        return can_challenge && !fresh ? ERR_FRESH_MFA_REQUIRED : ERR_OK;
    }
}

static enum err check(const struct wallet_ctx *w, struct risk_gate *g, bool can_challenge, bool fresh,
                      const char *ref, bool defer)
{
    enum err verdict = risk_gate_decide(w, g, can_challenge, fresh);
    if (w->risk == NULL || !g->on || g->d.verdict == RISK_ALLOW)
        return verdict;
    if (verdict == ERR_OK && defer) {
        g->pending = true; /* written with the payment, in its group commit */
        return ERR_OK;
    }
    /* The row and its audit entry in one transaction: both or neither. */
    struct store *st = w->a.st;
    enum err e = st->ops->begin(st);
    if (e == ERR_OK)
        e = risk_gate_record(st, w->a.now, g, ref);
    if (e == ERR_OK)
        e = st->ops->commit(st);
    else
        st->ops->rollback(st);
    if (e != ERR_OK) {
        log_event(LOG_ERROR, "risk_record_failed", json_pack("{s:s}", "error", err_symbol(e)));
        risk_gate_release(w->risk, g);
        return e;
    }
    if (verdict != ERR_OK)
        risk_gate_observe(w->risk, g, RISK_FAILED);
    return verdict;
}

enum err risk_gate_check(const struct wallet_ctx *w, struct risk_gate *g, bool can_challenge, bool fresh,
                         const char *ref)
{
    return check(w, g, can_challenge, fresh, ref, false);
}

enum err risk_gate_check_payment(const struct wallet_ctx *w, struct risk_gate *g, bool can_challenge, bool fresh,
                                 const char *ref)
{
    return check(w, g, can_challenge, fresh, ref, true);
}

void risk_gate_release(struct risk *r, struct risk_gate *g)
{
    if (r == NULL || !g->on)
        return;
    point(g);
    risk_release(r, &g->ev);
}

void risk_gate_observe(struct risk *r, struct risk_gate *g, enum risk_outcome outcome)
{
    if (r == NULL || !g->on)
        return;
    point(g);
    g->ev.item_categories = NULL; /* what was bought does not count in any window */
    g->ev.n_items = 0;
    (void)risk_observe(r, &g->ev, outcome);
    g->ev.admitted = false; /* observed: a later release takes nothing out again */
}
