/* payment_internal.h: the one step every payment shares (charges at the
 * register, store-QR payments, transfers between customers, refunds and
 * voids): "everything is decided, now submit" (payment_core.c).
 *
 * The flows (payment.c, mpm.c, p2p.c) read and check on their own thread
 * and connection (the code, the account, the switches, the store, the
 * per-payment maximum), then fill a struct payment_order and hand it to
 * payment_submit.  The order goes to the ledger writer with a hook
 * (writer.h, ledger_writer_submit_hooked) that, on the writer thread and in
 * the same transaction as the transfer:
 *
 *   1. records the POS nonce, if any (replayed: ERR_INVALID_SIGNATURE);
 *   2. on a replay of the transfer (the same key and request): nothing more
 *      but reading the stored payment for the receipt (its items must match
 *      the order's, else ERR_IDEMPOTENCY_CONFLICT);
 *   3. consumes the code, if any (paycode_consume: ERR_INVALID_CODE when a
 *      concurrent charge consumed it first);
 *   4. adds the amount to every spending counter of the order, each against
 *      its maximum (the limit's refusal: ERR_LIMIT_EXCEEDED, bad = its
 *      name, or ERR_FRESH_MFA_REQUIRED, bad NULL); refunds
 *      and voids give the amount back to the payment's counters
 *      (payment_limits_give_back);
 *   5. inserts the payments row (id = the transfer's id), or adds a refund
 *      or void to it;
 *   5a. writes the risk engine's decision when it let the payment go on
 *      but was not allow (gate.pending: a challenge answered, or at the
 *      register) with its audit entry (risk_gate.h);
 *   5b. a payment that waited (a challenged charge the customer approved,
 *      a held one staff approved: order.pending) moves its row out of
 *      waiting, exactly once, with its audit entry;
 *   6. queues the merchant's webhook events (payment_webhook.h), the
 *      customers' live-feed events (payment_feed.h) and the mail(s)
 *      (payment_mail.h), with the balance after.
 * Any refusal undoes the group: the transfer, the counters, everything.
 *
 * Not for use outside src/wallet/ and the tests.
 */
#ifndef KESSAI_WALLET_PAYMENT_INTERNAL_H
#define KESSAI_WALLET_PAYMENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/types.h"
#include "pos/sign.h"
#include "util/email.h"
#include "util/ids.h"
#include "wallet/payment.h"
#include "wallet/pending_types.h"
#include "wallet/risk_gate.h"

/* Ledger transfer kinds and the store's account. */
#define PAYMENT_XFER_PAYMENT "payment" /* CPM and MPM: wallet -> store payable */
#define PAYMENT_XFER_P2P "p2p"         /* wallet -> wallet */
#define PAYMENT_XFER_REFUND "refund"   /* REVERSAL of a payment, part or all */
#define PAYMENT_XFER_VOID "void"       /* REVERSAL of all that remains, soon after */
#define PAYMENT_PAYABLE_KIND "merchant_payable"

/* Spending-counter periods: "<prefix>:<d|m>:<JST date>", e.g.
 * "pay:d:20261127", "pay:m:202611". */
#define PAYMENT_PERIOD_MAX 31
#define PAYMENT_PERIOD_PAY "pay"     /* store payments (CPM, MPM), online and offline */
#define PAYMENT_PERIOD_OFFLINE "off" /* payments with an offline code */
#define PAYMENT_PERIOD_P2P "p2p"     /* transfers sent */
#define PAYMENT_PERIOD_QR "qr"       /* store-QR payments (MPM) */

/* The calendar day ('d': YYYYMMDD) or month ('m': YYYYMM) of ms in Japan
 * (UTC+9, no daylight saving): "pay:d:20261127". */
void payment_period(char out[PAYMENT_PERIOD_MAX + 1], const char *prefix, char unit, int64_t ms);

enum payment_op {
    PAYMENT_OP_PAY = 1,    /* a new payment (order.p.kind: CPM, MPM or P2P) */
    PAYMENT_OP_REFUND = 2, /* part of a payment back (order.refund_of) */
    PAYMENT_OP_VOID = 3,   /* all that remains of a payment back */
};

