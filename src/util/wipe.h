/* wipe.h: heap blocks that may hold a secret are wiped before they go back
 * to the allocator.
 *
 * HTTP bodies (passwords, codes, session tokens, recovery codes, otpauth
 * URIs) and the JSON trees parsed from or built for them live in ordinary
 * malloc'd blocks; freed as they are, their bytes stay in the heap until
 * reused, where a core dump, a heap over-read or a swapped page can show
 * them.  Bodies are size-limited, so wiping them is cheap.
 */
#ifndef KESSAI_UTIL_WIPE_H
#define KESSAI_UTIL_WIPE_H

/* sodium_memzero the whole block p (as malloc_usable_size tells it, so
 * the caller need not know its length), then free it.  NULL-safe.  p must
 * come from malloc/calloc/realloc. */
void wipe_free(void *p);

/* From now on jansson allocates with malloc and frees with wipe_free, for
 * every thread: its strings, its parse buffers and json_dumps' growing
 * buffers are wiped when they go.  Call once at start-up, before other
 * threads exist (the allocator functions are process-wide, unlocked
 * globals); blocks jansson allocated earlier are freed correctly too. */
void wipe_json_allocations(void);

struct json_t;
/* Wipe the characters of a JSON string in place, now (a card number, a
 * CVC or a cash code in a parsed body must not wait for the whole tree to
 * be freed: it may outlive the worker queue and a gateway call).  Anything
 * but a string (NULL too): nothing. */
void wipe_json_string(struct json_t *v);

#endif
