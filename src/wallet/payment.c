/* payment.c: the register's side of paying (payment.h): charges of a
 * customer's code, refunds and voids, reading a charge, the store's feed —
 * and the defence against registers guessing codes.
 *
 * Each call reads and checks on the caller's connection (w->a.st, no
 * transaction: every read is one statement), then hands a decided order
 * to payment_submit (payment_core.c), which writes everything in the
 * ledger writer's transaction.  Nothing here writes, except the record of
 * a bad code (below), which only refusals pay for.
 *
 * Charge, in order:
 *   1. the terminal is not blocked for guessing (ERR_RATE_LIMITED);
 *   2. amount 1..pay_max; the store is active; kill switch "payments"
 *      off globally, for the merchant and for the store;
 *   3. the code resolves (paycode_resolve).  If it does not, and the
 *      Idempotency-Key already paid (a retry after the code was spent), the
 *      stored charge is replayed; otherwise the bad code is counted against
 *      the terminal and ERR_INVALID_CODE answered.  (A retry refused by
 *      step 1, 2, 4 or 5 — a switch turned on since, the balance left
 *      after the first charge of an offline code, which still resolves —
 *      is replayed too.)  Under a key that paid, a code not the payer's
 *      counts as a bad code as well (same_charge), and a blocked terminal's
 *      code is not looked up;
 *   4. offline codes: amount <= offline_pay_max;
 *   5. the customer is not frozen; has a wallet with the amount;
 *   6. the risk engine (risk_gate.h): deny and hold refuse (ERR_RISK_DENIED,
 *      ERR_RISK_HELD); a challenge makes the charge wait for the customer's
 *      answer in the app (pending_charge.h: the code is spent, nothing
 *      moves, the register is answered with the waiting charge);
 *   7. submit: the code's consumption, the limits, the row, the nonce and
 *      the mail commit with the transfer or not at all; the engine
 *      observes the outcome from the completer.
 *
 * Code guessing: every bad code a terminal presents is recorded (keyed
 * hash, SECRET_GUESSED_CODE) under its key id — in kessaid a charge's by
 * its caller, in the ledger writer's group that spends the request's
 * nonce, so that neither a refusal makes an HTTP thread commit nor a
 * replay (refused by its nonce) counts, and held as in flight until then
 * (guess_pending.h) for the block check to add; a retry's foreign code
 * (same_charge) and a cash top-up's bad code in a transaction of their
 * own.  PAYMENT_GUESS_CODES
 * distinct bad codes within PAYMENT_GUESS_WINDOW_MS block the terminal's
 * charges and cash top-ups (whose bad codes count too: wallet/topup.h) for
 * PAYMENT_GUESS_BLOCK_MS (source_blocks, seen by every node),
 * with a warn log line "terminal_flagged" and a terminal_flagged security
 * event.  A register whose customer's code just expired is one failure;
 * ten different codes in ten minutes is a search.  With 10^16 codes and at
 * most a handful live per customer, guessing is hopeless anyway — this
 * makes it visible and slow.
 */
#include "wallet/payment_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/events.h"
#include "auth/secret_hash.h"
#include "ledger/ledger.h"
#include "merchant/merchant.h"
#include "merchant/terminal.h"
#include "ops/freeze.h"
#include "ops/killswitch.h"
#include "util/idem.h"
#include "util/log.h"
#include "wallet/pending_charge.h"

static void set_bad(const char **bad, const char *v)
{
    if (bad)
        *bad = v;
}

/* ---- code guessing ------------------------------------------------------- */

/* The bad codes still in flight to be counted (guess_pending.h) count
 * toward the block with those counted: refused as if blocked, for a
 * second, by when the block or the count falling short shows.  Only a
 * terminal with codes in flight pays for the count, and reads it outside
 * the request's snapshot (which may predate codes committed since), the
 * codes in flight first and the store after: a code is then seen in
 * flight, or committed, or briefly both, never neither. */
