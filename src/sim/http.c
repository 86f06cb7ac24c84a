/* http.c: the simulator's HTTP/1.1 client (sim.h).
 *
 * Blocking and one request per connection (Connection: close): the
 * simulator runs one event at a time, so nothing is gained by keeping
 * connections, and a fresh connection per request lets each simulated
 * person call from its own client address.  On loopback every address of
 * 127/8 reaches the server (Linux), so a customer binds 127.x.y.z and the
 * server's per-address rate limits and blocks see many callers, as they
 * would in production; against another host the source is the machine's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sim/sim.h"

#define SIM_HTTP_TIMEOUT_S 60
#define SIM_HTTP_MAX (8 * 1024 * 1024)

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int dial(const struct sim_http *h, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = SIM_HTTP_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (h->loopback && src && *src) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        if (inet_pton(AF_INET, src, &a.sin_addr) == 1)
            (void)bind(fd, (struct sockaddr *)&a, sizeof a); /* else: the default source */
    }
    for (int tries = 0; connect(fd, (const struct sockaddr *)&h->addr, sizeof h->addr) != 0; tries++) {
        /* A full accept queue on a loaded machine: try again shortly. */
        if ((errno != ECONNREFUSED && errno != EAGAIN && errno != EINTR) || tries >= 50) {
            close(fd);
            return -1;
        }
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Read until the whole answer (head + Content-Length) or the end. */
static char *read_answer(int fd, size_t *len, const char **body, size_t *body_len, int *status)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap + 1);
    long clen = -1;
    size_t head = 0;
    while (buf) {
        if (n == cap) {
            if (cap >= SIM_HTTP_MAX)
                break;
            char *p = realloc(buf, cap * 2 + 1);
            if (p == NULL)
                break;
            buf = p;
            cap *= 2;
        }
        ssize_t k = recv(fd, buf + n, cap - n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
        buf[n] = '\0';
        if (head == 0) {
            char *end = strstr(buf, "\r\n\r\n");
            if (end == NULL)
                continue;
            head = (size_t)(end - buf) + 4;
            for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n"))
                if (strncasecmp(line + 2, "content-length:", 15) == 0)
                    clen = strtol(line + 17, NULL, 10);
        }
        if (head && clen >= 0 && n >= head + (size_t)clen)
            break;
    }
    if (buf == NULL || head == 0 || n < 12 || strncmp(buf, "HTTP/1.", 7) != 0) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *status = atoi(buf + 9);
    *len = n;
    *body = buf + head;
    *body_len = clen >= 0 && head + (size_t)clen <= n ? (size_t)clen : n - head;
    return buf;
}

void sim_http_call(const struct sim_http *h, const char *src, const char *method, const char *path,
                   const char *headers, const char *body, struct sim_resp *out)
{
    memset(out, 0, sizeof *out);
    int64_t t0 = now_us();
    size_t blen = body ? strlen(body) : 0;
    size_t cap = strlen(path) + (headers ? strlen(headers) : 0) + blen + 256;
    char *req = malloc(cap);
    if (req == NULL)
        return;
    int n = snprintf(req, cap,
                     "%s %s HTTP/1.1\r\nHost: kessai\r\nConnection: close\r\nUser-Agent: kessai-simulate\r\n%s"
                     "%s%zu\r\n\r\n",
                     method, path, headers ? headers : "",
                     body ? "Content-Type: application/json\r\nContent-Length: " : "Content-Length: ", blen);
    if (n < 0 || (size_t)n + blen >= cap) {
        free(req);
        return;
    }
    memcpy(req + n, body ? body : "", blen);
    int fd = dial(h, src);
    if (fd >= 0 && send_all(fd, req, (size_t)n + blen) == 0) {
        size_t len = 0, bl = 0;
        const char *b = NULL;
        int status = 0;
        char *raw = read_answer(fd, &len, &b, &bl, &status);
        if (raw) {
            out->status = status;
            if (bl > 0)
                out->j = json_loadb(b, bl, 0, NULL);
            json_t *e = json_object_get(out->j, "error");
            const char *c = json_string_value(json_object_get(e, "code"));
            const char *p = json_string_value(json_object_get(e, "param"));
            snprintf(out->code, sizeof out->code, "%s", c ? c : "");
            snprintf(out->param, sizeof out->param, "%s", p ? p : "");
            sodium_memzero(raw, len); /* answers carry tokens */
            free(raw);
        }
    }
    if (fd >= 0)
        close(fd);
    sodium_memzero(req, (size_t)n + blen);
    free(req);
    int64_t dt = now_us() - t0;
    out->us = dt > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
}

void sim_resp_free(struct sim_resp *r)
{
    json_decref(r->j);
    r->j = NULL;
}

const char *sim_resp_str(const struct sim_resp *r, const char *key)
{
    const char *s = json_string_value(json_object_get(r->j, key));
    return s ? s : "";
}

json_t *sim_resp_get(const struct sim_resp *r, const char *dotted)
{
    json_t *cur = r->j;
    char part[64];
    const char *p = dotted;
    while (cur && *p) {
        size_t k = strcspn(p, ".");
        snprintf(part, sizeof part, "%.*s", (int)k, p);
        cur = json_object_get(cur, part);
        p += k;
        if (*p == '.')
            p++;
    }
    return cur;
}
