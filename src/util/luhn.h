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
/* Fill out[0..n-1] with uniformly random ASCII digits from libsodium's
 * CSPRNG (no NUL added), the random part of such a code.  One draw per 8
 * digits: each draw is a getrandom(2) system call, and a draw per digit
 * was a twentieth of the HTTP threads' time at the register. */
void luhn_random_digits(char *out, size_t n);

#endif
