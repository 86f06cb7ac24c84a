/* pos_topups.c: POST /pos/v1/cash-topups: the clerk scans the customer's
 * top-up code, takes the cash, and the wallet is credited from the store's
 * cash account (wallet/topup.h: topup_cash).
 *
 * Phases: AUTH (here, on the HTTP thread: the terminal's signature,
 * pos_auth.h; 401 before anything else is looked at), KEY (Idempotency-Key,
 * scope: the terminal), PARSE ({code, amount}, unknown fields refused; a
 * malformed body spends no nonce: it is signed, so the captured request
 * stays malformed), ACT (a wallet job: the nonce spent, then the ledger's
 * durable commit), REPLY:
 *
 *   201 {"topup":{"id","status","amount","source":"cash","created_at"},"balance"}
 *
 * (202 with the same body while the top-up is not yet credited.)
 *
 * A retry with the same Idempotency-Key and body, signed again with a new
 * nonce, gets the same receipt with Idempotent-Replayed: true and credits
 * nothing more.  A kill switch answers 503 service_suspended with the
 * operator's reason; a terminal of a store that is not active, 404
 * store_not_found (the code stays usable).  The code may be typed with
 * spaces between the digits (topup_cash drops them).  The code is a one-time credential: it is copied into
 * the job, wiped from the parsed body and the job after use, and never
 * logged or echoed (an error names the field "code", never its value).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/auth_common.h"
#include "api/idempotency.h"
#include "api/pos_auth.h"
#include "api/pos_handlers.h"
#include "api/wallet_jobs.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "ops/killswitch.h"
#include "store/pool.h"
#include "util/wipe.h"
#include "wallet/payment.h"
#include "wallet/topup.h"

#define CODE_FIELD_MAX 32 /* 18 digits, with the spaces a clerk types (the domain drops them) */

struct cash_job {
    struct api_wallet_job base;
    struct merchant_terminal term;
    char nonce[POS_NONCE_MAX + 1];
    char code[CODE_FIELD_MAX + 1];
    char key[IDEMPOTENCY_KEY_MAX + 1];
    int64_t amount;
};

/* The receipt: what the register prints.  No customer data beyond the
 * amount: the clerk has no business with the customer's identity. */
static json_t *receipt_json(const struct topup_result *r)
{
    return json_pack("{s:{s:o, s:s, s:I, s:s, s:o}, s:I}", "topup", "id", api_id_json(TOPUP_ID_PREFIX, r->t.id),
                     "status", topup_status_name(r->t.status), "amount", (json_int_t)r->t.amount, "source", "cash",
                     "created_at", api_time_json(r->t.created_ms), "balance", (json_int_t)r->balance);
}

static void run_cash(struct api_wallet_job *job, const struct wallet_ctx *w)
{
    struct cash_job *j = (struct cash_job *)job;
    struct topup_result res;
    memset(&res, 0, sizeof res);
    const char *bad = NULL;
    struct killswitch sw;
    memset(&sw, 0, sizeof sw);
    /* The nonce is spent here, on the worker, not on the HTTP thread: it
     * is a commit of its own. */
    enum err e = api_pos_record_nonce(job->req, w->a.st, &j->term, j->nonce, w->a.now);
    if (e == ERR_OK)
        e = topup_cash(w, &j->term, j->code, j->amount, j->key, &res, &bad, &sw);
    sodium_memzero(j->code, sizeof j->code);
    if (e == ERR_SUSPENDED) {
        http_complete_error_reason(job->req, e, NULL, sw.reason);
        return;
    }
    if (e != ERR_OK) {
        if (bad == NULL && e == ERR_INVALID_CODE)
            bad = "code";
        if (res.replayed)
            http_reply_header(job->req, "Idempotent-Replayed", "true");
        if (e == ERR_IN_PROGRESS)
            http_reply_retry_after(job->req, 1);
        if (e == ERR_RATE_LIMITED) {
            int64_t retry = 1;
            (void)payment_terminal_throttle(w, &j->term, &retry);
            http_reply_retry_after(job->req, retry);
        }
        http_complete_error(job->req, e, bad);
        return;
    }
    json_t *body = receipt_json(&res);
    if (body == NULL) {
        http_complete_error(job->req, ERR_NOMEM, NULL);
        return;
    }
    if (res.replayed)
        http_reply_header(job->req, "Idempotent-Replayed", "true");
    /* 202: accepted but not yet in the wallet (a retry while the first
     * request is still crediting, or a credit the reconciler finishes). */
    http_complete_json(job->req, res.t.status == TOPUP_SUCCEEDED ? 201 : 202, body);
}

/* A verified request refused before its job runs (no Idempotency-Key, a
 * full or stopping queue) spends its nonce all the same (api_pos_refuse):
 * the clerk sends the top-up again under a new nonce, and the refused copy
 * must not be replayable beside it with a key of the attacker's choosing. */
static enum http_verdict refuse(struct http_request *req, struct api_ctx *ctx, struct cash_job *j, enum err e,
                                const char *bad)
{
    enum http_verdict v = api_pos_refuse(req, ctx, &j->term, j->nonce, e, bad, NULL, e == ERR_BUSY ? 1 : 0, NULL);
    wipe_free(j);
    return v;
}

enum http_verdict api_pos_cash_topups_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    json_t *body = http_request_json(req);
    struct cash_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);

    /* AUTH */
    struct store *st = store_pool_acquire(ctx->pool);
    enum err e = api_pos_authenticate(req, ctx, st, &j->term, j->nonce);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK) {
        wipe_free(j);
        wipe_json_string(json_object_get(body, "code"));
        return http_reply_error(req, e, NULL);
    }

    /* KEY */
    const char *key = NULL;
    e = api_idempotency_key(req, &key);
    if (e != ERR_OK) {
        wipe_json_string(json_object_get(body, "code"));
        return refuse(req, ctx, j, e, IDEMPOTENCY_HEADER);
    }
    memcpy(j->key, key, strlen(key) + 1); /* 1..IDEMPOTENCY_KEY_MAX, checked */

    /* PARSE */
    const char *code = NULL;
    struct json_field spec[] = {
        {.name = "code", .type = JF_STRING, .target = &code, .min_len = 1, .max_len = CODE_FIELD_MAX},
        {.name = "amount", .type = JF_AMOUNT, .target = &j->amount},
    };
    bool ok = api_parse(req, body, spec, sizeof spec / sizeof spec[0], NULL);
    if (ok)
        memcpy(j->code, code, strlen(code) + 1);
    wipe_json_string(json_object_get(body, "code"));
    if (!ok) {
        wipe_free(j);
        return HTTP_REPLIED;
    }
    e = api_wallet_job_queue(req, ctx, &j->base, run_cash);
    return e == ERR_OK ? HTTP_SUSPENDED : refuse(req, ctx, j, e, NULL);
}