enum err payment_terminal_throttle(const struct wallet_ctx *w, const struct merchant_terminal *term,
                                   int64_t *retry_after_s)
{
    struct store *st = w->a.st;
    int pending = w->guesses ? guess_pending_count(w->guesses, term->key_id) : 0;
    if (pending > 0)
        st->ops->snapshot_end(st);
    int64_t until = 0;
    enum err e = st->ops->source_block_get(st, AUTH_SOURCE_TERMINAL, term->key_id, &until);
    if (e == ERR_OK && until > w->a.now) {
        if (retry_after_s)
            *retry_after_s = (until - w->a.now + 999) / 1000;
        return ERR_RATE_LIMITED;
    }
    if (e != ERR_OK && e != ERR_NOT_FOUND)
        return e;
    if (pending == 0)
        return ERR_OK;
    int counted = 0;
    e = st->ops->auth_failure_distinct(st, AUTH_SOURCE_TERMINAL, term->key_id, w->a.now - PAYMENT_GUESS_WINDOW_MS,
                                       &counted);
    if (e != ERR_OK)
        return e;
    if (counted + pending < PAYMENT_GUESS_CODES)
        return ERR_OK;
    if (retry_after_s)
        *retry_after_s = 1;
    return ERR_RATE_LIMITED;
}

void payment_guess_of(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *code,
                      struct payment_guess *g)
{
    memset(g, 0, sizeof *g);
    g->set = true;
    snprintf(g->key_id, sizeof g->key_id, "%s", term->key_id);
    g->store_id = term->store_id;
    secret_hash_str(w->a.master_key, SECRET_GUESSED_CODE, code ? code : "", g->hash);
    snprintf(g->client_addr, sizeof g->client_addr, "%s", w->a.client_addr);
}

enum err payment_guess_record(struct store *st, struct payment_guess *g, int64_t now)
{
    g->flagged = false;
    g->distinct = 0;
    enum err e = st->ops->auth_failure_insert(st, AUTH_SOURCE_TERMINAL, g->key_id, g->hash, now,
                                              now - PAYMENT_GUESS_WINDOW_MS);
    if (e == ERR_OK)
        e = st->ops->auth_failure_distinct(st, AUTH_SOURCE_TERMINAL, g->key_id, now - PAYMENT_GUESS_WINDOW_MS,
                                           &g->distinct);
    int64_t until = 0;
    bool flag = false;
    if (e == ERR_OK && g->distinct >= PAYMENT_GUESS_CODES) {
        e = st->ops->source_block_get(st, AUTH_SOURCE_TERMINAL, g->key_id, &until);
        flag = e == ERR_NOT_FOUND || (e == ERR_OK && until <= now); /* one flag per block */
        e = e == ERR_NOT_FOUND ? ERR_OK : e;
    }
    if (e == ERR_OK && flag) {
        char sid[IDS_BUF];
        ids_format(sid, MERCHANT_STORE_ID_PREFIX, g->store_id);
        e = st->ops->source_block_put(st, AUTH_SOURCE_TERMINAL, g->key_id, now + PAYMENT_GUESS_BLOCK_MS);
        if (e == ERR_OK)
            e = sec_event_record(st, now, 0, SEC_TERMINAL_FLAGGED, SEC_FAILURE, g->client_addr, 0,
                                 json_pack("{s:s, s:s, s:i}", "terminal", g->key_id, "store", sid, "distinct_codes",
                                           g->distinct));
    }
    g->flagged = e == ERR_OK && flag;
    return e;
}

void payment_guess_log(const struct payment_guess *g)
{
    if (!g->set || !g->flagged)
        return;
    char sid[IDS_BUF];
    ids_format(sid, MERCHANT_STORE_ID_PREFIX, g->store_id);
    /* The key id names the terminal and proves nothing; "terminal" so the
     * logger does not redact it as a key. */
    log_event(LOG_WARN, "terminal_flagged",
              json_pack("{s:s, s:s, s:i, s:I}", "terminal", g->key_id, "store", sid, "distinct_codes", g->distinct,
                        "blocked_s", (json_int_t)(PAYMENT_GUESS_BLOCK_MS / 1000)));
}

void payment_terminal_guessed(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *code)
{
    struct store *st = w->a.st;
    struct payment_guess g;
    payment_guess_of(w, term, code, &g);
    enum err e = st->ops->begin(st);
    if (e == ERR_OK) {
        e = payment_guess_record(st, &g, w->a.now);
        if (e == ERR_OK)
            e = st->ops->commit(st);
        if (e != ERR_OK)
            st->ops->rollback(st);
    }
    if (e == ERR_OK)
        payment_guess_log(&g);
    else
        log_event(LOG_ERROR, "terminal_guess_record_failed", json_pack("{s:s}", "error", err_symbol(e)));
}

