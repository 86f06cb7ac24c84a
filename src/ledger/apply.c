/* apply.c: the rules of money movement, applied inside one transaction.
 *
 * For each transfer, in order:
 *   1. idempotency: a stored transfer with the same key is returned if its
 *      request fingerprint matches, refused (IDEMPOTENCY_CONFLICT) if not
 *      (for plain transfers this is learnt from the insert, see apply_one);
 *   2. resolve references (pending transfer to post/void, original to reverse)
 *      and fill in the accounts they imply;
 *   3. compute the new totals of both accounts in local variables and check
 *      overflow and the account flags;
 *   4. only then write: cache totals, pending state, the transfer row.
 * So a transfer that fails in steps 1-3 leaves no trace.  A linked group of
 * more than one transfer runs inside a savepoint and a journal of the cached
 * accounts it touched, so a later failure undoes the earlier members.
 */
#include "ledger/apply.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/money.h"
#include "util/timeutil.h"

struct entry {
    struct ledger_account a;
    bool dirty;
};

struct saved {
    size_t idx;
    struct ledger_account a;
    bool dirty;
};

struct ledger_batch {
    struct entry *ents;
    size_t n, cap;
    int32_t *slots; /* open addressing: index into ents or -1 */
    size_t nslots;  /* power of two, at least 2 * cap */
    struct saved journal[2 * LEDGER_CHAIN_MAX];
    size_t njournal;
    bool journaling;
};

static size_t slot_of(int64_t id, size_t nslots)
{
    uint64_t h = (uint64_t)id * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (nslots - 1);
}

struct ledger_batch *ledger_batch_new(void)
{
    struct ledger_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->cap = 1024;
    b->nslots = 2048;
    b->ents = malloc(b->cap * sizeof *b->ents);
    b->slots = malloc(b->nslots * sizeof *b->slots);
    if (b->ents == NULL || b->slots == NULL) {
        ledger_batch_free(b);
        return NULL;
    }
    memset(b->slots, 0xff, b->nslots * sizeof *b->slots);
    return b;
}

void ledger_batch_free(struct ledger_batch *b)
{
    if (b == NULL)
        return;
    free(b->ents);
    free(b->slots);
    free(b);
}

void ledger_batch_reset(struct ledger_batch *b)
{
    b->n = 0;
    memset(b->slots, 0xff, b->nslots * sizeof *b->slots);
}

/* Past this many accounts the cache starts over rather than grow: memory stays
 * bounded with millions of customers, and hot accounts come back at once. */
#define CACHE_MAX_ACCOUNTS (1u << 20)

enum err ledger_batch_begin(struct ledger_batch *b, struct store *st)
{
    bool changed = true;
    enum err e = st->ops->changed_by_others(st, &changed);
    if (e != ERR_OK)
        return e;
    if (changed || b->n >= CACHE_MAX_ACCOUNTS)
        ledger_batch_reset(b);
    return ERR_OK;
}

static enum err grow(struct ledger_batch *b)
{
    size_t cap = b->cap * 2, nslots = b->nslots * 2;
    struct entry *ents = realloc(b->ents, cap * sizeof *ents);
    if (ents == NULL)
        return ERR_NOMEM;
    b->ents = ents;
    int32_t *slots = malloc(nslots * sizeof *slots);
    if (slots == NULL)
        return ERR_NOMEM;
    memset(slots, 0xff, nslots * sizeof *slots);
    for (size_t i = 0; i < b->n; i++) {
        size_t s = slot_of(ents[i].a.id, nslots);
        while (slots[s] >= 0)
            s = (s + 1) & (nslots - 1);
        slots[s] = (int32_t)i;
    }
    free(b->slots);
    b->slots = slots;
    b->cap = cap;
    b->nslots = nslots;
    return ERR_OK;
}

/* Index of account id in the cache, loading it from the store on a miss. */
static enum err account(struct ledger_batch *b, struct store *st, int64_t id, size_t *idx)
{
    size_t s = slot_of(id, b->nslots);
    for (; b->slots[s] >= 0; s = (s + 1) & (b->nslots - 1)) {
        if (b->ents[b->slots[s]].a.id == id) {
            *idx = (size_t)b->slots[s];
            return ERR_OK;
        }
    }
    struct ledger_account a;
    enum err e = st->ops->account_get(st, id, &a);
    if (e != ERR_OK)
        return e;
    if (b->n == b->cap) {
        if ((e = grow(b)) != ERR_OK)
            return e;
        return account(b, st, id, idx); /* slots moved: search again (now a miss that inserts) */
    }
    b->ents[b->n].a = a;
    b->ents[b->n].dirty = false;
    b->slots[s] = (int32_t)b->n;
    *idx = b->n++;
    return ERR_OK;
}

