#include "util/money.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

/* Ledger balances are sums of many amounts, so they get a wider (but still
 * bounded) range than a single amount. */
#define BALANCE_MAX (MONEY_MAX * 1000)

enum err money_check_amount(int64_t amount)
{
    return (amount >= 1 && amount <= MONEY_MAX) ? ERR_OK : ERR_AMOUNT_INVALID;
}

enum err money_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r) || r > BALANCE_MAX || r < -BALANCE_MAX)
        return ERR_OVERFLOW;
    *out = r;
    return ERR_OK;
}

enum err money_sub(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r) || r > BALANCE_MAX || r < -BALANCE_MAX)
        return ERR_OVERFLOW;
    *out = r;
    return ERR_OK;
}

enum err money_parse(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0' || (s[0] == '0' && s[1] != '\0'))
        return ERR_AMOUNT_INVALID;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return ERR_AMOUNT_INVALID;
        if (v > MONEY_MAX / 10)
            return ERR_AMOUNT_INVALID;
        v = v * 10 + (*p - '0');
    }
    if (money_check_amount(v) != ERR_OK)
        return ERR_AMOUNT_INVALID;
    *out = v;
    return ERR_OK;
}

const char *money_format_yen(char buf[MONEY_YEN_BUF], int64_t amount)
{
    char digits[24];
    int neg = amount < 0;
    uint64_t v = neg ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
    char *o = buf;
    if (neg)
        *o++ = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            *o++ = ',';
        *o++ = digits[i];
    }
    snprintf(o, 5, " yen");
    return buf;
}
