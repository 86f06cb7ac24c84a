/* card_limits.c: link limits and the card-testing defence (card_limits.h).
 *
 * Invariants:
 *  1. An attempt is counted before the gateway is asked (card_limits_count
 *     commits with the checks), so concurrent requests cannot together get
 *     more answers from issuers than the limits allow, and a crash during
 *     the gateway call still leaves the attempt counted.
 *  2. A block starts only in the transaction that records the decline
 *     crossing the threshold, and at most once while it lasts: one
 *     card_testing_blocked per block.
 *  3. Counts and blocks live in the store: every node sees them, and they
 *     survive restarts.
 *  4. An attempt still waiting for the issuer (PENDING) counts at
 *     admission as if it had been declined: as a CVC mismatch for its
 *     customer, as a decline for its device and address.  So requests
 *     racing through the issuer cannot together hear more answers than the
 *     thresholds allow (3 CVC guesses, 5 declines), however many workers
 *     run them.  A PENDING attempt that a crash left behind keeps counting
 *     until it leaves its window.
 */
#include "wallet/card_limits.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "auth/events.h"
#include "auth/throttle.h"
#include "util/timeutil.h"
#include "wallet/card.h"

#define BLOCK_MS ((int64_t)CARD_BLOCK_S * 1000)
/* Retry-After of a refusal for attempts still waiting for the issuer
 * (invariant 4): about how long the issuer takes to answer them. */
#define PENDING_RETRY_S 5

enum err card_sources_load(const struct wallet_ctx *w, const struct auth_session *cur, struct card_sources *src)
{
    struct customer_device d;
    memset(src, 0, sizeof *src);
    src->customer_id = cur->customer_id;
    src->device_id = cur->device_id;
    ids_format(src->customer, CUSTOMER_ID_PREFIX, cur->customer_id);
    enum err e = w->a.st->ops->device_get(w->a.st, cur->device_id, &d);
    if (e == ERR_OK && d.customer_id == cur->customer_id)
        memcpy(src->device_key, d.public_key, sizeof src->device_key);
    else if (e != ERR_OK && e != ERR_NOT_FOUND)
        return e;
    if (w->a.client_addr && *w->a.client_addr) {
        const char *k = throttle_addr_key(w->a.client_addr, src->addr);
        if (k != src->addr) /* not an IP address: kept as typed, cut to fit */
            snprintf(src->addr, sizeof src->addr, "%s", k);
    }
    return ERR_OK;
}

/* The latest end of a live block among the sources (0: none). */
static enum err blocked_until(const struct wallet_ctx *w, const struct card_sources *src, int64_t *until)
{
    const struct {
        int kind;
        const char *source;
    } keys[] = {
        {AUTH_SOURCE_CARD_CUSTOMER, src->customer},
        {AUTH_SOURCE_CARD_DEVICE, src->device_key},
        {AUTH_SOURCE_CARD_ADDR, src->addr},
    };
    *until = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int64_t u = 0;
        if (keys[i].source[0] == '\0')
            continue;
        enum err e = w->a.st->ops->source_block_get(w->a.st, keys[i].kind, keys[i].source, &u);
        if (e == ERR_NOT_FOUND)
            continue;
        if (e != ERR_OK)
            return e;
        if (u > w->a.now && u > *until)
            *until = u;
    }
    return ERR_OK;
}

static int64_t seconds_until(int64_t until_ms, int64_t now)
{
    int64_t s = (until_ms - now + 999) / 1000;
    return s < 1 ? 1 : s;
}

static enum err customer_attempts(const struct wallet_ctx *w, int64_t customer_id, int64_t since, int *n)
{
    return w->a.st->ops->card_attempt_count(w->a.st, customer_id, 0, NULL, 0, since, n);
}

/* When the day's attempts will allow one more: the store only counts, so
 * find (to the second) the earliest window start that holds fewer than the
 * limit; that start plus a day is when the window reaches it.  Runs only
 * on a refusal, about 17 indexed counts. */
