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
 * The signature is checked on the handler thread (headers are read there,
 * request.h), but the nonce is spent later, in the shared store (so a
 * replay is refused by every node): a charge, refund or void spends it in
 * the transaction that moves the money (wallet/payment.h); a read or a
 * refusal in the ledger writer's next group commit, its answer waiting for
 * it (api_pos_answer, api_pos_refuse); a cash top-up on the wallet worker
 * that credits it (api_pos_record_nonce).  Hundreds of registers polling
 * their store's payments, or one register guessing codes, would otherwise
 * make the HTTP threads commit and fsync hundreds of times a second.  Only
 * a charge the risk engine challenges (wallet/pending_charge.h), and a
 * retry of one, spend it by a commit on the HTTP thread: rare, and the
 * first commits there anyway.
 *
 * Every answer after the signature verified spends the nonce, a missing or
 * invalid Idempotency-Key included (that header is not signed, so the
 * captured request replayed with a key added must be a replay).  A
 * malformed body or path spends nothing: both are signed, so every replay
 * is as malformed.  Nor does an answer the server could not spend it for
 * (shutting down, out of memory, a store error: 5xx), docs/pos-signing.md.
 */
#ifndef KESSAI_API_POS_AUTH_H
#define KESSAI_API_POS_AUTH_H

#include <jansson.h>

#include "api/api.h"
#include "http/router.h"
#include "merchant/types.h"
#include "pos/sign.h"
#include "store/store.h"
#include "util/err.h"

struct http_request;

/* ERR_OK, *term (an active terminal) and the request's nonce, which the
 * caller must spend (above); or ERR_INVALID_SIGNATURE, ERR_STORE,
 * ERR_INTERNAL for the caller to reply with. */
enum err api_pos_authenticate(struct http_request *req, struct api_ctx *ctx, struct store *st,
                              struct merchant_terminal *term, char nonce[POS_NONCE_MAX + 1]);

/* Spend the nonce on st (autocommit: no transaction open), off the HTTP
 * thread: a replay is ERR_INVALID_SIGNATURE, logged as pos_auth_refused. */
enum err api_pos_record_nonce(const struct http_request *req, struct store *st, const struct merchant_terminal *term,
                              const char *nonce, int64_t now_ms);

/* The answer to a read (GET), sent once its nonce is spent in the ledger
 * writer's next group commit: status and body (taken; NULL is 500) when e
 * is ERR_OK, else the error e (param bad).  A nonce spent meanwhile (a
 * replay racing its original) is 401 invalid_signature instead, logged as
 * pos_auth_refused.  HTTP_SUSPENDED, or HTTP_REPLIED with the error stored
 * when the writer took nothing. */
enum http_verdict api_pos_answer(struct http_request *req, struct api_ctx *ctx, const struct merchant_terminal *term,
                                 const char *nonce, enum err e, const char *bad, int status, json_t *body);

/* The same for a POS request refused on the HTTP thread (no
 * Idempotency-Key, a spent code, no money, a kill switch, a throttled
 * terminal, a full queue…), so that the captured request cannot be
 * replayed with a key added or once the reason is gone: the error e (param
 * bad; the operator's reason when not NULL; Retry-After when
 * retry_after_s > 0).  A bad code (guess, NULL for none) is counted
 * against the terminal in the same commit, and only if the nonce was
 * new: a replay counts nothing (wallet/payment.h); until then it is in
 * flight in ctx->guesses, which the guessing block adds. */
struct payment_guess;
enum http_verdict api_pos_refuse(struct http_request *req, struct api_ctx *ctx, const struct merchant_terminal *term,
                                 const char *nonce, enum err e, const char *bad, const char *reason,
                                 int64_t retry_after_s, const struct payment_guess *guess);

#endif
