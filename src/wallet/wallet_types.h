/* wallet_types.h: the stored records of cards and top-ups (issue 4).
 *
 * What store.h reads and writes; wallet/card.h and wallet/topup.h are the
 * only writers.  No record holds a PAN or a CVV, in any form: a card is known
 * by the gateway's token, its brand, last four digits, expiry and a keyed
 * fingerprint (BLAKE2b of the PAN under a key derived from the master key:
 * the same card on two accounts has the same fingerprint, and a stolen
 * database cannot be searched for a known PAN without the master key).
 */
#ifndef KESSAI_WALLET_WALLET_TYPES_H
#define KESSAI_WALLET_WALLET_TYPES_H

#include <stdint.h>

#include "util/idem.h" /* IDEM_KEY_MAX: Idempotency-Key, 1..64 printable ASCII */
#include "util/masterkey.h"

#define CARD_ID_PREFIX "crd"
#define TOPUP_ID_PREFIX "tpu"

#define CARD_TOKEN_MAX 63       /* gateway token, e.g. "tok_…" */
#define CARD_BRAND_MAX 15       /* "visa", "mastercard", "jcb", "amex", … */
#define CARD_FINGERPRINT_BYTES 32
#define GATEWAY_REF_MAX 63      /* gateway ids: challenge, authorization */
#define DECLINE_CODE_MAX 31     /* err_symbol of the decline, "" if none */
#define IDEM_SCOPE_MAX 31       /* "usr_…" or "trm_…": whose idempotency key */
#define TOPUP_CODE_DIGITS 18

enum card_status {
    CARD_PENDING = 1, /* tokenized; waits for its 3-D Secure challenge */
    CARD_ACTIVE = 2,  /* usable for top-ups */
    CARD_FAILED = 3,  /* challenge failed or expired: never usable; link again */
    CARD_REMOVED = 4, /* removed by the customer */
};

struct card {
    int64_t id;
    int64_t customer_id;
    int status; /* enum card_status */
    char token[CARD_TOKEN_MAX + 1];
    char brand[CARD_BRAND_MAX + 1];
    char last4[5];
    int exp_month; /* 1..12 */
    int exp_year;  /* four digits */
    uint8_t fingerprint[CARD_FINGERPRINT_BYTES];
    char challenge_ref[GATEWAY_REF_MAX + 1]; /* the gateway's 3-D Secure challenge while PENDING */
    int64_t created_ms;
    int64_t linked_ms;  /* when the challenge succeeded; 0 before */
    int64_t removed_ms; /* 0 unless REMOVED */
};

/* One POST /v1/cards, whatever its outcome (card-testing defence). */
enum card_attempt_outcome {
    CARD_ATTEMPT_PENDING = 0,  /* counted; the gateway has not answered yet */
    CARD_ATTEMPT_OK = 1,       /* tokenized, challenge started */
    CARD_ATTEMPT_DECLINED = 2, /* any decline but a CVV mismatch */
    CARD_ATTEMPT_CVC = 3,      /* CVV mismatch */
    CARD_ATTEMPT_REFUSED = 4,  /* refused by our own rules (fingerprint on too many accounts) */
    CARD_ATTEMPT_ERROR = 5,    /* the processor did not answer: the issuer told nothing */
};
/* store.h card_attempt_count: count the attempts still PENDING (outcome 0
 * there means "any"). */
#define CARD_ATTEMPT_COUNT_PENDING (-1)

struct card_attempt {
    int64_t id;
    int64_t customer_id;
    int64_t device_id;
    char client_addr[64];
    int outcome; /* enum card_attempt_outcome */
    int64_t at_ms;
};

enum topup_source {
    TOPUP_CARD = 1, /* from a linked card through the gateway */
    TOPUP_CASH = 2, /* cash at a store's register (POS) */
};

/* Top-up life (wallet/topup.h):
 *
 *   CREATED --authorize--> AUTHORIZED --ledger credit (same transaction)--> SUCCEEDED
 *    |  ^       |                                              (card: then captured)
 *    |  |       +--issuer wants 3-D Secure--> REQUIRES_ACTION
 *    |  +--code ok (authorized again, same key)------+ |
 *    |                                                 |
 *    +--declined, card removed, kill switch on,        +--wrong codes / expired,
 *       processor failing for TOPUP_CREATED_MAX_MS-->  FAILED <--kill switch on
 *
 * A request refused by a check (limits, second factor, a switch at
 * admission) stores no row.  Cash top-ups are created AUTHORIZED (the
 * clerk holds the cash).  AUTHORIZED always ends SUCCEEDED. */
enum topup_status {
    TOPUP_CREATED = 1,
    TOPUP_REQUIRES_ACTION = 2,
    TOPUP_AUTHORIZED = 3,
    TOPUP_SUCCEEDED = 4,
    TOPUP_FAILED = 5,
};

