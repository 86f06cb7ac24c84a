/* pay_handlers.h: the customer's paying endpoints (docs/payments.md).
 *
 * One file per resource family; routes.c maps each URL to one of these.
 * Every one needs a full session (authn.h).
 *
 *   history.c   GET /v1/transactions, GET /v1/transactions/{id},
 *               GET /v1/balance (reads: on the HTTP thread)
 *   paycodes.c  POST /v1/paycodes, POST /v1/paycodes/offline-key
 *               (docs/paycodes.md; on the wallet workers)
 *   freeze.c    POST /v1/freeze (docs/payments.md)
 *   pay_customer.c  POST /v1/payments (store QR, docs/store-qr.md),
 *               POST /v1/transfers (to another customer); on the wallet
 *               workers
 *   disputes.c  POST /v1/disputes, GET /v1/disputes, GET /v1/disputes/{id}
 *               (fraud reports, ops/dispute.h; on the HTTP thread: fast)
 */
#ifndef KESSAI_API_PAY_HANDLERS_H
#define KESSAI_API_PAY_HANDLERS_H

#include "http/router.h"

enum http_verdict api_transactions_get(struct http_request *req, void *app);
/* events.c: GET /v1/events, the live feed (server-sent events) */
enum http_verdict api_events_get(struct http_request *req, void *app);
enum http_verdict api_transaction_get(struct http_request *req, void *app);
enum http_verdict api_balance_get(struct http_request *req, void *app);

enum http_verdict api_paycodes_post(struct http_request *req, void *app);
enum http_verdict api_paycode_offline_key_post(struct http_request *req, void *app);

enum http_verdict api_payments_post(struct http_request *req, void *app);
enum http_verdict api_transfers_post(struct http_request *req, void *app);

/* pending_charges.c: the customer answers a register's charge the risk
 * engine made wait (wallet/pending_charge.h). */
enum http_verdict api_pending_charges_get(struct http_request *req, void *app);
enum http_verdict api_pending_charge_approve_post(struct http_request *req, void *app);
enum http_verdict api_pending_charge_decline_post(struct http_request *req, void *app);

/* freeze.c: POST /v1/freeze (ops/freeze.h; on the HTTP thread: fast). */
enum http_verdict api_freeze_post(struct http_request *req, void *app);

/* disputes.c: reporting a transaction as not one's own. */
enum http_verdict api_disputes_post(struct http_request *req, void *app);
enum http_verdict api_disputes_get(struct http_request *req, void *app);
enum http_verdict api_dispute_get(struct http_request *req, void *app);

#endif
