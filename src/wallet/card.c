/* card.c: card confirmation, listing and removal, and what the card files
 * share (card_internal.h); linking is card_link.c.  State machine in card.h.
 *
 * Invariants:
 *  1. A card becomes ACTIVE only in the transaction that records a 3-D
 *     Secure success for its own challenge (the card still PENDING with
 *     the same challenge_ref after the gateway answered); FAILED and
 *     REMOVED are final.
 *  2. A PENDING card whose challenge outlived GATEWAY_CHALLENGE_TTL_MS is
 *     FAILED at the next look (list, link, confirm), so it stops holding
 *     one of the customer's CARD_MAX_ACTIVE places.
 *  3. Every refusal and every change is a security event, and "card
 *     linked" / "card removed" a mail, in the transaction that makes it.
 *  4. Another customer's card answers exactly as no card: ERR_CARD_NOT_FOUND.
 */
#include "wallet/card.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/txn.h"
#include "wallet/card_internal.h"
#include "wallet/wallet_feed.h"
#include "wallet/wallet_mail.h"

bool card_digits(const char *s, size_t min, size_t max)
{
    size_t n = 0;
    if (s == NULL)
        return false;
    for (; s[n]; n++)
        if (s[n] < '0' || s[n] > '9' || n >= max)
            return false;
    return n >= min;
}

const char *card_status_name(int status)
{
    static const char *const names[] = {
        [CARD_PENDING] = "pending", [CARD_ACTIVE] = "active", [CARD_FAILED] = "failed", [CARD_REMOVED] = "removed",
    };
    bool known = status > 0 && (size_t)status < sizeof names / sizeof names[0];
    return known ? names[status] : "removed";
}

enum err card_record(const struct wallet_ctx *w, const struct auth_session *cur, enum sec_event kind,
                     enum sec_outcome outcome, json_t *detail)
{
    return sec_event_record(w->a.st, w->a.now, cur->customer_id, kind, outcome, w->a.client_addr, cur->device_id,
                            detail);
}

json_t *card_detail_json(const struct card *c)
{
    char id[IDS_BUF];
    return json_pack("{s:s, s:s, s:s}", "card", ids_format(id, CARD_ID_PREFIX, c->id), "brand", c->brand, "last4",
                     c->last4);
}

enum err card_record_failed(const struct wallet_ctx *w, const struct auth_session *cur, enum err reason,
                            const char *last4, const char *param)
{
    json_t *d = json_pack("{s:s}", "reason", err_symbol(reason));
    if (d && last4 && *last4)
        json_object_set_new(d, "last4", json_string(last4));
    if (d && param)
        json_object_set_new(d, "param", json_string(param));
    return card_record(w, cur, SEC_CARD_LINK_FAILED, SEC_FAILURE, d);
}

enum err card_refuse(const struct wallet_ctx *w, const struct auth_session *cur, enum err reason, const char *last4,
                     const char *param)
{
    enum err e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    e = card_record_failed(w, cur, reason, last4, param);
    e = auth_end(&w->a, e == ERR_OK, e);
    return e == ERR_OK ? reason : e;
}

static bool stale(const struct wallet_ctx *w, const struct card *c)
{
    return c->status == CARD_PENDING && w->a.now >= c->created_ms + GATEWAY_CHALLENGE_TTL_MS;
}

enum err card_fail(const struct wallet_ctx *w, const struct auth_session *cur, struct card *c, const char *cause)
{
    c->status = CARD_FAILED;
    c->challenge_ref[0] = '\0';
    enum err e = w->a.st->ops->card_update(w->a.st, c);
    if (e != ERR_OK)
        return e;
    json_t *d = card_detail_json(c);
    if (d) {
        json_object_set_new(d, "reason", json_string(err_symbol(ERR_AUTHENTICATION_FAILED)));
        json_object_set_new(d, "cause", json_string(cause));
    }
    return card_record(w, cur, SEC_CARD_LINK_FAILED, SEC_FAILURE, d);
}

/* Invariant 2. */
enum err card_expire_stale(const struct wallet_ctx *w, const struct auth_session *cur)
{
    struct card list[CARD_LIST_MAX];
    size_t n = 0;
    int64_t after = 0;
    enum err e;
    do {
        e = w->a.st->ops->card_list(w->a.st, cur->customer_id, CARD_PENDING, after, CARD_LIST_MAX, list, &n);
        for (size_t i = 0; e == ERR_OK && i < n; i++) {
            after = list[i].id;
            if (stale(w, &list[i]))
                e = card_fail(w, cur, &list[i], "challenge_expired");
        }
    } while (e == ERR_OK && n == CARD_LIST_MAX);
    return e;
}

enum err card_get(const struct wallet_ctx *w, int64_t customer_id, int64_t card_id, struct card *out)
{
    enum err e = w->a.st->ops->card_get(w->a.st, card_id, out);
    if (e == ERR_OK && out->customer_id != customer_id)
        e = ERR_CARD_NOT_FOUND; /* another customer's card is no card at all */
    if (e != ERR_OK)
        memset(out, 0, sizeof *out);
    return e;
}

