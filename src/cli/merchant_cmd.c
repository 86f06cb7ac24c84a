/* merchant_cmd.c: `kessai admin merchant …` and `kessai admin store …`:
 * the companies that take payments and their stores. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "merchant/coord.h"
#include "merchant/merchant.h"
#include "merchant/merchant_json.h"
#include "util/ids.h"
#include "util/timeutil.h"

/* Row formats, shared by the header so that titles sit over their columns.
 * Names and addresses come last: UTF-8 text has no fixed width. */
#define MERCHANT_ROW "%-17s  %-24s  %s\n"
#define STORE_ROW "%-17s  %-17s  %-8s  %-11s  %10s  %11s  %s | %s\n"

static enum err merchant_page(struct cli_ctx *x, int64_t filter, int64_t after, size_t max, void *out, size_t *n)
{
    (void)filter;
    return merchant_list(x->st, after, max, out, n);
}

static int64_t merchant_id_of(const void *r) { return ((const struct merchant *)r)->id; }
static json_t *merchant_json_v(const void *r) { return merchant_json(r); }
static void merchant_header(void) { printf(MERCHANT_ROW, "ID", "CREATED", "NAME"); }

static void merchant_print(const void *r)
{
    const struct merchant *m = r;
    char id[IDS_BUF], ts[TIME_ISO_BUF];
    printf(MERCHANT_ROW, ids_format(id, MERCHANT_ID_PREFIX, m->id), time_iso8601(ts, m->created_ms), m->name);
}

static const struct cli_lister merchants_lister = {
    "merchants",   MERCHANT_ID_PREFIX, merchant_header, sizeof(struct merchant),
    merchant_page, merchant_id_of,     merchant_json_v, merchant_print,
};

static enum err store_page(struct cli_ctx *x, int64_t filter, int64_t after, size_t max, void *out, size_t *n)
{
    return merchant_store_list(x->st, filter, after, max, out, n);
}

static int64_t store_id_of(const void *r) { return ((const struct merchant_store *)r)->id; }
static json_t *store_json_v(const void *r) { return merchant_store_json(r); }

static void store_header(void)
{
    printf(STORE_ROW, "ID", "MERCHANT", "STATUS", "CATEGORY", "LAT", "LON", "NAME", "ADDRESS");
}

static void store_print(const void *r)
{
    const struct merchant_store *s = r;
    char id[IDS_BUF], mid[IDS_BUF], lat[COORD_BUF], lon[COORD_BUF];
    printf(STORE_ROW, ids_format(id, MERCHANT_STORE_ID_PREFIX, s->id),
           ids_format(mid, MERCHANT_ID_PREFIX, s->merchant_id), s->active ? "active" : "inactive", s->category,
           coord_format_e6(lat, s->lat_e6), coord_format_e6(lon, s->lon_e6), s->name, s->address);
}

static const struct cli_lister stores_lister = {
    "stores",   MERCHANT_STORE_ID_PREFIX, store_header, sizeof(struct merchant_store),
    store_page, store_id_of,              store_json_v, store_print,
};

int cli_run_merchant_create(struct cli_ctx *x)
{
    const char *name = cli_opt(x, "--name");
    if (merchant_check_text(name, MERCHANT_NAME_MAX) != ERR_OK)
        return cli_usage_error(x->cmd,
                               "--name must be 1 to %d bytes of UTF-8 text, without control characters or "
                               "leading/trailing spaces",
                               MERCHANT_NAME_MAX);
    int rc = cli_open_store(x, 0);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        return rc;
    struct merchant m;
    char mid[IDS_BUF];
    enum err e = cli_change_begin(x);
    if (e == ERR_OK)
        e = merchant_create(x->st, name, &m);
    e = cli_change_end(x, e, "merchant_created", 0,
                       e == ERR_OK ? json_pack("{s:s, s:s}", "merchant", ids_format(mid, MERCHANT_ID_PREFIX, m.id),
                                               "name", m.name)
                                   : NULL);
    if (e != ERR_OK)
        return cli_fail_err(e, "create merchant");
    if (x->json)
        return cli_print_json(merchant_json(&m));
    char id[IDS_BUF];
    printf("merchant %s created: %s\n", ids_format(id, MERCHANT_ID_PREFIX, m.id), m.name);
    return CLI_EXIT_OK;
}

int cli_run_merchant_list(struct cli_ctx *x)
{
    int64_t after;
    size_t limit;
    int rc = cli_parse_opt_id(x, "--after", MERCHANT_ID_PREFIX, &after);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_limit(x, &limit);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(x, 0);
    return rc == CLI_EXIT_OK ? cli_list(x, &merchants_lister, 0, after, limit) : rc;
}

