/* staff_json.h: the public view of a staff account.
 *
 * {"id":"stf_…","email":…,"role":…,"status":"pending_2fa|active|disabled",
 *  "created":"…Z"}: never the password hash nor the (sealed) TOTP seed, so
 * the result may go to any operator, log or API client.  NULL when out of
 * memory; the caller owns the reference. */
#ifndef KESSAI_OPS_STAFF_JSON_H
#define KESSAI_OPS_STAFF_JSON_H

#include <jansson.h>

#include "ops/staff_types.h"

json_t *staff_json(const struct staff *s);

#endif
