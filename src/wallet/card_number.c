/* card_number.c: card number checks that need no issuer (gateway.h).
 *
 * Pure functions on untrusted text: the number arrives straight from a
 * client, so both refuse anything but 12..19 ASCII digits before looking at
 * it, and neither keeps or logs it.
 */
#include <stddef.h>
#include <string.h>

#include "util/luhn.h"
#include "wallet/gateway.h"

#define PAN_MIN 12
#define PAN_MAX 19

/* Length if s is PAN_MIN..PAN_MAX ASCII digits, else 0. */
static size_t pan_digits(const char *s)
{
    if (s == NULL)
        return 0;
    size_t n = 0;
    /* Stop one past the maximum: a longer string is refused without
     * reading all of it. */
    while (n <= PAN_MAX && s[n] != '\0') {
        if (s[n] < '0' || s[n] > '9')
            return 0;
        n++;
    }
    return n >= PAN_MIN && n <= PAN_MAX && s[n] == '\0' ? n : 0;
}

bool card_pan_valid(const char *pan)
{
    return pan_digits(pan) != 0 && luhn_valid(pan);
}

/* The first `len` digits as a number (len <= 6, pan has at least 12). */
static unsigned prefix(const char *pan, int len)
{
    unsigned v = 0;
    for (int i = 0; i < len; i++)
        v = v * 10 + (unsigned)(pan[i] - '0');
    return v;
}

/* Issuer identification number ranges, most specific first where they
 * overlap (Discover's 622126-622925 sits inside UnionPay's 62). */
const char *card_brand(const char *pan)
{
    if (pan_digits(pan) == 0)
        return "unknown";
    unsigned p1 = prefix(pan, 1), p2 = prefix(pan, 2), p3 = prefix(pan, 3), p4 = prefix(pan, 4),
             p6 = prefix(pan, 6);
    if (p2 == 34 || p2 == 37)
        return "amex";
    if (p4 >= 3528 && p4 <= 3589)
        return "jcb";
    if ((p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
        return "diners";
    if (p1 == 4)
        return "visa";
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
        return "mastercard";
    if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 || (p6 >= 622126 && p6 <= 622925))
        return "discover";
    if (p2 == 62 || p2 == 81)
        return "unionpay";
    return "unknown";
}