/* Remember an entry's state before the current group changes it. */
static void journal(struct ledger_batch *b, size_t idx)
{
    if (!b->journaling)
        return;
    for (size_t i = 0; i < b->njournal; i++)
        if (b->journal[i].idx == idx)
            return;
    /* A group has at most LEDGER_CHAIN_MAX transfers of two accounts each. */
    b->journal[b->njournal++] = (struct saved){idx, b->ents[idx].a, b->ents[idx].dirty};
}

static void undo(struct ledger_batch *b)
{
    while (b->njournal > 0) {
        struct saved *s = &b->journal[--b->njournal];
        b->ents[s->idx].a = s->a;
        b->ents[s->idx].dirty = s->dirty;
    }
}

static void put_le64(crypto_generichash_state *h, int64_t v)
{
    uint8_t buf[8];
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)v >> (8 * i));
    crypto_generichash_update(h, buf, sizeof buf);
}

void ledger_request_hash(const struct ledger_transfer *x, uint8_t out[LEDGER_HASH_BYTES])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, LEDGER_HASH_BYTES);
    put_le64(&h, x->debit_account);
    put_le64(&h, x->credit_account);
    put_le64(&h, x->amount);
    put_le64(&h, (int64_t)x->flags);
    put_le64(&h, x->pending_id);
    put_le64(&h, x->ref_id);
    crypto_generichash_update(&h, (const uint8_t *)x->kind, strlen(x->kind) + 1);
    crypto_generichash_update(&h, (const uint8_t *)x->metadata, strlen(x->metadata) + 1);
    crypto_generichash_final(&h, out, LEDGER_HASH_BYTES);
}

bool ledger_request_hash_matches(const struct ledger_transfer *t)
{
    bool resolves = t->flags == LEDGER_XFER_POST_PENDING || t->flags == LEDGER_XFER_VOID_PENDING;
    /* bit 0: debit account as sent 0, bit 1: credit account, bit 2: amount */
    unsigned free_bits = resolves ? 7u : t->flags == LEDGER_XFER_REVERSAL ? 3u : 0u;
    struct ledger_transfer x = *t;
    uint8_t h[LEDGER_HASH_BYTES];
    for (unsigned m = 0; m <= free_bits; m++) {
        if ((m & ~free_bits) != 0)
            continue;
        x.debit_account = (m & 1u) ? 0 : t->debit_account;
        x.credit_account = (m & 2u) ? 0 : t->credit_account;
        x.amount = (m & 4u) ? 0 : t->amount;
        ledger_request_hash(&x, h);
        if (memcmp(h, t->req_hash, sizeof h) == 0)
            return true;
    }
    return false;
}

/* Step 2 for POST/VOID: the pending transfer, still unresolved. */
static enum err resolve_pending(struct store *st, struct ledger_transfer *x, struct ledger_transfer *p)
{
    enum err e = st->ops->transfer_get(st, x->pending_id, p);
    if (e == ERR_TRANSFER_NOT_FOUND || (e == ERR_OK && !(p->flags & LEDGER_XFER_PENDING)))
        return ERR_PENDING_NOT_FOUND;
    if (e != ERR_OK)
        return e;
    if (p->state != LEDGER_STATE_PENDING)
        return ERR_PENDING_ALREADY_RESOLVED;
    if ((x->debit_account && x->debit_account != p->debit_account) ||
        (x->credit_account && x->credit_account != p->credit_account))
        return ERR_INVALID_PARAM;
    if (x->flags & LEDGER_XFER_VOID_PENDING) {
        if (x->amount && x->amount != p->amount)
            return ERR_INVALID_PARAM;
        x->amount = p->amount;
    } else if (x->amount == 0) {
        x->amount = p->amount;
    } else if (x->amount > p->amount) {
        return ERR_AMOUNT_INVALID;
    }
    x->debit_account = p->debit_account;
    x->credit_account = p->credit_account;
    return ERR_OK;
}

/* Step 2 for REVERSAL: the original must be a posted movement of money, and
 * what remains of it must cover this amount. */
