/* verify.c: recompute the ledger from its transfers and check the invariants
 * listed in ledger.h.  It trusts nothing stored but the transfers themselves:
 * account totals are recomputed and compared, not read and summed.  And the
 * transfers themselves are checked as far as they can be without a key:
 *
 *  - each row is re-validated as the writer would have (ledger_validate,
 *    then what only a stored row must satisfy: an amount of at least 1 yen,
 *    a state its flags allow, a POST/VOID on its pending transfer's
 *    accounts, a REVERSAL of a reversible original with its accounts
 *    swapped), and its request fingerprint recomputed
 *    (ledger_request_hash_matches: unkeyed, so it only shows careless edits);
 *  - the no-overdraft rule comes from each account's kind
 *    (ledger_kind_flags), not only from its stored flags: a wallet whose
 *    flags lack it is a violation, and so is a wallet below zero, at the end
 *    or after any transfer, whatever its flags say;
 *  - the domain tables that record money (payments, top-ups, fraud
 *    reversals: store_money_link) agree with the transfers they name.
 *
 * What it cannot see: a rewrite consistent in every table by someone with
 * write access to the database (drop the newest transfer and fix both
 * accounts; raise an amount, recompute its fingerprint and fix the domain
 * row).  Only a keyed chain or an anchor kept outside the database would;
 * docs/ledger.md.
 *
 * Everything is read inside one snapshot (begin_read): accounts, then
 * transfers, then the domain rows, each streamed by the store.
 *
 * Memory: one small record per account and per transfer, both kept in id
 * order (the store scans in id order), so lookups are binary searches; the
 * transfer record is held at 40 bytes (see struct xf).  The domain rows are
 * streamed and not kept.  For ledgers of tens of millions of transfers this
 * should become a streaming check per account range; not needed yet.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/apply.h"
#include "ledger/ledger.h"
#include "util/money.h"

struct acct {
    struct ledger_account stored;
    int64_t dp, cp, dpe, cpe; /* recomputed totals */
    int64_t last;             /* the newest transfer seen so far on either side */
    uint32_t rule;            /* stored flags | the flags its kind requires */
    bool overdrawn;           /* already reported below its limit after a transfer */
};

#define NO_ACCT UINT32_MAX
#define SATURATE 255

/* Per transfer: kept small, as there are millions (the size is asserted
 * below).  Accounts are indexes into ctx.accts. */
struct xf {
    int64_t id, amount, reversed;
    uint32_t debit, credit; /* NO_ACCT: unknown account */
    uint8_t flags;          /* LEDGER_XFER_*; 0xff for a value out of range */
    uint8_t state;          /* enum ledger_state; 0xff for a value out of range */
    uint8_t resolutions;    /* transfers that posted or voided it (saturates) */
    uint8_t links;          /* domain rows that name it (saturates) */
};
_Static_assert(sizeof(struct xf) <= 40, "a transfer's record in verify stays at 40 bytes");

struct ctx {
    FILE *out;
    struct ledger_verify_report *rep;
    struct acct *accts;
    size_t na, capa;
    struct xf *xfs;
    size_t nx, capx;
};

