/* topup_steps.c: moving one top-up along its state machine
 * (wallet_types.h), one step at a time:
 *
 *   CREATED --topup_step_authorize--> AUTHORIZED --topup_step_credit--> SUCCEEDED --topup_step_capture--> captured
 *      |              |
 *      |              +--issuer wants 3-D Secure--> REQUIRES_ACTION  (topup_confirm, topup.c)
 *      +--decline, the card removed since, or a kill switch on--> FAILED
 *
 * Invariants:
 *  1. No transaction is open across a gateway call or a ledger wait.  Each
 *     step calls out first, then re-reads the row in a write transaction (the
 *     credit: in the ledger writer's, invariant 3) and moves it only if it
 *     is still in the state the step started from: two
 *     drivers of one top-up (a client retry and the reconciler) both get
 *     the same answer from the idempotent gateway and ledger, and only one
 *     of them moves the row, sends the mail, and so on.
 *  2. Every call out is idempotent by the top-up: the gateway authorizes
 *     with the key "tpu_…", the ledger transfer's key is "topup:tpu_…".  So
 *     a step cut short by a crash is simply run again.
 *  3. The row becomes SUCCEEDED in the ledger writer's transaction that
 *     commits the credit (a hook, writer.h), with the customer's mail: the
 *     money is in exactly when the row says so, so a top-up is never
 *     counted twice (balance and on its way in) nor not at all.
 *  4. A decline is final (FAILED with its err symbol); a gateway or storage
 *     failure is not: the row stays where it was for a retry.
 *  5. A card is charged only while no kill switch stops card top-ups: the
 *     switches are read again right before the processor is asked, and a
 *     row stopped there ends FAILED (service_suspended).  AUTHORIZED rows
 *     (the card is already charged) and cash rows always finish.
 */
#include "wallet/topup_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/txn.h"
#include "ledger/ledger.h"
#include "ops/freeze.h"
#include "ops/killswitch.h"
#include "util/log.h"
#include "wallet/wallet_feed.h"
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

