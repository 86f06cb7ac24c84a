/* webhook_cmd.c: `kessai admin webhook …`: a merchant's webhook endpoints
 * (notify/webhook.h), whose signing secrets are shown once, at creation. */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "merchant/merchant.h"
#include "notify/webhook.h"
#include "util/ids.h"
#include "util/timeutil.h"

#define WEBHOOK_ROW "%-17s  %-17s  %-7s  %-50s  %s\n"

static json_t *webhook_json(const struct webhook_endpoint *w)
{
    char id[IDS_BUF], mid[IDS_BUF], ts[TIME_ISO_BUF];
    json_t *events = json_array();
    for (const char *p = w->events; events && *p;) {
        size_t len = strcspn(p, ",");
        json_array_append_new(events, json_stringn(p, len));
        p += len + (p[len] == ',');
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "id", ids_format(id, WEBHOOK_ID_PREFIX, w->id), "merchant",
                     ids_format(mid, MERCHANT_ID_PREFIX, w->merchant_id), "url", w->url, "events",
                     events ? events : json_array(), "status", w->removed_ms ? "removed" : "active", "created_at",
                     time_iso8601(ts, w->created_ms));
}

static enum err webhook_page(struct cli_ctx *x, int64_t filter, int64_t after, size_t max, void *out, size_t *n)
{
    return x->st->ops->webhook_endpoint_list(x->st, filter, true, after, max, out, n);
}

static int64_t webhook_id_of(const void *r) { return ((const struct webhook_endpoint *)r)->id; }
static json_t *webhook_json_v(const void *r) { return webhook_json(r); }
static void webhook_header(void) { printf(WEBHOOK_ROW, "ID", "MERCHANT", "STATUS", "URL", "EVENTS"); }

static void webhook_print(const void *r)
{
    const struct webhook_endpoint *w = r;
    char id[IDS_BUF], mid[IDS_BUF];
    printf(WEBHOOK_ROW, ids_format(id, WEBHOOK_ID_PREFIX, w->id), ids_format(mid, MERCHANT_ID_PREFIX, w->merchant_id),
           w->removed_ms ? "removed" : "active", w->url, w->events);
}

static const struct cli_lister webhooks_lister = {
    "webhooks",   WEBHOOK_ID_PREFIX, webhook_header, sizeof(struct webhook_endpoint),
    webhook_page, webhook_id_of,     webhook_json_v, webhook_print,
};

