/* auth_mfa.c: the second factor: POST /v1/mfa/totp, /v1/mfa/totp/confirm,
 * /v1/mfa/recovery-codes, /v1/mfa/verify.
 *
 * The otpauth URI, its QR code and recovery codes are secrets shown once:
 * they go into the reply body and are wiped from our buffers after. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/auth_common.h"
#include "api/auth_handlers.h"
#include "api/authn.h"
#include "auth/mfa.h"
#include "http/reply.h"
#include "http/request.h"
#include "store/pool.h"
#include "util/qr_svg.h"

static enum http_verdict reply_codes(struct http_request *req, char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF],
                                     bool with_scope)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < RECOVERY_CODE_COUNT; i++)
        if (json_array_append_new(list, json_string(codes[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    sodium_memzero(codes, RECOVERY_CODE_COUNT * RECOVERY_CODE_BUF);
    json_t *body = list ? json_pack("{s:o}", "recovery_codes", list) : NULL;
    if (body && with_scope && json_object_set_new(body, "scope", json_string("full")) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (body == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    return http_reply_json(req, 200, body);
}

enum http_verdict api_mfa_totp_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    if (!api_parse(req, http_request_json(req), NULL, 0, NULL))
        return HTTP_REPLIED;
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    struct auth_session s;
    char uri[TOTP_URI_MAX] = "";
    enum err e = api_authenticate(req, &a, SESSION_NEED_ANY, &s);
    if (e == ERR_OK)
        e = mfa_totp_begin(&a, &s, uri);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    char *svg = NULL;
    e = qr_svg(uri, &svg);
    json_t *body = e == ERR_OK ? json_pack("{s:s, s:s}", "otpauth_uri", uri, "qr_svg", svg) : NULL;
    sodium_memzero(uri, sizeof uri);
    if (svg) {
        sodium_memzero(svg, strlen(svg));
        free(svg);
    }
    if (body == NULL)
        return http_reply_error(req, e != ERR_OK ? e : ERR_NOMEM, NULL);
    return http_reply_json(req, 200, body);
}

enum http_verdict api_mfa_totp_confirm_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    const char *code = NULL;
    struct json_field spec[] = {{.name = "code", .type = JF_STRING, .target = &code, .min_len = 1, .max_len = 32}};
    if (!api_parse(req, http_request_json(req), spec, 1, NULL))
        return HTTP_REPLIED;
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    struct auth_session s;
    char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF];
    enum err e = api_authenticate(req, &a, SESSION_NEED_ANY, &s);
    if (e == ERR_OK)
        e = mfa_totp_confirm(&a, &s, code, codes);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK)
        return http_reply_error(req, e, e == ERR_INVALID_CODE ? "code" : NULL);
    return reply_codes(req, codes, true);
}

enum http_verdict api_mfa_recovery_codes_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    if (!api_parse(req, http_request_json(req), NULL, 0, NULL))
        return HTTP_REPLIED;
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    struct auth_session s;
    char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF];
    enum err e = api_authenticate(req, &a, SESSION_NEED_SIGNED_IN, &s);
    if (e == ERR_OK)
        e = mfa_recovery_regenerate(&a, &s, codes);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    return reply_codes(req, codes, false);
}

enum http_verdict api_mfa_verify_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    /* Limited per address too: a stolen session must not grind codes fast
     * (the domain also revokes a session after 5 wrong ones). */
    if (!api_rate_limit(req, ctx))
        return HTTP_REPLIED;
    const char *totp = NULL, *recovery = NULL;
    struct json_field spec[] = {
        {.name = "totp_code", .type = JF_STRING, .target = &totp, .optional = true, .min_len = 1, .max_len = 32},
        {.name = "recovery_code", .type = JF_STRING, .target = &recovery, .optional = true, .min_len = 1,
         .max_len = 64},
    };
    if (!api_parse(req, http_request_json(req), spec, 2, NULL) || !api_one_factor(req, totp, recovery))
        return HTTP_REPLIED;
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    struct auth_session s;
    int64_t fresh_until = 0;
    enum err e = api_authenticate(req, &a, SESSION_NEED_ANY, &s);
    if (e == ERR_OK)
        e = mfa_verify(&a, &s, totp, recovery, &fresh_until);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    json_t *body = json_pack("{s:o}", "fresh_until", api_time_json(fresh_until));
    if (body == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    return http_reply_json(req, 200, body);
}
