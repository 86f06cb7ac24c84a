/* datadir.c: the data directory a command works on: DIR/kessai.db and
 * DIR/master.key, the same files kessaid uses. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/audit.h"
#include "cli/cli.h"

void cli_data_path(const struct cli_ctx *x, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", x->data_dir, name);
}

int cli_open_store(struct cli_ctx *x, int must_exist)
{
    char path[PATH_MAX];
    cli_data_path(x, "kessai.db", path, sizeof path);
    if (must_exist && access(path, F_OK) != 0)
        return cli_failure("no database at %s (wrong --data-dir? kessaid and the admin commands create it)", path);
    if (!must_exist && mkdir(x->data_dir, 0700) != 0 && errno != EEXIST)
        return cli_failure("cannot create data directory %s: %s", x->data_dir, strerror(errno));
    enum err e = store_open_sqlite(path, &x->st);
    if (e != ERR_OK)
        return cli_failure("cannot open %s: %s", path, err_message(e));
    return CLI_EXIT_OK;
}

int cli_open_store_readonly(struct cli_ctx *x)
{
    char path[PATH_MAX];
    cli_data_path(x, "kessai.db", path, sizeof path);
    if (access(path, F_OK) != 0)
        return cli_failure("no database at %s (wrong --data-dir? kessaid and the admin commands create it)", path);
    enum err e = store_open_sqlite_readonly(path, &x->st);
    if (e != ERR_OK)
        return cli_failure("cannot open %s: %s", path, err_message(e));
    return CLI_EXIT_OK;
}

int cli_attach_audit_key(struct cli_ctx *x)
{
    uint8_t key[MASTERKEY_BYTES];
    int rc = cli_load_master_key(x, key);
    if (rc != CLI_EXIT_OK)
        return rc;
    enum err e = audit_attach(x->st, key);
    sodium_memzero(key, sizeof key);
    return e == ERR_OK ? CLI_EXIT_OK : cli_failure("cannot prepare the audit log: %s", err_message(e));
}

int cli_load_master_key(struct cli_ctx *x, uint8_t key[MASTERKEY_BYTES])
{
    char path[PATH_MAX];
    cli_data_path(x, "master.key", path, sizeof path);
    enum err e = masterkey_load_or_create(path, key);
    if (e != ERR_OK) {
        /* kessaid may be creating the key at this very moment (O_EXCL made
         * us lose the race, or we read it half-written): look once more. */
        usleep(200 * 1000);
        e = masterkey_load_or_create(path, key);
    }
    if (e != ERR_OK)
        return cli_failure("cannot read or create the master key %s (it must be exactly %d bytes, mode 0600)", path,
                           MASTERKEY_BYTES);
    return CLI_EXIT_OK;
}