static enum err attempts_retry_after(const struct wallet_ctx *w, int64_t customer_id, int64_t *retry_after_s)
{
    int64_t lo = w->a.now - TIME_DAY_MS; /* count(lo) >= limit */
    int64_t hi = w->a.now + 1;      /* count(hi) == 0 */
    while (hi - lo > 1000) {
        int64_t mid = lo + (hi - lo) / 2;
        int n = 0;
        enum err e = customer_attempts(w, customer_id, mid, &n);
        if (e != ERR_OK)
            return e;
        if (n >= CARD_ATTEMPTS_PER_DAY)
            lo = mid;
        else
            hi = mid;
    }
    *retry_after_s = seconds_until(hi + TIME_DAY_MS, w->a.now);
    return ERR_OK;
}

/* Attempts of one source since since_ms with each outcome in outcomes
 * (0-terminated), summed. */
static enum err count_outcomes(const struct wallet_ctx *w, int64_t customer_id, int64_t device_id, const char *addr,
                               const int *outcomes, int64_t since, int *n)
{
    *n = 0;
    for (const int *o = outcomes; *o != 0; o++) {
        int k = 0;
        enum err e = w->a.st->ops->card_attempt_count(w->a.st, customer_id, device_id, addr, *o, since, &k);
        if (e != ERR_OK)
            return e;
        *n += k;
    }
    return ERR_OK;
}

static const int cvc_outcomes[] = {CARD_ATTEMPT_CVC, 0};
static const int cvc_or_pending[] = {CARD_ATTEMPT_CVC, CARD_ATTEMPT_COUNT_PENDING, 0};
static const int decline_outcomes[] = {CARD_ATTEMPT_DECLINED, CARD_ATTEMPT_CVC, 0};
static const int decline_or_pending[] = {CARD_ATTEMPT_DECLINED, CARD_ATTEMPT_CVC, CARD_ATTEMPT_COUNT_PENDING, 0};

/* Declines of any kind (with pending: and attempts still waiting) from a
 * device or an address in the last hour. */
static enum err source_declines(const struct wallet_ctx *w, int64_t device_id, const char *addr, bool pending,
                                int *n)
{
    return count_outcomes(w, 0, device_id, addr, pending ? decline_or_pending : decline_outcomes,
                          w->a.now - TIME_HOUR_MS, n);
}

/* Invariant 4: would the attempts still waiting for the issuer, were they
 * all declines, already reach a threshold? */
static enum err pending_reach(const struct wallet_ctx *w, const struct card_sources *src, bool *reach)
{
    int n = 0;
    enum err e = count_outcomes(w, src->customer_id, 0, NULL, cvc_or_pending, w->a.now - TIME_DAY_MS, &n);
    *reach = e == ERR_OK && n >= CARD_CVC_MISMATCH_MAX;
    if (e == ERR_OK && !*reach && src->device_key[0] != '\0' &&
        (e = source_declines(w, src->device_id, NULL, true, &n)) == ERR_OK)
        *reach = n >= CARD_SOURCE_DECLINES_MAX;
    if (e == ERR_OK && !*reach && src->addr[0] != '\0' && (e = source_declines(w, 0, src->addr, true, &n)) == ERR_OK)
        *reach = n >= CARD_SOURCE_DECLINES_MAX;
    return e;
}

