/* guess_pending.h: the bad payment codes each terminal presented that are
 * handed to the ledger writer to be counted but not committed yet.
 *
 * Why: a charge's bad code is counted (wallet/payment.h, code guessing) in
 * the writer's group that spends the refused request's nonce, so that a
 * refusal makes no HTTP thread commit and a replay counts nothing.  The
 * HTTP thread then takes its next request before that commit; the block
 * check adds these, or a register guessing on many connections at once
 * would get more looks than the block allows.
 *
 * One per kessaid (each node counts its own in-flight codes), owned from
 * start-up to exit; thread-safe.  An entry lives only while its terminal
 * has codes in flight, so memory follows the requests in flight.
 */
#ifndef KESSAI_WALLET_GUESS_PENDING_H
#define KESSAI_WALLET_GUESS_PENDING_H

#include "util/err.h"

struct guess_pending;

enum err guess_pending_new(struct guess_pending **out); /* ERR_NOMEM */
void guess_pending_free(struct guess_pending *g);      /* NULL-safe */

/* One more bad code in flight for the terminal key_id: ERR_NOMEM leaves
 * the count as it was. */
enum err guess_pending_inc(struct guess_pending *g, const char *key_id);
/* One fewer: its commit is over (counted, or not for a replay). */
void guess_pending_dec(struct guess_pending *g, const char *key_id);
/* How many are in flight for key_id. */
int guess_pending_count(struct guess_pending *g, const char *key_id);

#endif
