/* fuzz_emvco.c: hostile QR payloads against the EMVCo codec (wallet/emvco.h).
 *
 * The input is tried three ways: as a whole payload (parse and kessai's
 * decoder must agree: whatever decodes also parses, with its CRC right and
 * a store id that is one); as a template's value; and, split at its first
 * NUL byte, as a store's name and city to encode, where whatever encodes
 * must decode back to the same store id. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merchant/merchant.h"
#include "util/ids.h"
#include "wallet/emvco.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SID "str_3k9qv2x7m1d8f"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    static struct emvco_field f[64];
    size_t n = 0;
    enum err parsed = emvco_parse(s, f, 64, &n);
    if (parsed == ERR_OK) {
        size_t len = strlen(s);
        char crc[5];
        snprintf(crc, sizeof crc, "%04X", emvco_crc16(s, len - 4));
        if (n < 2 || strcmp(f[0].id, "00") != 0 || strcmp(f[n - 1].id, "63") != 0 ||
            strcmp(f[n - 1].value, crc) != 0 || strcmp(s + len - 4, crc) != 0)
            abort();
    }
    char id[IDS_BUF];
    int64_t v;
    if (emvco_store_decode(s, id, sizeof id) == ERR_OK &&
        (parsed != ERR_OK || ids_parse(id, MERCHANT_STORE_ID_PREFIX, &v) != ERR_OK))
        abort();

    emvco_subfields(s, f, 64, &n);

    const char *name = s, *city = s + strlen(s) + 1;
    if (city > s + size)
        city = "";
    char out[EMVCO_MAX];
    if (emvco_store_payload(SID, name, city, "5499", out) == ERR_OK) {
        if (strlen(out) >= EMVCO_MAX || emvco_store_decode(out, id, sizeof id) != ERR_OK || strcmp(id, SID) != 0)
            abort();
    }
    free(s);
    return 0;
}