enum err card_limits_check(const struct wallet_ctx *w, const struct card_sources *src, const char **why,
                           int64_t *retry_after_s)
{
    struct store *st = w->a.st;
    struct card cards[CARD_MAX_ACTIVE];
    size_t ncards = 0;
    int64_t until = 0;
    int n = 0;
    enum err e = blocked_until(w, src, &until);
    if (e != ERR_OK)
        return e;
    if (until > 0) {
        *why = "blocked";
        *retry_after_s = seconds_until(until, w->a.now);
        return ERR_RATE_LIMITED;
    }
    bool reach = false;
    if ((e = pending_reach(w, src, &reach)) != ERR_OK)
        return e;
    if (reach) {
        *why = "blocked"; /* to the caller, the same answer as a block */
        *retry_after_s = PENDING_RETRY_S;
        return ERR_RATE_LIMITED;
    }
    if ((e = st->ops->card_list(st, src->customer_id, 0, 0, CARD_MAX_ACTIVE, cards, &ncards)) != ERR_OK)
        return e;
    if (ncards >= CARD_MAX_ACTIVE) {
        *why = "cards";
        return ERR_LIMIT_EXCEEDED;
    }
    if ((e = customer_attempts(w, src->customer_id, w->a.now - TIME_DAY_MS, &n)) != ERR_OK)
        return e;
    if (n < CARD_ATTEMPTS_PER_DAY)
        return ERR_OK;
    *why = "attempts";
    e = attempts_retry_after(w, src->customer_id, retry_after_s);
    return e == ERR_OK ? ERR_RATE_LIMITED : e;
}

enum err card_limits_count(const struct wallet_ctx *w, const struct card_sources *src, int64_t *attempt_id)
{
    struct card_attempt a = {0};
    a.customer_id = src->customer_id;
    a.device_id = src->device_id;
    memcpy(a.client_addr, src->addr, sizeof a.client_addr);
    a.outcome = CARD_ATTEMPT_PENDING;
    a.at_ms = w->a.now;
    /* The longest window is a day: older rows can go. */
    enum err e = w->a.st->ops->card_attempt_insert(w->a.st, &a, w->a.now - TIME_DAY_MS);
    *attempt_id = a.id;
    return e;
}

/* Block one source unless it is already blocked (invariant 2). */
static enum err block(const struct wallet_ctx *w, const struct card_sources *src, int kind, const char *source,
                      const char *name)
{
    struct store *st = w->a.st;
    int64_t until = 0;
    enum err e = st->ops->source_block_get(st, kind, source, &until);
    if (e == ERR_OK && until > w->a.now)
        return ERR_OK;
    if (e != ERR_OK && e != ERR_NOT_FOUND)
        return e;
    until = w->a.now + BLOCK_MS;
    if ((e = st->ops->source_block_put(st, kind, source, until)) != ERR_OK)
        return e;
    return sec_event_record(st, w->a.now, src->customer_id, SEC_CARD_TESTING_BLOCKED, SEC_FAILURE, w->a.client_addr,
                            src->device_id, json_pack("{s:s, s:I}", "source", name, "blocked_until_ms",
                                                      (json_int_t)until));
}

enum err card_limits_declined(const struct wallet_ctx *w, const struct card_sources *src, int64_t attempt_id,
                              enum err decline)
{
    struct store *st = w->a.st;
    int outcome = decline == ERR_INCORRECT_CVC ? CARD_ATTEMPT_CVC : CARD_ATTEMPT_DECLINED;
    int n = 0;
    enum err e = st->ops->card_attempt_set_outcome(st, attempt_id, outcome);
    if (e == ERR_OK && outcome == CARD_ATTEMPT_CVC)
        e = count_outcomes(w, src->customer_id, 0, NULL, cvc_outcomes, w->a.now - TIME_DAY_MS, &n);
    if (e == ERR_OK && n >= CARD_CVC_MISMATCH_MAX)
        e = block(w, src, AUTH_SOURCE_CARD_CUSTOMER, src->customer, "customer");
    if (e == ERR_OK && src->device_key[0] != '\0' &&
        (e = source_declines(w, src->device_id, NULL, false, &n)) == ERR_OK && n >= CARD_SOURCE_DECLINES_MAX)
        e = block(w, src, AUTH_SOURCE_CARD_DEVICE, src->device_key, "device");
    if (e == ERR_OK && src->addr[0] != '\0' && (e = source_declines(w, 0, src->addr, false, &n)) == ERR_OK &&
        n >= CARD_SOURCE_DECLINES_MAX)
        e = block(w, src, AUTH_SOURCE_CARD_ADDR, src->addr, "address");
    return e;
}