enum err topup_switches(const struct wallet_ctx *w, int source, struct killswitch *out)
{
    static const char *const card_switches[] = {KILLSWITCH_TOPUPS, KILLSWITCH_CARD_TOPUPS, NULL};
    static const char *const cash_switches[] = {KILLSWITCH_TOPUPS, NULL};
    return killswitch_check(w->a.st, source == TOPUP_CARD ? card_switches : cash_switches, out);
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

void topup_log(const char *event, const struct topup *t, enum err e)
{
    char tid[IDS_BUF];
    log_event(LOG_WARN, event, json_pack("{s:s, s:s}", "topup", topup_public_id(tid, t->id), "error", err_symbol(e)));
}

/* The customer's address on file, for the mail of a step. */
static enum err customer_email(struct store *st, int64_t customer_id, char *out, size_t n)
{
    struct customer c;
    enum err e = st->ops->customer_get(st, customer_id, &c);
    if (e == ERR_OK)
        snprintf(out, n, "%s", c.email);
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return e;
}

/* Fail t (still CREATED) for reason without asking the processor; the
 * answer is the row's reason, or ERR_OK if another driver moved it on. */
static enum err refuse_created(const struct wallet_ctx *w, struct topup *t, enum err reason)
{
    enum err fe = topup_fail(w, t, TOPUP_CREATED, reason);
    return fe != ERR_OK ? fe : t->status == TOPUP_FAILED ? topup_decline_err(t) : ERR_OK;
}

enum err topup_step_authorize(const struct wallet_ctx *w, struct topup *t, struct killswitch *switch_out)
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
    if (card.status != CARD_ACTIVE)
        return refuse_created(w, t, ERR_CARD_NOT_FOUND);
    /* Invariant 5: switched off since the top-up was admitted. */
    e = topup_switches(w, TOPUP_CARD, switch_out);
    if (e == ERR_SUSPENDED)
        return refuse_created(w, t, ERR_SUSPENDED);
    /* Nor is the card charged for an account frozen since (a 3-D Secure
     * code typed after a self-freeze, the reconciler after staff froze it):
     * nothing was charged yet, so nothing has to finish. */
    if (e == ERR_OK && (e = freeze_check(st, t->customer_id)) == ERR_ACCOUNT_FROZEN)
        return refuse_created(w, t, ERR_ACCOUNT_FROZEN);
    if (e != ERR_OK)
        return e;
    char key[IDS_BUF];
    struct gateway_auth auth;
    memset(&auth, 0, sizeof auth);
    e = w->gw->ops->authorize(w->gw, card.token, t->amount, topup_public_id(key, t->id), &auth);
    if (e == ERR_NOT_FOUND)
        e = ERR_CARD_DECLINED; /* the processor no longer knows the token */
    if (is_decline(e))
        return refuse_created(w, t, e);
    if (e != ERR_OK) {
        topup_log("topup_authorize_failed", t, e);
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
            e = customer_email(st, t->customer_id, to, sizeof to);
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
    if (e != ERR_OK)
        t->status = TOPUP_CREATED; /* not stored: the answer must not say authorized */
    if (e == ERR_OK)
        topup_crash(w, TOPUP_CRASH_AUTHORIZED);
    return e;
}

/* How the mail names where the money came from. */
static void source_text(struct store *st, const struct topup *t, char *out, size_t n)
{
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

/* What the credit's hook needs, and what it tells the step. */
struct credit_hook {
    int64_t topup_id;
    struct auth_ctx a; /* master key, settings, clock, client address; st: the writer's */
    struct topup row;  /* the row as the hook left it */
    int64_t balance;   /* the wallet's balance after the transfer */
    bool marked;       /* the hook made the row SUCCEEDED and queued the mail */
};

/* Invariant 3, on the ledger writer's thread and connection, inside the
 * transaction of the transfer x[0]. */
static enum err credit_hook(void *ctx, struct store *st, const struct ledger_transfer *x,
                            const struct ledger_balances *after, size_t n, bool replayed)
{
    struct credit_hook *h = ctx;
    h->marked = false;
    if (n != 1)
        return ERR_INTERNAL;
    h->balance = after[0].credit;
    enum err e = st->ops->topup_get(st, h->topup_id, &h->row);
    if (e != ERR_OK)
        return e;
    /* Another driver of this top-up credited it first: its transfer is
     * the one replayed here, and nothing more is to be done. */
    if (h->row.status == TOPUP_SUCCEEDED && replayed)
        return ERR_OK;
    /* Only a row waiting for its credit gets one: anything else undoes the
     * transfer. */
    if (h->row.status != TOPUP_AUTHORIZED)
        return ERR_CONFLICT;
    h->row.status = TOPUP_SUCCEEDED;
    h->row.transfer_id = x[0].id;
    h->row.updated_ms = h->a.now;
    h->row.balance_after = h->balance;
    e = st->ops->topup_update(st, &h->row);
    char to[EMAIL_MAX + 1], source[MERCHANT_NAME_MAX + 64];
    if (e == ERR_OK)
        e = customer_email(st, h->row.customer_id, to, sizeof to);
    if (e == ERR_OK) {
        h->a.st = st;
        source_text(st, &h->row, source, sizeof source);
        e = wallet_mail_topup_succeeded(&h->a, to, h->row.amount, source, h->balance);
        if (e == ERR_OK)
            e = wallet_feed_topup_credited(st, h->a.now, &h->row, source, h->balance);
    }
    h->marked = e == ERR_OK;
    return e;
}

enum err topup_step_credit(const struct wallet_ctx *w, struct topup *t, int64_t *balance)
{
    struct store *st = w->a.st;
    if (t->status != TOPUP_AUTHORIZED) {
        /* Done before (a retry): the balance its receipt said, never the
         * wallet now, which a register retrying could read at will. */
        if (balance && t->status == TOPUP_SUCCEEDED && t->balance_after > 0) {
            *balance = t->balance_after;
            return ERR_OK;
        }
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
    struct credit_hook h = {.topup_id = t->id, .a = w->a};
    e = ledger_writer_submit_hooked_wait(w->writer, &x, 1, credit_hook, &h, NULL, NULL);
    if (e != ERR_OK) {
        topup_log("topup_credit_failed", t, e);
        return e;
    }
    *t = h.row;
    if (balance)
        *balance = h.balance;
    if (h.marked)
        auth_deliver(&w->a);
    topup_crash(w, TOPUP_CRASH_CREDITED);
    return ERR_OK;
}

enum err topup_step_capture(const struct wallet_ctx *w, struct topup *t)
{
    if (t->status != TOPUP_SUCCEEDED || t->source != TOPUP_CARD || t->captured)
        return ERR_OK;
    enum err e = w->gw->ops->capture(w->gw, t->gateway_ref, t->amount);
    if (e != ERR_OK) {
        topup_log("topup_capture_failed", t, e);
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

enum err topup_drive(const struct wallet_ctx *w, struct topup *t, int64_t *balance, struct killswitch *switch_out)
{
    enum err e = topup_step_authorize(w, t, switch_out);
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
