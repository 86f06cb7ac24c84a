/* emvco.c: EMVCo merchant-presented payloads: the CRC, a strict parser and
 * kessai's store payload (emvco.h has the layout).
 *
 * The parser reads hostile input (anything a customer's camera saw, or a
 * client chose to send), so it trusts nothing: every length is checked
 * against what is left before it is used, every character against the set
 * its place allows, and a value is copied only once it is known to fit.
 * Invariants of a parsed payload (emvco_parse returned ERR_OK):
 *  1. The whole input was consumed by well-formed fields: 2 digits of id,
 *     2 digits of length 01..99, that many characters.
 *  2. It is at most EMVCO_MAX characters, begins with 00 "01" and ends with
 *     63, length 04, holding the CRC of everything before the CRC's value
 *     as 4 upper-case hex digits (so no two spellings of one CRC pass).
 *  3. Printable ASCII everywhere except inside template 64, which may hold
 *     UTF-8 (valid, shortest form, no control or bidirectional-override
 *     characters: a name shown to a customer must read as it is).
 *  4. No id twice in one template; every template (26..51, 62, 64, 80..99)
 *     splits into well-formed fields itself.
 *
 * Why a CRC is not a signature: anyone can compute one.  It catches a
 * misread or a sticker printed wrong, not a forgery; what a forged payload
 * can name is at most another real, active kessai store, whose name the
 * server answers with (docs/store-qr.md).
 */
#include "wallet/emvco.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "merchant/merchant.h"
#include "util/ids.h"

#define NAME_MAX_CHARS 25
#define CITY_MAX_CHARS 15
#define FIELD_MAX_CHARS 99
#define INPUT_MAX_BYTES (EMVCO_MAX * 4) /* EMVCO_MAX characters of up to 4 bytes */
#define PARSE_MAX_FIELDS 32             /* a template of kessai's decoder */

uint16_t emvco_crc16(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

/* ---- characters ----------------------------------------------------------- */

/* The byte length of the character at s (n bytes left), or 0 if it may not
 * stand here: printable ASCII always; with utf8, valid shortest-form UTF-8
 * of a code point that is neither a control (C1), a surrogate, nor a
 * bidirectional or line-breaking format character. */
static size_t char_len(const unsigned char *s, size_t n, bool utf8)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c >= 0x20 && c < 0x7f)
        return 1;
    if (!utf8 || c < 0xc2 || c > 0xf4)
        return 0;
    size_t len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (n < len)
        return 0;
    uint32_t cp = c & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0; /* overlong, or past Unicode */
    if (cp < 0xa0 || (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* C1 controls, surrogates */
    if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
        cp == 0xfeff)
        return 0; /* zero-width, line separators, bidirectional controls, BOM */
    return len;
}

/* Characters in s (valid by char_len with utf8), or SIZE_MAX if invalid. */
static size_t char_count(const char *s, bool utf8)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), chars = 0;
    for (size_t i = 0; i < n; chars++) {
        size_t l = char_len(p + i, n - i, utf8);
        if (l == 0)
            return SIZE_MAX;
        i += l;
    }
    return chars;
}

static bool is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool is_template(int id) { return (id >= 26 && id <= 51) || id == 62 || id == 64 || id >= 80; }

/* ---- parsing -------------------------------------------------------------- */

enum utf8_mode { UTF8_NEVER, UTF8_ALWAYS, UTF8_IN_64 };

/* Split s[0..len) into fields, every byte consumed, no id twice.  out may
 * be NULL (only check); otherwise at most max fields are kept.  Templates
 * are not descended into here. */
