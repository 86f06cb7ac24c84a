/* audit.h: the tamper-evident audit log (docs/audit-log.md).
 *
 * Every security event (auth/events.h: registrations, logins, failures,
 * lock-outs, new devices, resets, second-factor changes, card links,
 * freezes, refusals) and every staff action that changes something (kill
 * switches, freezes and unfreezes, staff accounts) is one entry of the
 * store's security_events table, appended in the transaction of the change
 * it records: an entry exists exactly when its change was committed.
 *
 * Each entry names who acted (the actor), and carries a MAC over its fields,
 * its number and the previous entry's MAC (util/audit_mac.h), keyed with a
 * subkey of the master key.  audit_verify recomputes the chain and finds any
 * entry edited, removed, inserted or moved since it was written, by anyone
 * without the master key, with one exception: removing the newest entries
 * leaves a shorter chain that is still whole.  Only a head (last id and
 * hash, printed by `kessai audit verify`) recorded outside the database
 * shows that; verify checks such an anchor when given one.
 *
 * Actors: "usr_…" (a customer's own request, and events about a customer
 * generally: see audit_customer_actor), "stf_…" (a staff member, admin API),
 * AUDIT_ACTOR_ADMIN_CLI (the `kessai admin` commands; the operator's login
 * name is in the detail), AUDIT_ACTOR_SYSTEM (kessaid itself, and events
 * about no customer), "" (entries written before the log had actors).
 */
#ifndef KESSAI_AUDIT_AUDIT_H
#define KESSAI_AUDIT_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "store/store.h"
#include "util/audit_mac.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/masterkey.h"

#define AUDIT_ACTOR_SYSTEM "system"
#define AUDIT_ACTOR_ADMIN_CLI "admin-cli"
/* The entry the store appends when it chains the entries older than the
 * chain (audit_backfill); a second one means the chain was rebuilt. */
#define AUDIT_CHAIN_STARTED "audit_chain_started"

enum audit_outcome { AUDIT_SUCCESS, AUDIT_FAILURE };

/* Give connection st the audit key (derived from master_key): every
 * connection that appends entries needs it, right after it is opened
 * (store.h audit_key_set). */
enum err audit_attach(struct store *st, const uint8_t master_key[MASTERKEY_BYTES]);

/* The operator's one-time chaining of the entries older than the chain,
 * as store.h audit_backfill (ERR_NOT_FOUND: none wait; ERR_CONFLICT: the
 * marker was put back on a chained log, removed, nothing signed). */
enum err audit_backfill(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], int64_t *legacy);

/* The actor of an event about customer_id: "usr_…", or "system" when 0. */
char *audit_customer_actor(char buf[IDS_BUF], int64_t customer_id);

/* Append one entry, in the caller's transaction if one is open.  actor is
 * 1..SEC_EVENT_ACTOR_MAX bytes, action 1..SEC_EVENT_KIND_MAX bytes
 * (ERR_INVALID_PARAM otherwise); client_addr may be NULL ("").  detail (may
 * be NULL: "{}") is stolen (json_decref'd here, also on error); one longer
 * than SEC_EVENT_DETAIL_MAX bytes is stored as "{}" rather than cut
 * mid-JSON.  It must never hold a secret (auth/events.h).  ERR_INTERNAL if
 * the connection has no audit key. */
enum err audit_record(struct store *st, int64_t now, const char *actor, int64_t customer_id, const char *action,
                      enum audit_outcome outcome, const char *client_addr, int64_t device_id, json_t *detail);

/* ---- verify (verify.c) ---------------------------------------------------- */

/* Violations written to the report's output; all are counted. */
#define AUDIT_VERIFY_SHOW 10

/* A head recorded earlier: entry id had this hash. */
struct audit_anchor {
    int64_t id;
    uint8_t hash[AUDIT_MAC_BYTES];
};

struct audit_verify_report {
    size_t entries;
    size_t violations;
    int64_t first_bad_id; /* 0 if none, or if the first is in the schema */
    int64_t head_id;      /* the last entry's id; 0 for an empty log */
    uint8_t head_hash[AUDIT_MAC_BYTES];
    size_t head_hash_len; /* 0 if the last entry has no hash */
};

/* Walk every entry in id order, inside one read snapshot (kessaid may go
 * on appending), and check each one: ids 1, 2, 3, … without a gap; a
 * prev_hash equal to the previous entry's hash (none for the first); a
 * hash equal to the MAC recomputed under the key derived from master_key;
 * at most one AUDIT_CHAIN_STARTED; every field stored as its type; no
 * trigger or view in the schema (reported with id 0); and, with an anchor,
 * that its entry still exists with its hash.  Each violation (the first AUDIT_VERIFY_SHOW)
 * is written to out (may be NULL) as "entry N: WHAT\n".  ERR_OK when the
 * walk completed, whatever it found (see rep); ERR_STORE if it could not
 * read. */
enum err audit_verify(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const struct audit_anchor *anchor,
                      FILE *out, struct audit_verify_report *rep);

/* ---- the public shape (CLI --json, admin API) ---------------------------- */

/* {"id":N,"at":"ISO","actor":…,"customer":"usr_…"|null,"action":…,
 *  "outcome":…,"client_addr":…,"device":"dev_…"|null,"detail":{…},
 *  "hash":"hex"|null}; NULL when out of memory. */
json_t *audit_entry_json(const struct security_event *e);

#endif
