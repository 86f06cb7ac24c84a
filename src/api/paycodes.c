/* paycodes.c: the codes a customer shows at the register (wallet/paycode.h,
 * docs/paycodes.md):
 *
 *   POST /v1/paycodes              {}  FULL session      -> 201 {code, expires_at, qr_svg, barcode_svg}
 *   POST /v1/paycodes/offline-key  {}  FULL + FRESH      -> 201 {key, offline_id, step_seconds, algorithm}
 *
 * Phases: AUTH (on the HTTP thread: headers are read there), PARSE (the
 * body must be an empty object: unknown fields refused), ACT: a code is
 * submitted to the ledger writer's group commit from the HTTP thread, and
 * the request is answered from the writer's completer once the code is
 * durable (images drawn there); a key is a transaction of its own, on a
 * wallet worker (it must not block an HTTP thread).  REPLY.
 *
 * Both replies carry a credential (the code and its images, the key) that
 * exists nowhere else: our copies are wiped, nothing is logged.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/auth_common.h"
#include "api/pay_handlers.h"
#include "api/wallet_jobs.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "wallet/paycode.h"

#define OFFLINE_ALGORITHM "kessai-offline-v1"

/* AUTH and PARSE: a session meeting need, an empty body.  false with the
 * reply stored. */
static bool accept(struct http_request *req, struct api_ctx *ctx, enum session_need need, struct auth_session *s)
{
    return api_wallet_session(req, ctx, need, s) && api_parse(req, http_request_json(req), NULL, 0, NULL);
}

static void free_secret(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

/* ---- POST /v1/paycodes ------------------------------------------------------ */

/* The reply's text.  The images are most of it, and jansson writes a
 * string one character at a time (a fifth of the completer's time per
 * code): they are drawn with nothing JSON escapes (util/svg.h), so they go
 * in as they are, after what jansson wrote for the rest.  NULL: no memory. */
static char *issued_text(const char *code, int64_t expires_ms, const char *qr, const char *bar)
{
    json_t *head = json_pack("{s:s, s:o}", "code", code, "expires_at", api_time_json(expires_ms));
    char *h = head ? json_dumps(head, JSON_COMPACT) : NULL; /* {…} */
    json_decref(head);
    if (h == NULL)
        return NULL;
    size_t hn = strlen(h) - 1, n = hn + strlen(qr) + strlen(bar) + 64;
    char *text = malloc(n);
    if (text)
        snprintf(text, n, "%.*s,\"qr_svg\":\"%s\",\"barcode_svg\":\"%s\"}", (int)hn, h, qr, bar);
    free_secret(h);
    return text;
}

/* On the writer's completer thread, once the code is durable. */
static void paycode_issued(void *ctx, enum err e, const char *code, int64_t expires_ms)
{
    struct http_request *req = ctx;
    char *qr = NULL, *bar = NULL;
    if (e == ERR_OK)
        e = paycode_qr_svg(code, &qr);
    if (e == ERR_OK)
        e = paycode_barcode_svg(code, &bar);
    if (e != ERR_OK)
        http_complete_error(req, e, NULL);
    else
        http_complete_json_text(req, 201, issued_text(code, expires_ms, qr, bar));
    free_secret(qr);
    free_secret(bar);
}

enum http_verdict api_paycodes_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_session s;
    struct wallet_ctx w;
    if (!api_wallet_session_acquire(req, ctx, SESSION_NEED_FULL, &s, &w))
        return HTTP_REPLIED;
    if (!api_parse(req, http_request_json(req), NULL, 0, NULL)) {
        api_wallet_release(&w, ctx);
        return HTTP_REPLIED;
    }
    enum err e = paycode_issue(&w, &s, paycode_issued, req);
    api_wallet_release(&w, ctx);
    /* ERR_OK: paycode_issued answers (req may be gone already). */
    return e == ERR_OK ? HTTP_SUSPENDED : http_reply_error(req, e, NULL);
}

/* ---- POST /v1/paycodes/offline-key ----------------------------------------- */

static void run_offline_key(struct api_wallet_job *job, const struct wallet_ctx *w)
{
    char key[OFFLINE_KEY_B64_LEN + 1];
    int64_t offline_id = 0;
    enum err e = paycode_offline_key(w, &job->session, key, &offline_id);
    if (e != ERR_OK) {
        http_complete_error(job->req, e, NULL);
        return;
    }
    /* Seven digits with their leading zeros: the phone puts exactly these
     * into its codes. */
    char oid[16];
    snprintf(oid, sizeof oid, "%07" PRId64, offline_id);
    json_t *body = json_pack("{s:s, s:s, s:i, s:s, s:o}", "key", key, "offline_id", oid, "step_seconds",
                             OFFLINE_STEP_S, "algorithm", OFFLINE_ALGORITHM, "expires_at",
                             api_time_json(w->a.now + PAYCODE_OFFLINE_KEY_LIFETIME_MS));
    sodium_memzero(key, sizeof key);
    if (body == NULL)
        http_complete_error(job->req, ERR_NOMEM, NULL);
    else
        http_complete_json(job->req, 201, body);
}

enum http_verdict api_paycode_offline_key_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct api_wallet_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    if (!accept(req, ctx, SESSION_NEED_FRESH, &j->session)) {
        free(j);
        return HTTP_REPLIED;
    }
    return api_wallet_job_submit(req, ctx, j, run_offline_key);
}
