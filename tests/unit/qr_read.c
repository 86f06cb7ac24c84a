/* qr_read.c: see qr_read.h. */
#include "qr_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zbar.h>

#define PX 4 /* pixels a module: a scanner never sees one pixel a module */

static bool paint(const char *svg, unsigned char *img, int side)
{
    const char *p = strstr(svg, " d='");
    if (p == NULL)
        return false;
    p += 4;
    while (*p == 'M') {
        int x, y, w, h, w2, used = 0;
        if (sscanf(p, "M%d %dh%dv%dh-%dz%n", &x, &y, &w, &h, &w2, &used) != 5 || used == 0 || w != w2 || x < 0 ||
            y < 0 || w <= 0 || h <= 0 || x + w > side || y + h > side)
            return false;
        for (int r = y * PX; r < (y + h) * PX; r++)
            memset(img + (size_t)r * (size_t)(side * PX) + (size_t)(x * PX), 0, (size_t)(w * PX));
        p += used;
    }
    return strncmp(p, "'/>", 3) == 0;
}

bool qr_read_svg(const char *svg, char *out, size_t n)
{
    int side = 0;
    if (sscanf(svg, "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 %d %*d'", &side) != 1 || side <= 0 ||
        side > 200)
        return false;
    size_t dim = (size_t)(side * PX);
    unsigned char *img = malloc(dim * dim);
    if (img == NULL)
        return false;
    memset(img, 0xff, dim * dim);
    bool ok = false;
    if (paint(svg, img, side)) {
        zbar_image_scanner_t *scanner = zbar_image_scanner_create();
        zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
        zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
        zbar_image_t *image = zbar_image_create();
        zbar_image_set_format(image, zbar_fourcc('Y', '8', '0', '0'));
        zbar_image_set_size(image, (unsigned)dim, (unsigned)dim);
        zbar_image_set_data(image, img, dim * dim, NULL);
        if (zbar_scan_image(scanner, image) == 1) {
            const zbar_symbol_t *sym = zbar_image_first_symbol(image);
            const char *text = zbar_symbol_get_data(sym);
            if (zbar_symbol_get_type(sym) == ZBAR_QRCODE && text != NULL && strlen(text) < n) {
                strcpy(out, text);
                ok = true;
            }
        }
        zbar_image_destroy(image);
        zbar_image_scanner_destroy(scanner);
    }
    free(img);
    return ok;
}
