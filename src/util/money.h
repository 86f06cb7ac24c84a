/* money.h: integer yen.
 *
 * Amounts are int64_t yen, never floating point.  MONEY_MAX bounds any single
 * amount or balance so that sums of a few of them cannot overflow int64 and so
 * that a typo of extra zeros is refused rather than moved.  Every arithmetic
 * helper checks overflow and returns an error instead of wrapping.
 */
#ifndef KESSAI_UTIL_MONEY_H
#define KESSAI_UTIL_MONEY_H

#include <stdint.h>

#include "util/err.h"

/* One trillion yen: far above any wallet, store or system total we expect. */
#define MONEY_MAX INT64_C(1000000000000)

/* ERR_OK if 1 <= amount <= MONEY_MAX, else ERR_AMOUNT_INVALID. */
enum err money_check_amount(int64_t amount);
/* *out = a + b; ERR_OVERFLOW if the result leaves [-MONEY_MAX*1000, MONEY_MAX*1000]
 * (balances of system accounts may accumulate beyond one amount) or int64. */
enum err money_add(int64_t a, int64_t b, int64_t *out);
enum err money_sub(int64_t a, int64_t b, int64_t *out);
/* Parse a decimal yen amount ("1500"): digits only, no sign, no spaces, no
 * leading zeros; result must pass money_check_amount. */
enum err money_parse(const char *s, int64_t *out);

/* Room for any int64 as yen with separators: "-9,223,372,036,854,775,808 yen". */
#define MONEY_YEN_BUF 32
/* Yen with thousands separators ("12,345 yen", "-1,000 yen"): how the
 * customer reads money in mails.  ASCII (mail goes out without a MIME
 * charset).  Returns buf. */
const char *money_format_yen(char buf[MONEY_YEN_BUF], int64_t amount);

#endif
