/* topup.c: the top-up requests of topup.h: card top-ups and their 3-D
 * Secure confirmation, cash top-ups at the register, and reading them.
 *
 * Each request has two halves.  ADMIT runs in one write transaction: find
 * the Idempotency-Key (a replay skips to DRIVE), run the checks of
 * topup.h, insert the row.  DRIVE (topup_steps.c) then moves the row along
 * its state machine, calling the gateway and the ledger outside any
 * transaction:
 *
 *   topup_card:    ADMIT --> CREATED --DRIVE--> AUTHORIZED --> SUCCEEDED (captured)
 *                                        \--> REQUIRES_ACTION (code mailed; answer 202)
 *   topup_confirm: REQUIRES_ACTION --code ok--> CREATED --DRIVE (authorize again, same key)--> ...
 *                                  --no tries left / expired, or a kill switch on--> FAILED
 *   topup_cash:    ADMIT (code consumed) --> AUTHORIZED --DRIVE--> SUCCEEDED
 *
 * (A confirmed challenge goes back to CREATED rather than straight to
 * AUTHORIZED so that a crash between the code and the second authorization
 * leaves a row the reconciler knows how to finish.)
 *
 * Invariants:
 *  1. Limits are checked in the transaction that inserts the row, so
 *     concurrent requests cannot pass a limit together (topup_limits.c).
 *  2. (idem_scope, idem_key) is unique: one key, one top-up, however often
 *     and however concurrently it is sent; the request fingerprint
 *     (req_hash) tells a true retry from a reused key.
 *  3. A refusal changes nothing but the security-event log (limits, second
 *     factor, the risk engine's decision and its audit entry), expired
 *     challenges and, for a bad cash top-up code, the terminal's count of
 *     bad codes (wallet/payment.h): no row, no code consumed.
 *  3a. The risk engine scores every new top-up last in ADMIT (risk_gate.h):
 *     deny ERR_RISK_DENIED, hold ERR_RISK_HELD; a challenge wants a fresh
 *     second factor for a card top-up and is recorded and allowed for a
 *     cash top-up (the clerk asked).  A decision other than allow commits
 *     in ADMIT's transaction; the outcome is observed after DRIVE (also
 *     after a 3-D Secure code finished it: topup_confirm).
 *  4. A challenge left unanswered for longer than it lives no longer holds
 *     money "on its way in": the next top-up of the customer, card or cash,
 *     marks it FAILED.
 *  5. The request may have waited for a worker: the session is read again
 *     (session_still_live) before a card top-up or a 3-D Secure code moves
 *     anything, so signing out everywhere stops what is still queued.
 *  6. Once the row is stored as AUTHORIZED (the card authorized, or the
 *     clerk holds the cash: the money is reserved; a failed write of it
 *     leaves t as it was), the answer is ERR_OK even
 *     when the credit fails for now: the top-up stands (status AUTHORIZED)
 *     and a retry with the key or the reconciler finishes it.
 */
#include "wallet/topup_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/events.h"
#include "auth/txn.h"
#include "merchant/terminal.h"
#include "ops/freeze.h"
#include "ops/killswitch.h"
#include "util/idem.h"
#include "wallet/card_internal.h"
#include "wallet/payment.h"
#include "wallet/risk_gate.h"

/* The request's fingerprint for idempotency: what must be equal for a
 * second request with the same key to be the same request. */
static void req_hash(const char *what, int64_t a, int64_t b, const uint8_t *extra, size_t extra_len,
                     uint8_t out[16])
{
    crypto_generichash_state s;
    char head[96];
    int n = snprintf(head, sizeof head, "%s:%lld:%lld:", what, (long long)a, (long long)b);
    crypto_generichash_init(&s, NULL, 0, 16);
    crypto_generichash_update(&s, (const uint8_t *)head, (size_t)n);
    if (extra)
        crypto_generichash_update(&s, extra, extra_len);
    crypto_generichash_final(&s, out, 16);
}

/* What *bad names for a key problem: the contract's name of the key. */
#define IDEM_PARAM "Idempotency-Key"

