/* qr_svg.h: a QR code as an SVG image, for the wallet app to display: a
 * TOTP enrolment URI for the customer's authenticator app, a cash top-up
 * or payment code for the register's scanner.
 *
 * Encoding is libqrencode's (byte mode, with digits in numeric mode; error
 * correction M).  A text of digits only (a payment or top-up code, drawn
 * for every payment) takes one fixed mask instead of the search for the
 * best of eight: ten times cheaper, a valid symbol, but not always the
 * easiest to read (qr_svg.c).
 * The drawing (util/svg.h) is one <path> of dark modules, merged into
 * horizontal runs, with the 4-module quiet zone the standard asks for.
 * The SVG carries the secret it encodes: it is a reply body, never logged
 * or stored.  Pure; any thread.
 */
#ifndef KESSAI_UTIL_QR_SVG_H
#define KESSAI_UTIL_QR_SVG_H

#include "util/err.h"

/* *out: a malloc'd NUL-terminated SVG document.  ERR_INVALID_PARAM if text
 * does not fit a QR code, ERR_NOMEM. */
enum err qr_svg(const char *text, char **out);

#endif
