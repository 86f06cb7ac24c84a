/* admin_controls.c: what operators do to stop harm (issue 6):
 *
 *   GET  /admin/v1/killswitches                       READ      -> 200 {killswitches: [...]}
 *   PUT  /admin/v1/killswitches/{name} {on, reason}   KILLSWITCH -> 200 {killswitch}
 *        name: a switch ("topups", "payments", …) or a scoped one
 *        ("payments@mer_…", "payments@str_…"); reason required to turn on
 *   POST /admin/v1/customers/{id}/freeze {reason}     FREEZE    -> 200 {frozen: true}
 *   POST /admin/v1/customers/{id}/unfreeze {reason}   UNFREEZE  -> 200 {frozen: false}
 *   POST /admin/v1/customers/{id}/sign-out {}         SIGN_OUT  -> 200 {sessions_revoked: n}
 *   POST /admin/v1/customers/{id}/reset-mfa {reason, identity_check}
 *                                                     RESET_MFA -> 200 {mfa_reset: true}
 *
 * All fast (a transaction each), on the HTTP thread.  Switches take effect
 * on the next request on every node (ops/killswitch.h); a freeze ends the
 * customer's sessions (ops/freeze.h).  Each change is an audit entry
 * whose actor is the staff member (audit/audit.h): the switch and the
 * freeze write theirs; a sign-out is recorded here.
 */
#include <sodium.h>
#include <string.h>

#include "api/admin_authn.h"
#include "api/admin_handlers.h"
#include "api/auth_common.h"
#include "api/list_params.h"
#include "auth/customer_types.h"
#include "auth/events.h"
#include "auth/txn.h"
#include "http/reply.h"
#include "http/request.h"
#include "ops/freeze.h"
#include "ops/killswitch.h"
#include "ops/mfa_reset.h"
#include "store/pool.h"

#define REASON_MAX KILLSWITCH_REASON_MAX

static json_t *killswitch_json(const struct killswitch *k)
{
    return json_pack("{s:s, s:b, s:s, s:s, s:o}", "name", k->name, "on", k->on, "reason", k->reason, "set_by",
                     k->set_by, "set_at", api_time_json(k->set_ms));
}

/* The switches ever set: a known one never set is not listed. */
static enum err list_set(const struct killswitch *k, void *ctx)
{
    if (k->set_ms == 0)
        return ERR_OK;
    json_t *j = killswitch_json(k);
    return j && json_array_append_new(ctx, j) == 0 ? ERR_OK : ERR_NOMEM;
}

enum http_verdict api_admin_killswitches_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct staff_session s;
    if (!api_admin_staff(req, ctx, STAFF_READ, "killswitch_list", &a, &s))
        return HTTP_REPLIED;
    json_t *arr = json_array();
    enum err e = arr ? killswitch_each(a.st, list_set, arr) : ERR_NOMEM;
    store_pool_release(ctx->pool, a.st);
    if (e != ERR_OK) {
        json_decref(arr);
        return http_reply_error(req, e, NULL);
    }
    return api_reply_body(req, 200, json_pack("{s:o}", "killswitches", arr));
}

enum http_verdict api_admin_killswitch_put(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct staff_session s;
    if (!api_admin_staff(req, ctx, STAFF_KILLSWITCH, "killswitch_set", &a, &s))
        return HTTP_REPLIED;
    const char *name = http_request_param(req, "name");
    bool on = false;
    const char *reason = NULL;
    struct json_field spec[] = {
        {.name = "on", .type = JF_BOOL, .target = &on},
        {.name = "reason", .type = JF_STRING, .target = &reason, .optional = true, .max_len = REASON_MAX},
    };
    enum err e = ERR_OK;
    const char *bad = NULL;
    if (!api_parse(req, http_request_json(req), spec, sizeof spec / sizeof spec[0], NULL)) {
        store_pool_release(ctx->pool, a.st);
        return HTTP_REPLIED;
    }
    char by[IDS_BUF];
    if (!killswitch_known(name)) {
        e = ERR_NOT_FOUND;
    } else if (on && (reason == NULL || reason[0] == '\0')) {
        e = ERR_MISSING_PARAM;
        bad = "reason";
    } else if ((e = killswitch_set_from(a.st, staff_public_id(s.staff_id, by), a.client_addr, name, on, reason, by,
                                        a.now)) == ERR_INVALID_PARAM) {
        bad = "reason";
    }
    /* killswitch_set_from wrote the audit entry, with the staff id as actor. */
    struct killswitch k;
    if (e == ERR_OK)
        e = a.st->ops->killswitch_get(a.st, name, &k);
    store_pool_release(ctx->pool, a.st);
    if (e != ERR_OK)
        return http_reply_error(req, e, bad);
    return api_reply_body(req, 200, json_pack("{s:o}", "killswitch", killswitch_json(&k)));
}

