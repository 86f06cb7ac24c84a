/* merchant_json.h: merchants, stores and terminals as JSON objects, the one
 * shape shared by `kessai admin … --json` and the admin API.
 *
 * Ids are public ("mer_…", "str_…", "trm_…"), times ISO 8601 UTC, and
 * coordinates both exact ("lat_e6": 35681236) and readable ("lat":
 * "35.681236", a string because a JSON number would invite floats).
 * A terminal's sealed secret is never included; a store's internal ledger
 * account number neither.
 *
 * Each function returns a new reference (NULL only when out of memory).
 */
#ifndef KESSAI_MERCHANT_MERCHANT_JSON_H
#define KESSAI_MERCHANT_MERCHANT_JSON_H

#include <jansson.h>

#include "merchant/types.h"

json_t *merchant_json(const struct merchant *m);
json_t *merchant_store_json(const struct merchant_store *s);
json_t *terminal_json(const struct merchant_terminal *t);

#endif