/* ---- shared reads -------------------------------------------------------- */

static void transfer_key(char out[LEDGER_KEY_MAX + 1], const char *what, const struct merchant_terminal *term,
                         const char *idem_key)
{
    char tid[IDS_BUF];
    payment_transfer_key(out, what, ids_format(tid, TERMINAL_ID_PREFIX, term->id), idem_key);
}

/* The customer's address on file, for the mail. */
static enum err payer_email(struct store *st, int64_t customer_id, char out[EMAIL_MAX + 1])
{
    struct customer c;
    enum err e = st->ops->customer_get(st, customer_id, &c);
    if (e == ERR_OK)
        snprintf(out, EMAIL_MAX + 1, "%s", c.email);
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return e;
}

enum err payment_store_metadata(const struct merchant_store *s, char out[LEDGER_META_MAX + 1])
{
    char sid[IDS_BUF];
    json_t *j = json_pack("{s:s, s:s}", "store", ids_format(sid, MERCHANT_STORE_ID_PREFIX, s->id), "store_name",
                          s->name);
    char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (txt == NULL)
        return ERR_NOMEM;
    enum err e = strlen(txt) <= LEDGER_META_MAX ? ERR_OK : ERR_INTERNAL;
    if (e == ERR_OK)
        memcpy(out, txt, strlen(txt) + 1);
    free(txt);
    return e;
}

/* ---- charge -------------------------------------------------------------- */

/* What the register presented, for the checks of a retry. */
struct presented {
    const struct merchant_terminal *term;
    const char *nonce, *code, *items;
    int64_t amount;
    /* The customer the code resolves to (a live code); 0 for none;
     * CODE_UNSEEN when the code was not looked up (a blocked terminal). */
    int64_t customer_id;
};
#define CODE_UNSEEN (-1)

/* The tag a payment keeps of the code that paid (struct payment): a
 * keyed hash, so the row names no code; 63 bits tell one code from
 * another well enough, and 0 (none) is a 1 in 2^63 draw. */
static int64_t code_tag(const struct wallet_ctx *w, const char *code)
{
    uint8_t h[AUTH_HASH_BYTES];
    secret_hash_str(w->a.master_key, SECRET_PAID_CODE, code ? code : "", h);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return (int64_t)(v >> 1);
}

/* Whether a request under a key that paid (or waited) is that request
 * again: the same terminal, amount and items, and, when its code names a
 * customer (a fresh code shown for the retry), the same customer; another
 * customer's code under a reused key must not be answered with the first
 * customer's receipt while paying nothing.
 *
 * A code that is neither the one that paid (its tag) nor a live one of the
 * payer's counts against the terminal as a bad code (guessed), whatever
 * the answer: else a register could present codes without limit under a
 * key it once paid with, and tell a live code of someone else (the
 * conflict) from a dead one (the receipt).  The retries of the code that
 * paid cost nothing, however late. */
static bool same_charge(const struct wallet_ctx *w, const struct payment *p, const struct presented *req)
{
    bool payers = req->customer_id == CODE_UNSEEN || req->customer_id == p->customer_id ||
                  (p->code_tag != 0 && code_tag(w, req->code) == p->code_tag);
    if (!payers)
        payment_terminal_guessed(w, req->term, req->code);
    return p->terminal_id == req->term->id && p->amount == req->amount && strcmp(p->items, req->items) == 0 &&
           (payers || req->customer_id == 0);
}

/* A retry: the key paid already; submit the stored transfer again (the
 * ledger answers "replayed", the hook records the new nonce). */