static enum err split(const char *s, size_t len, enum utf8_mode mode, struct emvco_field *out, size_t max,
                      size_t *n)
{
    const unsigned char *p = (const unsigned char *)s;
    bool seen[100] = {false};
    size_t pos = 0, count = 0;
    while (pos < len) {
        if (len - pos < 4 || !is_digits(s + pos, 4))
            return ERR_INVALID_QR;
        int id = (s[pos] - '0') * 10 + (s[pos + 1] - '0');
        int chars = (s[pos + 2] - '0') * 10 + (s[pos + 3] - '0');
        if (chars == 0 || seen[id])
            return ERR_INVALID_QR;
        seen[id] = true;
        bool utf8 = mode == UTF8_ALWAYS || (mode == UTF8_IN_64 && id == 64);
        size_t start = pos + 4, end = start;
        for (int c = 0; c < chars; c++) {
            size_t l = char_len(p + end, len - end, utf8);
            if (l == 0)
                return ERR_INVALID_QR; /* a length that lies, or a character out of place */
            end += l;
        }
        if (out != NULL) {
            if (count >= max)
                return ERR_INVALID_QR;
            memcpy(out[count].id, s + pos, 2);
            out[count].id[2] = '\0';
            memcpy(out[count].value, s + start, end - start); /* <= 99 * 4 bytes */
            out[count].value[end - start] = '\0';
        }
        count++;
        pos = end;
    }
    if (count == 0)
        return ERR_INVALID_QR;
    *n = count;
    return ERR_OK;
}

static bool upper_hex4(const char *v)
{
    for (int i = 0; i < 4; i++)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'A' && v[i] <= 'F')))
            return false;
    return v[4] == '\0';
}

enum err emvco_parse(const char *payload, struct emvco_field *out, size_t max, size_t *n)
{
    if (payload == NULL || out == NULL || n == NULL)
        return ERR_INVALID_QR;
    size_t len = strnlen(payload, INPUT_MAX_BYTES + 1);
    if (len < 8 + 6 || len > INPUT_MAX_BYTES) /* at least 00 and 63 */
        return ERR_INVALID_QR;
    size_t count = 0;
    if (split(payload, len, UTF8_IN_64, out, max, &count) != ERR_OK)
        return ERR_INVALID_QR;
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)payload[i] & 0xc0) != 0x80;
    if (chars > EMVCO_MAX || count < 2)
        return ERR_INVALID_QR;
    if (strcmp(out[0].id, "00") != 0 || strcmp(out[0].value, "01") != 0)
        return ERR_INVALID_QR;
    /* 63 last, length 04: its value is the last 4 bytes (ASCII by split). */
    const struct emvco_field *crc = &out[count - 1];
    if (strcmp(crc->id, "63") != 0 || strlen(crc->value) != 4 || !upper_hex4(crc->value))
        return ERR_INVALID_QR;
    static const char hex[] = "0123456789ABCDEF";
    uint16_t want = emvco_crc16(payload, len - 4);
    char expect[5] = {hex[want >> 12], hex[(want >> 8) & 15], hex[(want >> 4) & 15], hex[want & 15], '\0'};
    if (memcmp(expect, crc->value, 5) != 0)
        return ERR_INVALID_QR;
    for (size_t i = 0; i < count; i++) {
        int id = (out[i].id[0] - '0') * 10 + (out[i].id[1] - '0');
        if (id == 1 && strcmp(out[i].value, "11") != 0 && strcmp(out[i].value, "12") != 0)
            return ERR_INVALID_QR;
        size_t sub = 0;
        if (is_template(id) &&
            split(out[i].value, strlen(out[i].value), id == 64 ? UTF8_ALWAYS : UTF8_NEVER, NULL, 0, &sub) != ERR_OK)
            return ERR_INVALID_QR;
    }
    *n = count;
    return ERR_OK;
}

const char *emvco_find(const struct emvco_field *f, size_t n, const char *id)
{
    for (size_t i = 0; f != NULL && id != NULL && i < n; i++)
        if (strcmp(f[i].id, id) == 0)
            return f[i].value;
    return NULL;
}

enum err emvco_subfields(const char *template_value, struct emvco_field *out, size_t max, size_t *n)
{
    if (template_value == NULL || out == NULL || n == NULL)
        return ERR_INVALID_QR;
    size_t len = strnlen(template_value, EMVCO_VALUE_BUF);
    if (len >= EMVCO_VALUE_BUF)
        return ERR_INVALID_QR;
    return split(template_value, len, UTF8_ALWAYS, out, max, n);
}

/* ---- kessai's store payload ------------------------------------------------ */

