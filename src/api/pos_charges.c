/* pos_charges.c: the register takes payment (wallet/payment.h,
 * docs/payments.md):
 *
 *   POST /pos/v1/charges                  {code, amount, items?}  + Idempotency-Key
 *   POST /pos/v1/charges/{id}/refunds     {amount}                + Idempotency-Key
 *   POST /pos/v1/charges/{id}/void        {}                      + Idempotency-Key
 *   GET  /pos/v1/charges/{id}
 *   GET  /pos/v1/payments?since=pay_…     the store's payments after since, oldest first
 *
 * Phases of the POSTs: AUTH (the terminal's signature, pos_auth.h: 401
 * before anything else; the nonce is not recorded yet), KEY, PARSE (unknown
 * fields refused), ACT on this HTTP thread with a pool connection — reads
 * and checks only, then the payment is submitted to the ledger writer and
 * the request suspends — and REPLY from the writer's completer thread once
 * the payment is durable: the nonce, the code, the limits, the row and the
 * customer's mail commit with the money, in one group commit (payment.h).
 * A refusal spends the nonce too: one decided here in a group of its own
 * before the answer (refuse_spent; a missing Idempotency-Key as well, since
 * that header is not signed), one decided in the writer's hook the same way
 * (payment_core.c, spend_nonce).  Only a malformed body or path spends
 * nothing: both are signed, so the captured request stays malformed.
 * No thread waits, so a few HTTP threads carry thousands of charges.
 *
 *   201 {"charge":{id, kind, amount, refunded, status, store:{id,name},
 *                  created_at, items}, "balance_after"}
 *   202 {"charge":{id: "pch_…", status: "pending_confirmation", expires_at, …}}
 *       the risk engine challenged it: it waits for the customer's answer
 *       in the app (wallet/pending_charge.h); nothing moved, the code and
 *       the nonce are spent.  GET /pos/v1/charges/pch_… (or the same
 *       request again) tells the outcome: succeeded, declined, expired.
 *   201 {"refund":{id, kind, amount, created_at}, "charge":{…}}
 *
 * A retry with the same Idempotency-Key and body, signed again with a new
 * nonce, gets the first answer with Idempotent-Replayed: true.  The code is
 * a one-time credential: copied out of the body, which is then wiped, and
 * never logged or echoed (an error names the field "code", never its value).
 * The clerk's answers carry nothing about the customer but the balance the
 * receipt prints.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/auth_common.h"
#include "api/idempotency.h"
#include "api/list_params.h"
#include "api/pos_auth.h"
#include "api/pos_handlers.h"
#include "api/wallet_jobs.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "merchant/merchant.h"
#include "ops/killswitch.h"
#include "store/pool.h"
#include "util/ids.h"
#include "util/money.h"
#include "util/wipe.h"
#include "wallet/payment.h"
#include "wallet/pending_charge.h"

#define CODE_FIELD_MAX 32     /* 18 digits, with the spaces people type (dropped before the code is read) */
#define ITEMS_MAX 50
#define CATEGORY_MAX 32

/* ---- replies --------------------------------------------------------------- */

static const char *status_name(const struct payment *p)
{
    if (p->voided)
        return "voided";
    if (p->refunded >= p->amount)
        return "refunded";
    return p->refunded > 0 ? "partially_refunded" : "succeeded";
}

static const char *kind_name(int kind) { return kind == PAYMENT_MPM ? "mpm" : kind == PAYMENT_P2P ? "p2p" : "cpm"; }

/* A charge as the register sees it.  items is stored as the compact JSON
 * this file validated. */
