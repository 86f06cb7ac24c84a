/* admin_reversals.c: fraud reversals with four eyes (ops/reversal.h):
 *
 *   POST /admin/v1/reversals {payment_id, amount, reason, charge_store, dispute_id?}, Idempotency-Key
 *                                              REVERSE -> 201 {reversal} executed
 *                                                         202 {reversal} pending (above the threshold)
 *        400 missing_param / invalid_param "Idempotency-Key"; a retry (same
 *        staff member, key and body) answers the first's reversal as it
 *        stands, Idempotent-Replayed: true (201 executed, 202 pending, 200
 *        rejected), nothing moved; another body 409 idempotency_conflict
 *   POST /admin/v1/reversals/{id}/approve {}   REVERSE -> 200 {reversal} executed
 *        409 conflict unless pending; 403 forbidden "approver" for the requester
 *   POST /admin/v1/reversals/{id}/reject {reason} REVERSE -> 200 {reversal} rejected
 *   GET  /admin/v1/reversals?status=pending&before=rev_…&limit=N
 *                                              REVERSE -> 200 {reversals: [...]} newest first
 *
 * Executing waits for the ledger's group commit (a few ms) on the HTTP
 * thread: staff requests are rare.  The domain writes every audit entry.
 */
#include <stdlib.h>
#include <string.h>

#include "api/admin_authn.h"
#include "api/admin_handlers.h"
#include "api/auth_common.h"
#include "api/idempotency.h"
#include "api/list_params.h"
#include "http/reply.h"
#include "http/request.h"
#include "ops/reversal.h"
#include "store/pool.h"
#include "wallet/wallet_types.h"

static enum http_verdict reply(struct http_request *req, int status, const struct reversal *r)
{
    return api_reply_body(req, status, json_pack("{s:o}", "reversal", reversal_json(r)));
}

/* A request's answer by what became of the reversal: executed now (or, on
 * a retry, since), waiting, or (a retry only) rejected. */
static int request_status(const struct reversal *r)
{
    if (strcmp(r->status, REVERSAL_STATUS_PENDING) == 0)
        return 202;
    return strcmp(r->status, REVERSAL_STATUS_EXECUTED) == 0 ? 201 : 200;
}

enum http_verdict api_admin_reversals_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct staff_session s;
    if (!api_admin_staff(req, ctx, STAFF_REVERSE, "reversal_requested", &a, &s))
        return HTTP_REPLIED;
    int64_t payment_id = 0, amount = 0;
    const char *reason = NULL;
    bool charge_store = false;
    int64_t dispute_id = 0;
    struct json_field spec[] = {
        {.name = "payment_id", .type = JF_ID, .target = &payment_id, .id_prefix = PAYMENT_ID_PREFIX},
        {.name = "amount", .type = JF_INT64, .target = &amount},
        {.name = "reason", .type = JF_STRING, .target = &reason, .min_len = 1, .max_len = REVERSAL_REASON_MAX},
        {.name = "charge_store", .type = JF_BOOL, .target = &charge_store},
        {.name = "dispute_id", .type = JF_ID, .target = &dispute_id, .id_prefix = DISPUTE_ID_PREFIX, .optional = true},
    };
    enum http_verdict v = HTTP_REPLIED;
    const char *key = NULL;
    enum err e = api_idempotency_key(req, &key);
    if (e != ERR_OK)
        v = http_reply_error(req, e, IDEMPOTENCY_HEADER);
    else if (api_parse(req, http_request_json(req), spec, sizeof spec / sizeof spec[0], NULL)) {
        struct reversal r;
        const char *bad = NULL;
        bool replayed = false;
        e = reversal_request(&a, ctx->writer, s.staff_id, payment_id, amount, reason, charge_store, dispute_id, key,
                             &r, &replayed, &bad);
        if (e == ERR_OK && replayed)
            http_reply_header(req, "Idempotent-Replayed", "true");
        v = e == ERR_OK ? reply(req, request_status(&r), &r) : http_reply_error(req, e, bad);
    }
    store_pool_release(ctx->pool, a.st);
    return v;
}

static enum http_verdict decide(struct http_request *req, void *app, bool approve)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct staff_session s;
    if (!api_admin_staff(req, ctx, STAFF_REVERSE, approve ? "reversal_approved" : "reversal_rejected", &a, &s))
        return HTTP_REPLIED;
    const char *reason = NULL;
    struct json_field spec[] = {
        {.name = "reason", .type = JF_STRING, .target = &reason, .min_len = 1, .max_len = REVERSAL_REASON_MAX},
    };
    int64_t id = 0;
    enum http_verdict v = HTTP_REPLIED;
    if (api_parse(req, http_request_json(req), spec, approve ? 0 : 1, NULL) &&
        api_path_id(req, REVERSAL_ID_PREFIX, ERR_NOT_FOUND, &id)) {
        struct reversal r;
        const char *bad = NULL;
        enum err e = approve ? reversal_approve(&a, ctx->writer, s.staff_id, id, &r, &bad)
                             : reversal_reject(&a, s.staff_id, id, reason, &r, &bad);
        if (e == ERR_FORBIDDEN) /* the requester approving their own: on record too */
            (void)api_admin_record(&a, &s, 0, "reversal_approved", false,
                                   json_pack("{s:s, s:s}", "error", "forbidden", "param", "approver"));
        v = e == ERR_OK ? reply(req, 200, &r) : http_reply_error(req, e, bad);
    }
    store_pool_release(ctx->pool, a.st);
    return v;
}

enum http_verdict api_admin_reversal_approve_post(struct http_request *req, void *app)
{
    return decide(req, app, true);
}

enum http_verdict api_admin_reversal_reject_post(struct http_request *req, void *app)
{
    return decide(req, app, false);
}

enum http_verdict api_admin_reversals_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct staff_session s;
    if (!api_admin_staff(req, ctx, STAFF_REVERSE, "reversal_list", &a, &s))
        return HTTP_REPLIED;
    static const char *const statuses[] = {REVERSAL_STATUS_PENDING, REVERSAL_STATUS_EXECUTED, REVERSAL_STATUS_REJECTED,
                                           NULL};
    struct api_list_query q;
    if (!api_list_query(req, statuses, REVERSAL_ID_PREFIX, REVERSAL_LIST_MAX, &q)) {
        store_pool_release(ctx->pool, a.st);
        return HTTP_REPLIED;
    }
    enum err e = ERR_OK;
    struct reversal *rs = NULL;
    size_t n = 0;
    if (e == ERR_OK && (rs = calloc(REVERSAL_LIST_MAX, sizeof *rs)) == NULL)
        e = ERR_NOMEM;
    if (e == ERR_OK)
        e = a.st->ops->reversal_list(a.st, q.status, q.before, q.limit, rs, &n);
    store_pool_release(ctx->pool, a.st);
    if (e != ERR_OK) {
        free(rs);
        return http_reply_error(req, e, NULL);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, reversal_json(&rs[i]));
    free(rs);
    return api_reply_body(req, 200, json_pack("{s:o}", "reversals", arr));
}
