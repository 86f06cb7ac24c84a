/* mpm.c: paying by scanning the store's QR (mpm.h), and the store's payload.
 *
 * mpm_pay, on a wallet worker:
 *
 *   DECODE  the payload (emvco.h: CRC, format, kessai's GUID, a store id)
 *           and the store it names          --else--> ERR_INVALID_QR
 *   CHECK   unless the key already moved money (a retry): the store is
 *           active, the customer not frozen, the "payments" switch off
 *           (globally, for the merchant, for the store), a fresh second
 *           factor above pay_mfa_threshold
 *   RISK    the risk engine (risk_gate.h): deny ERR_RISK_DENIED, hold
 *           ERR_RISK_HELD with the payment kept for staff review
 *           (review.h: out->held_id), challenge ERR_FRESH_MFA_REQUIRED
 *           unless the second factor is fresh (not for a retry either)
 *   SUBMIT  one transfer wallet -> the store's payable with the hook of
 *           payment_internal.h (limits, the payments row, the mail), and
 *           wait for its durable commit; without a fresh second factor the
 *           day's store-QR payments stay within pay_mfa_threshold in all
 *           (payment_limits_qr, ERR_FRESH_MFA_REQUIRED)
 *
 * The payload is only a pointer to a store: the CRC catches a misread, not
 * a forgery (anyone can compute one).  So the store, its name and its
 * account always come from the database, never from the payload, and the
 * receipt names the store that was paid.  A refusal that may be a thief's
 * (no fresh second factor, a frozen account, a QR that is not ours, a
 * limit) is a security event.
 */
#include "wallet/mpm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merchant/merchant.h"
#include "ops/freeze.h"
#include "ops/killswitch.h"
#include "util/ids.h"
#include "wallet/emvco.h"
#include "wallet/pay_customer_internal.h"
#include "wallet/payment_internal.h"

#define KIND "mpm"

/* The store's category as an ISO 18245 merchant category code. */
static const char *mcc_of(const char *category)
{
    static const struct {
        const char *category, *mcc;
    } table[] = {
        {"convenience", "5499"}, /* misc. food stores: convenience stores */
        {"supermarket", "5411"}, /* grocery stores, supermarkets */
        {"drugstore", "5912"},   /* drug stores and pharmacies */
        {"restaurant", "5812"},  /* eating places, restaurants */
        {"electronics", "5732"}, /* electronics stores */
        {"tobacco", "5993"},     /* cigar stores and stands */
        {"giftcards", "5947"},   /* gift, card, novelty and souvenir shops */
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(category, table[i].category) == 0)
            return table[i].mcc;
    return "5999"; /* miscellaneous and specialty retail */
}

/* The city for field 60: the last part of the address after its last comma,
 * without the postal code ("1-9-1 Marunouchi, Chiyoda-ku, Tokyo 100-0005"
 * gives "Tokyo").  Words holding a digit are dropped from the end; what is
 * left may be empty (emvco.h then writes "JAPAN"). */
static void city_of(const char *address, char *out, size_t n)
{
    const char *p = strrchr(address, ',');
    p = p ? p + 1 : address;
    while (*p == ' ')
        p++;
    size_t len = strlen(p);
    for (;;) {
        while (len > 0 && p[len - 1] == ' ')
            len--;
        size_t start = len;
        while (start > 0 && p[start - 1] != ' ')
            start--;
        bool digit = false;
        for (size_t i = start; i < len; i++)
            digit |= p[i] >= '0' && p[i] <= '9';
        if (len == 0 || !digit)
            break;
        len = start;
    }
    if (len >= n)
        len = 0; /* cannot happen with a valid address; no city rather than half of one */
    memcpy(out, p, len);
    out[len] = '\0';
}

enum err mpm_store_payload(struct store *st, int64_t store_id, char **out)
{
    *out = NULL;
    struct merchant_store s;
    enum err e = merchant_store_get(st, store_id, &s);
    if (e != ERR_OK)
        return e;
    char sid[IDS_BUF], city[MERCHANT_ADDRESS_MAX + 1], payload[EMVCO_MAX];
    city_of(s.address, city, sizeof city);
    e = emvco_store_payload(ids_format(sid, MERCHANT_STORE_ID_PREFIX, s.id), s.name, city, mcc_of(s.category),
                            payload);
    if (e != ERR_OK)
        return e;
    *out = strdup(payload);
    return *out ? ERR_OK : ERR_NOMEM;
}

/* DECODE: the active or inactive store the payload names. */
static enum err decode(struct store *st, const char *qr_payload, struct merchant_store *s)
{
    char sid[IDS_BUF];
    int64_t id;
    enum err e = emvco_store_decode(qr_payload, sid, sizeof sid);
    if (e == ERR_OK && ids_parse(sid, MERCHANT_STORE_ID_PREFIX, &id) != ERR_OK)
        e = ERR_INVALID_QR;
    if (e == ERR_OK)
        e = merchant_store_get(st, id, s);
    return e == ERR_STORE_NOT_FOUND || e == ERR_INVALID_PARAM ? ERR_INVALID_QR : e;
}

