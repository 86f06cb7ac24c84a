/* wallet_handlers.h: the customer wallet endpoints (docs/cards-and-topups.md).
 *
 * One file per resource family; routes.c maps each URL to one of these.
 * Every one needs a session (authn.h) and runs its domain call on the
 * wallet workers (wallet_jobs.h).
 *
 *   wallet_cards.c   POST /v1/cards, POST /v1/cards/{id}/3ds, GET /v1/cards,
 *                    DELETE /v1/cards/{id}
 *   wallet_topups.c  POST /v1/topups, POST /v1/topups/{id}/3ds, GET /v1/topups,
 *                    GET /v1/topups/{id}, POST /v1/topup-codes, GET /v1/wallet
 *                    (the fast reads run on the HTTP thread)
 */
#ifndef KESSAI_API_WALLET_HANDLERS_H
#define KESSAI_API_WALLET_HANDLERS_H

#include "http/router.h"

enum http_verdict api_cards_post(struct http_request *req, void *app);
enum http_verdict api_card_3ds_post(struct http_request *req, void *app);
enum http_verdict api_cards_get(struct http_request *req, void *app);
enum http_verdict api_card_delete(struct http_request *req, void *app);

enum http_verdict api_topups_post(struct http_request *req, void *app);
enum http_verdict api_topup_3ds_post(struct http_request *req, void *app);
enum http_verdict api_topups_get(struct http_request *req, void *app);
enum http_verdict api_topup_get(struct http_request *req, void *app);
enum http_verdict api_topup_codes_post(struct http_request *req, void *app);
enum http_verdict api_wallet_get(struct http_request *req, void *app);

#endif
