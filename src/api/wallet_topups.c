/* wallet_topups.c: the customer's top-up endpoints (wallet/topup.h):
 *
 *   POST /v1/topups              {card_id, amount} + Idempotency-Key  (SLOW: wallet job)
 *   POST /v1/topups/{id}/3ds     {code}                                (SLOW: wallet job)
 *   GET  /v1/topups/{id}
 *   GET  /v1/topups?before=tpu_…
 *   POST /v1/topup-codes         {}
 *   GET  /v1/wallet
 *
 * Phases: AUTH (on the HTTP thread: a full session; the domain itself asks
 * for a fresh second factor where topup.h says), KEY (Idempotency-Key, also
 * read on the HTTP thread: headers may not be read from a worker), PARSE
 * (unknown fields refused), ACT (a wallet job for anything that calls the
 * gateway or waits for the ledger; the rest runs here on a pool
 * connection), REPLY.
 *
 * A replayed top-up (same key, same body) answers what the first request
 * would answer now, with the same status code and body shape and the header
 * Idempotent-Replayed: true.  A kill switch answers 503 service_suspended
 * with the operator's reason in the error object.  An id that is malformed
 * or another customer's is the same 404 topup_not_found as an unknown one.
 * The cash code of POST /v1/topup-codes is a one-time credential: it is in
 * the reply (and its QR code) and nowhere else.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/auth_common.h"
#include "api/list_params.h"
#include "api/idempotency.h"
#include "api/wallet_handlers.h"
#include "api/wallet_jobs.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "ops/killswitch.h"
#include "store/pool.h"
#include "util/ids.h"
#include "util/qr_svg.h"
#include "wallet/topup.h"

#define REPLAYED_HEADER "Idempotent-Replayed"

/* A top-up as the customer sees it: never a gateway reference. */
static json_t *topup_json(const struct topup *t)
{
    json_t *o = json_pack("{s:o, s:s, s:I, s:s, s:o, s:o}", "id", api_id_json(TOPUP_ID_PREFIX, t->id), "status",
                          topup_status_name(t->status), "amount", (json_int_t)t->amount, "source",
                          t->source == TOPUP_CARD ? "card" : "cash", "created_at", api_time_json(t->created_ms),
                          "updated_at", api_time_json(t->updated_ms));
    if (o == NULL)
        return NULL;
    int bad = 0;
    if (t->source == TOPUP_CARD)
        bad |= json_object_set_new(o, "card_id", api_id_json(CARD_ID_PREFIX, t->card_id));
    if (t->status == TOPUP_FAILED && t->decline_code[0])
        bad |= json_object_set_new(o, "failure_code", json_string(t->decline_code));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* {topup, balance} and, while 3-D Secure is pending, next_action. */
static json_t *result_json(const struct topup_result *r)
{
    json_t *body = json_pack("{s:o, s:I}", "topup", topup_json(&r->t), "balance", (json_int_t)r->balance);
    if (body == NULL || r->t.status != TOPUP_REQUIRES_ACTION)
        return body;
    char id[IDS_BUF], url[64];
    snprintf(url, sizeof url, "/v1/topups/%s/3ds", ids_format(id, TOPUP_ID_PREFIX, r->t.id));
    json_t *next = json_pack("{s:s, s:s, s:s}", "type", "three_d_secure", "confirm_url", url, "message",
                             "Enter the verification code your card issuer sent you to finish the top-up.");
    if (next == NULL || json_object_set_new(body, "next_action", next) != 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* 201 once the money is in, 202 while the top-up waits for the customer
 * (3-D Secure) or for the reconciler (authorized: the card is charged and
 * the credit failed for now; a retry with the key or the reconciler
 * finishes it). */
static void complete_result(struct http_request *req, const struct topup_result *r, int done_status)
{
    json_t *body = result_json(r);
    if (body == NULL) {
        http_complete_error(req, ERR_NOMEM, NULL);
        return;
    }
    if (r->replayed)
        http_reply_header(req, REPLAYED_HEADER, "true");
    http_complete_json(req, r->t.status == TOPUP_SUCCEEDED ? done_status : 202, body);
}

/* Errors of a top-up call (r: the top-up as it stands, if any): the
 * switch's reason, Retry-After where a retry helps (not once the top-up is
 * failed for good: the key then always answers the same), the replay header
 * on a replayed failure. */
static void complete_topup_error(struct http_request *req, enum err e, const char *bad, const struct killswitch *sw,
                                 const struct topup_result *r)
{
    if (r->replayed)
        http_reply_header(req, REPLAYED_HEADER, "true");
    if (e == ERR_SUSPENDED) {
        http_complete_error_reason(req, e, NULL, sw->reason[0] ? sw->reason : NULL);
        return;
    }
    if ((e == ERR_IN_PROGRESS || e == ERR_GATEWAY) && r->t.status != TOPUP_FAILED)
        http_reply_retry_after(req, 1);
    http_complete_error(req, e, bad);
}

/* ---- POST /v1/topups ----------------------------------------------------- */

struct topup_job {
    struct api_wallet_job base;
    char key[IDEMPOTENCY_KEY_MAX + 1];
    int64_t card_id;
    int64_t amount;
};

static void run_topup(struct api_wallet_job *job, const struct wallet_ctx *w)
{
    struct topup_job *j = (struct topup_job *)job;
    struct topup_result res;
    const char *bad = NULL;
    struct killswitch sw;
    memset(&sw, 0, sizeof sw);
    enum err e = topup_card(w, &job->session, j->card_id, j->amount, j->key, &res, &bad, &sw);
    if (e != ERR_OK)
        complete_topup_error(job->req, e, bad, &sw, &res);
    else
        complete_result(job->req, &res, 201);
}

enum http_verdict api_topups_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct topup_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct json_field spec[] = {
        {.name = "card_id", .type = JF_ID, .target = &j->card_id, .id_prefix = CARD_ID_PREFIX},
        {.name = "amount", .type = JF_AMOUNT, .target = &j->amount},
    };
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &j->base.session)) {
        free(j);
        return HTTP_REPLIED;
    }
    const char *key = NULL;
    enum err e = api_idempotency_key(req, &key);
    if (e != ERR_OK) {
        free(j);
        return http_reply_error(req, e, IDEMPOTENCY_HEADER);
    }
    memcpy(j->key, key, strlen(key) + 1);
    if (!api_parse(req, http_request_json(req), spec, sizeof spec / sizeof spec[0], NULL)) {
        free(j);
        return HTTP_REPLIED;
    }
    return api_wallet_job_submit(req, ctx, &j->base, run_topup);
}

