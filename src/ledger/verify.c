/* verify.c: recompute the ledger from its transfers and check the invariants
 * listed in ledger.h.  It trusts nothing stored but the transfers themselves:
 * account totals are recomputed and compared, not read and summed.
 *
 * Memory: one small record per account and per transfer, both kept in id
 * order (the store scans in id order), so lookups are binary searches.  For
 * ledgers of tens of millions of transfers this should become a streaming
 * check per account range; not needed yet.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "util/money.h"

struct acct {
    struct ledger_account stored;
    int64_t dp, cp, dpe, cpe; /* recomputed totals */
    int64_t last;             /* the newest transfer seen so far on either side */
};

struct xf {
    int64_t id, amount, reversed;
    uint32_t flags;
    int state;
    int resolutions;
};

struct ctx {
    FILE *out;
    struct ledger_verify_report *rep;
    struct acct *accts;
    size_t na, capa;
    struct xf *xfs;
    size_t nx, capx;
    enum err err;
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
        struct acct *p = realloc(c->accts, cap * sizeof *p);
        if (p == NULL)
            return ERR_NOMEM;
        c->accts = p;
        c->capa = cap;
    }
    c->accts[c->na++] = (struct acct){.stored = *a};
    return ERR_OK;
}

static struct acct *find_acct(struct ctx *c, int64_t id)
{
    size_t lo = 0, hi = c->na;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->accts[mid].stored.id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->na && c->accts[lo].stored.id == id ? &c->accts[lo] : NULL;
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

static void resolve(struct ctx *c, const struct ledger_transfer *t)
{
    struct xf *p = find_xf(c, t->pending_id);
    if (p == NULL || !(p->flags & LEDGER_XFER_PENDING)) {
        violation(c, "transfer %" PRId64 ": resolves %" PRId64 ", which is not an earlier pending transfer", t->id,
                  t->pending_id);
        return;
    }
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
    c->xfs[c->nx++] = (struct xf){t->id, t->amount, 0, t->flags, t->state, 0};

    struct acct *d = find_acct(c, t->debit_account), *k = find_acct(c, t->credit_account);
    if (d == NULL || k == NULL || d == k) {
        violation(c, "transfer %" PRId64 ": bad accounts %" PRId64 " -> %" PRId64, t->id, t->debit_account,
                  t->credit_account);
        return ERR_OK;
    }
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
        return ERR_OK;
    }
    if (t->flags & (LEDGER_XFER_POST_PENDING | LEDGER_XFER_VOID_PENDING))
        resolve(c, t);
    if (t->flags & LEDGER_XFER_REVERSAL) {
        struct xf *o = find_xf(c, t->ref_id);
        if (o == NULL)
            violation(c, "transfer %" PRId64 ": reverses unknown transfer %" PRId64, t->id, t->ref_id);
        else if ((o->reversed += t->amount) > o->amount)
            violation(c, "transfer %" PRId64 ": reversals of %" PRId64 " exceed its amount", t->id, o->id);
    }
    if (!(t->flags & LEDGER_XFER_VOID_PENDING)) {
        add(c, &d->dp, t->amount, t->id);
        add(c, &k->cp, t->amount, t->id);
    }
    return ERR_OK;
}

static void check_accounts(struct ctx *c)
{
    int64_t sum = 0;
    for (size_t i = 0; i < c->na; i++) {
        const struct acct *a = &c->accts[i];
        const struct ledger_account *s = &a->stored;
        if (s->debits_posted != a->dp || s->credits_posted != a->cp || s->debits_pending != a->dpe ||
            s->credits_pending != a->cpe)
            violation(c,
                      "account %" PRId64 " (%s/%s): stored totals dp=%" PRId64 " cp=%" PRId64 " dpe=%" PRId64
                      " cpe=%" PRId64 " but transfers give dp=%" PRId64 " cp=%" PRId64 " dpe=%" PRId64 " cpe=%" PRId64,
                      s->id, s->owner, s->kind, s->debits_posted, s->credits_posted, s->debits_pending,
                      s->credits_pending, a->dp, a->cp, a->dpe, a->cpe);
        if (s->last_transfer_id != a->last)
            violation(c, "account %" PRId64 " (%s/%s): history chain starts at %" PRId64 ", not at %" PRId64, s->id,
                      s->owner, s->kind, s->last_transfer_id, a->last);
        if ((s->flags & LEDGER_ACCT_DEBITS_LE_CREDITS) && s->debits_posted + s->debits_pending > s->credits_posted)
            violation(c, "account %" PRId64 " (%s/%s) is negative: balance %" PRId64 ", pending debits %" PRId64,
                      s->id, s->owner, s->kind, ledger_balance(s), s->debits_pending);
        if ((s->flags & LEDGER_ACCT_CREDITS_LE_DEBITS) && s->credits_posted + s->credits_pending > s->debits_posted)
            violation(c, "account %" PRId64 " (%s/%s) is positive but may not be", s->id, s->owner, s->kind);
        if (money_add(sum, ledger_balance(s), &sum) != ERR_OK)
            violation(c, "sum of balances overflows at account %" PRId64, s->id);
    }
    if (sum != 0)
        violation(c, "balances sum to %" PRId64 ", not 0", sum);
    for (size_t i = 0; i < c->nx; i++) {
        const struct xf *x = &c->xfs[i];
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
    /* One snapshot for both scans, or a commit in between would look like a
     * violation. */
    enum err e = st->ops->begin_read(st);
    if (e == ERR_OK)
        e = st->ops->account_scan(st, on_account, &c);
    if (e == ERR_OK)
        e = st->ops->transfer_scan(st, on_transfer, &c);
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
