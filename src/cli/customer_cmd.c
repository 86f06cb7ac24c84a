/* customer_cmd.c: `kessai admin customer freeze|unfreeze EMAIL --reason
 * TEXT`: support stopping (or restarting) an account's money (ops/freeze.h).
 *
 * The CLI writes the freeze in the shared database, which every kessaid
 * node reads before each payment, top-up and transfer, so it acts on the
 * next request everywhere.  The customer's mail is queued in the same
 * transaction and sent by kessaid's mail thread (the CLI sends nothing
 * itself).  Who acted is recorded as "cli:<login name>", in the row and in
 * the audit log's entry (actor "admin-cli").
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "ops/freeze.h"
#include "util/config.h"
#include "util/email.h"
#include "util/timeutil.h"

#define REASON_MAX 200

static int run(struct cli_ctx *x, bool frozen)
{
    char email[EMAIL_MAX + 1];
    if (email_normalize(x->pos, email) != ERR_OK)
        return cli_usage_error(x->cmd, "'%s' is not a valid e-mail address", x->pos);
    const char *reason = cli_opt(x, "--reason");
    size_t rl = reason ? strlen(reason) : 0;
    if (rl == 0 || rl > REASON_MAX)
        return cli_usage_error(x->cmd, "--reason must be 1 to %d bytes of text", REASON_MAX);
    char by[64];
    cli_operator_name(by);
    int rc = cli_open_store(x, 1);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        return rc;
    uint8_t key[MASTERKEY_BYTES];
    rc = cli_load_master_key(x, key);
    if (rc != CLI_EXIT_OK)
        return rc;
    struct config cfg;
    config_defaults(&cfg);
    struct auth_ctx a = {.st = x->st, .master_key = key, .cfg = &cfg, .now = time_now_ms(), .client_addr = ""};
    enum err e = freeze_set_by_staff(&a, AUDIT_ACTOR_ADMIN_CLI, email, frozen, reason, by);
    sodium_memzero(key, sizeof key);
    if (e == ERR_INVALID_PARAM)
        return cli_usage_error(x->cmd, "--reason must be 1 to %d bytes of UTF-8, without control characters",
                               REASON_MAX);
    if (e == ERR_NOT_FOUND)
        return cli_failure("%s: no such customer", email);
    if (e != ERR_OK)
        return cli_fail_err(e, email);
    struct freeze f;
    struct customer c;
    e = x->st->ops->customer_get_by_email(x->st, email, &c);
    bool is_frozen = e == ERR_OK && x->st->ops->freeze_get(x->st, c.id, &f) == ERR_OK;
    sodium_memzero(&c, sizeof c);
    if (x->json)
        return cli_print_json(json_pack("{s:s, s:b}", "email", email, "frozen", is_frozen));
    if (is_frozen)
        printf("%s frozen: no paying, topping up or sending money, on every node (reason: %s)\n", email,
               f.reason);
    else
        printf("%s not frozen: it can pay, top up and send money\n", email);
    return CLI_EXIT_OK;
}

int cli_run_customer_freeze(struct cli_ctx *x) { return run(x, true); }
int cli_run_customer_unfreeze(struct cli_ctx *x) { return run(x, false); }
