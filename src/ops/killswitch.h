/* killswitch.h: operator switches that stop one kind of operation at once.
 *
 * A switch is a row in the store (table killswitches), read on every
 * request that it guards, so turning it on takes effect on the next request
 * on every node, with no cache to expire.  While on, the guarded operation
 * is refused with ERR_SUSPENDED (503 service_suspended) and the operator's
 * reason; everything else keeps working.  Issue 4 defines two:
 *
 *   "topups"       every top-up (card and cash)
 *   "card_topups"  top-ups from cards only
 *
 * Issues 5 and 6 add payments, P2P, card links and registrations (below);
 * payments and top-ups may also be set for one merchant or store
 * (killswitch_scoped).  Switching is recorded
 * with who and when, in the row and as an entry of the audit log
 * ("killswitch_on" / "killswitch_off", audit/audit.h); the CLI is `kessai
 * admin killswitch on NAME --reason TEXT | off NAME | list`.
 */
#ifndef KESSAI_OPS_KILLSWITCH_H
#define KESSAI_OPS_KILLSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"
#include "wallet/wallet_types.h"

#define KILLSWITCH_TOPUPS "topups"
#define KILLSWITCH_CARD_TOPUPS "card_topups"
/* Issue 5: paying at stores (CPM and store QR), and transfers between
 * customers.  "payments" may also be set for one merchant or one store: the
 * stored name is then "payments@mer_…" or "payments@str_…"
 * (`kessai admin killswitch on payments --merchant mer_… | --store str_…`). */
#define KILLSWITCH_PAYMENTS "payments"
#define KILLSWITCH_P2P "p2p"
/* Issue 6: linking new cards (POST /v1/cards; cards already linked keep
 * working), and new registrations (POST /v1/registrations).  Checked at the
 * door, before any work (api/gate.h). */
#define KILLSWITCH_CARD_LINKS "card_links"
#define KILLSWITCH_REGISTRATIONS "registrations"

/* Can name be set for one merchant or store ("NAME@mer_…", "NAME@str_…")?
 * Those that stop what happens at a store's register: payments, and
 * top-ups (cash paid in at a register; a card top-up has no store, so only
 * the global "topups" and "card_topups" stop it). */
bool killswitch_scoped(const char *name);
/* Is name a switch this build knows? */
bool killswitch_known(const char *name);
/* Every name this build knows, in a fixed order (*n of them). */
const char *const *killswitch_names(size_t *n);
/* Turn a switch on (reason 1..KILLSWITCH_REASON_MAX bytes, printable) or
 * off, in its own transaction with its audit entry (actor: who acted, as
 * the audit log names them; set_by: who, as the row shows it).
 * ERR_INVALID_PARAM for an unknown name, a bad reason, set_by or actor;
 * turning one on for a merchant or store that does not exist:
 * ERR_MERCHANT_NOT_FOUND or ERR_STORE_NOT_FOUND. */
enum err killswitch_set(struct store *st, const char *actor, const char *name, bool on, const char *reason,
                        const char *set_by, int64_t now);
/* killswitch_set over the network: the audit entry names client_addr,
 * where the request came from (a stolen staff token shows where it was used). */
enum err killswitch_set_from(struct store *st, const char *actor, const char *client_addr, const char *name, bool on,
                             const char *reason, const char *set_by, int64_t now);
/* ERR_OK if every named switch (NULL-terminated list) is off; else
 * ERR_SUSPENDED with the first one that is on copied to *out (may be NULL).
 * Runs inside the caller's transaction if one is open. */
enum err killswitch_check(struct store *st, const char *const *names, struct killswitch *out);
/* ERR_OK if name is off globally, for merchant_id and for store_id (either
 * may be 0: not checked); else ERR_SUSPENDED with the switch in *out. */
enum err killswitch_check_scoped(struct store *st, const char *name, int64_t merchant_id, int64_t store_id,
                                 struct killswitch *out);

/* Call each(k, ctx) for every switch this build knows, in
 * killswitch_names' order (never set: set_ms 0, off), then for every other
 * row (scoped switches, those of a newer version sharing the database), on
 * or off, in name order, a page at a time: however many stores have one,
 * none is left out.  Stops at the first error each returns. */
typedef enum err (*killswitch_each_fn)(const struct killswitch *k, void *ctx);
enum err killswitch_each(struct store *st, killswitch_each_fn each, void *ctx);

#endif
