#include "ops/staff_json.h"

#include "ops/staff.h"
#include "util/ids.h"
#include "util/timeutil.h"

json_t *staff_json(const struct staff *s)
{
    char id[IDS_BUF], ts[TIME_ISO_BUF];
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", ids_format(id, STAFF_ID_PREFIX, s->id), "email", s->email,
                     "role", s->role, "status", staff_status(s), "created", time_iso8601(ts, s->created_ms));
}
