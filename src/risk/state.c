/* state.c: the engine's keys and their windows, in bounded memory.
 *
 * RISK_SHARDS shards, each a mutex, a fixed array of slots and an
 * open-addressing index (linear probing) over them, all allocated by
 * risk_state_init.  An index entry holds its slot's number and 32 bits of
 * its hash: probes compare hashes without touching slots, and a deletion
 * finds each entry's home without loading its slot (the slots are the
 * cache misses that cost; bench/README.md).  A key (dimension, id) lives in the shard its hash
 * names; the hash is seeded at random per engine, so ids chosen by a
 * client (the device key comes from its public key) cannot be aimed at one
 * shard or one probe chain.
 *
 * Invariants of a shard (under its mutex):
 *  1. used <= cap; slots [0, used) are live, each indexed exactly once and
 *     on the LRU list exactly once; the index is at most half full, so
 *     every probe ends at an empty entry.
 *  2. The LRU list runs from head (written most recently) to tail; a write
 *     (risk_state_update) moves its key to the head, a read does not.
 *  3. When the shard is full, a new key takes the tail's slot: the tail is
 *     unlinked and deleted from the index (backward shift, so no
 *     tombstones and probes stay short) before the slot is reused.
 *
 * No function holds two shards' mutexes, so there is no lock order to
 * get wrong.  Eviction loses the evicted key's history: with keys written
 * least recently going first, that is the quiet key, not the busy one.
 */
#include "risk/risk_internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NIL UINT32_MAX

struct slot {
    int64_t id;
    uint32_t prev, next; /* LRU neighbours: prev is newer */
    uint8_t dim;
    union risk_payload p;
};

struct entry {
    uint32_t slot; /* 0: empty; else slot number + 1 */
    uint32_t h;    /* hash >> 6 (the low 6 bits chose the shard) */
};

struct risk_shard {
    _Alignas(64) pthread_mutex_t mu; /* a cache line of its own: shards do not share lines */
    struct slot *slots;
    struct entry *index;
    uint32_t mask;   /* index size - 1 */
    uint32_t cap, used;
    uint32_t head, tail;
    uint64_t evictions;
};

uint64_t risk_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static uint64_t hash(const struct risk_state *s, unsigned dim, int64_t id)
{
    return risk_mix((uint64_t)id ^ s->seed ^ ((uint64_t)(dim + 1) * UINT64_C(0x9e3779b97f4a7c15)));
}

static uint32_t h32(uint64_t h)
{
    return (uint32_t)(h >> 6); /* the low 6 bits chose the shard */
}

/* Zeroed memory for the big arrays, straight from the kernel: pages stay
 * unbacked until a key first writes them.  Not MADV_HUGEPAGE, though every
 * lookup is a random access: with THP defrag "madvise" a first touch may
 * compact memory synchronously, on a payment's thread, and a fresh kessaid
 * showed a p99.9 of 300-600 ms for it (bench/README.md). */
