/* pos_auth.h: which terminal is calling, for every /pos/v1/ endpoint.
 *
 * A POS request proves its terminal with a signed Authorization header
 * (pos/sign.h, docs/pos-signing.md) over the method, the path, the raw body
 * and a time-stamped nonce.  Anything missing, malformed, stale, replayed,
 * unknown, revoked or wrongly signed is 401 invalid_signature, all alike, so
 * a caller learns nothing about which part was wrong.  Each refusal is one
 * warn log line, "pos_auth_refused", with the key id (when the header
 * parsed), the client address and the reason; never the signature, the
 * secret or the body.
 *
 * Headers are read on the handler thread (request.h): call it from the
 * handler, never from a completer.  The nonce is recorded in the shared
 * store, so a replay is refused by every node: by api_pos_authenticate on
 * st itself (autocommit: st must have no transaction open), or, for the
 * reads, through the ledger writer's group commit (api_pos_answer), so
 * that a terminal polling for its payments never makes an HTTP thread wait
 * for a commit of its own.
 */
#ifndef KESSAI_API_POS_AUTH_H
#define KESSAI_API_POS_AUTH_H

#include <jansson.h>

#include "api/api.h"
#include "http/router.h"
#include "merchant/types.h"
#include "pos/sign.h"
#include "wallet/wallet_types.h"
#include "store/store.h"
#include "util/err.h"

struct http_request;

/* ERR_OK and *term (an active terminal), or ERR_INVALID_SIGNATURE,
 * ERR_STORE, ERR_INTERNAL for the caller to reply with. */
enum err api_pos_authenticate(struct http_request *req, struct api_ctx *ctx, struct store *st,
                              struct merchant_terminal *term);
/* The same, but the nonce is not recorded here: it is copied to nonce and
 * the caller records it in the transaction that acts on the request
 * (pos/sign.h, pos_verify_deferred) — the register's charges, which
 * record it with the payment in the ledger writer's commit. */
enum err api_pos_authenticate_deferred(struct http_request *req, struct api_ctx *ctx, struct store *st,
                                       struct merchant_terminal *term, char nonce[POS_NONCE_MAX + 1]);

/* Record the nonce api_pos_authenticate_deferred returned on st (autocommit:
 * no transaction open), off the HTTP thread (a wallet job's worker): a
 * replay is ERR_INVALID_SIGNATURE, logged as pos_auth_refused. */
enum err api_pos_record_nonce(const struct http_request *req, struct store *st, const struct merchant_terminal *term,
                              const char *nonce, int64_t now_ms);

/* The answer to a read (GET) authenticated by api_pos_authenticate_deferred:
 * its nonce goes to the ledger writer's next group commit, and the answer
 * prepared here waits for it: status and body (taken; NULL is 500) when e
 * is ERR_OK, else the error e (param bad).  A nonce spent meanwhile (a
 * replay racing its original) is 401 invalid_signature instead, logged as
 * pos_auth_refused.  Returns HTTP_SUSPENDED, or HTTP_REPLIED with the
 * error stored when the writer took nothing. */
enum http_verdict api_pos_answer(struct http_request *req, struct api_ctx *ctx, const struct merchant_terminal *term,
                                 const char *nonce, enum err e, const char *bad, int status, json_t *body);

/* The same for a charge, refund or void refused on the HTTP thread (a spent
 * code, no money, a kill switch, a throttled terminal…): its nonce is spent
 * all the same, so the captured request cannot be replayed once the reason
 * is gone, and the refusal e (param bad; the operator's reason when not
 * NULL; Retry-After when retry_after_s > 0) waits for that commit. */
enum http_verdict api_pos_refuse(struct http_request *req, struct api_ctx *ctx, const struct merchant_terminal *term,
                                 const char *nonce, enum err e, const char *bad, const char *reason,
                                 int64_t retry_after_s);

#endif
