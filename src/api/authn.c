#include "api/authn.h"

#include <string.h>
#include <strings.h>

#include "http/request.h"

const char *api_bearer_token(const char *h)
{
    static const char scheme[] = "Bearer ";
    if (h == NULL || strncasecmp(h, scheme, sizeof scheme - 1) != 0)
        return NULL;
    h += sizeof scheme - 1;
    while (*h == ' ')
        h++;
    /* Exactly a token: no trailing junk, no second credential. */
    size_t len = strlen(h);
    if (len == 0 || len >= SESSION_TOKEN_BUF || strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                          "0123456789-_") != len)
        return NULL;
    return h;
}

enum err api_authenticate(struct http_request *req, const struct auth_ctx *a, enum session_need need,
                          struct auth_session *out)
{
    const char *token = api_bearer_token(http_request_header(req, "Authorization"));
    const char *device = http_request_header(req, "Kessai-Device");
    if (token == NULL)
        return ERR_UNAUTHENTICATED;
    enum err e = session_authenticate(a, token, device ? device : "", out);
    if (e != ERR_OK)
        return e == ERR_STORE || e == ERR_NOMEM || e == ERR_INTERNAL ? e : ERR_UNAUTHENTICATED;
    return session_require(out, need, a->now);
}
