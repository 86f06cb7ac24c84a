/* admin_disputes.c: customers' fraud reports for staff (ops/dispute.h):
 *
 *   GET  /admin/v1/disputes?status=open&before=dsp_…&limit=N
 *                                       READ    -> 200 {disputes: [...]} newest first
 *   GET  /admin/v1/disputes/{id}        READ    -> 200 {dispute}
 *   POST /admin/v1/disputes/{id}/reject {note}
 *                                       REVERSE -> 200 {dispute} rejected; 409 unless open
 *
 * A report is resolved by a reversal that names it
 * (POST /admin/v1/reversals {…, dispute_id}, admin_reversals.c).  The
 * domain writes the audit entries.
 */
#include <stdlib.h>
#include <string.h>

#include "api/admin_authn.h"
#include "api/admin_handlers.h"
#include "api/auth_common.h"
#include "api/list_params.h"
#include "http/reply.h"
#include "http/request.h"
#include "ops/dispute.h"
#include "store/pool.h"

static enum http_verdict reply(struct http_request *req, const struct dispute *d)
{
    return api_reply_body(req, 200, json_pack("{s:o}", "dispute", dispute_json(d, true)));
}

enum http_verdict api_admin_disputes_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct staff_session s;
    if (!api_admin_staff(req, ctx, STAFF_READ, "dispute_list", &a, &s))
        return HTTP_REPLIED;
    static const char *const statuses[] = {DISPUTE_STATUS_OPEN, DISPUTE_STATUS_RESOLVED, DISPUTE_STATUS_REJECTED, NULL};
    struct api_list_query q;
    if (!api_list_query(req, statuses, DISPUTE_ID_PREFIX, DISPUTE_LIST_MAX, &q)) {
        store_pool_release(ctx->pool, a.st);
        return HTTP_REPLIED;
    }
    enum err e = ERR_OK;
    struct dispute *ds = NULL;
    size_t n = 0;
    if (e == ERR_OK && (ds = calloc(DISPUTE_LIST_MAX, sizeof *ds)) == NULL)
        e = ERR_NOMEM;
    if (e == ERR_OK)
        e = a.st->ops->dispute_list(a.st, 0, q.status, q.before, q.limit, ds, &n);
    store_pool_release(ctx->pool, a.st);
    if (e != ERR_OK) {
        free(ds);
        return http_reply_error(req, e, NULL);
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, dispute_json(&ds[i], true));
    free(ds);
    return api_reply_body(req, 200, arr ? json_pack("{s:o}", "disputes", arr) : NULL);
}

enum http_verdict api_admin_dispute_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct staff_session s;
    if (!api_admin_staff(req, ctx, STAFF_READ, "dispute_read", &a, &s))
        return HTTP_REPLIED;
    int64_t id = 0;
    if (!api_path_id(req, DISPUTE_ID_PREFIX, ERR_NOT_FOUND, &id)) {
        store_pool_release(ctx->pool, a.st);
        return HTTP_REPLIED;
    }
    struct dispute d;
    enum err e = a.st->ops->dispute_get(a.st, id, &d);
    store_pool_release(ctx->pool, a.st);
    return e == ERR_OK ? reply(req, &d) : http_reply_error(req, e, NULL);
}

enum http_verdict api_admin_dispute_reject_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct staff_session s;
    if (!api_admin_staff(req, ctx, STAFF_REVERSE, "dispute_rejected", &a, &s))
        return HTTP_REPLIED;
    const char *note = NULL;
    struct json_field spec[] = {
        {.name = "note", .type = JF_STRING, .target = &note, .min_len = 1, .max_len = DISPUTE_NOTE_MAX},
    };
    int64_t id = 0;
    enum http_verdict v = HTTP_REPLIED;
    if (api_parse(req, http_request_json(req), spec, 1, NULL) &&
        api_path_id(req, DISPUTE_ID_PREFIX, ERR_NOT_FOUND, &id)) {
        struct dispute d;
        const char *bad = NULL;
        enum err e = dispute_reject(&a, s.staff_id, id, note, &d, &bad);
        v = e == ERR_OK ? reply(req, &d) : http_reply_error(req, e, bad);
    }
    store_pool_release(ctx->pool, a.st);
    return v;
}
