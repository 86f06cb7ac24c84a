/* email.h: e-mail addresses as identities.
 *
 * Deliberately narrow: printable ASCII, one '@', a non-empty local part and a
 * domain with a dot, at most 254 bytes; stored lower-cased so one mailbox is
 * one identity.  (Internationalised addresses can come later; refusing them
 * is safe, accepting look-alikes is not.)
 */
#ifndef KESSAI_UTIL_EMAIL_H
#define KESSAI_UTIL_EMAIL_H

#include "util/err.h"

#define EMAIL_MAX 254

/* Validate in and write its canonical form to out[EMAIL_MAX + 1]. */
enum err email_normalize(const char *in, char out[EMAIL_MAX + 1]);

/* The address as shown to another customer: its first character, "***@"
 * and the domain ("hanako@example.com" -> "h***@example.com"); "***" for
 * anything without a local part and a domain.  Always NUL-terminated. */
#define EMAIL_MASKED_MAX (EMAIL_MAX + 3)
void email_mask(const char *in, char out[EMAIL_MASKED_MAX + 1]);

#endif
