/* killswitch.c: operator switches (ops/killswitch.h).
 *
 * Invariants:
 *  1. A switch is on exactly when its row says on_ = 1; no switch is cached
 *     anywhere, so the row is the truth for every node on its next request.
 *  2. A switch that was never set has no row and is off.
 *  3. Only names killswitch_known() accepts are ever written, with a reason
 *     that is valid UTF-8 without control characters (it is shown to clients
 *     in the 503 body and printed by the CLI, so it must be safe for both).
 *
 *   (no row) --set on--> ON --set off--> OFF --set on--> ON ...
 *
 * A scoped switch ("payments@mer_…", "payments@str_…") is just another
 * row; killswitch_check_scoped reads the global one and the scopes that
 * apply, a primary-key lookup each.
 *
 * Each change is logged at info (name, set_by, the reason: the operator's
 * own public text), the row keeps who set it last and when, and the audit
 * log keeps every change (appended in the change's transaction).
 */
#include "ops/killswitch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "merchant/merchant.h"
#include "util/ids.h"
#include "util/log.h"

static const char *const known[] = {KILLSWITCH_TOPUPS, KILLSWITCH_CARD_TOPUPS, KILLSWITCH_PAYMENTS,
                                    KILLSWITCH_P2P,    KILLSWITCH_CARD_LINKS,  KILLSWITCH_REGISTRATIONS};

const char *const *killswitch_names(size_t *n)
{
    *n = sizeof known / sizeof known[0];
    return known;
}

/* "payments@mer_…", "topups@str_…" and the like, with a well-formed id:
 * the switches that have scopes (killswitch_scoped, killswitch.h). */
/* "NAME@mer_…" or "NAME@str_…" with a scopable NAME: the merchant's or
 * the store's id into *merchant_id or *store_id (the other 0). */
static bool scope_parse(const char *name, int64_t *merchant_id, int64_t *store_id)
{
    *merchant_id = *store_id = 0;
    const char *at = strchr(name, '@');
    if (at == NULL)
        return false;
    char base[KILLSWITCH_NAME_MAX + 1];
    snprintf(base, sizeof base, "%.*s", (int)(at - name), name);
    if (!killswitch_scoped(base))
        return false;
    int64_t id = 0;
    if (ids_parse(at + 1, MERCHANT_ID_PREFIX, &id) == ERR_OK)
        *merchant_id = id;
    else if (ids_parse(at + 1, MERCHANT_STORE_ID_PREFIX, &id) == ERR_OK)
        *store_id = id;
    return *merchant_id > 0 || *store_id > 0;
}

static bool scoped_known(const char *name)
{
    int64_t merchant_id, store_id;
    return scope_parse(name, &merchant_id, &store_id);
}

/* A switch turned on for a merchant or store that does not exist (a
 * mistyped id) would look like a stopped store while its payments go on:
 * ERR_MERCHANT_NOT_FOUND or ERR_STORE_NOT_FOUND. */
static enum err scope_exists(struct store *st, const char *name)
{
    int64_t merchant_id, store_id;
    if (!scope_parse(name, &merchant_id, &store_id))
        return ERR_OK;
    if (merchant_id > 0) {
        struct merchant m;
        return st->ops->merchant_get(st, merchant_id, &m);
    }
    struct merchant_store s;
    return st->ops->mstore_get(st, store_id, &s);
}

bool killswitch_scoped(const char *name)
{
    return strcmp(name, KILLSWITCH_PAYMENTS) == 0 || strcmp(name, KILLSWITCH_TOPUPS) == 0;
}

/* One of the names killswitch_names lists. */
static bool plain_known(const char *name)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(name, known[i]) == 0)
            return true;
    return false;
}

bool killswitch_known(const char *name) { return name != NULL && (plain_known(name) || scoped_known(name)); }

/* Valid UTF-8 (shortest forms, no surrogates) with no C0/C1 control
 * character and no DEL, 1..max bytes. */
static bool text_ok(const char *s, size_t max)
{
    if (s == NULL)
        return false;
    size_t len = strlen(s);
    if (len == 0 || len > max)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= len)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
            return false;
        i += n + 1;
    }
    return true;
}

enum err killswitch_set(struct store *st, const char *actor, const char *name, bool on, const char *reason,
                        const char *set_by, int64_t now)
{
    return killswitch_set_from(st, actor, NULL, name, on, reason, set_by, now);
}

