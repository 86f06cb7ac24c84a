/* dispute.h: fraud reports (issue 6).  A customer reports a payment of
 * theirs as not theirs (POST /v1/disputes); staff investigate and either
 * give the money back with a reversal that names the report
 * (ops/reversal.h) or close it without money.
 *
 *   dispute_file --> OPEN --a reversal naming it is executed--> RESOLVED
 *                     |        (dispute_resolve, in the reversal's transaction)
 *                     +--dispute_reject (staff, with a note)--> REJECTED
 *
 * What can be reported: a debit of the caller's own wallet that is a
 * payment (a POS charge, a store-QR payment) or a P2P transfer they sent,
 * made at most cfg->dispute_window_days ago, not given back in full
 * (refunds, voids and reversals), and not reported before (one report per
 * payment, whatever became of it).
 *
 * Invariants:
 *  1. Someone else's transaction is ERR_NOT_FOUND, exactly as an unknown id:
 *     a report tells nobody whether another customer's transfer exists.
 *     The attempt is an audit entry (dispute_filed, outcome failure).
 *  2. Filing is idempotent: the same Idempotency-Key with the same request
 *     returns the first report; with another request it is
 *     ERR_IDEMPOTENCY_CONFLICT.
 *  3. A report leaves OPEN once (the store's guarded UPDATE), in the
 *     transaction that records why: a reversal's money, or the rejection.
 *  4. Every step is an audit entry whose customer is the reporter:
 *     dispute_filed (actor "usr_…"), dispute_resolved and dispute_rejected
 *     (actor "stf_…"); and every step is mailed to the customer (outbox).
 *
 * Knows nothing of HTTP.  Functions taking an auth_ctx follow auth_ctx.h
 * (own transaction, mail delivered after the commit).
 */
#ifndef KESSAI_OPS_DISPUTE_H
#define KESSAI_OPS_DISPUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/auth_ctx.h"
#include "ops/dispute_types.h"

#define DISPUTE_LIST_MAX 100
#define DISPUTE_STATUS_OPEN "open"
#define DISPUTE_STATUS_RESOLVED "resolved"
#define DISPUTE_STATUS_REJECTED "rejected"

/* customer_id reports payment_id (its "txn_…" id in the history) with
 * reason (1..DISPUTE_REASON_MAX bytes of text) under idem_key.  ERR_OK and
 * *out (status open; a retry returns the first, *replayed true).  Refusals, *bad naming
 * the parameter: ERR_INVALID_PARAM ("reason"), ERR_NOT_FOUND, ERR_NOT_DISPUTABLE
 * (a top-up, a refund, money received; or nothing left to give back),
 * ERR_DISPUTE_WINDOW_CLOSED, ERR_ALREADY_DISPUTED ("transaction_id"),
 * ERR_IDEMPOTENCY_CONFLICT. */
enum err dispute_file(const struct auth_ctx *a, int64_t customer_id, int64_t device_id, int64_t payment_id,
                      const char *reason, const char *idem_key, struct dispute *out, bool *replayed,
                      const char **bad);

/* The customer's own report id: ERR_NOT_FOUND for anyone else's. */
enum err dispute_get_own(struct store *st, int64_t customer_id, int64_t id, struct dispute *out);

/* Staff close open report id without money, telling the customer note
 * (1..DISPUTE_NOTE_MAX bytes of text).  ERR_NOT_FOUND, ERR_CONFLICT (not
 * open), ERR_INVALID_PARAM ("note"). */
enum err dispute_reject(const struct auth_ctx *a, int64_t staff_id, int64_t id, const char *note,
                        struct dispute *out, const char **bad);

/* Can a reversal of payment_id name report id?  ERR_OK when it is open and
 * of that payment; ERR_NOT_FOUND, ERR_INVALID_PARAM (another payment's),
 * ERR_CONFLICT (not open).  Reads only. */
enum err dispute_check_reversal(struct store *st, int64_t id, int64_t payment_id);

/* In the caller's transaction (the reversal's, ops/reversal.c): report id
 * is resolved by reversal_id, executed by staff_id at now: the row, the
 * audit entry and the customer's mail.  ERR_CONFLICT unless it was open. */
enum err dispute_resolve(struct store *st, const uint8_t *master_key, int64_t now, const char *client_addr,
                         int64_t id, int64_t staff_id, int64_t reversal_id, int64_t amount);

/* Text of 1..max bytes fit to show to staff (util/text.h). */
bool dispute_text_ok(const char *s, size_t max);

/* The customer's view: {"id":"dsp_…","transaction_id":"txn_…",
 * "payment_id":"pay_…","amount":N,"reason":…,"status":…,"created_at":…,
 * "decided_at":…|null,"note":…|null,"reversal":"rev_…"|null}; staff's
 * view (staff true) adds "customer":"usr_…" and "decided_by":"stf_…"|null. */
json_t *dispute_json(const struct dispute *d, bool staff);

#endif
