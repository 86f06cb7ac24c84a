/* webhook.c: merchant webhook endpoints, events and their delivery
 * (contract and state machine in webhook.h). */
#include "notify/webhook.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/ids.h"
#include "util/log.h"
#include "util/timeutil.h"

const char *const webhook_event_types[] = {WEBHOOK_PAYMENT_SUCCEEDED, WEBHOOK_REFUND_SUCCEEDED,
                                           WEBHOOK_CHARGE_VOIDED, NULL};

/* Deliveries read per round trip to the store. */
#define DELIVER_BATCH 64

static bool host_is_loopback(const char *host, size_t len)
{
    return (len == 9 && strncasecmp(host, "127.0.0.1", 9) == 0) || (len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
           (len == 5 && strncmp(host, "[::1]", 5) == 0);
}

enum err webhook_check_url(const char *url)
{
    size_t len = strlen(url);
    if (len == 0 || len > WEBHOOK_URL_MAX)
        return ERR_INVALID_PARAM;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return ERR_INVALID_PARAM; /* no spaces, controls or raw non-ASCII */
    bool https = strncasecmp(url, "https://", 8) == 0;
    bool http = !https && strncasecmp(url, "http://", 7) == 0;
    if (!https && !http)
        return ERR_INVALID_PARAM;
    const char *host = url + (https ? 8 : 7);
    size_t hlen = strcspn(host, "/?#");
    const char *at = memchr(host, '@', hlen);
    if (at != NULL)
        return ERR_INVALID_PARAM; /* no credentials in URLs: they would sit in the clear */
    /* The host without its port. */
    size_t name = hlen;
    if (host[0] == '[') {
        const char *close = memchr(host, ']', hlen);
        if (close == NULL)
            return ERR_INVALID_PARAM;
        name = (size_t)(close - host) + 1;
    } else {
        const char *colon = memchr(host, ':', hlen);
        if (colon)
            name = (size_t)(colon - host);
    }
    if (name == 0)
        return ERR_INVALID_PARAM;
    if (http && !host_is_loopback(host, name))
        return ERR_INVALID_PARAM;
    return ERR_OK;
}

static int event_index(const char *s, size_t len)
{
    for (int i = 0; webhook_event_types[i]; i++)
        if (strlen(webhook_event_types[i]) == len && strncmp(webhook_event_types[i], s, len) == 0)
            return i;
    return -1;
}

enum err webhook_parse_events(const char *list, char out[WEBHOOK_EVENTS_MAX + 1])
{
    bool seen[8] = {false};
    out[0] = '\0';
    size_t used = 0;
    const char *p = list;
    for (;;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        int i = event_index(p, trimmed);
        if (i < 0 || seen[i])
            return ERR_INVALID_PARAM;
        seen[i] = true;
        int w = snprintf(out + used, WEBHOOK_EVENTS_MAX + 1 - used, "%s%s", used ? "," : "", webhook_event_types[i]);
        if (w < 0 || (size_t)w >= WEBHOOK_EVENTS_MAX + 1 - used)
            return ERR_INVALID_PARAM;
        used += (size_t)w;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    return ERR_OK;
}

static bool subscribed(const char *events, const char *type)
{
    size_t tl = strlen(type);
    for (const char *p = events; *p;) {
        size_t len = strcspn(p, ",");
        if (len == tl && strncmp(p, type, len) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

static void secret_ad(char ad[48], int64_t id) { snprintf(ad, 48, "webhook:%" PRId64, id); }

enum err webhook_endpoint_create(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], int64_t now,
                                 int64_t merchant_id, const char *url, const char *events,
                                 struct webhook_endpoint *out, char secret[WEBHOOK_SECRET_LEN + 1])
{
    memset(out, 0, sizeof *out);
    if (webhook_check_url(url) != ERR_OK || webhook_parse_events(events, out->events) != ERR_OK)
        return ERR_INVALID_PARAM;
    struct webhook_endpoint *have = calloc(WEBHOOK_ENDPOINTS_MAX, sizeof *have);
    size_t n = 0;
    enum err e = have ? st->ops->webhook_endpoint_list(st, merchant_id, false, 0, WEBHOOK_ENDPOINTS_MAX, have, &n)
                      : ERR_NOMEM;
    free(have);
    if (e == ERR_OK && n >= WEBHOOK_ENDPOINTS_MAX)
        e = ERR_LIMIT_EXCEEDED; /* webhook_queue would never look at it */
    if (e != ERR_OK)
        return e;
    snprintf(out->url, sizeof out->url, "%s", url);
    out->merchant_id = merchant_id;
    out->created_ms = now;
    e = st->ops->webhook_endpoint_insert(st, out); /* a zero secret until sealed under its id */
    if (e != ERR_OK)
        return e;
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(secret, WEBHOOK_SECRET_PREFIX, sizeof WEBHOOK_SECRET_PREFIX - 1);
    sodium_bin2hex(secret + sizeof WEBHOOK_SECRET_PREFIX - 1, WEBHOOK_SECRET_LEN + 2 - sizeof WEBHOOK_SECRET_PREFIX,
                   raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    char ad[48];
    secret_ad(ad, out->id);
    masterkey_seal(master_key, (const uint8_t *)secret, WEBHOOK_SECRET_LEN, ad, out->secret_sealed);
    return st->ops->webhook_endpoint_set_secret(st, out->id, out->secret_sealed);
}

enum err webhook_endpoint_secret(const uint8_t master_key[MASTERKEY_BYTES], const struct webhook_endpoint *w,
                                 char secret[WEBHOOK_SECRET_LEN + 1])
{
    char ad[48];
    secret_ad(ad, w->id);
    if (masterkey_open(master_key, w->secret_sealed, sizeof w->secret_sealed, ad, (uint8_t *)secret) != ERR_OK) {
        char id[IDS_BUF];
        log_event(LOG_ERROR, "webhook_secret_unopenable",
                  json_pack("{s:s}", "endpoint", ids_format(id, WEBHOOK_ID_PREFIX, w->id)));
        sodium_memzero(secret, WEBHOOK_SECRET_LEN + 1);
        return ERR_INTERNAL;
    }
    secret[WEBHOOK_SECRET_LEN] = '\0';
    return ERR_OK;
}

void webhook_sign(const char *secret, int64_t t, const char *body, char out[WEBHOOK_SIGNATURE_BUF])
{
    char ts[24];
    int tl = snprintf(ts, sizeof ts, "%" PRId64, t);
    crypto_auth_hmacsha256_state s;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&s, (const uint8_t *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&s, (const uint8_t *)ts, (size_t)tl);
    crypto_auth_hmacsha256_update(&s, (const uint8_t *)".", 1);
    crypto_auth_hmacsha256_update(&s, (const uint8_t *)body, strlen(body));
    crypto_auth_hmacsha256_final(&s, mac);
    char hex[2 * sizeof mac + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    snprintf(out, WEBHOOK_SIGNATURE_BUF, "t=%s,v1=%s", ts, hex);
    sodium_memzero(&s, sizeof s);
}

enum err webhook_queue(struct store *st, int64_t now, int64_t merchant_id, const char *type, const char *event_id,
                       webhook_data_fn data, const void *arg)
{
    struct webhook_endpoint *eps = calloc(WEBHOOK_ENDPOINTS_MAX, sizeof *eps);
    struct webhook_delivery *d = calloc(1, sizeof *d);
    char *body = NULL;
    size_t n = 0;
    enum err e = eps && d ? ERR_OK : ERR_NOMEM;
    if (e == ERR_OK)
        e = st->ops->webhook_endpoint_list(st, merchant_id, false, 0, WEBHOOK_ENDPOINTS_MAX, eps, &n);
    bool any = false;
    for (size_t i = 0; e == ERR_OK && i < n; i++)
        any = any || subscribed(eps[i].events, type);
    if (e != ERR_OK || !any)
        goto cleanup;
    json_t *ev = json_pack("{s:s, s:s, s:I, s:o}", "id", event_id, "type", type, "created", (json_int_t)(now / 1000),
                           "data", data(arg));
    body = ev ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(ev);
    if (body == NULL) {
        e = ERR_NOMEM;
        goto cleanup;
    }
    if (strlen(body) > WEBHOOK_BODY_MAX || strlen(event_id) > WEBHOOK_EVENT_ID_MAX || strlen(type) > WEBHOOK_TYPE_MAX) {
        e = ERR_INVALID_PARAM;
        goto cleanup;
    }
    for (size_t i = 0; e == ERR_OK && i < n; i++) {
        if (!subscribed(eps[i].events, type))
            continue;
        memset(d, 0, sizeof *d);
        d->endpoint_id = eps[i].id;
        snprintf(d->event_id, sizeof d->event_id, "%s", event_id);
        snprintf(d->type, sizeof d->type, "%s", type);
        snprintf(d->body, sizeof d->body, "%s", body);
        d->created_ms = now;
        e = st->ops->webhook_delivery_insert(st, d);
        if (e == ERR_CONFLICT)
            e = ERR_OK; /* queued before (invariant 1: one delivery per event and endpoint) */
    }
cleanup:
    free(body);
    free(eps);
    free(d);
    return e;
}

/* One attempt: open the secret, sign now, POST.  Fills d's outcome. */
static enum err attempt(const uint8_t master_key[MASTERKEY_BYTES], const struct webhook_poster *poster,
                        const struct webhook_endpoint *w, struct webhook_delivery *d, int64_t now)
{
    char secret[WEBHOOK_SECRET_LEN + 1], sig[WEBHOOK_SIGNATURE_BUF];
    enum err e = webhook_endpoint_secret(master_key, w, secret);
    if (e != ERR_OK)
        return e;
    webhook_sign(secret, now / 1000, d->body, sig);
    sodium_memzero(secret, sizeof secret);
    int status = 0;
    e = poster->post(poster->ctx, w->url, sig, d->event_id, d->body, &status);
    d->last_status = status;
    return e;
}

static void log_failure(const struct webhook_delivery *d, enum err e, int64_t now, bool dead)
{
    char id[IDS_BUF];
    log_event(dead ? LOG_ERROR : LOG_WARN, dead ? "webhook_delivery_dead" : "webhook_delivery_failed",
              json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:I}", "event_id", d->event_id, "type", d->type, "endpoint",
                        ids_format(id, WEBHOOK_ID_PREFIX, d->endpoint_id), "code", err_symbol(e), "status",
                        d->last_status, "attempts", d->attempts, "queued_ms", (json_int_t)(now - d->created_ms),
                        "retry_in_ms", (json_int_t)(dead ? 0 : d->next_ms - now)));
}

static enum err record(struct store *st, const struct webhook_delivery *batch, size_t n)
{
    enum err c = st->ops->begin(st);
    for (size_t i = 0; c == ERR_OK && i < n; i++) {
        c = st->ops->webhook_delivery_update(st, &batch[i]);
        if (c == ERR_NOT_FOUND)
            c = ERR_OK; /* another node sent it meanwhile */
    }
    if (c == ERR_OK)
        c = st->ops->commit(st);
    if (c != ERR_OK)
        st->ops->rollback(st);
    return c;
}

/* Until when endpoint id is held (0: it is not). */
static int64_t held_until(const struct webhook_holds *holds, int64_t id)
{
    for (size_t i = 0; holds && i < WEBHOOK_HOLDS_MAX; i++)
        if (holds->h[i].endpoint_id == id)
            return holds->h[i].until_ms;
    return 0;
}

/* Hold endpoint id until until_ms (0: release it).  Its own entry, else a
 * free one, else (full) the hold that ends first. */
static void hold(struct webhook_holds *holds, int64_t id, int64_t until_ms)
{
    if (holds == NULL)
        return;
    size_t own = WEBHOOK_HOLDS_MAX, free_slot = WEBHOOK_HOLDS_MAX, soonest = 0;
    for (size_t i = 0; i < WEBHOOK_HOLDS_MAX; i++) {
        if (holds->h[i].endpoint_id == id)
            own = i;
        else if (holds->h[i].endpoint_id == 0 && free_slot == WEBHOOK_HOLDS_MAX)
            free_slot = i;
        if (holds->h[i].until_ms < holds->h[soonest].until_ms)
            soonest = i;
    }
    size_t slot = own < WEBHOOK_HOLDS_MAX ? own : free_slot < WEBHOOK_HOLDS_MAX ? free_slot : soonest;
    if (until_ms == 0) {
        if (own < WEBHOOK_HOLDS_MAX)
            holds->h[own].endpoint_id = 0;
        return;
    }
    holds->h[slot].endpoint_id = id;
    holds->h[slot].until_ms = until_ms;
}

enum err webhook_deliver_pending(struct store *st, const uint8_t master_key[MASTERKEY_BYTES],
                                 const struct webhook_poster *poster, const struct notify_retry *retry, int64_t now,
                                 struct webhook_holds *holds, size_t *delivered)
{
    int64_t posting_ns = 0; /* the round's time in the poster so far */
    struct webhook_delivery *batch = calloc(DELIVER_BATCH, sizeof *batch);
    struct webhook_endpoint *w = calloc(1, sizeof *w);
    size_t sent = 0, n = 0;
    enum err e = batch && w ? ERR_OK : ERR_NOMEM, failed = ERR_OK;
    /* As for mail (outbox.c): posting happens with no transaction open
     * (a slow receiver must never hold the write lock payments need), and
     * only the outcome of a batch is recorded, briefly, after. */
    int64_t after = 0;
    for (bool more = e == ERR_OK; more;) {
        e = st->ops->webhook_delivery_pending(st, after, now, DELIVER_BATCH, batch, &n);
        for (size_t i = 0; e == ERR_OK && i < n; i++) {
            struct webhook_delivery *d = &batch[i];
            after = d->id;
            /* A slow receiver makes a long round: each attempt is signed,
             * and its back-off counted, at its own time, not the round's
             * start (the time the posts before it took). */
            int64_t at = now + posting_ns / 1000000;
            int64_t until = held_until(holds, d->endpoint_id);
            if (until > now) {
                if (d->next_ms < until)
                    d->next_ms = until; /* waits with the endpoint, not an attempt */
                continue;
            }
            enum err a = st->ops->webhook_endpoint_get(st, d->endpoint_id, w);
            if (a == ERR_OK && w->removed_ms != 0)
                a = ERR_NOT_FOUND;
            if (a == ERR_OK) {
                int64_t t0 = time_mono_ns();
                a = attempt(master_key, poster, w, d, at);
                posting_ns += time_mono_ns() - t0;
            }
            if (a == ERR_STORE) {
                e = a;
                break;
            }
            d->attempts++;
            if (a == ERR_OK) {
                d->sent_ms = at > 0 ? at : 1;
                hold(holds, d->endpoint_id, 0);
                sent++;
                continue;
            }
            /* A removed endpoint gets nothing more: given up at once. */
            bool dead = a == ERR_NOT_FOUND || notify_retry_dead(retry, d->attempts, d->created_ms, at);
            d->next_ms = at + notify_retry_delay(retry, d->attempts);
            d->failed_ms = dead ? (at > 0 ? at : 1) : 0;
            /* Only a receiver that is down (no answer, 5xx) or asks for
             * less (429) holds its endpoint: one it refuses (another 4xx)
             * is about that event, and must not hold the others back. */
            if (!dead && (d->last_status == 0 || d->last_status == 429 || d->last_status >= 500))
                hold(holds, d->endpoint_id, d->next_ms);
            log_failure(d, a, at, dead);
            if (failed == ERR_OK)
                failed = a;
        }
        if (n > 0) {
            /* Rows not reached after a store error are written back as
             * they were read: harmless. */
            enum err c = record(st, batch, n);
            if (c != ERR_OK && e == ERR_OK)
                e = c;
        }
        more = e == ERR_OK && n == DELIVER_BATCH;
    }
    if (e == ERR_OK)
        e = failed;
    if (delivered)
        *delivered = sent;
    free(batch);
    free(w);
    return e;
}
