/* code_index.c: see code_index.h.  Open addressing with linear probing;
 * a tag of 0 marks an empty slot (a real 0 is stored as 1: the caller
 * checks the whole hash anyway).  No deletions: the table is rebuilt with
 * what is still alive when it fills, so runs never hold tombstones. */
#include "store/code_index.h"

#include <stdlib.h>

#define FIRST_CAP 1024

struct slot {
    uint64_t tag;
    int64_t id, expires_ms;
};

struct code_index {
    struct slot *slots;
    size_t cap, n;
};

static uint64_t stored(uint64_t tag) { return tag ? tag : 1; }

enum err code_index_new(struct code_index **out)
{
    struct code_index *ix = calloc(1, sizeof *ix);
    struct slot *slots = calloc(FIRST_CAP, sizeof *slots);
    if (ix == NULL || slots == NULL) {
        free(ix);
        free(slots);
        return ERR_NOMEM;
    }
    ix->slots = slots;
    ix->cap = FIRST_CAP;
    *out = ix;
    return ERR_OK;
}

void code_index_free(struct code_index *ix)
{
    if (ix == NULL)
        return;
    free(ix->slots);
    free(ix);
}

static void put(struct slot *slots, size_t cap, struct slot s)
{
    size_t mask = cap - 1, i = (size_t)s.tag & mask;
    while (slots[i].tag != 0)
        i = (i + 1) & mask;
    slots[i] = s;
}

/* Rebuilt with the live entries, at most half full afterwards (and grown
 * again at three quarters: runs stay a few slots long). */
static enum err rebuild(struct code_index *ix, int64_t dead_before)
{
    size_t live = 0;
    for (size_t i = 0; i < ix->cap; i++)
        live += ix->slots[i].tag != 0 && ix->slots[i].expires_ms > dead_before;
    size_t cap = FIRST_CAP;
    while (cap < 2 * (live + 1))
        cap *= 2;
    struct slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->slots[i].tag != 0 && ix->slots[i].expires_ms > dead_before)
            put(slots, cap, ix->slots[i]);
    free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
    ix->n = live;
    return ERR_OK;
}

enum err code_index_add(struct code_index *ix, uint64_t tag, int64_t id, int64_t expires_ms, int64_t dead_before)
{
    if ((ix->n + 1) * 4 > ix->cap * 3) {
        enum err e = rebuild(ix, dead_before);
        if (e != ERR_OK)
            return e;
    }
    put(ix->slots, ix->cap, (struct slot){.tag = stored(tag), .id = id, .expires_ms = expires_ms});
    ix->n++;
    return ERR_OK;
}

size_t code_index_find(const struct code_index *ix, uint64_t tag, int64_t *ids, size_t max)
{
    tag = stored(tag);
    size_t mask = ix->cap - 1, found = 0;
    for (size_t i = (size_t)tag & mask; ix->slots[i].tag != 0; i = (i + 1) & mask)
        if (ix->slots[i].tag == tag) {
            if (found < max)
                ids[found] = ix->slots[i].id;
            found++;
        }
    return found;
}

size_t code_index_size(const struct code_index *ix) { return ix->n; }