static json_t *charge_json(const struct payment *p, const char *store_name)
{
    json_t *items = p->items[0] ? json_loads(p->items, 0, NULL) : json_array();
    if (items == NULL)
        items = json_array();
    return json_pack("{s:o, s:s, s:I, s:I, s:s, s:{s:o, s:s}, s:o, s:o}", "id", api_id_json(PAYMENT_ID_PREFIX, p->id),
                     "kind", kind_name(p->kind), "amount", (json_int_t)p->amount, "refunded",
                     (json_int_t)p->refunded, "status", status_name(p), "store", "id",
                     api_id_json(MERCHANT_STORE_ID_PREFIX, p->store_id), "name", store_name, "created_at",
                     api_time_json(p->created_ms), "items", items);
}

/* Answer from the completer thread. */
static void complete(struct http_request *req, enum err e, const char *bad, json_t *body, bool replayed)
{
    if (e != ERR_OK) {
        json_decref(body);
        http_complete_error(req, e, bad);
        return;
    }
    if (body == NULL) {
        http_complete_error(req, ERR_NOMEM, NULL);
        return;
    }
    if (replayed)
        http_reply_header(req, "Idempotent-Replayed", "true");
    http_complete_json(req, 201, body);
}

static void charge_done(void *ctx, enum err e, const char *bad, const struct payment_receipt *r)
{
    struct http_request *req = ctx;
    json_t *body = e == ERR_OK ? json_pack("{s:o, s:I}", "charge", charge_json(&r->p, r->store_name),
                                           "balance_after", (json_int_t)r->balance_after)
                               : NULL;
    complete(req, e, bad, body, e == ERR_OK && r->replayed);
}

static void reversal_done(void *ctx, enum err e, const char *bad, const struct payment_receipt *r, const char *kind)
{
    struct http_request *req = ctx;
    json_t *body = NULL;
    if (e == ERR_OK)
        body = json_pack("{s:{s:o, s:s, s:I, s:o}, s:o}", "refund", "id",
                         api_id_json(PAYMENT_REFUND_ID_PREFIX, r->refund_id), "kind", kind, "amount",
                         (json_int_t)r->refund_amount, "created_at", api_time_json(r->refund_created_ms), "charge",
                         charge_json(&r->p, r->store_name));
    complete(req, e, bad, body, e == ERR_OK && r->replayed);
}

static void refund_done(void *ctx, enum err e, const char *bad, const struct payment_receipt *r)
{
    reversal_done(ctx, e, bad, r, "refund");
}

static void void_done(void *ctx, enum err e, const char *bad, const struct payment_receipt *r)
{
    reversal_done(ctx, e, bad, r, "void");
}

/* A refusal decided on this thread spends the request's nonce all the same
 * (api_pos_refuse: in the ledger writer's next group commit, the answer
 * waiting for it), so a captured request refused now cannot be replayed
 * once the reason is gone.  A nonce seen already is the replay it is: 401
 * invalid_signature. */
static enum http_verdict refuse_spent(struct http_request *req, struct api_ctx *ctx, const struct wallet_ctx *w,
                                      const struct merchant_terminal *term, const char *nonce, enum err e,
                                      const char *bad, const struct killswitch *sw, const struct payment_guess *guess)
{
    int64_t retry = 0;
    if (e == ERR_RATE_LIMITED) {
        retry = 1;
        (void)payment_terminal_throttle(w, term, &retry);
    }
    return api_pos_refuse(req, ctx, term, nonce, e, bad, e == ERR_SUSPENDED && sw ? sw->reason : NULL, retry,
                          guess);
}

/* A charge waiting for the customer (wallet/pending_charge.h): 202 while
 * it waits, 200 once decided (a retry after the answer: declined or
 * expired; a succeeded one is answered as its payment, 201). */
static json_t *waiting_json(struct store *st, const struct pending_op *p)
{
    struct merchant_store s;
    if (st->ops->mstore_get(st, p->p.store_id, &s) != ERR_OK)
        s.name[0] = '\0';
    return json_pack("{s:o}", "charge", pending_charge_json(p, s.name));
}

static enum http_verdict reply_waiting(struct http_request *req, struct store *st, const struct pending_op *p)
{
    int status = strcmp(p->status, PENDING_AWAITING) == 0 ? 202 : 200;
    return api_reply_body(req, status, waiting_json(st, p));
}

