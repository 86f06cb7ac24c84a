/* p2p.c: sending money to another customer (p2p.h).
 *
 * p2p_send, on a wallet worker:
 *
 *   PARSE   amount (1..p2p_max), message (0..100 characters of text), `to`
 *           (an e-mail address or "usr_…"; malformed: ERR_INVALID_PARAM)
 *   CHECK   unless the key already moved money (a retry): the sender is not
 *           frozen, the "p2p" switch is off, a fresh second factor when
 *           the amount is above p2p_mfa_threshold or the device (or the
 *           account, after a reset) is in its cool-down: a stolen password
 *           and session alone cannot send the wallet away; the balance, and
 *           the day's counter against each of SUBMIT's limits, as SUBMIT
 *           will find them.  All before FIND, so that none of these
 *           refusals depends on who the recipient is
 *   FIND    the recipient: another customer, verified, with a second
 *           factor, not frozen — else ERR_RECIPIENT_NOT_FOUND, the same
 *           answer for each reason, so the endpoint cannot be used to learn
 *           who has an account or whose account is frozen
 *   RISK    the risk engine (risk_gate.h), not for a retry: deny
 *           ERR_RISK_DENIED, hold ERR_RISK_HELD, challenge
 *           ERR_FRESH_MFA_REQUIRED unless the second factor is fresh
 *   SUBMIT  one transfer wallet -> wallet (kind "p2p") with the hook of
 *           payment_internal.h: the p2p_daily counter (capped at the
 *           new-device limit while the device or account cools down: the
 *           login made the second factor fresh; without a fresh second
 *           factor at p2p_mfa_threshold, ERR_FRESH_MFA_REQUIRED: no
 *           splitting past it), the payments row and a
 *           mail to each customer, in the same commit
 *
 * The sender's refusals that may be a thief's (unknown recipient, frozen,
 * no fresh second factor, a limit) are security events of the sender.
 */
#include "wallet/p2p.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/customer_types.h"
#include "ledger/ledger.h"
#include "merchant/merchant.h"
#include "ops/freeze.h"
#include "ops/killswitch.h"
#include "util/email.h"
#include "util/ids.h"
#include "wallet/pay_customer_internal.h"
#include "wallet/payment_internal.h"
#include "wallet/topup.h"

#define KIND "p2p"

/* 0..P2P_MESSAGE_MAX characters of printable text (merchant_check_text's
 * rules: no control or bidirectional characters, no blanks at the ends). */
static bool message_ok(const char *m)
{
    if (m[0] == '\0')
        return true;
    if (merchant_check_text(m, PAYMENT_MESSAGE_MAX) != ERR_OK)
        return false;
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)m; *p; p++)
        chars += (*p & 0xc0) != 0x80;
    return chars <= P2P_MESSAGE_MAX;
}

/* PARSE + FIND.  ERR_INVALID_PARAM for a malformed `to`. */
static enum err find_recipient(struct store *st, const char *to, struct customer *r)
{
    int64_t id;
    enum err e;
    if (to == NULL)
        return ERR_INVALID_PARAM;
    if (strncmp(to, CUSTOMER_ID_PREFIX "_", strlen(CUSTOMER_ID_PREFIX) + 1) == 0) {
        if (ids_parse(to, CUSTOMER_ID_PREFIX, &id) != ERR_OK)
            return ERR_INVALID_PARAM;
        e = st->ops->customer_get(st, id, r);
    } else {
        char email[EMAIL_MAX + 1];
        if (email_normalize(to, email) != ERR_OK)
            return ERR_INVALID_PARAM;
        e = st->ops->customer_get_by_email(st, email, r);
    }
    return e == ERR_NOT_FOUND ? ERR_RECIPIENT_NOT_FOUND : e;
}

/* The recipient may receive from the sender (FIND's rules). */
static enum err recipient_ok(struct store *st, const struct auth_session *cur, const struct customer *r)
{
    if (r->id == cur->customer_id || !r->email_verified || !r->totp_enrolled)
        return ERR_RECIPIENT_NOT_FOUND;
    enum err e = freeze_check(st, r->id);
    return e == ERR_ACCOUNT_FROZEN ? ERR_RECIPIENT_NOT_FOUND : e;
}

