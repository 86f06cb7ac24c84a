/* admin_reviews.c: the review queue of held payments and transfers
 * (wallet/review.h, docs/admin-api.md "Review queue"):
 *
 *   GET  /admin/v1/reviews?status=held|pending|approved|rejected&before=rvw_…&limit=N
 *                                              REVIEW -> 200 {reviews: [...]} newest first
 *   POST /admin/v1/reviews/{id}/approve {}     REVIEW -> 200 {review} approved (review.payment: "pay_…"), the money moved
 *        409 conflict unless held; the money's refusals (422, 403, 503) leave it held
 *   POST /admin/v1/reviews/{id}/reject {reason} REVIEW -> 200 {review} rejected; nothing moves
 *
 * REVIEW is STAFF_REVIEW (fraud analysts, administrators): anyone else is
 * 403 forbidden, on record (api_admin_authenticate).  Approving waits for
 * the ledger's group commit (a few ms) on the HTTP thread: staff requests
 * are rare.  The domain writes every audit entry.
 */
#include <stdlib.h>
#include <string.h>

#include "api/admin_authn.h"
#include "api/admin_handlers.h"
#include "api/auth_common.h"
#include "api/list_params.h"
#include "api/wallet_jobs.h"
#include "http/reply.h"
#include "http/request.h"
#include "ops/killswitch.h"
#include "store/pool.h"
#include "util/ids.h"
#include "wallet/review.h"

static bool staff(struct http_request *req, struct api_ctx *ctx, const char *name, struct wallet_ctx *w,
                  struct staff_session *s)
{
    api_wallet_ctx(w, ctx, store_pool_acquire(ctx->pool), req);
    enum err e = api_admin_authenticate(req, &w->a, STAFF_REVIEW, name, s);
    if (e == ERR_OK)
        return true;
    store_pool_release(ctx->pool, w->a.st);
    http_reply_error(req, e, NULL);
    return false;
}

static enum http_verdict decide(struct http_request *req, void *app, bool approve)
{
    struct api_ctx *ctx = app;
    struct wallet_ctx w;
    struct staff_session s;
    if (!staff(req, ctx, approve ? "review_approved" : "review_rejected", &w, &s))
        return HTTP_REPLIED;
    const char *reason = NULL;
    struct json_field spec[] = {
        {.name = "reason", .type = JF_STRING, .target = &reason, .min_len = 1, .max_len = PENDING_REASON_MAX},
    };
    int64_t id = 0;
    enum http_verdict v = HTTP_REPLIED;
    if (api_parse(req, http_request_json(req), spec, approve ? 0 : 1, NULL) &&
        api_path_id(req, PENDING_REVIEW_ID_PREFIX, ERR_NOT_FOUND, &id)) {
        struct pending_op p;
        struct payment_receipt r;
        struct killswitch sw;
        const char *bad = NULL;
        enum err e = approve ? review_approve(&w, s.staff_id, id, &p, &r, &bad, &sw)
                             : review_reject(&w, s.staff_id, id, reason, &p, &bad);
        if (e == ERR_SUSPENDED)
            v = http_reply_error_reason(req, e, NULL, sw.reason[0] ? sw.reason : NULL);
        else if (e != ERR_OK)
            v = http_reply_error(req, e, bad);
        else
            v = api_reply_body(req, 200, json_pack("{s:o}", "review", review_json(&p)));
    }
    store_pool_release(ctx->pool, w.a.st);
    return v;
}

enum http_verdict api_admin_review_approve_post(struct http_request *req, void *app)
{
    return decide(req, app, true);
}

enum http_verdict api_admin_review_reject_post(struct http_request *req, void *app) { return decide(req, app, false); }

enum http_verdict api_admin_reviews_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct wallet_ctx w;
    struct staff_session s;
    if (!staff(req, ctx, "review_list", &w, &s))
        return HTTP_REPLIED;
    const char *status = http_request_query(req, "status");
    int64_t before = 0, limit = 50;
    const char *l = http_request_query(req, "limit");
    enum err e = ERR_OK;
    const char *bad = NULL;
    if (l) {
        char *end = NULL;
        limit = strtoll(l, &end, 10);
        if (*l == '\0' || *end != '\0' || limit < 1 || limit > REVIEW_LIST_MAX) {
            e = ERR_INVALID_PARAM;
            bad = "limit";
        }
    }
    const char *b = http_request_query(req, "before");
    if (e == ERR_OK && b && ids_parse(b, PENDING_REVIEW_ID_PREFIX, &before) != ERR_OK) {
        e = ERR_INVALID_PARAM;
        bad = "before";
    }
    struct pending_op *ps = NULL;
    size_t n = 0;
    if (e == ERR_OK && (ps = calloc(REVIEW_LIST_MAX, sizeof *ps)) == NULL)
        e = ERR_NOMEM;
    if (e == ERR_OK && (e = review_list(&w, status, before, (size_t)limit, ps, &n)) == ERR_INVALID_PARAM)
        bad = "status";
    store_pool_release(ctx->pool, w.a.st);
    if (e != ERR_OK) {
        free(ps);
        return http_reply_error(req, e, bad);
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, review_json(&ps[i]));
    free(ps);
    return api_reply_body(req, 200, arr ? json_pack("{s:o}", "reviews", arr) : NULL);
}
