/* admin_audit.c: searching the audit log (audit/audit.h, docs/audit-log.md):
 *
 *   GET /admin/v1/audit?customer=usr_…&actor=…&action=…&since=ISO&until=ISO&before=N&limit=N
 *     AUDIT -> 200 {entries: [...], next_before: N | null}
 *
 * Newest first; every filter optional; `before` is the cursor (an entry
 * id: the next page starts below it); limit 1..100 (default 50).  since is
 * inclusive, until exclusive, both UTC ("2026-11-27" or
 * "2026-11-27T08:00:00Z").  A read: on the HTTP thread.  Searching is
 * itself recorded (what was asked for, by whom), since the log names
 * customers and what happened to them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/admin_authn.h"
#include "api/admin_handlers.h"
#include "api/auth_common.h"
#include "api/list_params.h"
#include "audit/audit.h"
#include "auth/customer_types.h"
#include "http/reply.h"
#include "http/request.h"
#include "store/pool.h"
#include "util/timeutil.h"

#define AUDIT_PAGE_DEFAULT 50
#define AUDIT_PAGE_MAX 100

/* A positive decimal integer, strictly. */
static bool positive(const char *s, int64_t *out)
{
    if (s == NULL || *s < '1' || *s > '9')
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* The query into f, *before, *limit; false with *bad naming the parameter. */
static bool query(const struct http_request *req, struct security_event_filter *f, int64_t *before, int64_t *limit,
                  const char **bad)
{
    const char *customer = http_request_query(req, "customer"), *since = http_request_query(req, "since"),
               *until = http_request_query(req, "until"), *b = http_request_query(req, "before"),
               *l = http_request_query(req, "limit");
    f->actor = http_request_query(req, "actor");
    f->kind = http_request_query(req, "action");
    *bad = customer && ids_parse(customer, CUSTOMER_ID_PREFIX, &f->customer_id) != ERR_OK ? "customer"
           : since && time_parse_iso8601(since, &f->since_ms) != ERR_OK               ? "since"
           : until && time_parse_iso8601(until, &f->until_ms) != ERR_OK               ? "until"
           : b && !positive(b, before)                                                ? "before"
           : l && (!positive(l, limit) || *limit > AUDIT_PAGE_MAX)                    ? "limit"
           : f->actor && (f->actor[0] == '\0' || strlen(f->actor) > SEC_EVENT_ACTOR_MAX) ? "actor"
           : f->kind && (f->kind[0] == '\0' || strlen(f->kind) > SEC_EVENT_KIND_MAX)     ? "action"
                                                                                     : NULL;
    return *bad == NULL;
}

enum http_verdict api_admin_audit_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, store_pool_acquire(ctx->pool), req);
    struct staff_session s;
    enum err e = api_admin_authenticate(req, &a, STAFF_AUDIT, "audit_search", &s);
    struct security_event_filter f = {0};
    int64_t before = 0, limit = AUDIT_PAGE_DEFAULT;
    const char *bad = NULL;
    if (e == ERR_OK && !query(req, &f, &before, &limit, &bad))
        e = ERR_INVALID_PARAM;
    struct security_event *ev = e == ERR_OK ? calloc((size_t)limit, sizeof *ev) : NULL;
    size_t n = 0;
    if (e == ERR_OK && ev == NULL)
        e = ERR_NOMEM;
    if (e == ERR_OK)
        e = a.st->ops->security_event_search(a.st, &f, before, (size_t)limit, ev, &n);
    if (e == ERR_OK)
        e = api_admin_record(&a, &s, f.customer_id, "audit_search", true,
                             json_pack("{s:s?, s:s?, s:I, s:I}", "actor", f.actor, "action", f.kind, "since",
                                       (json_int_t)f.since_ms, "until", (json_int_t)f.until_ms));
    store_pool_release(ctx->pool, a.st);
    if (e != ERR_OK) {
        free(ev);
        return http_reply_error(req, e, bad);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, audit_entry_json(&ev[i]));
    json_t *next = n == (size_t)limit ? json_integer(ev[n - 1].id) : json_null();
    free(ev);
    return api_reply_body(req, 200, json_pack("{s:o, s:o}", "entries", arr, "next_before", next));
}