static enum err replay_charge(const struct wallet_ctx *w, const struct presented *req, const struct ledger_transfer *t,
                              payment_done_fn done, void *ctx, const char **bad)
{
    struct payment_order *o = calloc(1, sizeof *o);
    if (o == NULL)
        return ERR_NOMEM;
    enum err e = w->a.st->ops->payment_get(w->a.st, t->id, &o->p);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && !same_charge(w, &o->p, req)))
        e = ERR_IDEMPOTENCY_CONFLICT;
    struct merchant_store s;
    if (e == ERR_OK && (e = w->a.st->ops->mstore_get(w->a.st, o->p.store_id, &s)) == ERR_OK)
        snprintf(o->counterparty, sizeof o->counterparty, "%s", s.name); /* the receipt's store name */
    if (e == ERR_OK) {
        o->op = PAYMENT_OP_PAY;
        o->now = w->a.now;
        o->x = *t;
        snprintf(o->nonce_key_id, sizeof o->nonce_key_id, "%s", req->term->key_id);
        snprintf(o->nonce, sizeof o->nonce, "%s", req->nonce);
        e = payment_submit(w, o, done, ctx);
    }
    if (e == ERR_IDEMPOTENCY_CONFLICT)
        set_bad(bad, "Idempotency-Key");
    free(o);
    return e;
}

/* A retry of a charge that waits (or waited) for its customer
 * (pending_charge.h): the waiting charge is the answer, and this
 * request's nonce is spent (its own autocommit insert: the answer is
 * decided here).  true: it is (*pending filled, *e ERR_OK) or the lookup
 * failed (*e); false: the key never waited. */
static bool waited_if_asked(const struct wallet_ctx *w, const struct presented *req, const char *key,
                            const char **bad, enum err *e, struct pending_op *pending)
{
    enum err k = pending_charge_by_key(w, key, pending);
    if (k == ERR_NOT_FOUND) {
        pending->id = 0;
        return false;
    }
    set_bad(bad, NULL);
    if (k == ERR_OK && !same_charge(w, &pending->p, req)) {
        set_bad(bad, "Idempotency-Key");
        k = ERR_IDEMPOTENCY_CONFLICT;
    }
    if (k == ERR_OK) {
        k = pos_nonce_record(w->a.st, req->term->key_id, req->nonce, w->a.now);
    }
    if (k != ERR_OK)
        pending->id = 0;
    *e = k;
    return true;
}

/* A refusal may be a retry's: the register lost the answer to a charge
 * that went through and sends it again, and what now refuses it (the code
 * spent, a switch turned on, the balance or the freeze since) says nothing
 * about the first.  So every refusal, and only a refusal (never the
 * ordinary path), first asks the ledger whether the key already paid.
 * true: it did (or the store failed), and *e is the answer; false: it did
 * not, *e unchanged. */
static bool replayed_if_paid(const struct wallet_ctx *w, const struct presented *req, const char *key,
                             payment_done_fn done, void *ctx, const char **bad, enum err *e,
                             struct pending_op *pending)
{
    struct ledger_transfer t;
    enum err k = w->a.st->ops->transfer_get_by_key(w->a.st, key, &t);
    if (k == ERR_TRANSFER_NOT_FOUND)
        return waited_if_asked(w, req, key, bad, e, pending);
    set_bad(bad, NULL);
    *e = k == ERR_OK ? replay_charge(w, req, &t, done, ctx, bad) : k;
    return true;
}

/* Steps 1-2: the terminal, the amount, the store, the switches. */
static enum err charge_checks(const struct wallet_ctx *w, const struct merchant_terminal *term, int64_t amount,
                              struct merchant_store *s, const char **bad, struct killswitch *sw)
{
    struct store *st = w->a.st;
    enum err e = payment_terminal_throttle(w, term, NULL);
    if (e != ERR_OK)
        return e;
    if (amount <= 0) {
        set_bad(bad, "amount");
        return ERR_AMOUNT_INVALID;
    }
    if (amount > w->a.cfg->pay_max) {
        set_bad(bad, "amount");
        return ERR_LIMIT_EXCEEDED;
    }
    e = st->ops->mstore_get(st, term->store_id, s);
    if (e != ERR_OK)
        return e;
    if (!s->active)
        return ERR_STORE_NOT_FOUND; /* a closed store's terminals take no payments (as cash top-ups) */
    struct killswitch dummy;
    return killswitch_check_scoped(st, KILLSWITCH_PAYMENTS, s->merchant_id, s->id, sw ? sw : &dummy);
}

