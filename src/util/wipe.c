#include "util/wipe.h"

#include <malloc.h>
#include <stdlib.h>

#include <jansson.h>
#include <sodium.h>

void wipe_free(void *p)
{
    if (p == NULL)
        return;
    sodium_memzero(p, malloc_usable_size(p));
    free(p);
}

void wipe_json_allocations(void) { json_set_alloc_funcs(malloc, wipe_free); }

void wipe_json_string(json_t *v)
{
    /* jansson hands out its buffer as const; it is the tree's own copy. */
    if (json_is_string(v))
        sodium_memzero((char *)json_string_value(v), json_string_length(v));
}
