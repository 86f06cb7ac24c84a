#include "http/access_log.h"

#include "http/internal.h"
#include "util/log.h"

void http_access_log(const struct http_request *req, int64_t duration_ns, bool aborted)
{
    enum log_level level = aborted || req->sent_status >= 500 ? LOG_WARN : LOG_INFO;
    if (!log_enabled(level))
        return;
    json_t *f = json_pack("{s:s, s:s, s:i, s:f, s:s}", "method", req->method, "route",
                          req->route ? req->route->pattern : "unmatched", "status", req->sent_status,
                          "duration_ms", (double)(duration_ns / 1000) / 1000.0, "request_id", req->id);
    if (f && aborted)
        json_object_set_new(f, "aborted", json_true());
    log_event(level, "http_request", f);
}
