/* paycode_render.c: a payment code as the app shows it: a QR code
 * (util/qr_svg.h, libqrencode) and a Code 128 barcode (libzint), both SVG
 * documents, for whichever scanner the register has.
 *
 * The barcode is drawn from libzint's vector output (one box per bar),
 * not with its own SVG writer, which only writes files: the code is a
 * one-time credential and must never touch a disk.  No human-readable text
 * under the bars: the app prints the digits itself, larger.
 */
#include <stdbool.h>
#include <string.h>

#include <sodium.h>
#include <zint.h>

#include "util/luhn.h"
#include "util/qr_svg.h"
#include "util/svg.h"
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

/* libzint's vector bars as an SVG document (util/svg.h).  Code 128 bars
 * sit on whole units; anything else is not a picture we drew. */
static enum err write_svg(const struct zint_vector *v, char **svg)
{
    struct svg out;
    svg_open(&out, (int)v->width, (int)v->height);
    for (const struct zint_vector_rect *r = v->rectangles; r; r = r->next) {
        if (r->colour != -1) /* foreground only; Code 128 uses no other colour */
            continue;
        int x = (int)r->x, y = (int)r->y, w = (int)r->width, h = (int)r->height;
        if (x != r->x || y != r->y || w != r->width || h != r->height || w <= 0 || h <= 0) {
            svg_abandon(&out);
            return ERR_INTERNAL;
        }
        svg_box(&out, x, y, w, h);
    }
    return svg_close(&out, svg);
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
