/* history.c: the customer's history and balance (wallet/history.h).
 *
 * The history is the wallet account's ledger transfers themselves, newest
 * first, followed down the chain the ledger keeps per account
 * (last_transfer_id, then each transfer's *_prev_id): nothing is copied into
 * another table, so it can never disagree with the books, and the ledger
 * writer pays no per-account index for it.  A page costs its own entries
 * plus, for the balances, the entries newer than it.  What the customer sees is derived per entry:
 *
 *   kind          the transfer's kind, folded for the customer: every
 *                 "payment…" kind is "payment" (CPM and MPM alike),
 *                 "refund…" and "void…" stay, "p2p…" becomes p2p_in or
 *                 p2p_out by the side the wallet is on, top-ups keep
 *                 theirs;
 *   amount        + when the wallet is credited, - when debited;
 *   balance_after the balance right after the transfer: the current
 *                 balance minus the net of every later transfer, then
 *                 walked down the page;
 *   payment_id    the payment a payment or P2P transfer is (its own id), or
 *                 the one a refund or void gives back (ref_id); 0 else;
 *   counterparty  the metadata's store_name, or the other customer's
 *                 masked address ({"from","to"}; "h***@example.com"), else
 *                 the owner of the account on the other side: a store's
 *                 name (cash top-ups, refunds), another customer's masked
 *                 address, or "" (the system).
 *
 * Invariants:
 *  1. Every read of one call happens in one snapshot (begin_read), so the
 *     balances of a page agree with each other and with the entries even
 *     while the ledger writer commits.
 *  2. Only the caller's wallet's transfers are shown: one that does not
 *     touch it is ERR_NOT_FOUND (GET by id) or an invalid cursor, exactly as
 *     if it did not exist.
 *  3. Nothing here writes: a customer without a wallet account yet has an
 *     empty history and a zero balance (the account is made on first credit).
 *
 * Pending (two-phase) transfers are not used on wallets today; should they
 * be, they show with their amount and leave balance_after unchanged, as the
 * posted balance does.
 */
#include "wallet/history.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth/customer_types.h"
#include "ledger/ledger.h"
#include "merchant/merchant.h"
#include "util/email.h"
#include "util/ids.h"
#include "wallet/topup_internal.h"

#define COUNTERPARTY_CACHE 16

/* Names of the accounts on the other side of a page's transfers, so a
 * customer who always shops at the same store costs one look-up per page. */
struct names {
    int64_t account[COUNTERPARTY_CACHE];
    char name[COUNTERPARTY_CACHE][sizeof((struct history_entry *)0)->counterparty];
    size_t n;
};

/* Copy src into dst[n] whole, or cut before the UTF-8 sequence that does not
 * fit (a store's name may be Japanese), so the result stays valid UTF-8. */