/* ---- POST /pos/v1/charges -------------------------------------------------- */

static bool category_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CATEGORY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

/* items: absent (or null, or []) is none; else 1..ITEMS_MAX objects
 * {category, amount} whose amounts add up to amount, stored as compact
 * JSON in that form (at most PAY_ITEMS_MAX bytes).  false: reply stored. */
static bool parse_items(struct http_request *req, json_t *arr, int64_t amount, char out[PAY_ITEMS_MAX + 1])
{
    out[0] = '\0';
    if (arr == NULL || json_array_size(arr) == 0)
        return true;
    if (json_array_size(arr) > ITEMS_MAX) {
        http_reply_error(req, ERR_INVALID_PARAM, "items");
        return false;
    }
    json_t *canon = json_array();
    int64_t sum = 0;
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "items[%zu]", i);
        const char *category = NULL;
        int64_t a = 0;
        struct json_field spec[] = {
            {.name = "category", .type = JF_STRING, .target = &category, .min_len = 1, .max_len = CATEGORY_MAX},
            {.name = "amount", .type = JF_AMOUNT, .target = &a},
        };
        if (!json_is_object(it)) {
            json_decref(canon);
            http_reply_error(req, ERR_INVALID_PARAM, "items");
            return false;
        }
        if (!api_parse(req, it, spec, 2, prefix)) {
            json_decref(canon);
            return false;
        }
        if (!category_ok(category)) {
            json_decref(canon);
            snprintf(prefix, sizeof prefix, "items[%zu].category", i);
            http_reply_error(req, ERR_INVALID_PARAM, prefix); /* reply.c copies the param */
            return false;
        }
        if (money_add(sum, a, &sum) != ERR_OK || canon == NULL ||
            json_array_append_new(canon, json_pack("{s:s, s:I}", "category", category, "amount", (json_int_t)a))) {
            json_decref(canon);
            http_reply_error(req, canon ? ERR_INVALID_PARAM : ERR_NOMEM, "items");
            return false;
        }
    }
    char *txt = json_dumps(canon, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(canon);
    if (txt == NULL) {
        http_reply_error(req, ERR_NOMEM, NULL);
        return false;
    }
    bool ok = sum == amount && strlen(txt) <= PAY_ITEMS_MAX;
    if (ok)
        memcpy(out, txt, strlen(txt) + 1);
    free(txt);
    if (!ok)
        http_reply_error(req, ERR_INVALID_PARAM, "items");
    return ok;
}

