/* request.c: the request object's life (see internal.h) and its accessors. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http/internal.h"
#include "http/request.h"
#include "util/timeutil.h"
#include "util/wipe.h"

/* Read once, on the MHD thread that owns the connection, so that
 * completers on other threads never touch the connection for it. */
static void fill_client_addr(struct MHD_Connection *conn, char out[HTTP_ADDR_MAX])
{
    snprintf(out, HTTP_ADDR_MAX, "unknown");
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, HTTP_ADDR_MAX);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        /* One client, one spelling: ::ffff:a.b.c.d is the IPv4 peer a.b.c.d. */
        if (IN6_IS_ADDR_V4MAPPED(a6))
            inet_ntop(AF_INET, &a6->s6_addr[12], out, HTTP_ADDR_MAX);
        else
            inet_ntop(AF_INET6, a6, out, HTTP_ADDR_MAX);
    }
}

struct http_request *http_request_new(struct http_server *srv, struct MHD_Connection *conn, const char *method,
                                      const char *path)
{
    struct http_request *req = calloc(1, sizeof *req);
    if (req == NULL)
        return NULL;
    req->srv = srv;
    req->conn = conn;
    pthread_mutex_init(&req->mu, NULL);
    atomic_init(&req->refs, 1);
    req->state = REQ_READING;
    req->path = path;
    req->route_index = -1;
    req->start_ns = time_mono_ns();
    /* Methods are client-chosen bytes of any length: keep a bounded,
     * printable copy for the log, which is all it is needed for once
     * routing is done. */
    size_t i = 0;
    for (; method[i] && i + 1 < sizeof req->method; i++)
        req->method[i] = isalnum((unsigned char)method[i]) || method[i] == '-' || method[i] == '_' ? method[i] : '?';
    req->method[i] = '\0';
    ids_random(req->id, "req");
    fill_client_addr(conn, req->client_addr);
    return req;
}

static void free_reply(struct http_reply *r)
{
    wipe_free(r->body); /* session tokens, recovery codes, otpauth URIs */
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i][0]);
        free(r->headers[i][1]);
    }
}

void http_request_unref(struct http_request *req)
{
    if (req == NULL || atomic_fetch_sub(&req->refs, 1) != 1)
        return;
    for (size_t i = 0; i < req->nparams; i++) {
        free(req->param_names[i]);
        free(req->param_values[i]);
    }
    wipe_free(req->body); /* passwords, codes, tokens; the JSON tree is wiped by jansson's free (util/wipe.h) */
    json_decref(req->json);
    free_reply(&req->reply);
    pthread_mutex_destroy(&req->mu);
    free(req);
}

const char *http_request_id(const struct http_request *req) { return req->id; }
const char *http_request_method(const struct http_request *req) { return req->method; }
const char *http_request_path(const struct http_request *req) { return req->path; }
const char *http_request_client_addr(const struct http_request *req) { return req->client_addr; }
json_t *http_request_json(const struct http_request *req) { return req->json; }

const char *http_request_param(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->param_names[i], name) == 0)
            return req->param_values[i];
    return NULL;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_request_body(const struct http_request *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body ? req->body : "";
}