int cli_run_webhook_add(struct cli_ctx *x)
{
    int64_t merchant_id;
    int rc = cli_parse_id(x, "--merchant", cli_opt(x, "--merchant"), MERCHANT_ID_PREFIX, &merchant_id);
    if (rc != CLI_EXIT_OK)
        return rc;
    const char *url = cli_opt(x, "--url"), *events = cli_opt(x, "--events");
    if (webhook_check_url(url) != ERR_OK)
        return cli_usage_error(x->cmd,
                               "--url must be an https:// URL of at most %d characters without spaces or "
                               "credentials (http:// only to 127.0.0.1, [::1] or localhost)",
                               WEBHOOK_URL_MAX);
    char norm[WEBHOOK_EVENTS_MAX + 1];
    if (webhook_parse_events(events, norm) != ERR_OK) {
        char list[256] = "";
        for (size_t i = 0; webhook_event_types[i]; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", webhook_event_types[i]);
        }
        return cli_usage_error(x->cmd, "--events must be a comma-separated list of: %s", list);
    }
    rc = cli_open_store(x, 1);
    if (rc != CLI_EXIT_OK)
        return rc;
    uint8_t key[MASTERKEY_BYTES];
    char secret[WEBHOOK_SECRET_LEN + 1] = "";
    signal(SIGPIPE, SIG_IGN); /* see below: a secret that went nowhere */
    rc = cli_load_master_key(x, key);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        goto cleanup;
    struct webhook_endpoint w;
    char id[IDS_BUF], mid[IDS_BUF];
    enum err e = cli_change_begin(x);
    if (e == ERR_OK)
        e = webhook_endpoint_create(x->st, key, time_now_ms(), merchant_id, url, norm, &w, secret);
    e = cli_change_end(x, e, "webhook_added", 0,
                       e == ERR_OK ? json_pack("{s:s, s:s, s:s, s:s}", "webhook", ids_format(id, WEBHOOK_ID_PREFIX, w.id),
                                               "merchant", ids_format(mid, MERCHANT_ID_PREFIX, merchant_id), "url",
                                               w.url, "events", w.events)
                                   : NULL);
    if (e == ERR_LIMIT_EXCEEDED) {
        rc = cli_failure("merchant %s has %d webhook endpoints, the most it may have: remove one first",
                         cli_opt(x, "--merchant"), WEBHOOK_ENDPOINTS_MAX);
        goto cleanup;
    }
    if (e != ERR_OK) {
        rc = cli_fail_err(e, e == ERR_MERCHANT_NOT_FOUND ? cli_opt(x, "--merchant") : "add webhook");
        goto cleanup;
    }
    if (x->json) {
        json_t *j = webhook_json(&w);
        if (j)
            json_object_set_new(j, "secret", json_string(secret));
        rc = cli_print_json(j);
    } else {
        printf("webhook %s added for merchant %s: %s (%s)\n", id, mid, w.url, w.events);
        printf("signing secret: %s\n", secret);
    }
    /* Nobody can use an endpoint whose secret was lost: remove it. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        e = cli_change_begin(x);
        if (e == ERR_OK)
            e = x->st->ops->webhook_endpoint_remove(x->st, w.id, time_now_ms());
        e = cli_change_end(x, e, "webhook_removed", 0,
                           json_pack("{s:s, s:s}", "webhook", id, "reason", "the secret could not be shown"));
        rc = e == ERR_OK ? cli_failure("could not write the webhook's secret; webhook %s has been removed", id)
                         : cli_failure("could not write the webhook's secret, nor remove webhook %s (%s): remove it "
                                       "with 'kessai admin webhook remove %s'",
                                       id, err_message(e), id);
        goto cleanup;
    }
    fprintf(stderr, "WARNING: this is the only time the signing secret of %s is shown. kessai keeps only a sealed "
                    "copy: give it to the merchant now. If it is lost, remove the webhook and add a new one.\n",
            id);
cleanup:
    sodium_memzero(key, sizeof key);
    sodium_memzero(secret, sizeof secret);
    return rc;
}

int cli_run_webhook_list(struct cli_ctx *x)
{
    int64_t merchant_id, after;
    size_t limit;
    int rc = cli_parse_opt_id(x, "--merchant", MERCHANT_ID_PREFIX, &merchant_id);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_id(x, "--after", WEBHOOK_ID_PREFIX, &after);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_limit(x, &limit);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(x, 0);
    if (rc != CLI_EXIT_OK)
        return rc;
    struct merchant m;
    enum err e = merchant_id ? merchant_get(x->st, merchant_id, &m) : ERR_OK;
    if (e != ERR_OK)
        return cli_fail_err(e, cli_opt(x, "--merchant"));
    return cli_list(x, &webhooks_lister, merchant_id, after, limit);
}

int cli_run_webhook_remove(struct cli_ctx *x)
{
    int64_t id;
    int rc = cli_parse_id(x, x->cmd->positional, x->pos, WEBHOOK_ID_PREFIX, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(x, 1);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        return rc;
    enum err e = cli_change_begin(x);
    if (e == ERR_OK)
        e = x->st->ops->webhook_endpoint_remove(x->st, id, time_now_ms());
    e = cli_change_end(x, e, "webhook_removed", 0, json_pack("{s:s}", "webhook", x->pos));
    if (e != ERR_OK)
        return cli_fail_err(e, x->pos);
    if (x->json)
        return cli_print_json(json_pack("{s:s, s:b}", "id", x->pos, "removed", 1));
    printf("webhook %s removed: nothing more is sent to it, and what was queued for it is dropped\n", x->pos);
    return CLI_EXIT_OK;
}
