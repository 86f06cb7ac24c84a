/* merchant.c: merchants and stores: validation, and the one transaction that
 * creates a store with its ledger account.
 *
 * Store ids are chosen here, not by the database.  The payable account must
 * exist before the store row (stores.payable_account references it) and its
 * owner is the store's public id, which a database-assigned id would only
 * reveal after the insert.  So we draw a random 62-bit id, name the account
 * after it, then insert the store with that id, all in one transaction.  A
 * collision (about 2^-62 per existing store) surfaces as ERR_CONFLICT and is
 * retried with a fresh id.  Random store ids also keep store ids, which are
 * printed in the stores' QR codes, from revealing how many stores exist.
 * Lists are still in id order, so cursors work; they just are not in order
 * of creation.
 */
#include "merchant/merchant.h"

#include <sodium.h>
#include <string.h>

#include "ledger/ledger.h"
#include "util/ids.h"
#include "util/text.h"

const char *const merchant_categories[] = {
    "convenience", "supermarket", "drugstore", "restaurant", "electronics", "tobacco", "giftcards", "other", NULL,
};

#define CREATE_ATTEMPTS 4

#define IDEOGRAPHIC_SPACE "\xe3\x80\x80" /* U+3000 */

enum err merchant_check_text(const char *s, size_t max)
{
    if (!text_shown_ok(s, max))
        return ERR_INVALID_PARAM;
    size_t n = strlen(s), k = sizeof IDEOGRAPHIC_SPACE - 1;
    bool blank_first = s[0] == ' ' || strncmp(s, IDEOGRAPHIC_SPACE, k) == 0;
    bool blank_last = s[n - 1] == ' ' || (n >= k && memcmp(s + n - k, IDEOGRAPHIC_SPACE, k) == 0);
    return blank_first || blank_last ? ERR_INVALID_PARAM : ERR_OK;
}

enum err merchant_check_category(const char *category)
{
    for (size_t i = 0; category && merchant_categories[i]; i++)
        if (strcmp(category, merchant_categories[i]) == 0)
            return ERR_OK;
    return ERR_INVALID_PARAM;
}

enum err merchant_create(struct store *st, const char *name, struct merchant *out)
{
    if (merchant_check_text(name, MERCHANT_NAME_MAX) != ERR_OK)
        return ERR_INVALID_PARAM;
    struct merchant m = {0};
    memcpy(m.name, name, strlen(name) + 1);
    enum err e = st->ops->merchant_insert(st, &m);
    if (e == ERR_OK)
        *out = m;
    return e;
}

enum err merchant_get(struct store *st, int64_t id, struct merchant *out)
{
    if (id <= 0)
        return ERR_MERCHANT_NOT_FOUND;
    return st->ops->merchant_get(st, id, out);
}

enum err merchant_list(struct store *st, int64_t after_id, size_t max, struct merchant *out, size_t *n)
{
    if (after_id < 0)
        return ERR_INVALID_PARAM;
    return st->ops->merchant_list(st, after_id, max, out, n);
}

enum err merchant_store_validate(const char *name, const char *address, int64_t lat_e6, int64_t lon_e6,
                                 const char *category, const char **bad_param)
{
    const char *bad = NULL;
    if (merchant_check_text(name, MERCHANT_NAME_MAX) != ERR_OK)
        bad = "name";
    else if (merchant_check_text(address, MERCHANT_ADDRESS_MAX) != ERR_OK)
        bad = "address";
    else if (lat_e6 < -MERCHANT_LAT_MAX_E6 || lat_e6 > MERCHANT_LAT_MAX_E6)
        bad = "lat";
    else if (lon_e6 < -MERCHANT_LON_MAX_E6 || lon_e6 > MERCHANT_LON_MAX_E6)
        bad = "lon";
    else if (merchant_check_category(category) != ERR_OK)
        bad = "category";
    if (bad_param)
        *bad_param = bad;
    return bad ? ERR_INVALID_PARAM : ERR_OK;
}

static int64_t random_id(void)
{
    uint64_t v = 0;
    while (v == 0) {
        randombytes_buf(&v, sizeof v);
        v >>= 2; /* 62 bits: positive, and far from INT64_MAX */
    }
    return (int64_t)v;
}

/* One attempt at the store's transaction, with the id already chosen in s->id. */
static enum err store_insert_tx(struct store *st, struct merchant_store *s)
{
    char owner[IDS_BUF];
    ids_format(owner, MERCHANT_STORE_ID_PREFIX, s->id);
    struct merchant m;
    enum err e = st->ops->begin(st);
    if (e != ERR_OK)
        return e;
    /* Checked inside the transaction: the foreign key would catch a missing
     * merchant too, but only after the account was inserted. */
    e = st->ops->merchant_get(st, s->merchant_id, &m);
    if (e == ERR_OK)
        e = ledger_account_create(st, owner, MERCHANT_PAYABLE_KIND, 0, &s->payable_account);
    if (e == ERR_OK)
        e = st->ops->mstore_insert(st, s);
    if (e == ERR_OK)
        e = st->ops->commit(st);
    if (e != ERR_OK)
        st->ops->rollback(st);
    return e;
}

enum err merchant_store_create(struct store *st, int64_t merchant_id, const char *name, const char *address,
                               int64_t lat_e6, int64_t lon_e6, const char *category, struct merchant_store *out)
{
    enum err e = merchant_store_validate(name, address, lat_e6, lon_e6, category, NULL);
    if (e != ERR_OK)
        return e;
    if (merchant_id <= 0)
        return ERR_MERCHANT_NOT_FOUND;
    struct merchant_store s = {
        .merchant_id = merchant_id,
        .lat_e6 = lat_e6,
        .lon_e6 = lon_e6,
        .active = 1,
    };
    memcpy(s.name, name, strlen(name) + 1);
    memcpy(s.address, address, strlen(address) + 1);
    memcpy(s.category, category, strlen(category) + 1);
    e = ERR_CONFLICT;
    for (int i = 0; i < CREATE_ATTEMPTS && e == ERR_CONFLICT; i++) {
        s.id = random_id();
        e = store_insert_tx(st, &s);
    }
    if (e == ERR_OK)
        *out = s;
    return e;
}

enum err merchant_store_get(struct store *st, int64_t id, struct merchant_store *out)
{
    if (id <= 0)
        return ERR_STORE_NOT_FOUND;
    return st->ops->mstore_get(st, id, out);
}

enum err merchant_store_list(struct store *st, int64_t merchant_id, int64_t after_id, size_t max,
                             struct merchant_store *out, size_t *n)
{
    if (merchant_id < 0 || after_id < 0)
        return ERR_INVALID_PARAM;
    if (merchant_id > 0) {
        struct merchant m;
        enum err e = st->ops->merchant_get(st, merchant_id, &m);
        if (e != ERR_OK)
            return e;
    }
    return st->ops->mstore_list(st, merchant_id, after_id, max, out, n);
}

enum err merchant_store_set_active(struct store *st, int64_t id, int active)
{
    if (id <= 0)
        return ERR_STORE_NOT_FOUND;
    return st->ops->mstore_set_active(st, id, active != 0);
}
