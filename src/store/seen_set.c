/* seen_set.c: buckets of open-addressed tags (linear probing, 0 = empty),
 * a ring of them indexed by epoch (time / SEEN_BUCKET_MS). */
#include "store/seen_set.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define FIRST_CAP 1024 /* slots of a bucket's first table; a power of two */

struct bucket {
    int64_t epoch; /* INT64_MIN: never used */
    uint64_t *slots;
    size_t cap, n;
};

struct seen_set {
    int64_t keep_ms;
    uint8_t key[crypto_generichash_KEYBYTES];
    size_t nb;
    struct bucket b[];
};

static int64_t epoch_of(int64_t ms) { return ms >= 0 ? ms / SEEN_BUCKET_MS : (ms + 1) / SEEN_BUCKET_MS - 1; }

enum err seen_set_new(int64_t keep_ms, struct seen_set **out)
{
    if (keep_ms <= 0 || keep_ms > 86400000)
        return ERR_INVALID_PARAM;
    /* The epochs alive at any time (keep_ms rounded up, plus the current
     * one), those of clocks up to SEEN_AHEAD_MS ahead, and one so that the
     * slot reused for a new epoch is past the keep of a clock a bucket
     * behind. */
    size_t nb = (size_t)((keep_ms + SEEN_AHEAD_MS + SEEN_BUCKET_MS - 1) / SEEN_BUCKET_MS) + 3;
    struct seen_set *s = calloc(1, sizeof *s + nb * sizeof s->b[0]);
    if (s == NULL)
        return ERR_NOMEM;
    s->keep_ms = keep_ms;
    s->nb = nb;
    for (size_t i = 0; i < nb; i++)
        s->b[i].epoch = INT64_MIN;
    randombytes_buf(s->key, sizeof s->key);
    *out = s;
    return ERR_OK;
}

void seen_set_free(struct seen_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nb; i++)
        free(s->b[i].slots);
    sodium_memzero(s->key, sizeof s->key);
    free(s);
}

uint64_t seen_set_tag(const struct seen_set *s, const char *a, const char *b)
{
    crypto_generichash_state h;
    uint8_t out[sizeof(uint64_t)];
    crypto_generichash_init(&h, s->key, sizeof s->key, sizeof out);
    /* With its NUL, so that ("ab", "c") and ("a", "bc") differ. */
    crypto_generichash_update(&h, (const uint8_t *)a, strlen(a) + 1);
    crypto_generichash_update(&h, (const uint8_t *)b, strlen(b));
    crypto_generichash_final(&h, out, sizeof out);
    uint64_t tag;
    memcpy(&tag, out, sizeof tag);
    return tag ? tag : 1;
}

/* The ring's slot of an epoch (negative ones too). */
static struct bucket *slot(struct seen_set *s, int64_t epoch)
{
    return &s->b[(size_t)(epoch % (int64_t)s->nb + (int64_t)s->nb) % s->nb];
}

/* Slot of tag in b, or of the empty slot that ends its run. */
static bool find(const struct bucket *b, uint64_t tag, size_t *at)
{
    size_t mask = b->cap - 1, i = (size_t)tag & mask;
    while (b->slots[i] != 0) {
        if (b->slots[i] == tag) {
            *at = i;
            return true;
        }
        i = (i + 1) & mask;
    }
    *at = i;
    return false;
}

static bool grow(struct bucket *b)
{
    size_t cap = b->cap ? b->cap * 2 : FIRST_CAP;
    uint64_t *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return false;
    struct bucket bigger = {.epoch = b->epoch, .slots = slots, .cap = cap, .n = b->n};
    for (size_t i = 0; i < b->cap; i++) {
        size_t at;
        if (b->slots[i] != 0 && !find(&bigger, b->slots[i], &at))
            slots[at] = b->slots[i];
    }
    free(b->slots);
    *b = bigger;
    return true;
}

/* Times are clamped to +-2^61 ms (73 million years): no sum or difference
 * of them and a day overflows. */
#define FAR_MS (INT64_MAX / 4)

static int64_t clamp(int64_t ms) { return ms < -FAR_MS ? -FAR_MS : ms > FAR_MS ? FAR_MS : ms; }

bool seen_set_has(const struct seen_set *s, uint64_t tag, int64_t at_ms, int64_t since_ms)
{
    at_ms = clamp(at_ms);
    since_ms = clamp(since_ms);
    int64_t lo = epoch_of(since_ms > at_ms - s->keep_ms ? since_ms : at_ms - s->keep_ms);
    for (size_t i = 0; i < s->nb; i++) {
        size_t at;
        const struct bucket *b = &s->b[i];
        if (b->epoch >= lo && b->n > 0 && find(b, tag, &at))
            return true;
    }
    return false;
}

bool seen_set_add(struct seen_set *s, uint64_t tag, int64_t at_ms, int64_t since_ms, enum err *e)
{
    *e = ERR_OK;
    if (seen_set_has(s, tag, at_ms, since_ms))
        return false;
    at_ms = clamp(at_ms);
    int64_t epoch = epoch_of(at_ms);
    /* Another epoch in its slot is a whole ring away: older, past any
     * window; or newer, from a clock wrong by more than SEEN_AHEAD_MS. */
    struct bucket *b = slot(s, epoch);
    if (b->epoch != epoch) {
        if (b->slots)
            memset(b->slots, 0, b->cap * sizeof *b->slots);
        b->n = 0;
        b->epoch = epoch;
    }
    /* Grown at three quarters full: runs stay short, and one is always empty. */
    if ((b->n + 1) * 4 > b->cap * 3 && !grow(b)) {
        *e = ERR_NOMEM;
        return false;
    }
    size_t at;
    find(b, tag, &at);
    b->slots[at] = tag;
    b->n++;
    return true;
}

void seen_set_expire(struct seen_set *s, int64_t now_ms)
{
    int64_t lo = epoch_of(clamp(now_ms) - s->keep_ms) - 1;
    for (size_t i = 0; i < s->nb; i++) {
        struct bucket *b = &s->b[i];
        if (b->epoch < lo && b->slots) {
            free(b->slots);
            *b = (struct bucket){.epoch = INT64_MIN};
        }
    }
}

void seen_set_remove(struct seen_set *s, uint64_t tag, int64_t at_ms)
{
    int64_t epoch = epoch_of(clamp(at_ms));
    struct bucket *b = slot(s, epoch);
    size_t hole;
    if (b->epoch != epoch || b->n == 0 || !find(b, tag, &hole))
        return;
    /* Backward shift: pull each later tag of the run into the hole unless
     * its home slot lies cyclically in (hole, j], where it must stay. */
    size_t mask = b->cap - 1;
    for (size_t j = (hole + 1) & mask; b->slots[j] != 0; j = (j + 1) & mask) {
        size_t home = (size_t)b->slots[j] & mask;
        bool stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
        if (!stays) {
            b->slots[hole] = b->slots[j];
            hole = j;
        }
    }
    b->slots[hole] = 0;
    b->n--;
}