/* ---- POST /v1/topups/{id}/3ds -------------------------------------------- */

struct confirm_job {
    struct api_wallet_job base;
    int64_t topup_id;
    const char *code; /* borrowed from the request body */
};

static void run_confirm(struct api_wallet_job *job, const struct wallet_ctx *w)
{
    struct confirm_job *j = (struct confirm_job *)job;
    struct topup_result res;
    struct killswitch sw;
    memset(&sw, 0, sizeof sw);
    enum err e = topup_confirm(w, &job->session, j->topup_id, j->code, &res, &sw);
    if (e != ERR_OK)
        complete_topup_error(job->req, e, e == ERR_INVALID_CODE ? "code" : NULL, &sw, &res);
    else
        complete_result(job->req, &res, 200);
}

enum http_verdict api_topup_3ds_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct confirm_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct json_field spec[] = {
        {.name = "code", .type = JF_STRING, .target = &j->code, .min_len = 1, .max_len = 16},
    };
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &j->base.session) ||
        !api_parse(req, http_request_json(req), spec, sizeof spec / sizeof spec[0], NULL)) {
        free(j);
        return HTTP_REPLIED;
    }
    if (ids_parse(http_request_param(req, "id"), TOPUP_ID_PREFIX, &j->topup_id) != ERR_OK) {
        free(j);
        return http_reply_error(req, ERR_TOPUP_NOT_FOUND, NULL);
    }
    return api_wallet_job_submit(req, ctx, &j->base, run_confirm);
}

/* ---- the fast ones: on a pool connection, here --------------------------- */

enum http_verdict api_topup_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_session s;
    int64_t id = 0;
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &s) ||
        !api_path_id(req, TOPUP_ID_PREFIX, ERR_TOPUP_NOT_FOUND, &id))
        return HTTP_REPLIED;
    struct wallet_ctx w;
    api_wallet_acquire(&w, ctx, req);
    struct topup_result res;
    enum err e = topup_get(&w, &s, id, &res);
    api_wallet_release(&w, ctx);
    return e != ERR_OK ? http_reply_error(req, e, NULL) : api_reply_body(req, 200, result_json(&res));
}

enum http_verdict api_topups_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_session s;
    int64_t before = 0;
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &s) || !api_before_cursor(req, TOPUP_ID_PREFIX, &before))
        return HTTP_REPLIED;
    struct topup *list = calloc(TOPUP_LIST_MAX, sizeof *list);
    if (list == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct wallet_ctx w;
    api_wallet_acquire(&w, ctx, req);
    size_t n = 0;
    enum err e = topup_list(&w, &s, before, list, TOPUP_LIST_MAX, &n);
    api_wallet_release(&w, ctx);
    if (e != ERR_OK) {
        free(list);
        return http_reply_error(req, e, NULL);
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, topup_json(&list[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    /* A full page may have more behind it: ask again with before = the last id. */
    json_t *body = arr ? json_pack("{s:o, s:b}", "topups", arr, "has_more", n == TOPUP_LIST_MAX) : NULL;
    free(list);
    return api_reply_body(req, 200, body);
}

enum http_verdict api_topup_codes_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_session s;
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &s) || !api_parse(req, http_request_json(req), NULL, 0, NULL))
        return HTTP_REPLIED;
    struct wallet_ctx w;
    api_wallet_acquire(&w, ctx, req);
    char code[TOPUP_CODE_DIGITS + 1];
    int64_t expires = 0;
    enum err e = topup_code_new(&w, &s, code, &expires);
    api_wallet_release(&w, ctx);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    char *svg = NULL;
    e = qr_svg(code, &svg);
    json_t *body = e == ERR_OK ? json_pack("{s:s, s:o, s:s}", "code", code, "expires_at", api_time_json(expires),
                                           "qr_svg", svg)
                               : NULL;
    sodium_memzero(code, sizeof code);
    if (svg) {
        sodium_memzero(svg, strlen(svg));
        free(svg);
    }
    return body ? http_reply_json(req, 201, body) : http_reply_error(req, e != ERR_OK ? e : ERR_NOMEM, NULL);
}

enum http_verdict api_wallet_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_session s;
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &s))
        return HTTP_REPLIED;
    struct wallet_ctx w;
    api_wallet_acquire(&w, ctx, req);
    struct wallet_summary sum;
    enum err e = wallet_summary(&w, &s, &sum);
    api_wallet_release(&w, ctx);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    json_t *body = json_pack("{s:I, s:s, s:I, s:I}", "balance", (json_int_t)sum.balance, "currency", "JPY",
                             "balance_cap", (json_int_t)sum.balance_cap, "topup_remaining_today",
                             (json_int_t)sum.topup_remaining_today);
    return api_reply_body(req, 200, body);
}
