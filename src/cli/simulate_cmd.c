/* simulate_cmd.c: `kessai simulate` (src/sim/sim.h does the work): the
 * options, the URL, the choice of scenario. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sim/sim.h"

static bool known_scenario(const char *name)
{
    if (strcmp(name, "mix") == 0 || strcmp(name, "legit") == 0)
        return true;
    for (size_t i = 0; i < sim_nscenarios; i++)
        if (strcmp(name, sim_scenarios[i]->name) == 0)
            return true;
    return false;
}

int cli_run_simulate(struct cli_ctx *x)
{
    struct sim_opts o = {.scenario = cli_opt(x, "--scenario"), .url = cli_opt(x, "--url"),
                         .json_path = cli_opt(x, "--json"), .html_path = cli_opt(x, "--html")};
    int64_t seed = 0;
    int rc = cli_parse_opt_int(x, "--customers", 2, 1000000, 2000, &o.customers);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_int(x, "--stores", 1, 100000, 200, &o.stores);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_int(x, "--minutes", 1, 1440, 10, &o.minutes);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_int(x, "--seed", 0, INT64_MAX, 1, &seed);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_int(x, "--offline-share", 0, 100, 25, &o.offline_share);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_int(x, "--start-hour", 0, 23, 10, &o.start_hour);
    if (rc != CLI_EXIT_OK)
        return rc;
    o.seed = (uint64_t)seed;
    if (!known_scenario(o.scenario)) {
        char list[512] = "legit, mix";
        for (size_t i = 0; i < sim_nscenarios; i++) {
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, ", %s", sim_scenarios[i]->name);
        }
        return cli_usage_error(x->cmd, "unknown scenario %s (one of: %s)", o.scenario, list);
    }
    if (o.url) {
        rc = cli_parse_url(x, o.url, CLI_EXIT_USAGE, &o.url_addr);
        if (rc != CLI_EXIT_OK)
            return rc;
        /* That kessaid's data directory: the customers' mailboxes and
         * `kessai admin` for the stores. */
        o.data_dir = x->data_dir;
    }
    o.progress = isatty(2) == 1;
    int r = sim_run(&o);
    return r == 0 ? CLI_EXIT_OK : r == 1 ? CLI_EXIT_FAIL : CLI_EXIT_FAIL;
}
