/* admin_authn.c: see admin_authn.h. */
#include "api/admin_authn.h"

#include "api/auth_common.h"
#include "api/authn.h"
#include "audit/audit.h"
#include "http/reply.h"
#include "http/request.h"
#include "store/pool.h"

enum err api_admin_record(const struct auth_ctx *a, const struct staff_session *s, int64_t customer_id,
                          const char *action, bool ok, json_t *detail)
{
    char sid[IDS_BUF];
    return audit_record(a->st, a->now, staff_public_id(s->staff_id, sid), customer_id, action,
                        ok ? AUDIT_SUCCESS : AUDIT_FAILURE, a->client_addr, 0, detail);
}

enum err api_admin_authenticate(struct http_request *req, const struct auth_ctx *a, enum staff_action action,
                                const char *action_name, struct staff_session *out)
{
    const char *token = api_bearer_token(http_request_header(req, "Authorization"));
    enum err e = staff_authenticate(a, token, out);
    if (e != ERR_OK)
        return e;
    if (staff_may(out->role, action))
        return ERR_OK;
    (void)api_admin_record(a, out, 0, action_name, false, json_pack("{s:s}", "reason", "forbidden"));
    return ERR_FORBIDDEN;
}

bool api_admin_staff(struct http_request *req, struct api_ctx *ctx, enum staff_action action,
                     const char *action_name, struct auth_ctx *a, struct staff_session *s)
{
    api_auth_ctx(a, ctx, store_pool_acquire(ctx->pool), req);
    enum err e = api_admin_authenticate(req, a, action, action_name, s);
    if (e == ERR_OK)
        return true;
    store_pool_release(ctx->pool, a->st);
    http_reply_error(req, e, NULL);
    return false;
}
