/* types.h: the stored records of the outbox (notify/outbox.h) and of
 * merchant webhooks (notify/webhook.h). */
#ifndef KESSAI_NOTIFY_TYPES_H
#define KESSAI_NOTIFY_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "util/masterkey.h"

#define NOTIFY_TO_MAX 254
#define NOTIFY_SUBJECT_MAX 200
#define NOTIFY_BODY_MAX 3000
#define NOTIFY_REF_LEN 32 /* 16 bytes in hex (time, 80 random bits): unique, the Message-ID */
/* Sealed message: to '\0' subject '\0' body, sealed with the master key. */
#define NOTIFY_SEALED_MAX (NOTIFY_TO_MAX + NOTIFY_SUBJECT_MAX + NOTIFY_BODY_MAX + 3 + MASTERKEY_SEAL_OVERHEAD)

struct outbox_msg {
    int64_t id;
    char ref[NOTIFY_REF_LEN + 1];
    uint8_t sealed[NOTIFY_SEALED_MAX];
    size_t sealed_len;
    int64_t created_ms;
    int64_t sent_ms;   /* 0 until delivered */
    int attempts;      /* failed attempts so far (notify/retry.h) */
    int64_t next_ms;   /* not tried again before this (0: at once) */
    int64_t failed_ms; /* given up at (0: still trying) */
};

#define WEBHOOK_URL_MAX 500
#define WEBHOOK_EVENTS_MAX 200 /* the subscribed types, comma-separated */
#define WEBHOOK_TYPE_MAX 31
#define WEBHOOK_EVENT_ID_MAX 40
#define WEBHOOK_BODY_MAX 2000
/* "whsec_" + 64 hex digits: shown once; its ASCII bytes are the HMAC key. */
#define WEBHOOK_SECRET_LEN 70
#define WEBHOOK_SEALED_LEN (WEBHOOK_SECRET_LEN + MASTERKEY_SEAL_OVERHEAD)

/* A merchant's endpoint (webhook_endpoints). */
struct webhook_endpoint {
    int64_t id;
    int64_t merchant_id;
    char url[WEBHOOK_URL_MAX + 1];
    char events[WEBHOOK_EVENTS_MAX + 1];
    uint8_t secret_sealed[WEBHOOK_SEALED_LEN]; /* AD "webhook:<id>" */
    int64_t created_ms;
    int64_t removed_ms; /* 0 while active */
};

/* One event for one endpoint (webhook_deliveries): the body is built when
 * the event is queued (no customer data: docs/webhooks.md) and signed when
 * it is sent. */
struct webhook_delivery {
    int64_t id;
    int64_t endpoint_id;
    char event_id[WEBHOOK_EVENT_ID_MAX + 1];
    char type[WEBHOOK_TYPE_MAX + 1];
    char body[WEBHOOK_BODY_MAX + 1];
    int64_t created_ms;
    int attempts;
    int64_t next_ms;
    int64_t sent_ms;
    int64_t failed_ms;
    int last_status; /* HTTP status of the last attempt (0: no answer) */
};

#define FEED_TYPE_MAX 31
#define FEED_BODY_MAX 1500

/* One event of a customer's live feed (customer_events, notify/feed.h). */
struct feed_event {
    int64_t id;
    int64_t customer_id;
    char type[FEED_TYPE_MAX + 1];
    char body[FEED_BODY_MAX + 1]; /* the JSON "data" of the event */
    int64_t created_ms;
};

#endif