/* Record a refusal the customer (or whoever holds the session) should be
 * able to see later: the attack fails and is on file. */
static enum err record_refusal(const struct wallet_ctx *w, int64_t customer_id, int64_t device_id,
                               const char *reason, int64_t amount)
{
    return sec_event_record(w->a.st, w->a.now, customer_id, SEC_TOPUP_REFUSED, SEC_FAILURE, w->a.client_addr,
                            device_id, json_pack("{s:s, s:I}", "reason", reason, "amount", (json_int_t)amount));
}

/* Invariant 4, inside the caller's transaction: every dead challenge,
 * however many top-ups came after it. */
static enum err expire_challenges(const struct wallet_ctx *w, int64_t customer_id)
{
    return w->a.st->ops->topup_expire_challenges(w->a.st, customer_id, w->a.now - GATEWAY_CHALLENGE_TTL_MS,
                                                 err_symbol(ERR_AUTHENTICATION_FAILED), w->a.now);
}

/* Checks 1 and 2 of topup.h shared by both sources (switches, amount). */
static enum err check_switches_amount(const struct wallet_ctx *w, int source, int64_t amount, const char **bad,
                                      struct killswitch *switch_out)
{
    enum err e = topup_switches(w, source, switch_out);
    if (e != ERR_OK)
        return e;
    if (amount < 1) {
        *bad = "amount";
        return ERR_AMOUNT_INVALID;
    }
    if (amount > w->a.cfg->topup_max) {
        *bad = "amount";
        return ERR_LIMIT_EXCEEDED;
    }
    return ERR_OK;
}

/* The risk engine's verdict inside ADMIT's transaction: a decision other
 * than allow is written there (risk_gate_record); a refusal sets *record
 * so that the transaction commits it with the refusal's event. */
static enum err risk_decide(const struct wallet_ctx *w, struct risk_gate *rg, bool can_challenge, bool fresh,
                            const char *scope, const char *idem_key, bool *record)
{
    enum err e = risk_gate_decide(w, rg, can_challenge, fresh);
    if (!rg->on || rg->d.verdict == RISK_ALLOW)
        return e;
    char ref[RISK_REF_MAX + 1];
    snprintf(ref, sizeof ref, "topup:%s:%s", scope, idem_key);
    enum err re = risk_gate_record(w->a.st, w->a.now, rg, ref);
    if (re != ERR_OK)
        return re;
    if (e != ERR_OK)
        *record = true;
    return e;
}

