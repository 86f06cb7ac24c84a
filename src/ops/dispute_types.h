/* dispute_types.h: a customer's fraud report as stored (ops/dispute.h, store.h). */
#ifndef KESSAI_OPS_DISPUTE_TYPES_H
#define KESSAI_OPS_DISPUTE_TYPES_H

#include <stdint.h>

#define DISPUTE_ID_PREFIX "dsp"
#define DISPUTE_REASON_MAX 500
#define DISPUTE_NOTE_MAX 200
#define DISPUTE_STATUS_MAX 15
#define DISPUTE_KEY_MAX 64

struct dispute {
    int64_t id;
    int64_t customer_id; /* who reported it: the payer */
    int64_t payment_id;  /* the disputed payment (= its ledger transfer, "txn_…" in the history) */
    int64_t amount;      /* the payment's amount when reported */
    char reason[DISPUTE_REASON_MAX + 1];
    char status[DISPUTE_STATUS_MAX + 1]; /* "open", "resolved", "rejected" */
    char idem_key[DISPUTE_KEY_MAX + 1];  /* the filing's Idempotency-Key */
    int64_t created_ms;
    int64_t decided_by;  /* staff id, 0 while open */
    int64_t decided_ms;
    char note[DISPUTE_NOTE_MAX + 1]; /* rejected: staff's note to the customer */
    int64_t reversal_id; /* resolved: the reversal that gave the money back */
};

#endif