enum err killswitch_set_from(struct store *st, const char *actor, const char *client_addr, const char *name, bool on,
                             const char *reason, const char *set_by, int64_t now)
{
    if (!killswitch_known(name))
        return ERR_INVALID_PARAM;
    /* Turning a switch off needs no reason; keep "" then. */
    if (on || (reason != NULL && reason[0] != '\0')) {
        if (!text_ok(reason, KILLSWITCH_REASON_MAX))
            return ERR_INVALID_PARAM;
    }
    struct killswitch k;
    memset(&k, 0, sizeof k);
    if (!text_ok(set_by, sizeof k.set_by - 1))
        return ERR_INVALID_PARAM;
    snprintf(k.name, sizeof k.name, "%s", name);
    k.on = on ? 1 : 0;
    snprintf(k.reason, sizeof k.reason, "%s", reason ? reason : "");
    snprintf(k.set_by, sizeof k.set_by, "%s", set_by);
    k.set_ms = now;

    enum err e = st->ops->begin(st);
    if (e != ERR_OK)
        return e;
    if (on)
        e = scope_exists(st, name);
    if (e == ERR_OK)
        e = st->ops->killswitch_put(st, &k);
    if (e == ERR_OK)
        e = audit_record(st, now, actor, 0, on ? "killswitch_on" : "killswitch_off", AUDIT_SUCCESS, client_addr, 0,
                         json_pack("{s:s, s:s, s:s}", "name", k.name, "reason", k.reason, "set_by", k.set_by));
    if (e == ERR_OK)
        e = st->ops->commit(st);
    if (e != ERR_OK) {
        st->ops->rollback(st);
        return e;
    }
    /* Info, not warn: the CLI (quiet below warn) has already told its
     * operator; a server-side caller's log keeps the line. */
    log_event(LOG_INFO, on ? "killswitch_on" : "killswitch_off",
              json_pack("{s:s, s:s, s:s}", "name", k.name, "reason", k.reason, "set_by", k.set_by));
    return ERR_OK;
}

enum err killswitch_check(struct store *st, const char *const *names, struct killswitch *out)
{
    for (size_t i = 0; names[i] != NULL; i++) {
        struct killswitch k;
        enum err e = st->ops->killswitch_get(st, names[i], &k);
        if (e == ERR_NOT_FOUND)
            continue;
        if (e != ERR_OK)
            return e;
        if (k.on) {
            if (out)
                *out = k;
            return ERR_SUSPENDED;
        }
    }
    return ERR_OK;
}

enum err killswitch_check_scoped(struct store *st, const char *name, int64_t merchant_id, int64_t store_id,
                                 struct killswitch *out)
{
    /* Global first: its reason is the one to show when several are on. */
    char mer[KILLSWITCH_NAME_MAX + 1] = "", sto[KILLSWITCH_NAME_MAX + 1] = "", id[IDS_BUF];
    if (merchant_id > 0)
        snprintf(mer, sizeof mer, "%s@%s", name, ids_format(id, MERCHANT_ID_PREFIX, merchant_id));
    if (store_id > 0)
        snprintf(sto, sizeof sto, "%s@%s", name, ids_format(id, MERCHANT_STORE_ID_PREFIX, store_id));
    const char *names[4];
    size_t n = 0;
    names[n++] = name;
    if (mer[0])
        names[n++] = mer;
    if (sto[0])
        names[n++] = sto;
    names[n] = NULL;
    return killswitch_check(st, names, out);
}

#define EACH_PAGE 64

enum err killswitch_each(struct store *st, killswitch_each_fn each, void *ctx)
{
    size_t nnames;
    const char *const *names = killswitch_names(&nnames);
    struct killswitch k;
    enum err e = ERR_OK;
    for (size_t i = 0; e == ERR_OK && i < nnames; i++) {
        e = st->ops->killswitch_get(st, names[i], &k);
        if (e == ERR_NOT_FOUND) {
            memset(&k, 0, sizeof k);
            snprintf(k.name, sizeof k.name, "%s", names[i]);
            e = ERR_OK;
        }
        if (e == ERR_OK)
            e = each(&k, ctx);
    }
    struct killswitch *page = e == ERR_OK ? calloc(EACH_PAGE, sizeof *page) : NULL;
    if (e == ERR_OK && page == NULL)
        e = ERR_NOMEM;
    char after[KILLSWITCH_NAME_MAX + 1] = "";
    size_t got = EACH_PAGE;
    while (e == ERR_OK && got == EACH_PAGE) {
        if ((e = st->ops->killswitch_list(st, after, EACH_PAGE, page, &got)) != ERR_OK)
            break;
        for (size_t r = 0; e == ERR_OK && r < got; r++)
            if (!plain_known(page[r].name))
                e = each(&page[r], ctx);
        if (got > 0)
            snprintf(after, sizeof after, "%s", page[got - 1].name);
    }
    free(page);
    return e;
}
