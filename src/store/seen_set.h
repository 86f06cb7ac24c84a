/* seen_set.h: the 64-bit tags seen in the last few minutes, in memory.
 *
 * Why: the POS replay check (a terminal's nonce is accepted once) was a
 * primary key (key_id, nonce) in the store, and every charge wrote a random
 * leaf of that B-tree, millions of rows deep: a quarter of the ledger
 * writer's time per charge (bench/README.md, fifteenth session).  Held here
 * instead, the check costs a dozen probes of memory, and the store keeps
 * only a log in time order to rebuild the set from (store/nonces.h).
 *
 * Tags live in buckets of SEEN_BUCKET_MS by the time they were added; a
 * tag is seen while its bucket is no older than keep_ms (rounded up to
 * whole buckets: kept between keep_ms and keep_ms + SEEN_BUCKET_MS), then
 * forgotten all at once when its bucket is reused.  A tag added with a
 * time already older than that is not kept (it could never be asked of).
 *
 * Not thread-safe: the owner locks (store/nonces.h).  Tags should be keyed
 * hashes (seen_set_tag): the table probes by their low bits, and a tag an
 * attacker could choose would let him fill one run of slots.
 */
#ifndef KESSAI_STORE_SEEN_SET_H
#define KESSAI_STORE_SEEN_SET_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define SEEN_BUCKET_MS 60000

struct seen_set;

/* An empty set remembering tags for keep_ms (> 0), with a fresh random hash
 * key.  ERR_NOMEM or ERR_INVALID_PARAM. */
enum err seen_set_new(int64_t keep_ms, struct seen_set **out);
/* NULL-safe. */
void seen_set_free(struct seen_set *s);

/* The tag of the pair (a, b): SipHash-2-4 under the set's key, never 0. */
uint64_t seen_set_tag(const struct seen_set *s, const char *a, const char *b);

/* Add tag at at_ms unless it is seen at that time: true if added (or too
 * old to keep), false if it was there already.  ERR_NOMEM leaves the set
 * as it was and is reported as *e (then the return is false). */
bool seen_set_add(struct seen_set *s, uint64_t tag, int64_t at_ms, enum err *e);
/* Forget tag, added at at_ms: an undone add.  No-op if not there. */
void seen_set_remove(struct seen_set *s, uint64_t tag, int64_t at_ms);

#endif