static enum err resolve_original(struct store *st, struct ledger_transfer *x)
{
    struct ledger_transfer o;
    enum err e = st->ops->transfer_get(st, x->ref_id, &o);
    if (e != ERR_OK)
        return e;
    if (!(o.flags == 0 || o.flags == LEDGER_XFER_POST_PENDING))
        return ERR_NOT_REVERSIBLE;
    if ((x->debit_account && x->debit_account != o.credit_account) ||
        (x->credit_account && x->credit_account != o.debit_account))
        return ERR_INVALID_PARAM;
    int64_t reversed = 0, total = 0;
    if ((e = st->ops->transfer_sum_reversals(st, o.id, &reversed)) != ERR_OK)
        return e;
    if (money_add(reversed, x->amount, &total) != ERR_OK || total > o.amount)
        return ERR_REVERSAL_EXCEEDS_ORIGINAL;
    x->debit_account = o.credit_account;
    x->credit_account = o.debit_account;
    return ERR_OK;
}

/* Step 3: new totals of the two accounts, checked.  pending_release is the
 * amount a POST/VOID takes out of the pending totals. */
static enum err compute(const struct ledger_transfer *x, int64_t pending_release, struct ledger_account *d,
                        struct ledger_account *c)
{
    int64_t posted = (x->flags & (LEDGER_XFER_PENDING | LEDGER_XFER_VOID_PENDING)) ? 0 : x->amount;
    int64_t pending = (x->flags & LEDGER_XFER_PENDING) ? x->amount : 0;
    if (money_add(d->debits_posted, posted, &d->debits_posted) || money_add(c->credits_posted, posted, &c->credits_posted) ||
        money_add(d->debits_pending, pending, &d->debits_pending) ||
        money_add(c->credits_pending, pending, &c->credits_pending) ||
        money_sub(d->debits_pending, pending_release, &d->debits_pending) ||
        money_sub(c->credits_pending, pending_release, &c->credits_pending))
        return ERR_OVERFLOW;
    if ((d->flags & LEDGER_ACCT_DEBITS_LE_CREDITS) && d->debits_posted + d->debits_pending > d->credits_posted)
        return ERR_INSUFFICIENT_FUNDS;
    if ((c->flags & LEDGER_ACCT_CREDITS_LE_DEBITS) && c->credits_posted + c->credits_pending > c->debits_posted)
        return ERR_LIMIT_EXCEEDED;
    return ERR_OK;
}

/* Is x a retry of a stored transfer?  ERR_OK (and x = the stored row) if the
 * key exists with the same request, ERR_IDEMPOTENCY_CONFLICT if with another,
 * ERR_TRANSFER_NOT_FOUND if the key is new. */
static enum err replay(struct store *st, struct ledger_transfer *x, const uint8_t hash[LEDGER_HASH_BYTES],
                       bool *replayed)
{
    struct ledger_transfer old;
    enum err e = st->ops->transfer_get_by_key(st, x->key, &old);
    if (e != ERR_OK)
        return e;
    if (sodium_memcmp(old.req_hash, hash, LEDGER_HASH_BYTES) != 0)
        return ERR_IDEMPOTENCY_CONFLICT;
    *x = old;
    *replayed = true;
    return ERR_OK;
}

static enum err apply_one(struct ledger_batch *b, struct store *st, struct ledger_transfer *x, bool *replayed)
{
    uint8_t hash[LEDGER_HASH_BYTES];
    ledger_request_hash(x, hash);
    *replayed = false;
    /* Transfers that change another row (a pending one's state) must know
     * first whether they are retries.  Plain transfers skip that look-up —
     * the hot path — and learn it from the insert's unique key, or when they
     * fail: a retry must get the original answer, not today's balance. */
    bool lookup_first = x->flags & (LEDGER_XFER_POST_PENDING | LEDGER_XFER_VOID_PENDING | LEDGER_XFER_REVERSAL);
    enum err e;
    if (lookup_first && (e = replay(st, x, hash, replayed)) != ERR_TRANSFER_NOT_FOUND)
        return e;