/* The balance, and the day's counter against each limit, as the
 * transfer's commit will find them: read here only so that these refusals
 * come before the recipient is looked at (review: a sender at the day's
 * limit got 404 for an unknown recipient and 422 for a real one); the
 * ledger and the counter check again.  *limit: the name of the limit
 * refused (ERR_LIMIT_EXCEEDED). */
static enum err check_funds(const struct wallet_ctx *w, const struct auth_session *cur, int64_t amount,
                            const struct pay_payer *payer, const char **limit)
{
    struct store *st = w->a.st;
    struct ledger_account a;
    enum err e = st->ops->account_get(st, payer->wallet, &a);
    if (e != ERR_OK || ledger_available(&a) < amount)
        return e != ERR_OK ? e : ERR_INSUFFICIENT_FUNDS;
    struct payment_order *o = calloc(1, sizeof *o);
    if (o == NULL)
        return ERR_NOMEM;
    payment_limits_p2p(w->a.cfg, o, w->a.now, payer->device_new, pay_customer_fresh(w, cur));
    for (size_t i = 0; i < o->nlimits && e == ERR_OK; i++) {
        int64_t total = 0;
        e = st->ops->spend_get(st, cur->customer_id, o->limits[i].period, &total);
        if (e == ERR_OK && total > o->limits[i].max - amount) {
            e = o->limits[i].refusal;
            *limit = o->limits[i].name;
        }
    }
    free(o);
    return e;
}

/* CHECK (not for a retry; a held request's retry skips the funds: its
 * review answers). */
static enum err check_sender(const struct wallet_ctx *w, const struct auth_session *cur, int64_t amount,
                             const struct pay_payer *payer, bool held, struct killswitch *sw, const char **limit)
{
    static const char *const switches[] = {KILLSWITCH_P2P, NULL};
    enum err e = freeze_check(w->a.st, cur->customer_id);
    if (e == ERR_OK)
        e = killswitch_check(w->a.st, switches, sw);
    if (e == ERR_OK && (amount > w->a.cfg->p2p_mfa_threshold || payer->device_new) && !pay_customer_fresh(w, cur))
        e = ERR_FRESH_MFA_REQUIRED;
    if (e == ERR_OK && !held)
        e = check_funds(w, cur, amount, payer, limit);
    return e;
}

/* {"from":"usr_…","to":"usr_…"[,"message":"…"]}: what both histories show,
 * and part of the ledger's request fingerprint (a retry must say the same). */
enum err p2p_metadata(int64_t from, int64_t to, const char *message, char out[LEDGER_META_MAX + 1])
{
    char f[IDS_BUF], t[IDS_BUF];
    json_t *m = json_pack("{s:s, s:s}", "from", ids_format(f, CUSTOMER_ID_PREFIX, from), "to",
                          ids_format(t, CUSTOMER_ID_PREFIX, to));
    if (m && message[0] && json_object_set_new(m, "message", json_string(message)) != 0) {
        json_decref(m);
        m = NULL;
    }
    char *text = m ? json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(m);
    if (text == NULL)
        return ERR_NOMEM;
    enum err e = strlen(text) <= LEDGER_META_MAX ? ERR_OK : ERR_INTERNAL;
    if (e == ERR_OK)
        memcpy(out, text, strlen(text) + 1);
    free(text);
    return e;
}

enum err p2p_send(const struct wallet_ctx *w, const struct auth_session *cur, const char *to, int64_t amount,
                  const char *message, const char *idem_key, struct payment_receipt *out, const char **bad,
                  struct killswitch *sw)
{
    memset(out, 0, sizeof *out);
    *bad = NULL;
    struct killswitch ignored;
    if (sw == NULL)
        sw = &ignored;
    memset(sw, 0, sizeof *sw);
    if (message == NULL)
        message = "";
    struct payment_order o;
    memset(&o, 0, sizeof o);
    enum err e = pay_customer_start(w, cur, KIND, idem_key, amount, w->a.cfg->p2p_max, o.x.key, bad);
    if (e != ERR_OK)
        return e;
    if (!message_ok(message)) {
        *bad = "message";
        return ERR_INVALID_PARAM;
    }

