/* topup_steps.c: moving one top-up along its state machine
 * (wallet_types.h), one step at a time:
 *
 *   CREATED --topup_step_authorize--> AUTHORIZED --topup_step_credit--> SUCCEEDED --topup_step_capture--> captured
 *      |              |
 *      |              +--issuer wants 3-D Secure--> REQUIRES_ACTION  (topup_confirm, topup.c)
 *      +--decline, or the card removed since--> FAILED
 *
 * Invariants:
 *  1. No transaction is open across a gateway call or a ledger wait.  Each
 *     step calls out first, then re-reads the row in a write transaction and
 *     moves it only if it is still in the state the step started from: two
 *     drivers of one top-up (a client retry and the reconciler) both get
 *     the same answer from the idempotent gateway and ledger, and only one
 *     of them moves the row, sends the mail, and so on.
 *  2. Every call out is idempotent by the top-up: the gateway authorizes
 *     with the key "tpu_…", the ledger transfer's key is "topup:tpu_…".  So
 *     a step cut short by a crash is simply run again.
 *  3. The row becomes SUCCEEDED only after the ledger transfer committed
 *     (durably), and in the same transaction the customer's mail is queued.
 *  4. A decline is final (FAILED with its err symbol); a gateway or storage
 *     failure is not: the row stays where it was for a retry.
 */
#include "wallet/topup_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/txn.h"
#include "ledger/ledger.h"
#include "util/log.h"
#include "wallet/wallet_mail.h"

char *topup_public_id(char buf[IDS_BUF], int64_t id) { return ids_format(buf, TOPUP_ID_PREFIX, id); }

void topup_transfer_key(char *buf, size_t n, int64_t id)
{
    char tid[IDS_BUF];
    snprintf(buf, n, "topup:%s", topup_public_id(tid, id));
}

void topup_crash(const struct wallet_ctx *w, const char *point)
{
    if (w->crash_point)
        w->crash_point(point);
}

enum err topup_decline_err(const struct topup *t)
{
    for (int e = 1; e < ERR__COUNT; e++)
        if (strcmp(err_symbol((enum err)e), t->decline_code) == 0)
            return (enum err)e;
    return ERR_CARD_DECLINED;
}

/* Open a write transaction and re-read t; *still tells whether it is still
 * in state `from` (then the caller changes it and ends the transaction). */
static enum err reread(const struct wallet_ctx *w, struct topup *t, int from, bool *still)
{
    enum err e = auth_begin(&w->a);
    if (e != ERR_OK)
        return e;
    e = w->a.st->ops->topup_get(w->a.st, t->id, t);
    if (e != ERR_OK) {
        w->a.st->ops->rollback(w->a.st);
        return e;
    }
    *still = t->status == from;
    return ERR_OK;
}

/* Write t (updated_ms = now) and end the transaction reread opened. */
static enum err write_end(const struct wallet_ctx *w, struct topup *t, enum err e)
{
    t->updated_ms = w->a.now;
    if (e == ERR_OK)
        e = w->a.st->ops->topup_update(w->a.st, t);
    return auth_end(&w->a, e == ERR_OK, e);
}

enum err topup_fail(const struct wallet_ctx *w, struct topup *t, int from, enum err reason)
{
    bool still = false;
    enum err e = reread(w, t, from, &still);
    if (e != ERR_OK)
        return e;
    if (!still)
        return auth_end(&w->a, false, ERR_OK);
    t->status = TOPUP_FAILED;
    t->challenge_ref[0] = '\0';
    snprintf(t->decline_code, sizeof t->decline_code, "%s", err_symbol(reason));
    return write_end(w, t, ERR_OK);
}

static bool is_decline(enum err e)
{
    return e == ERR_CARD_DECLINED || e == ERR_CARD_INSUFFICIENT_FUNDS || e == ERR_CARD_EXPIRED ||
           e == ERR_INCORRECT_CVC || e == ERR_AUTHENTICATION_FAILED;
}