/* ADMIT of a new card top-up, inside the transaction: checks, then the row. */
static enum err admit_card(const struct wallet_ctx *w, const struct auth_session *cur, int64_t card_id,
                           int64_t amount, struct topup *t, const char **bad, struct killswitch *switch_out,
                           bool *record, struct risk_gate *rg)
{
    struct store *st = w->a.st;
    enum err e = check_switches_amount(w, TOPUP_CARD, amount, bad, switch_out);
    if (e != ERR_OK)
        return e;
    struct card card;
    e = st->ops->card_get(st, card_id, &card);
    if (e == ERR_OK && card.customer_id != cur->customer_id)
        e = ERR_CARD_NOT_FOUND; /* another customer's card: not even its existence is told */
    if (e == ERR_OK && card.status != CARD_ACTIVE)
        e = card.status == CARD_PENDING ? ERR_CARD_NOT_ACTIVE : ERR_CARD_NOT_FOUND;
    if (e != ERR_OK) {
        if (e == ERR_CARD_NOT_FOUND || e == ERR_CARD_NOT_ACTIVE)
            *bad = "card_id";
        return e;
    }
    /* A frozen account takes no money in (ops/freeze.h): on its file. */
    t->customer_id = cur->customer_id;
    t->device_id = cur->device_id;
    if ((e = freeze_check(st, cur->customer_id)) != ERR_OK) {
        *record = e == ERR_ACCOUNT_FROZEN;
        return e;
    }
    e = expire_challenges(w, cur->customer_id);
    if (e != ERR_OK)
        return e;
    bool device_new = cur->device_new_until_ms > w->a.now || cur->cooldown_until_ms > w->a.now;
    struct topup_ask ask = {.customer_id = cur->customer_id,
                            .device_id = cur->device_id,
                            .amount = amount,
                            .card = &card,
                            .device_new = device_new};
    e = topup_check_limits(w, &ask, bad);
    if (e == ERR_LIMIT_EXCEEDED) {
        *record = true;
        return e;
    }
    if (e != ERR_OK)
        return e;
    /* Check 5: a large amount, or any amount from a device (or account)
     * that is still new, needs the second factor a moment ago: a stolen
     * password and session alone cannot drain a linked card. */
    if ((amount > w->a.cfg->topup_mfa_threshold || device_new) && !(w->a.now < cur->fresh_until_ms)) {
        *record = true;
        return ERR_FRESH_MFA_REQUIRED;
    }
    /* Check 6: the risk engine (risk_gate.h); a challenge wants the second
     * factor a moment ago.  Its decision commits in this transaction, with
     * the top-up or with the refusal's event. */
    if ((e = risk_gate_customer(w, rg, RISK_TOPUP, cur->customer_id, cur->device_id)) != ERR_OK)
        return e;
    rg->ev.card_fp = risk_card_fp(card.fingerprint);
    rg->ev.amount = amount;
    if ((e = risk_decide(w, rg, true, w->a.now < cur->fresh_until_ms, t->idem_scope, t->idem_key, record)) != ERR_OK)
        return e;
    t->customer_id = cur->customer_id;
    t->source = TOPUP_CARD;
    t->status = TOPUP_CREATED;
    t->amount = amount;
    t->card_id = card_id;
    t->device_id = cur->device_id;
    t->created_ms = t->updated_ms = w->a.now;
    return st->ops->topup_insert(st, t);
}

/* Checks and insert of a new top-up inside find_or_admit's transaction.
 * Sets t->customer_id and t->device_id as soon as it knows them, and
 * *record when the refusal is to be kept as a security event. */
typedef enum err (*admit_fn)(const struct wallet_ctx *w, const void *arg, struct topup *t, const char **bad,
                             struct killswitch *switch_out, bool *record);

struct card_args {
    const struct auth_session *cur;
    int64_t card_id, amount;
    struct risk_gate *rg; /* filled by ADMIT, observed after */
};

static enum err admit_card_fn(const struct wallet_ctx *w, const void *arg, struct topup *t, const char **bad,
                              struct killswitch *switch_out, bool *record)
{
    const struct card_args *a = arg;
    return admit_card(w, a->cur, a->card_id, a->amount, t, bad, switch_out, record, a->rg);
}

/* Find the key or admit a new top-up; on ERR_OK *t is the row (new or the
 * earlier one, *replayed says which).  No transaction is open on return. */
static enum err find_or_admit(const struct wallet_ctx *w, struct topup *t, bool *replayed, admit_fn admit,
                              const void *arg, const char **bad, struct killswitch *switch_out)
{
    struct store *st = w->a.st;
    uint8_t want[16];
    memcpy(want, t->req_hash, sizeof want);
    enum err e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    struct topup found;
    e = st->ops->topup_get_by_idem(st, t->idem_scope, t->idem_key, &found);
    if (e == ERR_OK) {
        st->ops->rollback(st);
        if (sodium_memcmp(found.req_hash, want, sizeof want) != 0) {
            *bad = IDEM_PARAM;
            return ERR_IDEMPOTENCY_CONFLICT;
        }
        *t = found;
        *replayed = true;
        return ERR_OK;
    }
    if (e != ERR_TOPUP_NOT_FOUND) {
        st->ops->rollback(st);
        return e;
    }
    bool record = false;
    e = admit(w, arg, t, bad, switch_out, &record);
    if (e == ERR_CONFLICT) {
        /* Another node inserted this key between our read and our insert. */
        st->ops->rollback(st);
        return ERR_IN_PROGRESS;
    }
    if (e != ERR_OK && record) {
        /* Keep nothing but the event (and any expired challenge). */
        const char *reason = e != ERR_LIMIT_EXCEEDED ? err_symbol(e) : *bad ? *bad : "limit";
        enum err re = record_refusal(w, t->customer_id, t->device_id, reason, t->amount);
        return auth_end(&w->a, re == ERR_OK, re == ERR_OK ? e : re);
    }
    return auth_end(&w->a, e == ERR_OK, e);
}