static void copy_utf8(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static bool starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* What the transfer did to the posted balance of acct: pending holds and
 * their voids move nothing posted (ledger/apply.c, compute). */
static int64_t posted_effect(const struct ledger_transfer *x, int64_t acct)
{
    if (x->flags & (LEDGER_XFER_PENDING | LEDGER_XFER_VOID_PENDING))
        return 0;
    return x->credit_account == acct ? x->amount : -x->amount;
}

static bool touches(const struct ledger_transfer *x, int64_t acct)
{
    return x->debit_account == acct || x->credit_account == acct;
}

static void fold_kind(const struct ledger_transfer *x, int64_t acct, char *out, size_t n)
{
    const char *k = x->kind;
    if (starts(k, "payment"))
        k = "payment";
    else if (starts(k, "refund"))
        k = "refund";
    else if (starts(k, "void"))
        k = "void";
    else if (starts(k, "p2p"))
        k = x->credit_account == acct ? "p2p_in" : "p2p_out";
    copy_utf8(out, n, k);
}

static int64_t payment_of(const struct ledger_transfer *x)
{
    if (x->flags & LEDGER_XFER_REVERSAL)
        return x->ref_id;
    if (starts(x->kind, "payment") || starts(x->kind, "p2p"))
        return x->id;
    return 0;
}

/* A customer's address, "" if they are gone (never an error the reader sees). */
static enum err customer_address(struct store *st, int64_t id, char *out, size_t n)
{
    struct customer c;
    enum err e = st->ops->customer_get(st, id, &c);
    if (e == ERR_NOT_FOUND) {
        out[0] = '\0';
        return ERR_OK;
    }
    if (e == ERR_OK) {
        /* Masked: ids are sequential, and a transfer to "usr_…" must not
         * tell the sender who is behind it. */
        char masked[EMAIL_MASKED_MAX + 1];
        email_mask(c.email, masked);
        copy_utf8(out, n, masked);
    }
    sodium_memzero(&c, sizeof c); /* its password hash and sealed seed */
    return e;
}

/* The name behind a ledger account's owner: "str_…" a store's name,
 * "usr_…" a customer's address, anything else (the system) "". */
static enum err owner_name(struct store *st, int64_t account_id, char *out, size_t n)
{
    out[0] = '\0';
    struct ledger_account a;
    enum err e = st->ops->account_get(st, account_id, &a);
    if (e != ERR_OK)
        return e == ERR_ACCOUNT_NOT_FOUND ? ERR_OK : e;
    int64_t id = 0;
    if (ids_parse(a.owner, MERCHANT_STORE_ID_PREFIX, &id) == ERR_OK) {
        struct merchant_store s;
        e = st->ops->mstore_get(st, id, &s);
        if (e == ERR_OK)
            copy_utf8(out, n, s.name);
        return e == ERR_STORE_NOT_FOUND ? ERR_OK : e;
    }
    if (ids_parse(a.owner, CUSTOMER_ID_PREFIX, &id) == ERR_OK)
        return customer_address(st, id, out, n);
    return ERR_OK;
}

/* The metadata's word on the counterparty: true with *out set when it has
 * one.  Metadata is the payment's own record ({"store_name":…} or
 * {"from":"usr_…","to":"usr_…"}); anything else in it is ignored. */
static enum err from_metadata(struct store *st, const struct ledger_transfer *x, int64_t customer_id, char *out,
                              size_t n, bool *found)
{
    *found = false;
    if (x->metadata[0] != '{')
        return ERR_OK;
    json_t *m = json_loads(x->metadata, JSON_REJECT_DUPLICATES, NULL);
    if (m == NULL)
        return ERR_OK;
    enum err e = ERR_OK;
    const char *name = json_string_value(json_object_get(m, "store_name"));
    const char *from = json_string_value(json_object_get(m, "from"));
    const char *to = json_string_value(json_object_get(m, "to"));
    int64_t from_id = 0, to_id = 0;
    if (name != NULL && name[0]) {
        copy_utf8(out, n, name);
        *found = true;
    } else if (from && to && ids_parse(from, CUSTOMER_ID_PREFIX, &from_id) == ERR_OK &&
               ids_parse(to, CUSTOMER_ID_PREFIX, &to_id) == ERR_OK) {
        e = customer_address(st, from_id == customer_id ? to_id : from_id, out, n);
        *found = true;
    }
    json_decref(m);
    return e;
}

static enum err counterparty(struct store *st, struct names *cache, const struct ledger_transfer *x, int64_t acct,
                             int64_t customer_id, char *out, size_t n)
{
    bool found = false;
    enum err e = from_metadata(st, x, customer_id, out, n, &found);
    if (e != ERR_OK || found)
        return e;
    int64_t other = x->debit_account == acct ? x->credit_account : x->debit_account;
    for (size_t i = 0; i < cache->n; i++)
        if (cache->account[i] == other) {
            copy_utf8(out, n, cache->name[i]);
            return ERR_OK;
        }
    e = owner_name(st, other, out, n);
    if (e == ERR_OK && cache->n < COUNTERPARTY_CACHE) {
        cache->account[cache->n] = other;
        copy_utf8(cache->name[cache->n], sizeof cache->name[0], out);
        cache->n++;
    }
    return e;
}

static enum err entry_of(struct store *st, struct names *cache, const struct ledger_transfer *x, int64_t acct,
                         int64_t customer_id, int64_t balance_after, struct history_entry *out)
{
    memset(out, 0, sizeof *out);
    out->id = x->id;
    fold_kind(x, acct, out->kind, sizeof out->kind);
    out->amount = x->credit_account == acct ? x->amount : -x->amount;
    out->balance_after = balance_after;
    out->payment_id = payment_of(x);
    out->created_ms = x->created_ms;
    return counterparty(st, cache, x, acct, customer_id, out->counterparty, sizeof out->counterparty);
}

/* The customer's wallet account (a zero id, balance and head while it has
 * none). */
static enum err wallet_of(struct store *st, int64_t customer_id, struct ledger_account *a)
{
    char owner[IDS_BUF];
    enum err e = st->ops->account_find(st, ids_format(owner, CUSTOMER_ID_PREFIX, customer_id), TOPUP_WALLET_KIND, a);
    if (e == ERR_ACCOUNT_NOT_FOUND) {
        memset(a, 0, sizeof *a);
        return ERR_OK;
    }
    return e;
}

/* The transfer before x in acct's chain (0: x was its first). */
static int64_t prev_of(const struct ledger_transfer *x, int64_t acct)
{
    return x->debit_account == acct ? x->debit_prev_id : x->credit_prev_id;
}

/* A link of the chain: the ledger wrote every id in it, so a missing one is
 * the store's fault, never the caller's. */
static enum err chain_get(struct store *st, int64_t id, struct ledger_transfer *out)
{
    enum err e = st->ops->transfer_get(st, id, out);
    return e == ERR_TRANSFER_NOT_FOUND ? ERR_STORE : e;
}

/* What the wallet's transfers newer than `id` (one of its own) did to its
 * posted balance, walked down the chain from the newest. */
static enum err net_after(struct store *st, const struct ledger_account *w, int64_t id, int64_t *net)
{
    struct ledger_transfer x;
    *net = 0;
    for (int64_t cur = w->last_transfer_id; cur != id; cur = prev_of(&x, w->id)) {
        if (cur == 0)
            return ERR_STORE; /* id was checked to be the wallet's: it must be on the chain */
        enum err e = chain_get(st, cur, &x);
        if (e != ERR_OK)
            return e;
        *net += posted_effect(&x, w->id);
    }
    return ERR_OK;
}

/* Inside the snapshot: the page itself. */
static enum err page_in_snapshot(struct store *st, int64_t customer_id, int64_t before_id, size_t limit,
                                 struct history_entry *out, size_t *n, int64_t *next_before)
{
    struct ledger_account w;
    enum err e = wallet_of(st, customer_id, &w);
    if (e != ERR_OK)
        return e;
    if (w.id == 0)
        return before_id ? ERR_INVALID_PARAM : ERR_OK; /* no entries: no cursor can be theirs */
    struct ledger_transfer *xs = calloc(limit + 1, sizeof *xs);
    if (xs == NULL)
        return ERR_NOMEM;
    int64_t next = w.last_transfer_id;
    if (before_id > 0) {
        /* The cursor must be one of the wallet's own entries (as every
         * next_before is): anything else is a client's mistake, told as such. */
        e = st->ops->transfer_get(st, before_id, &xs[0]);
        if (e == ERR_TRANSFER_NOT_FOUND || (e == ERR_OK && !touches(&xs[0], w.id)))
            e = ERR_INVALID_PARAM;
        next = prev_of(&xs[0], w.id);
    }
    /* One more than asked tells whether a next page exists. */
    size_t m = 0;
    for (; e == ERR_OK && m < limit + 1 && next != 0; m++) {
        e = chain_get(st, next, &xs[m]);
        next = prev_of(&xs[m], w.id);
    }
    int64_t net = 0;
    if (e == ERR_OK && m > 0)
        e = net_after(st, &w, xs[0].id, &net);
    int64_t bal = ledger_balance(&w) - net;
    struct names cache = {.n = 0};
    size_t shown = m > limit ? limit : m;
    for (size_t i = 0; e == ERR_OK && i < shown; i++) {
        e = entry_of(st, &cache, &xs[i], w.id, customer_id, bal, &out[i]);
        bal -= posted_effect(&xs[i], w.id);
    }
    if (e == ERR_OK) {
        *n = shown;
        *next_before = m > limit ? out[limit - 1].id : 0;
    }
    free(xs);
    return e;
}

enum err history_page(const struct wallet_ctx *w, const struct auth_session *cur, int64_t before_id, size_t limit,
                      struct history_entry *out, size_t *n, int64_t *next_before)
{
    *n = 0;
    *next_before = 0;
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e != ERR_OK)
        return e;
    if (limit < 1 || limit > HISTORY_PAGE_MAX || before_id < 0)
        return ERR_INVALID_PARAM;
    struct store *st = w->a.st;
    if ((e = st->ops->begin_read(st)) != ERR_OK)
        return e;
    e = page_in_snapshot(st, cur->customer_id, before_id, limit, out, n, next_before);
    st->ops->rollback(st); /* read only: nothing to keep */
    if (e != ERR_OK)
        *n = 0;
    return e;
}

