/* luhn.h: the Luhn (mod 10) check digit of card numbers and of kessai's
 * numeric codes (top-up codes, payment codes): it lets a register or a form
 * refuse a mistyped or misscanned number before it reaches the server.  It
 * is not a secret and proves nothing. */
#ifndef KESSAI_UTIL_LUHN_H
#define KESSAI_UTIL_LUHN_H

#include <stdbool.h>
#include <stddef.h>

/* The digit (0..9) that makes the n ASCII digits of payload followed by it
 * pass the check.  payload must be n digits. */
int luhn_check_digit(const char *payload, size_t n);
/* s is 2 or more ASCII digits (nothing else) passing the check. */
bool luhn_valid(const char *s);

#endif
