/* card_link.c: card_link_start (card.h, steps 1 to 7).
 *
 * Invariants:
 *  1. The PAN and CVC are read here (shape checks, keyed fingerprint) and
 *     handed to the gateway's tokenize, and go nowhere else: no row, event,
 *     mail or log line is built from them, except the last four digits.
 *  2. No transaction is open across a gateway call.  A link is three short
 *     transactions around two calls:
 *        T0 risk_gate_check the risk engine (risk_gate.h): deny or hold
 *                           refuse (ERR_RISK_DENIED / ERR_RISK_HELD),
 *                           nothing counted, the issuer not asked; the
 *                           decision on file
 *        T1 link_admit      blocks and limits, the attempt counted, the
 *                           fingerprint's other accounts checked
 *           tokenize        the issuer checks the card and its CVC (its
 *                           answer is observed by the engine)
 *        T2 link_answered   a decline counted against every source
 *           challenge_start the issuer opens its 3-D Secure challenge
 *        T3 link_store      T1's card count and fingerprint count again
 *                           (two links racing through the calls cannot
 *                           together pass a limit), the card stored
 *                           PENDING, the issuer's code mailed
 *  3. Input that is malformed costs no attempt: the issuer is not asked.
 *  4. The fingerprint is checked before the issuer is asked: a card on too
 *     many accounts is refused whatever the CVC, so the refusal cannot
 *     tell a tester whether a guessed CVC was right.  The attempt counts.
 */
#include "wallet/card.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/secret_hash.h"
#include "auth/txn.h"
#include "wallet/card_internal.h"
#include "wallet/card_limits.h"
#include "wallet/risk_gate.h"
#include "wallet/wallet_mail.h"

#define EXP_YEARS_AHEAD 50 /* no issuer prints a card valid longer */

