/* text.h: text that people read (names, messages, reasons): what may be in it.
 *
 * Shown on receipts, in the app, in mails and to staff, so nothing in it may
 * hide or rearrange what is shown: a right-to-left override makes
 * "enohPi s'neB" read as "Ben's iPhone" in a "new sign-in" mail.
 * text_shown_ok accepts 1..max bytes of valid UTF-8 (strict: no overlong
 * forms, surrogates or code points above U+10FFFF) without C0 or C1 controls,
 * DEL, the line and paragraph separators, the zero-width space, the
 * directional marks, embeddings, overrides and isolates, or a byte order mark.
 * The joiners (U+200C, U+200D) stay: emoji and several scripts need them.
 */
#ifndef KESSAI_UTIL_TEXT_H
#define KESSAI_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

bool text_shown_ok(const char *s, size_t max);

#endif
