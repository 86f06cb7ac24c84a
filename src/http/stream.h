/* stream.h: a reply whose body is sent as it comes (server-sent events).
 *
 * The handler answers with http_reply_stream: status 200, the content type,
 * and a source the framework pulls from whenever the connection can take
 * more.  When the source has nothing, the connection is suspended (no
 * thread waits, no busy loop) until http_stream_wake, from any thread.
 *
 *   OPEN --pull > 0--> bytes sent --pull 0--> SUSPENDED --http_stream_wake--> OPEN
 *   OPEN/SUSPENDED --pull < 0, or the server stops--> END (the body ends)
 *   any --connection gone--> src.close(ctx): no pull, no wake after it returns
 *
 * The source's close is its last call, made when libmicrohttpd is done with
 * the response (also when the reply never went out).  Whoever may call
 * http_stream_wake must stop before close returns (the live feed: both
 * under the feed hub's lock).  http_server_stop ends every stream first, so
 * open streams never hold up a shutdown.
 */
#ifndef KESSAI_HTTP_STREAM_H
#define KESSAI_HTTP_STREAM_H

#include <stddef.h>

#include "http/router.h"

struct http_request;
struct http_stream;

struct http_stream_source {
    /* Up to max bytes into buf: how many (> 0), 0 for nothing now, -1 for
     * the end of the body. */
    long (*pull)(void *ctx, char *buf, size_t max);
    void (*close)(void *ctx);
    void *ctx;
};

/* Reply 200 with content_type (static) streaming from src.  *out is the
 * handle for http_stream_wake, valid until src.close runs.  Returns
 * HTTP_REPLIED; on failure (out of memory) the reply is a 500 and src.close
 * has run. */
enum http_verdict http_reply_stream(struct http_request *req, const char *content_type,
                                    const struct http_stream_source *src, struct http_stream **out);
/* There is more to pull: resume the connection if it sleeps. */
void http_stream_wake(struct http_stream *s);

#endif
