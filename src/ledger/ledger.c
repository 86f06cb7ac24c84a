/* ledger.c: accounts, system accounts and request validation.  Money moves
 * only in apply.c, driven by the writer. */
#include "ledger/ledger.h"

#include <string.h>

#include "util/money.h"

const char *const ledger_system_kinds[] = {
    "card_receivable",   /* card top-ups: money the card acquirer owes us */
    "cash_at_stores",    /* cash taken at registers for top-ups */
    "points_liability",  /* points granted to customers */
    "fee_revenue",
    "fraud_losses",      /* compensation paid to defrauded customers */
    NULL,
};

uint32_t ledger_kind_flags(const char *kind)
{
    /* DESIGN.md: customer wallet and points accounts can never go negative.
     * Derived from the kind, not only stored with the account, so that a
     * cleared flag is itself a violation (verify.c). */
    if (strcmp(kind, LEDGER_KIND_WALLET) == 0 || strcmp(kind, LEDGER_KIND_POINTS) == 0)
        return LEDGER_ACCT_DEBITS_LE_CREDITS;
    return 0;
}

enum err ledger_validate_account(const char *owner, const char *kind, uint32_t flags)
{
    size_t ol = strnlen(owner, LEDGER_OWNER_MAX + 1), kl = strnlen(kind, LEDGER_KIND_MAX + 1);
    uint32_t need = ledger_kind_flags(kind);
    if (ol == 0 || ol > LEDGER_OWNER_MAX || kl == 0 || kl > LEDGER_KIND_MAX ||
        (flags & ~(uint32_t)(LEDGER_ACCT_DEBITS_LE_CREDITS | LEDGER_ACCT_CREDITS_LE_DEBITS)) != 0 ||
        flags == (LEDGER_ACCT_DEBITS_LE_CREDITS | LEDGER_ACCT_CREDITS_LE_DEBITS) || (flags & need) != need)
        return ERR_INVALID_PARAM;
    return ERR_OK;
}

enum err ledger_account_create(struct store *st, const char *owner, const char *kind, uint32_t flags, int64_t *id)
{
    struct ledger_account a = {0};
    if (ledger_validate_account(owner, kind, flags) != ERR_OK)
        return ERR_INVALID_PARAM;
    size_t ol = strlen(owner), kl = strlen(kind);
    memcpy(a.owner, owner, ol + 1);
    memcpy(a.kind, kind, kl + 1);
    a.flags = flags;
    enum err e = st->ops->account_insert(st, &a);
    if (e == ERR_OK && id)
        *id = a.id;
    return e;
}

enum err ledger_init(struct store *st)
{
    enum err e = st->ops->begin(st);
    for (size_t i = 0; e == ERR_OK && ledger_system_kinds[i]; i++) {
        struct ledger_account a;
        e = st->ops->account_find(st, LEDGER_SYSTEM_OWNER, ledger_system_kinds[i], &a);
        if (e == ERR_ACCOUNT_NOT_FOUND)
            e = ledger_account_create(st, LEDGER_SYSTEM_OWNER, ledger_system_kinds[i], 0, NULL);
    }
    if (e == ERR_OK)
        return st->ops->commit(st);
    st->ops->rollback(st);
    return e;
}

enum err ledger_system_account(struct store *st, const char *kind, int64_t *id)
{
    struct ledger_account a;
    enum err e = st->ops->account_find(st, LEDGER_SYSTEM_OWNER, kind, &a);
    if (e == ERR_OK)
        *id = a.id;
    return e;
}

int64_t ledger_balance(const struct ledger_account *a) { return a->credits_posted - a->debits_posted; }

int64_t ledger_available(const struct ledger_account *a)
{
    return a->credits_posted - a->debits_posted - a->debits_pending;
}

static int printable_ascii(const char *s, size_t max, int allow_empty)
{
    size_t n = strnlen(s, max + 1);
    if (n > max || (n == 0 && !allow_empty))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static int valid_kind(const char *s)
{
    size_t n = strnlen(s, LEDGER_KIND_MAX + 1);
    if (n == 0 || n > LEDGER_KIND_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static enum err validate_one(const struct ledger_transfer *x)
{
    if (!printable_ascii(x->key, LEDGER_KEY_MAX, 0) || !valid_kind(x->kind) ||
        strnlen(x->metadata, sizeof x->metadata) == sizeof x->metadata)
        return ERR_INVALID_PARAM;
    switch (x->flags) {
    case 0:
    case LEDGER_XFER_PENDING:
        if (x->pending_id || x->ref_id || x->debit_account <= 0 || x->credit_account <= 0)
            return ERR_INVALID_PARAM;
        if (x->debit_account == x->credit_account)
            return ERR_SAME_ACCOUNT;
        return money_check_amount(x->amount);
    case LEDGER_XFER_POST_PENDING:
        if (x->pending_id <= 0 || x->ref_id || x->debit_account < 0 || x->credit_account < 0)
            return ERR_INVALID_PARAM;
        return x->amount == 0 ? ERR_OK : money_check_amount(x->amount);
    case LEDGER_XFER_VOID_PENDING:
        if (x->pending_id <= 0 || x->ref_id || x->debit_account < 0 || x->credit_account < 0)
            return ERR_INVALID_PARAM;
        return x->amount == 0 ? ERR_OK : money_check_amount(x->amount);
    case LEDGER_XFER_REVERSAL:
        if (x->ref_id <= 0 || x->pending_id || x->debit_account < 0 || x->credit_account < 0)
            return ERR_INVALID_PARAM;
        return money_check_amount(x->amount);
    default:
        return ERR_INVALID_PARAM;
    }
}

enum err ledger_validate(const struct ledger_transfer *x, size_t n, size_t *bad_index)
{
    *bad_index = 0;
    if (n == 0 || n > LEDGER_CHAIN_MAX)
        return ERR_INVALID_PARAM;
    for (size_t i = 0; i < n; i++) {
        *bad_index = i;
        enum err e = validate_one(&x[i]);
        if (e != ERR_OK)
            return e;
        for (size_t j = 0; j < i; j++)
            if (strcmp(x[i].key, x[j].key) == 0)
                return ERR_INVALID_PARAM;
    }
    return ERR_OK;
}
