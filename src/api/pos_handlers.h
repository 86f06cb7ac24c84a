/* pos_handlers.h: the POS terminal endpoints under /pos/v1/.
 *
 * One file per resource family; routes.c maps each URL to one of these.
 * Every one is signed by a terminal (pos_auth.h) and answers 401
 * invalid_signature before looking at anything else.
 *
 *   pos_topups.c   POST /pos/v1/cash-topups
 *   pos_charges.c  POST /pos/v1/charges, POST /pos/v1/charges/{id}/refunds,
 *                  POST /pos/v1/charges/{id}/void, GET /pos/v1/charges/{id},
 *                  GET /pos/v1/payments (docs/payments.md)
 */
#ifndef KESSAI_API_POS_HANDLERS_H
#define KESSAI_API_POS_HANDLERS_H

#include "http/router.h"

enum http_verdict api_pos_cash_topups_post(struct http_request *req, void *app);
enum http_verdict api_pos_charges_post(struct http_request *req, void *app);
enum http_verdict api_pos_charge_refunds_post(struct http_request *req, void *app);
enum http_verdict api_pos_charge_void_post(struct http_request *req, void *app);
enum http_verdict api_pos_charge_get(struct http_request *req, void *app);
enum http_verdict api_pos_payments_get(struct http_request *req, void *app);

#endif
