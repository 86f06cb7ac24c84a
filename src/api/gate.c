/* gate.c: see gate.h. */
#include "api/gate.h"

#include "http/reply.h"
#include "ops/killswitch.h"
#include "store/pool.h"

bool api_gate(struct http_request *req, struct api_ctx *ctx, const char *name)
{
    const char *const names[] = {name, NULL};
    struct killswitch sw;
    struct store *st = store_pool_acquire(ctx->pool);
    enum err e = killswitch_check(st, names, &sw);
    store_pool_release(ctx->pool, st);
    if (e == ERR_OK)
        return true;
    if (e == ERR_SUSPENDED)
        http_reply_error_reason(req, e, NULL, sw.reason);
    else
        http_reply_error(req, e, NULL);
    return false;
}
