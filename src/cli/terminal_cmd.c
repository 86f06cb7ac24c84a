/* terminal_cmd.c: `kessai admin terminal …`: the POS terminals of a store
 * and their HMAC signing secrets, which are shown once, at creation. */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>

#include "cli/cli.h"
#include "merchant/merchant.h"
#include "merchant/merchant_json.h"
#include "merchant/terminal.h"
#include "util/ids.h"
#include "util/timeutil.h"

#define TERMINAL_ROW "%-17s  %-17s  %-29s  %-7s  %s\n"

static enum err terminal_page(struct cli_ctx *x, int64_t filter, int64_t after, size_t max, void *out, size_t *n)
{
    return terminal_list(x->st, filter, after, max, out, n);
}

static int64_t terminal_id_of(const void *r) { return ((const struct merchant_terminal *)r)->id; }
static json_t *terminal_json_v(const void *r) { return terminal_json(r); }
static void terminal_header(void) { printf(TERMINAL_ROW, "ID", "STORE", "KEY ID", "STATUS", "CREATED"); }

static void terminal_print(const void *r)
{
    const struct merchant_terminal *t = r;
    char id[IDS_BUF], sid[IDS_BUF], ts[TIME_ISO_BUF];
    printf(TERMINAL_ROW, ids_format(id, TERMINAL_ID_PREFIX, t->id),
           ids_format(sid, MERCHANT_STORE_ID_PREFIX, t->store_id), t->key_id, t->revoked ? "revoked" : "active",
           time_iso8601(ts, t->created_ms));
}

static const struct cli_lister terminals_lister = {
    "terminals",   TERMINAL_ID_PREFIX, terminal_header, sizeof(struct merchant_terminal),
    terminal_page, terminal_id_of,     terminal_json_v, terminal_print,
};

int cli_run_terminal_create(struct cli_ctx *x)
{
    int64_t store_id;
    int rc = cli_parse_id(x, "--store", cli_opt(x, "--store"), MERCHANT_STORE_ID_PREFIX, &store_id);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(x, 1);
    if (rc != CLI_EXIT_OK)
        return rc;
    uint8_t key[MASTERKEY_BYTES];
    char secret[TERMINAL_SECRET_HEX_BUF] = "";
    /* A closed pipe must not kill us between creating the terminal and
     * noticing that its secret went nowhere (see below). */
    signal(SIGPIPE, SIG_IGN);
    rc = cli_load_master_key(x, key);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        goto cleanup;
    struct merchant_terminal t;
    char id[IDS_BUF], sid[IDS_BUF];
    enum err e = cli_change_begin(x);
    if (e == ERR_OK)
        e = terminal_create(x->st, key, store_id, &t, secret);
    e = cli_change_end(x, e, "terminal_created", 0,
                       e == ERR_OK ? json_pack("{s:s, s:s, s:s}", "terminal", ids_format(id, TERMINAL_ID_PREFIX, t.id),
                                               "store", ids_format(sid, MERCHANT_STORE_ID_PREFIX, t.store_id),
                                               "key_id", t.key_id)
                                   : NULL);
    if (e != ERR_OK) {
        rc = cli_fail_err(e, e == ERR_STORE_NOT_FOUND ? cli_opt(x, "--store") : "create terminal");
        goto cleanup;
    }
    if (x->json) {
        json_t *j = terminal_json(&t);
        if (j)
            json_object_set_new(j, "secret", json_string(secret));
        rc = cli_print_json(j);
    } else {
        printf("terminal %s created for store %s\n", id, ids_format(sid, MERCHANT_STORE_ID_PREFIX, t.store_id));
        printf("key id: %s\n", t.key_id);
        printf("secret: %s\n", secret);
    }
    /* A secret that never reached the operator makes a terminal nobody can
     * use but somebody might later find in a broken pipe's buffer: revoke. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        e = cli_change_begin(x);
        if (e == ERR_OK)
            e = terminal_revoke(x->st, t.id);
        e = cli_change_end(x, e, "terminal_revoked", 0,
                           json_pack("{s:s, s:s}", "terminal", id, "reason", "the secret could not be shown"));
        if (e == ERR_OK)
            rc = cli_failure("could not write the terminal's secret; terminal %s has been revoked", id);
        else
            rc = cli_failure("could not write the terminal's secret, nor revoke terminal %s (%s): revoke it "
                             "with 'kessai admin terminal revoke %s'",
                             id, err_message(e), id);
        goto cleanup;
    }
    fprintf(stderr, "WARNING: this is the only time the secret of %s is shown. kessai keeps only a sealed copy "
                    "and cannot show it again: configure the terminal with it now. If it is lost, revoke the "
                    "terminal and create a new one.\n",
            id);
cleanup:
    sodium_memzero(key, sizeof key);
    sodium_memzero(secret, sizeof secret);
    return rc;
}

int cli_run_terminal_list(struct cli_ctx *x)
{
    int64_t store_id, after;
    size_t limit;
    int rc = cli_parse_opt_id(x, "--store", MERCHANT_STORE_ID_PREFIX, &store_id);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_id(x, "--after", TERMINAL_ID_PREFIX, &after);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_limit(x, &limit);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(x, 0);
    if (rc != CLI_EXIT_OK)
        return rc;
    struct merchant_store s;
    enum err e = store_id ? merchant_store_get(x->st, store_id, &s) : ERR_OK;
    if (e != ERR_OK)
        return cli_fail_err(e, cli_opt(x, "--store"));
    return cli_list(x, &terminals_lister, store_id, after, limit);
}

int cli_run_terminal_revoke(struct cli_ctx *x)
{
    int64_t id;
    int rc = cli_parse_id(x, x->cmd->positional, x->pos, TERMINAL_ID_PREFIX, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(x, 1);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        return rc;
    enum err e = cli_change_begin(x);
    if (e == ERR_OK)
        e = terminal_revoke(x->st, id);
    e = cli_change_end(x, e, "terminal_revoked", 0, json_pack("{s:s}", "terminal", x->pos));
    if (e != ERR_OK)
        return cli_fail_err(e, x->pos);
    if (x->json)
        return cli_print_json(json_pack("{s:s, s:b}", "id", x->pos, "revoked", 1));
    printf("terminal %s revoked: its signatures are refused from now on\n", x->pos);
    return CLI_EXIT_OK;
}
