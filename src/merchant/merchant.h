/* merchant.h: merchants and their stores (domain code; knows nothing of HTTP).
 *
 * Contract:
 *  - Every function validates its input before touching the store and
 *    returns ERR_INVALID_PARAM for bad input (merchant_store_validate names
 *    the offending field), having written nothing.
 *  - A store is created together with its ledger account in one transaction
 *    (merchant_store_create): either both exist or neither does.  The
 *    account's owner is the store's public id ("str_…") and its kind
 *    MERCHANT_PAYABLE_KIND, so payments can find it either way.
 *  - merchant_store_create opens its own transaction: call it outside one.
 *    Every other writer is a single statement, atomic alone and usable
 *    inside a caller's transaction (say, with an audit record).
 *  - Output structs are filled completely and owned by the caller.
 *  - Store errors come back as ERR_STORE; "not found" as
 *    ERR_MERCHANT_NOT_FOUND / ERR_STORE_NOT_FOUND.
 *
 * Text fields (names, addresses) are UTF-8 of 1..MERCHANT_NAME_MAX (or
 * MERCHANT_ADDRESS_MAX) bytes, without control characters and without
 * leading or trailing spaces: they are shown on receipts, in the wallet app
 * and in logs, where an invisible character or a forged line break misleads.
 *
 * Store categories are a fixed list (merchant_categories): convenience,
 * supermarket, drugstore, restaurant, electronics, tobacco, giftcards, other.
 * The risk engine keys limits on them (tobacco and gift cards are what stolen
 * wallets get spent on), so a free-form value would escape those rules.
 *
 * Coordinates are integer micro-degrees: latitude -90000000..90000000,
 * longitude -180000000..180000000 (see coord.h for exact decimal parsing).
 */
#ifndef KESSAI_MERCHANT_MERCHANT_H
#define KESSAI_MERCHANT_MERCHANT_H

#include <stddef.h>
#include <stdint.h>

#include "merchant/types.h"
#include "store/store.h"
#include "util/err.h"

#define MERCHANT_PAYABLE_KIND "merchant_payable"
#define MERCHANT_ID_PREFIX "mer"
#define MERCHANT_STORE_ID_PREFIX "str"

#define MERCHANT_LAT_MAX_E6 INT64_C(90000000)
#define MERCHANT_LON_MAX_E6 INT64_C(180000000)

/* NULL-terminated list of valid store categories. */
extern const char *const merchant_categories[];

/* ERR_OK if s is a valid name (max = MERCHANT_NAME_MAX) or address
 * (MERCHANT_ADDRESS_MAX) by the rules above. */
enum err merchant_check_text(const char *s, size_t max);
enum err merchant_check_category(const char *category);

enum err merchant_create(struct store *st, const char *name, struct merchant *out);
enum err merchant_get(struct store *st, int64_t id, struct merchant *out);
/* One page: merchants with id > after_id, in id order, at most max. */
enum err merchant_list(struct store *st, int64_t after_id, size_t max, struct merchant *out, size_t *n);

/* Check the fields of a new store without touching the store.  On
 * ERR_INVALID_PARAM, *bad_param (if not NULL) names the field: "name",
 * "address", "lat", "lon" or "category". */
enum err merchant_store_validate(const char *name, const char *address, int64_t lat_e6, int64_t lon_e6,
                                 const char *category, const char **bad_param);
/* Create an active store of merchant_id and its payable account.
 * ERR_MERCHANT_NOT_FOUND if the merchant does not exist. */
enum err merchant_store_create(struct store *st, int64_t merchant_id, const char *name, const char *address,
                               int64_t lat_e6, int64_t lon_e6, const char *category, struct merchant_store *out);
enum err merchant_store_get(struct store *st, int64_t id, struct merchant_store *out);
/* One page of stores with id > after_id, of one merchant (merchant_id > 0;
 * ERR_MERCHANT_NOT_FOUND if it does not exist) or of all (merchant_id 0). */
enum err merchant_store_list(struct store *st, int64_t merchant_id, int64_t after_id, size_t max,
                             struct merchant_store *out, size_t *n);
/* An inactive store takes no payments; its terminals stay as they are.
 * Setting the state it already has succeeds. */
enum err merchant_store_set_active(struct store *st, int64_t id, int active);

#endif
