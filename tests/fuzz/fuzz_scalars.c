/* fuzz_scalars.c: ids, amounts and card numbers as a client may send them.
 * Whatever parses must format back to the same text (no two spellings of one
 * id); a card number is valid or branded only if it is 12..19 digits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/ids.h"
#include "util/money.h"
#include "wallet/gateway.h"

static int pan_shaped(const char *s)
{
    size_t n = strlen(s);
    if (n < 12 || n > 19)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

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
    const char *brand = card_brand(s);
    if (brand == NULL || ((card_pan_valid(s) || strcmp(brand, "unknown") != 0) && !pan_shaped(s)))
        abort();
    free(s);
    return 0;
}
