/* verify.c: recompute the audit log's chain (audit/audit.h, `kessai audit
 * verify`).
 *
 * What each kind of tampering looks like to the walk below:
 *   an entry edited in place      its MAC no longer matches (one violation)
 *   an entry removed              a gap in the ids, and the next entry's
 *                                 prev_hash is not the hash before it
 *   an entry inserted or moved    prev_hash links break around it, and its
 *                                 MAC (which covers its id) fails
 *   an entry forged, or re-hashed its MAC fails: nobody computes one
 *   without the master key          without the key
 *   the chain rebuilt by the      a second AUDIT_CHAIN_STARTED entry
 *   one-time backfill
 *   the newest entries removed    nothing in the database: only an anchor
 *                                 (a head recorded elsewhere) shows it
 *   a trigger planted to drop     a trigger or view in the schema (kessai
 *   or alter entries              makes none); appends it drops fail
 *                                 (security_event_insert)
 *   a value retyped in place      a column not stored as its type (a kind
 *   (hidden from searches)        as a BLOB, an id as a REAL)
 * The MAC is recomputed here in C from the stored fields, not by the SQL
 * function that computed it on insert, so a fault in one is caught by the
 * other (both call util/audit_mac.c, whose format docs/audit-log.md shows
 * with a worked example).
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

#define PAGE 256

struct walk {
    const uint8_t *key;
    FILE *out;
    struct audit_verify_report *rep;
    const struct audit_anchor *anchor;
    bool anchor_seen;
    size_t chain_starts;
    /* the previous entry */
    int64_t prev_id;
    uint8_t prev_hash[AUDIT_MAC_BYTES];
    size_t prev_hash_len;
};

static void violation(struct walk *w, int64_t id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void violation(struct walk *w, int64_t id, const char *fmt, ...)
{
    if (w->rep->violations++ == 0)
        w->rep->first_bad_id = id;
    if (w->out == NULL || w->rep->violations > AUDIT_VERIFY_SHOW)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (id > 0)
        fprintf(w->out, "entry %lld: ", (long long)id);
    else
        fputs("schema: ", w->out);
    vfprintf(w->out, fmt, ap);
    fputc('\n', w->out);
    va_end(ap);
}

static bool same_hash(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || sodium_memcmp(a, b, alen) == 0);
}

static void check(struct walk *w, const struct security_event *e)
{
    int64_t expect = w->prev_id + 1;
    if (e->id == expect + 1)
        violation(w, e->id, "entry %lld is missing (removed)", (long long)expect);
    else if (e->id > expect)
        violation(w, e->id, "entries %lld to %lld are missing (removed)", (long long)expect, (long long)e->id - 1);
    if ((e->prev_hash_len != 0 && e->prev_hash_len != AUDIT_MAC_BYTES) ||
        (e->hash_len != 0 && e->hash_len != AUDIT_MAC_BYTES)) {
        violation(w, e->id, "malformed hash (%zu and %zu bytes, not %d)", e->prev_hash_len, e->hash_len,
                  AUDIT_MAC_BYTES);
    } else {
        if (!same_hash(e->prev_hash, e->prev_hash_len, w->prev_hash, w->prev_hash_len)) {
            if (w->prev_id == 0)
                violation(w, e->id, "prev_hash set on the first entry: the entries before it were removed");
            else
                violation(w, e->id,
                          "prev_hash is not the hash of entry %lld: an entry was removed, inserted or moved here",
                          (long long)w->prev_id);
        }
        if (e->hash_len == 0) {
            violation(w, e->id, "no MAC: written without the key, or its hash was erased");
        } else {
            struct audit_mac_input in = {
                .prev_hash = {e->prev_hash, e->prev_hash_len},
                .id = e->id,
                .at_ms = e->at_ms,
                .actor = audit_str(e->actor),
                .customer_id = e->customer_id,
                .kind = audit_str(e->kind),
                .outcome = audit_str(e->outcome),
                .client_addr = audit_str(e->client_addr),
                .device_id = e->device_id,
                .detail = audit_str(e->detail),
            };
            uint8_t mac[AUDIT_MAC_BYTES];
            audit_mac(w->key, &in, mac);
            if (sodium_memcmp(mac, e->hash, AUDIT_MAC_BYTES) != 0)
                violation(w, e->id, "MAC mismatch: the entry was edited, or written without the master key");
        }
    }
    if (e->text_inexact)
        violation(w, e->id,
                  "a field holds a NUL byte, is longer than its field or is not stored as its type: the entry was "
                  "edited");
    if (strcmp(e->kind, AUDIT_CHAIN_STARTED) == 0 && w->chain_starts++ > 0)
        violation(w, e->id, "a second %s entry: the chain was rebuilt", AUDIT_CHAIN_STARTED);
    if (w->anchor && e->id == w->anchor->id) {
        w->anchor_seen = true;
        if (!same_hash(e->hash, e->hash_len, w->anchor->hash, AUDIT_MAC_BYTES))
            violation(w, e->id, "the anchor's hash differs: the chain up to here was changed since it was recorded");
    }
    w->prev_id = e->id;
    memcpy(w->prev_hash, e->hash, sizeof w->prev_hash);
    w->prev_hash_len = e->hash_len < AUDIT_MAC_BYTES ? e->hash_len : AUDIT_MAC_BYTES;
}

enum err audit_verify(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], const struct audit_anchor *anchor,
                      FILE *out, struct audit_verify_report *rep)
{
    memset(rep, 0, sizeof *rep);
    struct security_event *page = calloc(PAGE, sizeof *page);
    if (page == NULL)
        return ERR_NOMEM;
    uint8_t key[AUDIT_KEY_BYTES];
    audit_key_derive(master_key, key);
    struct walk w = {.key = key, .out = out, .rep = rep, .anchor = anchor};
    enum err e = st->ops->begin_read(st);
    char first[64] = "";
    int64_t foreign = 0;
    if (e == ERR_OK)
        e = st->ops->schema_foreign(st, first, sizeof first, &foreign);
    if (e == ERR_OK && foreign > 0)
        violation(&w, 0, "%lld trigger(s) or view(s) kessai never made (first: %s): entries may have been thrown away",
                  (long long)foreign, first);
    int64_t after = 0;
    while (e == ERR_OK) {
        size_t n = 0;
        e = st->ops->security_event_list(st, 0, after, PAGE, page, &n);
        for (size_t i = 0; e == ERR_OK && i < n; i++) {
            check(&w, &page[i]);
            rep->entries++;
        }
        if (e != ERR_OK || n < PAGE)
            break;
        after = page[n - 1].id;
    }
    if (e == ERR_OK)
        e = st->ops->commit(st);
    else
        st->ops->rollback(st);
    if (e == ERR_OK) {
        /* A gap in a hash is kept as it was read: the head is what an
         * operator records, malformed or not. */
        rep->head_id = w.prev_id;
        memcpy(rep->head_hash, w.prev_hash, sizeof rep->head_hash);
        rep->head_hash_len = w.prev_hash_len;
        if (anchor && !w.anchor_seen)
            violation(&w, anchor->id, "%s",
                      anchor->id > w.prev_id ? "the anchor's entry is gone: the newest entries were removed"
                                             : "the anchor's entry is gone");
    }
    sodium_memzero(key, sizeof key);
    sodium_memzero(page, PAGE * sizeof *page);
    free(page);
    return e;
}