enum http_verdict api_pos_charges_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    json_t *body = http_request_json(req);
    struct merchant_terminal term;
    char nonce[POS_NONCE_MAX + 1], code[CODE_FIELD_MAX + 1] = "", items[PAY_ITEMS_MAX + 1];
    const char *key = NULL, *c = NULL, *bad = NULL;
    int64_t amount = 0;
    json_t *arr = NULL;
    enum http_verdict v = HTTP_REPLIED;

    /* AUTH, KEY, PARSE.  The dozen reads up to the charge's submission
     * share one snapshot (store.h; a write on the way ends it); a failure
     * to open it only costs speed. */
    struct store *st = store_pool_acquire(ctx->pool);
    (void)st->ops->snapshot_begin(st);
    enum err e = api_pos_authenticate(req, ctx, st, &term, nonce);
    if (e != ERR_OK) {
        wipe_json_string(json_object_get(body, "code"));
        v = http_reply_error(req, e, NULL);
        goto out;
    }
    if ((e = api_idempotency_key(req, &key)) != ERR_OK) {
        wipe_json_string(json_object_get(body, "code"));
        v = api_pos_refuse(req, ctx, &term, nonce, e, IDEMPOTENCY_HEADER, NULL, 0, NULL);
        goto out;
    }
    struct json_field spec[] = {
        {.name = "code", .type = JF_STRING, .target = &c, .min_len = 1, .max_len = CODE_FIELD_MAX},
        {.name = "amount", .type = JF_AMOUNT, .target = &amount},
        {.name = "items", .type = JF_ARRAY, .target = &arr, .optional = true},
    };
    bool ok = api_parse(req, body, spec, sizeof spec / sizeof spec[0], NULL);
    if (ok) { /* the spaces a clerk types between digit groups are dropped (as for cash top-ups) */
        size_t n = 0;
        for (const char *p = c; *p; p++)
            if (*p != ' ')
                code[n++] = *p;
        code[n] = '\0';
    }
    wipe_json_string(json_object_get(body, "code"));
    if (!ok || !parse_items(req, arr, amount, items))
        goto out;

    /* ACT: reads here, writes in the ledger writer's commit */
    struct wallet_ctx w;
    api_wallet_ctx(&w, ctx, st, req);
    struct killswitch sw;
    memset(&sw, 0, sizeof sw);
    struct pending_op waits;
    struct payment_guess guess;
    e = payment_charge(&w, &term, nonce, code, amount, items, key, charge_done, req, &bad, &sw, &waits, &guess);
    if (e == ERR_OK && waits.id != 0)
        v = reply_waiting(req, st, &waits);
    else if (e == ERR_OK)
        v = HTTP_SUSPENDED; /* charge_done answers; req may already be gone */
    else
        v = refuse_spent(req, ctx, &w, &term, nonce, e, bad, &sw, &guess);
out:
    sodium_memzero(code, sizeof code);
    store_pool_release(ctx->pool, st);
    return v;
}

/* ---- refunds and voids ----------------------------------------------------- */

static enum http_verdict reverse(struct http_request *req, struct api_ctx *ctx, bool is_void)
{
    struct merchant_terminal term;
    char nonce[POS_NONCE_MAX + 1];
    const char *key = NULL, *bad = NULL;
    int64_t amount = 0, id = 0;
    enum http_verdict v;
    struct store *st = store_pool_acquire(ctx->pool);
    enum err e = api_pos_authenticate(req, ctx, st, &term, nonce);
    if (e != ERR_OK) {
        v = http_reply_error(req, e, NULL);
        goto out;
    }
    if ((e = api_idempotency_key(req, &key)) != ERR_OK) {
        v = api_pos_refuse(req, ctx, &term, nonce, e, IDEMPOTENCY_HEADER, NULL, 0, NULL);
        goto out;
    }
    struct json_field spec[] = {{.name = "amount", .type = JF_AMOUNT, .target = &amount}};
    if (!api_parse(req, http_request_json(req), spec, is_void ? 0 : 1, NULL)) {
        v = HTTP_REPLIED;
        goto out;
    }
    /* A malformed id names no payment of this merchant: the same 404. */
    if (ids_parse(http_request_param(req, "id"), PAYMENT_ID_PREFIX, &id) != ERR_OK) {
        v = http_reply_error(req, ERR_PAYMENT_NOT_FOUND, NULL);
        goto out;
    }
    struct wallet_ctx w;
    api_wallet_ctx(&w, ctx, st, req);
    e = payment_refund(&w, &term, nonce, id, amount, is_void, key, is_void ? void_done : refund_done, req, &bad);
    v = e == ERR_OK ? HTTP_SUSPENDED : refuse_spent(req, ctx, &w, &term, nonce, e, bad, NULL, NULL);
out:
    store_pool_release(ctx->pool, st);
    return v;
}

enum http_verdict api_pos_charge_refunds_post(struct http_request *req, void *app)
{
    return reverse(req, app, false);
}

enum http_verdict api_pos_charge_void_post(struct http_request *req, void *app) { return reverse(req, app, true); }

/* ---- reading --------------------------------------------------------------- */

/* The charge named by the path, as the terminal may see it: *body, or the
 * error. */
