/* kessai.c: main() of the kessai command line; the CLI itself is src/cli/
 * (cli.h states its contract). */
#include <curl/curl.h>
#include <liboath/oath.h>
#include <sodium.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "util/timeutil.h"
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
    /* Before any thread (bench, simulate): curl_global_init is not thread-safe. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return cli_failure("cannot initialise libcurl");
    /* The commands `kessai simulate` runs on its own kessaid's data keep
     * that server's clock (KESSAI_CLOCK_FILE, as kessaid: simulator and
     * tests only). */
    const char *clock_env = getenv("KESSAI_CLOCK_FILE");
    char why[600];
    if (clock_env && *clock_env && time_clock_file_use(clock_env, why, sizeof why) != ERR_OK)
        return cli_failure("%s", why);
    int rc = cli_main(argc, argv);
    curl_global_cleanup();
    oath_done();
    return rc;
}
