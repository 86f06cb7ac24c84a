/* retry.h: when a message that failed to go out is tried again (mail in
 * notify/outbox.h, merchant webhooks in notify/webhook.h).
 *
 * A receiver that is down must not be hammered, and one that stays down
 * must not keep a message alive for ever.  After its n-th failed attempt a
 * message waits base_ms * 2^(n-1), at most max_ms (30 s, 1 min, 2 min, …,
 * then every hour); after max_attempts attempts, or once it is older than
 * max_age_ms, it is given up (DEAD): kept for the operator, never tried again,
 * logged by its reference only (never its content).
 *
 *   QUEUED --attempt fails, not dead--> WAITING (next_ms = now + delay)
 *   WAITING --next_ms reached--> QUEUED
 *   QUEUED --attempt fails, attempts >= max_attempts or age >= max_age--> DEAD
 */
#ifndef KESSAI_NOTIFY_RETRY_H
#define KESSAI_NOTIFY_RETRY_H

#include <stdbool.h>
#include <stdint.h>

struct notify_retry {
    int64_t base_ms;    /* the wait after the first failure */
    int64_t max_ms;     /* the longest wait */
    int max_attempts;   /* given up after this many failed attempts */
    int64_t max_age_ms; /* given up when a failure comes this long after queueing */
};

/* 30 s doubling to 1 h; 20 attempts (about 13 hours of waits) or 3 days. */
#define NOTIFY_RETRY_DEFAULT ((struct notify_retry){30000, 3600000, 20, 3 * 86400000LL})

/* The wait after the attempts-th failure (attempts >= 1). */
int64_t notify_retry_delay(const struct notify_retry *r, int attempts);
/* Whether a message queued at created_ms is given up after its
 * attempts-th failure at now. */
bool notify_retry_dead(const struct notify_retry *r, int attempts, int64_t created_ms, int64_t now);

#endif
