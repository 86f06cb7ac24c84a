/* auth_me.c: GET /v1/me: the signed-in customer's profile (any session
 * scope, so the app can show enrolment progress). */
#include "api/auth_common.h"
#include "api/auth_handlers.h"
#include "api/authn.h"
#include "auth/customer.h"
#include "http/reply.h"
#include "store/pool.h"

enum http_verdict api_me_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    struct auth_session s;
    struct customer_profile p;
    enum err e = api_authenticate(req, &a, SESSION_NEED_ANY, &s);
    if (e == ERR_OK)
        e = customer_profile(&a, &s, &p);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    json_t *body = api_profile_json(&p);
    if (body == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    return http_reply_json(req, 200, body);
}
