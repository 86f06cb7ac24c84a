/* window.c: sliding windows in fixed memory (risk_internal.h).
 *
 * A ring splits a window of W into RISK_BUCKETS buckets of width w =
 * ceil(W / RISK_BUCKETS); bucket k holds what happened in [k*w, (k+1)*w).
 * At time now the window is the buckets now/w - RISK_BUCKETS + 1 .. now/w:
 * an event counts until the bucket after it is RISK_BUCKETS - 1 buckets
 * old, i.e. for between W - w and W (plus less than RISK_BUCKETS ms of
 * rounding).  Exact per-event timestamps would need memory per event; a
 * 1/16 blur of the window's edge is the price of 200 bytes per key.
 *
 * Invariants of a ring:
 *  1. Only the buckets epoch - RISK_BUCKETS + 1 .. epoch hold counts; a
 *     bucket is cleared before it is reused for a newer epoch.
 *  2. Adding never moves epoch backwards: an event older than the oldest
 *     bucket is dropped (it would already be outside every window that
 *     matters to a newer event).
 *
 * A set keeps up to RISK_SET_SIZE distinct members with the time each was
 * last seen.  When it is full, the stalest member makes room: the set can
 * then still tell "more than RISK_SET_THRESHOLD_MAX", which is all a rule
 * asks of it.
 */
#include "risk/risk_internal.h"

#include <string.h>

int64_t risk_ring_width(int64_t window_s)
{
    int64_t ms = window_s * 1000;
    int64_t w = (ms + RISK_BUCKETS - 1) / RISK_BUCKETS;
    return w < 1 ? 1 : w;
}

static size_t slot_of(int64_t epoch)
{
    return (size_t)(epoch % RISK_BUCKETS);
}

void risk_ring_totals(const struct risk_ring *r, int64_t width_ms, int64_t now, int64_t *count, int64_t *sum)
{
    int64_t e = now / width_ms;
    int64_t lo = e - RISK_BUCKETS + 1, hi = e;
    if (r->epoch - RISK_BUCKETS + 1 > lo)
        lo = r->epoch - RISK_BUCKETS + 1;
    if (r->epoch < hi)
        hi = r->epoch;
    int64_t c = 0, s = 0;
    for (int64_t k = lo < 0 ? 0 : lo; k <= hi; k++) {
        c += r->count[slot_of(k)];
        if (__builtin_add_overflow(s, r->sum[slot_of(k)], &s))
            s = INT64_MAX;
    }
    *count = c;
    *sum = s;
}

void risk_ring_add(struct risk_ring *r, int64_t width_ms, int64_t at, int64_t amount)
{
    if (at < 0)
        return;
    int64_t e = at / width_ms;
    if (e > r->epoch) {
        if (e - r->epoch >= RISK_BUCKETS) {
            memset(r->count, 0, sizeof r->count);
            memset(r->sum, 0, sizeof r->sum);
        } else {
            for (int64_t k = r->epoch + 1; k <= e; k++) {
                r->count[slot_of(k)] = 0;
                r->sum[slot_of(k)] = 0;
            }
        }
        r->epoch = e;
    } else if (e <= r->epoch - RISK_BUCKETS) {
        return; /* invariant 2 */
    }
    size_t i = slot_of(e);
    if (r->count[i] < UINT32_MAX)
        r->count[i]++;
    if (amount > 0 && __builtin_add_overflow(r->sum[i], amount, &r->sum[i]))
        r->sum[i] = INT64_MAX;
}

void risk_ring_sub(struct risk_ring *r, int64_t width_ms, int64_t at, int64_t amount)
{
    int64_t e = at / width_ms;
    if (at < 0 || e > r->epoch || e <= r->epoch - RISK_BUCKETS)
        return; /* never counted here, or already out of the ring */
    size_t i = slot_of(e);
    if (r->count[i] > 0 && r->count[i] < UINT32_MAX) /* a saturated count stays saturated */
        r->count[i]--;
    if (amount > 0 && r->sum[i] < INT64_MAX)
        r->sum[i] = r->sum[i] > amount ? r->sum[i] - amount : 0;
}

int risk_set_count(const struct risk_set *s, int64_t window_ms, int64_t now, int64_t also)
{
    int n = 0;
    bool seen = false;
    for (size_t i = 0; i < RISK_SET_SIZE; i++) {
        if (s->m[i].member == 0 || s->m[i].at_ms <= now - window_ms)
            continue;
        n++;
        if (s->m[i].member == also)
            seen = true;
    }
    return n + (also != 0 && !seen);
}

void risk_set_add(struct risk_set *s, int64_t member, int64_t at)
{
    if (member == 0)
        return;
    size_t victim = RISK_SET_SIZE;
    for (size_t i = 0; i < RISK_SET_SIZE; i++) {
        if (s->m[i].member == member) {
            if (at > s->m[i].at_ms)
                s->m[i].at_ms = at;
            return;
        }
        if (s->m[i].member == 0 && victim == RISK_SET_SIZE)
            victim = i;
    }
    if (victim == RISK_SET_SIZE) { /* full: the stalest member goes */
        victim = 0;
        for (size_t i = 1; i < RISK_SET_SIZE; i++)
            if (s->m[i].at_ms < s->m[victim].at_ms)
                victim = i;
    }
    s->m[victim].member = member;
    s->m[victim].at_ms = at;
}
