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
    size_t cap = s->cap ? s->cap : 4096; /* a payment code's QR code without growing */
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

/* A decimal integer at p; returns the end.  Coordinates are small, but
 * any int is written right. */
static char *int_at(char *p, int v)
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
    while (n)
        *p++ = tmp[--n];
    return p;
}

static void put_int(struct svg *s, int v)
{
    char tmp[16];
    size_t n = (size_t)(int_at(tmp, v) - tmp);
    if (reserve(s, n)) {
        memcpy(s->buf + s->len, tmp, n);
        s->len += n;
    }
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

/* One reserve a box, not one a token: a QR code is ~150 boxes, drawn for
 * every payment code. */
void svg_box(struct svg *s, int x, int y, int w, int h)
{
    char box[8 + 5 * 11], *p = box; /* "M h v h- z" and five ints of up to 11 characters */
    *p++ = 'M';
    p = int_at(p, x);
    *p++ = ' ';
    p = int_at(p, y);
    *p++ = 'h';
    p = int_at(p, w);
    *p++ = 'v';
    p = int_at(p, h);
    *p++ = 'h';
    *p++ = '-';
    p = int_at(p, w);
    *p++ = 'z';
    size_t n = (size_t)(p - box);
    if (reserve(s, n)) {
        memcpy(s->buf + s->len, box, n);
        s->len += n;
    }
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
