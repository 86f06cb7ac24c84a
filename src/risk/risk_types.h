/* risk_types.h: what the risk engine stores and reads back (store.h).
 *
 * A decision row is written by risk_record (risk.h) and never changed; the
 * history rows are what the engine's warm-up (risk_warm) reads of recent
 * payments, top-ups and card attempts after a restart.
 */
#ifndef KESSAI_RISK_RISK_TYPES_H
#define KESSAI_RISK_RISK_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/customer_types.h"
#include "merchant/types.h"
#include "wallet/wallet_types.h"

/* What is about to happen. */
enum risk_kind {
    RISK_LOGIN = 1,
    RISK_CARD_LINK = 2,
    RISK_TOPUP = 3,
    RISK_PAYMENT = 4, /* at a store: the register's charge or the store's QR */
    RISK_REFUND = 5,  /* a register gives money back (or voids) */
    RISK_P2P = 6,     /* to another customer */
};
#define RISK_KINDS 7 /* one past the last kind */

/* The answer.  Ordered: a larger verdict is stricter. */
enum risk_verdict {
    RISK_ALLOW = 0,
    RISK_CHALLENGE = 1, /* the customer confirms in the app with the second factor */
    RISK_HOLD = 2,      /* staff review it before money moves */
    RISK_DENY = 3,
};

/* What happened after the decision (risk_observe). */
enum risk_outcome {
    RISK_DONE = 1,     /* it happened: money moved, the card was linked, the login succeeded */
    RISK_DECLINED = 2, /* the card issuer declined (a link or a card top-up) */
    RISK_FAILED = 3,   /* refused or failed otherwise: only the attempt counts */
};

#define RISK_KIND_MAX 15
#define RISK_VERDICT_MAX 15
#define RISK_REASONS_JSON_MAX 2047
#define RISK_REF_MAX 63

/* One stored decision (table risk_decisions). */
struct risk_decision_row {
    int64_t id;
    int64_t at_ms;
    char kind[RISK_KIND_MAX + 1]; /* risk_kind_name: "payment", … */
    int64_t customer_id;
    int64_t device_id;
    int64_t store_id;
    int64_t amount;
    char decision[RISK_VERDICT_MAX + 1]; /* risk_verdict_name: "allow", … */
    int score;
    /* [{"rule":"impossible_travel","value":3000,"threshold":300,"score":60}, …] */
    char reasons[RISK_REASONS_JSON_MAX + 1];
    char ref[RISK_REF_MAX + 1]; /* the operation it was about: "pay_…", "tpu_…", an idempotency key */
};

/* One recent operation as the warm-up reads it (store.h risk_history_scan).
 * Only what the rules need; device and card are given as stored (the
 * public key, the fingerprint) and turned into keys by the engine. */
struct risk_history_row {
    int kind;    /* enum risk_kind: RISK_PAYMENT, RISK_P2P, RISK_TOPUP, RISK_CARD_LINK, RISK_REFUND */
    int outcome; /* enum risk_outcome */
    int64_t at_ms;
    int64_t customer_id;
    int64_t customer_created_ms; /* 0 if unknown */
    int64_t device_id;
    char device_public_key[DEVICE_KEY_B64_LEN + 1]; /* "" if unknown */
    char client_addr[CLIENT_ADDR_MAX + 1];          /* "" if unknown */
    bool has_card;
    uint8_t card_fingerprint[CARD_FINGERPRINT_BYTES];
    int64_t store_id;
    int64_t terminal_id;
    char category[MERCHANT_CATEGORY_MAX + 1];
    bool has_location; /* the store's, when there is one */
    int64_t lat_e6, lon_e6;
    int64_t amount;
    int64_t counterparty_id;
    int64_t counterparty_created_ms; /* P2P: the recipient's account; 0 if unknown */
};

#endif