/* The path's customer: ERR_OK and *c, or the reply is stored. */
static bool path_customer(struct http_request *req, const struct auth_ctx *a, struct customer *c)
{
    int64_t id = 0;
    if (!api_path_id(req, CUSTOMER_ID_PREFIX, ERR_NOT_FOUND, &id))
        return false;
    enum err e = a->st->ops->customer_get(a->st, id, c);
    if (e != ERR_OK) {
        http_reply_error(req, e, NULL);
        return false;
    }
    return true;
}

static enum http_verdict set_frozen(struct http_request *req, void *app, bool frozen)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct staff_session s;
    const char *action = frozen ? "account_freeze" : "account_unfreeze";
    if (!api_admin_staff(req, ctx, frozen ? STAFF_FREEZE : STAFF_UNFREEZE, action, &a, &s))
        return HTTP_REPLIED;
    const char *reason = NULL;
    struct json_field spec[] = {
        {.name = "reason", .type = JF_STRING, .target = &reason, .min_len = 1, .max_len = 200},
    };
    struct customer c;
    enum http_verdict v = HTTP_REPLIED;
    if (api_parse(req, http_request_json(req), spec, 1, NULL) && path_customer(req, &a, &c)) {
        char by[IDS_BUF];
        /* The freeze writes its own audit entry, with the staff id as actor. */
        enum err e = freeze_set_by_staff(&a, staff_public_id(s.staff_id, by), c.email, frozen, reason, by);
        v = e == ERR_OK ? api_reply_body(req, 200, json_pack("{s:b}", "frozen", frozen))
                        : http_reply_error(req, e, e == ERR_INVALID_PARAM ? "reason" : NULL);
    }
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    store_pool_release(ctx->pool, a.st);
    return v;
}

enum http_verdict api_admin_customer_freeze_post(struct http_request *req, void *app)
{
    return set_frozen(req, app, true);
}

enum http_verdict api_admin_customer_unfreeze_post(struct http_request *req, void *app)
{
    return set_frozen(req, app, false);
}

enum http_verdict api_admin_customer_sign_out_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct staff_session s;
    if (!api_admin_staff(req, ctx, STAFF_SIGN_OUT, "customer_sign_out", &a, &s))
        return HTTP_REPLIED;
    struct customer c;
    enum http_verdict v = HTTP_REPLIED;
    if (api_parse(req, http_request_json(req), NULL, 0, NULL) && path_customer(req, &a, &c)) {
        int n = 0;
        /* The codes the phone holds go with its sessions (wallet/paycode.h). */
        enum err e = auth_begin(&a);
        if (e == ERR_OK) {
            e = a.st->ops->session_revoke_many(a.st, c.id, 0, 0, a.now, &n);
            if (e == ERR_OK)
                e = a.st->ops->paycodes_revoke(a.st, c.id, 0, a.now);
            e = auth_end(&a, e == ERR_OK, e);
        }
        if (e == ERR_OK)
            (void)api_admin_record(&a, &s, c.id, "customer_sign_out", true, json_pack("{s:i}", "sessions", n));
        v = e == ERR_OK ? api_reply_body(req, 200, json_pack("{s:i}", "sessions_revoked", n))
                        : http_reply_error(req, e, NULL);
    }
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    store_pool_release(ctx->pool, a.st);
    return v;
}

enum http_verdict api_admin_customer_reset_mfa_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    struct staff_session s;
    if (!api_admin_staff(req, ctx, STAFF_RESET_MFA, "mfa_reset", &a, &s))
        return HTTP_REPLIED;
    const char *reason = NULL, *check = NULL;
    struct json_field spec[] = {
        {.name = "reason", .type = JF_STRING, .target = &reason, .min_len = 1, .max_len = MFA_RESET_TEXT_MAX},
        {.name = "identity_check", .type = JF_STRING, .target = &check, .min_len = 1, .max_len = MFA_RESET_TEXT_MAX},
    };
    struct customer c;
    enum http_verdict v = HTTP_REPLIED;
    if (api_parse(req, http_request_json(req), spec, 2, NULL) && path_customer(req, &a, &c)) {
        char by[IDS_BUF];
        const char *bad = NULL;
        enum err e = mfa_reset_by_staff(&a, staff_public_id(s.staff_id, by), c.id, reason, check, &bad);
        v = e == ERR_OK ? api_reply_body(req, 200, json_pack("{s:b}", "mfa_reset", 1)) : http_reply_error(req, e, bad);
    }
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    store_pool_release(ctx->pool, a.st);
    return v;
}
