/* qr_svg.c: see qr_svg.h. */
#include "util/qr_svg.h"

#include <errno.h>

#include <qrencode.h>
#include <sodium.h>

#include "util/svg.h"

#define QUIET 4

enum err qr_svg(const char *text, char **out)
{
    *out = NULL;
    errno = 0;
    /* Mode hint 8-bit, but runs of digits go in numeric mode (3.3 bits a
     * digit, not 8): an 18-digit code fits version 1, whose mask search is
     * half the work of version 2's. */
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL)
        return errno == ENOMEM ? ERR_NOMEM : ERR_INVALID_PARAM;
    int w = qr->width, side = w + 2 * QUIET;
    struct svg svg;
    svg_open(&svg, side, side);
    /* Dark modules merged into horizontal runs: a third of the path. */
    for (int y = 0; y < w; y++) {
        for (int x = 0; x < w;) {
            if (!(qr->data[y * w + x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < w && (qr->data[y * w + x + run] & 1))
                run++;
            svg_box(&svg, x + QUIET, y + QUIET, run, 1);
            x += run;
        }
    }
    /* The module matrix is the secret too. */
    sodium_memzero(qr->data, (size_t)w * (size_t)w);
    QRcode_free(qr);
    return svg_close(&svg, out);
}