enum err payment_charge(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *nonce,
                        const char *code, int64_t amount, const char *items_json, const char *idem_key,
                        payment_done_fn done, void *ctx, const char **bad, struct killswitch *sw,
                        struct pending_op *pending, struct payment_guess *guess)
{
    struct store *st = w->a.st;
    set_bad(bad, NULL);
    pending->id = 0;
    guess->set = false;
    const char *items = items_json ? items_json : "";
    if (!idem_key_valid(idem_key)) {
        set_bad(bad, "Idempotency-Key");
        return ERR_INVALID_PARAM;
    }
    if (strlen(items) > PAY_ITEMS_MAX) {
        set_bad(bad, "items");
        return ERR_INVALID_PARAM;
    }
    if (nonce == NULL || strlen(nonce) > POS_NONCE_MAX)
        return ERR_INVALID_SIGNATURE;

    struct payment_order *o = calloc(1, sizeof *o);
    if (o == NULL)
        return ERR_NOMEM;
    transfer_key(o->x.key, "cpm", term, idem_key);
    struct merchant_store s;
    enum err e = charge_checks(w, term, amount, &s, bad, sw);
    /* A register that lost the answer to a charge that went through gets
     * it, even if the store has since been switched off, closed or
     * throttled, or the code no longer resolves (the first charge spent
     * it): the refusal would make the clerk charge again. */
    bool retry_may_help = e == ERR_SUSPENDED || e == ERR_STORE_NOT_FOUND || e == ERR_RATE_LIMITED;

    /* 3. the code.  A terminal blocked for guessing learns nothing of it:
     * not even a retry looks it up (its receipt is the key's alone). */
    struct presented req = {.term = term, .nonce = nonce, .code = code, .items = items, .amount = amount};
    if (e == ERR_OK)
        e = paycode_resolve(w, code, &o->hit);
    else if (e == ERR_RATE_LIMITED)
        req.customer_id = CODE_UNSEEN;
    else if (retry_may_help && paycode_resolve(w, code, &o->hit) == ERR_OK)
        req.customer_id = o->hit.customer_id;
    if (e == ERR_OK)
        req.customer_id = o->hit.customer_id;
    if (e == ERR_INVALID_CODE || retry_may_help) {
        if (replayed_if_paid(w, &req, o->x.key, done, ctx, bad, &e, pending))
            goto out;
        if (e == ERR_INVALID_CODE) {
            if (w->guesses)
                payment_guess_of(w, term, code, guess); /* the caller counts it with the nonce */
            else
                payment_terminal_guessed(w, term, code);
            set_bad(bad, "code");
        }
        goto out;
    }
    if (e != ERR_OK)
        goto out;
    /* A retry showing a fresh code: a key that paid gets its receipt, a key
     * that waited gets that charge as it is (declined stays declined),
     * whatever the engine would say now; the fresh code stays unspent. */
    if (replayed_if_paid(w, &req, o->x.key, done, ctx, bad, &e, pending))
        goto out;

    /* 4-5. offline limit, freeze, wallet.  A code can still resolve after
     * its key paid (an offline code: its use is seen only by the ledger's
     * transaction; or a fresh code shown for the retry), so these
     * refusals, too, are a retry's receipt when the key paid. */
    char owner[IDS_BUF];
    struct ledger_account wallet;
    if (o->hit.offline && amount > w->a.cfg->offline_pay_max) {
        set_bad(bad, "amount");
        e = ERR_LIMIT_EXCEEDED;
    } else if ((e = freeze_check(st, o->hit.customer_id)) == ERR_OK) {
        e = st->ops->account_find(st, ids_format(owner, CUSTOMER_ID_PREFIX, o->hit.customer_id), LEDGER_KIND_WALLET,
                                  &wallet);
        if (e == ERR_ACCOUNT_NOT_FOUND || (e == ERR_OK && ledger_available(&wallet) < amount)) {
            /* Refused here to spare the writer; the ledger checks again. */
            set_bad(bad, "amount");
            e = ERR_INSUFFICIENT_FUNDS;
        }
    }
    if (e == ERR_LIMIT_EXCEEDED || e == ERR_ACCOUNT_FROZEN || e == ERR_INSUFFICIENT_FUNDS) {
        (void)replayed_if_paid(w, &req, o->x.key, done, ctx, bad, &e, pending);
        /* A frozen account, or a stolen phone's offline code over its
         * limit, tried at a register: on the owner's file, as in the app. */
        if (e == ERR_LIMIT_EXCEEDED || e == ERR_ACCOUNT_FROZEN)
            e = payment_refused_record(w, o->hit.customer_id, o->hit.device_id, "cpm", e, "offline_pay_max", amount);
        goto out;
    }
    if (e != ERR_OK || (e = payer_email(st, o->hit.customer_id, o->payer_email)) != ERR_OK)
        goto out;
    if ((e = payment_store_metadata(&s, o->x.metadata)) != ERR_OK)
        goto out;

