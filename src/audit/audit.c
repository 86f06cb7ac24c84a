/* audit.c: appending to the audit log, and its public shape (audit/audit.h).
 *
 * The chain itself (ids, prev_hash, MAC) is the store's job, in the one
 * statement that appends (store.h security_event_insert): here only the
 * entry's fields are checked and filled in. */
#include "audit/audit.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/timeutil.h"

enum err audit_attach(struct store *st, const uint8_t master_key[MASTERKEY_BYTES])
{
    uint8_t key[AUDIT_KEY_BYTES];
    audit_key_derive(master_key, key);
    enum err e = st->ops->audit_key_set(st, key);
    sodium_memzero(key, sizeof key);
    return e;
}

enum err audit_backfill(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], int64_t *legacy)
{
    uint8_t key[AUDIT_KEY_BYTES];
    audit_key_derive(master_key, key);
    enum err e = st->ops->audit_backfill(st, key, legacy);
    sodium_memzero(key, sizeof key);
    return e;
}

char *audit_customer_actor(char buf[IDS_BUF], int64_t customer_id)
{
    if (customer_id > 0)
        return ids_format(buf, CUSTOMER_ID_PREFIX, customer_id);
    snprintf(buf, IDS_BUF, "%s", AUDIT_ACTOR_SYSTEM);
    return buf;
}

static bool fits(const char *s, size_t max) { return s != NULL && s[0] != '\0' && strlen(s) <= max; }

/* detail as compact JSON of at most max bytes.  Too long (a free-text
 * reason of quotes doubles when escaped): its longest strings are halved,
 * on a character boundary, and "truncated": true added, so the ids and the
 * amounts stay and whoever wrote the text cannot blank the entry with it.
 * Only what still does not fit (a detail of many fields) becomes "{}".
 * Returns malloc'd text, NULL on no memory. */
static char *detail_text(json_t *detail, size_t max)
{
    char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    for (int round = 0; text && strlen(text) > max && round < 64; round++) {
        free(text);
        const char *longest = NULL;
        size_t len = 0;
        const char *key;
        json_t *v;
        json_object_foreach(detail, key, v) {
            if (json_is_string(v) && json_string_length(v) > len) {
                longest = key;
                len = json_string_length(v);
            }
        }
        if (longest == NULL || len < 2)
            return strdup("{}");
        const char *str = json_string_value(json_object_get(detail, longest));
        size_t cut = len / 2;
        while (cut > 0 && ((unsigned char)str[cut] & 0xc0) == 0x80)
            cut--; /* not inside a UTF-8 character */
        if (json_object_set_new(detail, longest, json_stringn(str, cut)) != 0 ||
            json_object_set_new(detail, "truncated", json_true()) != 0)
            return NULL;
        text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    }
    if (text && strlen(text) > max) {
        free(text);
        return strdup("{}");
    }
    return text;
}

enum err audit_record(struct store *st, int64_t now, const char *actor, int64_t customer_id, const char *action,
                      enum audit_outcome outcome, const char *client_addr, int64_t device_id, json_t *detail)
{
    if (!fits(actor, SEC_EVENT_ACTOR_MAX) || !fits(action, SEC_EVENT_KIND_MAX)) {
        json_decref(detail);
        return ERR_INVALID_PARAM;
    }
    struct security_event ev;
    memset(&ev, 0, sizeof ev);
    ev.at_ms = now;
    ev.customer_id = customer_id;
    ev.device_id = device_id;
    snprintf(ev.actor, sizeof ev.actor, "%s", actor);
    snprintf(ev.kind, sizeof ev.kind, "%s", action);
    snprintf(ev.outcome, sizeof ev.outcome, "%s", outcome == AUDIT_SUCCESS ? "success" : "failure");
    snprintf(ev.client_addr, sizeof ev.client_addr, "%s", client_addr ? client_addr : "");
    char *text = detail ? detail_text(detail, sizeof ev.detail - 1) : NULL;
    json_decref(detail);
    if (detail && text == NULL)
        return ERR_NOMEM;
    snprintf(ev.detail, sizeof ev.detail, "%s", text ? text : "{}");
    free(text);
    return st->ops->security_event_insert(st, &ev);
}

json_t *audit_entry_json(const struct security_event *e)
{
    char at[TIME_ISO_BUF], hex[2 * AUDIT_MAC_BYTES + 1];
    json_error_t err;
    json_t *detail = json_loads(e->detail, 0, &err);
    if (detail == NULL) /* only an edited row holds anything else: show it as it is */
        detail = json_string(e->detail);
    json_t *hash = e->hash_len == AUDIT_MAC_BYTES
                       ? json_string(sodium_bin2hex(hex, sizeof hex, e->hash, AUDIT_MAC_BYTES))
                       : json_null();
    return json_pack("{s:I, s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)e->id, "at",
                     time_iso8601(at, e->at_ms), "actor", e->actor, "customer",
                     json_id_or_null(CUSTOMER_ID_PREFIX, e->customer_id), "action", e->kind, "outcome", e->outcome,
                     "client_addr", e->client_addr, "device", json_id_or_null(DEVICE_ID_PREFIX, e->device_id), "detail",
                     detail ? detail : json_null(), "hash", hash ? hash : json_null());
}
