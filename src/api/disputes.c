/* disputes.c: a customer reports a transaction as not theirs
 * (ops/dispute.h, docs/payments.md):
 *
 *   POST /v1/disputes {transaction_id: "txn_…", reason}, Idempotency-Key
 *        -> 201 {dispute} (status open; a retry with the same key and body
 *           returns the same report, again 201, with Idempotent-Replayed: true)
 *   GET  /v1/disputes?before=dsp_…&limit=N  -> 200 {disputes, next_before} newest first
 *   GET  /v1/disputes/{id}                  -> 200 {dispute}
 *
 * A full session; fast (one transaction, no money), so all three run here
 * on the HTTP thread.  Someone else's transaction or report is the same
 * 404 not_found as an unknown id.  A frozen account may still report: the
 * victim who froze their wallet is the one who needs to.
 */
#include <stdlib.h>
#include <string.h>

#include "api/auth_common.h"
#include "api/authn.h"
#include "api/idempotency.h"
#include "api/list_params.h"
#include "api/pay_handlers.h"
#include "http/reply.h"
#include "http/request.h"
#include "ops/dispute.h"
#include "store/pool.h"
#include "wallet/history.h"

#define DISPUTE_LIST_DEFAULT 20

/* AUTH on a pool connection: true and *st held, or the reply is stored. */
static bool customer(struct http_request *req, struct api_ctx *ctx, struct auth_ctx *a, struct auth_session *s)
{
    api_auth_ctx(a, ctx, store_pool_acquire(ctx->pool), req);
    enum err e = api_authenticate(req, a, SESSION_NEED_FULL, s);
    if (e == ERR_OK)
        return true;
    store_pool_release(ctx->pool, a->st);
    http_reply_error(req, e, NULL);
    return false;
}

enum http_verdict api_disputes_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct auth_session s;
    if (!customer(req, ctx, &a, &s))
        return HTTP_REPLIED;
    const char *key = NULL, *reason = NULL;
    int64_t txn = 0;
    struct json_field spec[] = {
        {.name = "transaction_id", .type = JF_ID, .target = &txn, .id_prefix = HISTORY_ID_PREFIX},
        {.name = "reason", .type = JF_STRING, .target = &reason, .min_len = 1, .max_len = DISPUTE_REASON_MAX},
    };
    enum http_verdict v = HTTP_REPLIED;
    enum err e = api_idempotency_key(req, &key);
    if (e != ERR_OK)
        v = http_reply_error(req, e, IDEMPOTENCY_HEADER);
    else if (api_parse(req, http_request_json(req), spec, sizeof spec / sizeof spec[0], NULL)) {
        struct dispute d;
        const char *bad = NULL;
        bool replayed = false;
        e = dispute_file(&a, s.customer_id, s.device_id, txn, reason, key, &d, &replayed, &bad);
        if (e == ERR_OK && replayed)
            http_reply_header(req, "Idempotent-Replayed", "true");
        v = e == ERR_OK ? api_reply_body(req, 201, json_pack("{s:o}", "dispute", dispute_json(&d, false)))
                        : http_reply_error(req, e, bad);
    }
    store_pool_release(ctx->pool, a.st);
    return v;
}

enum http_verdict api_disputes_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct auth_session s;
    if (!customer(req, ctx, &a, &s))
        return HTTP_REPLIED;
    int64_t before = 0;
    size_t limit = 0;
    struct dispute *list = NULL;
    size_t n = 0;
    enum err e = ERR_OK;
    if (!api_before_cursor(req, DISPUTE_ID_PREFIX, &before) ||
        !api_limit(req, DISPUTE_LIST_DEFAULT, DISPUTE_LIST_MAX, &limit)) {
        store_pool_release(ctx->pool, a.st);
        return HTTP_REPLIED;
    }
    if ((list = calloc(limit, sizeof *list)) == NULL)
        e = ERR_NOMEM;
    if (e == ERR_OK)
        e = a.st->ops->dispute_list(a.st, s.customer_id, "", before, limit, list, &n);
    store_pool_release(ctx->pool, a.st);
    if (e != ERR_OK) {
        free(list);
        return http_reply_error(req, e, NULL);
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, dispute_json(&list[i], false)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    json_t *next = n == limit && n > 0 ? api_id_json(DISPUTE_ID_PREFIX, list[n - 1].id) : json_null();
    free(list);
    json_t *body = arr ? json_pack("{s:o, s:o}", "disputes", arr, "next_before", next) : NULL;
    if (arr == NULL)
        json_decref(next);
    return api_reply_body(req, 200, body);
}

enum http_verdict api_dispute_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct auth_session s;
    if (!customer(req, ctx, &a, &s))
        return HTTP_REPLIED;
    int64_t id = 0;
    if (!api_path_id(req, DISPUTE_ID_PREFIX, ERR_NOT_FOUND, &id)) {
        store_pool_release(ctx->pool, a.st);
        return HTTP_REPLIED;
    }
    struct dispute d;
    enum err e = dispute_get_own(a.st, s.customer_id, id, &d);
    store_pool_release(ctx->pool, a.st);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    return api_reply_body(req, 200, json_pack("{s:o}", "dispute", dispute_json(&d, false)));
}
