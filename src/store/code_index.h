/* code_index.h: the live payment codes of one database file, in memory.
 *
 * Maps the first 64 bits of a code's keyed hash (a tag) to the rows of
 * paycodes that carry it, with when each expires.  It replaces a UNIQUE
 * B-tree index on the hash, whose every insert wrote a random leaf: the
 * rows are kept in the order written and this finds them
 * (sqlite_paycode.c).  It is a hint, never the truth: a caller reads each
 * row it names and checks the whole hash, so an entry for a row since
 * spent, revoked, purged or never committed only costs that read.
 *
 * Entries are dropped only when they expired before a given time, when the
 * table grows.  Not thread-safe: the owner locks (struct store_memory).
 */
#ifndef KESSAI_STORE_CODE_INDEX_H
#define KESSAI_STORE_CODE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct code_index;

enum err code_index_new(struct code_index **out); /* ERR_NOMEM */
void code_index_free(struct code_index *ix);      /* NULL-safe */

/* Row id, expiring at expires_ms, under tag.  Growing drops the entries
 * that expired at or before dead_before.  ERR_NOMEM (nothing added). */
enum err code_index_add(struct code_index *ix, uint64_t tag, int64_t id, int64_t expires_ms, int64_t dead_before);

/* The row ids under tag, up to max of them into ids; returns how many there
 * are (which may be more than max). */
size_t code_index_find(const struct code_index *ix, uint64_t tag, int64_t *ids, size_t max);

/* Entries held (tests). */
size_t code_index_size(const struct code_index *ix);

#endif
