/* wallet_cards.c: POST /v1/cards, POST /v1/cards/{id}/3ds, GET /v1/cards and
 * DELETE /v1/cards/{id} (wallet/card.h).
 *
 * Phases: AUTH (here, on the HTTP thread: POST /v1/cards needs a fresh
 * second factor, the others a full session), PARSE (unknown fields
 * refused), ACT (a wallet job: the gateway, mail), REPLY.
 *
 * The body of POST /v1/cards holds a PAN and a CVC.  They are copied into
 * the job, wiped from the parsed JSON at once and from the job after the
 * domain call (the raw body is wiped by the HTTP layer); no reply, error
 * param or log line ever carries them (an error names the field, never its
 * value).  An id that is malformed or
 * another customer's is the same 404 card_not_found as an unknown one.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/auth_common.h"
#include "api/gate.h"
#include "ops/killswitch.h"
#include "api/wallet_handlers.h"
#include "api/wallet_jobs.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/suspend.h"
#include "util/ids.h"
#include "util/wipe.h"
#include "wallet/card.h"

#define PAN_FIELD_MAX 32 /* 19 digits, with the spaces or dashes people type */
#define CVC_FIELD_MAX 8

/* A card as the API shows it: never its token or fingerprint. */
static json_t *card_json(const struct card *c)
{
    json_t *o = json_pack("{s:o, s:s, s:s, s:s, s:i, s:i, s:o}", "id", api_id_json(CARD_ID_PREFIX, c->id), "status",
                          card_status_name(c->status), "brand", c->brand, "last4", c->last4, "exp_month", c->exp_month,
                          "exp_year", c->exp_year, "created_at", api_time_json(c->created_ms));
    if (o && c->linked_ms > 0 && json_object_set_new(o, "linked_at", api_time_json(c->linked_ms)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void complete_json(struct http_request *req, int status, json_t *body)
{
    if (body == NULL)
        http_complete_error(req, ERR_NOMEM, NULL);
    else
        http_complete_json(req, status, body);
}

/* ---- POST /v1/cards ------------------------------------------------------ */

struct link_job {
    struct api_wallet_job base;
    char number[20]; /* digits only; "" if what was typed cannot be a PAN */
    char cvc[5];     /* "" if too long to be one */
    int exp_month;
    int exp_year;
};

static void run_link(struct api_wallet_job *job, const struct wallet_ctx *w)
{
    struct link_job *j = (struct link_job *)job;
    struct card_link_input in = {j->number, j->exp_month, j->exp_year, j->cvc};
    struct card c;
    const char *bad = NULL;
    int64_t retry_after = 0;
    enum err e = card_link_start(w, &job->session, &in, &c, &bad, &retry_after);
    sodium_memzero(j->number, sizeof j->number);
    sodium_memzero(j->cvc, sizeof j->cvc);
    if (e != ERR_OK) {
        if (e == ERR_RATE_LIMITED)
            http_reply_retry_after(job->req, retry_after);
        http_complete_error(job->req, e, bad);
        return;
    }
    char id[IDS_BUF], url[64];
    snprintf(url, sizeof url, "/v1/cards/%s/3ds", ids_format(id, CARD_ID_PREFIX, c.id));
    complete_json(job->req, 202,
                  json_pack("{s:o, s:{s:s, s:s, s:s}}", "card", card_json(&c), "next_action", "type",
                            "three_d_secure", "confirm_url", url, "message",
                            "Enter the verification code your card issuer sent you to finish linking the card."));
}

/* Digits of what was typed, spaces and dashes dropped; "" unless the
 * result fits (the domain then refuses it as an invalid number). */
static void pan_digits(const char *typed, char out[20])
{
    size_t n = 0;
    for (const char *p = typed; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        if (*p < '0' || *p > '9' || n == 19) {
            n = 0;
            break;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
}

/* An int field as the domain's int: out of range becomes 0, which the
 * domain refuses naming the field. */
static int small_int(int64_t v)
{
    return v >= 0 && v <= 9999 ? (int)v : 0;
}

enum http_verdict api_cards_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct link_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    json_t *body = http_request_json(req);
    const char *number = NULL, *cvc = NULL;
    int64_t exp_month = 0, exp_year = 0;
    struct json_field spec[] = {
        {.name = "number", .type = JF_STRING, .target = &number, .min_len = 1, .max_len = PAN_FIELD_MAX},
        {.name = "exp_month", .type = JF_INT64, .target = &exp_month},
        {.name = "exp_year", .type = JF_INT64, .target = &exp_year},
        {.name = "cvc", .type = JF_STRING, .target = &cvc, .min_len = 1, .max_len = CVC_FIELD_MAX},
    };
    bool ok = api_wallet_session(req, ctx, SESSION_NEED_FRESH, &j->base.session) &&
              api_gate(req, ctx, KILLSWITCH_CARD_LINKS) &&
              api_parse(req, body, spec, sizeof spec / sizeof spec[0], NULL);
    if (ok) {
        pan_digits(number, j->number);
        if (strlen(cvc) < sizeof j->cvc)
            memcpy(j->cvc, cvc, strlen(cvc) + 1);
        j->exp_month = small_int(exp_month);
        j->exp_year = small_int(exp_year);
    }
    /* Wiped whatever happened (a refused request held them too), at once,
     * not after the worker queue and the gateway (util/wipe.h). */
    wipe_json_string(json_object_get(body, "number"));
    wipe_json_string(json_object_get(body, "cvc"));
    if (!ok) {
        free(j);
        return HTTP_REPLIED;
    }
    return api_wallet_job_submit(req, ctx, &j->base, run_link);
}

/* ---- POST /v1/cards/{id}/3ds -------------------------------------------- */

struct confirm_job {
    struct api_wallet_job base;
    int64_t card_id;
    const char *code; /* borrowed from the request body */
};

static void run_confirm(struct api_wallet_job *job, const struct wallet_ctx *w)
{
    struct confirm_job *j = (struct confirm_job *)job;
    struct card c;
    enum err e = card_link_confirm(w, &job->session, j->card_id, j->code, &c);
    if (e != ERR_OK) {
        http_complete_error(job->req, e, e == ERR_INVALID_CODE ? "code" : NULL);
        return;
    }
    complete_json(job->req, 200, json_pack("{s:o}", "card", card_json(&c)));
}

enum http_verdict api_card_3ds_post(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct confirm_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    struct json_field spec[] = {
        {.name = "code", .type = JF_STRING, .target = &j->code, .min_len = 1, .max_len = 64},
    };
    /* The switch stops a link half-way too: a card it caught pending does
     * not become usable while it is on. */
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &j->base.session) ||
        !api_gate(req, ctx, KILLSWITCH_CARD_LINKS) || !api_parse(req, http_request_json(req), spec, 1, NULL)) {
        free(j);
        return HTTP_REPLIED;
    }
    if (ids_parse(http_request_param(req, "id"), CARD_ID_PREFIX, &j->card_id) != ERR_OK) {
        free(j);
        return http_reply_error(req, ERR_CARD_NOT_FOUND, NULL);
    }
    return api_wallet_job_submit(req, ctx, &j->base, run_confirm);
}

/* ---- GET /v1/cards -------------------------------------------------------- */

static void run_list(struct api_wallet_job *job, const struct wallet_ctx *w)
{
    struct card list[CARD_LIST_MAX];
    size_t n = 0;
    enum err e = card_list(w, &job->session, list, CARD_LIST_MAX, &n);
    if (e != ERR_OK) {
        http_complete_error(job->req, e, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *item = card_json(&list[i]);
        if (item == NULL || json_array_append_new(arr, item) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    complete_json(job->req, 200, arr ? json_pack("{s:o}", "cards", arr) : NULL);
}

enum http_verdict api_cards_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct api_wallet_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &j->session)) {
        free(j);
        return HTTP_REPLIED;
    }
    return api_wallet_job_submit(req, ctx, j, run_list);
}

/* ---- DELETE /v1/cards/{id} ------------------------------------------------ */

struct remove_job {
    struct api_wallet_job base;
    int64_t card_id;
};

static void run_remove(struct api_wallet_job *job, const struct wallet_ctx *w)
{
    struct remove_job *j = (struct remove_job *)job;
    enum err e = card_remove(w, &job->session, j->card_id);
    if (e != ERR_OK)
        http_complete_error(job->req, e, NULL);
    else
        http_complete_no_content(job->req);
}

enum http_verdict api_card_delete(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct remove_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    if (!api_wallet_session(req, ctx, SESSION_NEED_FULL, &j->base.session)) {
        free(j);
        return HTTP_REPLIED;
    }
    if (ids_parse(http_request_param(req, "id"), CARD_ID_PREFIX, &j->card_id) != ERR_OK) {
        free(j);
        return http_reply_error(req, ERR_CARD_NOT_FOUND, NULL);
    }
    return api_wallet_job_submit(req, ctx, &j->base, run_remove);
}
