/* pay_customer.c: the payments a customer starts from the app:
 *
 *   POST /v1/payments   {qr_payload, amount} + Idempotency-Key   (wallet/mpm.h, docs/store-qr.md)
 *        -> 201 {payment: {id, amount, store: {id, name}, created_at}, balance_after}
 *   POST /v1/transfers  {to, amount, message?} + Idempotency-Key  (wallet/p2p.h)
 *        -> 201 {transfer: {id, amount, to: {id, email}, message, created_at}, balance_after}
 *
 * Phases: AUTH (on the HTTP thread: a full session; the domain asks for a
 * fresh second factor where its header says), KEY (Idempotency-Key, read
 * here: headers may not be read from a worker), PARSE (unknown fields
 * refused), ACT on a wallet worker (both wait for the ledger writer's
 * durable commit), REPLY.
 *
 * A retry (same key, same body) answers the first payment with the same
 * status and shape, balance_after the balance right after it, and the header
 * Idempotent-Replayed: true.  A kill switch answers 503 service_suspended
 * with the operator's reason.  A QR that is not a kessai store's, or names
 * an unknown or inactive store, is 400 invalid_qr (param qr_payload); a
 * recipient who cannot receive, for whatever reason, 404
 * recipient_not_found (param to).  A payment or transfer the risk engine
 * holds is kept for staff review: 202 {payment|transfer: {id: "rvw_…",
 * status: "held", amount, created_at, expires_at}}, nothing moved
 * (wallet/review.h).
 */
#include <stdlib.h>
#include <string.h>

#include "api/auth_common.h"
#include "api/authn.h"
#include "api/idempotency.h"
#include "api/pay_handlers.h"
#include "api/wallet_jobs.h"
#include "auth/customer_types.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "merchant/merchant.h"
#include "ops/killswitch.h"
#include "store/pool.h"
#include "util/email.h"
#include "util/json.h"
#include "wallet/emvco.h"
#include "wallet/mpm.h"
#include "wallet/p2p.h"
#include "wallet/review.h"

#define REPLAYED_HEADER "Idempotent-Replayed"
#define QR_PAYLOAD_MAX_BYTES (EMVCO_MAX * 4) /* 512 characters of up to 4 bytes */
#define MESSAGE_MAX_BYTES (P2P_MESSAGE_MAX * 4)

/* AUTH and KEY; false with the reply stored. */
static bool accept(struct http_request *req, struct api_ctx *ctx, struct auth_session *s,
                   char key[IDEMPOTENCY_KEY_MAX + 1])
{
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, s))
        return false;
    const char *k = NULL;
    enum err e = api_idempotency_key(req, &k);
    if (e != ERR_OK) {
        http_reply_error(req, e, IDEMPOTENCY_HEADER);
        return false;
    }
    memcpy(key, k, strlen(k) + 1);
    return true;
}

/* Held for review (wallet/review.h): 202 {what: {id: "rvw_…", status:
 * "held", amount, created_at, expires_at}}; nothing moved.  A retry of a
 * held request answers its review as it stands (200 once decided:
 * "rejected", or "expired" once it lapsed; an approved one is the
 * payment's own 201). */
static bool complete_held(struct http_request *req, const struct wallet_ctx *w, const struct payment_receipt *r,
                          const char *what)
{
    struct pending_op p;
    if (r->held_id == 0 || review_get(w, r->held_id, &p) != ERR_OK)
        return false;
    json_t *body = json_pack("{s:{s:o, s:s, s:I, s:o, s:o}}", what, "id", api_id_json(PENDING_REVIEW_ID_PREFIX, p.id),
                             "status", p.status, "amount", (json_int_t)p.p.amount, "created_at",
                             api_time_json(p.p.created_ms), "expires_at", json_time_or_null(p.expires_ms));
    if (body == NULL)
        return false;
    http_complete_json(req, strcmp(p.status, PENDING_HELD) == 0 ? 202 : 200, body);
    return true;
}

static void complete_error(struct http_request *req, enum err e, const char *bad, const struct killswitch *sw)
{
    if (e == ERR_SUSPENDED) {
        http_complete_error_reason(req, e, NULL, sw->reason[0] ? sw->reason : NULL);
        return;
    }
    http_complete_error(req, e, bad);
}

static void complete_created(struct http_request *req, const struct payment_receipt *r, const char *what,
                             json_t *obj)
{
    json_t *body = obj ? json_pack("{s:o, s:I}", what, obj, "balance_after", (json_int_t)r->balance_after) : NULL;
    if (body == NULL) {
        http_complete_error(req, ERR_NOMEM, NULL);
        return;
    }
    if (r->replayed)
        http_reply_header(req, REPLAYED_HEADER, "true");
    http_complete_json(req, 201, body);
}

/* ---- POST /v1/payments ---------------------------------------------------- */

