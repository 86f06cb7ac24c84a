/* webhook.h: signed webhooks for merchants (docs/webhooks.md).
 *
 * A merchant registers endpoints (an https URL and the event types it
 * wants); each gets a signing secret, shown once at creation and stored
 * only sealed with the master key (AD "webhook:<id>"), like a terminal's.
 * An event (payment.succeeded, refund.succeeded, charge.voided) is queued
 * in the transaction of the money movement it announces, one delivery per
 * subscribed endpoint, so it exists exactly when that movement committed.
 * A deliverer (notify/deliverer.h running webhook_deliver_pending) POSTs it
 * later, outside any transaction:
 *
 *   Content-Type: application/json
 *   Kessai-Event-Id: evt_…
 *   Kessai-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *   {"id":"evt_…","type":"payment.succeeded","created":<unix s>,"data":{…}}
 *
 *   webhook_queue --> QUEUED --POST answered 2xx--> SENT
 *                       ^ |
 *                       | +--other status, no answer--> WAITING (retry.h)
 *                       +----- next_ms reached -----------+
 *   failure after max_attempts / max_age, or endpoint removed --> DEAD
 *
 * Invariants:
 *  1. At least once: a delivery is marked sent only after a 2xx; a crash
 *     between the two sends it again with the same event id (the body's
 *     "id" and Kessai-Event-Id), by which the merchant deduplicates.
 *  2. The signature is made when sent (t is the time of that attempt), so a
 *     receiver may refuse stale timestamps; the body never changes.
 *  3. Bodies carry what the register's receipt shows (amounts, ids, the
 *     store's name and the items), never a customer's identity.
 *  4. URLs are https; plain http only to 127.0.0.1, [::1] or localhost (for
 *     tests and demos on one machine).
 */
#ifndef KESSAI_NOTIFY_WEBHOOK_H
#define KESSAI_NOTIFY_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "notify/retry.h"
#include "notify/types.h"
#include "store/store.h"
#include "util/masterkey.h"

#define WEBHOOK_ID_PREFIX "whk"
#define WEBHOOK_EVENT_ID_PREFIX "evt"
#define WEBHOOK_SECRET_PREFIX "whsec_"
#define WEBHOOK_PAYMENT_SUCCEEDED "payment.succeeded"
#define WEBHOOK_REFUND_SUCCEEDED "refund.succeeded"
#define WEBHOOK_CHARGE_VOIDED "charge.voided"
/* "t=" + up to 20 digits + ",v1=" + 64 hex digits + NUL */
#define WEBHOOK_SIGNATURE_BUF 96

/* Every event type, NULL-terminated. */
extern const char *const webhook_event_types[];

/* Active endpoints a merchant may have: each event is queued for all of
 * them in the payment's transaction. */
#define WEBHOOK_ENDPOINTS_MAX 32

/* ERR_OK if url is an acceptable endpoint (invariant 4, at most
 * WEBHOOK_URL_MAX bytes, no spaces or control characters, a host);
 * ERR_INVALID_PARAM otherwise. */
enum err webhook_check_url(const char *url);
/* Parse a comma-separated list of event types (each known, no repeats,
 * spaces around commas allowed) into out, normalised ("a,b").
 * ERR_INVALID_PARAM on an unknown type or an empty list. */
enum err webhook_parse_events(const char *list, char out[WEBHOOK_EVENTS_MAX + 1]);

/* Register an endpoint in the caller's transaction (two statements: the
 * row, then its secret sealed under its id).  secret gets the plaintext
 * (WEBHOOK_SECRET_PREFIX + 64 hex digits) for the caller to show once.
 * ERR_INVALID_PARAM (url, events), ERR_MERCHANT_NOT_FOUND,
 * ERR_LIMIT_EXCEEDED when the merchant has WEBHOOK_ENDPOINTS_MAX already. */
enum err webhook_endpoint_create(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], int64_t now,
                                 int64_t merchant_id, const char *url, const char *events,
                                 struct webhook_endpoint *out, char secret[WEBHOOK_SECRET_LEN + 1]);
/* The endpoint's secret (ERR_INTERNAL, logged, if it does not open). */
enum err webhook_endpoint_secret(const uint8_t master_key[MASTERKEY_BYTES], const struct webhook_endpoint *w,
                                 char secret[WEBHOOK_SECRET_LEN + 1]);

/* The Kessai-Signature value for body sent at t (unix seconds) under
 * secret: "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>". */
void webhook_sign(const char *secret, int64_t t, const char *body, char out[WEBHOOK_SIGNATURE_BUF]);

/* Queue event event_id of type for every active endpoint of merchant_id
 * subscribed to it, in the caller's transaction.  data(arg) builds the
 * event's "data" object (a new reference; NULL: ERR_NOMEM), only once some
 * endpoint wants the event: most merchants have none, and a payment's
 * commit should not pay for a body nobody gets.  ERR_OK when no endpoint
 * wants it; an event already queued for an endpoint is not queued twice. */
typedef json_t *(*webhook_data_fn)(const void *arg);
enum err webhook_queue(struct store *st, int64_t now, int64_t merchant_id, const char *type, const char *event_id,
                       webhook_data_fn data, const void *arg);

/* How a delivery leaves: POST body to url with the signature and event id
 * headers.  *status gets the HTTP status (0: no answer).  ERR_OK on 2xx. */
struct webhook_poster {
    enum err (*post)(void *ctx, const char *url, const char *signature, const char *event_id, const char *body,
                     int *status);
    void *ctx;
};
/* The libcurl poster (webhook_curl.c): 10 s per attempt, no redirects,
 * http and https only.  curl_global_init must have run. */
struct webhook_poster webhook_curl_poster(void);

/* The endpoints whose last attempt failed, and until when each is left
 * alone: one merchant's dead or hung receiver (each attempt up to the
 * poster's timeout) must not hold up every other merchant's events, nor be
 * tried again for each event queued meanwhile.  Owned by the delivering
 * thread, kept from round to round; zeroed to start.  A full table forgets
 * the hold that ends first. */
#define WEBHOOK_HOLDS_MAX 64
struct webhook_holds {
    struct {
        int64_t endpoint_id; /* 0: a free entry */
        int64_t until_ms;
    } h[WEBHOOK_HOLDS_MAX];
};

/* Deliver every due delivery (the caller must not have a transaction
 * open), oldest first; each failure waits out its back-off or is given up
 * (retry.h), logged with the delivery's event id and endpoint, never its
 * body.  now is the round's start on the caller's clock; each attempt is
 * signed, and its back-off counted, at now plus the time the round has
 * taken so far.  An endpoint that fails is held (holds, may be NULL) until
 * that delivery's next attempt: its other deliveries wait with it, untried
 * and uncounted.  *delivered (may be NULL) counts those sent.  Returns
 * ERR_OK when all went, else the first failure; a store error stops the
 * round. */
enum err webhook_deliver_pending(struct store *st, const uint8_t master_key[MASTERKEY_BYTES],
                                 const struct webhook_poster *poster, const struct notify_retry *retry, int64_t now,
                                 struct webhook_holds *holds, size_t *delivered);

#endif
