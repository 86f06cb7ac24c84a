/* pos_auth.c: see pos_auth.h. */
#include "api/pos_auth.h"

#include "http/request.h"
#include "pos/sign.h"
#include "util/log.h"
#include "util/timeutil.h"

/* Verify (recording the nonce unless nonce is given), logging a refusal. */
static enum err authenticate(struct http_request *req, struct api_ctx *ctx, struct store *st,
                             struct merchant_terminal *term, char *nonce)
{
    const char *header = http_request_header(req, "Authorization");
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    const char *why = NULL;
    enum err e = nonce ? pos_verify_deferred(st, ctx->master_key, http_request_method(req), http_request_path(req),
                                             body, len, header, time_now_ms(), term, nonce, &why)
                       : pos_verify_why(st, ctx->master_key, http_request_method(req), http_request_path(req), body,
                                        len, header, time_now_ms(), term, &why);
    if (e == ERR_OK)
        return ERR_OK;
    /* The key id is public (it names the terminal, proves nothing); the
     * field is not called "key_id" because the logger redacts anything
     * named like a key. */
    struct pos_auth_header h;
    json_t *f = json_pack("{s:s, s:s, s:s}", "request_id", http_request_id(req), "client",
                          http_request_client_addr(req), "reason", why ? why : "unknown");
    if (f && pos_auth_parse(header, &h) == ERR_OK)
        json_object_set_new(f, "terminal_kid", json_string(h.key_id));
    log_event(e == ERR_INVALID_SIGNATURE ? LOG_WARN : LOG_ERROR, "pos_auth_refused", f);
    return e;
}

enum err api_pos_authenticate(struct http_request *req, struct api_ctx *ctx, struct store *st,
                              struct merchant_terminal *term)
{
    return authenticate(req, ctx, st, term, NULL);
}

enum err api_pos_authenticate_deferred(struct http_request *req, struct api_ctx *ctx, struct store *st,
                                       struct merchant_terminal *term, char nonce[POS_NONCE_MAX + 1])
{
    return authenticate(req, ctx, st, term, nonce);
}
