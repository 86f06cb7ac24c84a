/* ids.h: public identifiers with a type prefix.
 *
 * Rows are numbered internally with int64 (cheap keys in any SQL store); the
 * API shows them as "<prefix>_<13 lowercase Crockford base32 chars>", e.g.
 * "txf_0000000000001".  Parsing is strict: wrong prefix, length or alphabet is
 * refused, so a hostile id can never reach a query as anything but a number.
 * Random ids (request ids, tokens) come from libsodium's CSPRNG.
 */
#ifndef KESSAI_UTIL_IDS_H
#define KESSAI_UTIL_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Longest prefix accepted, and a buffer large enough for any formatted id. */
#define IDS_PREFIX_MAX 8
#define IDS_BUF 32

/* Format id (> 0) with prefix into buf (IDS_BUF bytes).  Returns buf. */
char *ids_format(char buf[IDS_BUF], const char *prefix, int64_t id);
/* Parse "prefix_xxxxxxxxxxxxx"; ERR_INVALID_PARAM on any deviation or id <= 0. */
enum err ids_parse(const char *s, const char *prefix, int64_t *out);
/* prefix + "_" + 26 base32 chars of 128 random bits, e.g. a Request-Id. */
char *ids_random(char buf[IDS_BUF], const char *prefix);

#endif