/* One spending counter the payment adds to (or, for refunds, takes from). */
struct payment_limit {
    char period[PAYMENT_PERIOD_MAX + 1];
    int64_t max;      /* the new total must stay <= max */
    const char *name; /* static: what *bad names when it bites ("daily", "monthly", "new_device",
                         "offline_daily", "p2p_daily"; NULL for fresh_mfa) */
    enum err refusal; /* what passing max answers: ERR_LIMIT_EXCEEDED, or ERR_FRESH_MFA_REQUIRED
                         (transfers without a fresh second factor, payment_limits_p2p) */
};
#define PAYMENT_LIMITS_MAX 4

#define PAYMENT_MESSAGE_MAX 400 /* a P2P message, bytes of UTF-8 (p2p.h: up to 100 characters) */

struct payment_order {
    int op; /* enum payment_op */

    /* PAY: the row to insert.  Fill kind, customer_id, device_id,
     * merchant_id/store_id/terminal_id (CPM, MPM) or counterparty_id (P2P),
     * amount, offline, items ("" or compact JSON) and created_ms (the
     * caller's clock: limits and the void window use it).  id, refunded
     * and voided are set here.
     * REFUND/VOID: the payment as read before submitting (its customer,
     * store and created_ms name the counters and the mail). */
    struct payment p;
    int64_t now; /* the caller's clock (counters, mail, nonce) */
    /* REFUND/VOID: the register giving the money back and its store,
     * recorded with the refund (payment_refunds): any register of the
     * merchant may refund, so not always p's store and terminal. */
    int64_t by_store_id, by_terminal_id;

    /* The ledger transfer.  PAY: key, debit_account (the payer's wallet),
     * credit_account (the store's payable or the recipient's wallet),
     * amount, kind, metadata.  REFUND/VOID: key, amount, kind,
     * flags = LEDGER_XFER_REVERSAL, ref_id = p.id, metadata (accounts 0:
     * the ledger takes them from the original). */
    struct ledger_transfer x;

    /* What to consume: a code presented at a register (CPM), or nothing. */
    bool consume;
    struct paycode_hit hit;

    /* PAY: the customer's session that asked (a QR payment, a transfer),
     * checked again in the transaction: still live (session_still_live),
     * else ERR_UNAUTHENTICATED, so a payment that waited while its session
     * was revoked moves no money after.  0: none (a register's charge, a
     * waiting charge approved, whose second factor checked the session in
     * its own transaction, a transfer staff released). */
    int64_t session_id;

    /* The POS request's nonce, recorded with the payment ("" if none). */
    char nonce_key_id[TERMINAL_KEY_ID_MAX + 1];
    char nonce[POS_NONCE_MAX + 1];

    /* Counters (see payment_limits_pay / payment_limits_p2p). */
    struct payment_limit limits[PAYMENT_LIMITS_MAX];
    size_t nlimits;

    /* Mail: the payer's address (refunds: the customer's), and for P2P the
     * recipient's; counterparty is what the payer's mail names (the store's
     * name, or the other customer's address); message is P2P's. */
    char payer_email[EMAIL_MAX + 1];
    char payee_email[EMAIL_MAX + 1];
    char counterparty[MERCHANT_NAME_MAX + 1];
    char message[PAYMENT_MESSAGE_MAX + 1];

    /* The risk engine's event about this payment (risk_gate.h), observed
     * as RISK_DONE when the payment commits (not on a replay) and
     * RISK_FAILED when it is refused, from the completer thread.  risk
     * NULL: nothing to observe. */
    struct risk *risk;
    struct risk_gate gate;

    /* A payment that waited (wallet/pending_types.h) and is made now: the
     * hook moves its row from `from` to `to` (payment id, decided_by =
     * staff_id, live_at: a charge's approval must come before it expires)
     * and appends the audit entry `action` (actor: the staff member, else
     * the customer), in the transfer's transaction: ERR_CONFLICT (nothing
     * moves) when the row was decided meanwhile.  pending.id 0: none. */
    struct {
        int64_t id;
        const char *from, *to, *action; /* static */
        int64_t staff_id;
        int64_t live_at;
    } pending;
};

/* The counters of a store payment (CPM, MPM) made at now: the day and the
 * month; the day at most pay_new_device_daily_max while the device (or
 * the account) cools down; offline codes also the offline day. */
void payment_limits_pay(const struct config *cfg, struct payment_order *o, int64_t now, bool device_new,
                        bool offline);
/* The counters of a store-QR payment (MPM) made at now: those of
 * payment_limits_pay (online), and the day's store-QR payments, which
 * without a fresh second factor take at most pay_mfa_threshold in all
 * (ERR_FRESH_MFA_REQUIRED past it): a stolen session cannot split a large
 * payment into small ones either. */
