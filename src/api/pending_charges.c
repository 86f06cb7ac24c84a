/* pending_charges.c: the customer answers a register's charge that waits
 * for them (wallet/pending_charge.h, docs/payments.md "Charges the customer
 * confirms"):
 *
 *   GET  /v1/pending-charges                       -> 200 {pending_charges: [...]} own, newest first
 *   POST /v1/pending-charges/{id}/approve {totp_code}
 *        -> 200 {pending_charge, payment: {id, amount, store, created_at}, balance_after}
 *   POST /v1/pending-charges/{id}/decline {}      -> 200 {pending_charge}
 *
 * Every one needs a full session.  Another customer's charge, or an id
 * that is not one, is 404 payment_not_found; one decided or expired
 * already is 409 conflict (param "status"); a wrong second factor 400
 * invalid_code (param "totp_code"), counted as at POST /v1/mfa/verify.
 * Approving waits for the ledger's durable commit: on a wallet worker.
 * Reading and declining are quick: on the HTTP thread.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/auth_common.h"
#include "api/authn.h"
#include "api/list_params.h"
#include "api/pay_handlers.h"
#include "api/wallet_jobs.h"
#include "auth/totp.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "merchant/merchant.h"
#include "ops/killswitch.h"
#include "store/pool.h"
#include "util/ids.h"
#include "wallet/pending_charge.h"

#define TOTP_FIELD_MAX 16

/* {id} as a pending charge's id: 0 if it is not one (then 404, as for an
 * unknown one). */
static int64_t path_id(struct http_request *req)
{
    int64_t id = 0;
    return ids_parse(http_request_param(req, "id"), PENDING_CHARGE_ID_PREFIX, &id) == ERR_OK ? id : 0;
}

static json_t *charge_of(struct store *st, const struct pending_op *p)
{
    struct merchant_store s;
    if (st->ops->mstore_get(st, p->p.store_id, &s) != ERR_OK)
        s.name[0] = '\0';
    return pending_charge_json(p, s.name);
}

enum http_verdict api_pending_charges_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_session s;
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &s))
        return HTTP_REPLIED;
    struct pending_op *ps = calloc(PENDING_CHARGE_LIST_MAX, sizeof *ps);
    if (ps == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct wallet_ctx w;
    api_wallet_acquire(&w, ctx, req);
    size_t n = 0;
    enum err e = pending_charge_list(&w, &s, ps, PENDING_CHARGE_LIST_MAX, &n);
    json_t *arr = e == ERR_OK ? json_array() : NULL;
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, charge_of(w.a.st, &ps[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    api_wallet_release(&w, ctx);
    free(ps);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    return api_reply_body(req, 200, arr ? json_pack("{s:o}", "pending_charges", arr) : NULL);
}

enum http_verdict api_pending_charge_decline_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_session s;
    struct json_field none[1];
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &s) || !api_parse(req, http_request_json(req), none, 0, NULL))
        return HTTP_REPLIED;
    struct wallet_ctx w;
    api_wallet_acquire(&w, ctx, req);
    struct pending_op p;
    const char *bad = NULL;
    int64_t id = path_id(req);
    enum err e = id ? pending_charge_decline(&w, &s, id, &p, &bad) : ERR_PAYMENT_NOT_FOUND;
    json_t *body = e == ERR_OK ? json_pack("{s:o}", "pending_charge", charge_of(w.a.st, &p)) : NULL;
    api_wallet_release(&w, ctx);
    return e == ERR_OK ? api_reply_body(req, 200, body) : http_reply_error(req, e, bad);
}

/* ---- approve: on a wallet worker ------------------------------------------ */

struct approve_job {
    struct api_wallet_job base;
    int64_t id;
    char totp[TOTP_FIELD_MAX + 1];
};

static void run_approve(struct api_wallet_job *job, const struct wallet_ctx *w)
{
    struct approve_job *j = (struct approve_job *)job;
    struct pending_op p;
    struct payment_receipt r;
    struct killswitch sw;
    const char *bad = NULL;
    enum err e = j->id ? pending_charge_approve(w, &job->session, j->id, j->totp, &p, &r, &bad, &sw)
                       : ERR_PAYMENT_NOT_FOUND;
    sodium_memzero(j->totp, sizeof j->totp);
    if (e == ERR_SUSPENDED) {
        http_complete_error_reason(job->req, e, NULL, sw.reason[0] ? sw.reason : NULL);
        return;
    }
    if (e != ERR_OK) {
        http_complete_error(job->req, e, bad);
        return;
    }
    json_t *store = json_pack("{s:o, s:s}", "id", api_id_json(MERCHANT_STORE_ID_PREFIX, r.p.store_id), "name",
                              r.store_name);
    json_t *payment = store ? json_pack("{s:o, s:I, s:o, s:o}", "id", api_id_json(PAYMENT_ID_PREFIX, r.p.id),
                                        "amount", (json_int_t)r.p.amount, "store", store, "created_at",
                                        api_time_json(r.p.created_ms))
                            : NULL;
    json_t *body = payment ? json_pack("{s:o, s:o, s:I}", "pending_charge", charge_of(w->a.st, &p), "payment",
                                       payment, "balance_after", (json_int_t)r.balance_after)
                           : NULL;
    if (body == NULL) {
        http_complete_error(job->req, ERR_NOMEM, NULL);
        return;
    }
    http_complete_json(job->req, 200, body);
}

enum http_verdict api_pending_charge_approve_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct approve_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    const char *code = NULL;
    struct json_field spec[] = {
        {.name = "totp_code", .type = JF_STRING, .target = &code, .min_len = 1, .max_len = TOTP_FIELD_MAX},
    };
    json_t *body = http_request_json(req);
    bool ok = api_wallet_session(req, ctx, SESSION_NEED_FULL, &j->base.session) &&
              api_parse(req, body, spec, sizeof spec / sizeof spec[0], NULL);
    if (ok)
        memcpy(j->totp, code, strlen(code) + 1);
    json_t *v = json_object_get(body, "totp_code"); /* a one-time credential: not left in freed memory */
    if (json_is_string(v))
        sodium_memzero((char *)json_string_value(v), json_string_length(v));
    if (!ok) {
        sodium_memzero(j, sizeof *j);
        free(j);
        return HTTP_REPLIED;
    }
    j->id = path_id(req);
    return api_wallet_job_submit(req, ctx, &j->base, run_approve);
}