    /* 6. the risk engine.  Hold and deny refuse, unless the key paid
     * already (a retry gets its receipt); a challenge makes the charge wait
     * for the customer (below). */
    if ((e = risk_gate_customer(w, &o->gate, RISK_PAYMENT, o->hit.customer_id, o->hit.device_id)) != ERR_OK)
        goto out;
    risk_gate_store(&o->gate, &s);
    risk_gate_items(&o->gate, items);
    o->gate.ev.terminal_id = term->id;
    o->gate.ev.amount = amount;
    e = risk_gate_check_payment(w, &o->gate, false, false, o->x.key);
    if (e == ERR_RISK_DENIED || e == ERR_RISK_HELD) {
        (void)replayed_if_paid(w, &req, o->x.key, done, ctx, bad, &e, pending);
        goto out;
    }
    if (e != ERR_OK)
        goto out;
    o->risk = w->risk;

    /* 7. the order */
    o->op = PAYMENT_OP_PAY;
    o->now = w->a.now;
    o->p.kind = PAYMENT_CPM;
    o->p.customer_id = o->hit.customer_id;
    o->p.device_id = o->hit.device_id;
    o->p.merchant_id = s.merchant_id;
    o->p.store_id = s.id;
    o->p.terminal_id = term->id;
    o->p.amount = amount;
    o->p.offline = o->hit.offline;
    snprintf(o->p.items, sizeof o->p.items, "%s", items);
    o->p.created_ms = w->a.now;
    o->p.code_tag = code_tag(w, code);
    o->x.debit_account = wallet.id;
    o->x.credit_account = s.payable_account;
    o->x.amount = amount;
    snprintf(o->x.kind, sizeof o->x.kind, "%s", PAYMENT_XFER_PAYMENT);
    o->consume = true;
    snprintf(o->nonce_key_id, sizeof o->nonce_key_id, "%s", term->key_id);
    snprintf(o->nonce, sizeof o->nonce, "%s", nonce);
    payment_limits_pay(w->a.cfg, o, w->a.now, o->hit.device_new, o->hit.offline);
    snprintf(o->counterparty, sizeof o->counterparty, "%s", s.name);
    if (o->gate.on && o->gate.d.verdict == RISK_CHALLENGE) {
        /* The customer confirms in the app; nothing moves now, the code
         * is spent (pending_charge.h). */
        e = pending_charge_create(w, o, pending);
        /* Counted if the customer approves (judged again then). */
        risk_gate_release(w->risk, &o->gate);
        if (e != ERR_OK)
            pending->id = 0;
        if (e == ERR_INVALID_CODE)
            set_bad(bad, "code");
        if (e == ERR_IDEMPOTENCY_CONFLICT)
            set_bad(bad, "Idempotency-Key");
        goto out;
    }
    e = payment_submit(w, o, done, ctx);
out:
    sodium_memzero(o, sizeof *o);
    free(o);
    return e;
}

/* ---- refunds and voids --------------------------------------------------- */

void payment_not_theirs_log(const struct merchant_terminal *term, const char *action, const char *prefix, int64_t id,
                            bool exists)
{
    char sid[IDS_BUF], pid[IDS_BUF];
    /* "terminal", not "key_id", so the logger does not redact it as a key. */
    log_event(LOG_WARN, "pos_payment_not_found",
              json_pack("{s:s, s:s, s:s, s:s, s:b}", "terminal", term->key_id, "store",
                        ids_format(sid, MERCHANT_STORE_ID_PREFIX, term->store_id), "action", action, "id",
                        ids_format(pid, prefix, id), "another_merchant", exists));
}

