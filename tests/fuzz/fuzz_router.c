/* fuzz_router.c: hostile request lines against the router.  Input: method,
 * a newline, then the path.  A match must point inside the path it was given
 * and name a route whose method fits; a 405 must list some method. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum http_verdict none(struct http_request *req, void *app)
{
    (void)req;
    (void)app;
    return HTTP_REPLIED;
}

static const struct http_route routes[] = {
    {"GET", "/healthz", none, 0},
    {"GET", "/v1/payments/{id}", none, 0},
    {"POST", "/v1/payments", none, HTTP_ROUTE_JSON_BODY},
    {"POST", "/pos/v1/charges/{id}/refunds", none, HTTP_ROUTE_JSON_BODY},
    {"DELETE", "/v1/sessions/{id}", none, 0},
    {"GET", "/v1/sessions/{id}", none, 0},
    {"GET", "/a/{b}/{c}/{d}/{e}", none, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char *nl = strchr(s, '\n');
    const char *method = "GET", *path = s;
    if (nl) {
        *nl = '\0';
        method = s;
        path = nl + 1;
    }
    size_t plen = strlen(path);
    struct http_match m;
    char allow[HTTP_ALLOW_MAX];
    enum err e = http_route_match(routes, sizeof routes / sizeof routes[0], method, path, &m, allow);
    if (e == ERR_OK) {
        if (m.index >= sizeof routes / sizeof routes[0] || m.nparams > HTTP_PARAMS_MAX)
            abort();
        for (size_t i = 0; i < m.nparams; i++)
            if (m.params[i].value < path || m.params[i].value + m.params[i].value_len > path + plen ||
                m.params[i].value_len == 0 || memchr(m.params[i].value, '/', m.params[i].value_len))
                abort();
    } else if (e == ERR_METHOD_NOT_ALLOWED) {
        if (allow[0] == '\0' || strnlen(allow, HTTP_ALLOW_MAX) == HTTP_ALLOW_MAX)
            abort();
    } else if (e != ERR_NOT_FOUND) {
        abort();
    }
    free(s);
    return 0;
}
