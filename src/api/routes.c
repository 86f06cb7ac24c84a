/* routes.c: every URL kessaid serves, in one table (after GNU Taler's
 * exchange).  To find the code behind an endpoint, find its line here.
 * Order matters only where two patterns match the same path: the first
 * wins, so put literal segments before `{param}` ones. */
#include "api/api.h"
#include "api/health.h"

static const struct http_route routes[] = {
    /* operations */
    {"GET", "/healthz", api_health_get, 0},
    {"GET", "/metrics", api_metrics_get, 0},
};

const struct http_route *api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