/* The windows learn how a scored top-up ended (rg is filled only for a new
 * one, not for a retry): credited, declined by the issuer, or failed.  One
 * waiting for 3-D Secure is observed when its code finishes it
 * (confirmed_observed), so its admission is released; one waiting for its
 * credit stays counted as admitted, and the reconciler credits it (after a
 * restart, risk_warm reads it). */
static void risk_observed(const struct wallet_ctx *w, struct risk_gate *rg, const struct topup *t, enum err e)
{
    if (t->status == TOPUP_REQUIRES_ACTION)
        risk_gate_release(w->risk, rg); /* counted when its code finishes it */
    else if (t->status == TOPUP_SUCCEEDED)
        risk_gate_observe(w->risk, rg, RISK_DONE);
    else if (t->status == TOPUP_FAILED)
        risk_gate_observe(w->risk, rg,
                          e == ERR_CARD_DECLINED || e == ERR_CARD_INSUFFICIENT_FUNDS || e == ERR_CARD_EXPIRED ||
                                  e == ERR_INCORRECT_CVC
                              ? RISK_DECLINED
                              : RISK_FAILED);
}

/* Invariant 6: the answer of a request whose row exists, given what
 * driving it returned. */
static enum err answer(const struct wallet_ctx *w, struct topup_result *out, enum err e)
{
    if (e == ERR_OK || out->t.status != TOPUP_AUTHORIZED)
        return e;
    /* The money is reserved (card authorized, or cash in the clerk's hand)
     * and the credit failed for now.  An error here could have the client
     * try again elsewhere, or the register hand the cash back, before the
     * credit lands. */
    out->balance = 0;
    (void)topup_wallet_balance(w->a.st, out->t.customer_id, &out->balance);
    return ERR_OK;
}

enum err topup_card(const struct wallet_ctx *w, const struct auth_session *cur, int64_t card_id, int64_t amount,
                    const char *idem_key, struct topup_result *out, const char **bad, struct killswitch *switch_out)
{
    memset(out, 0, sizeof *out);
    *bad = NULL;
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e == ERR_OK)
        e = session_still_live(w->a.st, cur->id, cur->customer_id, w->a.now); /* invariant 5 */
    if (e != ERR_OK)
        return e;
    if (!idem_key_valid(idem_key)) {
        *bad = IDEM_PARAM;
        return ERR_INVALID_PARAM;
    }
    struct topup *t = &out->t;
    ids_format(t->idem_scope, CUSTOMER_ID_PREFIX, cur->customer_id);
    snprintf(t->idem_key, sizeof t->idem_key, "%s", idem_key);
    req_hash("card", card_id, amount, NULL, 0, t->req_hash);
    t->amount = amount; /* for the refusal event */
    struct risk_gate rg;
    memset(&rg, 0, sizeof rg);
    struct card_args args = {cur, card_id, amount, &rg};
    e = find_or_admit(w, t, &out->replayed, admit_card_fn, &args, bad, switch_out);
    if (e != ERR_OK) {
        risk_gate_observe(w->risk, &rg, RISK_FAILED); /* scored and refused: the attempt counts */
        return e;
    }
    if (!out->replayed)
        topup_crash(w, TOPUP_CRASH_CREATED);
    e = topup_drive(w, t, &out->balance, switch_out);
    risk_observed(w, &rg, t, e);
    return answer(w, out, e);
}

struct cash_args {
    const struct merchant_terminal *term;
    const uint8_t *code_hash;
    int64_t amount;
    struct risk_gate *rg; /* filled by ADMIT, observed after */
};