    struct store *st = w->a.st;
    struct customer r;
    struct pay_payer payer;
    bool seen = false, held = false;
    int64_t to_wallet = 0;
    const char *limit = NULL;
    /* The sender's own refusals come first: answered before the recipient
     * is looked at, they cannot tell who has an account or whose is frozen
     * (those are all 404, and only a sender who could pay gets that far). */
    memset(&r, 0, sizeof r);
    e = pay_customer_seen(st, o.x.key, &seen);
    if (e == ERR_OK && !seen)
        e = review_kept(st, o.x.key, &held); /* a retry of a held request: its review answers */
    if (e == ERR_OK)
        e = pay_customer_payer(w, cur, &payer);
    if (e == ERR_OK && !seen)
        e = check_sender(w, cur, amount, &payer, held, sw, &limit);
    if (e == ERR_OK)
        e = find_recipient(st, to, &r);
    if (e == ERR_OK && !seen)
        e = recipient_ok(st, cur, &r);
    if (e == ERR_OK)
        e = p2p_metadata(cur->customer_id, r.id, message, o.x.metadata);
    if (e == ERR_OK)
        e = wallet_account(st, r.id, &to_wallet); /* made on the first credit: maybe now */
    if (e != ERR_OK) {
        sodium_memzero(&r, sizeof r);
        *bad = e == ERR_INVALID_PARAM || e == ERR_RECIPIENT_NOT_FOUND ? "to"
               : e == ERR_INSUFFICIENT_FUNDS                         ? "amount"
               : e == ERR_LIMIT_EXCEEDED                             ? limit
                                                                     : NULL;
        if (e == ERR_RECIPIENT_NOT_FOUND || e == ERR_ACCOUNT_FROZEN || e == ERR_FRESH_MFA_REQUIRED ||
            e == ERR_LIMIT_EXCEEDED)
            return pay_customer_refused(w, cur, KIND, e, *bad, amount);
        return e;
    }

    /* The risk engine (risk_gate.h), not for a retry: a challenge wants a
     * fresh second factor, deny refuses, hold keeps the transfer for staff
     * (review.h). */
    if (!seen && !held) {
        e = risk_gate_customer(w, &o.gate, RISK_P2P, cur->customer_id, cur->device_id);
        o.gate.ev.amount = amount;
        o.gate.ev.counterparty_id = r.id;
        if (e == ERR_OK)
            e = risk_gate_payee(w, &o.gate, r.id, r.created_ms);
        if (e == ERR_OK)
            e = risk_gate_check_payment(w, &o.gate, true, pay_customer_fresh(w, cur), o.x.key);
        held = e == ERR_RISK_HELD;
        if (e != ERR_OK && !held) {
            sodium_memzero(&r, sizeof r);
            if (e == ERR_FRESH_MFA_REQUIRED)
                return pay_customer_refused(w, cur, KIND, e, NULL, amount);
            return e;
        }
        o.risk = w->risk;
    }

    pay_customer_order(&o, w, cur, PAYMENT_P2P, amount, &payer, to_wallet, PAYMENT_XFER_P2P);
    o.p.counterparty_id = r.id;
    payment_limits_p2p(w->a.cfg, &o, w->a.now, payer.device_new, pay_customer_fresh(w, cur));
    memcpy(o.payer_email, payer.email, sizeof o.payer_email);
    snprintf(o.payee_email, sizeof o.payee_email, "%s", r.email);
    /* o.counterparty stays "": the mails name payee_email, masked. */
    snprintf(o.message, sizeof o.message, "%s", message);
    sodium_memzero(&r, sizeof r);

    if (held) {
        struct pending_op h;
        e = review_hold(w, &o, payer.device_new, &h);
        if (e == ERR_IDEMPOTENCY_CONFLICT)
            *bad = "Idempotency-Key";
        out->held_id = e == ERR_OK ? h.id : 0;
        return e == ERR_OK ? ERR_RISK_HELD : e;
    }
    o.session_id = cur->id;
    e = payment_submit_wait(w, &o, out, bad);
    if (e == ERR_LIMIT_EXCEEDED || e == ERR_FRESH_MFA_REQUIRED)
        return pay_customer_refused(w, cur, KIND, e, *bad, amount);
    return e;
}
