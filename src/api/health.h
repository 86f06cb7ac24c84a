/* health.h: GET /healthz and GET /metrics.
 *
 * /healthz answers 200 {"status":"ok"} when the store answers a real read
 * (the system accounts made at first start), else 503 with the store_error
 * body, so a load balancer stops sending traffic to a node that cannot read
 * its database.  /metrics is the Prometheus text of metrics.h.
 */
#ifndef KESSAI_API_HEALTH_H
#define KESSAI_API_HEALTH_H

#include "http/router.h"

enum http_verdict api_health_get(struct http_request *req, void *app);
enum http_verdict api_metrics_get(struct http_request *req, void *app);

#endif