static enum err admit_cash_fn(const struct wallet_ctx *w, const void *arg, struct topup *t, const char **bad,
                              struct killswitch *switch_out, bool *record)
{
    const struct cash_args *a = arg;
    struct store *st = w->a.st;
    /* A register blocked for guessing codes (wallet/payment.h) looks none
     * up here either. */
    enum err e = payment_terminal_throttle(w, a->term, NULL);
    if (e == ERR_OK)
        e = check_switches_amount(w, TOPUP_CASH, a->amount, bad, switch_out);
    if (e != ERR_OK)
        return e;
    /* A store that is not (or no longer) open takes no money; its code
     * stays usable elsewhere. */
    struct merchant_store shop;
    e = st->ops->mstore_get(st, a->term->store_id, &shop);
    if (e == ERR_OK && !shop.active)
        e = ERR_STORE_NOT_FOUND;
    if (e == ERR_OK)
        e = killswitch_check_scoped(st, KILLSWITCH_TOPUPS, shop.merchant_id, shop.id, switch_out);
    if (e != ERR_OK)
        return e;
    /* Unknown, used, expired, or made on a device since removed: all the
     * same answer, so a register learns nothing about other codes. */
    struct topup_code code;
    struct customer_device dev;
    struct customer c;
    e = st->ops->topup_code_get(st, a->code_hash, &code);
    if (e == ERR_OK && (code.used_ms != 0 || code.expires_ms <= w->a.now))
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        e = st->ops->device_get(st, code.device_id, &dev);
    if (e == ERR_OK && (dev.removed_ms != 0 || dev.customer_id != code.customer_id))
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        e = st->ops->customer_get(st, code.customer_id, &c);
    int64_t cooldown_until_ms = e == ERR_OK ? c.cooldown_until_ms : 0;
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    if (e == ERR_NOT_FOUND) {
        *bad = "code";
        return ERR_INVALID_CODE;
    }
    if (e != ERR_OK)
        return e;
    t->customer_id = code.customer_id; /* whose refusal it is, from here on */
    t->device_id = code.device_id;
    if ((e = freeze_check(st, code.customer_id)) != ERR_OK) {
        /* A frozen account takes no money in (ops/freeze.h), on its file;
         * the code stays unused. */
        *record = e == ERR_ACCOUNT_FROZEN;
        return e;
    }
    e = expire_challenges(w, code.customer_id);
    if (e != ERR_OK)
        return e;
    struct topup_ask ask = {.customer_id = code.customer_id,
                            .device_id = code.device_id,
                            .amount = a->amount,
                            .card = NULL,
                            .device_new = dev.new_until_ms > w->a.now || cooldown_until_ms > w->a.now};
    e = topup_check_limits(w, &ask, bad);
    if (e == ERR_LIMIT_EXCEEDED)
        *record = true;
    if (e != ERR_OK)
        return e;
    /* The risk engine (risk_gate.h): the clerk asked, nobody is there to
     * confirm a challenge, so it is recorded and allowed; hold and deny
     * refuse with the code unused. */
    e = risk_gate_customer(w, a->rg, RISK_TOPUP, code.customer_id, code.device_id);
    if (e != ERR_OK)
        return e;
    risk_gate_store(a->rg, &shop);
    a->rg->ev.terminal_id = a->term->id;
    a->rg->ev.amount = a->amount;
    if ((e = risk_decide(w, a->rg, false, false, t->idem_scope, t->idem_key, record)) != ERR_OK)
        return e;
    e = st->ops->topup_code_use(st, code.id, w->a.now);
    if (e == ERR_NOT_FOUND) {
        *bad = "code";
        return ERR_INVALID_CODE;
    }
    if (e != ERR_OK)
        return e;
    t->customer_id = code.customer_id;
    t->source = TOPUP_CASH;
    t->status = TOPUP_AUTHORIZED; /* the clerk holds the cash */
    t->amount = a->amount;
    t->device_id = code.device_id;
    t->store_id = a->term->store_id;
    t->terminal_id = a->term->id;
    t->created_ms = t->updated_ms = w->a.now;
    return st->ops->topup_insert(st, t);
}

/* The code as the clerk typed or scanned it, spaces dropped (it is often
 * typed in groups of digits): false unless that leaves TOPUP_CODE_DIGITS
 * digits with their check digit right. */
