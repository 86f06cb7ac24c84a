/* bench_http.c: the load generator's HTTP/1.1 client (bench.h).
 *
 * Why not libcurl: measured on the 2-core development machine, where the
 * generator shares the cores with kessaid, this client costs a few
 * microseconds per request against tens for libcurl's multi interface (see
 * bench/README.md), and every microsecond the generator spends is one
 * kessaid does not get.  It handles exactly what kessaid sends: a status
 * line, headers, a Content-Length body (no chunked encoding, no 1xx), one
 * request in flight per connection, keep-alive unless told to close.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/bench.h"

#define BH_READ_CHUNK 16384

int bh_connect(struct bh_conn *c, const struct sockaddr_in *addr)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

int bh_reconnect(struct bh_conn *c, const struct sockaddr_in *addr)
{
    struct bh_conn keep = *c;
    if (c->fd >= 0)
        close(c->fd);
    int rc = bh_connect(c, addr);
    int fd = c->fd;
    *c = keep;
    c->fd = fd;
    c->out_len = c->out_off = 0;
    return rc;
}

void bh_close(struct bh_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->out);
    free(c->in);
    c->out = c->in = NULL;
    c->out_len = c->out_off = c->out_cap = c->in_len = c->in_cap = 0;
}

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    char *p = realloc(*buf, n);
    if (p == NULL)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

int bh_write(struct bh_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN)
                return 0; /* full, or the connect is still on its way */
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->out_off += (size_t)k;
    }
    return 1;
}

int bh_send(struct bh_conn *c, const char *req, size_t len)
{
    if (grow(&c->out, &c->out_cap, len) != 0)
        return -1;
    memcpy(c->out, req, len);
    c->out_len = len;
    c->out_off = 0;
    c->status = 0;
    c->body = NULL;
    c->body_len = 0;
    return bh_write(c) < 0 ? -1 : 0;
}

/* A complete response at the start of c->in?  1 yes (fields set), 0 not
 * yet, -1 malformed. */
static int parse(struct bh_conn *c)
{
    const char *end = c->in_len >= 4 ? memmem(c->in, c->in_len, "\r\n\r\n", 4) : NULL;
    if (end == NULL)
        return c->in_len > 65536 ? -1 : 0;
    size_t head = (size_t)(end - c->in) + 4;
    if (head < 12 || memcmp(c->in, "HTTP/1.", 7) != 0)
        return -1;
    int status = atoi(c->in + 9);
    if (status < 100 || status > 599)
        return -1;
    long clen = -1;
    bool close_after = false;
    /* Headers, one per line, after the status line. */
    const char *p = memchr(c->in, '\n', head) + 1;
    while (p < c->in + head - 2) {
        const char *eol = memchr(p, '\n', (size_t)(c->in + head - p));
        if (eol == NULL)
            break;
        if (eol - p > 15 && strncasecmp(p, "content-length:", 15) == 0)
            clen = strtol(p + 15, NULL, 10);
        else if (eol - p > 11 && strncasecmp(p, "connection:", 11) == 0) {
            const char *v = p + 11;
            while (*v == ' ')
                v++;
            close_after = strncasecmp(v, "close", 5) == 0;
        } else if (eol - p > 18 && strncasecmp(p, "transfer-encoding:", 18) == 0)
            return -1; /* kessaid always sends a length */
        p = eol + 1;
    }
    if (clen < 0)
        return -1;
    if (c->in_len < head + (size_t)clen)
        return 0;
    c->status = status;
    c->body = c->in + head;
    c->body_len = (size_t)clen;
    c->close_after = close_after;
    c->consumed = head + (size_t)clen;
    return 1;
}

int bh_read(struct bh_conn *c)
{
    for (;;) {
        if (grow(&c->in, &c->in_cap, c->in_len + BH_READ_CHUNK + 1) != 0)
            return -1;
        ssize_t k = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1, 0);
        if (k == 0)
            return -1;
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        c->in_len += (size_t)k;
        c->in[c->in_len] = '\0';
        /* Parse after every read: a complete answer costs no extra recv. */
        int r = parse(c);
        if (r != 0)
            return r;
    }
    return 0;
}

void bh_done(struct bh_conn *c)
{
    if (c->consumed > c->in_len)
        c->consumed = c->in_len;
    memmove(c->in, c->in + c->consumed, c->in_len - c->consumed);
    c->in_len -= c->consumed;
    c->consumed = 0;
    c->body = NULL;
}

int bh_get_status(const struct sockaddr_in *addr, const char *path, int timeout_ms)
{
    struct bh_conn c;
    if (bh_connect(&c, addr) != 0)
        return -1;
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n", path);
    int status = -1;
    if (n > 0 && (size_t)n < sizeof req) {
        struct pollfd pfd = {.fd = c.fd, .events = POLLOUT};
        if (poll(&pfd, 1, timeout_ms) == 1 && !(pfd.revents & (POLLERR | POLLHUP)) &&
            bh_send(&c, req, (size_t)n) == 0) {
            int r = 0;
            while (r == 0) {
                if (c.out_off < c.out_len && bh_write(&c) < 0)
                    break;
                pfd = (struct pollfd){.fd = c.fd, .events = POLLIN | (c.out_off < c.out_len ? POLLOUT : 0)};
                if (poll(&pfd, 1, timeout_ms) != 1)
                    break;
                if (pfd.revents & POLLIN)
                    r = bh_read(&c);
                else if (pfd.revents & (POLLERR | POLLHUP))
                    r = -1;
            }
            if (r == 1)
                status = c.status;
        }
    }
    bh_close(&c);
    return status;
}
