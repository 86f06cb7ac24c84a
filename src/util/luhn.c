/* luhn.c: see luhn.h. */
#include "util/luhn.h"

#include <stdint.h>
#include <string.h>

#include <sodium.h>

int luhn_check_digit(const char *payload, size_t n)
{
    int sum = 0;
    /* The rightmost payload digit is doubled: it sits left of the check digit. */
    for (size_t i = 0; i < n; i++) {
        int d = payload[n - 1 - i] - '0';
        if (i % 2 == 0) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return (10 - sum % 10) % 10;
}

bool luhn_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 2 || strspn(s, "0123456789") != n)
        return false;
    return luhn_check_digit(s, n - 1) == s[n - 1] - '0';
}

void luhn_random_digits(char *out, size_t n)
{
    while (n > 0) {
        uint32_t r = randombytes_uniform(100000000); /* 8 digits, uniform: no modulo bias */
        for (size_t k = 0; k < 8 && n > 0; k++, n--) {
            *out++ = (char)('0' + r % 10);
            r /= 10;
        }
    }
}