struct payment_job {
    struct api_wallet_job base;
    char key[IDEMPOTENCY_KEY_MAX + 1];
    const char *qr_payload; /* borrowed from the request body */
    int64_t amount;
};

static void run_payment(struct api_wallet_job *job, const struct wallet_ctx *w)
{
    struct payment_job *j = (struct payment_job *)job;
    struct payment_receipt r;
    struct killswitch sw;
    const char *bad = NULL;
    memset(&sw, 0, sizeof sw);
    enum err e = mpm_pay(w, &job->session, j->qr_payload, j->amount, j->key, &r, &bad, &sw);
    if (e == ERR_RISK_HELD && complete_held(job->req, w, &r, "payment"))
        return;
    if (e != ERR_OK) {
        complete_error(job->req, e, bad, &sw);
        return;
    }
    json_t *store = json_pack("{s:o, s:s}", "id", api_id_json(MERCHANT_STORE_ID_PREFIX, r.p.store_id), "name",
                              r.store_name);
    json_t *payment = store ? json_pack("{s:o, s:I, s:o, s:o}", "id", api_id_json(PAYMENT_ID_PREFIX, r.p.id),
                                        "amount", (json_int_t)r.p.amount, "store", store, "created_at",
                                        api_time_json(r.p.created_ms))
                            : NULL;
    complete_created(job->req, &r, "payment", payment);
}

enum http_verdict api_payments_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct payment_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct json_field spec[] = {
        {.name = "qr_payload", .type = JF_STRING, .target = &j->qr_payload, .min_len = 1,
         .max_len = QR_PAYLOAD_MAX_BYTES},
        {.name = "amount", .type = JF_AMOUNT, .target = &j->amount},
    };
    if (!accept(req, ctx, &j->base.session, j->key) ||
        !api_parse(req, http_request_json(req), spec, sizeof spec / sizeof spec[0], NULL)) {
        free(j);
        return HTTP_REPLIED;
    }
    return api_wallet_job_submit(req, ctx, &j->base, run_payment);
}

/* ---- POST /v1/transfers --------------------------------------------------- */

struct transfer_job {
    struct api_wallet_job base;
    char key[IDEMPOTENCY_KEY_MAX + 1];
    const char *to;      /* borrowed from the request body */
    const char *message; /* borrowed, or "" */
    int64_t amount;
};

static void run_transfer(struct api_wallet_job *job, const struct wallet_ctx *w)
{
    struct transfer_job *j = (struct transfer_job *)job;
    struct payment_receipt r;
    struct killswitch sw;
    const char *bad = NULL;
    memset(&sw, 0, sizeof sw);
    enum err e = p2p_send(w, &job->session, j->to, j->amount, j->message, j->key, &r, &bad, &sw);
    if (e == ERR_RISK_HELD && complete_held(job->req, w, &r, "transfer"))
        return;
    if (e != ERR_OK) {
        complete_error(job->req, e, bad, &sw);
        return;
    }
    /* The recipient as the sender named them: always their id, and their
     * address only when the sender typed it.  Customer ids are sequential:
     * a transfer to "usr_…" must not turn an id into an address. */
    json_t *to = json_pack("{s:o}", "id", api_id_json(CUSTOMER_ID_PREFIX, r.p.counterparty_id));
    if (to != NULL && strncmp(j->to, CUSTOMER_ID_PREFIX "_", strlen(CUSTOMER_ID_PREFIX) + 1) != 0) {
        char typed[EMAIL_MAX + 1];
        if (email_normalize(j->to, typed) != ERR_OK ||
            json_object_set_new(to, "email", json_string(typed)) != 0) {
            json_decref(to);
            to = NULL;
        }
    }
    json_t *transfer = to ? json_pack("{s:o, s:I, s:o, s:s, s:o}", "id", api_id_json(PAYMENT_ID_PREFIX, r.p.id),
                                      "amount", (json_int_t)r.p.amount, "to", to, "message", j->message,
                                      "created_at", api_time_json(r.p.created_ms))
                          : NULL;
    complete_created(job->req, &r, "transfer", transfer);
}

enum http_verdict api_transfers_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct transfer_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    j->message = "";
    struct json_field spec[] = {
        {.name = "to", .type = JF_STRING, .target = &j->to, .min_len = 1, .max_len = EMAIL_MAX},
        {.name = "amount", .type = JF_AMOUNT, .target = &j->amount},
        {.name = "message", .type = JF_STRING, .target = &j->message, .optional = true, .max_len = MESSAGE_MAX_BYTES},
    };
    if (!accept(req, ctx, &j->base.session, j->key) ||
        !api_parse(req, http_request_json(req), spec, sizeof spec / sizeof spec[0], NULL)) {
        free(j);
        return HTTP_REPLIED;
    }
    return api_wallet_job_submit(req, ctx, &j->base, run_transfer);
}