/* The first max characters of valid text src, without trailing spaces, in dst. */
static void truncate_chars(const char *src, size_t max, char *dst, size_t cap)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t n = strlen(src), i = 0, chars = 0;
    while (i < n && chars < max) {
        size_t l = char_len(p + i, n - i, true);
        if (l == 0 || i + l >= cap)
            break;
        i += l;
        chars++;
    }
    while (i > 0 && src[i - 1] == ' ')
        i--;
    memcpy(dst, src, i);
    dst[i] = '\0';
}

/* An ASCII rendering of text for 59 and 60: the text itself if it is plain
 * ASCII; else its ASCII characters with every run of others (or of spaces)
 * made one space, or fallback if that leaves fewer than two letters.  At
 * most max characters. */
static bool plain_ascii(const char *s) { return char_count(s, false) != SIZE_MAX; }

static void ascii_render(const char *text, size_t max, const char *fallback, char *dst, size_t cap)
{
    if (plain_ascii(text) && text[0]) {
        truncate_chars(text, max, dst, cap);
        return;
    }
    char tmp[EMVCO_VALUE_BUF];
    size_t j = 0, letters = 0;
    bool space = true; /* no leading space */
    for (const unsigned char *p = (const unsigned char *)text; *p && j + 1 < sizeof tmp; p++) {
        if (*p > 0x20 && *p < 0x7f) {
            tmp[j++] = (char)*p;
            letters += (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
            space = false;
        } else if (!space && (*p == ' ' || *p >= 0xc0)) { /* a space, or the start of a UTF-8 character */
            tmp[j++] = ' ';
            space = true;
        }
    }
    tmp[j] = '\0';
    truncate_chars(letters >= 2 ? tmp : fallback, max, dst, cap);
}

struct out_buf {
    char *p;
    size_t cap, len;
    bool bad;
};

/* Append id, the length of value in characters, and value. */
static void put(struct out_buf *b, const char *id, const char *value)
{
    size_t chars = char_count(value, true), bytes = strlen(value);
    if (chars == 0 || chars > FIELD_MAX_CHARS || b->len + 4 + bytes >= b->cap) {
        b->bad = true;
        return;
    }
    b->len += (size_t)snprintf(b->p + b->len, b->cap - b->len, "%s%02zu%s", id, chars, value);
}

enum err emvco_store_payload(const char *store_public_id, const char *name, const char *city, const char *mcc,
                             char out[EMVCO_MAX])
{
    int64_t id;
    if (store_public_id == NULL || ids_parse(store_public_id, MERCHANT_STORE_ID_PREFIX, &id) != ERR_OK ||
        name == NULL || city == NULL || mcc == NULL || strlen(mcc) != 4 || !is_digits(mcc, 4))
        return ERR_INVALID_PARAM;
    size_t name_chars = char_count(name, true), city_chars = char_count(city, true);
    if (name_chars == 0 || name_chars == SIZE_MAX || city_chars == SIZE_MAX)
        return ERR_INVALID_PARAM;

    char name59[NAME_MAX_CHARS + 1], city60[CITY_MAX_CHARS + 1];
    ascii_render(name, NAME_MAX_CHARS, "KESSAI STORE", name59, sizeof name59);
    ascii_render(city, CITY_MAX_CHARS, "JAPAN", city60, sizeof city60);

    char account[128];
    struct out_buf a = {account, sizeof account, 0, false};
    put(&a, "00", EMVCO_GUID);
    put(&a, "01", store_public_id);

    char alt[EMVCO_VALUE_BUF];
    struct out_buf l = {alt, sizeof alt, 0, false};
    bool need_alt = !plain_ascii(name) || !plain_ascii(city);
    if (need_alt) {
        char name64[NAME_MAX_CHARS * 4 + 1], city64[CITY_MAX_CHARS * 4 + 1];
        truncate_chars(name, NAME_MAX_CHARS, name64, sizeof name64);
        truncate_chars(city, CITY_MAX_CHARS, city64, sizeof city64);
        put(&l, "00", "ja");
        put(&l, "01", name64);
        if (!plain_ascii(city) && city64[0])
            put(&l, "02", city64);
    }

    struct out_buf b = {out, EMVCO_MAX, 0, a.bad || l.bad};
    put(&b, "00", "01");
    put(&b, "01", "11");
    put(&b, "26", account);
    put(&b, "52", mcc);
    put(&b, "53", "392");
    put(&b, "58", "JP");
    put(&b, "59", name59);
    put(&b, "60", city60);
    if (need_alt)
        put(&b, "64", alt);
    if (b.bad || b.len + 8 >= b.cap)
        return ERR_INVALID_PARAM;
    memcpy(out + b.len, "6304", 5);
    uint16_t crc = emvco_crc16(out, b.len + 4);
    snprintf(out + b.len + 4, b.cap - b.len - 4, "%04X", crc);
    return ERR_OK;
}

/* Template 64 as kessai writes it: 00 a language, 01 the name, 02 maybe a city. */
static bool alt_ok(const char *value)
{
    struct emvco_field f[4];
    size_t n = 0;
    if (emvco_subfields(value, f, 4, &n) != ERR_OK)
        return false;
    const char *lang = emvco_find(f, n, "00"), *nm = emvco_find(f, n, "01"), *ct = emvco_find(f, n, "02");
    size_t known = (lang != NULL) + (nm != NULL) + (ct != NULL);
    return known == n && lang && strlen(lang) == 2 && lang[0] >= 'a' && lang[0] <= 'z' && lang[1] >= 'a' &&
           lang[1] <= 'z' && nm && char_count(nm, true) <= NAME_MAX_CHARS &&
           (ct == NULL || char_count(ct, true) <= CITY_MAX_CHARS);
}

enum err emvco_store_decode(const char *payload, char *store_public_id, size_t n)
{
    struct emvco_field f[PARSE_MAX_FIELDS];
    size_t count = 0;
    if (emvco_parse(payload, f, PARSE_MAX_FIELDS, &count) != ERR_OK)
        return ERR_INVALID_QR;
    /* Exactly the fields kessai writes: anything else (an amount, a second
     * network's account, …) is not ours, however well formed. */
    static const char *const ours[] = {"00", "01", "26", "52", "53", "58", "59", "60", "64", "63"};
    for (size_t i = 0; i < count; i++) {
        bool known = false;
        for (size_t k = 0; k < sizeof ours / sizeof ours[0]; k++)
            known |= strcmp(f[i].id, ours[k]) == 0;
        if (!known)
            return ERR_INVALID_QR;
    }
    const char *poi = emvco_find(f, count, "01"), *acct = emvco_find(f, count, "26"),
               *mcc = emvco_find(f, count, "52"), *cur = emvco_find(f, count, "53"),
               *country = emvco_find(f, count, "58"), *name = emvco_find(f, count, "59"),
               *city = emvco_find(f, count, "60"), *alt = emvco_find(f, count, "64");
    if (!poi || strcmp(poi, "11") != 0 || !acct || !mcc || strlen(mcc) != 4 || !is_digits(mcc, 4) || !cur ||
        strcmp(cur, "392") != 0 || !country || strcmp(country, "JP") != 0 || !name ||
        strlen(name) > NAME_MAX_CHARS || !city || strlen(city) > CITY_MAX_CHARS || (alt && !alt_ok(alt)))
        return ERR_INVALID_QR;

    struct emvco_field sub[4];
    size_t ns = 0;
    if (emvco_subfields(acct, sub, 4, &ns) != ERR_OK || ns != 2)
        return ERR_INVALID_QR;
    const char *guid = emvco_find(sub, ns, "00"), *sid = emvco_find(sub, ns, "01");
    int64_t id;
    if (!guid || strcmp(guid, EMVCO_GUID) != 0 || !sid || ids_parse(sid, MERCHANT_STORE_ID_PREFIX, &id) != ERR_OK)
        return ERR_INVALID_QR;
    size_t len = strlen(sid);
    if (store_public_id == NULL || len >= n)
        return ERR_INVALID_PARAM;
    memcpy(store_public_id, sid, len + 1);
    return ERR_OK;
}
