/* history.c: what a customer sees of their money (wallet/history.h):
 *
 *   GET /v1/transactions?before=txn_…&limit=N   newest first, N 1..100 (20)
 *   GET /v1/transactions/{id}
 *   GET /v1/balance
 *
 * Reads only, so all three run here on the HTTP thread on a pool
 * connection: AUTH (a full session), PARSE (the query), ACT (one snapshot),
 * REPLY.  A page is {transactions: [...], next_before}: ask again with
 * before = next_before until it is null; every entry comes exactly once,
 * however many payments commit in between.  An id that is malformed or
 * names another customer's transfer is the same 404 not_found as an
 * unknown one; a malformed cursor or limit is 400 invalid_param naming it.
 */
#include <stdlib.h>
#include <string.h>

#include "api/auth_common.h"
#include "api/list_params.h"
#include "api/authn.h"
#include "api/pay_handlers.h"
#include "api/wallet_jobs.h"
#include "http/reply.h"
#include "http/request.h"
#include "store/pool.h"
#include "util/ids.h"
#include "wallet/history.h"

#define HISTORY_DEFAULT_LIMIT 20

static json_t *entry_json(const struct history_entry *h)
{
    json_t *o = json_pack("{s:o, s:s, s:I, s:I, s:o}", "id", api_id_json(HISTORY_ID_PREFIX, h->id), "kind", h->kind,
                          "amount", (json_int_t)h->amount, "balance_after", (json_int_t)h->balance_after,
                          "created_at", api_time_json(h->created_ms));
    if (o == NULL)
        return NULL;
    json_t *pay = h->payment_id ? api_id_json(PAYMENT_ID_PREFIX, h->payment_id) : json_null();
    json_t *cp = h->counterparty[0] ? json_string(h->counterparty) : json_null();
    if (json_object_set_new(o, "payment_id", pay) != 0 || json_object_set_new(o, "counterparty", cp) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

enum http_verdict api_transactions_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_session s;
    int64_t before = 0;
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &s) || !api_before_cursor(req, HISTORY_ID_PREFIX, &before))
        return HTTP_REPLIED;
    size_t limit = 0;
    if (!api_limit(req, HISTORY_DEFAULT_LIMIT, HISTORY_PAGE_MAX, &limit))
        return HTTP_REPLIED;
    struct history_entry *list = calloc(limit, sizeof *list);
    if (list == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct wallet_ctx w;
    api_wallet_acquire(&w, ctx, req);
    size_t n = 0;
    int64_t next = 0;
    enum err e = history_page(&w, &s, before, limit, list, &n, &next);
    api_wallet_release(&w, ctx);
    if (e != ERR_OK) {
        free(list);
        /* The limit was checked above: the domain's only invalid parameter
         * left is a cursor that is not one of this wallet's entries. */
        return http_reply_error(req, e, e == ERR_INVALID_PARAM ? "before" : NULL);
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, entry_json(&list[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    free(list);
    /* set_new takes its value even when it fails: nothing to free but body. */
    json_t *body = arr ? json_object() : NULL;
    if (body == NULL)
        json_decref(arr);
    else if (json_object_set_new(body, "transactions", arr) != 0 ||
             json_object_set_new(body, "next_before", next ? api_id_json(HISTORY_ID_PREFIX, next) : json_null()) != 0) {
        json_decref(body);
        body = NULL;
    }
    return api_reply_body(req, 200, body);
}

enum http_verdict api_transaction_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_session s;
    int64_t id = 0;
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &s) ||
        !api_path_id(req, HISTORY_ID_PREFIX, ERR_NOT_FOUND, &id))
        return HTTP_REPLIED;
    struct wallet_ctx w;
    api_wallet_acquire(&w, ctx, req);
    struct history_entry h;
    enum err e = history_get(&w, &s, id, &h);
    api_wallet_release(&w, ctx);
    return e != ERR_OK ? http_reply_error(req, e, NULL) : api_reply_body(req, 200, entry_json(&h));
}

enum http_verdict api_balance_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_session s;
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &s))
        return HTTP_REPLIED;
    struct wallet_ctx w;
    api_wallet_acquire(&w, ctx, req);
    int64_t balance = 0;
    enum err e = history_balance(&w, &s, &balance);
    api_wallet_release(&w, ctx);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    json_t *body = json_pack("{s:I, s:s}", "balance", (json_int_t)balance, "currency", "JPY");
    return api_reply_body(req, 200, body);
}