/* Step 2 (card.h): the shape of what was typed; the issuer judges the rest. */
static enum err check_input(const struct wallet_ctx *w, const struct card_link_input *in, const char **bad)
{
    time_t t = (time_t)(w->a.now / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return ERR_INTERNAL;
    int year = tm.tm_year + 1900, month = tm.tm_mon + 1;
    if (!card_pan_valid(in->number))
        *bad = "number";
    else if (in->exp_month < 1 || in->exp_month > 12)
        *bad = "exp_month";
    else if (in->exp_year < year || in->exp_year > year + EXP_YEARS_AHEAD)
        *bad = "exp_year";
    else if (in->exp_year == year && in->exp_month < month)
        *bad = "exp_month";
    else if (!card_digits(in->cvc, 3, 4))
        *bad = "cvc";
    return *bad ? ERR_INVALID_PARAM : ERR_OK;
}

/* The last four digits of a typed number, for events about it ("" if it
 * is not a number at all). */
static void typed_last4(const char *number, char out[5])
{
    size_t n = number && card_digits(number, 4, 19) ? strlen(number) : 0;
    snprintf(out, 5, "%s", n ? number + n - 4 : "");
}

/* The fingerprint's other accounts (step 5). */
static enum err fingerprint_free(const struct wallet_ctx *w, const struct auth_session *cur, const uint8_t *fp)
{
    int others = 0;
    enum err e = w->a.st->ops->card_fingerprint_customers(w->a.st, fp, cur->customer_id, &others);
    if (e != ERR_OK)
        return e;
    return others >= CARD_MAX_ACCOUNTS ? ERR_CARD_UNAVAILABLE : ERR_OK;
}

/* T1: steps 3 and 4, then count the attempt and check the fingerprint
 * (step 5, invariant 4). */
static enum err link_admit(const struct wallet_ctx *w, const struct auth_session *cur, const uint8_t *fp,
                           struct card_sources *src, const char *last4, int64_t *attempt_id, const char **bad,
                           int64_t *retry_after_s)
{
    const char *why = NULL;
    enum err e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    e = session_still_live(w->a.st, cur->id, cur->customer_id, w->a.now);
    if (e == ERR_OK)
        e = card_sources_load(w, cur, src);
    if (e == ERR_OK)
        e = card_expire_stale(w, cur);
    if (e == ERR_OK)
        e = card_limits_check(w, src, &why, retry_after_s);
    if (e == ERR_RATE_LIMITED || e == ERR_LIMIT_EXCEEDED) {
        if (e == ERR_LIMIT_EXCEEDED)
            *bad = why;
        enum err r = card_record_failed(w, cur, e, last4, why);
        return auth_end(&w->a, r == ERR_OK, r == ERR_OK ? e : r);
    }
    if (e == ERR_OK)
        e = card_limits_count(w, src, attempt_id);
    if (e == ERR_OK && (e = fingerprint_free(w, cur, fp)) == ERR_CARD_UNAVAILABLE) {
        enum err r = w->a.st->ops->card_attempt_set_outcome(w->a.st, *attempt_id, CARD_ATTEMPT_REFUSED);
        if (r == ERR_OK)
            r = card_record_failed(w, cur, e, last4, NULL);
        return auth_end(&w->a, r == ERR_OK, r == ERR_OK ? e : r);
    }
    return auth_end(&w->a, e == ERR_OK, e);
}

static bool is_decline(enum err e)
{
    return e == ERR_CARD_DECLINED || e == ERR_CARD_INSUFFICIENT_FUNDS || e == ERR_CARD_EXPIRED ||
           e == ERR_INCORRECT_CVC;
}

/* T2: the issuer's answer to tokenize (gw_e), step 6. */
static enum err link_answered(const struct wallet_ctx *w, const struct auth_session *cur,
                              const struct card_sources *src, int64_t attempt_id, enum err gw_e, const char *last4)
{
    struct store *st = w->a.st;
    enum err e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    enum err result = gw_e;
    if (is_decline(gw_e)) {
        e = card_limits_declined(w, src, attempt_id, gw_e);
    } else if (gw_e == ERR_OK) {
        e = st->ops->card_attempt_set_outcome(st, attempt_id, CARD_ATTEMPT_OK);
    } else {
        /* Unreachable, or an answer tokenize may not give: broken.  The
         * issuer told nothing, so the attempt stops counting as waiting. */
        result = ERR_GATEWAY;
        e = st->ops->card_attempt_set_outcome(st, attempt_id, CARD_ATTEMPT_ERROR);
    }
    if (e == ERR_OK && result != ERR_OK)
        e = card_record_failed(w, cur, result, last4, NULL);
    e = auth_end(&w->a, e == ERR_OK, e);
    return e == ERR_OK ? result : e;
}

/* T3: store the card PENDING and deliver the issuer's code (step 7) to
 * email, the address the issuer was told, or to the holder it named. */
static enum err link_store(const struct wallet_ctx *w, const struct auth_session *cur, int64_t attempt_id,
                           const struct gateway_card *gc, const uint8_t *fp, const struct gateway_challenge *ch,
                           const char *email, struct card *out, const char **bad)
{
    struct store *st = w->a.st;
    struct card others[CARD_MAX_ACTIVE];
    size_t n = 0;
    enum err e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    e = session_still_live(w->a.st, cur->id, cur->customer_id, w->a.now);
    if (e == ERR_OK)
        e = st->ops->card_list(st, cur->customer_id, 0, 0, CARD_MAX_ACTIVE, others, &n);
    if (e == ERR_OK && n >= CARD_MAX_ACTIVE) {
        *bad = "cards";
        e = ERR_LIMIT_EXCEEDED;
    }
    if (e == ERR_OK)
        e = fingerprint_free(w, cur, fp);
    if (e == ERR_LIMIT_EXCEEDED || e == ERR_CARD_UNAVAILABLE) {
        /* Lost a race with another link (invariant 2). */
        enum err r = st->ops->card_attempt_set_outcome(st, attempt_id, CARD_ATTEMPT_REFUSED);
        if (r == ERR_OK)
            r = card_record_failed(w, cur, e, gc->last4, *bad);
        return auth_end(&w->a, r == ERR_OK, r == ERR_OK ? e : r);
    }
    if (e == ERR_OK) {
        memset(out, 0, sizeof *out);
        out->customer_id = cur->customer_id;
        out->status = CARD_PENDING;
        memcpy(out->token, gc->token, sizeof out->token);
        memcpy(out->brand, gc->brand, sizeof out->brand);
        memcpy(out->last4, gc->last4, sizeof out->last4);
        out->exp_month = gc->exp_month;
        out->exp_year = gc->exp_year;
        memcpy(out->fingerprint, fp, CARD_FINGERPRINT_BYTES);
        memcpy(out->challenge_ref, ch->ref, sizeof out->challenge_ref);
        out->created_ms = w->a.now;
        e = st->ops->card_insert(st, out);
    }
    /* A real processor's issuer reaches the cardholder itself (gateway.h);
     * the test one may name a holder other than this account.  Not the
     * account's address read again: changed meanwhile, it is one the
     * issuer never saw. */
    if (e == ERR_OK && ch->otp[0] != '\0')
        e = ch->otp_to[0] != '\0' ? wallet_mail_card_challenge_holder(&w->a, ch->otp_to, out->last4, ch->otp)
                                   : wallet_mail_card_challenge(&w->a, email, out->last4, ch->otp);
    if (e == ERR_OK)
        e = card_record(w, cur, SEC_CARD_LINK_STARTED, SEC_SUCCESS, card_detail_json(out));
    return auth_end(&w->a, e == ERR_OK, e);
}

enum err card_link_start(const struct wallet_ctx *w, const struct auth_session *cur, const struct card_link_input *in,
                         struct card *out, const char **bad, int64_t *retry_after_s)
{
    struct card_sources src;
    struct gateway_card gc;
    struct gateway_challenge ch;
    uint8_t fp[CARD_FINGERPRINT_BYTES];
    char last4[5];
    int64_t attempt_id = 0;
    *bad = NULL;
    *retry_after_s = 0;
    memset(out, 0, sizeof *out);
    enum err e = session_require(cur, SESSION_NEED_FRESH, w->a.now);
    if (e != ERR_OK)
        return e;
    typed_last4(in->number, last4);
    /* Recorded, but no attempt is counted: the issuer was not asked. */
    if ((e = check_input(w, in, bad)) != ERR_OK)
        return card_refuse(w, cur, e, NULL, *bad);
    secret_hash_str(w->a.master_key, SECRET_CARD_FINGERPRINT, in->number, fp);
    /* The risk engine first (risk_gate.h): card testing spread over
     * accounts and phones is denied before the issuer is asked, and before
     * the attempt counts.  The session is fresh (above), so a challenge is
     * answered already. */
    struct risk_gate rg;
    char ref[RISK_REF_MAX + 1], cid[IDS_BUF];
    if ((e = risk_gate_customer(w, &rg, RISK_CARD_LINK, cur->customer_id, cur->device_id)) != ERR_OK)
        return e;
    rg.ev.card_fp = risk_card_fp(fp);
    snprintf(ref, sizeof ref, "card_link:%s", ids_format(cid, CUSTOMER_ID_PREFIX, cur->customer_id));
    if ((e = risk_gate_check(w, &rg, true, w->a.now < cur->fresh_until_ms, ref)) != ERR_OK)
        return card_refuse(w, cur, e, last4, NULL);
    if ((e = link_admit(w, cur, fp, &src, last4, &attempt_id, bad, retry_after_s)) != ERR_OK) {
        risk_gate_observe(w->risk, &rg, RISK_FAILED);
        return e;
    }
    struct gateway_card_input gin = {in->number, in->exp_month, in->exp_year, in->cvc};
    memset(&gc, 0, sizeof gc);
    enum err gw_e = w->gw->ops->tokenize(w->gw, &gin, &gc);
    /* The windows learn the issuer's answer: declines and distinct cards
     * are what card testing looks like. */
    risk_gate_observe(w->risk, &rg, gw_e == ERR_OK ? RISK_DONE : is_decline(gw_e) ? RISK_DECLINED : RISK_FAILED);
    if ((e = link_answered(w, cur, &src, attempt_id, gw_e, gw_e == ERR_OK ? gc.last4 : last4)) != ERR_OK)
        return e;
    memset(&ch, 0, sizeof ch);
    /* The issuer is told the account's verified address, as 3-D Secure 2
     * tells it the cardholder's; it still sends its code to its holder. */
    struct customer c;
    if ((e = w->a.st->ops->customer_get(w->a.st, cur->customer_id, &c)) != ERR_OK)
        return e;
    char email[EMAIL_MAX + 1];
    snprintf(email, sizeof email, "%s", c.email);
    sodium_memzero(&c, sizeof c);
    /* The token was just made: any error is the processor's. */
    if (w->gw->ops->challenge_start(w->gw, gc.token, email, &ch) != ERR_OK)
        return card_refuse(w, cur, ERR_GATEWAY, gc.last4, NULL);
    e = link_store(w, cur, attempt_id, &gc, fp, &ch, email, out, bad);
    sodium_memzero(&ch, sizeof ch);
    if (e != ERR_OK)
        memset(out, 0, sizeof *out);
    return e;
}
