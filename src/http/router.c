/* router.c: linear matching over the route table.  A linear scan is fine for
 * the few dozen routes kessaid has: it costs less than parsing the headers,
 * and keeps "first match in table order wins" trivially true. */
#include "http/router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Split the next segment off *p ("/a/b" -> "a", *p = "/b").  false at end. */
static bool next_segment(const char **p, const char **seg, size_t *len)
{
    if (**p != '/')
        return false;
    const char *s = *p + 1;
    const char *e = strchr(s, '/');
    if (e == NULL)
        e = s + strlen(s);
    *seg = s;
    *len = (size_t)(e - s);
    *p = e;
    return true;
}

static bool is_param(const char *seg, size_t len) { return len >= 3 && seg[0] == '{' && seg[len - 1] == '}'; }

static bool path_matches(const char *pattern, const char *path, struct http_match *m)
{
    const char *pp = pattern, *rp = path;
    const char *ps = NULL, *rs = NULL;
    size_t pl = 0, rl = 0;
    m->nparams = 0;
    for (;;) {
        bool more_p = next_segment(&pp, &ps, &pl);
        bool more_r = next_segment(&rp, &rs, &rl);
        if (!more_p || !more_r)
            return !more_p && !more_r && *pp == '\0' && *rp == '\0';
        if (is_param(ps, pl)) {
            if (rl == 0 || m->nparams == HTTP_PARAMS_MAX)
                return false;
            m->params[m->nparams++] = (struct http_param){ps + 1, pl - 2, rs, rl};
        } else if (pl != rl || memcmp(ps, rs, pl) != 0) {
            return false;
        }
    }
}

static bool method_matches(const struct http_route *r, const char *method)
{
    return strcmp(r->method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0 && !(r->flags & HTTP_ROUTE_NO_HEAD));
}

static void allow_add(char allow[HTTP_ALLOW_MAX], const char *method)
{
    /* The same method may appear on two patterns matching the same path. */
    size_t ml = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += ml)
        if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0'))
            return;
    size_t used = strlen(allow);
    snprintf(allow + used, HTTP_ALLOW_MAX - used, "%s%s", used ? ", " : "", method);
}

enum err http_route_match(const struct http_route *routes, size_t n, const char *method, const char *path,
                          struct http_match *m, char allow[HTTP_ALLOW_MAX])
{
    bool path_seen = false;
    allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        struct http_match cand;
        if (!path_matches(routes[i].pattern, path, &cand))
            continue;
        if (method_matches(&routes[i], method)) {
            *m = cand;
            m->index = i;
            return ERR_OK;
        }
        path_seen = true;
        allow_add(allow, routes[i].method);
    }
    return path_seen ? ERR_METHOD_NOT_ALLOWED : ERR_NOT_FOUND;
}

enum err http_routes_check(const struct http_route *routes, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        const struct http_route *r = &routes[i];
        *bad = i;
        if (r->method == NULL || r->handler == NULL || r->pattern == NULL || r->pattern[0] != '/')
            return ERR_INVALID_PARAM;
        const char *p = r->pattern, *seg;
        size_t len, params = 0;
        while (next_segment(&p, &seg, &len)) {
            bool has_brace = memchr(seg, '{', len) || memchr(seg, '}', len);
            if (has_brace && !is_param(seg, len))
                return ERR_INVALID_PARAM;
            if (is_param(seg, len) && ++params > HTTP_PARAMS_MAX)
                return ERR_INVALID_PARAM;
        }
    }
    return ERR_OK;
}
