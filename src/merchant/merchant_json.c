#include "merchant/merchant_json.h"

#include "merchant/coord.h"
#include "merchant/merchant.h"
#include "merchant/terminal.h"
#include "util/ids.h"
#include "util/timeutil.h"

json_t *merchant_json(const struct merchant *m)
{
    char id[IDS_BUF], ts[TIME_ISO_BUF];
    return json_pack("{s:s, s:s, s:s}", "id", ids_format(id, MERCHANT_ID_PREFIX, m->id), "name", m->name,
                     "created", time_iso8601(ts, m->created_ms));
}

json_t *merchant_store_json(const struct merchant_store *s)
{
    char id[IDS_BUF], mid[IDS_BUF], ts[TIME_ISO_BUF], lat[COORD_BUF], lon[COORD_BUF];
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:s}", "id",
                     ids_format(id, MERCHANT_STORE_ID_PREFIX, s->id), "merchant",
                     ids_format(mid, MERCHANT_ID_PREFIX, s->merchant_id), "name", s->name, "address", s->address,
                     "lat", coord_format_e6(lat, s->lat_e6), "lon", coord_format_e6(lon, s->lon_e6), "lat_e6",
                     (json_int_t)s->lat_e6, "lon_e6", (json_int_t)s->lon_e6, "category", s->category, "active",
                     s->active != 0, "created", time_iso8601(ts, s->created_ms));
}

json_t *terminal_json(const struct merchant_terminal *t)
{
    char id[IDS_BUF], sid[IDS_BUF], ts[TIME_ISO_BUF];
    return json_pack("{s:s, s:s, s:s, s:b, s:s}", "id", ids_format(id, TERMINAL_ID_PREFIX, t->id), "store",
                     ids_format(sid, MERCHANT_STORE_ID_PREFIX, t->store_id), "key_id", t->key_id, "revoked",
                     t->revoked != 0, "created", time_iso8601(ts, t->created_ms));
}
