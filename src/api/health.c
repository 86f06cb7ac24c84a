#include "api/health.h"

#include <stdlib.h>

#include "api/api.h"
#include "store/pool.h"
#include "http/metrics.h"
#include "http/reply.h"
#include "ledger/ledger.h"

enum http_verdict api_health_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct store *st = store_pool_acquire(ctx->pool);
    int64_t id = 0;
    enum err e = ledger_system_account(st, ledger_system_kinds[0], &id);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK) {
        /* 503, not the table's 500: the node is unhealthy, not the request wrong. */
        json_t *body = http_error_json(ERR_STORE, NULL);
        return http_reply_json(req, 503, body);
    }
    return http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

enum http_verdict api_metrics_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    size_t len = 0;
    char *text = http_metrics_render(ctx->metrics, &len);
    if (text == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    enum http_verdict v = http_reply_text(req, 200, HTTP_METRICS_CONTENT_TYPE, text, len);
    free(text);
    return v;
}
