/* metrics.h: request and ledger-commit metrics in Prometheus text format.
 *
 * One struct per process, made at start-up by its owner (kessaid) for a
 * given route table and freed after the server and the ledger writer have
 * stopped.  Every observe function is lock-free (relaxed atomics) and safe
 * from any thread; render sees each counter at some recent value, which is
 * all Prometheus asks.
 *
 * Series:
 *   kessai_http_requests_total{method,route,code="2xx"}   counter
 *   kessai_http_request_duration_seconds{method,route}      histogram
 *   kessai_http_requests_in_flight                          gauge
 *   kessai_ledger_commit_batch_transfers                    histogram
 *   kessai_ledger_commit_groups_total                       counter
 *   kessai_ledger_commit_duration_seconds                   histogram
 * `route` is the route's pattern, never the raw path (ids would make one
 * series per resource); requests that matched no route (404 and 405) are
 * counted under route="unmatched", method="any".
 */
#ifndef KESSAI_HTTP_METRICS_H
#define KESSAI_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "http/router.h"

struct http_metrics;

#define HTTP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* routes must outlive the metrics.  NULL on allocation failure. */
struct http_metrics *http_metrics_new(const struct http_route *routes, size_t nroutes);
void http_metrics_free(struct http_metrics *m);

/* route_index -1 for unmatched requests. */
void http_metrics_observe_request(struct http_metrics *m, long route_index, int status, int64_t duration_ns);
void http_metrics_inflight_add(struct http_metrics *m, int delta);

/* Shaped like ledger_writer_opts.on_commit so it can be passed as is, with
 * the metrics as its context. */
void http_metrics_observe_commit(void *metrics, size_t groups, size_t transfers, int64_t commit_ns);

/* The exposition text (malloc'd, caller frees); NULL on allocation failure. */
char *http_metrics_render(struct http_metrics *m, size_t *len);

#endif
