#include "merchant/coord.h"

#include <inttypes.h>
#include <stdio.h>

enum err coord_parse_e6(const char *s, int64_t *out)
{
    if (s == NULL)
        return ERR_INVALID_PARAM;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    int64_t v = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (digits == 3)
            return ERR_INVALID_PARAM;
        v = v * 10 + (*s - '0');
    }
    if (digits == 0)
        return ERR_INVALID_PARAM;
    int frac = 0;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return ERR_INVALID_PARAM;
        for (; *s >= '0' && *s <= '9'; s++, frac++) {
            if (frac < 6)
                v = v * 10 + (*s - '0');
            else if (*s != '0')
                return ERR_INVALID_PARAM;
        }
    }
    if (*s != '\0')
        return ERR_INVALID_PARAM;
    for (; frac < 6; frac++)
        v *= 10;
    *out = neg ? -v : v;
    return ERR_OK;
}

char *coord_format_e6(char buf[COORD_BUF], int64_t e6)
{
    /* Widened so that INT64_MIN cannot overflow on negation; coordinates
     * are far smaller, but this must not be the place that breaks. */
    uint64_t a = e6 < 0 ? (uint64_t)0 - (uint64_t)e6 : (uint64_t)e6;
    snprintf(buf, COORD_BUF, "%s%" PRIu64 ".%06" PRIu64, e6 < 0 ? "-" : "", a / 1000000, a % 1000000);
    return buf;
}