    struct ledger_transfer p = {0};
    int64_t release = 0;
    size_t di = 0, ci = 0;
    struct ledger_account d, c;
    if (x->flags & (LEDGER_XFER_POST_PENDING | LEDGER_XFER_VOID_PENDING)) {
        e = resolve_pending(st, x, &p);
        release = p.amount;
    } else if (x->flags & LEDGER_XFER_REVERSAL) {
        e = resolve_original(st, x);
    } else {
        e = ERR_OK;
    }
    if (e == ERR_OK && (e = account(b, st, x->debit_account, &di)) == ERR_OK &&
        (e = account(b, st, x->credit_account, &ci)) == ERR_OK) {
        d = b->ents[di].a;
        c = b->ents[ci].a;
        e = compute(x, release, &d, &c);
    }
    if (e != ERR_OK) {
        enum err r = lookup_first || e == ERR_STORE ? ERR_TRANSFER_NOT_FOUND : replay(st, x, hash, replayed);
        return r == ERR_TRANSFER_NOT_FOUND ? e : r;
    }

    x->state = (x->flags & LEDGER_XFER_PENDING) ? LEDGER_STATE_PENDING : LEDGER_STATE_POSTED;
    x->created_ms = time_now_ms();
    x->debit_prev_id = d.last_transfer_id;
    x->credit_prev_id = c.last_transfer_id;
    memcpy(x->req_hash, hash, sizeof hash);
    if (p.id && st->ops->transfer_set_state(st, p.id, (x->flags & LEDGER_XFER_VOID_PENDING) ? LEDGER_STATE_VOIDED
                                                                                            : LEDGER_STATE_POSTED) != ERR_OK)
        return ERR_STORE; /* the row was just read: any failure here is the store's */
    e = st->ops->transfer_insert(st, x);
    if (e == ERR_CONFLICT)
        return replay(st, x, hash, replayed); /* the key exists: never ERR_TRANSFER_NOT_FOUND here */
    if (e != ERR_OK)
        return ERR_STORE;
    d.last_transfer_id = c.last_transfer_id = x->id;
    journal(b, di);
    journal(b, ci);
    b->ents[di].a = d;
    b->ents[di].dirty = true;
    b->ents[ci].a = c;
    b->ents[ci].dirty = true;
    return ERR_OK;
}

/* The posted balance of a cached account. */
static enum err balance_of(struct ledger_batch *b, struct store *st, int64_t id, int64_t *out)
{
    size_t idx;
    enum err e = account(b, st, id, &idx);
    if (e == ERR_OK)
        *out = b->ents[idx].a.credits_posted - b->ents[idx].a.debits_posted;
    return e;
}

enum err ledger_batch_apply(struct ledger_batch *b, struct store *st, struct ledger_transfer *x, size_t n,
                            ledger_hook_fn hook, void *hook_ctx, struct ledger_balances *after, size_t *failed,
                            bool *replayed)
{
    enum err e = ERR_OK;
    size_t nreplayed = 0;
    /* A savepoint whenever more than one thing must stand or fall together. */
    bool guarded = n > 1 || hook != NULL;
    *failed = 0;
    *replayed = false;
    if (guarded && (e = st->ops->savepoint(st)) != ERR_OK)
        return ERR_STORE;
    b->journaling = true;
    b->njournal = 0;
    for (size_t i = 0; i < n && e == ERR_OK; i++) {
        bool r = false;
        *failed = i;
        e = apply_one(b, st, &x[i], &r);
        nreplayed += r;
        /* A group is replayed whole or not at all: a mix means the keys were
         * reused for a different group. */
        if (e == ERR_OK && nreplayed != 0 && nreplayed != i + 1)
            e = ERR_IDEMPOTENCY_CONFLICT;
        if (e == ERR_OK)
            e = balance_of(b, st, x[i].debit_account, &after[i].debit);
        if (e == ERR_OK)
            e = balance_of(b, st, x[i].credit_account, &after[i].credit);
    }
    b->journaling = false;
    if (e == ERR_OK) {
        *replayed = n > 0 && nreplayed == n;
        if (hook) {
            *failed = n;
            e = hook(hook_ctx, st, x, after, n, *replayed);
        }
    }
    if (e == ERR_OK) {
        if (guarded && st->ops->release_savepoint(st) != ERR_OK)
            return ERR_STORE;
        return ERR_OK;
    }
    undo(b);
    if (e == ERR_STORE)
        return ERR_STORE;
    if (guarded && st->ops->rollback_savepoint(st) != ERR_OK)
        return ERR_STORE;
    return e;
}

enum err ledger_batch_flush(struct ledger_batch *b, struct store *st)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!b->ents[i].dirty)
            continue;
        if (st->ops->account_put_totals(st, &b->ents[i].a) != ERR_OK)
            return ERR_STORE;
        b->ents[i].dirty = false;
    }
    return ERR_OK;
}