static void log_step(const char *event, const struct topup *t, enum err e)
{
    char tid[IDS_BUF];
    log_event(LOG_WARN, event, json_pack("{s:s, s:s}", "topup", topup_public_id(tid, t->id), "error", err_symbol(e)));
}

/* The customer's address on file, for the mail of a step. */
static enum err customer_email(const struct wallet_ctx *w, int64_t customer_id, char *out, size_t n)
{
    struct customer c;
    enum err e = w->a.st->ops->customer_get(w->a.st, customer_id, &c);
    if (e == ERR_OK)
        snprintf(out, n, "%s", c.email);
    return e;
}

enum err topup_step_authorize(const struct wallet_ctx *w, struct topup *t)
{
    if (t->status != TOPUP_CREATED || t->source != TOPUP_CARD)
        return ERR_OK;
    struct store *st = w->a.st;
    struct card card;
    enum err e = st->ops->card_get(st, t->card_id, &card);
    if (e != ERR_OK)
        return e;
    /* Removed since the top-up was admitted (a client retry, a 3-D Secure
     * code or the reconciler drives it later): the customer was told the
     * card "can no longer be used to top up", so it is not asked. */
    if (card.status != CARD_ACTIVE) {
        enum err fe = topup_fail(w, t, TOPUP_CREATED, ERR_CARD_NOT_FOUND);
        return fe != ERR_OK ? fe : t->status == TOPUP_FAILED ? topup_decline_err(t) : ERR_OK;
    }
    char key[IDS_BUF];
    struct gateway_auth auth;
    memset(&auth, 0, sizeof auth);
    e = w->gw->ops->authorize(w->gw, card.token, t->amount, topup_public_id(key, t->id), &auth);
    if (e == ERR_NOT_FOUND)
        e = ERR_CARD_DECLINED; /* the processor no longer knows the token */
    if (is_decline(e)) {
        enum err fe = topup_fail(w, t, TOPUP_CREATED, e);
        return fe != ERR_OK ? fe : t->status == TOPUP_FAILED ? topup_decline_err(t) : ERR_OK;
    }
    if (e != ERR_OK) {
        log_step("topup_authorize_failed", t, e);
        return e;
    }

    bool still = false;
    e = reread(w, t, TOPUP_CREATED, &still);
    if (e != ERR_OK || !still) {
        sodium_memzero(auth.challenge.otp, sizeof auth.challenge.otp);
        return e != ERR_OK ? e : auth_end(&w->a, false, ERR_OK);
    }
    snprintf(t->gateway_ref, sizeof t->gateway_ref, "%s", auth.ref);
    if (auth.status == GATEWAY_REQUIRES_ACTION) {
        t->status = TOPUP_REQUIRES_ACTION;
        snprintf(t->challenge_ref, sizeof t->challenge_ref, "%s", auth.challenge.ref);
        /* The test processor hands us its issuer's code to deliver; a real
         * one reaches the cardholder itself (otp empty). */
        if (auth.challenge.otp[0] != '\0') {
            char to[EMAIL_MAX + 1];
            e = customer_email(w, t->customer_id, to, sizeof to);
            if (e == ERR_OK)
                e = wallet_mail_topup_challenge(&w->a, to, card.last4, t->amount, auth.challenge.otp);
        }
        sodium_memzero(auth.challenge.otp, sizeof auth.challenge.otp);
        return write_end(w, t, e);
    }
    if (auth.status != GATEWAY_AUTHORIZED) {
        auth_end(&w->a, false, ERR_OK);
        return ERR_GATEWAY;
    }
    t->status = TOPUP_AUTHORIZED;
    e = write_end(w, t, ERR_OK);
    if (e == ERR_OK)
        topup_crash(w, TOPUP_CRASH_AUTHORIZED);
    return e;
}

