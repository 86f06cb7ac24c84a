/* emvco.h: EMVCo merchant-presented QR payloads (EMV QRCPS, MPM).
 *
 * A payload is a string of ID-length-value fields: a 2-digit id, a 2-digit
 * length (01..99) and that many characters; templates (26..51, 62, 64, 80..99)
 * hold nested fields.  The last field is always 63 with length 04: the
 * CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xorout)
 * of everything before its value (including "6304"), as 4 upper-case hex
 * digits.
 *
 * kessai's store payload:
 *   00 "01"                  payload format indicator
 *   01 "11"                  static (the amount is typed by the customer)
 *   26 { 00 "jp.kessai"      merchant account information: our GUID
 *        01 "str_…" }        the store's public id
 *   52 MCC                   merchant category code (4 digits)
 *   53 "392"                 currency: yen
 *   58 "JP"                  country
 *   59 name (<= 25)          merchant name
 *   60 city (<= 15)          merchant city
 *   64 { 00 "ja"             alternate language, only when the name or the
 *        01 name (<= 25)      city is not plain ASCII: 59 and 60 must be
 *        02 city (<= 15) }    ASCII, so they get an ASCII rendering and the
 *                             real (UTF-8) text goes here
 *   63 CRC
 *
 * Lengths count characters, not bytes (the EMVCo specification's own
 * example has UTF-8 in template 64); the CRC runs over the UTF-8 bytes.
 * The parser is strict: printable ASCII everywhere but inside template 64
 * (valid UTF-8 without control characters there), no id twice in one
 * template, every template well formed, the CRC in upper-case hex.
 */
#ifndef KESSAI_WALLET_EMVCO_H
#define KESSAI_WALLET_EMVCO_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define EMVCO_MAX 512
#define EMVCO_GUID "jp.kessai"

/* CRC-16/CCITT-FALSE of len bytes. */
uint16_t emvco_crc16(const void *data, size_t len);

/* A value is 1..99 characters; only the alternate-language template 64
 * may hold UTF-8 (up to 4 bytes a character), so a value needs room for
 * 99 * 4 bytes. */
#define EMVCO_VALUE_BUF (99 * 4 + 1)

struct emvco_field {
    char id[3];
    char value[EMVCO_VALUE_BUF];
};

/* Parse a payload into its top-level fields (max fields): ERR_INVALID_QR on
 * any deviation (length, digits, field order of 00 first and 63 last, CRC). */
enum err emvco_parse(const char *payload, struct emvco_field *out, size_t max, size_t *n);
/* Find a (sub)field in a parsed list or a template's value. */
const char *emvco_find(const struct emvco_field *f, size_t n, const char *id);
enum err emvco_subfields(const char *template_value, struct emvco_field *out, size_t max, size_t *n);

/* kessai's payload for a store (out EMVCO_MAX).  ERR_INVALID_PARAM if a part does not fit. */
enum err emvco_store_payload(const char *store_public_id, const char *name, const char *city, const char *mcc,
                             char out[EMVCO_MAX]);
/* Decode kessai's payload: *store_public_id (IDS_BUF) on ERR_OK; ERR_INVALID_QR otherwise. */
enum err emvco_store_decode(const char *payload, char *store_public_id, size_t n);

#endif
