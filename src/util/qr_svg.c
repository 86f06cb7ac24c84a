/* qr_svg.c: see qr_svg.h. */
#include "util/qr_svg.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <qrencode.h>
#include <sodium.h>

#include "util/svg.h"

#define QUIET 4
/* Any of the eight masks makes a valid symbol that decoders read (ISO/IEC
 * 18004 7.8); the encoder's search picks the one with the lowest penalty
 * score (fewest long runs, blocks and finder-like patterns), which helps
 * a poor camera.  Mask 0, the checkerboard, scores about as well on
 * average, but noticeably worse for about one code in ten (a reviewer's
 * estimate over 2,000 random codes): a trade to check on the registers'
 * scanners before launch.  The tests scan such codes back
 * (tests/unit/qr_read.h). */
#define DIGITS_MASK 0

/* libqrencode's encoder for a given mask.  Exported by the library but
 * not declared in qrencode.h, so bound weakly: where it is missing the
 * code falls back to the full search, which is correct, only slower.  Not
 * part of the library's promised interface either: a new libqrencode must
 * be checked against this declaration (the tests scan codes back). */
extern QRcode *QRcode_encodeMask(QRinput *input, int mask) __attribute__((weak));

static bool all_digits(const char *text)
{
    if (*text == '\0')
        return false;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* A code of digits in numeric mode with one fixed mask: the search over
 * the eight masks was 40 of the 44 µs of an 18-digit code, and a payment
 * code is drawn for every payment. */
static QRcode *encode_digits(const char *digits)
{
    QRinput *in = QRinput_new2(0, QR_ECLEVEL_M);
    if (in == NULL)
        return NULL;
    QRcode *qr = NULL;
    if (QRinput_append(in, QR_MODE_NUM, (int)strlen(digits), (const unsigned char *)digits) == 0)
        qr = QRcode_encodeMask(in, DIGITS_MASK);
    QRinput_free(in);
    return qr;
}

enum err qr_svg(const char *text, char **out)
{
    *out = NULL;
    errno = 0;
    /* Otherwise mode hint 8-bit, but runs of digits go in numeric mode
     * (3.3 bits a digit, not 8), error correction M either way: an 18-digit
     * code fits version 1. */
    QRcode *qr = QRcode_encodeMask != NULL && all_digits(text)
                     ? encode_digits(text)
                     : QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
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
