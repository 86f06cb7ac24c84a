/* record.c: decisions into the store (risk.h risk_record).
 *
 * Every decision is kept with its score and reasons, so that staff can
 * see why a payment was held and a customer's history of decisions can be
 * read back (store.h risk_decision_list).  The reasons are a JSON array
 * written by hand: rule names are the engine's own identifiers and values
 * are integers, so nothing needs escaping and nothing is allocated.
 */
#include "risk/risk.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

enum err risk_reasons_json(const struct risk_decision *d, char *buf, size_t n)
{
    size_t len = 0;
    int w = snprintf(buf, n, "[");
    if (w < 0 || (size_t)w >= n)
        return ERR_OVERFLOW;
    len = (size_t)w;
    for (size_t i = 0; i < d->n_reasons && i < RISK_REASONS_MAX; i++) {
        const struct risk_reason *x = &d->reasons[i];
        w = snprintf(buf + len, n - len,
                     "%s{\"rule\":\"%s\",\"value\":%" PRId64 ",\"threshold\":%" PRId64 ",\"score\":%d}",
                     i ? "," : "", x->rule, x->value, x->threshold, x->score);
        if (w < 0 || (size_t)w >= n - len)
            return ERR_OVERFLOW;
        len += (size_t)w;
    }
    w = snprintf(buf + len, n - len, "]");
    if (w < 0 || (size_t)w >= n - len)
        return ERR_OVERFLOW;
    return ERR_OK;
}

enum err risk_record(struct store *st, const struct risk_event *ev, const struct risk_decision *d, const char *ref,
                     int64_t *id)
{
    struct risk_decision_row row;
    memset(&row, 0, sizeof row);
    if (ref == NULL)
        ref = "";
    if (strlen(ref) > RISK_REF_MAX)
        return ERR_INVALID_PARAM;
    row.at_ms = ev->at_ms;
    snprintf(row.kind, sizeof row.kind, "%s", risk_kind_name(ev->kind));
    row.customer_id = ev->customer_id;
    row.device_id = ev->device_id;
    row.store_id = ev->store_id;
    row.amount = ev->amount;
    snprintf(row.decision, sizeof row.decision, "%s", risk_verdict_name(d->verdict));
    row.score = d->score;
    memcpy(row.ref, ref, strlen(ref) + 1);
    enum err e = risk_reasons_json(d, row.reasons, sizeof row.reasons);
    if (e == ERR_OK)
        e = st->ops->risk_decision_insert(st, &row);
    if (e == ERR_OK && id)
        *id = row.id;
    return e;
}