/* The usage error for field `bad` as named by merchant_store_validate. */
static int store_field_error(const struct cli_ctx *x, const char *bad)
{
    if (strcmp(bad, "lat") == 0)
        return cli_usage_error(x->cmd, "--lat must be between -90 and 90");
    if (strcmp(bad, "lon") == 0)
        return cli_usage_error(x->cmd, "--lon must be between -180 and 180");
    if (strcmp(bad, "category") == 0) {
        char list[256] = "";
        for (size_t i = 0; merchant_categories[i]; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", merchant_categories[i]);
        }
        return cli_usage_error(x->cmd, "--category must be one of: %s", list);
    }
    return cli_usage_error(x->cmd,
                           "--%s must be 1 to %d bytes of UTF-8 text, without control characters or "
                           "leading/trailing spaces",
                           bad, strcmp(bad, "name") == 0 ? MERCHANT_NAME_MAX : MERCHANT_ADDRESS_MAX);
}

int cli_run_store_create(struct cli_ctx *x)
{
    int64_t merchant_id, lat, lon;
    int rc = cli_parse_id(x, "--merchant", cli_opt(x, "--merchant"), MERCHANT_ID_PREFIX, &merchant_id);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (coord_parse_e6(cli_opt(x, "--lat"), &lat) != ERR_OK)
        return cli_usage_error(x->cmd, "--lat: '%s' is not decimal degrees such as 35.681236 (at most 6 decimals)",
                               cli_opt(x, "--lat"));
    if (coord_parse_e6(cli_opt(x, "--lon"), &lon) != ERR_OK)
        return cli_usage_error(x->cmd,
                               "--lon: '%s' is not decimal degrees such as 139.767125 (at most 6 decimals)",
                               cli_opt(x, "--lon"));
    const char *name = cli_opt(x, "--name"), *address = cli_opt(x, "--address");
    const char *category = cli_opt(x, "--category");
    const char *bad = NULL;
    if (merchant_store_validate(name, address, lat, lon, category, &bad) != ERR_OK)
        return store_field_error(x, bad);
    rc = cli_open_store(x, 1);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        return rc;
    struct merchant_store s;
    enum err e = merchant_store_create(x->st, merchant_id, name, address, lat, lon, category, &s);
    if (e != ERR_OK)
        return cli_fail_err(e, e == ERR_MERCHANT_NOT_FOUND ? cli_opt(x, "--merchant") : "create store");
    /* merchant_store_create runs its own transaction (the store and its
     * ledger account, retried under a new random id on a collision), so
     * the entry follows it; should it fail, the operator is told. */
    char sid[IDS_BUF], mid[IDS_BUF];
    e = cli_record(x, "store_created", 0,
                   json_pack("{s:s, s:s, s:s}", "store", ids_format(sid, MERCHANT_STORE_ID_PREFIX, s.id), "merchant",
                             ids_format(mid, MERCHANT_ID_PREFIX, merchant_id), "name", s.name));
    if (e != ERR_OK)
        return cli_failure("store %s was created, but its audit log entry could not be written: %s", sid,
                           err_message(e));
    if (x->json)
        return cli_print_json(merchant_store_json(&s));
    char id[IDS_BUF], la[COORD_BUF], lo[COORD_BUF];
    printf("store %s created: %s (%s, %s %s, %s)\n", ids_format(id, MERCHANT_STORE_ID_PREFIX, s.id), s.name,
           s.category, coord_format_e6(la, s.lat_e6), coord_format_e6(lo, s.lon_e6), s.address);
    return CLI_EXIT_OK;
}

int cli_run_store_list(struct cli_ctx *x)
{
    int64_t merchant_id, after;
    size_t limit;
    int rc = cli_parse_opt_id(x, "--merchant", MERCHANT_ID_PREFIX, &merchant_id);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_id(x, "--after", MERCHANT_STORE_ID_PREFIX, &after);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_limit(x, &limit);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(x, 0);
    if (rc != CLI_EXIT_OK)
        return rc;
    /* Checked before listing so "not found" is not a header over no rows. */
    struct merchant m;
    enum err e = merchant_id ? merchant_get(x->st, merchant_id, &m) : ERR_OK;
    if (e != ERR_OK)
        return cli_fail_err(e, cli_opt(x, "--merchant"));
    return cli_list(x, &stores_lister, merchant_id, after, limit);
}

static int set_store_active(struct cli_ctx *x, int active)
{
    int64_t id;
    int rc = cli_parse_id(x, x->cmd->positional, x->pos, MERCHANT_STORE_ID_PREFIX, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(x, 1);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        return rc;
    struct merchant_store s;
    enum err e = cli_change_begin(x);
    if (e == ERR_OK)
        e = merchant_store_set_active(x->st, id, active);
    e = cli_change_end(x, e, active ? "store_activated" : "store_deactivated", 0,
                       json_pack("{s:s}", "store", x->pos));
    if (e == ERR_OK)
        e = merchant_store_get(x->st, id, &s);
    if (e != ERR_OK)
        return cli_fail_err(e, x->pos);
    if (x->json)
        return cli_print_json(merchant_store_json(&s));
    printf("store %s is now %s\n", x->pos, active ? "active" : "inactive (it takes no payments)");
    return CLI_EXIT_OK;
}

int cli_run_store_activate(struct cli_ctx *x) { return set_store_active(x, 1); }
int cli_run_store_deactivate(struct cli_ctx *x) { return set_store_active(x, 0); }