static void *region(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

enum err risk_state_init(struct risk_state *s, uint64_t max_keys)
{
    memset(s, 0, sizeof *s);
    randombytes_buf(&s->seed, sizeof s->seed);
    uint64_t cap = (max_keys + RISK_SHARDS - 1) / RISK_SHARDS;
    if (cap < 1)
        cap = 1;
    if (cap > UINT32_MAX / 4)
        return ERR_INVALID_PARAM;
    uint32_t isize = 2;
    while (isize < 2 * cap)
        isize *= 2;
    s->shards = aligned_alloc(64, RISK_SHARDS * sizeof *s->shards);
    if (s->shards == NULL)
        return ERR_NOMEM;
    memset(s->shards, 0, RISK_SHARDS * sizeof *s->shards);
    s->slots_len = RISK_SHARDS * cap * sizeof(struct slot);
    s->index_len = RISK_SHARDS * (size_t)isize * sizeof(struct entry);
    s->slots_mem = region(s->slots_len);
    s->index_mem = region(s->index_len);
    size_t i = 0;
    if (s->slots_mem == NULL || s->index_mem == NULL)
        goto fail;
    for (; i < RISK_SHARDS; i++) {
        struct risk_shard *sh = &s->shards[i];
        if (pthread_mutex_init(&sh->mu, NULL) != 0)
            goto fail;
        sh->cap = (uint32_t)cap;
        sh->mask = isize - 1;
        sh->head = sh->tail = NIL;
        sh->slots = (struct slot *)s->slots_mem + i * cap;
        sh->index = (struct entry *)s->index_mem + i * isize;
    }
    return ERR_OK;
fail:
    while (i > 0)
        pthread_mutex_destroy(&s->shards[--i].mu);
    if (s->slots_mem)
        munmap(s->slots_mem, s->slots_len);
    if (s->index_mem)
        munmap(s->index_mem, s->index_len);
    free(s->shards);
    memset(s, 0, sizeof *s);
    return ERR_NOMEM;
}

void risk_state_free(struct risk_state *s)
{
    if (s->shards == NULL)
        return;
    for (size_t i = 0; i < RISK_SHARDS; i++)
        pthread_mutex_destroy(&s->shards[i].mu);
    munmap(s->slots_mem, s->slots_len);
    munmap(s->index_mem, s->index_len);
    free(s->shards);
    memset(s, 0, sizeof *s);
}

/* The slot of (dim, id), or NIL; *pos is where its index entry is (or
 * where it would go). */
static uint32_t find(struct risk_shard *sh, uint64_t h, unsigned dim, int64_t id, uint32_t *pos)
{
    uint32_t hh = h32(h);
    for (uint32_t i = hh & sh->mask;; i = (i + 1) & sh->mask) {
        const struct entry *en = &sh->index[i];
        if (en->slot == 0) {
            *pos = i;
            return NIL;
        }
        if (en->h != hh)
            continue;
        const struct slot *x = &sh->slots[en->slot - 1];
        if (x->id == id && x->dim == dim) {
            *pos = i;
            return en->slot - 1;
        }
    }
}

/* Backward-shift deletion of index entry i (invariant 3). */
static void index_delete(struct risk_shard *sh, uint32_t i)
{
    for (uint32_t j = (i + 1) & sh->mask; sh->index[j].slot != 0; j = (j + 1) & sh->mask) {
        uint32_t k = sh->index[j].h & sh->mask;
        /* The entry at j may move back to i unless its home lies in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            sh->index[i] = sh->index[j];
            i = j;
        }
    }
    sh->index[i] = (struct entry){0, 0};
}

static void lru_unlink(struct risk_shard *sh, uint32_t k)
{
    struct slot *x = &sh->slots[k];
    if (x->prev != NIL)
        sh->slots[x->prev].next = x->next;
    else
        sh->head = x->next;
    if (x->next != NIL)
        sh->slots[x->next].prev = x->prev;
    else
        sh->tail = x->prev;
}

static void lru_push_front(struct risk_shard *sh, uint32_t k)
{
    struct slot *x = &sh->slots[k];
    x->prev = NIL;
    x->next = sh->head;
    if (sh->head != NIL)
        sh->slots[sh->head].prev = k;
    sh->head = k;
    if (sh->tail == NIL)
        sh->tail = k;
}

/* A slot for a new key whose index entry goes at pos (the caller found it
 * absent there). */
static uint32_t insert(const struct risk_state *s, struct risk_shard *sh, uint64_t h, unsigned dim, int64_t id,
                       uint32_t pos)
{
    uint32_t k;
    if (sh->used < sh->cap) {
        k = sh->used++;
    } else {
        k = sh->tail;
        struct slot *old = &sh->slots[k];
        uint32_t opos = 0;
        find(sh, hash(s, old->dim, old->id), old->dim, old->id, &opos);
        lru_unlink(sh, k);
        index_delete(sh, opos);
        sh->evictions++;
        /* The deletion may have shifted entries: find the free place again. */
        find(sh, h, dim, id, &pos);
    }
    struct slot *x = &sh->slots[k];
    memset(x, 0, sizeof *x);
    x->id = id;
    x->dim = (uint8_t)dim;
    sh->index[pos] = (struct entry){k + 1, h32(h)};
    lru_push_front(sh, k);
    return k;
}

bool risk_state_change(struct risk_state *s, enum risk_dim dim, int64_t id,
                       void (*fn)(union risk_payload *p, void *ctx), void *ctx)
{
    uint64_t h = hash(s, dim, id);
    struct risk_shard *sh = &s->shards[h % RISK_SHARDS];
    uint32_t pos;
    pthread_mutex_lock(&sh->mu);
    uint32_t k = find(sh, h, dim, id, &pos);
    if (k != NIL)
        fn(&sh->slots[k].p, ctx);
    pthread_mutex_unlock(&sh->mu);
    return k != NIL;
}

/* risk_state_read's function, called through risk_state_change. */
struct reader {
    void (*fn)(const union risk_payload *p, void *ctx);
    void *ctx;
};

static void read_cb(union risk_payload *p, void *ctx)
{
    const struct reader *r = ctx;
    r->fn(p, r->ctx);
}

bool risk_state_read(struct risk_state *s, enum risk_dim dim, int64_t id,
                     void (*fn)(const union risk_payload *p, void *ctx), void *ctx)
{
    struct reader r = {fn, ctx};
    return risk_state_change(s, dim, id, read_cb, &r);
}

void risk_state_update(struct risk_state *s, enum risk_dim dim, int64_t id,
                       void (*fn)(union risk_payload *p, void *ctx), void *ctx)
{
    uint64_t h = hash(s, dim, id);
    struct risk_shard *sh = &s->shards[h % RISK_SHARDS];
    uint32_t pos;
    pthread_mutex_lock(&sh->mu);
    uint32_t k = find(sh, h, dim, id, &pos);
    if (k == NIL) {
        k = insert(s, sh, h, dim, id, pos);
    } else if (sh->head != k) {
        lru_unlink(sh, k);
        lru_push_front(sh, k);
    }
    fn(&sh->slots[k].p, ctx);
    pthread_mutex_unlock(&sh->mu);
}

void risk_state_stats(struct risk_state *s, struct risk_stats *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < RISK_SHARDS; i++) {
        struct risk_shard *sh = &s->shards[i];
        pthread_mutex_lock(&sh->mu);
        out->keys += sh->used;
        out->capacity += sh->cap;
        out->evictions += sh->evictions;
        pthread_mutex_unlock(&sh->mu);
    }
}
