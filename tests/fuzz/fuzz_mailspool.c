/* fuzz_mailspool.c: hostile spool files against mailspool_split
 * (notify/mailspool.h), the one parser of DATA_DIR/mail/new (the tests'
 * readers and the simulator's phones go through it).
 *
 * The input, cut at its first NUL, is split as a file: no crash, no leak
 * (ASan), no read past the text, no message longer than the text; text
 * that does not open with "From " is one message (a file from before the
 * spool), text that opens with "From " and has no line after it none.
 * (The round trip through the sender's format is test_mailspool's: the
 * sender syncs a file per call, too slow for a fuzzer.) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/mailspool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    size_t len = strlen(s);

    char **msgs = NULL;
    size_t n = mailspool_split(s, &msgs);
    if ((n == 0) != (msgs == NULL) || n > len + 1)
        abort();
    for (size_t i = 0; i < n; i++)
        if (strlen(msgs[i]) > len)
            abort();
    if (strncmp(s, "From ", 5) != 0 && n != 1)
        abort(); /* an old one-message file */
    if (strncmp(s, "From ", 5) == 0 && strchr(s, '\n') == NULL && n != 0)
        abort();
    mailspool_free(msgs, n);
    free(s);
    return 0;
}
