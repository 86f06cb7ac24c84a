/* sqlite_pos.c: POS request nonces on SQLite.
 *
 * The replay check is a set in memory (struct store_memory, seen_set.h):
 * a nonce is refused if its (key_id, nonce) is there.  The table
 * pos_nonce_log (migration 24) is the truth it is kept from: rows in the
 * order they were written (seq), each insert landing on the B-tree's last
 * leaf, where the unique (key_id, nonce) index it replaces wrote a random
 * leaf of millions per charge.  The row is written in the caller's
 * transaction, durable with the charge it belongs to.
 *
 * Several processes may share the file (two kessaid on one database, as
 * the tests of a second node do).  So before each check, holding the write
 * lock (the insert took it), the set reads the rows written since it last
 * looked (seq > cursor), which includes every other process's.  The
 * cursor only passes rows known to be committed: while the write lock is
 * held, every row before this transaction's first is; this transaction's
 * own rows are passed at its commit (sq_nonces_released).  kessaid reads
 * the whole log at start-up (pos_nonces_load), outside any transaction;
 * else a process's first nonce does, holding the write lock.
 *
 * The set follows the caller's transaction through the claims: a nonce
 * rolled back is forgotten (sqlite.c calls sq_nonces_undo), because the
 * code spends a refused charge's nonce again, on its own.  It is forgotten
 * before the ROLLBACK, while the write lock is held; only a rollback forced
 * by an I/O error is seen after (SQLite's hook), when a second process
 * could, in that instant, commit the same nonce and have it skipped here
 * as already seen.
 *
 * Rows older than the signature window can never match a valid request
 * again (its ts would be refused first), so inserts purge them, in bulk
 * every SQ_PURGE_EVERY_MS (sq_purge); the set forgets them by itself.  The
 * purge keeps the newest row, so seq never starts again from 1 and a
 * cursor never misses a row.
 */
#include <stdlib.h>

#include "store/seen_set.h"
#include "store/sqlite_internal.h"


/* Under n->mu, the set made the first time: add the rows after the
 * cursor and before below that are in the window (since since), and move
 * the cursor past those read.  The caller knows them committed. */
static enum err read_log(struct sqlite_store *s, struct store_memory *n, int64_t below, int64_t now, int64_t since,
                         size_t *count)
{
    enum err e = ERR_OK;
    if (n->set == NULL && (e = seen_set_new(STORE_NONCE_WINDOW_MAX_MS, &n->set)) != ERR_OK)
        return e;
    sqlite3_stmt *q = sq_stmt(s, "SELECT seq, at_ms, key_id, nonce FROM pos_nonce_log WHERE seq > ? AND seq < ?");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, n->cursor);
    sqlite3_bind_int64(q, 2, below);
    int64_t last = n->cursor;
    int rc = SQLITE_DONE;
    /* A row from a clock ahead of this one by more than the set allows
     * counts from the most it allows. */
    const int64_t latest = now + SEEN_AHEAD_MS;
    while (e == ERR_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        last = sqlite3_column_int64(q, 0);
        int64_t at = sqlite3_column_int64(q, 1) < latest ? sqlite3_column_int64(q, 1) : latest;
        const char *key_id = (const char *)sqlite3_column_text(q, 2), *nonce = (const char *)sqlite3_column_text(q, 3);
        if (at >= since && key_id && nonce) { /* false: this process's */
            seen_set_add(n->set, seen_set_tag(n->set, key_id, nonce), at, since, &e);
            (*count)++;
        }
    }
    sq_done(q);
    if (e == ERR_OK && rc != SQLITE_DONE)
        e = sq_fail(s, "pos_nonce_read");
    if (e == ERR_OK)
        n->cursor = last;
    return e;
}

/* Under n->mu, holding the write lock, before this transaction's row
 * mine: read the rows written since the cursor (the first time, unless
 * pos_nonces_load did: the whole log).  All before this transaction's
 * first are committed, as it holds the write lock, and its own rows (from
 * its first claim's on) are in the set already. */
static enum err catch_up(struct sqlite_store *s, struct store_memory *n, int64_t mine, int64_t now, int64_t since)
{
    int64_t ours = s->nclaims > 0 ? s->claims[0].seq : mine;
    if (n->set != NULL && ours - 1 <= n->cursor)
        return ERR_OK; /* nothing new: the usual case */
    size_t count = 0;
    enum err e = read_log(s, n, ours, now, since, &count);
    if (e == ERR_OK)
        n->cursor = ours - 1;
    return e;
}

enum err sq_pos_nonces_load(struct store *st, int64_t now, int64_t since, size_t *count)
{
    struct sqlite_store *s = sq(st);
    *count = 0;
    enum err e = sq_memory_to_load(s);
    if (e != ERR_OK)
        return e;
    pthread_mutex_lock(&s->mem->mu);
    e = read_log(s, s->mem, INT64_MAX, now, since, count);
    pthread_mutex_unlock(&s->mem->mu);
    return e;
}

/* Room for one more claim, made before the nonce is added so that keeping
 * it cannot fail after. */
