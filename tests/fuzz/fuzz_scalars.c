/* fuzz_scalars.c: ids and amounts as a client may send them.  Whatever
 * parses must format back to the same text (no two spellings of one id). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/ids.h"
#include "util/money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t v = 0;
    if (ids_parse(s, "txf", &v) == ERR_OK) {
        char back[IDS_BUF];
        if (v <= 0 || strcmp(ids_format(back, "txf", v), s) != 0)
            abort();
    }
    if (money_parse(s, &v) == ERR_OK && money_check_amount(v) != ERR_OK)
        abort();
    free(s);
    return 0;
}
