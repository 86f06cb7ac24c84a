/* err.h: the one table of error codes.
 *
 * Every fallible function in kessai returns an `enum err` (ERR_OK == 0).  Each
 * code has a stable symbol (used as the API's "code" field), the HTTP status a
 * reply carries when the error reaches a client, and a human message.  Domain
 * code only ever returns codes; src/http turns them into replies, so a new error
 * is one line in err.c and nothing else.
 */
#ifndef KESSAI_UTIL_ERR_H
#define KESSAI_UTIL_ERR_H

enum err {
    ERR_OK = 0,
    /* request shape */
    ERR_NOT_FOUND,
    ERR_METHOD_NOT_ALLOWED,
    ERR_PAYLOAD_TOO_LARGE,
    ERR_MALFORMED_JSON,
    ERR_INVALID_PARAM,
    ERR_MISSING_PARAM,
    ERR_UNKNOWN_PARAM,
    ERR_UNSUPPORTED_MEDIA_TYPE,
    ERR_RATE_LIMITED,
    /* money and ledger */
    ERR_AMOUNT_INVALID,
    ERR_OVERFLOW,
    ERR_INSUFFICIENT_FUNDS,
    ERR_LIMIT_EXCEEDED,
    ERR_ACCOUNT_NOT_FOUND,
    ERR_SAME_ACCOUNT,
    ERR_TRANSFER_NOT_FOUND,
    ERR_PENDING_NOT_FOUND,
    ERR_PENDING_ALREADY_RESOLVED,
    ERR_REVERSAL_EXCEEDS_ORIGINAL,
    ERR_NOT_REVERSIBLE,
    ERR_IDEMPOTENCY_CONFLICT,
    ERR_LINKED_TRANSFER_FAILED,
    /* administration */
    ERR_MERCHANT_NOT_FOUND,
    ERR_STORE_NOT_FOUND,
    ERR_TERMINAL_NOT_FOUND,
    ERR_CONFLICT,
    ERR_STAFF_NOT_FOUND,
    /* authentication */
    ERR_WEAK_PASSWORD,
    ERR_INVALID_CODE,
    ERR_INVALID_TOKEN,
    ERR_INVALID_CREDENTIALS,
    ERR_UNAUTHENTICATED,
    ERR_MFA_REQUIRED,
    ERR_FRESH_MFA_REQUIRED,
    ERR_SIGN_IN_REQUIRED,
    ERR_FORBIDDEN,
    /* cards, top-ups, POS (issue 4) */
    ERR_CARD_NOT_FOUND,
    ERR_CARD_NOT_ACTIVE,
    ERR_CARD_DECLINED,
    ERR_CARD_INSUFFICIENT_FUNDS,
    ERR_CARD_EXPIRED,
    ERR_INCORRECT_CVC,
    ERR_AUTHENTICATION_FAILED,
    ERR_CARD_UNAVAILABLE,
    ERR_TOPUP_NOT_FOUND,
    ERR_IN_PROGRESS,
    ERR_SUSPENDED,
    ERR_GATEWAY,
    ERR_INVALID_SIGNATURE,
    /* paying (issue 5) */
    ERR_ACCOUNT_FROZEN,
    ERR_INVALID_QR,
    ERR_RECIPIENT_NOT_FOUND,
    ERR_PAYMENT_NOT_FOUND,
    /* the risk engine (issue 6, docs/risk.md) */
    ERR_RISK_DENIED,
    ERR_RISK_HELD,
    /* fraud reports (issue 6, ops/dispute.h) */
    ERR_NOT_DISPUTABLE,
    ERR_ALREADY_DISPUTED,
    ERR_DISPUTE_WINDOW_CLOSED,
    /* system */
    ERR_SHUTTING_DOWN,
    ERR_BUSY,
    ERR_STORE,
    ERR_IO,
    ERR_NOMEM,
    ERR_INTERNAL,
    ERR_AUDIT_UNCHAINED,
    ERR_SCHEMA_OLD,
    ERR__COUNT
};

/* Stable snake_case symbol, e.g. "insufficient_funds".  Never NULL. */
const char *err_symbol(enum err e);
/* HTTP status a client sees for this error (500 for system errors). */
int err_http_status(enum err e);
/* One-sentence message safe to show a client: never includes internals. */
const char *err_message(enum err e);

#endif
