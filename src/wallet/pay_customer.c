/* pay_customer.c: the parts of the store-QR payment and the transfer to
 * another customer that are the same (pay_customer_internal.h). */
#include "wallet/pay_customer_internal.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/customer_types.h"
#include "auth/events.h"
#include "util/ids.h"
#include "wallet/payment_internal.h"
#include "wallet/topup_internal.h"

enum err pay_customer_key(const char *flow, int64_t customer_id, const char *idem_key,
                          char out[LEDGER_KEY_MAX + 1])
{
    size_t n = idem_key ? strnlen(idem_key, IDEM_KEY_MAX + 1) : 0;
    if (n == 0 || n > IDEM_KEY_MAX)
        return ERR_INVALID_PARAM;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)idem_key[i] < 0x21 || (unsigned char)idem_key[i] > 0x7e)
            return ERR_INVALID_PARAM;
    char usr[IDS_BUF];
    payment_transfer_key(out, flow, ids_format(usr, CUSTOMER_ID_PREFIX, customer_id), idem_key);
    return ERR_OK;
}

enum err pay_customer_seen(struct store *st, const char *key, bool *seen)
{
    struct ledger_transfer x;
    enum err e = st->ops->transfer_get_by_key(st, key, &x);
    *seen = e == ERR_OK;
    return e == ERR_TRANSFER_NOT_FOUND ? ERR_OK : e;
}

enum err pay_customer_payer(const struct wallet_ctx *w, const struct auth_session *cur, struct pay_payer *out)
{
    struct store *st = w->a.st;
    memset(out, 0, sizeof *out);
    struct customer c;
    enum err e = st->ops->customer_get(st, cur->customer_id, &c);
    if (e == ERR_NOT_FOUND)
        return ERR_UNAUTHENTICATED;
    if (e != ERR_OK)
        return e;
    snprintf(out->email, sizeof out->email, "%s", c.email);
    sodium_memzero(&c, sizeof c);
    out->device_new = cur->device_new_until_ms > w->a.now || cur->cooldown_until_ms > w->a.now;
    /* Read only: a customer who never had money has no account yet, and
     * paying from it could only fail (wallet_account.c makes it on the
     * first credit). */
    char owner[IDS_BUF];
    struct ledger_account a;
    e = st->ops->account_find(st, ids_format(owner, CUSTOMER_ID_PREFIX, cur->customer_id), TOPUP_WALLET_KIND, &a);
    if (e == ERR_ACCOUNT_NOT_FOUND)
        return ERR_INSUFFICIENT_FUNDS;
    out->wallet = a.id;
    return e;
}

enum err pay_customer_refused(const struct wallet_ctx *w, const struct auth_session *cur, const char *kind,
                              enum err e, const char *bad, int64_t amount)
{
    return payment_refused_record(w, cur->customer_id, cur->device_id, kind, e, bad, amount);
}

enum err payment_refused_record(const struct wallet_ctx *w, int64_t customer_id, int64_t device_id, const char *kind,
                                enum err e, const char *bad, int64_t amount)
{
    struct store *st = w->a.st;
    const char *reason = e == ERR_LIMIT_EXCEEDED && bad ? bad : err_symbol(e);
    enum err re = st->ops->begin(st);
    if (re != ERR_OK)
        return re;
    re = sec_event_record(st, w->a.now, customer_id, SEC_PAYMENT_REFUSED, SEC_FAILURE, w->a.client_addr, device_id,
                          json_pack("{s:s, s:s, s:I}", "kind", kind, "reason", reason, "amount", (json_int_t)amount));
    if (re == ERR_OK)
        re = st->ops->commit(st);
    if (re != ERR_OK) {
        st->ops->rollback(st);
        return re;
    }
    return e;
}

enum err pay_customer_start(const struct wallet_ctx *w, const struct auth_session *cur, const char *flow,
                            const char *idem_key, int64_t amount, int64_t max, char key[LEDGER_KEY_MAX + 1],
                            const char **bad)
{
    enum err e = session_require(cur, SESSION_NEED_FULL, w->a.now);
    if (e != ERR_OK)
        return e;
    if (pay_customer_key(flow, cur->customer_id, idem_key, key) != ERR_OK) {
        *bad = "Idempotency-Key";
        return ERR_INVALID_PARAM;
    }
    if (amount < 1) {
        *bad = "amount";
        return ERR_AMOUNT_INVALID;
    }
    if (amount > max) { /* a thief probing what one payment may take: on file */
        *bad = "amount";
        return pay_customer_refused(w, cur, flow, ERR_LIMIT_EXCEEDED, *bad, amount);
    }
    return ERR_OK;
}

void pay_customer_order(struct payment_order *o, const struct wallet_ctx *w, const struct auth_session *cur,
                        int kind, int64_t amount, const struct pay_payer *payer, int64_t credit_account,
                        const char *xfer_kind)
{
    o->op = PAYMENT_OP_PAY;
    o->now = w->a.now;
    o->p.kind = kind;
    o->p.customer_id = cur->customer_id;
    o->p.device_id = cur->device_id;
    o->p.amount = amount;
    o->p.created_ms = w->a.now;
    o->x.debit_account = payer->wallet;
    o->x.credit_account = credit_account;
    o->x.amount = amount;
    snprintf(o->x.kind, sizeof o->x.kind, "%s", xfer_kind);
}

bool pay_customer_fresh(const struct wallet_ctx *w, const struct auth_session *cur)
{
    return w->a.now < cur->fresh_until_ms;
}
