/* svg.h: a black-on-white SVG image of axis-aligned boxes (QR modules,
 * barcode bars), built in memory.
 *
 * Written by hand rather than with printf: for a payment code, formatting
 * the coordinates through stdio cost more CPU than encoding the QR code
 * itself.  The image may encode a secret (a payment or top-up code), so a
 * buffer that grows is wiped before it is freed, and svg_abandon wipes too.
 *
 * The document holds nothing a JSON string must escape (printable ASCII,
 * attributes in single quotes, no backslash), so a reply can carry it as
 * it is (api/paycodes.c).
 *
 * Usage: svg_open, any number of svg_box, then svg_close (or svg_abandon).
 * Errors are remembered and reported once by svg_close.  Pure; any thread.
 */
#ifndef KESSAI_UTIL_SVG_H
#define KESSAI_UTIL_SVG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

struct svg {
    char *buf;
    size_t len, cap;
    bool failed;
};

/* Start a width x height image (user units), white background, and one
 * black path for the boxes. */
void svg_open(struct svg *s, int width, int height);
/* A black box; w and h must be positive. */
void svg_box(struct svg *s, int x, int y, int w, int h);
/* *out: the malloc'd NUL-terminated document.  ERR_NOMEM if anything
 * failed (nothing is returned then, and the buffer is wiped and freed). */
enum err svg_close(struct svg *s, char **out);
/* Drop an unfinished image (wiped). */
void svg_abandon(struct svg *s);

#endif