void payment_limits_qr(const struct config *cfg, struct payment_order *o, int64_t now, bool device_new,
                       bool fresh);
/* The counter of a transfer sent at now: the P2P day, at most
 * pay_new_device_daily_max while the device (or the account) cools down,
 * and without a fresh second factor at most p2p_mfa_threshold in all
 * (ERR_FRESH_MFA_REQUIRED past it): splitting a large transfer into small
 * ones does not avoid the second factor. */
void payment_limits_p2p(const struct config *cfg, struct payment_order *o, int64_t now, bool device_new,
                        bool fresh);

/* Submit o (copied; the caller may free it at once).  ERR_OK: done() is
 * called exactly once, on the ledger writer's completer thread, with the
 * outcome: ERR_OK and the receipt (r->replayed on a retry), or the error
 * and *bad (static, may be NULL), r NULL.  Anything else is the answer
 * now and done() is not called.  Mail queued by the hook is delivered by
 * w->a.wake (woken after the commit). */
enum err payment_submit(const struct wallet_ctx *w, const struct payment_order *o, payment_done_fn done,
                        void *ctx);
/* The same, waiting (wallet workers, tests): ERR_OK and *out, or the
 * error and *bad.  Mail is delivered like auth_end's (w->a.mail inline on
 * w->a.st, else w->a.wake). */
enum err payment_submit_wait(const struct wallet_ctx *w, const struct payment_order *o,
                             struct payment_receipt *out, const char **bad);

/* The transfer metadata of a payment at (or refund by) store s:
 * {"store":"str_…","store_name":"…"}, compact, keys in that order (a retry
 * must build the same text: it is part of the ledger's request hash).
 * ERR_NOMEM, ERR_INTERNAL if it would not fit. */
enum err payment_store_metadata(const struct merchant_store *s, char out[LEDGER_META_MAX + 1]);

/* The charge waits for the customer (pending_charge.h; payment_charge on a
 * challenge): o fully decided as for payment_submit, its code consumed,
 * its nonce recorded, the row, the decision (o->gate), the audit entries
 * and the mail written in one transaction on w->a.st.  ERR_OK and *out;
 * ERR_INVALID_CODE (the code spent meanwhile), ERR_INVALID_SIGNATURE (the
 * nonce seen), ERR_IDEMPOTENCY_CONFLICT (the key waits already with a
 * different request), or the store's error.  A row under the same key and
 * request (a retry that raced) is answered as it is. */
enum err pending_charge_create(const struct wallet_ctx *w, const struct payment_order *o, struct pending_op *out);
/* A retry of the register's request: the charge waiting (or waited) under
 * ledger key, settled if expired.  ERR_NOT_FOUND if none. */
enum err pending_charge_by_key(const struct wallet_ctx *w, const char *key, struct pending_op *out);

/* Keep a customer's payment or transfer the risk engine held, for staff
 * (review.h; mpm_pay and p2p_send on ERR_RISK_HELD): o decided as for
 * payment_submit, device_new the payer's cool-down (the limits at
 * approval).  The row, the audit entry review_held and the customer's mail
 * in one transaction on w->a.st.  ERR_OK and *out; a retry under the same
 * key and request gets the row as it is; another request under the key
 * ERR_IDEMPOTENCY_CONFLICT. */
enum err review_hold(const struct wallet_ctx *w, const struct payment_order *o, bool device_new,
                     struct pending_op *out);
/* Was the request under ledger key kept for review (held, approved or
 * rejected)?  Then its retry is answered with that review (review_hold
 * finds the row), whatever the engine would say now. */
enum err review_kept(struct store *st, const char *key, bool *kept);

/* "pay_…". */
char *payment_public_id(char buf[IDS_BUF], int64_t id);

/* Put a refusal of customer_id's money on file: security event
 * payment_refused (kind "cpm", "mpm" or "p2p", the reason's err symbol or
 * the limit's name, the amount), in its own transaction, so that a thief's
 * tries at the register or in the app are on file.  Returns e (or the
 * store's error).  (pay_customer.c) */
enum err payment_refused_record(const struct wallet_ctx *w, int64_t customer_id, int64_t device_id, const char *kind,
                                enum err e, const char *bad, int64_t amount);

#endif
