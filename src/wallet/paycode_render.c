/* paycode_render.c: a payment code as the app shows it: a QR code
 * (util/qr_svg.h, libqrencode) and a Code 128 barcode (libzint), both SVG
 * documents, for whichever scanner the register has.
 *
 * The barcode is drawn from libzint's vector output (one <rect> per bar),
 * not with its own SVG writer, which only writes files: the code is a
 * one-time credential and must never touch a disk.  No human-readable text
 * under the bars: the app prints the digits itself, larger.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zint.h>

#include "util/luhn.h"
#include "util/qr_svg.h"
#include "wallet/paycode.h"

/* Code 128 asks for a quiet zone of at least 10 modules on each side. */
#define QUIET_MODULES 10
#define BAR_HEIGHT 50 /* modules: about a quarter of the width of an 18-digit code */

static bool code_ok(const char *code)
{
    return code != NULL && strnlen(code, PAYCODE_DIGITS + 1) == PAYCODE_DIGITS && luhn_valid(code);
}

enum err paycode_qr_svg(const char *code, char **svg)
{
    *svg = NULL;
    if (!code_ok(code))
        return ERR_INVALID_PARAM;
    return qr_svg(code, svg);
}

/* The vector image as an SVG document: a white background, black bars. */
static enum err write_svg(const struct zint_vector *v, char **svg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return ERR_NOMEM;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %g %g\" shape-rendering=\"crispEdges\">"
            "<rect width=\"%g\" height=\"%g\" fill=\"#fff\"/><g fill=\"#000\">",
            (double)v->width, (double)v->height, (double)v->width, (double)v->height);
    for (const struct zint_vector_rect *r = v->rectangles; r; r = r->next)
        if (r->colour == -1) /* foreground; other colours are not used by Code 128 */
            fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\"/>", (double)r->x, (double)r->y,
                    (double)r->width, (double)r->height);
    fputs("</g></svg>", f);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) {
        free(buf);
        return ERR_NOMEM;
    }
    *svg = buf;
    return ERR_OK;
}

enum err paycode_barcode_svg(const char *code, char **svg)
{
    *svg = NULL;
    if (!code_ok(code))
        return ERR_INVALID_PARAM;
    struct zint_symbol *sym = ZBarcode_Create();
    if (sym == NULL)
        return ERR_NOMEM;
    sym->symbology = BARCODE_CODE128;
    sym->show_hrt = 0;
    sym->whitespace_width = QUIET_MODULES;
    sym->height = BAR_HEIGHT;
    enum err e = ERR_INTERNAL;
    /* Warnings (< ZINT_ERROR) still produce a valid symbol. */
    if (ZBarcode_Encode(sym, (const unsigned char *)code, PAYCODE_DIGITS) < ZINT_ERROR &&
        ZBarcode_Buffer_Vector(sym, 0) < ZINT_ERROR && sym->vector != NULL)
        e = write_svg(sym->vector, svg);
    /* The symbol holds the code as text and as bars: wipe before freeing. */
    sodium_memzero(sym->text, sizeof sym->text);
    sodium_memzero(sym->encoded_data, sizeof sym->encoded_data);
    ZBarcode_Delete(sym);
    return e;
}
