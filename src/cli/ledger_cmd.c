/* ledger_cmd.c: `kessai ledger verify`, the check tests run after every
 * scenario and operators run after an incident. */
#include <limits.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ledger/ledger.h"

int cli_run_ledger_verify(struct cli_ctx *x)
{
    int rc = cli_open_store_readonly(x);
    if (rc != CLI_EXIT_OK)
        return rc;
    char path[PATH_MAX];
    cli_data_path(x, "kessai.db", path, sizeof path);
    printf("ledger verify: recomputing every account of %s from its transfers\n", path);
    struct ledger_verify_report rep = {0};
    enum err e = ledger_verify(x->st, stdout, &rep);
    if (e != ERR_OK)
        return cli_failure("ledger verify could not read the store: %s", err_message(e));
    if (rep.violations) {
        printf("ledger verify: FAILED: %zu violation%s (%zu accounts, %zu transfers)\n", rep.violations,
               rep.violations == 1 ? "" : "s", rep.accounts, rep.transfers);
        return CLI_EXIT_FAIL;
    }
    printf("ledger verify: ok (%zu accounts, %zu transfers)\n", rep.accounts, rep.transfers);
    return CLI_EXIT_OK;
}
