/* sqlite_history.c: one ledger account's transfers, for the customer's
 * history (wallet/history.h), on SQLite.
 *
 * Both queries ride the indexes of migration 7, transfers (debit_account,
 * id) and (credit_account, id): a page costs about 2 x max index steps
 * whatever the account's age, and the net after a transfer costs the
 * transfers after it (what a balance walked back from today needs).
 */
#include <stdlib.h>

#include "store/sqlite_internal.h"

/* Newest first: each side's newest `max` below before_id, merged. */
enum err sq_transfer_list_account(struct store *st, int64_t account_id, int64_t before_id, size_t max,
                                  struct ledger_transfer *out, size_t *n)
{
    struct sqlite_store *s = sq(st);
    *n = 0;
    if (max == 0)
        return ERR_OK;
    int64_t *ids = calloc(max, sizeof *ids);
    if (ids == NULL)
        return ERR_NOMEM;
    sqlite3_stmt *q = sq_stmt(s, "SELECT id FROM ("
                                 "  SELECT id FROM (SELECT id FROM transfers WHERE debit_account = ?1 AND id < ?2"
                                 "                  ORDER BY id DESC LIMIT ?3)"
                                 "  UNION ALL"
                                 "  SELECT id FROM (SELECT id FROM transfers WHERE credit_account = ?1 AND id < ?2"
                                 "                  ORDER BY id DESC LIMIT ?3))"
                                 " ORDER BY id DESC LIMIT ?3");
    enum err e = ERR_STORE;
    size_t m = 0;
    if (q != NULL) {
        sqlite3_bind_int64(q, 1, account_id);
        sqlite3_bind_int64(q, 2, before_id > 0 ? before_id : INT64_MAX);
        sqlite3_bind_int64(q, 3, sq_limit(max));
        e = sq_get_many(s, q, sq_read_int64, ids, sizeof *ids, max, &m);
    }
    /* Whole rows by id: the one reader of a transfer row stays in sqlite_ledger.c. */
    for (size_t i = 0; e == ERR_OK && i < m; i++) {
        e = sq_transfer_get(st, ids[i], &out[i]);
        if (e == ERR_TRANSFER_NOT_FOUND)
            e = sq_fail(s, "transfer_list_account"); /* listed a moment ago, in the same transaction */
    }
    free(ids);
    if (e == ERR_OK)
        *n = m;
    return e;
}

enum err sq_transfer_net_after(struct store *st, int64_t account_id, int64_t after_id, int64_t *net)
{
    struct sqlite_store *s = sq(st);
    /* Pending holds and their voids move nothing posted (ledger/apply.c). */
    sqlite3_stmt *q = sq_stmt(s, "SELECT (SELECT coalesce(sum(amount), 0) FROM transfers"
                                 "        WHERE credit_account = ?1 AND id > ?2 AND flags & ?3 = 0)"
                                 "     - (SELECT coalesce(sum(amount), 0) FROM transfers"
                                 "        WHERE debit_account = ?1 AND id > ?2 AND flags & ?3 = 0)");
    if (q == NULL)
        return ERR_STORE;
    sqlite3_bind_int64(q, 1, account_id);
    sqlite3_bind_int64(q, 2, after_id);
    sqlite3_bind_int64(q, 3, LEDGER_XFER_PENDING | LEDGER_XFER_VOID_PENDING);
    return sq_get_one(s, q, ERR_STORE, sq_read_int64, net);
}