static void violation(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(struct ctx *c, const char *fmt, ...)
{
    c->rep->violations++;
    if (c->out == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("violation: ", c->out);
    vfprintf(c->out, fmt, ap);
    fputc('\n', c->out);
    va_end(ap);
}

static enum err on_account(void *arg, const struct ledger_account *a)
{
    struct ctx *c = arg;
    if (c->na == c->capa) {
        size_t cap = c->capa ? c->capa * 2 : 1024;
        if (cap >= NO_ACCT)
            return ERR_NOMEM;
        struct acct *p = realloc(c->accts, cap * sizeof *p);
        if (p == NULL)
            return ERR_NOMEM;
        c->accts = p;
        c->capa = cap;
    }
    /* The account as ledger_account_create would have taken it, and the
     * no-overdraft flag its kind requires. */
    uint32_t need = ledger_kind_flags(a->kind);
    c->accts[c->na++] = (struct acct){.stored = *a, .rule = a->flags | need};
    if ((a->flags & need) != need)
        violation(c, "account %" PRId64 " (%s/%s): flags %" PRIu32 " lack the no-overdraft flag its kind requires",
                  a->id, a->owner, a->kind, a->flags);
    else if (ledger_validate_account(a->owner, a->kind, a->flags) != ERR_OK)
        violation(c, "account %" PRId64 " (%s/%s): invalid owner, kind or flags %" PRIu32, a->id, a->owner, a->kind,
                  a->flags);
    return ERR_OK;
}

static uint32_t find_acct(struct ctx *c, int64_t id)
{
    size_t lo = 0, hi = c->na;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->accts[mid].stored.id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->na && c->accts[lo].stored.id == id ? (uint32_t)lo : NO_ACCT;
}

static struct xf *find_xf(struct ctx *c, int64_t id)
{
    size_t lo = 0, hi = c->nx;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->xfs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nx && c->xfs[lo].id == id ? &c->xfs[lo] : NULL;
}

/* Add to a recomputed total; an overflow here is itself a violation. */
static void add(struct ctx *c, int64_t *total, int64_t v, int64_t txid)
{
    if (money_add(*total, v, total) != ERR_OK)
        violation(c, "transfer %" PRId64 ": account total overflows", txid);
}

/* Would the writer's limit check (apply.c, compute) refuse these totals?
 * Checked with the account's rule, not only its stored flags. */
static bool over_limit(uint32_t rule, int64_t dp, int64_t cp, int64_t dpe, int64_t cpe)
{
    return ((rule & LEDGER_ACCT_DEBITS_LE_CREDITS) && dp + dpe > cp) ||
           ((rule & LEDGER_ACCT_CREDITS_LE_DEBITS) && cp + cpe > dp);
}

/* After each transfer, as the writer checked before it: an account that
 * went below zero at any point, even if credited back since.  The running
 * pending totals count only transfers still pending today (resolved ones
 * were never added), so they are never above what the writer saw: no false
 * alarm, and reported once per account. */
static void check_running(struct ctx *c, struct acct *a, int64_t txid)
{
    if (a->overdrawn || !over_limit(a->rule, a->dp, a->cp, a->dpe, a->cpe))
        return;
    a->overdrawn = true;
    violation(c, "account %" PRId64 " (%s/%s) went past its limit at transfer %" PRId64 ": balance %" PRId64
                 ", pending debits %" PRId64,
              a->stored.id, a->stored.owner, a->stored.kind, txid, a->cp - a->dp, a->dpe);
}

static void resolve(struct ctx *c, const struct ledger_transfer *t, const struct xf *me)
{
    struct xf *p = find_xf(c, t->pending_id);
    if (p == NULL || p == me || p->flags == 0xff || !(p->flags & LEDGER_XFER_PENDING)) {
        violation(c, "transfer %" PRId64 ": resolves %" PRId64 ", which is not an earlier pending transfer", t->id,
                  t->pending_id);
        return;
    }
    if (p->resolutions < SATURATE)
        p->resolutions++;
    int want = (t->flags & LEDGER_XFER_POST_PENDING) ? LEDGER_STATE_POSTED : LEDGER_STATE_VOIDED;
    if (p->resolutions > 1)
        violation(c, "pending transfer %" PRId64 " resolved more than once (again by %" PRId64 ")", p->id, t->id);
    else if (p->state != want)
        violation(c, "pending transfer %" PRId64 " has state %d but transfer %" PRId64 " resolved it as %d", p->id,
                  p->state, t->id, want);
    if (t->amount > p->amount || ((t->flags & LEDGER_XFER_VOID_PENDING) && t->amount != p->amount))
        violation(c, "transfer %" PRId64 ": amount %" PRId64 " does not fit pending %" PRId64 " of %" PRId64, t->id,
                  t->amount, p->id, p->amount);
    /* apply.c, resolve_pending: the accounts are the pending transfer's. */
    if (me->debit != p->debit || me->credit != p->credit)
        violation(c, "transfer %" PRId64 ": accounts %" PRId64 " -> %" PRId64 " are not those of pending %" PRId64,
                  t->id, t->debit_account, t->credit_account, p->id);
}

static void reverse(struct ctx *c, const struct ledger_transfer *t, const struct xf *me)
{
    struct xf *o = find_xf(c, t->ref_id);
    if (o == NULL || o == me) {
        violation(c, "transfer %" PRId64 ": reverses unknown transfer %" PRId64, t->id, t->ref_id);
        return;
    }
    /* apply.c, resolve_original: a posted movement of money, given back
     * between the same two accounts the other way. */
    if (!(o->flags == 0 || o->flags == LEDGER_XFER_POST_PENDING))
        violation(c, "transfer %" PRId64 ": reverses %" PRId64 ", which is not a posted movement of money", t->id,
                  o->id);
    if (me->debit != o->credit || me->credit != o->debit)
        violation(c, "transfer %" PRId64 ": accounts %" PRId64 " -> %" PRId64 " are not those of %" PRId64
                     " swapped",
                  t->id, t->debit_account, t->credit_account, o->id);
    if (money_add(o->reversed, t->amount, &o->reversed) != ERR_OK || o->reversed > o->amount)
        violation(c, "transfer %" PRId64 ": reversals of %" PRId64 " exceed its amount", t->id, o->id);
}

/* The row as the writer would have stored it, before any money is
 * counted. */
static void check_row(struct ctx *c, const struct ledger_transfer *t)
{
    size_t bad = 0;
    enum err e = ledger_validate(t, 1, &bad);
    if (e != ERR_OK)
        violation(c, "transfer %" PRId64 " (%s): the ledger would refuse it: %s", t->id, t->kind, err_message(e));
    /* ledger_validate lets a POST or VOID ask with amount 0 (all of it);
     * the stored row has the amount filled in. */
    else if (money_check_amount(t->amount) != ERR_OK)
        violation(c, "transfer %" PRId64 " (%s): amount %" PRId64 " is not a valid amount", t->id, t->kind,
                  t->amount);
    bool pending = t->flags == LEDGER_XFER_PENDING;
    if (pending ? !(t->state == LEDGER_STATE_PENDING || t->state == LEDGER_STATE_POSTED ||
                    t->state == LEDGER_STATE_VOIDED)
                : t->state != LEDGER_STATE_POSTED)
        violation(c, "transfer %" PRId64 ": state %d is impossible for flags %" PRIu32, t->id, t->state, t->flags);
    if (!ledger_request_hash_matches(t))
        violation(c, "transfer %" PRId64 " (%s): its fields no longer match its request hash (changed after it was "
                     "written?)",
                  t->id, t->kind);
}

static enum err on_transfer(void *arg, const struct ledger_transfer *t)
{
    struct ctx *c = arg;
    if (c->nx == c->capx) {
        size_t cap = c->capx ? c->capx * 2 : 4096;
        struct xf *p = realloc(c->xfs, cap * sizeof *p);
        if (p == NULL)
            return ERR_NOMEM;
        c->xfs = p;
        c->capx = cap;
    }
    check_row(c, t);
    uint32_t di = find_acct(c, t->debit_account), ki = find_acct(c, t->credit_account);
    struct xf *me = &c->xfs[c->nx++];
    *me = (struct xf){
        .id = t->id,
        .amount = t->amount,
        .debit = di,
        .credit = ki,
        .flags = t->flags <= 0xfe ? (uint8_t)t->flags : 0xff,
        .state = t->state >= 0 && t->state <= 0xfe ? (uint8_t)t->state : 0xff,
    };

    if (di == NO_ACCT || ki == NO_ACCT || di == ki) {
        violation(c, "transfer %" PRId64 ": bad accounts %" PRId64 " -> %" PRId64, t->id, t->debit_account,
                  t->credit_account);
        return ERR_OK;
    }
    struct acct *d = &c->accts[di], *k = &c->accts[ki];
    /* The history chain: each side names the account's previous transfer. */
    if (t->debit_prev_id != d->last || t->credit_prev_id != k->last)
        violation(c, "transfer %" PRId64 ": history chain names %" PRId64 " and %" PRId64 " as previous, not %" PRId64
                  " and %" PRId64, t->id, t->debit_prev_id, t->credit_prev_id, d->last, k->last);
    d->last = k->last = t->id;
    if (t->flags & LEDGER_XFER_PENDING) {
        if (t->state == LEDGER_STATE_PENDING) {
            add(c, &d->dpe, t->amount, t->id);
            add(c, &k->cpe, t->amount, t->id);
        }
    } else {
        if (t->flags & (LEDGER_XFER_POST_PENDING | LEDGER_XFER_VOID_PENDING))
            resolve(c, t, me);
        if (t->flags & LEDGER_XFER_REVERSAL)
            reverse(c, t, me);
        if (!(t->flags & LEDGER_XFER_VOID_PENDING)) {
            add(c, &d->dp, t->amount, t->id);
            add(c, &k->cp, t->amount, t->id);
        }
    }
    check_running(c, d, t->id);
    check_running(c, k, t->id);
    return ERR_OK;
}

/* A domain row against the transfer it names (store.h, store_money_link). */
static enum err on_link(void *arg, const struct store_money_link *l)
{
    struct ctx *c = arg;
    if (l->transfer_id == 0) {
        if (l->moved)
            violation(c, "%s %" PRId64 ": says %" PRId64 " moved but names no transfer", l->table, l->id, l->amount);
        return ERR_OK;
    }
    struct xf *x = find_xf(c, l->transfer_id);
    if (x == NULL) {
        violation(c, "%s %" PRId64 ": names transfer %" PRId64 ", which does not exist", l->table, l->id,
                  l->transfer_id);
        return ERR_OK;
    }
    if (x->links < SATURATE)
        x->links++;
    if (x->links > 1)
        violation(c, "%s %" PRId64 ": transfer %" PRId64 " is named by another row too", l->table, l->id, x->id);
    if (!l->moved)
        violation(c, "%s %" PRId64 ": names transfer %" PRId64 " but its state says no money moved", l->table, l->id,
                  x->id);
    if (x->amount != l->amount)
        violation(c, "%s %" PRId64 ": amount %" PRId64 " but its transfer %" PRId64 " moved %" PRId64, l->table,
                  l->id, l->amount, x->id, x->amount);
    if (x->flags != l->xfer_flags)
        violation(c, "%s %" PRId64 ": transfer %" PRId64 " has flags %u, not %" PRIu32, l->table, l->id, x->id,
                  (unsigned)x->flags, l->xfer_flags);
    if (l->reversed >= 0 && x->reversed != l->reversed)
        violation(c, "%s %" PRId64 ": says %" PRId64 " was given back but reversals of transfer %" PRId64
                     " add up to %" PRId64,
                  l->table, l->id, l->reversed, x->id, x->reversed);
    return ERR_OK;
}

static void check_accounts(struct ctx *c)
{
    int64_t sum = 0;
    for (size_t i = 0; i < c->na; i++) {
        const struct acct *a = &c->accts[i];
        const struct ledger_account *s = &a->stored;
        bool totals_differ = s->debits_posted != a->dp || s->credits_posted != a->cp ||
                             s->debits_pending != a->dpe || s->credits_pending != a->cpe;
        if (totals_differ)
            violation(c,
                      "account %" PRId64 " (%s/%s): stored totals dp=%" PRId64 " cp=%" PRId64 " dpe=%" PRId64
                      " cpe=%" PRId64 " but transfers give dp=%" PRId64 " cp=%" PRId64 " dpe=%" PRId64 " cpe=%" PRId64,
                      s->id, s->owner, s->kind, s->debits_posted, s->credits_posted, s->debits_pending,
                      s->credits_pending, a->dp, a->cp, a->dpe, a->cpe);
        if (s->last_transfer_id != a->last)
            violation(c, "account %" PRId64 " (%s/%s): history chain starts at %" PRId64 ", not at %" PRId64, s->id,
                      s->owner, s->kind, s->last_transfer_id, a->last);
        /* The stored totals under the account's rule (its kind's, whatever
         * its flags say); the recomputed ones were checked transfer by
         * transfer (check_running). */
        if ((a->rule & LEDGER_ACCT_DEBITS_LE_CREDITS) && s->debits_posted + s->debits_pending > s->credits_posted)
            violation(c, "account %" PRId64 " (%s/%s) is negative: balance %" PRId64 ", pending debits %" PRId64,
                      s->id, s->owner, s->kind, ledger_balance(s), s->debits_pending);
        if ((a->rule & LEDGER_ACCT_CREDITS_LE_DEBITS) && s->credits_posted + s->credits_pending > s->debits_posted)
            violation(c, "account %" PRId64 " (%s/%s) is positive but may not be", s->id, s->owner, s->kind);
        if (money_add(sum, ledger_balance(s), &sum) != ERR_OK)
            violation(c, "sum of balances overflows at account %" PRId64, s->id);
    }
    if (sum != 0)
        violation(c, "balances sum to %" PRId64 ", not 0", sum);
    for (size_t i = 0; i < c->nx; i++) {
        const struct xf *x = &c->xfs[i];
        if (x->flags == 0xff)
            continue; /* reported by check_row */
        if ((x->flags & LEDGER_XFER_PENDING) && x->state == LEDGER_STATE_PENDING && x->resolutions != 0)
            violation(c, "pending transfer %" PRId64 " is marked pending but was resolved", x->id);
        if ((x->flags & LEDGER_XFER_PENDING) && x->state != LEDGER_STATE_PENDING && x->resolutions == 0)
            violation(c, "pending transfer %" PRId64 " is marked resolved but nothing resolved it", x->id);
    }
}

enum err ledger_verify(struct store *st, FILE *out, struct ledger_verify_report *rep)
{
    memset(rep, 0, sizeof *rep);
    struct ctx c = {.out = out, .rep = rep};
    /* One snapshot for every scan, or a commit in between would look like a
     * violation. */
    enum err e = st->ops->begin_read(st);
    if (e == ERR_OK)
        e = st->ops->account_scan(st, on_account, &c);
    if (e == ERR_OK)
        e = st->ops->transfer_scan(st, on_transfer, &c);
    if (e == ERR_OK)
        e = st->ops->money_link_scan(st, on_link, &c);
    st->ops->rollback(st);
    if (e == ERR_OK) {
        check_accounts(&c);
        rep->accounts = c.na;
        rep->transfers = c.nx;
    }
    free(c.accts);
    free(c.xfs);
    return e;
}
