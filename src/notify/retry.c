#include "notify/retry.h"

int64_t notify_retry_delay(const struct notify_retry *r, int attempts)
{
    int64_t d = r->base_ms > 0 ? r->base_ms : 1;
    /* Doubling stops at the cap, so the shift never overflows. */
    for (int i = 1; i < attempts && d < r->max_ms; i++)
        d *= 2;
    return d < r->max_ms ? d : r->max_ms;
}

bool notify_retry_dead(const struct notify_retry *r, int attempts, int64_t created_ms, int64_t now)
{
    return attempts >= r->max_attempts || now - created_ms >= r->max_age_ms;
}
