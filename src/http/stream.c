/* stream.c: streamed replies (stream.h) over libmicrohttpd's callback
 * responses, suspending the connection while the source is empty.
 *
 * Locks: s->mu alone, or srv->mu then s->mu (http_streams_end_all).  A wake
 * comes with the caller's own lock held (the feed hub's), which is never
 * taken under s->mu: pull runs without s->mu held.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "http/internal.h"
#include "http/reply.h"
#include "http/stream.h"

struct http_stream {
    struct http_server *srv;
    struct MHD_Connection *conn;
    struct http_stream_source src;
    pthread_mutex_t mu;
    bool suspended; /* by the reader, until a wake */
    bool woken;     /* a wake came while the reader was pulling */
    bool ending;    /* the server stops: end the body */
    struct http_stream *prev, *next; /* srv->streams, under srv->mu */
};

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct http_stream *s = cls;
    pthread_mutex_lock(&s->mu);
    bool ending = s->ending;
    s->woken = false;
    pthread_mutex_unlock(&s->mu);
    if (ending)
        return MHD_CONTENT_READER_END_OF_STREAM;
    long n = s->src.pull(s->src.ctx, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n > 0)
        return (ssize_t)n;
    /* Nothing now: sleep until a wake, unless one came meanwhile. */
    pthread_mutex_lock(&s->mu);
    if (!s->woken && !s->ending) {
        s->suspended = true;
        MHD_suspend_connection(s->conn);
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void unlist(struct http_stream *s)
{
    struct http_server *srv = s->srv;
    pthread_mutex_lock(&srv->mu);
    if (s->prev)
        s->prev->next = s->next;
    else if (srv->streams == s)
        srv->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&srv->mu);
}

static void release(void *cls)
{
    struct http_stream *s = cls;
    unlist(s);
    s->src.close(s->src.ctx);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void http_stream_wake(struct http_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->woken = true;
    if (s->suspended) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
    pthread_mutex_unlock(&s->mu);
}

enum http_verdict http_reply_stream(struct http_request *req, const char *content_type,
                                    const struct http_stream_source *src, struct http_stream **out)
{
    struct http_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        src->close(src->ctx);
        return http_reply_error(req, ERR_NOMEM, NULL);
    }
    *s = (struct http_stream){.srv = req->srv, .conn = req->conn, .src = *src};
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_lock(&req->srv->mu);
    /* A handler that runs once the drain began (its request's body came
     * late) would open a stream http_streams_end_all never saw: it would
     * sleep through the grace period, and MHD aborts the process when
     * stopped with a sleeping connection.  It ends at once instead. */
    s->ending = req->srv->stopping;
    s->next = req->srv->streams;
    if (s->next)
        s->next->prev = s;
    req->srv->streams = s;
    pthread_mutex_unlock(&req->srv->mu);
    pthread_mutex_lock(&req->mu);
    bool stored = http_reply_store_locked(req, 200, content_type, NULL, 0);
    if (stored)
        req->reply.stream = s;
    pthread_mutex_unlock(&req->mu);
    if (!stored) {
        release(s);
        return HTTP_REPLIED;
    }
    *out = s;
    return HTTP_REPLIED;
}

struct MHD_Response *http_stream_response(struct http_stream *s)
{
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, s, release);
    if (r == NULL)
        release(s);
    return r;
}

void http_streams_end_all(struct http_server *srv)
{
    pthread_mutex_lock(&srv->mu);
    for (struct http_stream *s = srv->streams; s; s = s->next) {
        pthread_mutex_lock(&s->mu);
        s->ending = true;
        s->woken = true;
        if (s->suspended) {
            s->suspended = false;
            MHD_resume_connection(s->conn);
        }
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&srv->mu);
}