static enum err claim_room(struct sqlite_store *s)
{
    if (s->nclaims < s->claims_cap)
        return ERR_OK;
    size_t cap = s->claims_cap ? s->claims_cap * 2 : 64;
    struct sq_claim *c = realloc(s->claims, cap * sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    s->claims = c;
    s->claims_cap = cap;
    return ERR_OK;
}

/* Inside the savepoint: log the nonce, then check it against those since
 * since and add it. */
static enum err insert(struct sqlite_store *s, const char *key_id, const char *nonce, int64_t now,
                       int64_t since)
{
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO pos_nonce_log (at_ms, key_id, nonce) VALUES (?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_text(q, 2, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, nonce, -1, SQLITE_STATIC);
    int64_t seq;
    enum err e = sq_step_insert(s, q, ERR_STORE, "pos_nonce_insert", &seq);
    if (e != ERR_OK)
        return e;
    struct store_memory *n = s->mem;
    bool added = false;
    uint64_t tag = 0;
    pthread_mutex_lock(&n->mu);
    e = catch_up(s, n, seq, now, since);
    if (e == ERR_OK) {
        seen_set_expire(n->set, now);
        tag = seen_set_tag(n->set, key_id, nonce);
        added = seen_set_add(n->set, tag, now, since, &e);
    }
    pthread_mutex_unlock(&n->mu);
    if (e != ERR_OK || !added)
        return e != ERR_OK ? e : ERR_CONFLICT;
    s->claims[s->nclaims++] = (struct sq_claim){.tag = tag, .at_ms = now, .seq = seq, .depth = s->depth};
    return ERR_OK;
}

/* The caller's window, no longer than the store's. */
static int64_t window_since(int64_t now, int64_t purge_before)
{
    return purge_before > now - STORE_NONCE_WINDOW_MAX_MS ? purge_before : now - STORE_NONCE_WINDOW_MAX_MS;
}

bool sq_pos_nonce_seen(struct store *st, const char *key_id, const char *nonce, int64_t now, int64_t purge_before)
{
    struct store_memory *n = sq(st)->mem;
    if (n == NULL)
        return false;
    /* Held by an insert at most for its catch-up, a read of the few rows
     * other nodes wrote since the last. */
    pthread_mutex_lock(&n->mu);
    bool seen = n->set != NULL &&
                seen_set_has(n->set, seen_set_tag(n->set, key_id, nonce), now, window_since(now, purge_before));
    pthread_mutex_unlock(&n->mu);
    return seen;
}

enum err sq_pos_nonce_insert(struct store *st, const char *key_id, const char *nonce, int64_t now,
                             int64_t purge_before)
{
    struct sqlite_store *s = sq(st);
    /* The rows before the first one still in the window go, all but the
     * newest if none is; one from a clock more than an hour ahead of the
     * cut does not hold the others back. */
    enum err e = sq_purge(s, SQ_PURGE_POS_NONCES, now,
                          "DELETE FROM pos_nonce_log WHERE seq < coalesce("
                          "(SELECT seq FROM pos_nonce_log WHERE at_ms >= ?1 AND at_ms < ?1 + 3600000 "
                          "ORDER BY seq LIMIT 1), (SELECT max(seq) FROM pos_nonce_log))",
                          purge_before, "pos_nonce_purge");
    int64_t since = window_since(now, purge_before);
    if (e == ERR_OK)
        e = sq_memory_ready(s);
    if (e == ERR_OK)
        e = claim_room(s);
    /* A savepoint of its own, so that a nonce found seen takes its row
     * back with it, and one written outside a transaction is checked and
     * committed under one write lock (then the savepoint is the
     * transaction: a snapshot open is ended first). */
    bool own_tx = sqlite3_get_autocommit(s->db) || s->snapshot;
    if (e == ERR_OK)
        e = st->ops->savepoint(st);
    if (e != ERR_OK)
        return e;
    e = insert(s, key_id, nonce, now, since);
    enum err end = e == ERR_OK ? st->ops->release_savepoint(st) : st->ops->rollback_savepoint(st);
    if (end != ERR_OK && own_tx && !sqlite3_get_autocommit(s->db))
        (void)st->ops->rollback(st); /* a failed commit leaves no transaction open */
    return e != ERR_OK ? e : end;
}

void sq_nonces_undo(struct sqlite_store *s, int depth)
{
    if (s->nclaims == 0)
        return; /* then s->mem->set may not exist */
    size_t keep = 0;
    pthread_mutex_lock(&s->mem->mu);
    for (size_t i = 0; i < s->nclaims; i++) {
        if (s->claims[i].depth < depth)
            s->claims[keep++] = s->claims[i];
        else
            seen_set_remove(s->mem->set, s->claims[i].tag, s->claims[i].at_ms);
    }
    pthread_mutex_unlock(&s->mem->mu);
    s->nclaims = keep;
}

void sq_nonces_released(struct sqlite_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        for (size_t i = 0; i < s->nclaims; i++) {
            if (s->claims[i].depth > s->depth)
                s->claims[i].depth = s->depth;
        }
        return;
    }
    /* Committed: every row up to this transaction's last is, and was seen
     * (catch_up passed those before its first; the rest are its own). */
    s->depth = 0;
    if (s->nclaims == 0)
        return;
    pthread_mutex_lock(&s->mem->mu);
    if (s->claims[s->nclaims - 1].seq > s->mem->cursor)
        s->mem->cursor = s->claims[s->nclaims - 1].seq;
    pthread_mutex_unlock(&s->mem->mu);
    s->nclaims = 0;
}
