/* sqlite_pos.c: POS request nonces on SQLite (table pos_nonces, migration 6).
 *
 * The primary key (key_id, nonce) is the replay check: a second insert of
 * the same pair is a constraint failure, ERR_CONFLICT, on whichever node
 * tries it.  Rows older than the signature window can never match a valid
 * request again (its ts would be refused first), so inserts purge them, in
 * bulk every SQ_PURGE_EVERY_MS (sq_purge).
 */
#include "store/sqlite_internal.h"

enum err sq_pos_nonce_insert(struct store *st, const char *key_id, const char *nonce, int64_t now,
                             int64_t purge_before)
{
    struct sqlite_store *s = sq(st);
    enum err e = sq_purge(s, SQ_PURGE_POS_NONCES, now, "DELETE FROM pos_nonces WHERE at_ms < ?", purge_before,
                          "pos_nonce_purge");
    if (e != ERR_OK)
        return e;
    sqlite3_stmt *q = sq_stmt(s, "INSERT INTO pos_nonces (key_id, nonce, at_ms) VALUES (?, ?, ?)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, nonce, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now);
    int64_t id;
    return sq_step_insert(s, q, ERR_CONFLICT, "pos_nonce_insert", &id);
}
