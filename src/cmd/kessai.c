/* kessai.c: main() of the kessai command line; the CLI itself is src/cli/
 * (cli.h states its contract). */
#include <liboath/oath.h>
#include <sodium.h>

#include "cli/cli.h"
#include "util/wipe.h"

int main(int argc, char **argv)
{
    /* Before anything (libsodium included) can open a file. */
    cli_init_process();
    /* JSON output can hold one-time secrets (a TOTP URI, a terminal's key). */
    wipe_json_allocations();
    if (sodium_init() < 0)
        return cli_failure("cannot initialise libsodium");
    if (oath_init() != OATH_OK)
        return cli_failure("cannot initialise liboath");
    int rc = cli_main(argc, argv);
    oath_done();
    return rc;
}