/* The payment, if the terminal's merchant took it; *s its store.  A closed
 * store's terminals neither charge nor give back (as charges):
 * ERR_STORE_NOT_FOUND, but only once *p and *s are filled in, so that a
 * refund asked before the store closed can still be answered to its retry.
 * A refusal is logged with action (a register walking through ids). */
static enum err merchants_payment(const struct wallet_ctx *w, const struct merchant_terminal *term, int64_t id,
                                  const char *action, struct payment *p, struct merchant_store *s)
{
    struct store *st = w->a.st;
    struct merchant_store mine;
    enum err e = st->ops->mstore_get(st, term->store_id, &mine);
    if (e == ERR_STORE_NOT_FOUND)
        return ERR_PAYMENT_NOT_FOUND;
    if (e != ERR_OK)
        return e;
    enum err open = mine.active ? ERR_OK : ERR_STORE_NOT_FOUND;
    e = st->ops->payment_get(st, id, p);
    /* Another merchant's payment is not theirs to see: the same answer
     * as one that does not exist. */
    if (e == ERR_NOT_FOUND || (e == ERR_OK && (p->kind == PAYMENT_P2P || p->merchant_id != mine.merchant_id))) {
        payment_not_theirs_log(term, action, PAYMENT_ID_PREFIX, id, e == ERR_OK);
        return ERR_PAYMENT_NOT_FOUND;
    }
    if (e != ERR_OK)
        return e;
    if (s == NULL)
        return open;
    if (p->store_id == mine.id)
        *s = mine;
    else if ((e = st->ops->mstore_get(st, p->store_id, s)) != ERR_OK)
        return e;
    return open;
}

