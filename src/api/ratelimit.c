/* ratelimit.c: token buckets in a fixed open-addressed table.
 *
 * Invariants:
 *  1. 0 <= tokens_m <= burst * 1000 (milli-tokens, so refill is exact in
 *     integers at millisecond resolution).
 *  2. A key lives in one of the PROBE slots after its home slot; lookups and
 *     inserts scan exactly that window, so every operation is O(PROBE).
 *  3. Everything is under rl->mu.
 */
#include "api/ratelimit.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PROBE 8
#define KEY_BYTES 16

struct bucket {
    bool used;
    uint8_t key[KEY_BYTES];
    int64_t tokens_m;
    int64_t last_ms; /* last refill */
    int64_t used_ms; /* last use: what "least recently used" means (refill
                        during a lookup's scan must not count as use) */
};

struct ratelimit {
    pthread_mutex_t mu;
    int64_t cap_m; /* burst * 1000 */
    int64_t per_second;
    size_t mask;
    uint8_t hash_key[crypto_generichash_KEYBYTES];
    struct bucket *slots;
};

enum err ratelimit_new(const struct ratelimit_opts *o, struct ratelimit **out)
{
    if (o->burst == 0 || o->per_second == 0 || o->slots == 0)
        return ERR_INVALID_PARAM;
    size_t n = 16;
    while (n < o->slots && n < ((size_t)1 << 24))
        n <<= 1;
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (rl == NULL)
        return ERR_NOMEM;
    rl->slots = calloc(n, sizeof *rl->slots);
    if (rl->slots == NULL) {
        free(rl);
        return ERR_NOMEM;
    }
    pthread_mutex_init(&rl->mu, NULL);
    rl->cap_m = (int64_t)o->burst * 1000;
    rl->per_second = o->per_second;
    rl->mask = n - 1;
    randombytes_buf(rl->hash_key, sizeof rl->hash_key);
    *out = rl;
    return ERR_OK;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    free(rl);
}

/* The identity a bucket is kept for: an IPv4 address, an IPv6 /64, or the
 * string itself if it is neither (e.g. "unknown": all such share one). */
static void client_key(const struct ratelimit *rl, const char *addr, uint8_t key[KEY_BYTES])
{
    uint8_t raw[17];
    size_t len;
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET, addr, &a4) == 1) {
        raw[0] = 4;
        memcpy(raw + 1, &a4, 4);
        len = 5;
    } else if (inet_pton(AF_INET6, addr, &a6) == 1) {
        raw[0] = 6;
        memcpy(raw + 1, a6.s6_addr, 8); /* the /64 */
        len = 9;
    } else {
        crypto_generichash(key, KEY_BYTES, (const uint8_t *)addr, strlen(addr), rl->hash_key, sizeof rl->hash_key);
        return;
    }
    crypto_generichash(key, KEY_BYTES, raw, len, rl->hash_key, sizeof rl->hash_key);
}

static void refill(const struct ratelimit *rl, struct bucket *b, int64_t now_ms)
{
    int64_t elapsed = now_ms - b->last_ms;
    if (elapsed <= 0)
        return; /* a clock that stepped back gives nothing */
    /* Cap elapsed before multiplying: a bucket idle for days must not overflow. */
    int64_t full_after = rl->cap_m / rl->per_second + 1;
    if (elapsed > full_after)
        elapsed = full_after;
    b->tokens_m += elapsed * rl->per_second;
    if (b->tokens_m > rl->cap_m)
        b->tokens_m = rl->cap_m;
    b->last_ms = now_ms;
}

/* The bucket for key: its own, else a free one, else a full one, else the
 * least recently used in the window (invariant 2). */
static struct bucket *find(struct ratelimit *rl, const uint8_t key[KEY_BYTES], int64_t now_ms)
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    struct bucket *empty = NULL, *full = NULL, *oldest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct bucket *b = &rl->slots[(h + i) & rl->mask];
        if (!b->used) {
            if (empty == NULL)
                empty = b;
            continue;
        }
        if (sodium_memcmp(b->key, key, KEY_BYTES) == 0)
            return b;
        refill(rl, b, now_ms);
        if (b->tokens_m == rl->cap_m && full == NULL)
            full = b;
        if (oldest == NULL || b->used_ms < oldest->used_ms)
            oldest = b;
    }
    struct bucket *b = empty ? empty : full ? full : oldest;
    b->used = true;
    memcpy(b->key, key, KEY_BYTES);
    b->tokens_m = rl->cap_m;
    b->last_ms = now_ms;
    b->used_ms = now_ms;
    return b;
}

bool ratelimit_take(struct ratelimit *rl, const char *addr, int64_t now_ms, int64_t *retry_after_s)
{
    uint8_t key[KEY_BYTES];
    client_key(rl, addr ? addr : "", key);
    pthread_mutex_lock(&rl->mu);
    struct bucket *b = find(rl, key, now_ms);
    refill(rl, b, now_ms);
    b->used_ms = now_ms;
    bool ok = b->tokens_m >= 1000;
    if (ok) {
        b->tokens_m -= 1000;
    } else {
        int64_t missing_ms = (1000 - b->tokens_m + rl->per_second - 1) / rl->per_second;
        *retry_after_s = (missing_ms + 999) / 1000;
        if (*retry_after_s < 1)
            *retry_after_s = 1;
    }
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
