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
