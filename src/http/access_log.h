/* access_log.h: one structured log line per finished request.
 *
 *   {"event":"http_request","method":"GET","route":"/v1/payments/{id}",
 *    "status":200,"duration_ms":1.234,"request_id":"req_…"}
 *
 * The route is the matched pattern ("unmatched" otherwise), never the raw
 * path: paths carry ids and, from a hostile client, anything at all.  Query
 * strings, headers and bodies are never logged.  A request whose connection
 * failed before its reply was fully sent also has "aborted": true.
 */
#ifndef KESSAI_HTTP_ACCESS_LOG_H
#define KESSAI_HTTP_ACCESS_LOG_H

#include <stdbool.h>
#include <stdint.h>

struct http_request;

void http_access_log(const struct http_request *req, int64_t duration_ns, bool aborted);

#endif
