/* pos_auth.c: see pos_auth.h. */
#include "api/pos_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "ledger/writer.h"
#include "pos/sign.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "wallet/payment.h"
#include "wallet/wallet_types.h"

/* kid may be NULL (the header did not parse). */
static void log_refused(const struct http_request *req, enum err e, const char *why, const char *kid)
{
    pos_log_refused(e, why, kid, http_request_id(req), http_request_client_addr(req));
}

enum err api_pos_authenticate(struct http_request *req, struct api_ctx *ctx, struct store *st,
                              struct merchant_terminal *term, char nonce[POS_NONCE_MAX + 1])
{
    const char *header = http_request_header(req, "Authorization");
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    const char *why = NULL;
    enum err e = pos_verify_deferred(st, ctx->master_key, http_request_method(req), http_request_path(req), body,
                                     len, header, time_now_ms(), term, nonce, &why);
    if (e != ERR_OK) {
        struct pos_auth_header h;
        log_refused(req, e, why, pos_auth_parse(header, &h) == ERR_OK ? h.key_id : NULL);
    }
    return e;
}

enum err api_pos_record_nonce(const struct http_request *req, struct store *st, const struct merchant_terminal *term,
                              const char *nonce, int64_t now_ms)
{
    enum err e = pos_nonce_record(st, term->key_id, nonce, now_ms);
    if (e != ERR_OK)
        log_refused(req, e, e == ERR_INVALID_SIGNATURE ? "replayed_nonce" : "store_error", term->key_id);
    return e;
}

/* ---- a nonce spent through the ledger writer, the answer waiting ----------- */

/* One answer waiting for its nonce's commit: lives until answered(). */
struct held {
    struct http_request *req;
    char key_id[TERMINAL_KEY_ID_MAX + 1];
    char nonce[POS_NONCE_MAX + 1];
    int64_t now;
    enum err e;
    const char *bad;
    char reason[KILLSWITCH_REASON_MAX + 1];
    int64_t retry_after_s;
    int status;
    json_t *body;
    struct payment_guess guess;   /* a bad code to count after the nonce */
    struct guess_pending *counted; /* where it is in flight until then */
};

static enum err record(void *ctx, struct store *st, const struct ledger_transfer *x,
                       const struct ledger_balances *after, size_t n, bool replayed)
{
    (void)x;
    (void)after;
    (void)n;
    (void)replayed;
    struct held *h = ctx;
    enum err e = pos_nonce_record(st, h->key_id, h->nonce, h->now);
    if (e != ERR_OK || !h->guess.set)
        return e;
    /* In a savepoint of its own: the answer does not depend on it. */
    enum err g = st->ops->savepoint(st);
    if (g == ERR_OK) {
        g = payment_guess_record(st, &h->guess, h->now);
        if (g == ERR_OK)
            g = st->ops->release_savepoint(st);
        else
            (void)st->ops->rollback_savepoint(st);
    }
    if (g != ERR_OK) {
        h->guess.flagged = false;
        log_event(LOG_ERROR, "terminal_guess_record_failed", json_pack("{s:s}", "error", err_symbol(g)));
    }
    return ERR_OK;
}

/* On the writer's completer thread. */
static void answered(void *ctx, const struct ledger_result *r)
{
    struct held *h = ctx;
    if (h->counted) /* before the answer: the register's next request sees it counted */
        guess_pending_dec(h->counted, h->key_id);
    if (r->err == ERR_INVALID_SIGNATURE)
        log_refused(h->req, r->err, "replayed_nonce", h->key_id);
    if (r->err == ERR_OK)
        payment_guess_log(&h->guess);
    if (r->err != ERR_OK)
        http_complete_error(h->req, r->err, NULL);
    else if (h->e != ERR_OK) {
        if (h->retry_after_s > 0)
            (void)http_reply_retry_after(h->req, h->retry_after_s);
        http_complete_error_reason(h->req, h->e, h->bad, h->reason[0] ? h->reason : NULL);
    } else if (h->body == NULL)
        http_complete_error(h->req, ERR_NOMEM, NULL);
    else {
        http_complete_json(h->req, h->status, h->body);
        h->body = NULL;
    }
    json_decref(h->body);
    free(h);
}

/* The answer a (its body taken) waits for its nonce in the writer. */
static enum http_verdict hold(struct http_request *req, struct api_ctx *ctx, const struct merchant_terminal *term,
                              const char *nonce, const struct held *a)
{
    struct held *h = malloc(sizeof *h);
    if (h == NULL) {
        json_decref(a->body);
        return http_reply_error(req, ERR_NOMEM, NULL);
    }
    *h = *a;
    h->req = req;
    h->now = time_now_ms();
    snprintf(h->key_id, sizeof h->key_id, "%s", term->key_id);
    snprintf(h->nonce, sizeof h->nonce, "%s", nonce);
    h->counted = NULL;
    /* In flight before this thread takes another request (guess_pending.h).
     * Should that or the submission fail (no memory, shutting down), the
     * code goes uncounted (the answer is a 5xx): one look past the count,
     * and only then. */
    enum err s = ERR_OK;
    if (h->guess.set && ctx->guesses && (s = guess_pending_inc(ctx->guesses, h->key_id)) == ERR_OK)
        h->counted = ctx->guesses;
    if (s == ERR_OK && (s = ledger_writer_submit_hook(ctx->writer, record, h, answered, h)) == ERR_OK)
        return HTTP_SUSPENDED; /* answered() replies; req may be gone already */
    if (h->counted)
        guess_pending_dec(h->counted, h->key_id);
    json_decref(h->body);
    free(h);
    return http_reply_error(req, s, NULL);
}

enum http_verdict api_pos_answer(struct http_request *req, struct api_ctx *ctx, const struct merchant_terminal *term,
                                 const char *nonce, enum err e, const char *bad, int status, json_t *body)
{
    struct held a = {.e = e, .bad = bad, .status = status, .body = body};
    return hold(req, ctx, term, nonce, &a);
}

enum http_verdict api_pos_refuse(struct http_request *req, struct api_ctx *ctx, const struct merchant_terminal *term,
                                 const char *nonce, enum err e, const char *bad, const char *reason,
                                 int64_t retry_after_s, const struct payment_guess *guess)
{
    struct held a = {.e = e, .bad = bad, .retry_after_s = retry_after_s};
    if (guess)
        a.guess = *guess;
    snprintf(a.reason, sizeof a.reason, "%s", reason ? reason : "");
    return hold(req, ctx, term, nonce, &a);
}
