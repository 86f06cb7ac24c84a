/* killswitch_cmd.c: `kessai admin killswitch on|off|list`: the operator's
 * switches that stop one kind of operation at once (ops/killswitch.h).
 *
 * The CLI writes the switch's row in the shared database; every kessaid
 * node reads that row on each request it guards, so the switch takes
 * effect with the next request, everywhere, without a restart.  Who
 * switched is recorded as "cli:<login name>" ($USER when it is a plain
 * name, else the numeric uid), in the row and in the audit log's entry
 * (actor "admin-cli").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "merchant/merchant.h"
#include "util/ids.h"
#include "ops/killswitch.h"
#include "util/timeutil.h"

#define KS_ROW "%-26s  %-4s  %-24s  %-20s  %s\n"

void cli_operator_name(char out[64])
{
    const char *u = getenv("USER");
    size_t len = u ? strlen(u) : 0;
    bool plain = len > 0 && len <= 32;
    for (size_t i = 0; plain && i < len; i++)
        plain = (u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') || (u[i] >= '0' && u[i] <= '9') ||
                strchr("._-@", u[i]) != NULL;
    if (plain)
        snprintf(out, 64, "cli:%s", u);
    else
        snprintf(out, 64, "cli:uid%lu", (unsigned long)getuid());
}

static json_t *ks_json(const struct killswitch *k)
{
    char ts[TIME_ISO_BUF];
    json_t *j = json_pack("{s:s, s:b, s:s}", "name", k->name, "on", k->on, "reason", k->reason);
    if (j && k->set_ms > 0) {
        json_object_set_new(j, "set_by", json_string(k->set_by));
        json_object_set_new(j, "set_at", json_string(time_iso8601(ts, k->set_ms)));
    } else if (j) {
        json_object_set_new(j, "set_by", json_null());
        json_object_set_new(j, "set_at", json_null());
    }
    return j;
}

/* Name the known switches in a usage error. */
static int unknown_name(const struct cli_ctx *x)
{
    size_t n;
    const char *const *names = killswitch_names(&n);
    char list[256] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    return cli_usage_error(x->cmd, "unknown switch '%s' (known: %s)", x->pos, list);
}

/* The stored name: NAME, or "payments@mer_…" / "payments@str_…" with
 * --merchant / --store (only those killswitch_scoped allows). */
static int scoped_name(struct cli_ctx *x, char out[KILLSWITCH_NAME_MAX + 1])
{
    int64_t mer = 0, sto = 0;
    int rc = cli_parse_opt_id(x, "--merchant", MERCHANT_ID_PREFIX, &mer);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_id(x, "--store", MERCHANT_STORE_ID_PREFIX, &sto);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (mer && sto)
        return cli_usage_error(x->cmd, "give --merchant or --store, not both");
    if ((mer || sto) && !killswitch_scoped(x->pos))
        return cli_usage_error(x->cmd, "only the '%s' and '%s' switches can be set for one merchant or store",
                               KILLSWITCH_PAYMENTS, KILLSWITCH_TOPUPS);
    char id[IDS_BUF];
    if (mer)
        snprintf(out, KILLSWITCH_NAME_MAX + 1, "%s@%s", x->pos, ids_format(id, MERCHANT_ID_PREFIX, mer));
    else if (sto)
        snprintf(out, KILLSWITCH_NAME_MAX + 1, "%s@%s", x->pos, ids_format(id, MERCHANT_STORE_ID_PREFIX, sto));
    else
        snprintf(out, KILLSWITCH_NAME_MAX + 1, "%s", x->pos);
    return CLI_EXIT_OK;
}

static int set(struct cli_ctx *x, bool on)
{
    if (!killswitch_known(x->pos) || strchr(x->pos, '@') != NULL)
        return unknown_name(x);
    char name[KILLSWITCH_NAME_MAX + 1];
    int src = scoped_name(x, name);
    if (src != CLI_EXIT_OK)
        return src;
    const char *reason = on ? cli_opt(x, "--reason") : "";
    /* Checked here too so that a bad reason is a usage error (exit 2) and
     * the database is not even opened. */
    size_t rl = reason ? strlen(reason) : 0;
    if (on && (rl == 0 || rl > KILLSWITCH_REASON_MAX))
        return cli_usage_error(x->cmd, "--reason must be 1 to %d bytes of text", KILLSWITCH_REASON_MAX);
    char by[64];
    cli_operator_name(by);
    int rc = cli_open_store(x, 1);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        return rc;
    enum err e = killswitch_set(x->st, AUDIT_ACTOR_ADMIN_CLI, name, on, reason, by, time_now_ms());
    if (e == ERR_INVALID_PARAM)
        return cli_usage_error(x->cmd, "--reason must be 1 to %d bytes of text, without control characters",
                               KILLSWITCH_REASON_MAX);
    if (e == ERR_STORE_NOT_FOUND || e == ERR_MERCHANT_NOT_FOUND)
        return cli_failure("%s: no such %s (nothing was switched)", strchr(name, '@') + 1,
                           e == ERR_STORE_NOT_FOUND ? "store" : "merchant");
    if (e != ERR_OK)
        return cli_fail_err(e, name);
    struct killswitch k;
    e = x->st->ops->killswitch_get(x->st, name, &k);
    if (e != ERR_OK)
        return cli_fail_err(e, name);
    if (x->json)
        return cli_print_json(ks_json(&k));
    if (on)
        printf("killswitch %s on: refused from now on, on every node (503 service_suspended, reason: %s)\n",
               k.name, k.reason);
    else
        printf("killswitch %s off: works again, on every node\n", k.name);
    return CLI_EXIT_OK;
}

int cli_run_killswitch_on(struct cli_ctx *x) { return set(x, true); }
int cli_run_killswitch_off(struct cli_ctx *x) { return set(x, false); }

/* One row of the listing: into the JSON array, or printed. */
static enum err list_row(const struct killswitch *k, void *ctx)
{
    json_t *arr = ctx;
    if (arr)
        return json_array_append_new(arr, ks_json(k)) == 0 ? ERR_OK : ERR_NOMEM;
    char ts[TIME_ISO_BUF] = "-";
    if (k->set_ms > 0)
        time_iso8601(ts, k->set_ms);
    printf(KS_ROW, k->name, k->on ? "on" : "off", ts, k->set_ms > 0 ? k->set_by : "-",
           k->reason[0] ? k->reason : "-");
    return ERR_OK;
}

int cli_run_killswitch_list(struct cli_ctx *x)
{
    int rc = cli_open_store(x, 1);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *arr = NULL;
    if (x->json && (arr = json_array()) == NULL)
        return cli_fail_err(ERR_NOMEM, "list switches");
    if (!x->json)
        printf(KS_ROW, "NAME", "ON", "SET AT", "SET BY", "REASON");
    enum err e = killswitch_each(x->st, list_row, arr);
    if (e != ERR_OK) {
        json_decref(arr);
        return cli_fail_err(e, "list switches");
    }
    return x->json ? cli_print_json(json_pack("{s:o}", "killswitches", arr)) : CLI_EXIT_OK;
}