/* T2 of a confirm: the issuer's verdict on code (gw_e) for card_id. */
static enum err confirm_answered(const struct wallet_ctx *w, const struct auth_session *cur, int64_t card_id,
                                 const char *challenge_ref, enum err gw_e, struct card *out)
{
    struct store *st = w->a.st;
    struct customer c;
    enum err e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    /* Removed, or confirmed by a racing request, while the gateway worked. */
    e = card_get(w, cur->customer_id, card_id, out);
    if (e == ERR_OK && (out->status != CARD_PENDING || strcmp(out->challenge_ref, challenge_ref) != 0))
        e = ERR_CARD_NOT_FOUND;
    if (e != ERR_OK)
        return auth_end(&w->a, false, e);
    enum err result = gw_e;
    if (gw_e == ERR_OK) {
        out->status = CARD_ACTIVE;
        out->linked_ms = w->a.now;
        out->challenge_ref[0] = '\0';
        e = st->ops->card_update(st, out);
        if (e == ERR_OK)
            e = st->ops->customer_get(st, cur->customer_id, &c);
        if (e == ERR_OK)
            e = wallet_mail_card_linked(&w->a, c.email, out->brand, out->last4);
        sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
        if (e == ERR_OK)
            e = wallet_feed_card_linked(st, w->a.now, out);
        if (e == ERR_OK)
            e = card_record(w, cur, SEC_CARD_LINKED, SEC_SUCCESS, card_detail_json(out));
    } else if (gw_e == ERR_INVALID_CODE) {
        json_t *d = card_detail_json(out);
        if (d)
            json_object_set_new(d, "reason", json_string(err_symbol(ERR_INVALID_CODE)));
        e = card_record(w, cur, SEC_CARD_LINK_FAILED, SEC_FAILURE, d);
    } else if (gw_e == ERR_AUTHENTICATION_FAILED || gw_e == ERR_NOT_FOUND) {
        /* No tries left, expired, or the processor forgot it: final. */
        result = ERR_AUTHENTICATION_FAILED;
        e = card_fail(w, cur, out, "issuer");
    } else {
        return auth_end(&w->a, false, gw_e == ERR_GATEWAY ? gw_e : ERR_GATEWAY);
    }
    e = auth_end(&w->a, e == ERR_OK, e);
    if (e == ERR_OK && result != ERR_OK)
        e = result;
    if (e != ERR_OK)
        memset(out, 0, sizeof *out);
    return e;
}

enum err card_link_confirm(const struct wallet_ctx *w, const struct auth_session *cur, int64_t card_id,
                           const char *code, struct card *out)
{
    char ref[GATEWAY_REF_MAX + 1];
    memset(out, 0, sizeof *out);
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e == ERR_OK)
        e = card_get(w, cur->customer_id, card_id, out);
    if (e == ERR_OK && out->status != CARD_PENDING)
        e = ERR_CARD_NOT_FOUND;
    if (e == ERR_OK && stale(w, out)) {
        /* Invariant 2: the challenge is over whatever the code. */
        if ((e = auth_begin(&w->a)) == ERR_OK) {
            e = card_fail(w, cur, out, "challenge_expired");
            e = auth_end(&w->a, e == ERR_OK, e);
        }
        e = e == ERR_OK ? ERR_AUTHENTICATION_FAILED : e;
    }
    if (e != ERR_OK) {
        memset(out, 0, sizeof *out);
        return e;
    }
    memcpy(ref, out->challenge_ref, sizeof ref);
    /* Not digits, or too long: no issuer code looks like that, and it
     * costs the cardholder no try. */
    if (!card_digits(code, 1, GATEWAY_OTP_MAX)) {
        memset(out, 0, sizeof *out);
        return ERR_INVALID_CODE;
    }
    enum err gw_e = w->gw->ops->challenge_verify(w->gw, ref, code);
    return confirm_answered(w, cur, card_id, ref, gw_e, out);
}

enum err card_list(const struct wallet_ctx *w, const struct auth_session *cur, struct card *out, size_t max,
                   size_t *n)
{
    *n = 0;
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e != ERR_OK || (e = auth_begin(&w->a)) != ERR_OK)
        return e;
    e = card_expire_stale(w, cur);
    if (e == ERR_OK)
        e = w->a.st->ops->card_list(w->a.st, cur->customer_id, 0, 0, max, out, n);
    return auth_end(&w->a, e == ERR_OK, e);
}

enum err card_remove(const struct wallet_ctx *w, const struct auth_session *cur, int64_t card_id)
{
    struct store *st = w->a.st;
    struct card c;
    struct customer who;
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e != ERR_OK || (e = auth_begin(&w->a)) != ERR_OK)
        return e;
    e = card_get(w, cur->customer_id, card_id, &c);
    if (e == ERR_OK && c.status != CARD_PENDING && c.status != CARD_ACTIVE)
        e = ERR_CARD_NOT_FOUND;
    if (e != ERR_OK)
        return auth_end(&w->a, false, e);
    c.status = CARD_REMOVED;
    c.removed_ms = w->a.now;
    c.challenge_ref[0] = '\0';
    e = st->ops->card_update(st, &c);
    if (e == ERR_OK)
        e = st->ops->customer_get(st, cur->customer_id, &who);
    if (e == ERR_OK)
        e = wallet_mail_card_removed(&w->a, who.email, c.brand, c.last4);
    sodium_memzero(&who, sizeof who); /* its password hash and sealed seed */
    if (e == ERR_OK)
        e = card_record(w, cur, SEC_CARD_REMOVED, SEC_SUCCESS, card_detail_json(&c));
    return auth_end(&w->a, e == ERR_OK, e);
}