static bool code_digits(const char *typed, char out[TOPUP_CODE_DIGITS + 1])
{
    size_t n = 0;
    for (const char *p = typed; p != NULL && *p != '\0'; p++) {
        if (*p == ' ')
            continue;
        if (n == TOPUP_CODE_DIGITS)
            return false;
        out[n++] = *p;
    }
    out[n] = '\0';
    return topup_code_valid(out);
}

/* A bad code counts against the terminal as a payment code's does
 * (wallet/payment.h), as code_digits reads it (without its spaces, at most
 * TOPUP_CODE_DIGITS): the same code typed in groups or not is one code. */
static void count_bad_code(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *typed)
{
    char digits[TOPUP_CODE_DIGITS + 1] = {0}; /* code_digits stops short of the NUL on a long one */
    (void)code_digits(typed, digits);
    payment_terminal_guessed(w, term, digits);
    sodium_memzero(digits, sizeof digits);
}

enum err topup_cash(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *code,
                    int64_t amount, const char *idem_key, struct topup_result *out, const char **bad,
                    struct killswitch *switch_out)
{
    memset(out, 0, sizeof *out);
    *bad = NULL;
    if (!idem_key_valid(idem_key)) {
        *bad = IDEM_PARAM;
        return ERR_INVALID_PARAM;
    }
    char digits[TOPUP_CODE_DIGITS + 1];
    uint8_t code_hash[32];
    bool valid = code_digits(code, digits);
    if (valid)
        topup_code_hash(w, digits, code_hash);
    sodium_memzero(digits, sizeof digits);
    if (!valid) {
        /* No retry can match a malformed code: a blocked terminal is told
         * it is blocked, whatever it shows; else the code counts. */
        enum err b = payment_terminal_throttle(w, term, NULL);
        if (b != ERR_OK)
            return b;
        *bad = "code";
        count_bad_code(w, term, code);
        return ERR_INVALID_CODE;
    }
    struct topup *t = &out->t;
    ids_format(t->idem_scope, TERMINAL_ID_PREFIX, term->id);
    snprintf(t->idem_key, sizeof t->idem_key, "%s", idem_key);
    req_hash("cash", term->id, amount, code_hash, sizeof code_hash, t->req_hash);
    t->amount = amount;
    struct risk_gate rg;
    memset(&rg, 0, sizeof rg);
    struct cash_args args = {term, code_hash, amount, &rg};
    enum err e = find_or_admit(w, t, &out->replayed, admit_cash_fn, &args, bad, switch_out);
    if (e == ERR_INVALID_CODE)
        count_bad_code(w, term, code);
    if (e != ERR_OK) {
        risk_gate_observe(w->risk, &rg, RISK_FAILED);
        return e;
    }
    e = topup_drive(w, t, &out->balance, NULL);
    risk_observed(w, &rg, t, e);
    return answer(w, out, e);
}

/* A top-up finished by its 3-D Secure code was scored when it was admitted;
 * the windows learn now how it ended (the event rebuilt from the row: the
 * customer, the device, the card, the amount).  One charged whose credit
 * waits for the reconciler counts as done now: its admission was released
 * when it waited for the code, and nothing observes the reconciler's
 * credit.  Best effort: a read that fails leaves it to the next risk_warm. */
static void confirmed_observed(const struct wallet_ctx *w, const struct topup *t, enum err e)
{
    if (w->risk == NULL || t->status == TOPUP_CREATED || t->status == TOPUP_REQUIRES_ACTION)
        return;
    struct risk_gate rg;
    struct card card;
    if (risk_gate_customer(w, &rg, RISK_TOPUP, t->customer_id, t->device_id) != ERR_OK ||
        w->a.st->ops->card_get(w->a.st, t->card_id, &card) != ERR_OK)
        return;
    rg.ev.card_fp = risk_card_fp(card.fingerprint);
    rg.ev.amount = t->amount;
    if (t->status == TOPUP_AUTHORIZED)
        risk_gate_observe(w->risk, &rg, RISK_DONE);
    else
        risk_observed(w, &rg, t, e);
}

