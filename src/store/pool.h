/* pool.h: a fixed set of store connections shared by handler threads.
 *
 * A struct store serves one thread at a time, and the HTTP server runs
 * several worker threads; opening a connection per request would re-run the
 * schema check each time.  So kessaid opens one connection per worker at
 * start-up and handlers borrow one for the duration of their store work.
 * A borrower must return it before the handler returns or suspends.
 */
#ifndef KESSAI_STORE_POOL_H
#define KESSAI_STORE_POOL_H

#include <stddef.h>

#include "store/store.h"
#include "util/err.h"

struct store_pool;

/* Open n (>= 1) SQLite connections to path, each given audit_key (NULL:
 * none; store.h audit_key_set) and sharing mem (the nonces and codes kept
 * in memory; NULL: each its own; store.h store_memory_new).  ERR_STORE or ERR_NOMEM; on failure nothing
 * stays open. */
enum err store_pool_open_sqlite(const char *path, size_t n, const uint8_t *audit_key, struct store_memory *mem,
                                struct store_pool **out);
/* Waits while every connection is borrowed; never fails. */
struct store *store_pool_acquire(struct store_pool *p);
/* Ends a snapshot st still has open (store.h snapshot_begin). */
void store_pool_release(struct store_pool *p, struct store *st);
/* All connections must have been returned.  NULL-safe. */
void store_pool_close(struct store_pool *p);

#endif
