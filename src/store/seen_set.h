/* seen_set.h: the 64-bit tags seen in the last few minutes, in memory.
 *
 * Why: the POS replay check (a terminal's nonce is accepted once) was a
 * primary key (key_id, nonce) in the store, and every charge wrote a random
 * leaf of that B-tree, millions of rows deep: a quarter of the ledger
 * writer's time per charge (bench/README.md, sixteenth session).  Held here
 * instead, the check costs a dozen probes of memory, and the store keeps
 * only a log in the order written to rebuild the set from (sqlite_pos.c).
 *
 * Tags live in buckets of SEEN_BUCKET_MS by the time they were added, in
 * a ring covering keep_ms and SEEN_AHEAD_MS more: a tag is seen by a check
 * whose window starts at since while its bucket is not older than since's
 * (so up to a bucket longer than asked), and forgotten when its slot of
 * the ring is taken by another minute.  Clocks may disagree (another node,
 * a clock stepped back) by up to SEEN_AHEAD_MS: a tag added that far ahead
 * of the others neither takes the slot of one still in the window nor is
 * lost.  A tag from further ahead (a clock wrong by more) is forgotten
 * when its slot is next needed, which bounds what a wrong clock can make
 * the set keep.
 *
 * Not thread-safe: the owner locks (struct store_memory, sqlite_internal.h).  Tags should be keyed
 * hashes (seen_set_tag): the table probes by their low bits, and a tag an
 * attacker could choose would let him fill one run of slots.
 */
#ifndef KESSAI_STORE_SEEN_SET_H
#define KESSAI_STORE_SEEN_SET_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define SEEN_BUCKET_MS 60000
#define SEEN_AHEAD_MS (30 * 60000LL)

struct seen_set;

/* An empty set remembering tags for at least keep_ms (> 0, at most a day),
 * with a fresh random hash key.  ERR_NOMEM or ERR_INVALID_PARAM. */
enum err seen_set_new(int64_t keep_ms, struct seen_set **out);
/* NULL-safe. */
void seen_set_free(struct seen_set *s);

/* The tag of the pair (a, b): 64 bits of BLAKE2b under the set's key,
 * never 0. */
uint64_t seen_set_tag(const struct seen_set *s, const char *a, const char *b);

/* Add tag at at_ms unless it was added since since_ms (or at_ms - keep_ms,
 * whichever is later; tags added at later times count too): true if
 * added, false if it was there already.
 * ERR_NOMEM leaves the set as it was and is reported as *e (then the return
 * is false).  Times are milliseconds of the Unix epoch. */
bool seen_set_add(struct seen_set *s, uint64_t tag, int64_t at_ms, int64_t since_ms, enum err *e);
/* Whether seen_set_add would find tag there (and refuse it). */
bool seen_set_has(const struct seen_set *s, uint64_t tag, int64_t at_ms, int64_t since_ms);
/* Free the tables of the minutes older than now - keep_ms by this clock
 * (a bucket's table keeps the size of its busiest minute until then). */
void seen_set_expire(struct seen_set *s, int64_t now_ms);

/* Forget tag, added at at_ms: an undone add.  No-op if not there. */
void seen_set_remove(struct seen_set *s, uint64_t tag, int64_t at_ms);

#endif
