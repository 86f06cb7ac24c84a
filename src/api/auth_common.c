#include "api/auth_common.h"

#include <stdio.h>

#include <stdlib.h>

#include "api/jobs.h"
#include "api/ratelimit.h"
#include "http/reply.h"
#include "http/request.h"
#include "util/ids.h"
#include "util/timeutil.h"

bool api_rate_limit(struct http_request *req, struct api_ctx *ctx)
{
    int64_t retry_after = 0;
    if (ratelimit_take(ctx->ratelimit, http_request_client_addr(req), time_window_ms(), &retry_after))
        return true;
    http_reply_retry_after(req, retry_after);
    http_reply_error(req, ERR_RATE_LIMITED, NULL);
    return false;
}

bool api_parse(struct http_request *req, json_t *obj, const struct json_field *spec, size_t n, const char *prefix)
{
    const char *bad = NULL;
    enum err e = obj ? json_parse_fields(obj, spec, n, true, &bad) : ERR_MALFORMED_JSON;
    if (e == ERR_OK)
        return true;
    /* bad points into spec or obj, both alive while the reply is built. */
    char param[128];
    if (prefix && bad)
        snprintf(param, sizeof param, "%s.%s", prefix, bad);
    else
        snprintf(param, sizeof param, "%s", bad ? bad : "");
    http_reply_error(req, e, param[0] ? param : NULL);
    return false;
}

void api_auth_ctx(struct auth_ctx *a, const struct api_ctx *ctx, struct store *st, const struct http_request *req)
{
    *a = (struct auth_ctx){
        .st = st,
        .master_key = ctx->master_key,
        .cfg = ctx->cfg,
        .mail = ctx->mail,
        .now = time_now_ms(),
        .client_addr = http_request_client_addr(req),
        .request_id = http_request_id(req),
        .wake = ctx->wake,
        .writer = ctx->writer,
    };
}

json_t *api_time_json(int64_t ms)
{
    char buf[TIME_ISO_BUF];
    return json_string(time_iso8601(buf, ms));
}

json_t *api_id_json(const char *prefix, int64_t id)
{
    char buf[IDS_BUF];
    return json_string(ids_format(buf, prefix, id));
}

json_t *api_grant_json(const struct auth_grant *g, bool with_new_device)
{
    json_t *j = json_pack("{s:s, s:o, s:s, s:o, s:o}", "session_token", g->session_token, "session_id",
                          api_id_json(SESSION_ID_PREFIX, g->session_id), "scope",
                          g->scope == SESSION_SCOPE_FULL ? "full" : "enrol", "device_id",
                          api_id_json(DEVICE_ID_PREFIX, g->device_id), "expires_at", api_time_json(g->expires_at));
    if (j && with_new_device && json_object_set_new(j, "new_device", json_boolean(g->new_device)) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *api_profile_json(const struct customer_profile *p)
{
    return json_pack("{s:o, s:s, s:b, s:b, s:i, s:o}", "id", api_id_json(CUSTOMER_ID_PREFIX, p->id), "email",
                     p->email, "email_verified", p->email_verified, "totp_enrolled", p->totp_enrolled,
                     "recovery_codes_left", p->recovery_codes_left, "created_at", api_time_json(p->created_ms));
}

json_t *api_weak_password_json(const char *reason)
{
    json_t *j = http_error_json(ERR_WEAK_PASSWORD, "password");
    json_t *inner = json_object_get(j, "error");
    if (inner && reason && reason[0] && json_object_set_new(inner, "reason", json_string(reason)) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

bool api_one_factor(struct http_request *req, const char *totp_code, const char *recovery_code)
{
    if (totp_code == NULL && recovery_code == NULL) {
        http_reply_error(req, ERR_MISSING_PARAM, "totp_code");
        return false;
    }
    if (totp_code != NULL && recovery_code != NULL) {
        http_reply_error(req, ERR_INVALID_PARAM, "recovery_code");
        return false;
    }
    return true;
}

/* The address is copied: the work runs after the reply, when the body is gone. */
struct email_job {
    struct api_bg_job base;
    api_email_work_fn fn;
    char email[EMAIL_MAX + 1];
};

static void run_email_job(struct api_bg_job *job, const struct auth_ctx *a)
{
    struct email_job *j = (struct email_job *)job;
    j->fn(a, j->email); /* the outcome is deliberately not reported */
}

enum http_verdict api_email_then_work(struct http_request *req, struct api_ctx *ctx, api_email_work_fn fn,
                                      const char *status)
{
    if (!api_rate_limit(req, ctx))
        return HTTP_REPLIED;
    const char *email = NULL;
    struct json_field spec[] = {
        {.name = "email", .type = JF_STRING, .target = &email, .min_len = 1, .max_len = EMAIL_MAX},
    };
    if (!api_parse(req, http_request_json(req), spec, 1, NULL))
        return HTTP_REPLIED;
    struct email_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    j->fn = fn;
    snprintf(j->email, sizeof j->email, "%s", email);
    enum err e = api_background_submit(ctx, req, &j->base, run_email_job);
    if (e != ERR_OK) {
        if (e == ERR_BUSY)
            http_reply_retry_after(req, 1);
        return http_reply_error(req, e, NULL);
    }
    return http_reply_json(req, 202, json_pack("{s:s}", "status", status));
}