/* CHECK (not for a retry). */
static enum err check(const struct wallet_ctx *w, const struct auth_session *cur, const struct merchant_store *s,
                      int64_t amount, struct killswitch *sw)
{
    struct store *st = w->a.st;
    if (!s->active)
        return ERR_INVALID_QR;
    enum err e = freeze_check(st, cur->customer_id);
    if (e == ERR_OK)
        e = killswitch_check_scoped(st, KILLSWITCH_PAYMENTS, s->merchant_id, s->id, sw);
    if (e == ERR_OK && amount > w->a.cfg->pay_mfa_threshold && !pay_customer_fresh(w, cur))
        e = ERR_FRESH_MFA_REQUIRED;
    return e;
}

enum err mpm_pay(const struct wallet_ctx *w, const struct auth_session *cur, const char *qr_payload, int64_t amount,
                 const char *idem_key, struct payment_receipt *out, const char **bad, struct killswitch *sw)
{
    memset(out, 0, sizeof *out);
    *bad = NULL;
    struct killswitch ignored;
    if (sw == NULL)
        sw = &ignored;
    memset(sw, 0, sizeof *sw);
    struct payment_order o;
    memset(&o, 0, sizeof o);
    enum err e = pay_customer_start(w, cur, KIND, idem_key, amount, w->a.cfg->pay_max, o.x.key, bad);
    if (e != ERR_OK)
        return e;

    struct store *st = w->a.st;
    struct merchant_store s;
    bool seen = false, held = false;
    e = decode(st, qr_payload, &s);
    if (e == ERR_OK)
        e = pay_customer_seen(st, o.x.key, &seen);
    if (e == ERR_OK && !seen)
        e = review_kept(st, o.x.key, &held); /* a retry of a held request: its review answers */
    if (e == ERR_OK && !seen)
        e = check(w, cur, &s, amount, sw);
    struct pay_payer payer;
    if (e == ERR_OK)
        e = pay_customer_payer(w, cur, &payer);
    if (e == ERR_OK)
        e = payment_store_metadata(&s, o.x.metadata); /* what the history shows */
    if (e != ERR_OK) {
        *bad = e == ERR_INVALID_QR ? "qr_payload" : e == ERR_INSUFFICIENT_FUNDS ? "amount" : NULL;
        if (e == ERR_INVALID_QR || e == ERR_ACCOUNT_FROZEN || e == ERR_FRESH_MFA_REQUIRED)
            return pay_customer_refused(w, cur, KIND, e, *bad, amount);
        return e;
    }

    /* RISK: not for a retry (the ledger answers it with the first receipt). */
    if (!seen && !held) {
        e = risk_gate_customer(w, &o.gate, RISK_PAYMENT, cur->customer_id, cur->device_id);
        risk_gate_store(&o.gate, &s);
        o.gate.ev.amount = amount;
        if (e == ERR_OK)
            e = risk_gate_check_payment(w, &o.gate, true, pay_customer_fresh(w, cur), o.x.key);
        if (e == ERR_FRESH_MFA_REQUIRED)
            return pay_customer_refused(w, cur, KIND, e, NULL, amount);
        held = e == ERR_RISK_HELD;
        if (e != ERR_OK && !held)
            return e;
        o.risk = w->risk;
    }

    pay_customer_order(&o, w, cur, PAYMENT_MPM, amount, &payer, s.payable_account, PAYMENT_XFER_PAYMENT);
    o.p.merchant_id = s.merchant_id;
    o.p.store_id = s.id;
    payment_limits_qr(w->a.cfg, &o, w->a.now, payer.device_new, pay_customer_fresh(w, cur));
    memcpy(o.payer_email, payer.email, sizeof o.payer_email);
    snprintf(o.counterparty, sizeof o.counterparty, "%s", s.name);

    if (held) {
        /* Kept for staff (review.h): nothing moves now. */
        struct pending_op r;
        e = review_hold(w, &o, payer.device_new, &r);
        if (e == ERR_IDEMPOTENCY_CONFLICT)
            *bad = "Idempotency-Key";
        out->held_id = e == ERR_OK ? r.id : 0;
        return e == ERR_OK ? ERR_RISK_HELD : e;
    }
    o.session_id = cur->id;
    e = payment_submit_wait(w, &o, out, bad);
    if (e == ERR_LIMIT_EXCEEDED || e == ERR_FRESH_MFA_REQUIRED)
        return pay_customer_refused(w, cur, KIND, e, *bad, amount);
    return e;
}
