/* qr_read.h (tests): read back a QR code that util/svg.h drew, the way a
 * register's scanner would: the SVG's boxes are painted onto a bitmap, 4
 * pixels a module, and zbar decodes it.  Only our own drawing is parsed
 * (M x y h w v h h-w z boxes); anything else fails the read. */
#ifndef KESSAI_TESTS_QR_READ_H
#define KESSAI_TESTS_QR_READ_H

#include <stdbool.h>
#include <stddef.h>

/* true with the decoded text in out (NUL-terminated) when the image holds
 * exactly one QR code and its text fits n bytes. */
bool qr_read_svg(const char *svg, char *out, size_t n);

#endif
