/* idem.c: see idem.h. */
#include "util/idem.h"

#include <stddef.h>

bool idem_key_valid(const char *key)
{
    if (key == NULL)
        return false;
    size_t n = 0;
    /* Stop one past the maximum: a longer key is refused without reading
     * all of it. */
    for (; key[n] != '\0'; n++) {
        unsigned char c = (unsigned char)key[n];
        if (c < 0x21 || c > 0x7e || n >= IDEM_KEY_MAX)
            return false;
    }
    return n >= 1;
}