struct topup {
    int64_t id;
    int64_t customer_id;
    int source; /* enum topup_source */
    int status; /* enum topup_status */
    int64_t amount;
    int64_t card_id;     /* TOPUP_CARD */
    int64_t device_id;   /* the customer's device that asked (card) or made the code (cash) */
    int64_t store_id;    /* TOPUP_CASH */
    int64_t terminal_id; /* TOPUP_CASH */
    char idem_scope[IDEM_SCOPE_MAX + 1];
    char idem_key[IDEM_KEY_MAX + 1];
    uint8_t req_hash[16]; /* fingerprint of the request, for idempotency */
    char gateway_ref[GATEWAY_REF_MAX + 1];   /* authorization id */
    char challenge_ref[GATEWAY_REF_MAX + 1]; /* 3-D Secure challenge while REQUIRES_ACTION */
    char decline_code[DECLINE_CODE_MAX + 1]; /* FAILED: err_symbol of the reason */
    int captured;                            /* card: the gateway capture was done */
    int64_t transfer_id;                     /* SUCCEEDED: the ledger transfer */
    int64_t created_ms;
    int64_t updated_ms;
    int64_t balance_after; /* SUCCEEDED: the wallet right after the credit, what a retry answers
                              again; <= 0 if not kept (credited before migration 22) */
};

/* A one-time code the customer shows at the register for a cash top-up. */
struct topup_code {
    int64_t id;
    int64_t customer_id;
    int64_t device_id;
    uint8_t code_hash[32]; /* keyed hash; the code itself is never stored */
    int64_t expires_ms;
    int64_t used_ms; /* 0 until a top-up used it */
};

/* ---- paying (issue 5) ---- */

#define PAYMENT_ID_PREFIX "pay" /* a payment's id is its ledger transfer's id */
#define PAYCODE_DIGITS 18
#define PAY_ITEMS_MAX 1023      /* the items of a charge, compact JSON */

/* A one-time payment code (wallet/paycode.h); only its keyed hash is kept. */
struct paycode {
    int64_t id;
    int64_t customer_id;
    int64_t device_id;
    uint8_t code_hash[32];
    int64_t created_ms;
    int64_t expires_ms;
    int64_t used_ms; /* 0 until a payment consumed it */
};

/* A device's key for offline codes (sealed with the master key, associated
 * data "offline:dev_…"). */
struct offline_key {
    int64_t device_id;
    int64_t customer_id;
    int64_t offline_id; /* 7 digits, unique: names the device inside its codes */
    uint8_t key_sealed[32 + MASTERKEY_SEAL_OVERHEAD];
    int64_t created_ms;
    int64_t revoked_ms;
};

enum payment_kind {
    PAYMENT_CPM = 1, /* the register scanned the customer's code */
    PAYMENT_MPM = 2, /* the customer scanned the store's QR */
    PAYMENT_P2P = 3, /* to another customer */
};

struct payment {
    int64_t id; /* = the ledger transfer's id */
    int kind;   /* enum payment_kind */
    int64_t customer_id;     /* who paid */
    int64_t device_id;       /* the device whose code or session paid */
    int64_t merchant_id;     /* CPM, MPM */
    int64_t store_id;        /* CPM, MPM */
    int64_t terminal_id;     /* CPM */
    int64_t counterparty_id; /* P2P: the recipient */
    int64_t amount;
    int64_t refunded; /* sum of refunds and voids */
    int voided;
    int offline; /* paid with an offline code */
    char items[PAY_ITEMS_MAX + 1];
    int64_t created_ms;
    int64_t balance_after; /* the payer's wallet right after it, what a replay answers again;
                              -1 if not kept (paid before migration 21) */
    int64_t code_tag;      /* CPM: 63 bits of the keyed hash of the code that paid (a retry's code
                              is that one); 0 for none */
};

/* A register's refund or void of a payment (table payment_refunds,
 * migration 27).  The register may be at another store of the payment's
 * merchant: store_id is the refunding register's store, which the risk
 * rules count refunds by (docs/risk.md), not necessarily the payment's. */
struct payment_refund {
    int64_t id;          /* = the reversal's ledger transfer id */
    int64_t payment_id;  /* the payment given back */
    int64_t customer_id; /* the payer, who gets the money */
    int64_t store_id;    /* the refunding register's store */
    int64_t terminal_id; /* the refunding register (0: before migration 27, register gone) */
    int64_t amount;
    int64_t created_ms; /* the caller's clock */
};

/* A frozen account cannot pay, top up or transfer (ops/freeze.h). */
struct freeze {
    int64_t customer_id;
    int64_t frozen_ms;
    int by_customer; /* frozen by the customer from the app (only staff unfreeze) */
    char reason[201];
    char set_by[64];
};

/* An operator switch (ops/killswitch.h). */
#define KILLSWITCH_NAME_MAX 31
#define KILLSWITCH_REASON_MAX 200
struct killswitch {
    char name[KILLSWITCH_NAME_MAX + 1];
    int on;
    char reason[KILLSWITCH_REASON_MAX + 1];
    char set_by[64];
    int64_t set_ms;
};

#endif