enum err history_get(const struct wallet_ctx *w, const struct auth_session *cur, int64_t id,
                     struct history_entry *out)
{
    memset(out, 0, sizeof *out);
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e != ERR_OK)
        return e;
    if (id <= 0)
        return ERR_NOT_FOUND;
    struct store *st = w->a.st;
    if ((e = st->ops->begin_read(st)) != ERR_OK)
        return e;
    int64_t net = 0;
    struct ledger_account wa;
    struct ledger_transfer x;
    e = wallet_of(st, cur->customer_id, &wa);
    if (e == ERR_OK && wa.id == 0)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        e = st->ops->transfer_get(st, id, &x);
    /* Another customer's transfer is exactly as absent as no transfer. */
    if (e == ERR_TRANSFER_NOT_FOUND || (e == ERR_OK && !touches(&x, wa.id)))
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        e = net_after(st, &wa, id, &net);
    struct names cache = {.n = 0};
    if (e == ERR_OK)
        e = entry_of(st, &cache, &x, wa.id, cur->customer_id, ledger_balance(&wa) - net, out);
    st->ops->rollback(st);
    if (e != ERR_OK)
        memset(out, 0, sizeof *out);
    return e;
}

enum err history_balance(const struct wallet_ctx *w, const struct auth_session *cur, int64_t *balance)
{
    *balance = 0;
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e != ERR_OK)
        return e;
    return topup_wallet_balance(w->a.st, cur->customer_id, balance);
}
