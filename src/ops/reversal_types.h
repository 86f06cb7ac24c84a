/* reversal_types.h: a fraud reversal as stored (ops/reversal.h, store.h). */
#ifndef KESSAI_OPS_REVERSAL_TYPES_H
#define KESSAI_OPS_REVERSAL_TYPES_H

#include <stdint.h>

#include "util/idem.h"

#define REVERSAL_ID_PREFIX "rev"
#define REVERSAL_REASON_MAX 200
#define REVERSAL_STATUS_MAX 15

struct reversal {
    int64_t id;
    int64_t payment_id;  /* the original payment (= its transfer) */
    int64_t customer_id; /* the victim: who paid */
    int64_t amount;
    int charge_store;    /* 1: a REVERSAL of the original; 0: from "fraud_losses" */
    char reason[REVERSAL_REASON_MAX + 1];
    char status[REVERSAL_STATUS_MAX + 1]; /* "pending", "executed", "rejected" */
    int64_t requested_by; /* staff id */
    int64_t decided_by;   /* staff id; 0 while pending (an executed one at once: the requester) */
    int64_t created_ms;
    int64_t decided_ms;
    int64_t transfer_id; /* the money's transfer once executed, else 0 */
    int64_t dispute_id;  /* the customer's report it resolves (ops/dispute.h), else 0 */
    /* The request's Idempotency-Key, unique per requester: a retry under it
     * finds this row again ("" only for rows from before migration 26). */
    char idem_key[IDEM_KEY_MAX + 1];
};

#endif
