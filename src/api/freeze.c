/* freeze.c: POST /v1/freeze {reason?}: the customer freezes their own
 * account from the app (ops/freeze.h): no paying, topping up or sending
 * money until support unfreezes it, and every other session ends.  A full
 * session suffices on purpose — whoever holds the phone can stop the
 * money, which only ever protects the owner.  Fast (one transaction), so
 * it runs here on the HTTP thread:
 *
 *   200 {"frozen": true}
 *
 * Freezing a frozen account changes nothing and answers the same.
 */
#include "api/auth_common.h"
#include "api/authn.h"
#include "api/pay_handlers.h"
#include "http/reply.h"
#include "http/request.h"
#include "ops/freeze.h"
#include "store/pool.h"

#define REASON_MAX 200

enum http_verdict api_freeze_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    struct auth_session s;
    enum err e = api_authenticate(req, &a, SESSION_NEED_FULL, &s);
    if (e != ERR_OK) {
        store_pool_release(ctx->pool, st);
        return http_reply_error(req, e, NULL);
    }
    const char *reason = NULL;
    struct json_field spec[] = {
        {.name = "reason", .type = JF_STRING, .target = &reason, .optional = true, .max_len = REASON_MAX},
    };
    if (!api_parse(req, http_request_json(req), spec, 1, NULL)) {
        store_pool_release(ctx->pool, st);
        return HTTP_REPLIED;
    }
    e = freeze_self(&a, &s, reason);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK)
        return http_reply_error(req, e, e == ERR_INVALID_PARAM ? "reason" : NULL);
    return http_reply_json(req, 200, json_pack("{s:b}", "frozen", 1));
}
