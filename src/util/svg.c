/* svg.c: see svg.h. */
#include "util/svg.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static bool reserve(struct svg *s, size_t more)
{
    if (s->failed)
        return false;
    if (s->len + more < s->cap)
        return true;
    size_t cap = s->cap ? s->cap : 1024;
    while (cap <= s->len + more)
        cap *= 2;
    /* Not realloc: the old block would be freed with the secret in it. */
    char *p = malloc(cap);
    if (p == NULL) {
        svg_abandon(s);
        s->failed = true;
        return false;
    }
    if (s->buf) {
        memcpy(p, s->buf, s->len);
        sodium_memzero(s->buf, s->cap);
        free(s->buf);
    }
    s->buf = p;
    s->cap = cap;
    return true;
}

static void put(struct svg *s, const char *text)
{
    size_t n = strlen(text);
    if (reserve(s, n)) {
        memcpy(s->buf + s->len, text, n);
        s->len += n;
    }
}

/* A decimal integer; coordinates are small, but any int is written right. */
static void put_int(struct svg *s, int v)
{
    char tmp[16];
    size_t n = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[n++] = '-';
    if (!reserve(s, n))
        return;
    while (n)
        s->buf[s->len++] = tmp[--n];
}

void svg_open(struct svg *s, int width, int height)
{
    *s = (struct svg){0};
    put(s, "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 ");
    put_int(s, width);
    put(s, " ");
    put_int(s, height);
    put(s, "' shape-rendering='crispEdges'><rect width='");
    put_int(s, width);
    put(s, "' height='");
    put_int(s, height);
    put(s, "' fill='#fff'/><path fill='#000' d='");
}

void svg_box(struct svg *s, int x, int y, int w, int h)
{
    put(s, "M");
    put_int(s, x);
    put(s, " ");
    put_int(s, y);
    put(s, "h");
    put_int(s, w);
    put(s, "v");
    put_int(s, h);
    put(s, "h-");
    put_int(s, w);
    put(s, "z");
}

enum err svg_close(struct svg *s, char **out)
{
    *out = NULL;
    put(s, "'/></svg>");
    if (s->failed || !reserve(s, 1))
        return ERR_NOMEM;
    s->buf[s->len] = '\0';
    *out = s->buf;
    *s = (struct svg){0};
    return ERR_OK;
}

void svg_abandon(struct svg *s)
{
    if (s->buf) {
        sodium_memzero(s->buf, s->cap);
        free(s->buf);
    }
    *s = (struct svg){0};
}
