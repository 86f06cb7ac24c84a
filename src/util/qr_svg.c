/* qr_svg.c: see qr_svg.h. */
#include "util/qr_svg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#define QUIET 4

enum err qr_svg(const char *text, char **out)
{
    *out = NULL;
    errno = 0;
    QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (qr == NULL)
        return errno == ENOMEM ? ERR_NOMEM : ERR_INVALID_PARAM;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL) {
        QRcode_free(qr);
        return ERR_NOMEM;
    }
    int w = qr->width, side = w + 2 * QUIET;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
            side, side, side, side);
    for (int y = 0; y < w; y++) {
        for (int x = 0; x < w;) {
            if (!(qr->data[y * w + x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < w && (qr->data[y * w + x + run] & 1))
                run++;
            fprintf(f, "M%d %dh%dv1h-%dz", x + QUIET, y + QUIET, run, run);
            x += run;
        }
    }
    fputs("\"/></svg>", f);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) {
        free(buf);
        QRcode_free(qr);
        return ERR_NOMEM;
    }
    QRcode_free(qr);
    *out = buf;
    return ERR_OK;
}