enum err topup_confirm(const struct wallet_ctx *w, const struct auth_session *cur, int64_t topup_id,
                       const char *code, struct topup_result *out, struct killswitch *switch_out)
{
    memset(out, 0, sizeof *out);
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e != ERR_OK)
        return e;
    size_t len = code ? strlen(code) : 0;
    if (len == 0 || len > GATEWAY_OTP_MAX || strspn(code, "0123456789") != len)
        return ERR_INVALID_CODE;
    struct topup *t = &out->t;
    e = session_still_live(w->a.st, cur->id, cur->customer_id, w->a.now); /* invariant 5 */
    if (e == ERR_OK)
        e = w->a.st->ops->topup_get(w->a.st, topup_id, t);
    if (e == ERR_OK && (t->customer_id != cur->customer_id || t->status != TOPUP_REQUIRES_ACTION))
        e = ERR_TOPUP_NOT_FOUND;
    if (e != ERR_OK) {
        memset(t, 0, sizeof *t);
        return e;
    }
    /* Not charged yet: a switch turned on since the top-up was admitted
     * stops it before the code is even looked at (topup_steps.c,
     * invariant 5). */
    e = topup_switches(w, TOPUP_CARD, switch_out);
    if (e == ERR_SUSPENDED) {
        enum err fe = topup_fail(w, t, TOPUP_REQUIRES_ACTION, ERR_SUSPENDED);
        return fe != ERR_OK ? fe : ERR_SUSPENDED;
    }
    if (e != ERR_OK)
        return e;
    e = w->gw->ops->challenge_verify(w->gw, t->challenge_ref, code);
    if (e == ERR_INVALID_CODE || e == ERR_GATEWAY)
        return e; /* tries left, or an unknown outcome: the row stays for a retry */
    /* Passed, failed for good, or already spent by a pass whose answer a
     * crash lost (a retry of the same code then hears "failed"): the
     * authorization under the same key knows which, so go back to CREATED
     * and let it decide; a failed check then ends the top-up FAILED. */
    e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    e = w->a.st->ops->topup_get(w->a.st, topup_id, t);
    bool still = e == ERR_OK && t->status == TOPUP_REQUIRES_ACTION;
    if (still) {
        t->status = TOPUP_CREATED;
        t->challenge_ref[0] = '\0';
        t->updated_ms = w->a.now;
        e = w->a.st->ops->topup_update(w->a.st, t);
    }
    e = auth_end(&w->a, still && e == ERR_OK, e);
    if (e != ERR_OK)
        return e;
    e = topup_drive(w, t, &out->balance, switch_out);
    confirmed_observed(w, t, e);
    return answer(w, out, e);
}

const char *topup_status_name(int status)
{
    static const char *const names[] = {
        [TOPUP_CREATED] = "created",     [TOPUP_REQUIRES_ACTION] = "requires_action",
        [TOPUP_AUTHORIZED] = "authorized", [TOPUP_SUCCEEDED] = "succeeded",
        [TOPUP_FAILED] = "failed",
    };
    bool known = status > 0 && (size_t)status < sizeof names / sizeof names[0];
    return known ? names[status] : "failed";
}

enum err topup_get(const struct wallet_ctx *w, const struct auth_session *cur, int64_t topup_id,
                   struct topup_result *out)
{
    memset(out, 0, sizeof *out);
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e != ERR_OK)
        return e;
    e = w->a.st->ops->topup_get(w->a.st, topup_id, &out->t);
    if (e == ERR_OK && out->t.customer_id != cur->customer_id)
        e = ERR_TOPUP_NOT_FOUND;
    if (e == ERR_OK)
        e = topup_wallet_balance(w->a.st, cur->customer_id, &out->balance);
    if (e != ERR_OK)
        memset(out, 0, sizeof *out);
    return e;
}

enum err topup_list(const struct wallet_ctx *w, const struct auth_session *cur, int64_t before_id,
                    struct topup *out, size_t max, size_t *n)
{
    *n = 0;
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e != ERR_OK)
        return e;
    if (max > TOPUP_LIST_MAX)
        max = TOPUP_LIST_MAX;
    return w->a.st->ops->topup_list(w->a.st, cur->customer_id, before_id, max, out, n);
}