enum err payment_refund(const struct wallet_ctx *w, const struct merchant_terminal *term, const char *nonce,
                        int64_t payment_id, int64_t amount, bool is_void, const char *idem_key, payment_done_fn done,
                        void *ctx, const char **bad)
{
    struct store *st = w->a.st;
    set_bad(bad, NULL);
    if (!idem_key_valid(idem_key)) {
        set_bad(bad, "Idempotency-Key");
        return ERR_INVALID_PARAM;
    }
    if (nonce == NULL || strlen(nonce) > POS_NONCE_MAX)
        return ERR_INVALID_SIGNATURE;
    if (!is_void && amount <= 0) {
        set_bad(bad, "amount");
        return ERR_AMOUNT_INVALID;
    }
    struct payment_order *o = calloc(1, sizeof *o);
    if (o == NULL)
        return ERR_NOMEM;
    struct merchant_store s;
    enum err e = merchants_payment(w, term, payment_id, is_void ? "void" : "refund", &o->p, &s);
    enum err closed = e == ERR_STORE_NOT_FOUND ? e : ERR_OK;
    if (e != ERR_OK && !closed)
        goto out;
    transfer_key(o->x.key, is_void ? "void" : "refund", term, idem_key);
    o->op = is_void ? PAYMENT_OP_VOID : PAYMENT_OP_REFUND;
    o->now = w->a.now;
    o->by_store_id = term->store_id;
    o->by_terminal_id = term->id;
    snprintf(o->counterparty, sizeof o->counterparty, "%s", s.name); /* the receipt's and the mail's */
    snprintf(o->nonce_key_id, sizeof o->nonce_key_id, "%s", term->key_id);
    snprintf(o->nonce, sizeof o->nonce, "%s", nonce);

    /* A retry: the stored reversal as it was asked (the ledger replays it,
     * or refuses a different request under the key). */
    struct ledger_transfer t;
    e = st->ops->transfer_get_by_key(st, o->x.key, &t);
    if (e == ERR_OK) {
        if (t.ref_id != payment_id || (!is_void && t.amount != amount)) {
            set_bad(bad, "Idempotency-Key");
            e = ERR_IDEMPOTENCY_CONFLICT;
            goto out;
        }
        o->x = t;
        /* As first asked: the ledger filled the accounts in from the original. */
        o->x.debit_account = o->x.credit_account = 0;
        e = payment_submit(w, o, done, ctx);
        goto out;
    }
    if (e != ERR_TRANSFER_NOT_FOUND)
        goto out;
    if ((e = closed) != ERR_OK)
        goto out; /* not a retry: nothing new at a closed store */

    /* What nobody gave back yet: a fraud reversal the fraud-loss account
     * paid is not in refunded (the store kept its money), but the customer
     * has it back all the same. */
    int64_t comp = 0;
    if ((e = st->ops->reversal_compensated(st, o->p.id, &comp)) != ERR_OK)
        goto out;
    int64_t remaining = o->p.amount - o->p.refunded - comp;
    if (is_void) {
        if (w->a.now - o->p.created_ms > w->a.cfg->void_window_s * 1000) {
            set_bad(bad, "void_window");
            e = ERR_CONFLICT;
            goto out;
        }
        amount = remaining;
        if (amount <= 0) {
            e = ERR_REVERSAL_EXCEEDS_ORIGINAL; /* nothing left to void */
            goto out;
        }
    } else if (amount > remaining) {
        set_bad(bad, "amount");
        e = ERR_REVERSAL_EXCEEDS_ORIGINAL;
        goto out;
    }
    if ((e = payer_email(st, o->p.customer_id, o->payer_email)) != ERR_OK)
        goto out;
    if ((e = payment_store_metadata(&s, o->x.metadata)) != ERR_OK)
        goto out;
    o->x.amount = amount;
    o->x.flags = LEDGER_XFER_REVERSAL;
    o->x.ref_id = o->p.id;
    snprintf(o->x.kind, sizeof o->x.kind, "%s", is_void ? PAYMENT_XFER_VOID : PAYMENT_XFER_REFUND);
    /* The risk engine: refunds turning into cash at one store, resale goods
     * given back at once, the same payer refunded again (voids too: a void
     * moves the same money as a refund).  The engine itself holds a refund
     * in the challenge band (no customer asked for it); a challenge that
     * reaches here anyway is recorded and allowed.  Counted at the store
     * of the register giving the money back, not the payment's: any
     * register of the merchant may refund any of its payments, so by the
     * payment's store a clerk refunding an accomplice's payments made at
     * other branches (a store QR pays from anywhere) would spread them over
     * those branches' counts and never be "this store again".  The goods
     * are the payment's: its store's category and its items
     * (refund_resale_fast). */
    if ((e = risk_gate_customer(w, &o->gate, RISK_REFUND, o->p.customer_id, 0)) != ERR_OK)
        goto out;
    risk_gate_store(&o->gate, &s);
    risk_gate_items(&o->gate, o->p.items);
    o->gate.ev.store_id = o->by_store_id;
    o->gate.ev.terminal_id = o->by_terminal_id;
    o->gate.ev.amount = amount;
    o->gate.ev.ref_at_ms = o->p.created_ms;
    o->gate.ev.ref_amount = o->p.amount;
    if (o->gate.on) {
        int64_t since = w->a.now - w->a.cfg->risk.refund_payer_window_s * 1000;
        if ((e = st->ops->payment_last_refund(st, o->p.customer_id, o->by_store_id, o->p.id, since,
                                              &o->gate.ev.payer_refunded_ms)) != ERR_OK)
            goto out;
    }
    if ((e = risk_gate_check_payment(w, &o->gate, false, false, o->x.key)) != ERR_OK)
        goto out;
    o->risk = w->risk;
    e = payment_submit(w, o, done, ctx);
out:
    sodium_memzero(o, sizeof *o);
    free(o);
    return e;
}

/* ---- reading ------------------------------------------------------------- */

enum err payment_get_for_terminal(const struct wallet_ctx *w, const struct merchant_terminal *term, int64_t id,
                                  struct payment *out)
{
    return merchants_payment(w, term, id, "read", out, NULL);
}

enum err payment_feed(const struct wallet_ctx *w, const struct merchant_terminal *term, int64_t since_id,
                      struct payment *out, size_t max, size_t *n)
{
    *n = 0;
    if (since_id < 0)
        return ERR_INVALID_PARAM;
    if (max > PAYMENT_FEED_MAX)
        max = PAYMENT_FEED_MAX;
    /* A closed store's registers read nothing (as charges). */
    struct merchant_store mine;
    enum err e = w->a.st->ops->mstore_get(w->a.st, term->store_id, &mine);
    if (e == ERR_OK && !mine.active)
        e = ERR_STORE_NOT_FOUND;
    return e == ERR_OK ? w->a.st->ops->payment_list_store(w->a.st, term->store_id, since_id, max, out, n) : e;
}