static enum err read_charge(struct http_request *req, struct api_ctx *ctx, struct store *st,
                            const struct merchant_terminal *term, json_t **body, const char **bad)
{
    (void)bad;
    struct wallet_ctx w;
    int64_t id = 0;
    api_wallet_ctx(&w, ctx, st, req);
    if (ids_parse(http_request_param(req, "id"), PENDING_CHARGE_ID_PREFIX, &id) == ERR_OK) {
        /* a charge that waits (or waited) for its customer */
        struct pending_op waits;
        enum err e = pending_charge_get_for_terminal(&w, term, id, &waits);
        if (e == ERR_OK)
            *body = waiting_json(st, &waits);
        return e;
    }
    struct payment p;
    struct merchant_store s;
    enum err e = ids_parse(http_request_param(req, "id"), PAYMENT_ID_PREFIX, &id) == ERR_OK ? ERR_OK
                                                                                            : ERR_PAYMENT_NOT_FOUND;
    if (e == ERR_OK)
        e = payment_get_for_terminal(&w, term, id, &p);
    if (e == ERR_OK)
        e = st->ops->mstore_get(st, p.store_id, &s);
    if (e == ERR_OK)
        *body = json_pack("{s:o}", "charge", charge_json(&p, s.name));
    return e;
}

/* The store's payments after ?since=, as *body; else the error (*bad the
 * parameter at fault). */
static enum err read_payments(struct http_request *req, struct api_ctx *ctx, struct store *st,
                              const struct merchant_terminal *term, json_t **body, const char **bad)
{
    struct merchant_store s;
    int64_t since = 0;
    size_t n = 0;
    const char *q = http_request_query(req, "since");
    if (q != NULL && ids_parse(q, PAYMENT_ID_PREFIX, &since) != ERR_OK) {
        *bad = "since";
        return ERR_INVALID_PARAM;
    }
    struct payment *ps = calloc(PAYMENT_FEED_MAX, sizeof *ps);
    if (ps == NULL)
        return ERR_NOMEM;
    struct wallet_ctx w;
    api_wallet_ctx(&w, ctx, st, req);
    enum err e = payment_feed(&w, term, since, ps, PAYMENT_FEED_MAX, &n);
    if (e == ERR_OK)
        e = st->ops->mstore_get(st, term->store_id, &s);
    json_t *arr = e == ERR_OK ? json_array() : NULL;
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, charge_json(&ps[i], s.name)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    /* next_since: where to ask from next time (unchanged when nothing new). */
    int64_t next = n ? ps[n - 1].id : since;
    free(ps);
    if (arr)
        *body = json_pack("{s:o, s:o}", "payments", arr, "next_since",
                          next ? api_id_json(PAYMENT_ID_PREFIX, next) : json_null());
    return e;
}

/* A terminal's read: verified here, read on a pool connection, answered
 * once its nonce is spent (pos_auth.h). */
typedef enum err (*pos_read_fn)(struct http_request *req, struct api_ctx *ctx, struct store *st,
                                const struct merchant_terminal *term, json_t **body, const char **bad);

static enum http_verdict pos_read(struct http_request *req, struct api_ctx *ctx, pos_read_fn read)
{
    struct merchant_terminal term;
    char nonce[POS_NONCE_MAX + 1];
    json_t *body = NULL;
    const char *bad = NULL;
    struct store *st = store_pool_acquire(ctx->pool);
    enum err e = api_pos_authenticate(req, ctx, st, &term, nonce);
    if (e != ERR_OK) {
        store_pool_release(ctx->pool, st);
        return http_reply_error(req, e, NULL);
    }
    e = read(req, ctx, st, &term, &body, &bad);
    store_pool_release(ctx->pool, st);
    return api_pos_answer(req, ctx, &term, nonce, e, bad, 200, body);
}

enum http_verdict api_pos_charge_get(struct http_request *req, void *app)
{
    return pos_read(req, app, read_charge);
}

enum http_verdict api_pos_payments_get(struct http_request *req, void *app)
{
    return pos_read(req, app, read_payments);
}