/* How the mail names where the money came from. */
static void source_text(const struct wallet_ctx *w, const struct topup *t, char *out, size_t n)
{
    struct store *st = w->a.st;
    if (t->source == TOPUP_CARD) {
        struct card c;
        if (st->ops->card_get(st, t->card_id, &c) == ERR_OK)
            snprintf(out, n, "your %s card ending in %s", c.brand, c.last4);
        else
            snprintf(out, n, "your card");
    } else {
        struct merchant_store s;
        if (st->ops->mstore_get(st, t->store_id, &s) == ERR_OK)
            snprintf(out, n, "cash at %s", s.name);
        else
            snprintf(out, n, "cash at a store");
    }
}

enum err topup_step_credit(const struct wallet_ctx *w, struct topup *t, int64_t *balance)
{
    struct store *st = w->a.st;
    if (t->status != TOPUP_AUTHORIZED) {
        if (balance)
            return topup_wallet_balance(st, t->customer_id, balance);
        return ERR_OK;
    }
    struct ledger_transfer x;
    memset(&x, 0, sizeof x);
    enum err e = wallet_account(st, t->customer_id, &x.credit_account);
    if (e == ERR_OK)
        e = t->source == TOPUP_CARD ? ledger_system_account(st, "card_receivable", &x.debit_account)
                                    : topup_store_cash_account(st, t->store_id, &x.debit_account);
    if (e != ERR_OK)
        return e;
    topup_transfer_key(x.key, sizeof x.key, t->id);
    x.amount = t->amount;
    snprintf(x.kind, sizeof x.kind, "%s", t->source == TOPUP_CARD ? TOPUP_XFER_CARD : TOPUP_XFER_CASH);
    e = ledger_writer_submit_wait(w->writer, &x, 1, NULL, NULL);
    if (e != ERR_OK) {
        log_step("topup_credit_failed", t, e);
        return e;
    }
    topup_crash(w, TOPUP_CRASH_CREDITED);

    bool still = false;
    e = reread(w, t, TOPUP_AUTHORIZED, &still);
    if (e != ERR_OK)
        return e;
    struct ledger_account acct;
    e = st->ops->account_get(st, x.credit_account, &acct);
    if (e == ERR_OK && balance)
        *balance = ledger_balance(&acct);
    if (e != ERR_OK || !still)
        return auth_end(&w->a, false, e);
    t->status = TOPUP_SUCCEEDED;
    t->transfer_id = x.id;
    char to[EMAIL_MAX + 1], source[MERCHANT_NAME_MAX + 64];
    e = customer_email(w, t->customer_id, to, sizeof to);
    if (e == ERR_OK) {
        source_text(w, t, source, sizeof source);
        e = wallet_mail_topup_succeeded(&w->a, to, t->amount, source, ledger_balance(&acct));
    }
    return write_end(w, t, e);
}

enum err topup_step_capture(const struct wallet_ctx *w, struct topup *t)
{
    if (t->status != TOPUP_SUCCEEDED || t->source != TOPUP_CARD || t->captured)
        return ERR_OK;
    enum err e = w->gw->ops->capture(w->gw, t->gateway_ref, t->amount);
    if (e != ERR_OK) {
        log_step("topup_capture_failed", t, e);
        return e;
    }
    bool still = false;
    e = reread(w, t, TOPUP_SUCCEEDED, &still);
    if (e != ERR_OK)
        return e;
    if (!still || t->captured)
        return auth_end(&w->a, false, ERR_OK);
    t->captured = 1;
    return write_end(w, t, ERR_OK);
}

enum err topup_drive(const struct wallet_ctx *w, struct topup *t, int64_t *balance)
{
    enum err e = topup_step_authorize(w, t);
    if (e != ERR_OK)
        return e;
    if (t->status == TOPUP_FAILED)
        return topup_decline_err(t);
    e = topup_step_credit(w, t, balance);
    if (e != ERR_OK)
        return e;
    /* The wallet is credited: a capture that fails now is retried by
     * topup_reconcile and changes nothing for the customer. */
    (void)topup_step_capture(w, t);
    return ERR_OK;
}
