/* coord.h: coordinates as exact decimal text <-> integer micro-degrees.
 *
 * "35.681236" is 35681236 micro-degrees, exactly: the text is read digit by
 * digit, never through a double (where 35.681236 is 35.68123599999999…), so
 * what an operator types is what the store keeps and prints back.
 *
 * Accepted: an optional '-' or '+', 1 to 3 integer digits, then optionally
 * '.' and 1 or more fraction digits of which at most 6 may be non-zero
 * ("1.5000000" is fine, "1.0000001" is not: it cannot be kept exactly).
 * No spaces, exponents or hexadecimal.  Range is the caller's business
 * (merchant_store_validate).
 */
#ifndef KESSAI_MERCHANT_COORD_H
#define KESSAI_MERCHANT_COORD_H

#include <stdint.h>

#include "util/err.h"

/* Enough for "-180.000000" and for any int64 ("-9223372036854.775808"). */
#define COORD_BUF 24

/* ERR_INVALID_PARAM on any deviation from the form above. */
enum err coord_parse_e6(const char *s, int64_t *out);
/* Always 6 decimals, e.g. "-33.868820".  Returns buf. */
char *coord_format_e6(char buf[COORD_BUF], int64_t e6);

#endif
