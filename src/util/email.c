#include "util/email.h"

#include <stdio.h>
#include <string.h>

enum err email_normalize(const char *in, char out[EMAIL_MAX + 1])
{
    size_t n = in ? strnlen(in, EMAIL_MAX + 1) : 0;
    if (n < 3 || n > EMAIL_MAX)
        return ERR_INVALID_PARAM;
    const char *at = strchr(in, '@');
    if (at == NULL || at == in || strchr(at + 1, '@') != NULL)
        return ERR_INVALID_PARAM;
    const char *dot = strrchr(at + 1, '.');
    if (dot == NULL || dot == at + 1 || dot[1] == '\0')
        return ERR_INVALID_PARAM;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>[\\]", c))
            return ERR_INVALID_PARAM;
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[n] = '\0';
    return ERR_OK;
}

void email_mask(const char *in, char out[EMAIL_MASKED_MAX + 1])
{
    const char *at = in ? strrchr(in, '@') : NULL;
    if (at == NULL || at == in || at[1] == '\0') {
        snprintf(out, EMAIL_MASKED_MAX + 1, "***");
        return;
    }
    snprintf(out, EMAIL_MASKED_MAX + 1, "%c***@%s", in[0], at + 1);
}
